package ui

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"sluice/app"
	"sluice/internal/pdfcheck/pdftest"
	"sluice/transfer/bundle"
	"sluice/transfer/transform"
)

// needTransformer skips, saying why, where the transformations cannot
// run (bubblewrap, prlimit and mupdf are in packaging/deps.sh test).
func needTransformer(t *testing.T) {
	t.Helper()
	if tr, err := transform.New(transform.Config{TempDir: t.TempDir()}); err != nil || len(tr.Missing()) > 0 {
		t.Skipf("the transformations cannot run here (%v %v): run packaging/deps.sh test", err, tr)
	}
	if err := exec.Command("bwrap", "--ro-bind", "/", "/", "--unshare-all", "true").Run(); err != nil {
		t.Skipf("bubblewrap cannot make a sandbox here (%v); it needs user namespaces or root, as in CI", err)
	}
}

// TestSendShowsTransformations: with a kiosk's policy that has the sender
// transform documents and images, the Send screen says how each staged
// file will cross, shows a transformed file's first page, and seals the
// very outputs, marked in the manifest.
func TestSendShowsTransformations(t *testing.T) {
	needTransformer(t)
	test.NewTempApp(t)
	sender, kiosk := stations(t)
	pol := filepath.Join(t.TempDir(), "kiosk-1.toml")
	os.WriteFile(pol, []byte(kiosk.Policy.Text()), 0o644)
	if err := sender.ImportPolicy("kiosk-1", pol); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "out")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "plan.pdf"), pdftest.Text(1, "/OpenAction << /S /JavaScript /JS (app.alert(1)) >>"), 0o644)
	var img bytes.Buffer
	png.Encode(&img, image.NewGray(image.Rect(0, 0, 40, 30)))
	os.WriteFile(filepath.Join(src, "photo.png"), img.Bytes(), 0o644)
	os.WriteFile(filepath.Join(src, "notes.txt"), []byte("words\n"), 0o644)
	s, _ := transformOnSend(t, sender, src)
	crosses := map[string]string{}
	for _, p := range []string{"out/plan.pdf", "out/photo.png", "out/notes.txt"} {
		crosses[p] = on(func() string { return s.crossesAs(p) })
	}
	if crosses["out/plan.pdf"] != "1-page image PDF" || crosses["out/photo.png"] != "re-encoded PNG" || crosses["out/notes.txt"] != "as it is" {
		t.Fatalf("crosses as: %v", crosses)
	}
	for i, src := range s.srcs {
		if src.Path == "out/plan.pdf" {
			s.table.Select(widget.TableCellID{Row: i, Col: 0})
		}
	}
	waitFor(t, "the first page's preview", func() bool { return !s.xf.box.Hidden && s.xf.preview.File != "" })
	if _, err := os.Stat(s.xf.preview.File); err != nil {
		t.Fatal(err)
	}
	s.setDest(t.TempDir())
	test.Tap(s.seal)
	waitFor(t, "sealing", func() bool {
		return strings.HasPrefix(s.status.Text, "Sealed and written") || !s.busy() && s.status.Text != ""
	})
	b, err := bundle.Open(filepath.Join(s.dest, s.sealed+".sluice"))
	if err != nil {
		t.Fatalf("%v (status %q)", err, s.status.Text)
	}
	if b.Envelope.Files != 3 {
		t.Fatalf("sealed %d files", b.Envelope.Files)
	}
}

// TestOriginalsOnScreens: when the kiosk's policy accepts sealed
// originals, the Send screen says a transformed file's original is sealed
// too, before and after sealing, and the Receive screen shows the
// envelope's originals and, once released, where they are kept.
func TestOriginalsOnScreens(t *testing.T) {
	needTransformer(t)
	test.NewTempApp(t)
	sender, kiosk := stations(t)
	kiosk.Policy.Transform.SealOriginals = true
	pol := filepath.Join(t.TempDir(), "kiosk-1.toml")
	os.WriteFile(pol, []byte(kiosk.Policy.Text()), 0o644)
	if err := sender.ImportPolicy("kiosk-1", pol); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "out")
	os.MkdirAll(src, 0o755)
	var img bytes.Buffer
	png.Encode(&img, image.NewGray(image.Rect(0, 0, 40, 30)))
	os.WriteFile(filepath.Join(src, "photo.png"), img.Bytes(), 0o644)
	s, w := transformOnSend(t, sender, src)
	for i, src := range s.srcs {
		if src.Path == "out/photo.png" {
			s.table.Select(widget.TableCellID{Row: i, Col: 0})
		}
	}
	if c := on(func() string { return s.xf.caption.Text }); !strings.Contains(c, "The original is sealed too") {
		t.Fatalf("caption: %q", c)
	}
	s.setDest(t.TempDir())
	test.Tap(s.seal)
	waitFor(t, "sealing", func() bool {
		return strings.HasPrefix(s.status.Text, "Sealed and written") || !s.busy() && s.status.Text != ""
	})
	if st := on(func() string { return s.status.Text }); !strings.Contains(st, "The 1 original(s) of the transformed files are sealed too") {
		t.Fatalf("status: %q", st)
	}

	r := newReceiveScreen(kiosk, w)
	w.SetContent(r.content)
	r.openBundle(filepath.Join(s.dest, s.sealed+".sluice"))
	waitFor(t, "inspection", func() bool { return r.in != nil || r.inErr != nil })
	fact := on(func() string {
		for _, it := range r.facts.Items {
			if strings.HasPrefix(it.Text, "Originals") {
				return it.Widget.(*widget.Label).Text
			}
		}
		return ""
	})
	if !strings.Contains(fact, "1 file") || !strings.Contains(fact, "never released") {
		t.Fatalf("the Originals fact: %q", fact)
	}
	if _, st := releaseOnScreen(t, kiosk, r); !strings.Contains(st, "The 1 original(s) the sender sealed are kept in") {
		t.Fatalf("status: %q", st)
	}
}

// transformOnSend stages src on a Send screen of sender at 1024 × 768
// for kiosk-1, and returns it, with its window, once the staged files are
// hashed and transformed as kiosk-1's policy asks.
func transformOnSend(t *testing.T, sender *app.Station, src string) (*sendScreen, fyne.Window) {
	t.Helper()
	w := test.NewWindow(nil)
	t.Cleanup(w.Close)
	w.Resize(fyne.NewSize(1024, 768))
	s := newSendScreen(sender, w)
	w.SetContent(s.content)
	s.addPaths([]string{src})
	waitFor(t, "hashing", func() bool { return s.hashed })
	s.recipients.SetSelected([]string{"kiosk-1"})
	waitFor(t, "the transformations", func() bool { return s.xf.done != nil })
	return s, w
}
