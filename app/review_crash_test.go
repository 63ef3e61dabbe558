package app

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sluice/transfer/custody"
)

// holdOne receives a bundle the default policy holds, and returns it.
func holdOne(t *testing.T) (kiosk *Station, h *Held, out string) {
	t.Helper()
	sender, kiosk := pair(t, false)
	src := stage(t, map[string]string{"docs/notes.txt": "plain text\n", "docs/report.pdf": "PK\x03\x04 not a pdf at all"})
	sealed := pack(t, sender, "kiosk-1", src)
	out = t.TempDir()
	_, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: out})
	var he *HeldError
	if !errors.As(err, &he) {
		t.Fatalf("receive: %v, want a HeldError", err)
	}
	return kiosk, he.Held, out
}

func count(recs []custody.Record, event string) int {
	n := 0
	for _, r := range recs {
		if r.Event == event {
			n++
		}
	}
	return n
}

// Killed after its records but before its review item was removed, a
// release leaves the item behind: it must not be decided a second time
// (a "rejected" record after a "released" one, or a second release).
func TestReleasedHeldNotDecidedAgain(t *testing.T) {
	kiosk, h, _ := holdOne(t)
	item := filepath.Join(kiosk.Home, reviewDir, h.ID+".json")
	saved, err := os.ReadFile(item)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kiosk.ReleaseHeld(context.Background(), h.ID, Decision{}); err != nil {
		t.Fatal(err)
	}
	// The state a kill between the records and the removal leaves.
	if err := os.WriteFile(item, saved, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := kiosk.RejectHeld(context.Background(), h.ID, "changed my mind"); err == nil {
		t.Fatal("a bundle released after review was rejected afterwards")
	}
	if _, err := kiosk.ReleaseHeld(context.Background(), h.ID, Decision{}); err == nil {
		t.Fatal("a bundle released after review was released again")
	}
	recs := events(t, kiosk)
	if n := count(recs, custody.EventReleased); n != 1 {
		t.Errorf("%d released records, want 1", n)
	}
	for _, r := range recs {
		if r.Event == custody.EventRejected && r.Bundle == h.ID {
			t.Errorf("a released bundle was also recorded as rejected: %+v", r)
		}
	}
	if list, _ := kiosk.Reviews(); len(list) != 0 {
		t.Errorf("the stale review item is still listed: %v", list)
	}
}

// Killed between the release rename and its records, a release is
// recorded by the next receive lock (recoverReleases); the review item
// must go with it.
func TestRecoveredReleaseDropsReviewItem(t *testing.T) {
	kiosk, h, out := holdOne(t)
	final := filepath.Join(out, h.ID)
	recs := []custody.Record{
		{Event: custody.EventReceived, Bundle: h.ID, Peer: h.Sender, ManifestSHA256: h.ManifestSHA256, Outcome: "ok", Reason: "verified"},
		{Event: custody.EventReleased, Bundle: h.ID, Peer: h.Sender, ManifestSHA256: h.ManifestSHA256, Path: final, Outcome: "ok", Reason: "released after review"},
	}
	if _, err := kiosk.writeJournal(h.Content, final, recs...); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(h.Content, final); err != nil {
		t.Fatal(err)
	}
	if err := kiosk.CleanQuarantines(); err != nil {
		t.Fatal(err)
	}
	if n := count(events(t, kiosk), custody.EventReleased); n != 1 {
		t.Fatalf("%d released records after recovery, want 1", n)
	}
	if list, _ := kiosk.Reviews(); len(list) != 0 {
		t.Errorf("a recovered release is still listed as held: %v", list[0].ID)
	}
	if err := kiosk.RejectHeld(context.Background(), h.ID, "no"); err == nil {
		t.Error("a recovered release was rejected afterwards")
	}
}

// Killed after moving the quarantine into the review folder but before
// writing the review item, a hold leaves content no one can see; the
// bundle, not marked seen, must still be receivable (and held) again.
func TestHoldAfterKilledHold(t *testing.T) {
	sender, kiosk := pair(t, false)
	src := stage(t, map[string]string{"docs/report.pdf": "PK\x03\x04 not a pdf at all"})
	sealed := pack(t, sender, "kiosk-1", src)
	left := filepath.Join(kiosk.Home, reviewDir, sealed.Envelope.ID)
	if err := os.MkdirAll(filepath.Join(left, "outbox"), 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: t.TempDir()})
	var he *HeldError
	if !errors.As(err, &he) {
		t.Fatalf("receive after a killed hold: %v, want a HeldError", err)
	}
}

