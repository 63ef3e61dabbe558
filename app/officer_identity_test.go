package app

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"sluice/crypto"
	"sluice/internal/lockfile"
	"sluice/transfer/custody"
)

// heldWithOfficers holds a bundle on a kiosk whose policy needs n
// approvals and allows partial releases, alice and bob enrolled.
func heldWithOfficers(t *testing.T, n string) (*Station, *Held) {
	t.Helper()
	crypto.OfficerWorkFactor = 10
	sender, kiosk := pair(t, false)
	setPolicy(t, kiosk, strings.Replace(strings.Replace(defaultPolicyText, "partial_release = false", "partial_release = true", 1),
		"require_approvals = 1", "require_approvals = "+n, 1))
	enrollOfficers(t, kiosk, "alice", "bob")
	sealed := pack(t, sender, "kiosk-1", stage(t, map[string]string{"a.txt": "fine\n", "b.pdf": "not a pdf"}))
	_, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: t.TempDir()})
	var he *HeldError
	if !errors.As(err, &he) {
		t.Fatalf("receive: %v", err)
	}
	return kiosk, he.Held
}

// An officer is one key under one name, spelled as enrolled: another
// spelling of a name (./alice, ../officers/alice, ALICE) or a path to a
// key pair elsewhere never signs in, so one officer can never count as
// two towards the two-person rules, nor a key never enrolled as one.
func TestOfficerIsOneKeyOneName(t *testing.T) {
	kiosk, h := heldWithOfficers(t, "2")
	pass := []byte("alice passphrase, long")
	alice, err := kiosk.SignIn("alice", pass)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	key, pub, err := crypto.NewOfficerKey("mallory", []byte("mallory passphrase, long"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "m.key"), key, 0o600)
	os.WriteFile(filepath.Join(dir, "m.pub"), ssh.MarshalAuthorizedKey(pub), 0o644)
	outside, _ := filepath.Rel(filepath.Join(kiosk.Home, officersDir), filepath.Join(dir, "m"))
	for _, name := range []string{"./alice", "../officers/alice", "ALICE", "alice/", outside} {
		if o, err := kiosk.SignIn(name, pass); err == nil || !strings.Contains(err.Error(), "is enrolled on this station") {
			t.Errorf("signed in as %q: %+v, %v", name, o, err)
		}
	}
	if _, err := kiosk.SignIn(outside, []byte("mallory passphrase, long")); err == nil {
		t.Errorf("a key pair outside the officers folder signed in as %q", outside)
	}
	// The same officer under another name, were it to get in (a
	// session from before): counted once, by key.
	twin := *alice
	twin.Name = "./alice"
	if err := kiosk.AsOfficer(alice).InstallPolicy([]byte(defaultPolicyText), &twin); err == nil {
		t.Errorf("alice alone, with herself as approver under another name, changed the policy")
	}
	if _, err := kiosk.ApproveHeld(context.Background(), h.ID, Decision{}, alice); err != nil {
		t.Fatal(err)
	}
	if _, err := kiosk.ApproveHeld(context.Background(), h.ID, Decision{}, &twin); err == nil {
		t.Errorf("alice approved twice under two names")
	}
	if _, err := kiosk.AsOfficer(alice).ReleaseHeld(context.Background(), h.ID, Decision{}); err == nil {
		t.Errorf("alice alone released under require_approvals = 2")
	}
}

// An officer removed after signing in cannot approve.
func TestRemovedOfficerCannotApprove(t *testing.T) {
	kiosk, h := heldWithOfficers(t, "1")
	bob, _ := kiosk.SignIn("bob", []byte("bob passphrase, long"))
	alice, _ := kiosk.SignIn("alice", []byte("alice passphrase, long"))
	if _, err := kiosk.AsOfficer(alice).AddOfficer("carol", []byte("carol passphrase, long")); err != nil {
		t.Fatal(err)
	}
	if err := kiosk.AsOfficer(alice).RemoveOfficer("bob"); err != nil {
		t.Fatal(err)
	}
	before := len(events(t, kiosk))
	if _, err := kiosk.ApproveHeld(context.Background(), h.ID, Decision{}, bob); err == nil || !strings.Contains(err.Error(), "not enrolled") {
		t.Fatalf("removed bob approved: %v", err)
	}
	if recs := events(t, kiosk)[before:]; len(recs) != 1 || recs[0].Event != custody.EventRefused || recs[0].Officer != "bob" {
		t.Errorf("the refused approval's records: %+v", recs)
	}
}

