//go:build linux

package ui

import (
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"sluice/app"
	"sluice/transfer/media"
)

// TestSpanningSendAndReceive seals 14 MiB onto three 6 MiB drives (tmpfs)
// through the next-drive dialog, then receives them at the kiosk in the
// order 3, 1, 2, the last two picked up as they are "inserted".
func TestSpanningSendAndReceive(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount tmpfs drives (CI runs as root)")
	}
	var drives []string
	for i := 0; i < 3; i++ {
		d := t.TempDir()
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", d).CombinedOutput(); err != nil {
			t.Fatalf("mount: %v: %s", err, out)
		}
		t.Cleanup(func() { exec.Command("umount", d).Run() })
		drives = append(drives, d)
	}
	test.NewTempApp(t)
	sender, kiosk := stations(t)
	w := test.NewWindow(nil)
	defer w.Close()
	src := filepath.Join(t.TempDir(), "survey")
	os.MkdirAll(src, 0o755)
	data := make([]byte, 14<<20)
	rand.Read(data)
	os.WriteFile(filepath.Join(src, "scan.bin"), data, 0o644)

	s := newSendScreen(sender, w)
	w.SetContent(s.content)
	s.addPaths([]string{src})
	waitFor(t, "hashing", func() bool { return s.hashed })
	s.recipients.SetSelected([]string{"kiosk-1"})
	s.setDest(drives[0])
	test.Tap(s.seal)
	for k := 2; k <= 3; k++ {
		waitFor(t, "the next-drive dialog", func() bool { return s.next != nil })
		if ask := on(func() app.DriveAsk { return s.next.ask }); ask.Drive != k || ask.Drives != 3 {
			t.Fatalf("asked for %+v, want drive %d of 3", ask, k)
		}
		on(func() bool { s.answerDrive(drives[k-1]); return true })
	}
	waitFor(t, "sealing", func() bool {
		return strings.HasPrefix(s.status.Text, "Sealed and written") || strings.HasPrefix(s.status.Text, "Error")
	})
	if st := on(func() string { return s.status.Text }); !strings.Contains(st, "Spread over 3 drives") {
		t.Fatal(st)
	}
	var parts []string
	for _, d := range drives {
		m := app.FindBundles(d)
		if len(m) != 1 {
			t.Fatalf("%s holds %v", d, m)
		}
		parts = append(parts, m[0])
	}

	r := newReceiveScreen(kiosk, w)
	w.SetContent(r.content)
	rel := t.TempDir()
	if err := kiosk.SetReleaseFolders([]string{rel}); err != nil {
		t.Fatal(err)
	}
	r.loadDests()
	r.setDest(rel)
	r.openBundle(parts[2])
	waitFor(t, "inspection", func() bool { return r.in != nil || r.inErr != nil })
	if v := on(func() string { return r.verdict.Text }); !strings.Contains(v, "spread over 3 drives") {
		t.Fatalf("verdict for one drive: %s (%v)", v, r.inErr)
	}
	test.Tap(r.release)
	waitFor(t, "drive 3 read", func() bool { return strings.HasPrefix(r.status.Text, "Drive read") })
	if st := on(func() string { return r.status.Text }); !strings.Contains(st, "Insert drive 1, drive 2 of the 3 drives") {
		t.Fatal(st)
	}
	// Drive 1 is inserted (drive 3 still in): picked up and read.
	insert := func(points ...string) {
		var ds []media.Drive
		for _, p := range points {
			ds = append(ds, media.Drive{Device: "/dev/fake", Removable: true, Mounts: []media.Mount{{Point: p, FSType: "tmpfs"}}})
		}
		on(func() bool { r.setDrives(ds); return true })
	}
	insert(drives[2], drives[0])
	waitFor(t, "drive 1 read", func() bool { return strings.Contains(r.status.Text, "Insert drive 2 of the 3") })
	insert(drives[2], drives[0], drives[1])
	waitFor(t, "release", func() bool {
		return strings.HasPrefix(r.status.Text, "Released") || strings.HasPrefix(r.status.Text, "Rejected")
	})
	if st := on(func() string { return r.status.Text }); !strings.HasPrefix(st, "Released") {
		t.Fatal(st)
	}
	got, _ := os.ReadFile(filepath.Join(rel, strings.TrimSuffix(filepath.Base(parts[0]), ".sluice"), "survey", "scan.bin"))
	if string(got) != string(data) {
		t.Fatal("released content differs")
	}
	// Wipe takes the bundle off every drive it was read from.
	test.Tap(r.wipe)
	waitFor(t, "wipe", func() bool { return strings.HasPrefix(r.status.Text, "Wiped") || !r.busy() && r.wiped })
	for _, part := range parts {
		if _, err := os.Stat(part); !os.IsNotExist(err) {
			t.Errorf("%s not wiped (%v): %s", part, err, on(func() string { return r.status.Text }))
		}
	}
}
