package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sluice/app"
	"sluice/transfer/custody"
)

// TestReconcileListsUnmatchedReceipts: kiosk-1's log holds a receipt for a
// bundle sender-1 sealed for kiosk-2 (kiosk-2's genuine receipt, copied),
// and another for a bundle sender-1 never sealed. sender-1 sealed nothing
// for kiosk-1, so this used to print "0 bundles: 0 reconciled" and exit 0;
// now each receipt is listed with why, counted, and the command exits 1.
func TestReconcileListsUnmatchedReceipts(t *testing.T) {
	dir := t.TempDir()
	sender, kiosk := twoStations(t, dir)
	kiosk2 := filepath.Join(dir, "kiosk2")
	mustRun(t, "", "--home", kiosk2, "init", "--name", "kiosk-2")
	mustRun(t, mustRun(t, "", "--home", kiosk2, "id").stdout, "--home", sender, "trust", "add", "-")
	mustRun(t, mustRun(t, "", "--home", sender, "id").stdout, "--home", kiosk2, "trust", "add", "-")
	src := filepath.Join(dir, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "f"), []byte("x"), 0o644)
	out := filepath.Join(dir, "out")
	os.Mkdir(out, 0o755)
	b := mustRun(t, "", "--home", sender, "pack", "--to", "kiosk-2", "--out", out, src).lastLine()
	mustRun(t, "", "--home", kiosk2, "receive", "--out", filepath.Join(dir, "rel"), b)
	senderLog, kioskLog := filepath.Join(sender, "custody.log"), filepath.Join(kiosk, "custody.log")
	if r := mustRun(t, "", "--home", kiosk, "log", "reconcile", senderLog, kioskLog); !strings.Contains(r.stdout, "0 bundles: 0 reconciled, 0 not; 0 unmatched receipts") {
		t.Fatalf("nothing sent to kiosk-1 yet: %s", r.stdout)
	}

	var theirs custody.Record
	custody.Each(filepath.Join(kiosk2, "custody.log"), func(_ []byte, r custody.Record) error {
		if r.Event == custody.EventReceived {
			theirs = r
		}
		return nil
	})
	st, err := app.Load(kiosk)
	if err != nil {
		t.Fatal(err)
	}
	l, err := st.OpenCustody()
	if err != nil {
		t.Fatal(err)
	}
	copied := theirs
	copied.Station = "kiosk-1"
	for _, r := range []custody.Record{copied, {Event: custody.EventReceived, Station: "kiosk-1", Bundle: "20260101T000000Z-3333333333333333", Peer: "sender-1", Outcome: "ok"}} {
		if _, err := l.Append(r, true); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()

	r := run(t, "", "--home", kiosk, "log", "reconcile", senderLog, kioskLog)
	oneLineError(t, r, ExitRejected, "2 receipts in kiosk-1's log match nothing in sender-1's log")
	for _, want := range []string{
		"Receipts in kiosk-1's log that match nothing in sender-1's log:",
		theirs.Bundle, "sender-1 sealed this bundle for kiosk-2, not for kiosk-1",
		"20260101T000000Z-3333333333333333", "sender-1's log holds no sealed record for this bundle, and the receipt carries no seal record",
		"0 bundles: 0 reconciled, 0 not; 2 unmatched receipts in kiosk-1's log",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("reconcile output lacks %q:\n%s", want, r.stdout)
		}
	}
}
