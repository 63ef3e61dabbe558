package ui

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"sluice/app"
	"sluice/crypto"
	"sluice/transfer/bundle"
	"sluice/transfer/custody"
	"sluice/transfer/media"
)

// The test goroutine is the UI thread: workers queue their widget changes
// (onUI) and the test runs them while it waits, as Fyne's loop would.
var uiQueue = make(chan func(), 4096)

func init() { onUI = func(f func()) { uiQueue <- f } }

func pump() {
	for {
		select {
		case f := <-uiQueue:
			f()
		default:
			return
		}
	}
}

// on reads UI state on the UI thread (the test goroutine) after running
// what the workers queued.
func on[T any](f func() T) T {
	pump()
	return f()
}

// waitFor runs queued UI work until cond holds or 20 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !on(cond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func stations(t *testing.T) (*app.Station, *app.Station) {
	dir := t.TempDir()
	s, err := app.Init(filepath.Join(dir, "s"), "sender-1", false)
	if err != nil {
		t.Fatal(err)
	}
	k, err := app.Init(filepath.Join(dir, "k"), "kiosk-1", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.TrustAdd(k.Card().Marshal()); err != nil {
		t.Fatal(err)
	}
	if _, err := k.TrustAdd(s.Card().Marshal()); err != nil {
		t.Fatal(err)
	}
	return s, k
}

// releaseOnScreen releases the bundle open on r into a new release
// folder of kiosk, as the officer does, and returns the folder and the
// screen's status once it says released or rejected.
func releaseOnScreen(t *testing.T, kiosk *app.Station, r *receiveScreen) (dir, status string) {
	t.Helper()
	dir = t.TempDir()
	if err := kiosk.SetReleaseFolders([]string{dir}); err != nil {
		t.Fatal(err)
	}
	r.loadDests()
	r.setDest(dir)
	test.Tap(r.release)
	waitFor(t, "release", func() bool {
		return strings.HasPrefix(r.status.Text, "Released") || strings.HasPrefix(r.status.Text, "Rejected")
	})
	return dir, on(func() string { return r.status.Text })
}

func TestWizardCreatesTheStation(t *testing.T) {
	test.NewTempApp(t)
	w := test.NewWindow(nil)
	defer w.Close()
	home := filepath.Join(t.TempDir(), "st")
	z := newWizard(home, w, func(st *app.Station) { w.SetContent(tabs(st, w, Options{})) })
	w.SetContent(z.content)
	test.Type(z.name, "kiosk-7")
	test.Tap(z.create)
	st, err := app.Load(home)
	if err != nil || st.Name != "kiosk-7" {
		t.Fatalf("station not created: %v", err)
	}
	if _, ok := appTabs(w.Content()); !ok {
		// The tabs replace the wizard.
		t.Fatalf("window shows %T after creating the station", w.Content())
	}
}

