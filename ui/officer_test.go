package ui

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"sluice/app"
	"sluice/crypto"
	"sluice/transfer/custody"
)

// The technician enrolls officers on the Station screen and edits the
// policy there: a draft with a mistake cannot be installed and says why;
// a good one is installed, shown and recorded.
func TestStationScreenPolicyAndOfficers(t *testing.T) {
	crypto.OfficerWorkFactor = 10
	test.NewTempApp(t)
	_, kiosk := stations(t)
	w := test.NewWindow(nil)
	defer w.Close()
	w.Resize(fyne.NewSize(1024, 768))
	s := newStationScreen(kiosk, w)
	w.SetContent(s.content)
	if !on(func() bool { return s.officerEmpty.Visible() }) {
		t.Fatal("no word that no officer is enrolled")
	}
	test.Tap(findButton(t, s.content, "Enroll officer…"))
	form := w.Canvas().Overlays().Top()
	entries := findEntries(form)
	test.Type(entries[0], "alice")
	test.Type(entries[1], "alice passphrase, long")
	test.Type(entries[2], "alice passphrase, long")
	test.Tap(findButton(t, form, "Enroll"))
	waitFor(t, "enrolment", func() bool { return len(s.officers) == 1 })
	if on(func() bool { return s.officerEmpty.Visible() }) || s.officers[0].Name != "alice" {
		t.Fatalf("officers: %+v", s.officers)
	}

	test.Tap(findButton(t, s.content, "Edit policy…"))
	editor := w.Canvas().Overlays().Top()
	entry := findEntry(t, editor)
	install := findButton(t, editor, "Install")
	entry.SetText(strings.Replace(entry.Text, `"script"`, `"scripts"`, 1))
	if !install.Disabled() || !strings.Contains(strings.Join(labels(editor), " "), `"scripts" is not a type family`) {
		t.Fatalf("a draft with a mistake: install enabled %v; %v", !install.Disabled(), labels(editor))
	}
	entry.SetText(strings.Replace(strings.Replace(entry.Text, `"scripts"`, `"script"`, 1), `, "disk-image"]`, `]`, 1))
	if install.Disabled() {
		t.Fatalf("a valid draft cannot be installed: %v", labels(editor))
	}
	// Officers are enrolled: the change is made by one, signed in.
	test.Tap(install)
	form = w.Canvas().Overlays().Top()
	test.Type(findEntry(t, form), "alice passphrase, long")
	test.Tap(findButton(t, form, "Sign in"))
	waitFor(t, "the policy", func() bool { return !strings.Contains(s.policyText.Text, "disk-image") })
	if slices.Contains(kiosk.Policy.Content.Block, "disk-image") {
		t.Fatalf("policy not in force: %v", kiosk.Policy.Content.Block)
	}
	b, _ := os.ReadFile(filepath.Join(kiosk.Home, "policy.toml"))
	if !strings.Contains(string(b), `block = ["executable", "script", "shortcut"]`) || !strings.Contains(string(b), "# Sluice receive policy") {
		t.Fatal("policy.toml not written as typed, comments and all")
	}
	var changed bool
	custody.Each(kiosk.CustodyPath, func(_ []byte, r custody.Record) error {
		changed = changed || strings.HasPrefix(r.Reason, "receive policy changed") && strings.Contains(r.Reason, "by officer alice") && r.Officer == "alice"
		return nil
	})
	if !changed {
		t.Fatal("the policy change is not recorded")
	}
}

// An officer signs in to act; records name them; after the idle time
// they are signed out and the next action asks again.
func TestOfficerSessionSignsOutWhenIdle(t *testing.T) {
	crypto.OfficerWorkFactor = 10
	test.NewTempApp(t)
	_, kiosk := stations(t)
	if _, err := kiosk.AddOfficer("alice", []byte("alice passphrase, long")); err != nil {
		t.Fatal(err)
	}
	w := test.NewWindow(nil)
	defer w.Close()
	old := idleSignOut
	idleSignOut = 300 * time.Millisecond
	defer func() { idleSignOut = old }()
	sess := newSession(kiosk, w)
	w.SetContent(sess.bar)
	done := make(chan struct{})
	defer close(done)
	sess.watch(done)
	if !on(func() bool { return sess.bar.Visible() && sess.signIn.Visible() }) {
		t.Fatal("no Sign in with officers enrolled")
	}
	ran := false
	sess.require("test", func() { ran = true })
	form := w.Canvas().Overlays().Top()
	test.Type(findEntry(t, form), "alice passphrase, long")
	test.Tap(findButton(t, form, "Sign in"))
	waitFor(t, "sign-in", func() bool { return ran })
	if st := on(func() string { return sess.acting().Officer }); st != "alice" {
		t.Fatalf("acting as %q", st)
	}
	waitFor(t, "idle sign-out", func() bool { return sess.officer == nil })
	if !strings.Contains(on(func() string { return sess.label.Text }), "Signed out after") {
		t.Fatal(sess.label.Text)
	}
	if st := on(func() string { return sess.acting().Officer }); st == "alice" {
		t.Fatal("still acting as alice after the sign-out")
	}
}