// A partial release that stopped after setting the held files aside, and
// before its records, leaves the bundle undecided: the next decision
// finds it whole again, and a release of all of it releases all of it.
func TestPartialReleaseCutShort(t *testing.T) {
	kiosk, h, aside := setAsideByAPartialRelease(t)
	r, err := kiosk.ReleaseHeld(context.Background(), h.ID, Decision{})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(r.Dir, "outbox", "b.pdf")); err != nil || string(b) != "not a pdf" {
		t.Errorf("the whole release lacks the file set aside: %q, %v", b, err)
	}
	if _, err := os.Stat(h.Content + ".held"); err == nil {
		t.Errorf("%s.held is left behind", h.Content)
	}
	if _, err := os.Stat(aside); err == nil {
		t.Errorf("%s is still set aside", aside)
	}
}

// A rejection that stopped after its record, before removing the
// content, is finished by the next decision on it: nothing of the
// rejected bundle stays in the station's home.
func TestRejectionCutShort(t *testing.T) {
	kiosk, h, _ := holdOne(t)
	if err := kiosk.record(custody.Record{Event: custody.EventRejected, Bundle: h.ID, Outcome: "rejected", Reason: "rejected at review by x: no"}); err != nil {
		t.Fatal(err)
	}
	if err := kiosk.RejectHeld(context.Background(), h.ID, "again"); err == nil || !strings.Contains(err.Error(), "already rejected after review") {
		t.Fatalf("rejecting again: %v", err)
	}
	if _, err := os.Stat(h.Content); err == nil {
		t.Errorf("the rejected content is still in %s", h.Content)
	}
	if _, err := os.Stat(filepath.Join(kiosk.Home, reviewDir, h.ID+".json")); err == nil {
		t.Errorf("the review item is still there")
	}
}

// The release folder is checked again at the release after review: one
// made writable by other users since the bundle was held is refused.
func TestReleaseFolderCheckedAgainAfterReview(t *testing.T) {
	kiosk, h, out := holdOne(t)
	if err := os.Chmod(out, 0o777); err != nil {
		t.Fatal(err)
	}
	_, err := kiosk.ReleaseHeld(context.Background(), h.ID, Decision{Note: "checked by hand"})
	if err == nil || !strings.Contains(err.Error(), "other users may write to it") {
		t.Fatalf("release into a folder others may write: %v", err)
	}
	os.Chmod(out, 0o755)
	if _, err := kiosk.ReleaseHeld(context.Background(), h.ID, Decision{Note: "checked by hand"}); err != nil {
		t.Fatal(err)
	}
}

// Files a partial release set aside, with the rest of the content gone
// (released, its records never written), are not made a bundle of their
// own: the next decision refuses, saying where to look.
func TestSetAsideWithoutTheRest(t *testing.T) {
	kiosk, h, aside := setAsideByAPartialRelease(t)
	os.RemoveAll(h.Content) // the rest went out
	if _, err := kiosk.ReleaseHeld(context.Background(), h.ID, Decision{}); err == nil || !strings.Contains(err.Error(), "is no longer in") {
		t.Fatalf("deciding on what is left: %v", err)
	}
	if _, err := os.Stat(h.Content); err == nil {
		t.Errorf("the content was made again from the files set aside")
	}
	if _, err := os.Stat(aside); err != nil {
		t.Errorf("the file set aside is gone: %v", err)
	}
}

// setAsideByAPartialRelease holds a bundle of a file that passes and one
// held (b.pdf), on a kiosk that allows partial releases, and sets b.pdf
// aside as a partial release does before its rename (aside, its path
// there), as a release stopped at that point leaves it.
func setAsideByAPartialRelease(t *testing.T) (*Station, *Held, string) {
	t.Helper()
	sender, kiosk := pair(t, false)
	setPolicy(t, kiosk, strings.Replace(defaultPolicyText, "partial_release = false", "partial_release = true", 1))
	sealed := pack(t, sender, "kiosk-1", stage(t, map[string]string{"a.txt": "fine\n", "b.pdf": "not a pdf"}))
	_, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: t.TempDir()})
	var he *HeldError
	if !errors.As(err, &he) {
		t.Fatalf("receive: %v", err)
	}
	h := he.Held
	aside := filepath.Join(h.Content+".held", "outbox", "b.pdf")
	os.MkdirAll(filepath.Dir(aside), 0o700)
	if err := os.Rename(filepath.Join(h.Content, "outbox", "b.pdf"), aside); err != nil {
		t.Fatal(err)
	}
	return kiosk, h, aside
}
