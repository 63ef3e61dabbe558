package ui

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"sluice/app"
)

// Through the diode on screen: the technician sets the link on both
// stations; the sender seals and sends with the diode as destination;
// the kiosk's Receive screen, listening, lists the bundle when it arrives
// and opens it by itself, and its link panel shows the link.
func TestDiodeOnScreen(t *testing.T) {
	test.NewTempApp(t)
	sender, kiosk := stations(t)
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := c.LocalAddr().String()
	c.Close()
	inbox := filepath.Join(t.TempDir(), "inbox")
	if err := kiosk.SetDiode(app.DiodeSettings{Listen: addr, Inbox: inbox}); err != nil {
		t.Fatal(err)
	}
	if err := sender.SetDiode(app.DiodeSettings{SendTo: addr, Rate: "50M", Parity: "25%"}); err != nil {
		t.Fatal(err)
	}
	if err := sender.SetDiode(app.DiodeSettings{SendTo: "nowhere", Rate: "50M"}); err == nil {
		t.Fatal("a link without a port was saved")
	}
	kw := test.NewWindow(nil)
	defer kw.Close()
	kw.Resize(fyne.NewSize(1024, 768))
	ks := newScreens(kiosk, kw, Options{Kiosk: true})
	kw.SetContent(ks.content)
	waitFor(t, "the receiver", func() bool { return ks.recv.link.Visible() })

	sw := test.NewWindow(nil)
	defer sw.Close()
	src := filepath.Join(t.TempDir(), "out")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "notes.txt"), []byte("across the gap"), 0o644)
	s := newSendScreen(sender, sw)
	sw.SetContent(s.content)
	s.setDrives(nil)
	if !on(func() bool {
		return len(s.drives.Options) == 1 && strings.HasPrefix(s.drives.Options[0], diodeDestPrefix)
	}) {
		t.Fatalf("destinations: %v", s.drives.Options)
	}
	s.addPaths([]string{src})
	waitFor(t, "hashing", func() bool { return s.hashed })
	s.recipients.SetSelected([]string{"kiosk-1"})
	s.drives.SetSelected(diodeDestPrefix + addr)
	test.Tap(s.seal)
	waitFor(t, "sending", func() bool { return s.status.Text != "" && !s.busy() })
	if st := on(func() string { return s.status.Text }); !strings.HasPrefix(st, "Sealed and sent through the diode") {
		t.Fatal(st)
	}
	waitFor(t, "the arrival", func() bool { return ks.recv.dir != "" })
	if !strings.HasPrefix(on(func() string { return ks.recv.dir }), inbox) || !strings.Contains(on(func() string { return ks.recv.link.Text }), "Diode link on "+addr) {
		t.Fatalf("opened %q; link panel %q", ks.recv.dir, ks.recv.link.Text)
	}
	// Opening the arrival reads it on a worker: let it finish before the
	// station's folder is removed.
	waitFor(t, "the kiosk's check of the arrival", func() bool { return !ks.recv.busy() })
}