// TestSendThenReceive drives both screens on real files and real keys:
// stage, hash, seal to a folder, open it at the kiosk, release, and check
// the files and both custody logs.
func TestSendThenReceive(t *testing.T) {
	test.NewTempApp(t)
	sender, kiosk := stations(t)
	w := test.NewWindow(nil)
	defer w.Close()
	src := filepath.Join(t.TempDir(), "reports")
	os.MkdirAll(filepath.Join(src, "q3"), 0o755)
	os.WriteFile(filepath.Join(src, "q3", "summary.txt"), []byte("all well"), 0o644)
	os.WriteFile(filepath.Join(src, "plan.bin"), bytes.Repeat([]byte{7}, 3<<20), 0o644)

	s := newSendScreen(sender, w)
	w.SetContent(s.content)
	if on(func() bool { return s.seal.Disabled() }) == false {
		t.Fatal("Seal is enabled with nothing staged")
	}
	s.addPaths([]string{src})
	waitFor(t, "hashing", func() bool { return s.hashed })
	for _, src := range on(func() []bundle.Source { return s.srcs }) {
		if src.Type == bundle.TypeFile && src.SHA256 == nil {
			t.Fatalf("%s has no hash after hashing", src.Path)
		}
	}
	if on(func() bool { return s.seal.Disabled() }) == false {
		t.Fatal("Seal is enabled before a kiosk and a destination are chosen")
	}
	out := t.TempDir()
	s.recipients.SetSelected([]string{"kiosk-1"})
	s.setDest(out)
	if on(func() bool { return s.seal.Disabled() }) {
		t.Fatal("Seal is disabled although everything is ready")
	}
	test.Tap(s.seal)
	waitFor(t, "sealing", func() bool { return strings.HasPrefix(s.status.Text, "Sealed and written") })
	dirs, _ := filepath.Glob(filepath.Join(out, "*.sluice"))
	if len(dirs) != 1 {
		t.Fatalf("%d bundles in the destination", len(dirs))
	}

	r := newReceiveScreen(kiosk, w)
	w.SetContent(r.content)
	r.openBundle(dirs[0])
	waitFor(t, "inspection", func() bool { return r.in != nil || r.inErr != nil })
	if on(func() bool { return r.admissible() }) == false {
		t.Fatalf("envelope not admissible: %v", r.inErr)
	}
	rel, st := releaseOnScreen(t, kiosk, r)
	if !strings.HasPrefix(st, "Released") {
		t.Fatal(st)
	}
	released, _ := filepath.Glob(filepath.Join(rel, "*", "reports", "q3", "summary.txt"))
	if len(released) != 1 {
		t.Fatal("released file not found")
	}
	if got, _ := os.ReadFile(released[0]); string(got) != "all well" {
		t.Fatalf("released content %q", got)
	}
	if n := on(func() int { return len(r.entries) }); n != 4 {
		t.Fatalf("result list shows %d entries, want 4", n)
	}
	var last custody.Record
	custody.Each(kiosk.CustodyPath, func(_ []byte, rec custody.Record) error { last = rec; return nil })
	if last.Event != custody.EventReleased {
		t.Fatalf("kiosk's last custody record: %+v", last)
	}

	// The log screen shows the records and verifies.
	l := newLogScreen(kiosk, w)
	w.SetContent(l.content)
	test.Tap(findButton(t, l.content, "Verify log"))
	waitFor(t, "verdict", func() bool {
		return strings.HasPrefix(l.verdict.Text, "✓") || strings.HasPrefix(l.verdict.Text, "✗")
	})
	if v := on(func() string { return l.verdict.Text }); !strings.HasPrefix(v, "✓ Verified") {
		t.Fatal(v)
	}
	rs, err := l.reconcile(sender.CustodyPath)
	if err != nil || len(rs) != 2 || len(rs[0].Bundles)+len(rs[1].Bundles) != 1 || !rs[0].OK() || !rs[1].OK() {
		t.Fatalf("reconcile with the sender's log: %v %+v", err, rs)
	}
	l.event.SetSelected(custody.EventReleased)
	if n := on(func() int { return len(l.shown) }); n != 1 {
		t.Fatalf("filter by released shows %d records", n)
	}
}

func TestCancelSealLeavesNothing(t *testing.T) {
	test.NewTempApp(t)
	sender, _ := stations(t)
	w := test.NewWindow(nil)
	defer w.Close()
	src := filepath.Join(t.TempDir(), "big")
	os.MkdirAll(src, 0o755)
	big := make([]byte, 256<<20)
	rand.Read(big)
	os.WriteFile(filepath.Join(src, "disk.img"), big, 0o644)
	s := newSendScreen(sender, w)
	w.SetContent(s.content)
	s.addPaths([]string{src})
	waitFor(t, "hashing", func() bool { return s.hashed })
	out := t.TempDir()
	s.recipients.SetSelected([]string{"kiosk-1"})
	s.setDest(out)
	test.Tap(s.seal)
	start := time.Now()
	test.Tap(s.stop)
	waitFor(t, "cancel", func() bool { return !s.busy() })
	if d := time.Since(start); d > time.Second {
		t.Errorf("cancel took %v, more than a second", d)
	}
	if st := on(func() string { return s.status.Text }); !strings.Contains(st, "cancelled") {
		t.Fatalf("status after cancel: %q", st)
	}
	if ents, _ := os.ReadDir(out); len(ents) != 0 {
		t.Fatalf("cancelled seal left %d entries", len(ents))
	}
}

