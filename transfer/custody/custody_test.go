package custody

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"sluice/crypto"
	"sluice/internal/strictjson"
	"sluice/internal/textfile"
)

type station struct {
	keys   *crypto.StationKeys
	origin string
	v      note.Verifier
}

func newStation(t testing.TB, name string) station {
	t.Helper()
	k, err := crypto.GenerateStationKeys(false)
	if err != nil {
		t.Fatal(err)
	}
	v, err := crypto.NoteVerifier(Origin(name), k.Signer.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	return station{k, Origin(name), v}
}

func (s station) open(t testing.TB, path string) *Log {
	t.Helper()
	l, err := Open(path, s.keys.NoteSigner(s.origin), s.origin, "st", "tester")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// fill appends n records, a bundle event (checkpointed) every tenth.
func fill(t testing.TB, l *Log, n int) {
	t.Helper()
	for i := range n {
		ev := EventStaged
		if i%10 == 9 {
			ev = EventSealed
		}
		if _, err := l.Append(Record{Event: ev, Station: "st", Officer: "tester", Bundle: fmt.Sprintf("b%d", i), Outcome: "ok"}, ev == EventSealed); err != nil {
			t.Fatal(err)
		}
	}
}

func verify(t testing.TB, s station, path string, saved []byte) *Report {
	t.Helper()
	r, err := Verify(path, s.v, s.origin, saved)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestAppendAndVerify(t *testing.T) {
	s := newStation(t, "st")
	path := filepath.Join(t.TempDir(), "custody.log")
	l := s.open(t, path)
	fill(t, l, 250)
	l.Close()
	r := verify(t, s, path, nil)
	if !r.OK() || r.Records != 250 {
		t.Fatalf("verify: %+v", r)
	}
	// Bundle events every tenth record: the newest checkpoint (at 250) plus
	// the history's one per CheckpointEvery records (100, 200).
	if r.Checkpoints != 3 || r.Latest.Size != 250 {
		t.Fatalf("checkpoints: %d, latest %+v", r.Checkpoints, r.Latest)
	}
	// Reopening (state cache, then without it) continues the same tree.
	for _, dropState := range []bool{false, true} {
		if dropState {
			os.Remove(path + ".state")
		}
		l = s.open(t, path)
		fill(t, l, 5)
		l.Close()
		if r := verify(t, s, path, nil); !r.OK() {
			t.Fatalf("after reopen (dropState=%v): %s", dropState, r.Problem)
		}
	}
	// Records are in the fixed field order with seq and prev.
	lines := readLines(t, path)
	if !strings.HasPrefix(lines[1], `{"seq":1,"prev":"`) {
		t.Fatalf("second line: %s", lines[1])
	}
}

func TestCheckpointEvery100Records(t *testing.T) {
	s := newStation(t, "st")
	path := filepath.Join(t.TempDir(), "custody.log")
	l := s.open(t, path)
	for range 250 {
		l.Append(Record{Event: EventStaged, Outcome: "ok"}, false)
	}
	l.Close()
	sizes, _ := checkpointSizes(path)
	if fmt.Sprint(sizes) != "[100 200]" {
		t.Fatalf("checkpoints at %v, want [100 200]", sizes)
	}
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readLines(t testing.TB, path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func writeLines(t testing.TB, path string, lines []string) {
	os.Remove(path + ".state")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestTamperingIsDetected edits, deletes, reorders and truncates a real log
// and checks each verdict names the first bad line and why.
func TestTamperingIsDetected(t *testing.T) {
	s := newStation(t, "st")
	cases := []struct {
		name   string
		tamper func(path string, lines []string) (saved []byte)
		line   int64
		says   string
	}{
		{"edited middle record", func(p string, l []string) []byte {
			l[40] = strings.Replace(l[40], `"outcome":"ok"`, `"outcome":"no"`, 1)
			writeLines(t, p, l)
			return nil
		}, 41, "line 41 was edited"},
		{"edited last record", func(p string, l []string) []byte {
			l[len(l)-1] = strings.Replace(l[len(l)-1], `"officer":"tester"`, `"officer":"mallory"`, 1)
			writeLines(t, p, l)
			return nil
		}, 120, "do not match checkpoint 000000000120"},
		{"garbage line", func(p string, l []string) []byte {
			l[7] = "not json"
			writeLines(t, p, l)
			return nil
		}, 8, "line 8 was edited"},
		{"deleted middle record", func(p string, l []string) []byte {
			writeLines(t, p, append(l[:50:50], l[51:]...))
			return nil
		}, 51, "records were deleted: line 51 holds record 51, expected 50"},
		{"deleted first record", func(p string, l []string) []byte {
			writeLines(t, p, l[1:])
			return nil
		}, 1, "records were deleted"},
		{"swapped records", func(p string, l []string) []byte {
			l[60], l[61] = l[61], l[60]
			writeLines(t, p, l)
			return nil
		}, 61, "records were reordered: line 61 holds record 61 and line 62 holds record 60"},
		{"last records deleted with their checkpoints, caught by a saved checkpoint", func(p string, l []string) []byte {
			saved, _ := LatestCheckpoint(p)
			writeLines(t, p, l[:len(l)-15])
			os.RemoveAll(checkpointDir(p))
			return saved
		}, 106, "truncated: it holds 105 records but your saved checkpoint covers 120"},
		{"last records deleted", func(p string, l []string) []byte {
			writeLines(t, p, l[:len(l)-3])
			return nil
		}, 118, "truncated: it holds 117 records but checkpoint 000000000120 covers 120"},
		{"checkpoint signature forged", func(p string, l []string) []byte {
			cp := filepath.Join(checkpointDir(p), checkpointName(100))
			b := mustRead(t, cp)
			os.WriteFile(cp, bytes.Replace(b, []byte("\n100\n"), []byte("\n99\n"), 1), 0o600)
			return nil
		}, 0, "checkpoint 000000000100: bad signature"},
		{"newest checkpoint signature forged", func(p string, l []string) []byte {
			cp := filepath.Join(checkpointDir(p), latestName)
			b := mustRead(t, cp)
			os.WriteFile(cp, bytes.Replace(b, []byte("\n120\n"), []byte("\n119\n"), 1), 0o600)
			return nil
		}, 0, "the newest checkpoint (latest): bad signature"},
		{"checkpoint from another log of the same station", func(p string, l []string) []byte {
			other := filepath.Join(t.TempDir(), "other.log")
			ol := s.open(t, other)
			fill(t, ol, 30)
			ol.Close()
			b := mustRead(t, filepath.Join(checkpointDir(other), latestName))
			os.WriteFile(filepath.Join(checkpointDir(p), checkpointName(30)), b, 0o600)
			return nil
		}, 30, "do not match checkpoint 000000000030"},
		{"newest checkpoint from another log of the same station", func(p string, l []string) []byte {
			other := filepath.Join(t.TempDir(), "other.log")
			ol := s.open(t, other)
			fill(t, ol, 110)
			ol.Close()
			b := mustRead(t, filepath.Join(checkpointDir(other), latestName))
			os.WriteFile(filepath.Join(checkpointDir(p), latestName), b, 0o600)
			return nil
		}, 110, "do not match checkpoint 000000000110"},
		{"checkpoint signed by another station", func(p string, l []string) []byte {
			m := newStation(t, "st") // same name, other key
			other := filepath.Join(t.TempDir(), "other.log")
			ol := m.open(t, other)
			fill(t, ol, 10)
			ol.Close()
			b := mustRead(t, filepath.Join(checkpointDir(other), latestName))
			os.WriteFile(filepath.Join(checkpointDir(p), checkpointName(10)), b, 0o600)
			return nil
		}, 0, "bad signature"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "custody.log")
			l := s.open(t, path)
			fill(t, l, 120)
			l.Close()
			if r := verify(t, s, path, nil); !r.OK() {
				t.Fatalf("untampered log: %s", r.Problem)
			}
			saved := c.tamper(path, readLines(t, path))
			r := verify(t, s, path, saved)
			if r.OK() {
				t.Fatal("tampered log verified")
			}
			if r.Line != c.line || !strings.Contains(r.Problem, c.says) {
				t.Fatalf("verdict %q at line %d; want %q at line %d", r.Problem, r.Line, c.says, c.line)
			}
		})
	}
}

// TestBundleEventFloodKeepsFewCheckpoints appends 2,000 bundle events, as a
// drive with 2,000 junk bundle folders makes a kiosk do: each still gets a
// checkpoint covering it (the newest, rewritten in place), but the history
// keeps one per CheckpointEvery records, and the log verifies.
func TestBundleEventFloodKeepsFewCheckpoints(t *testing.T) {
	s := newStation(t, "st")
	path := filepath.Join(t.TempDir(), "custody.log")
	l := s.open(t, path)
	l.DisableSyncForBulkLoad()
	const n = 2000
	for i := range n {
		a, err := l.Append(Record{Event: EventRejected, Bundle: fmt.Sprintf("junk-%d", i), Outcome: "rejected", Reason: "not a bundle"}, true)
		if err != nil {
			t.Fatal(err)
		}
		cp, err := OpenCheckpoint(a.Checkpoint, s.v)
		if err != nil || cp.Size != a.Index+1 {
			t.Fatalf("record %d: checkpoint %v, %v; want one covering it", a.Index, cp, err)
		}
	}
	l.Close()
	ents, err := os.ReadDir(checkpointDir(path))
	if err != nil {
		t.Fatal(err)
	}
	if max := n/CheckpointEvery + 1; len(ents) > max {
		t.Fatalf("%d bundle events left %d checkpoint files, want at most %d", n, len(ents), max)
	}
	latest, _ := LatestCheckpoint(path)
	if cp, err := OpenCheckpoint(latest, s.v); err != nil || cp.Size != n {
		t.Fatalf("latest checkpoint: %v %v", cp, err)
	}
	r := verify(t, s, path, nil)
	if !r.OK() || r.Records != n || r.Checkpoints != len(ents) || r.Latest.Size != n {
		t.Fatalf("verify: %+v", r)
	}
	// Tampering is still caught, by the history and by the newest.
	lines := readLines(t, path)
	writeLines(t, path, lines[:n-1])
	if r := verify(t, s, path, nil); r.OK() || !strings.Contains(r.Problem, "truncated: it holds 1999 records but checkpoint 000000002000 covers 2000") {
		t.Fatalf("last record deleted: %+v", r)
	}
	lines[1234] = strings.Replace(lines[1234], "not a bundle", "a bundle", 1)
	writeLines(t, path, lines)
	if r := verify(t, s, path, nil); r.OK() || r.Line != 1235 {
		t.Fatalf("record edited: %+v", r)
	}
}

// TestNewestCheckpointRolledBack replaces the newest checkpoint with an
// older one of the same log, as someone hiding the last records would.
func TestNewestCheckpointRolledBack(t *testing.T) {
	s := newStation(t, "st")
	path := filepath.Join(t.TempDir(), "custody.log")
	l := s.open(t, path)
	fill(t, l, 50)
	old, _ := LatestCheckpoint(path)
	fill(t, l, 70)
	l.Close()
	os.WriteFile(filepath.Join(checkpointDir(path), latestName), old, 0o600)
	r := verify(t, s, path, nil)
	if r.OK() || !strings.Contains(r.Problem, "covers 50 records but checkpoint 000000000100 covers 100: it was replaced with an older one") {
		t.Fatalf("rolled-back newest checkpoint: %+v", r)
	}
}

// TestLogFromBeforeLatest verifies and extends a log written when every
// checkpoint had its own file and there was no latest.
func TestLogFromBeforeLatest(t *testing.T) {
	s := newStation(t, "st")
	path := filepath.Join(t.TempDir(), "custody.log")
	l := s.open(t, path)
	for i := range 30 {
		l.Append(Record{Event: EventSealed, Bundle: fmt.Sprint(i), Outcome: "ok"}, false)
		cp, err := l.Checkpoint()
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(checkpointDir(path), checkpointName(l.Len())), cp, 0o600)
	}
	l.Close()
	os.Remove(filepath.Join(checkpointDir(path), latestName))
	os.Remove(path + ".state")
	if r := verify(t, s, path, nil); !r.OK() || r.Checkpoints != 30 || r.Latest.Size != 30 {
		t.Fatalf("old log: %+v", r)
	}
	if b, err := LatestCheckpoint(path); err != nil || !strings.Contains(string(b), "\n30\n") {
		t.Fatalf("latest of an old log: %q %v", b, err)
	}
	l = s.open(t, path)
	fill(t, l, 10)
	l.Close()
	if r := verify(t, s, path, nil); !r.OK() || r.Checkpoints != 31 || r.Latest.Size != 40 {
		t.Fatalf("old log extended: %+v", r)
	}
}

func TestSavedCheckpointProvesGrowth(t *testing.T) {
	s := newStation(t, "st")
	path := filepath.Join(t.TempDir(), "custody.log")
	l := s.open(t, path)
	fill(t, l, 30)
	saved, _ := LatestCheckpoint(path)
	fill(t, l, 45)
	l.Close()
	if r := verify(t, s, path, saved); !r.OK() {
		t.Fatalf("grown log against an old checkpoint: %s", r.Problem)
	}
}

// A second writer waits its turn for LockWait, then is refused.
func TestSecondWriterIsRefused(t *testing.T) {
	defer func(d time.Duration) { LockWait = d }(LockWait)
	LockWait = 300 * time.Millisecond
	s := newStation(t, "st")
	path := filepath.Join(t.TempDir(), "custody.log")
	l := s.open(t, path)
	start := time.Now()
	if _, err := Open(path, s.keys.NoteSigner(s.origin), s.origin, "st", "x"); err != ErrLocked {
		t.Fatalf("second writer: %v", err)
	}
	if d := time.Since(start); d < LockWait {
		t.Fatalf("refused after %v, before waiting %v", d, LockWait)
	}
	// Released within the wait: the second writer gets its turn.
	go func() { time.Sleep(100 * time.Millisecond); l.Close() }()
	l2, err := Open(path, s.keys.NoteSigner(s.origin), s.origin, "st", "x")
	if err != nil {
		t.Fatalf("second writer after the first closed: %v", err)
	}
	l2.Close()
}

func TestTornLineIsRecovered(t *testing.T) {
	s := newStation(t, "st")
	path := filepath.Join(t.TempDir(), "custody.log")
	l := s.open(t, path)
	fill(t, l, 20)
	l.Close()
	torn := `{"seq":20,"prev":"abc","time":"2026-`
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(torn)
	f.Close()
	// Verify tells a torn last line from tampering: the records before it
	// verify, and the report says how many bytes are torn and where.
	if r := verify(t, s, path, nil); !r.OK() || r.Records != 20 || r.TornTail != int64(len(torn)) || r.TornLine != 21 {
		t.Fatalf("torn log: %+v", r)
	}
	if n, err := TornTail(path); err != nil || n != int64(len(torn)) {
		t.Fatalf("TornTail: %d %v", n, err)
	}
	l = s.open(t, path)
	if l.Len() != 21 {
		t.Fatalf("after recovery: %d records, want 20 + recovered", l.Len())
	}
	if file, n := l.Recovered(); !strings.HasPrefix(file, path+".torn-") || n != int64(len(torn)) {
		t.Fatalf("Recovered: %q %d", file, n)
	}
	l.Close()
	if n, err := TornTail(path); err != nil || n != 0 {
		t.Fatalf("TornTail after recovery: %d %v", n, err)
	}
	lines := readLines(t, path)
	last, _ := ParseRecord([]byte(lines[len(lines)-1]))
	if last.Event != EventRecovered || !strings.Contains(last.Reason, "custody.log.torn-") {
		t.Fatalf("last record: %+v", last)
	}
	if r := verify(t, s, path, nil); !r.OK() || r.TornTail != 0 {
		t.Fatalf("after recovery: %+v", r)
	}
	kept, _ := filepath.Glob(path + ".torn-*")
	if b, _ := os.ReadFile(kept[0]); string(b) != torn {
		t.Fatalf("torn bytes not kept: %q", b)
	}
}

// TestTornLineAndTampering: a torn last line does not hide tampering before
// it, and a "torn" line that a checkpoint covers was once whole, so the log
// was truncated.
func TestTornLineAndTampering(t *testing.T) {
	s := newStation(t, "st")
	for _, c := range []struct {
		name   string
		tamper func(lines []string) string
		says   string
	}{
		{"edited record before a torn line", func(l []string) string {
			l[5] = strings.Replace(l[5], `"outcome":"ok"`, `"outcome":"no"`, 1)
			return strings.Join(l, "\n") + "\n" + `{"seq":30,"pr`
		}, "line 6 was edited"},
		{"newline of a checkpointed last line deleted", func(l []string) string {
			return strings.Join(l, "\n")
		}, "the log was truncated: it holds 29 records but checkpoint 000000000030 covers 30"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "custody.log")
			l := s.open(t, path)
			fill(t, l, 30)
			l.Close()
			os.WriteFile(path, []byte(c.tamper(readLines(t, path))), 0o600)
			if r := verify(t, s, path, nil); r.OK() || !strings.Contains(r.Problem, c.says) {
				t.Fatalf("verdict %+v; want %q", r, c.says)
			}
		})
	}
}

func TestSealProofTravels(t *testing.T) {
	sender := newStation(t, "sender-1")
	path := filepath.Join(t.TempDir(), "custody.log")
	l := sender.open(t, path)
	fill(t, l, 13)
	a, err := l.Append(Record{Event: EventSealed, Bundle: "B", ManifestSHA256: "abc", Outcome: "ok"}, true)
	if err != nil {
		t.Fatal(err)
	}
	fill(t, l, 3)
	l.Close()
	p := NewSealProof(a)
	rec, err := CheckSeal(p, sender.v, sender.origin)
	if err != nil || rec.Bundle != "B" {
		t.Fatalf("seal proof: %v", err)
	}
	// The proof is also a standard tlog proof against the tree of 14 records.
	proof := make(tlog.RecordProof, len(p.Proof))
	for i, h := range p.Proof {
		proof[i], _ = tlog.ParseHash(h)
	}
	cp, _ := OpenCheckpoint([]byte(p.Checkpoint), sender.v)
	if err := tlog.CheckRecord(proof, cp.Size, cp.Hash, 13, tlog.RecordHash([]byte(p.Record))); err != nil {
		t.Fatal(err)
	}
	forged := *p
	forged.Record = strings.Replace(p.Record, `"manifest_sha256":"abc"`, `"manifest_sha256":"abd"`, 1)
	if _, err := CheckSeal(&forged, sender.v, sender.origin); err == nil {
		t.Fatal("edited seal record accepted")
	}
	other := newStation(t, "sender-1")
	if _, err := CheckSeal(p, other.v, other.origin); err == nil {
		t.Fatal("seal proof accepted with another station's key")
	}
}

// TestFrontierMatchesTlog checks the frontier's tree hash and proofs against
// tlog's own implementation for every size up to 300.
func TestFrontierMatchesTlog(t *testing.T) {
	var f frontier
	var stored []tlog.Hash
	hr := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = stored[x]
		}
		return out, nil
	})
	for n := int64(0); n < 300; n++ {
		leaf := tlog.RecordHash([]byte(strconv.FormatInt(n, 10)))
		hs, err := tlog.StoredHashesForRecordHash(n, leaf, hr)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, hs...)
		proof := f.add(leaf)
		want, _ := tlog.TreeHash(n+1, hr)
		if f.hash() != want {
			t.Fatalf("tree hash differs at size %d", n+1)
		}
		if err := tlog.CheckRecord(proof, n+1, want, n, leaf); err != nil {
			t.Fatalf("proof of leaf %d: %v", n, err)
		}
	}
}