// findEntries returns every entry under o, in order.
func findEntries(o fyne.CanvasObject) []*widget.Entry {
	var out []*widget.Entry
	var walk func(fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		switch w := o.(type) {
		case *widget.Entry:
			out = append(out, w)
		case *fyne.Container:
			for _, c := range w.Objects {
				walk(c)
			}
		case fyne.Widget:
			for _, c := range test.WidgetRenderer(w).Objects() {
				walk(c)
			}
		}
	}
	walk(o)
	return out
}

// Two-person sealing on the Send screen: the officer sealing signs in, a
// second officer approves in the dialog that follows, and the records say
// who did what.
func TestSealNeedsAnotherOfficer(t *testing.T) {
	crypto.OfficerWorkFactor = 10
	test.NewTempApp(t)
	sender, _ := stations(t)
	sender.Policy.RequireSealApprovals = 1
	enrollOfficers(t, sender, "alice", "bob")
	w := test.NewWindow(nil)
	defer w.Close()
	w.Resize(fyne.NewSize(1024, 768))
	src := filepath.Join(t.TempDir(), "out")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "notes.txt"), []byte("fine"), 0o644)
	s := newSendScreen(sender, w)
	w.SetContent(s.content)
	s.addPaths([]string{src})
	waitFor(t, "hashing", func() bool { return s.hashed })
	out := t.TempDir()
	s.recipients.SetSelected([]string{"kiosk-1"})
	s.setDest(out)
	test.Tap(s.seal)
	form := w.Canvas().Overlays().Top()
	findSelect(t, form).SetSelected("alice")
	test.Type(findEntry(t, form), "alice passphrase, long")
	test.Tap(findButton(t, form, "Sign in"))
	waitFor(t, "the approvers' dialog", func() bool {
		top := w.Canvas().Overlays().Top()
		return top != nil && top != form && len(findEntries(top)) == 1
	})
	form = w.Canvas().Overlays().Top()
	sel := findSelect(t, form)
	if strings.Join(sel.Options, ",") != "bob" {
		t.Fatalf("the officer sealing is offered as their own approver: %v", sel.Options)
	}
	sel.SetSelected("bob")
	test.Type(findEntry(t, form), "bob passphrase, long")
	test.Tap(findButton(t, form, "Approve"))
	waitFor(t, "sealing", func() bool { return strings.HasPrefix(s.status.Text, "Sealed and written") })
	var approved, sealed custody.Record
	custody.Each(sender.CustodyPath, func(_ []byte, r custody.Record) error {
		switch r.Event {
		case custody.EventApproved:
			approved = r
		case custody.EventSealed:
			sealed = r
		}
		return nil
	})
	if approved.Officer != "bob" || sealed.Officer != "alice" || !strings.HasPrefix(sealed.Reason, "approved by bob (the approved records before this one, files_sha256 ") {
		t.Fatalf("approved %+v\nsealed %+v", approved, sealed)
	}
}

// enrollOfficers enrolls officers NAME with passphrase "NAME passphrase,
// long": the first alone, the others by the first, signed in.
func enrollOfficers(t *testing.T, st *app.Station, names ...string) {
	t.Helper()
	var first *app.SignedIn
	for _, n := range names {
		acting := st
		if first != nil {
			acting = st.AsOfficer(first)
		}
		if _, err := acting.AddOfficer(n, []byte(n+" passphrase, long")); err != nil {
			t.Fatal(err)
		}
		if first == nil {
			var err error
			if first, err = st.SignIn(n, []byte(n+" passphrase, long")); err != nil {
				t.Fatal(err)
			}
		}
	}
}