func TestTamperedBundleCannotBeReleased(t *testing.T) {
	test.NewTempApp(t)
	sender, kiosk := stations(t)
	src := filepath.Join(t.TempDir(), "x")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "a"), []byte("alpha"), 0o644)
	srcs, _ := app.StagePaths([]string{src})
	sealed, err := sender.Pack(t.Context(), app.PackRequest{To: []string{"kiosk-1"}, OutDir: t.TempDir(), Sources: srcs})
	if err != nil {
		t.Fatal(err)
	}
	vol := filepath.Join(sealed.Dir, bundle.VolumeName(0))
	b, _ := os.ReadFile(vol)
	b[len(b)/2] ^= 1
	os.WriteFile(vol, b, 0o644)
	w := test.NewWindow(nil)
	defer w.Close()
	r := newReceiveScreen(kiosk, w)
	w.SetContent(r.content)
	r.openBundle(sealed.Dir)
	waitFor(t, "inspection", func() bool { return r.in != nil || r.inErr != nil })
	r.setDest(t.TempDir())
	if v := on(func() string { return r.verdict.Text }); !strings.Contains(v, "Do not release") || !strings.Contains(v, "corrupt") {
		t.Fatalf("verdict: %q", v)
	}
	if on(func() bool { return r.release.Disabled() }) == false {
		t.Fatal("Release is enabled for a corrupt bundle")
	}
	r.rejectWith("volume corrupt on arrival")
	var last custody.Record
	custody.Each(kiosk.CustodyPath, func(_ []byte, rec custody.Record) error { last = rec; return nil })
	if last.Event != custody.EventRejected || !strings.Contains(last.Reason, "volume corrupt on arrival") {
		t.Fatalf("rejection not recorded: %+v", last)
	}
}

func findButton(t *testing.T, o fyne.CanvasObject, text string) *widget.Button {
	t.Helper()
	return find(t, o, "a "+text+" button", func(b *widget.Button) bool { return b.Text == text })
}

func findEntry(t *testing.T, o fyne.CanvasObject) *widget.Entry {
	t.Helper()
	return find(t, o, "an entry", func(*widget.Entry) bool { return true })
}

func findSelect(t *testing.T, o fyne.CanvasObject) *widget.Select {
	t.Helper()
	return find(t, o, "a select", func(*widget.Select) bool { return true })
}

// find returns the last widget of type T under o that match accepts.
func find[T fyne.CanvasObject](t *testing.T, o fyne.CanvasObject, what string, match func(T) bool) T {
	t.Helper()
	var found T
	ok := false
	var walk func(fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		if w, is := o.(T); is && match(w) {
			found, ok = w, true
		}
		switch w := o.(type) {
		case *fyne.Container:
			for _, c := range w.Objects {
				walk(c)
			}
		case fyne.Widget:
			if _, leaf := o.(T); !leaf {
				for _, c := range test.WidgetRenderer(w).Objects() {
					walk(c)
				}
			}
		}
	}
	walk(o)
	if !ok {
		t.Fatalf("no %s", what)
	}
	return found
}

// TestTenThousandStagedFiles stages 10,000 files: every hash arrives in the
// table and Seal becomes possible.
func TestTenThousandStagedFiles(t *testing.T) {
	test.NewTempApp(t)
	sender, _ := stations(t)
	src := filepath.Join(t.TempDir(), "many")
	for d := range 10 {
		dir := filepath.Join(src, fmt.Sprintf("d%d", d))
		os.MkdirAll(dir, 0o755)
		for i := range 1000 {
			os.WriteFile(filepath.Join(dir, fmt.Sprintf("a-rather-long-file-name-of-the-kind-officers-get-%04d.csv", i)), []byte{byte(i)}, 0o644)
		}
	}
	w := test.NewWindow(nil)
	defer w.Close()
	w.Resize(fyne.NewSize(900, 640))
	s := newSendScreen(sender, w)
	w.SetContent(s.content)
	s.addPaths([]string{src})
	waitFor(t, "hashing 10,000 files", func() bool { return s.hashed })
	rows, _ := s.table.Length()
	if rows != 10011 {
		t.Fatalf("table has %d rows, want 10,011 (10,000 files, 11 folders)", rows)
	}
	for _, src := range s.srcs {
		if src.Type == bundle.TypeFile && src.SHA256 == nil {
			t.Fatalf("%s has no hash in the table", src.Path)
		}
	}
	if !strings.Contains(s.total.Text, "10,000 files") {
		t.Fatalf("total: %q", s.total.Text)
	}
}

