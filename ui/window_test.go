package ui

// Evidence for the officer's window (issue 10): each blocker and major
// fault, driven headless on real stations and files.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"sluice/app"
	"sluice/crypto"
	"sluice/transfer/custody"
	"sluice/transfer/media"
)

// fakeStick makes media.Host see dir as the mount point of a removable USB
// stick, for the rest of the test.
func fakeStick(t *testing.T, dir string) {
	t.Helper()
	root := t.TempDir()
	dev := filepath.Join(root, "sys/devices/pci0000:00/usb2/2-1/host6/target6:0:0/6:0:0:0/block/sdb")
	write := func(p, s string) {
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(dev, "removable"), "1\n")
	write(filepath.Join(dev, "dev"), "8:16\n")
	write(filepath.Join(dev, "size"), "1000000\n")
	write(filepath.Join(dev, "sdb1/dev"), "8:17\n")
	os.MkdirAll(filepath.Join(root, "sys/block"), 0o755)
	os.Symlink(dev, filepath.Join(root, "sys/block/sdb"))
	write(filepath.Join(root, "mountinfo"), fmt.Sprintf("27 1 8:2 / / rw - ext4 /dev/sda2 rw\n101 27 8:17 / %s rw,nosuid - vfat /dev/sdb1 rw\n", dir))
	old := media.Host
	media.Host = media.System{Sys: filepath.Join(root, "sys"), MountInfo: filepath.Join(root, "mountinfo"), UdevData: filepath.Join(root, "udev")}
	t.Cleanup(func() { media.Host = old })
}

func sealFor(t *testing.T, sender *app.Station, to string, files map[string]string) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), "outbox")
	for p, c := range files {
		os.MkdirAll(filepath.Dir(filepath.Join(src, p)), 0o755)
		os.WriteFile(filepath.Join(src, p), []byte(c), 0o644)
	}
	srcs, err := app.StagePaths([]string{src})
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := sender.Pack(t.Context(), app.PackRequest{To: []string{to}, OutDir: t.TempDir(), Sources: srcs})
	if err != nil {
		t.Fatal(err)
	}
	return sealed.Dir
}

// Blocker: a kiosk never releases onto removable media, nor inside the
// bundle, nor into the folder it reads from. The app offers only the
// station's release folders, which a technician sets and which may not be
// on a stick; the app refuses the rest for the CLI too.
func TestReleaseOnlyIntoTheStationsFolders(t *testing.T) {
	test.NewTempApp(t)
	sender, kiosk := stations(t)
	dir := sealFor(t, sender, "kiosk-1", map[string]string{"a.txt": "alpha"})
	w := test.NewWindow(nil)
	defer w.Close()
	sc := newScreens(kiosk, w, Options{})
	w.SetContent(sc.tabs)
	r := sc.recv
	r.openBundle(dir)
	waitFor(t, "inspection", func() bool { return r.in != nil || r.inErr != nil })
	if !r.admissible() {
		t.Fatalf("bundle not admissible: %v", r.inErr)
	}
	if on(func() bool {
		return !r.release.Disabled() || r.destHint.Hidden || !strings.Contains(r.destHint.Text, "Station screen")
	}) {
		t.Fatal("release offered with no release folder set, or no hint where to set one")
	}
	// The technician: a stick, the bundle's folder and a file are refused.
	stick := t.TempDir()
	fakeStick(t, stick)
	aFile := filepath.Join(t.TempDir(), "file")
	os.WriteFile(aFile, nil, 0o644)
	os.MkdirAll(filepath.Join(stick, "sub"), 0o755)
	for _, bad := range []string{stick, filepath.Join(stick, "sub"), aFile, "relative/path", filepath.Join(t.TempDir(), "missing")} {
		if err := kiosk.SetReleaseFolders([]string{bad}); err == nil {
			t.Errorf("release folder %s accepted", bad)
		}
	}
	good := t.TempDir()
	sc.station.addFolder(good)
	if got, _ := kiosk.ReleaseFolders(); len(got) != 1 || got[0] != good {
		t.Fatalf("release folders: %v", got)
	}
	// Every screen follows: the receive screen offers it without a restart.
	waitFor(t, "the receive screen to offer the new folder", func() bool { return len(r.dests.Options) == 1 && r.dest == good })
	waitFor(t, "release to be offered", func() bool { return r.in != nil && !r.release.Disabled() })
	r.setDest(t.TempDir()) // a folder that is not the station's is not taken
	if on(func() string { return r.dest }) != good {
		t.Fatal("the receive screen took a release folder the station does not have")
	}
	// The CLI's --out is refused on a stick and inside the read folder.
	for _, out := range []string{stick, filepath.Dir(dir), filepath.Join(dir, "x")} {
		if _, err := kiosk.Receive(t.Context(), app.ReceiveRequest{BundleDir: dir, OutDir: out}); err == nil {
			t.Errorf("released into %s", out)
		}
	}
	test.Tap(r.release)
	waitFor(t, "release", func() bool { return r.released != nil || strings.HasPrefix(r.status.Text, "Rejected") })
	if r.released == nil || filepath.Dir(r.released.Dir) != good {
		t.Fatalf("released into %v: %s", r.released, r.status.Text)
	}
}