// TestCrashInjection kills a writer process with SIGKILL at random moments
// while it appends; every record whose append returned must survive, and
// the log must open and verify.
func TestCrashInjection(t *testing.T) {
	if os.Getenv("SLUICE_CRASH_WRITER") != "" {
		return
	}
	s := newStation(t, "st")
	dir := t.TempDir()
	path := filepath.Join(dir, "custody.log")
	keyFile := filepath.Join(dir, "signing.key")
	sk, _ := s.keys.MarshalSigningKey("st")
	os.WriteFile(keyFile, sk, 0o600)
	idFile := filepath.Join(dir, "identity.age")
	os.WriteFile(idFile, s.keys.MarshalIdentity(), 0o600)
	acked := map[int64]bool{}
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 8 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashWriter$")
		cmd.Env = append(os.Environ(), "SLUICE_CRASH_WRITER="+path, "SLUICE_CRASH_KEYS="+dir)
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		done := make(chan struct{})
		go func() {
			for sc.Scan() {
				if seq, err := strconv.ParseInt(sc.Text(), 10, 64); err == nil {
					acked[seq] = true
				}
			}
			close(done)
		}()
		time.Sleep(time.Duration(50+rng.IntN(250)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		<-done
		cmd.Wait()
		l := s.open(t, path) // recovers a torn line, if any
		n := l.Len()
		l.Close()
		if r := verify(t, s, path, nil); !r.OK() {
			t.Fatalf("round %d: log does not verify after a crash: %s", round, r.Problem)
		}
		for seq := range acked {
			if seq >= n {
				t.Fatalf("round %d: record %d was acknowledged but the log holds %d", round, seq, n)
			}
		}
	}
	if len(acked) < 100 {
		t.Fatalf("only %d appends were acknowledged; the writer did not get going", len(acked))
	}
	t.Logf("%d acknowledged records survived %d kills", len(acked), 8)
}

// TestCrashWriter is the child process of TestCrashInjection.
func TestCrashWriter(t *testing.T) {
	path := os.Getenv("SLUICE_CRASH_WRITER")
	if path == "" {
		t.Skip("run by TestCrashInjection")
	}
	dir := os.Getenv("SLUICE_CRASH_KEYS")
	id, _ := os.ReadFile(filepath.Join(dir, "identity.age"))
	sk, _ := os.ReadFile(filepath.Join(dir, "signing.key"))
	k, err := crypto.LoadStationKeys(id, sk)
	if err != nil {
		t.Fatal(err)
	}
	var l *Log
	for {
		if l, err = Open(path, k.NoteSigner(Origin("st")), Origin("st"), "st", "crash"); err == nil {
			break
		}
		time.Sleep(time.Millisecond) // the parent may still hold the lock
	}
	for i := 0; ; i++ {
		a, err := l.Append(Record{Event: EventStaged, Outcome: "ok", Reason: strings.Repeat("x", i%500)}, i%7 == 0)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Println(a.Index)
	}
}

func FuzzParseRecord(f *testing.F) {
	f.Add([]byte(`{"seq":0,"prev":"","time":"2026-01-01T00:00:00Z","event":"sealed","station":"a","officer":"b","bundle":"","peer":"","manifest_sha256":"","files":0,"bytes":0,"media":null,"path":"","outcome":"ok","reason":""}`))
	f.Add([]byte(`{"seq":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		// The canonical fast path never accepts what the strict decoder
		// refuses, and reads what it reads.
		var fast, strict Record
		if decodeCanonical(b, &fast) {
			if err := strictjson.Decode(b, &strict); err != nil {
				t.Fatalf("fast path accepted what strictjson refuses: %v", err)
			}
			fb, _ := json.Marshal(fast)
			sb, _ := json.Marshal(strict)
			if !bytes.Equal(fb, sb) {
				t.Fatalf("fast path read %s, strict %s", fb, sb)
			}
		}
		r, err := ParseRecord(b)
		if err != nil {
			return
		}
		if _, err := r.marshal(); err != nil {
			t.Fatalf("parsed record does not marshal: %v", err)
		}
	})
}

// TestCheckpointLineEndsAndEncodings reads checkpoints that went through
// another machine: CRLF and a UTF-8 byte-order mark verify as the original;
// UTF-16 is an error (textfile.ErrNotText) naming the file, not a verdict;
// an edited checkpoint still fails its signature.
func TestCheckpointLineEndsAndEncodings(t *testing.T) {
	s := newStation(t, "st")
	path := filepath.Join(t.TempDir(), "custody.log")
	l := s.open(t, path)
	fill(t, l, 120)
	l.Close()
	latest := mustRead(t, filepath.Join(checkpointDir(path), latestName))
	crlf := bytes.ReplaceAll(latest, []byte("\n"), []byte("\r\n"))
	for name, saved := range map[string][]byte{"LF": latest, "CRLF": crlf, "BOM and CRLF": append([]byte("\xEF\xBB\xBF"), crlf...)} {
		if r := verify(t, s, path, saved); !r.OK() {
			t.Fatalf("saved checkpoint with %s: %s", name, r.Problem)
		}
	}
	utf16 := []byte{0xFF, 0xFE}
	for _, c := range crlf {
		utf16 = append(utf16, c, 0)
	}
	if _, err := Verify(path, s.v, s.origin, utf16); !errors.Is(err, textfile.ErrNotText) || !strings.Contains(err.Error(), "your saved checkpoint is UTF-16 text") {
		t.Fatalf("UTF-16 saved checkpoint: %v", err)
	}
	if r := verify(t, s, path, bytes.Replace(crlf, []byte("\r\n120\r\n"), []byte("\r\n121\r\n"), 1)); r.OK() || !strings.Contains(r.Problem, "your saved checkpoint: bad signature") {
		t.Fatalf("forged CRLF checkpoint: %+v", r)
	}
	// Stored checkpoints copied through Windows still verify; one that is
	// no longer text is named.
	hist := filepath.Join(checkpointDir(path), checkpointName(100))
	os.WriteFile(hist, bytes.ReplaceAll(mustRead(t, hist), []byte("\n"), []byte("\r\n")), 0o600)
	os.WriteFile(filepath.Join(checkpointDir(path), latestName), crlf, 0o600)
	if r := verify(t, s, path, nil); !r.OK() || r.Checkpoints != 2 {
		t.Fatalf("CRLF stored checkpoints: %+v", r)
	}
	if b, err := LatestCheckpoint(path); err != nil || !bytes.Equal(b, latest) {
		t.Fatalf("LatestCheckpoint of a CRLF file: %q %v", b, err)
	}
	os.WriteFile(hist, utf16, 0o600)
	if _, err := Verify(path, s.v, s.origin, nil); !errors.Is(err, textfile.ErrNotText) || !strings.Contains(err.Error(), "000000000100 is UTF-16 text") {
		t.Fatalf("UTF-16 stored checkpoint: %v", err)
	}
}

// Fits tells before acting whether a record could be appended: a kiosk
// checks the "received" record that embeds a sender's seal record before
// it releases anything.
func TestFits(t *testing.T) {
	if err := Fits(Record{Event: EventReceived, Reason: "ok"}, 1024); err != nil {
		t.Fatal(err)
	}
	// Raw '<' in a seal record grows six-fold when re-encoded (\u003c).
	big := Record{Event: EventReceived, Seal: &SealProof{Record: strings.Repeat("<", 12<<10)}}
	if err := Fits(big, 0); err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Fatalf("a record over the line limit fits: %v", err)
	}
	near := Record{Event: EventReceived, Reason: strings.Repeat("r", MaxLine-600)}
	if err := Fits(near, 0); err != nil {
		t.Fatalf("a record under the limit: %v", err)
	}
	if err := Fits(near, 1024); err == nil {
		t.Fatal("the margin is not kept")
	}
}

// AppendAll on a disk that fills up mid-write leaves the log as it was:
// no first half of two records that belong together. Needs root to mount
// a small tmpfs.
func TestAppendAllOnAFullDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs (CI runs as root)")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v: %s", err, out)
	}
	defer exec.Command("umount", dir).Run()
	s := newStation(t, "st")
	path := filepath.Join(dir, "custody.log")
	l := s.open(t, path)
	fill(t, l, 10) // the tenth is sealed: a checkpoint
	// Fill the disk, then append two records larger than any room left.
	f, _ := os.Create(filepath.Join(dir, "filler"))
	for {
		if _, err := f.Write(make([]byte, 4096)); err != nil {
			break
		}
	}
	f.Close()
	size := func() int64 { info, _ := os.Stat(path); return info.Size() }
	before := size()
	big := strings.Repeat("r", 20<<10)
	if _, err := l.AppendAll([]Record{{Event: EventReceived, Reason: big}, {Event: EventReleased, Reason: big}}, false); err == nil {
		t.Fatal("AppendAll succeeded on a full disk")
	}
	if got := size(); got != before {
		t.Fatalf("the log grew from %d to %d bytes on a failed append", before, got)
	}
	l.Close()
	os.Remove(filepath.Join(dir, "filler"))
	rep, err := Verify(path, s.v, s.origin, nil)
	if err != nil || !rep.OK() || rep.Records != int64(l.Len()) {
		t.Fatalf("after a failed append: %+v %v", rep, err)
	}
}

// TestRecordCanonicalFastPath: a record as the log writes it takes the
// fast path; one edited to read two ways (a key twice, in another case,
// unknown, trailing data) does not, and the strict decoder refuses it.
func TestRecordCanonicalFastPath(t *testing.T) {
	r := Record{Seq: 3, Time: time.Date(2026, 11, 30, 8, 0, 0, 123e6, time.UTC), Event: EventSealed, Station: "a", Officer: "o<&>", Reason: "naïve \u202e"}
	b, err := r.marshal()
	if err != nil {
		t.Fatal(err)
	}
	var got Record
	if !decodeCanonical(b, &got) || got.Reason != r.Reason || !got.Time.Equal(r.Time) {
		t.Fatalf("a written record did not take the fast path: %+v", got)
	}
	s := string(b)
	for _, doc := range []string{
		strings.Replace(s, `"event":"sealed"`, `"event":"sealed","EVENT":"released"`, 1),
		strings.Replace(s, `"event":"sealed"`, `"event":"released","event":"sealed"`, 1),
		strings.Replace(s, `"event":`, `"Event":`, 1),
		strings.Replace(s, `"event":"sealed"`, `"event":"sealed","extra":1`, 1),
		s + `{}`,
	} {
		var x Record
		if decodeCanonical([]byte(doc), &x) {
			t.Errorf("%s took the fast path", doc)
		}
		if _, err := ParseRecord([]byte(doc)); err == nil {
			t.Errorf("%s parsed", doc)
		}
	}
}

// A cell a spreadsheet would run as a formula (a drive's model is its
// firmware's to choose) is exported to CSV with a ' before it; the JSON
// export keeps it exact.
func TestExportCSVNeutralisesFormulas(t *testing.T) {
	s := newStation(t, "st")
	path := filepath.Join(t.TempDir(), "custody.log")
	l := s.open(t, path)
	formula := "=cmd|'/c calc'!A0"
	if _, err := l.Append(Record{Event: EventWritten, Outcome: "ok", Reason: "+1 then -1", Path: "@SUM(A1)",
		Media: &Media{Vendor: "\tvendor", Model: formula, Serial: "-42"}}, false); err != nil {
		t.Fatal(err)
	}
	l.Close()
	var b bytes.Buffer
	if err := ExportCSV(&b, path, nil); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	row := map[string]string{}
	for i, name := range CSVHeader {
		row[name] = rows[len(rows)-1][i]
	}
	for col, want := range map[string]string{"media_model": "'" + formula, "media_vendor": "'\tvendor", "media_serial": "'-42",
		"reason": "'+1 then -1", "path": "'@SUM(A1)", "event": EventWritten, "outcome": "ok"} {
		if row[col] != want {
			t.Errorf("%s: %q, want %q", col, row[col], want)
		}
	}
	b.Reset()
	if err := ExportJSON(&b, path, nil); err != nil || !strings.Contains(b.String(), `"model":"=cmd|'/c calc'!A0"`) {
		t.Fatalf("JSON export: %v\n%s", err, b.String())
	}
}