// TestDrivesAppearOnBothScreens feeds the screens a drive list as the
// watcher would: the send screen offers the drive as a destination, and
// the receive screen lists the bundle on it and opens it when chosen.
func TestDrivesAppearOnBothScreens(t *testing.T) {
	test.NewTempApp(t)
	sender, kiosk := stations(t)
	stick := t.TempDir()
	src := filepath.Join(t.TempDir(), "x")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "a"), []byte("alpha"), 0o644)
	srcs, _ := app.StagePaths([]string{src})
	sealed, err := sender.Pack(t.Context(), app.PackRequest{To: []string{"kiosk-1"}, OutDir: stick, Sources: srcs})
	if err != nil {
		t.Fatal(err)
	}
	drives := []media.Drive{{Device: "/dev/sdz", Vendor: "Test", Model: "Stick", Removable: true,
		Mounts: []media.Mount{{Device: "/dev/sdz1", Point: stick, FSType: "vfat", Label: "TRANSFER"}}}}
	w := test.NewWindow(nil)
	defer w.Close()
	s := newSendScreen(sender, w)
	s.setDrives(drives)
	if len(s.drives.Options) != 1 || !strings.HasPrefix(s.drives.Options[0], "TRANSFER — vfat") {
		t.Fatalf("drive picker: %q", s.drives.Options)
	}
	s.drives.SetSelected(s.drives.Options[0])
	if s.dest != stick || s.eject.Disabled() {
		t.Fatalf("choosing the drive: dest %q, eject disabled %v", s.dest, s.eject.Disabled())
	}
	s.setDrives(nil) // pulled out
	if len(s.drives.Options) != 0 || !s.eject.Disabled() {
		t.Fatal("a removed drive is still offered")
	}
	r := newReceiveScreen(kiosk, w)
	r.setDrives(drives)
	if len(r.found) != 1 || r.found[0] != sealed.Dir {
		t.Fatalf("bundles found on the drive: %q", r.found)
	}
	r.onDrives.Select(0)
	waitFor(t, "inspection", func() bool { return r.in != nil || r.inErr != nil })
	if !r.admissible() {
		t.Fatalf("bundle from the drive not admissible: %v", r.inErr)
	}
}

// TestLogScreenTornLastLine: after a crash cut the last append short, the
// log screen's verdict says the line is torn, that this is not tampering,
// that the records before it verify, and which command repairs it.
func TestLogScreenTornLastLine(t *testing.T) {
	test.NewTempApp(t)
	_, kiosk := stations(t)
	f, err := os.OpenFile(kiosk.CustodyPath, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"seq":3,"prev":"`)
	f.Close()
	w := test.NewWindow(nil)
	defer w.Close()
	l := newLogScreen(kiosk, w)
	w.SetContent(l.content)
	test.Tap(findButton(t, l.content, "Verify log"))
	waitFor(t, "verdict", func() bool {
		return strings.HasPrefix(l.verdict.Text, "⚠") || strings.HasPrefix(l.verdict.Text, "✗")
	})
	v := on(func() string { return l.verdict.Text })
	for _, want := range []string{"⚠ Verified", "is torn", "not tampering", "records before it verify", "sluice log recover"} {
		if !strings.Contains(v, want) {
			t.Fatalf("verdict %q lacks %q", v, want)
		}
	}
	if on(func() widget.Importance { return l.verdict.Importance }) != widget.WarningImportance {
		t.Fatal("torn-line verdict is not a warning")
	}
}

// The receive screen shows a signed note escaped, withholds the note of an
// envelope edited on the stick, and no label carries a raw control or
// bidirectional character (issue 9, kind 2).
func TestReceiveScreenEscapesAndWithholdsNotes(t *testing.T) {
	test.NewTempApp(t)
	sender, kiosk := stations(t)
	src := filepath.Join(t.TempDir(), "x")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "a"), []byte("alpha"), 0o644)
	srcs, _ := app.StagePaths([]string{src})
	sealed, err := sender.Pack(t.Context(), app.PackRequest{To: []string{"kiosk-1"}, OutDir: t.TempDir(), Sources: srcs,
		Note: "\x1b[2Kapproved\u202e by security"})
	if err != nil {
		t.Fatal(err)
	}
	w := test.NewWindow(nil)
	defer w.Close()
	r := newReceiveScreen(kiosk, w)
	w.SetContent(r.content)
	noteOf := func() string {
		return on(func() string {
			for _, it := range append(r.envelope.Items, r.facts.Items...) {
				if it.Text == "Note" {
					return it.Widget.(*widget.Label).Text
				}
			}
			return ""
		})
	}
	rawIn := func() bool {
		return on(func() bool {
			for _, it := range append(r.envelope.Items, r.facts.Items...) {
				if strings.ContainsAny(it.Widget.(*widget.Label).Text, "\x1b\u202e\n\r") {
					return true
				}
			}
			return strings.ContainsAny(r.verdict.Text, "\x1b\u202e\n\r")
		})
	}
	r.openBundle(sealed.Dir)
	waitFor(t, "inspection", func() bool { return r.in != nil || r.inErr != nil })
	if n := noteOf(); n != `\x1b[2Kapproved\u202e by security` || rawIn() {
		t.Fatalf("signed note shown as %q", n)
	}
	ep := filepath.Join(sealed.Dir, bundle.EnvelopeName)
	b, _ := os.ReadFile(ep)
	os.WriteFile(ep, []byte(strings.Replace(string(b), `approved`, `APPROVED`, 1)), 0o644)
	r.openBundle(sealed.Dir)
	waitFor(t, "inspection", func() bool { return r.in != nil || r.inErr != nil })
	if n := noteOf(); !strings.Contains(n, "not shown") || strings.Contains(n, "APPROVED") || rawIn() {
		t.Fatalf("edited note shown as %q", n)
	}
}

