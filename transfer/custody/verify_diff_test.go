package custody

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestVerifyDifferential: the parallel Verify and the fast path give the
// verdicts, lines and counts of the sequential, strictjson Verify of
// 779b62b (verifyOld, verify_old_test.go) on random tamperings: 100 in
// make test, 400 with SLUICE_TEST_LONG=1.
func TestVerifyDifferential(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: 100 verifications of a 2,300-record log")
	}
	rounds := 100
	if os.Getenv("SLUICE_TEST_LONG") != "" {
		rounds = 400
	}
	s := newStation(t, "st")
	dir := t.TempDir()
	path := filepath.Join(dir, "custody.log")
	l := s.open(t, path)
	for i := range 2300 {
		ev := EventStaged
		if i%10 == 9 {
			ev = EventSealed
		}
		reason := fmt.Sprintf("r<%d>&é\u2028 \"q\" \\ x", i)
		if _, err := l.Append(Record{Event: ev, Station: "st", Officer: "tester", Bundle: fmt.Sprintf("b%d", i), Files: int64(i), Outcome: "ok", Reason: reason}, ev == EventSealed); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	orig := mustRead(t, path)
	lines := strings.SplitAfter(string(orig), "\n")
	lines = lines[:len(lines)-1]
	rng := rand.New(rand.NewSource(1))
	variants := []func(string) string{
		func(s string) string { return strings.Replace(s, `"files":`, `"files": `, 1) },
		func(s string) string { return strings.Replace(s, `"event"`, `"Event"`, 1) },
		func(s string) string { return strings.Replace(s, `{"seq"`, `{"bundle":"zz","seq"`, 1) },
		func(s string) string { return strings.Replace(s, `"outcome":"ok"`, `"outcome":"\u006fk"`, 1) },
		func(s string) string { return strings.Replace(s, `é`, "\xff", 1) },
		func(s string) string { return strings.Replace(s, `é`, `\u0000`, 1) },
		func(s string) string { return strings.Replace(s, `Z","event"`, `+00:00","event"`, 1) },
		func(s string) string { return strings.Replace(s, `"bytes":0`, `"bytes":0e0`, 1) },
		func(s string) string { return strings.Replace(s, `"bytes":0`, `"bytes":-0`, 1) },
		func(s string) string { return strings.Replace(s, `"media":null`, `"media":{}`, 1) },
		func(s string) string { return strings.Replace(s, "\n", " \n", 1) },
		func(s string) string { return strings.Replace(s, `\u003c`, `<`, 1) },
		func(s string) string { return strings.Replace(s, `\u2028`, "\u2028", 1) },
		func(s string) string { return strings.Replace(s, `"reason":"r`, `"reason":"R`, 1) },
	}
	for iter := range rounds {
		ls := append([]string(nil), lines...)
		var what string
		switch k := rng.Intn(7); k {
		case 0: // delete
			i := rng.Intn(len(ls))
			ls = append(ls[:i], ls[i+1:]...)
			what = fmt.Sprint("delete ", i)
		case 1: // swap
			i := rng.Intn(len(ls) - 1)
			ls[i], ls[i+1] = ls[i+1], ls[i]
			what = fmt.Sprint("swap ", i)
		case 2: // truncate at a byte
			b := strings.Join(ls, "")
			n := rng.Intn(len(b) + 1)
			ls = []string{b[:n]}
			what = fmt.Sprint("truncate ", n)
		case 3: // flip byte
			b := []byte(strings.Join(ls, ""))
			n := rng.Intn(len(b))
			b[n] ^= byte(1 << rng.Intn(8))
			ls = []string{string(b)}
			what = fmt.Sprint("flip ", n)
		case 4, 5: // variant
			i := rng.Intn(len(ls))
			v := rng.Intn(len(variants))
			ls[i] = variants[v](ls[i])
			what = fmt.Sprint("variant ", v, " line ", i)
		case 6: // duplicate
			i := rng.Intn(len(ls))
			ls = append(ls[:i+1], ls[i:]...)
			what = fmt.Sprint("dup ", i)
		}
		p := filepath.Join(dir, fmt.Sprintf("t%d.log", iter))
		os.WriteFile(p, []byte(strings.Join(ls, "")), 0o600)
		a, aerr := Verify(p, s.v, s.origin, nil)
		b, berr := verifyOld(p, s.v, s.origin, nil)
		if fmt.Sprint(aerr) != fmt.Sprint(berr) {
			t.Fatalf("%s: errors differ: %v vs %v", what, aerr, berr)
		}
		if a != nil && b != nil {
			al, bl := a.Latest, b.Latest
			a.Latest, b.Latest = nil, nil
			if !reflect.DeepEqual(a, b) || (al == nil) != (bl == nil) || (al != nil && al.Size != bl.Size) {
				t.Fatalf("%s: reports differ:\nnew %+v\nold %+v", what, a, b)
			}
		}
	}
	for _, c := range []string{"", "{", "\n", "{}\n{"} {
		p := filepath.Join(dir, "x.log")
		os.WriteFile(p, []byte(c), 0o600)
		a, aerr := Verify(p, s.v, s.origin, nil)
		b, berr := verifyOld(p, s.v, s.origin, nil)
		if fmt.Sprint(aerr) != fmt.Sprint(berr) || fmt.Sprint(a) != fmt.Sprint(b) {
			t.Fatalf("%q: %v %+v vs %v %+v", c, aerr, a, berr, b)
		}
	}
}
