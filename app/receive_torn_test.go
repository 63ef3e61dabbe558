//go:build linux

package app

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"sluice/transfer/custody"
)

// A power cut that kept the "received" line of a release's records and
// cut the "released" one: the next receive cuts the torn line and records
// from the journal only what the log lacks, so the bundle is received
// once and the logs still reconcile.
func TestTornReleaseRecordsNotDoubled(t *testing.T) {
	sender, kiosk := pair(t, false)
	sealed := pack(t, sender, "kiosk-1", stage(t, map[string]string{"a.txt": "alpha"}))
	out := t.TempDir()
	cmd := childReceive(kiosk, sealed.Dir, out)
	cmd.Env = append(cmd.Env, "SLUICE_TEST_DIE_AT=after-rename")
	if code := exitCode(cmd.Run()); code != 9 {
		t.Fatalf("the child exited %d, not at the hook", code)
	}
	b, err := os.ReadFile(filepath.Join(kiosk.Home, receivingDir, sealed.Envelope.ID+journalSuffix))
	if err != nil {
		t.Fatal(err)
	}
	var j journal
	if err := json.Unmarshal(b, &j); err != nil {
		t.Fatal(err)
	}
	cpDir := kiosk.CustodyPath + ".checkpoints"
	latest, _ := os.ReadFile(filepath.Join(cpDir, "latest"))
	before, _ := os.ReadFile(kiosk.CustodyPath)
	l, err := custody.Open(kiosk.CustodyPath, kiosk.Keys.NoteSigner(kiosk.Origin()), kiosk.Origin(), kiosk.Name, "x")
	if err != nil {
		t.Fatal(err)
	}
	for i := range j.Records {
		j.Records[i].Station = kiosk.Name
	}
	if _, err := l.AppendAll(j.Records, true); err != nil {
		t.Fatal(err)
	}
	l.Close()
	after, _ := os.ReadFile(kiosk.CustodyPath)
	first := bytes.IndexByte(after[len(before):], '\n') + len(before) + 1
	os.WriteFile(kiosk.CustodyPath, after[:first+30], 0o600) // power cut before the fsync returned
	os.WriteFile(filepath.Join(cpDir, "latest"), latest, 0o600)
	os.Remove(kiosk.CustodyPath + ".state")

	if err := kiosk.CleanQuarantines(); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range events(t, kiosk) {
		if r.Bundle == sealed.Envelope.ID {
			if r.Event == custody.EventReceived {
				n++
			}
		}
	}
	rec, err := ReconcileLogs(LogRef{Path: sender.CustodyPath, Station: "sender-1", Verifier: mustVerifier(t, kiosk, "sender-1")},
		LogRef{Path: kiosk.CustodyPath, Station: "kiosk-1", Verifier: mustVerifier(t, kiosk, "kiosk-1")})
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 || !rec.OK() {
		t.Errorf("%d received records for one release after a torn AppendAll; reconcile OK=%v", n, rec.OK())
	}
}