// A bundle the policy holds is not released from the Receive screen: the
// screen says so and opens the review queue, which shows every held file
// with its reasons; the officer's release there lands it and is recorded.
func TestHeldBundleReviewedOnScreen(t *testing.T) {
	test.NewTempApp(t)
	sender, kiosk := stations(t)
	w := test.NewWindow(nil)
	defer w.Close()
	w.Resize(fyne.NewSize(1024, 768))
	src := filepath.Join(t.TempDir(), "in")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "notes.txt"), []byte("fine"), 0o644)
	os.WriteFile(filepath.Join(src, "invoice.pdf"), []byte(minimalPE), 0o644)
	srcs, err := app.StagePaths([]string{src})
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	sealed, err := sender.Pack(context.Background(), app.PackRequest{To: []string{"kiosk-1"}, OutDir: out, Sources: srcs})
	if err != nil {
		t.Fatal(err)
	}
	rel := t.TempDir()
	if err := kiosk.SetReleaseFolders([]string{rel}); err != nil {
		t.Fatal(err)
	}
	r := newReceiveScreen(kiosk, w)
	w.SetContent(r.content)
	if !on(func() bool { return r.scanWarn.Visible() && strings.Contains(r.scanWarn.Text, "No malware scanner") }) {
		t.Fatal("no standing warning while the policy scans nothing")
	}
	r.openBundle(sealed.Dir)
	waitFor(t, "inspection", func() bool { return r.in != nil || r.inErr != nil })
	r.loadDests()
	r.setDest(rel)
	test.Tap(r.release)
	waitFor(t, "hold", func() bool { return strings.HasPrefix(r.status.Text, "Held for review") })
	if ents, _ := os.ReadDir(rel); len(ents) != 0 {
		t.Fatalf("held bundle released %d entries", len(ents))
	}
	if on(func() bool { return r.release.Disabled() && r.review.Text == "Review queue (1)" }) == false {
		t.Fatalf("after the hold: release enabled %v, queue %q", !r.release.Disabled(), r.review.Text)
	}
	p := newReviewPanel(kiosk, r.sess, w, r.countReview)
	if len(p.items) != 1 {
		t.Fatalf("queue holds %d bundles", len(p.items))
	}
	p.list.Select(0)
	rows := on(func() string { return strings.Join(p.rows, "\n") })
	if !strings.Contains(rows, "HELD in/invoice.pdf") || !strings.Contains(rows, "blocked-type") || !strings.Contains(rows, "type-mismatch") {
		t.Fatalf("held files shown:\n%s", rows)
	}
	// A blocked type cannot be overridden under the default policy: the
	// release is disabled, and the panel says why.
	if !on(func() bool { return p.release.Disabled() }) {
		t.Fatal("release enabled for a blocked type")
	}
	if !strings.Contains(on(func() string { return p.status.Text }), "blocked-type") {
		t.Fatal(p.status.Text)
	}
	test.Tap(p.reject)
	form := w.Canvas().Overlays().Top()
	test.Type(findEntry(t, form), "a program named as an invoice")
	test.Tap(findButton(t, form, "Reject"))
	waitFor(t, "rejection", func() bool { return strings.HasPrefix(p.status.Text, "Rejected") })
	if list, _ := kiosk.Reviews(); len(list) != 0 {
		t.Fatalf("still held after the rejection: %d", len(list))
	}
	if !strings.Contains(on(func() string { return r.review.Text }), "(0)") {
		t.Fatalf("queue button after the rejection: %q", r.review.Text)
	}
}

