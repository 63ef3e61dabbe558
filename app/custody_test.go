package app

import (
	"errors"
	"os"
	"strings"
	"testing"

	"sluice/transfer/custody"
)

func appendTorn(t *testing.T, path, bytes string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(bytes)
	f.Close()
}

// TestTornLastLineVerifiesAndRecovers: a log whose last append was cut
// short by a crash verifies (it is not tampering), with a note saying so
// and naming the repair; RecoverLog repairs it and says what it did.
func TestTornLastLineVerifiesAndRecovers(t *testing.T) {
	sender, kiosk := pair(t, false)
	pack(t, sender, "kiosk-1", stage(t, map[string]string{"a.txt": "alpha"}))
	v, _ := sender.Verifier(sender.Name)
	ref := LogRef{Path: sender.CustodyPath, Station: sender.Name, Verifier: v}
	before, err := VerifyLog(ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	torn := `{"seq":99,"prev":"x","time":"2026-11-30T00:`
	appendTorn(t, sender.CustodyPath, torn)

	rep, err := VerifyLog(ref, nil)
	if err != nil || rep.Records != before.Records || rep.TornTail != int64(len(torn)) || rep.TornLine != before.Records+1 {
		t.Fatalf("torn log: %+v, %v", rep, err)
	}
	note := TornTailNote(sender.Name, rep)
	for _, want := range []string{"is torn", "crash or power cut", "not tampering", "records before it verify", "sluice log recover"} {
		if !strings.Contains(note, want) {
			t.Errorf("note %q lacks %q", note, want)
		}
	}
	// The other station reconciles with it as it is (read-only).
	sv, _ := kiosk.Verifier(sender.Name)
	kv, _ := kiosk.Verifier(kiosk.Name)
	if _, err := ReconcileLogs(LogRef{sender.CustodyPath, sender.Name, sv}, LogRef{kiosk.CustodyPath, kiosk.Name, kv}); err != nil {
		t.Fatalf("reconcile with a torn sender log: %v", err)
	}

	r, err := sender.RecoverLog()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(r.TornFile, sender.CustodyPath+".torn-") || r.TornBytes != int64(len(torn)) || r.Records != before.Records+1 {
		t.Fatalf("recovery: %+v", r)
	}
	if b, _ := os.ReadFile(r.TornFile); string(b) != torn {
		t.Fatalf("recovery file holds %q", b)
	}
	rep, err = VerifyLog(ref, nil)
	if err != nil || rep.TornTail != 0 || TornTailNote(sender.Name, rep) != "" {
		t.Fatalf("after recovery: %+v, %v", rep, err)
	}
	var last custody.Record
	custody.Each(sender.CustodyPath, func(_ []byte, rec custody.Record) error { last = rec; return nil })
	if last.Event != custody.EventRecovered || !strings.Contains(last.Reason, "torn-") || last.Station != sender.Name {
		t.Fatalf("last record: %+v", last)
	}
	// Nothing to recover: nothing done.
	if r, err := sender.RecoverLog(); err != nil || r.TornFile != "" || r.Records != before.Records+1 {
		t.Fatalf("second recovery: %+v, %v", r, err)
	}

	// A torn line after tampering still fails as tampering.
	b, _ := os.ReadFile(sender.CustodyPath)
	lines := strings.SplitAfter(string(b), "\n")
	lines[1] = strings.Replace(lines[1], `"outcome":"ok"`, `"outcome":"no"`, 1)
	os.WriteFile(sender.CustodyPath, []byte(strings.Join(lines, "")+torn), 0o600)
	if _, err := VerifyLog(ref, nil); !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "line 2 was edited") {
		t.Fatalf("tampered and torn: %v", err)
	}
}