// Blocker: a card imported anywhere (the Station screen, another window,
// the CLI) reaches Send's recipients and Receive's verdict at once, with
// no restart; until then Send says where to go.
func TestTrustChangesReachEveryScreen(t *testing.T) {
	test.NewTempApp(t)
	dir := t.TempDir()
	kiosk, _ := app.Init(filepath.Join(dir, "k"), "kiosk-1", false)
	sender, _ := app.Init(filepath.Join(dir, "s"), "sender-1", false)
	kiosk.TrustAdd(sender.Card().Marshal())
	w := test.NewWindow(nil)
	defer w.Close()
	sc := newScreens(sender, w, Options{})
	w.SetContent(sc.tabs)
	if on(func() bool { return sc.send.noKiosks.Hidden || len(sc.send.recipients.Options) != 0 }) {
		t.Fatal("Send shows no hint when no station is trusted")
	}
	incoming := sealFor(t, kiosk, "sender-1", map[string]string{"b.txt": "beta"})
	sc.recv.openBundle(incoming)
	waitFor(t, "inspection", func() bool { return sc.recv.in != nil || sc.recv.inErr != nil })
	if v := on(func() string { return sc.recv.verdict.Text }); !strings.Contains(v, "kiosk-1 is not trusted here") {
		t.Fatalf("verdict before the import: %q", v)
	}
	// Another process imports the card.
	other, err := app.Load(sender.Home)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.TrustAdd(kiosk.Card().Marshal()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "Send to list kiosk-1", func() bool {
		return len(sc.send.recipients.Options) == 1 && sc.send.recipients.Options[0] == "kiosk-1" && sc.send.noKiosks.Hidden
	})
	waitFor(t, "Receive to re-check the bundle", func() bool { return sc.recv.in != nil && sc.recv.in.Trust == "trusted" })
	// Records appended by another process reach the log screen.
	n := on(func() int { return len(sc.log.all) })
	if err := other.SetReleaseFolders([]string{t.TempDir()}); err != nil { // appends a record
		t.Fatal(err)
	}
	waitFor(t, "the log screen to show the new record", func() bool { return len(sc.log.all) > n })
	if last := on(func() custody.Record { return sc.log.all[len(sc.log.all)-1] }); last.Event != custody.EventSettingsChanged {
		t.Fatalf("last record shown: %+v", last)
	}
}

// Major: nothing grows past the screen. Every screen fits 1024×768 with a
// post-quantum card, 10,000 staged files, a 10,000-file bundle opened and
// released, and long messages.
func TestScreensFitTheScreen(t *testing.T) {
	test.NewTempApp(t)
	dir := t.TempDir()
	sender, _ := app.Init(filepath.Join(dir, "s"), "sender-1", true)
	kiosk, _ := app.Init(filepath.Join(dir, "k"), "kiosk-1", true)
	sender.TrustAdd(kiosk.Card().Marshal())
	kiosk.TrustAdd(sender.Card().Marshal())
	files := map[string]string{}
	for i := range 10000 {
		files[fmt.Sprintf("d%02d/f%05d.txt", i%50, i)] = "x"
	}
	bundleDir := sealFor(t, sender, "kiosk-1", files)
	out := t.TempDir()
	kiosk.SetReleaseFolders([]string{out})
	limit := fyne.NewSize(1024, 768)
	for _, kioskMode := range []bool{false, true} {
		w := test.NewWindow(nil)
		sc := newScreens(kiosk, w, Options{Kiosk: kioskMode})
		w.SetContent(sc.tabs)
		w.Resize(limit)
		sc.send.addPaths([]string{filepath.Dir(bundleDir)})
		sc.recv.openBundle(bundleDir)
		waitFor(t, "inspection", func() bool { return sc.recv.in != nil || sc.recv.inErr != nil })
		sc.recv.status.SetText(strings.Repeat("A long message that must wrap rather than widen the window. ", 20))
		for i := range sc.tabs.Items {
			sc.tabs.SelectIndex(i)
			if m := sc.tabs.MinSize(); m.Width > limit.Width || m.Height > limit.Height {
				t.Errorf("kiosk %v, tab %q needs %v, more than %v", kioskMode, sc.tabs.Items[i].Text, m, limit)
			}
		}
		if !kioskMode {
			continue
		}
		if len(sc.tabs.Items) != 2 {
			t.Errorf("kiosk mode shows %d tabs", len(sc.tabs.Items))
		}
		test.Tap(sc.recv.release)
		waitFor(t, "release", func() bool { return sc.recv.released != nil || strings.HasPrefix(sc.recv.status.Text, "Rejected") })
		if m := sc.tabs.MinSize(); m.Width > limit.Width || m.Height > limit.Height {
			t.Errorf("after releasing 10,000 files the window needs %v", m)
		}
		w.Close()
	}
}