// With a copy of the kiosk's policy, the Send screen marks, before
// sealing, the staged files the kiosk would hold, and says why.
func TestSendForeseesHolds(t *testing.T) {
	test.NewTempApp(t)
	sender, kiosk := stations(t)
	w := test.NewWindow(nil)
	defer w.Close()
	pol := filepath.Join(t.TempDir(), "kiosk.toml")
	os.WriteFile(pol, []byte(kiosk.Policy.Text()), 0o644)
	if err := sender.ImportPolicy("kiosk-1", pol); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "out")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "notes.txt"), []byte("fine"), 0o644)
	os.WriteFile(filepath.Join(src, "tool.txt"), []byte(minimalPE), 0o644)
	s := newSendScreen(sender, w)
	w.SetContent(s.content)
	s.recipients.SetSelected([]string{"kiosk-1"})
	s.addPaths([]string{src})
	waitFor(t, "the kiosk's verdict", func() bool { return s.heldNote.Visible() })
	note := on(func() string { return s.heldNote.Text })
	if !strings.Contains(note, "1 staged file(s) would be held") || !strings.Contains(note, "out/tool.txt") {
		t.Fatal(note)
	}
	if _, ok := on(func() map[string]string { return s.foreseen })["out/notes.txt"]; ok {
		t.Fatal("a file that passes is marked")
	}
}

// Two officers approve, one after the other, at the same kiosk screen;
// then the release goes through, naming both.
func TestTwoOfficersApproveOnScreen(t *testing.T) {
	crypto.OfficerWorkFactor = 10
	test.NewTempApp(t)
	sender, kiosk := stations(t)
	w := test.NewWindow(nil)
	defer w.Close()
	w.Resize(fyne.NewSize(1024, 768))
	kiosk.Policy.RequireApprovals = 2
	enrollOfficers(t, kiosk, "alice", "bob")
	src := filepath.Join(t.TempDir(), "in")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "scan.jpg"), []byte("%PDF-1.7\nnot a photo"), 0o644)
	srcs, _ := app.StagePaths([]string{src})
	sealed, err := sender.Pack(context.Background(), app.PackRequest{To: []string{"kiosk-1"}, OutDir: t.TempDir(), Sources: srcs})
	if err != nil {
		t.Fatal(err)
	}
	rel := t.TempDir()
	if _, err := kiosk.Receive(context.Background(), app.ReceiveRequest{BundleDir: sealed.Dir, OutDir: rel}); !errors.As(err, new(*app.HeldError)) {
		t.Fatalf("receive: %v", err)
	}
	p := newReviewPanel(kiosk, newSession(kiosk, w), w, nil)
	w.SetContent(p.content)
	p.list.Select(0)
	if !on(func() bool { return p.approve.Visible() && !p.approve.Disabled() }) {
		t.Fatal("no Approve button with officers enrolled")
	}
	for _, n := range []string{"alice", "bob"} {
		test.Tap(p.approve)
		form := w.Canvas().Overlays().Top()
		findSelect(t, form).SetSelected(n)
		test.Type(findEntry(t, form), n+" passphrase, long")
		test.Tap(findButton(t, form, "Sign approval"))
		waitFor(t, n+"'s approval", func() bool { return strings.HasPrefix(p.status.Text, "Approved by "+n) })
	}
	p.decide(false)
	test.Tap(findButton(t, w.Canvas().Overlays().Top(), "Yes"))
	// Officers are enrolled: the officer releasing signs in first.
	form := w.Canvas().Overlays().Top()
	findSelect(t, form).SetSelected("alice")
	test.Type(findEntry(t, form), "alice passphrase, long")
	test.Tap(findButton(t, form, "Sign in"))
	waitFor(t, "release", func() bool {
		return strings.HasPrefix(p.status.Text, "Released") || strings.HasPrefix(p.status.Text, "Not released")
	})
	if st := on(func() string { return p.status.Text }); !strings.HasPrefix(st, "Released") {
		t.Fatal(st)
	}
	var last custody.Record
	custody.Each(kiosk.CustodyPath, func(_ []byte, r custody.Record) error { last = r; return nil })
	if last.Event != custody.EventReleased || last.Officer != "alice" || !strings.Contains(last.Reason, "on the signed approvals of alice+bob") {
		t.Fatalf("release record: %+v", last)
	}
}

// minimalPE is the smallest content with a PE header where its DOS header
// points: what the kiosk takes for a Windows program.
var minimalPE = "MZ" + strings.Repeat("\x00", 0x3a) + "\x40\x00\x00\x00PE\x00\x00 a program"