// An approval the custody log did not take does not count: nothing is
// released on it.
func TestUnrecordedApprovalDoesNotCount(t *testing.T) {
	kiosk, h := heldWithOfficers(t, "1")
	alice, _ := kiosk.SignIn("alice", []byte("alice passphrase, long"))
	l, err := lockfile.TryLock(kiosk.CustodyPath + ".lock")
	if err != nil {
		t.Fatal(err)
	}
	old := custody.LockWait
	custody.LockWait = 100 * time.Millisecond
	_, aerr := kiosk.ApproveHeld(context.Background(), h.ID, Decision{}, alice)
	l.Unlock()
	custody.LockWait = old
	if aerr == nil || !strings.Contains(aerr.Error(), "not approved: the custody log refused the record") {
		t.Fatalf("approving with the log locked: %v", aerr)
	}
	if _, err := kiosk.AsOfficer(alice).ReleaseHeld(context.Background(), h.ID, Decision{}); err == nil {
		t.Fatalf("released on an approval the log never recorded")
	}
	if _, err := kiosk.ApproveHeld(context.Background(), h.ID, Decision{}, alice); err != nil {
		t.Fatalf("approving again once the log takes it: %v", err)
	}
}

// An approval holds for the content approved: a file changed after it
// (the held content waits in the station's home) makes it stop counting,
// and nothing is released on it.
func TestApprovalHoldsForTheContent(t *testing.T) {
	kiosk, h := heldWithOfficers(t, "1")
	alice, _ := kiosk.SignIn("alice", []byte("alice passphrase, long"))
	if _, err := kiosk.ApproveHeld(context.Background(), h.ID, Decision{}, alice); err != nil {
		t.Fatal(err)
	}
	var changed string
	filepath.WalkDir(h.Content, func(p string, e os.DirEntry, err error) error {
		if err == nil && e.Type().IsRegular() && changed == "" {
			changed = p
		}
		return nil
	})
	if err := os.WriteFile(changed, []byte("MZ swapped after the approval"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r, err := kiosk.AsOfficer(alice).ReleaseHeld(context.Background(), h.ID, Decision{}); err == nil {
		t.Fatalf("released into %s on an approval of other content", r.Dir)
	}
	// Approved again, as it now is, it releases.
	if _, err := kiosk.ApproveHeld(context.Background(), h.ID, Decision{}, alice); err != nil {
		t.Fatal(err)
	}
	if _, err := kiosk.AsOfficer(alice).ReleaseHeld(context.Background(), h.ID, Decision{}); err != nil {
		t.Fatal(err)
	}
}

// What the rules refuse an officer is recorded too ("refused"): a wrong
// passphrase, a release without its approvals, an approval given twice,
// a decision the policy does not allow.
func TestRefusalsRecorded(t *testing.T) {
	kiosk, h := heldWithOfficers(t, "2")
	refusals := func() []string {
		var out []string
		for _, r := range events(t, kiosk) {
			if r.Event == custody.EventRefused {
				out = append(out, r.Reason)
			}
		}
		return out
	}
	if _, err := kiosk.SignIn("alice", []byte("not her passphrase")); err == nil {
		t.Fatal("signed in with a wrong passphrase")
	}
	alice, _ := kiosk.SignIn("alice", []byte("alice passphrase, long"))
	if _, err := kiosk.AsOfficer(alice).ReleaseHeld(context.Background(), h.ID, Decision{}); err == nil {
		t.Fatal("released without approvals")
	}
	if _, err := kiosk.ApproveHeld(context.Background(), h.ID, Decision{}, alice); err != nil {
		t.Fatal(err)
	}
	if _, err := kiosk.ApproveHeld(context.Background(), h.ID, Decision{}, alice); err == nil {
		t.Fatal("approved twice")
	}
	setPolicy(t, kiosk, strings.Replace(defaultPolicyText, "require_approvals = 1", "require_approvals = 2", 1)) // no partial releases
	if _, err := kiosk.AsOfficer(alice).ReleaseHeld(context.Background(), h.ID, Decision{Partial: true}); err == nil {
		t.Fatal("a partial release the policy does not allow")
	}
	got := refusals()
	want := []string{"sign-in as officer alice refused: rejected: wrong passphrase for officer alice",
		"release (release) refused: releasing bundle " + h.ID + " (release) needs signed approvals from 2 different officer(s)",
		"approval (release) refused: officer alice has already approved this decision",
		"release (partial) refused: this station's policy does not allow partial releases"}
	if len(got) != len(want) {
		t.Fatalf("refused records %q, want %d", got, len(want))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("refused record %d: %q, want %q…", i, got[i], want[i])
		}
	}
}