// Major: after sealing, the flow ends on a summary with New transfer;
// sealing the same stage again asks first; the phases are named.
func TestSealTwiceAsksAndPhasesAreNamed(t *testing.T) {
	test.NewTempApp(t)
	sender, _ := stations(t)
	src := filepath.Join(t.TempDir(), "x")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "a"), []byte("alpha"), 0o644)
	out := t.TempDir()
	w := test.NewWindow(nil)
	defer w.Close()
	s := newSendScreen(sender, w)
	w.SetContent(s.content)
	s.addPaths([]string{src})
	waitFor(t, "hashing", func() bool { return s.hashed })
	s.recipients.SetSelected([]string{"kiosk-1"})
	s.setDest(out)
	test.Tap(s.seal)
	waitFor(t, "sealing", func() bool { return strings.HasPrefix(s.status.Text, "Sealed and written") })
	if on(func() bool { return s.again.Hidden || s.meter.label.Text != "" || !s.meter.bar.Hidden }) {
		t.Fatal("no New transfer after sealing, or stale progress left")
	}
	if got := on(func() []string { return s.meter.phases }); strings.Join(got, "|") != "Sealing|"+app.PhaseSeal+"|"+app.PhaseReadBack {
		t.Errorf("phases shown: %q", got)
	}
	// Ctrl+Enter or a click on Seal again: a question, not a second bundle.
	test.Tap(s.seal)
	confirm := w.Canvas().Overlays().Top()
	if confirm == nil || !strings.Contains(strings.Join(labels(confirm), " "), "Seal the same files again?") {
		t.Fatal("sealing the same stage again did not ask")
	}
	test.Tap(findButton(t, confirm, "No"))
	if ents, _ := os.ReadDir(out); len(ents) != 1 {
		t.Fatalf("%d bundles written after declining", len(ents))
	}
	test.Tap(s.again)
	if on(func() bool { return len(s.srcs) != 0 || !s.seal.Disabled() || s.sealed != "" }) {
		t.Fatal("New transfer did not clear the stage")
	}
}

// Major: adding a folder does not hash again what is already hashed, and
// the destination can be chosen while hashing.
func TestStagedHashesAreKept(t *testing.T) {
	test.NewTempApp(t)
	sender, _ := stations(t)
	big := filepath.Join(t.TempDir(), "big")
	os.MkdirAll(big, 0o755)
	os.WriteFile(filepath.Join(big, "a.bin"), make([]byte, 4<<20), 0o644)
	w := test.NewWindow(nil)
	defer w.Close()
	s := newSendScreen(sender, w)
	s.addPaths([]string{big})
	waitFor(t, "hashing", func() bool { return s.hashed })
	first := on(func() *crypto.Digest { return s.srcs[1].SHA256 })
	more := filepath.Join(t.TempDir(), "more")
	os.MkdirAll(more, 0o755)
	os.WriteFile(filepath.Join(more, "b.txt"), []byte("b"), 0o644)
	s.addPaths([]string{more})
	if on(func() bool { return s.chooseDest.Disabled() || s.drives.Disabled() }) {
		t.Fatal("destination locked while hashing")
	}
	waitFor(t, "hashing", func() bool { return s.hashed })
	// The same digest, not one computed again (HashSources makes a new one
	// for every file it reads).
	if got := on(func() *crypto.Digest { return s.srcs[1].SHA256 }); got != first {
		t.Fatal("the file already hashed was hashed again")
	}
}

// Kiosk mode, set by the technician (Station screen or sluice desktop):
// the app opens with Receive and the custody log only.
func TestKioskModeFromTheStation(t *testing.T) {
	test.NewTempApp(t)
	_, kiosk := stations(t)
	if err := kiosk.SetKiosk(true); err != nil {
		t.Fatal(err)
	}
	w := test.NewWindow(nil)
	defer w.Close()
	content := Create(fyne.CurrentApp(), w, kiosk.Home)
	tabs, ok := appTabs(content)
	if !ok || len(tabs.Items) != 2 || tabs.Items[0].Text != "Receive" || tabs.Items[1].Text != "Custody log" {
		t.Fatalf("kiosk mode window: %T %v", content, content)
	}
	if !strings.HasPrefix(w.Title(), "Sluice kiosk") {
		t.Errorf("title %q", w.Title())
	}
}
