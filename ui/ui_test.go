package ui

import (
	_ "earlylocale" // name the C locale before Fyne initialises, as main does
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"sluice/app"
	"sluice/transfer/custody"
)

// labels collects the text of every label under o.
func labels(o fyne.CanvasObject) []string {
	var out []string
	var walk func(fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		switch w := o.(type) {
		case *widget.Label:
			out = append(out, w.Text)
		case *widget.Card:
			out = append(out, w.Title)
			if w.Content != nil {
				walk(w.Content)
			}
		case *widget.Form:
			for _, it := range w.Items {
				out = append(out, it.Text)
				walk(it.Widget)
			}
		case *fyne.Container:
			for _, c := range w.Objects {
				walk(c)
			}
		case fyne.Widget: // scrolls, splits: what they render
			for _, c := range test.WidgetRenderer(w).Objects() {
				walk(c)
			}
		}
	}
	walk(o)
	return out
}

func TestStationScreenShowsCardAndTrust(t *testing.T) {
	test.NewTempApp(t)
	dir := t.TempDir()
	st, err := app.Init(filepath.Join(dir, "k"), "kiosk-1", false)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := app.Init(filepath.Join(dir, "s"), "sender-1", false)
	if _, err := st.TrustAdd(other.Card().Marshal()); err != nil {
		t.Fatal(err)
	}
	w := test.NewWindow(nil)
	defer w.Close()
	w.SetContent(newStationScreen(st, w).content)
	w.Resize(fyne.NewSize(900, 640))
	text := strings.Join(labels(w.Content()), "\n")
	for _, want := range []string{"Station kiosk-1", "sluice-card: v1", st.Card().SigningFingerprint(), "Trusted stations"} {
		if !strings.Contains(text, want) {
			t.Errorf("screen lacks %q", want)
		}
	}
}

func TestNoStationOpensTheWizard(t *testing.T) {
	test.NewTempApp(t)
	w := test.NewWindow(nil)
	defer w.Close()
	home := t.TempDir()
	w.SetContent(Create(fyne.CurrentApp(), w, home))
	text := strings.Join(labels(w.Content()), "\n")
	if !strings.Contains(text, "Create this station") || !strings.Contains(text, "Keys are kept in "+home) {
		t.Errorf("first start does not offer to create a station: %q", text)
	}
}

func TestStationImportsAndRemovesCards(t *testing.T) {
	test.NewTempApp(t)
	dir := t.TempDir()
	st, _ := app.Init(filepath.Join(dir, "k"), "kiosk-1", false)
	other, _ := app.Init(filepath.Join(dir, "s"), "sender-1", true)
	w := test.NewWindow(nil)
	defer w.Close()
	s := newStationScreen(st, w)
	w.SetContent(s.content)
	w.Resize(fyne.NewSize(900, 640))
	if s.empty.Hidden {
		t.Fatal("empty trust store shows no hint")
	}
	s.importCard([]byte("garbage"))
	if len(s.trusted) != 0 {
		t.Fatal("garbage card imported")
	}
	s.importCard(st.Card().Marshal())
	if len(s.trusted) != 0 || w.Canvas().Overlays().Top() == nil {
		t.Fatal("the station's own card was offered for trust")
	}
	w.Canvas().Overlays().Top().Hide()
	s.importCard(other.Card().Marshal())
	// The confirmation dialog shows the fingerprint in monospace; press
	// its confirm button.
	confirm := w.Canvas().Overlays().Top()
	if !strings.Contains(strings.Join(labels(confirm), "\n"), other.Card().SigningFingerprint()) {
		t.Fatal("the confirmation does not show the signing key")
	}
	test.Tap(findButton(t, confirm, "Trust"))
	if len(s.trusted) != 1 || s.trusted[0].Name != "sender-1" {
		t.Fatalf("trusted after import: %+v", s.trusted)
	}
	// A post-quantum card fits in a QR code.
	if _, err := cardQR(other.Card(), 420); err != nil {
		t.Fatalf("QR of a post-quantum card: %v", err)
	}
	s.list.Select(0)
	test.Tap(s.remove)
	test.Tap(findButton(t, w.Canvas().Overlays().Top(), "Yes"))
	if len(s.trusted) != 0 {
		t.Fatal("station not removed")
	}
}

func TestDayTotals(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	recs := []custody.Record{
		{Event: custody.EventSealed, Time: now.Add(-time.Hour), Bytes: 100},
		{Event: custody.EventReceived, Time: now.AddDate(0, 0, -1), Bytes: 50},
		{Event: custody.EventReleased, Time: now, Bytes: 999},                // not a bundle arrival or departure
		{Event: custody.EventSealed, Time: now.AddDate(0, 0, -20), Bytes: 7}, // too old
	}
	days, bundles, bytes := dayTotals(recs, now)
	last := len(days) - 1
	if !days[last].Equal(time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)) || bundles[last] != 1 || bytes[last] != 100 {
		t.Fatalf("today: %v %d %d", days[last], bundles[last], bytes[last])
	}
	if bundles[last-1] != 1 || bytes[last-1] != 50 {
		t.Fatalf("yesterday: %d %d", bundles[last-1], bytes[last-1])
	}
	var n int64
	for _, b := range bundles {
		n += b
	}
	if n != 2 {
		t.Fatalf("%d bundles counted, want 2", n)
	}
}

func TestKeyboardShortcuts(t *testing.T) {
	test.NewTempApp(t)
	st, _ := app.Init(filepath.Join(t.TempDir(), "k"), "kiosk-1", false)
	w := test.NewWindow(nil)
	defer w.Close()
	content := tabs(st, w, Options{})
	w.SetContent(content)
	tb, _ := appTabs(content)
	press := func(key fyne.KeyName, mod fyne.KeyModifier) {
		w.Canvas().(fyne.Shortcutable).TypedShortcut(&desktop.CustomShortcut{KeyName: key, Modifier: mod})
	}
	press(fyne.KeyReturn, fyne.KeyModifierShortcutDefault) // Send: nothing staged, Seal stays disabled
	press("3", fyne.KeyModifierAlt)
	if tb.SelectedIndex() != 2 {
		t.Fatalf("Alt+3 selected tab %d", tb.SelectedIndex())
	}
	press(fyne.KeyReturn, fyne.KeyModifierShortcutDefault) // Custody log: Verify
	log := tb.Items[2].Content
	waitFor(t, "verdict", func() bool { return strings.Contains(strings.Join(labels(log), "\n"), "✓ Verified") })
	press("4", fyne.KeyModifierAlt)
	if tb.SelectedIndex() != 3 {
		t.Fatalf("Alt+4 selected tab %d", tb.SelectedIndex())
	}
}

// appTabs finds the tabs in a station window's content (under the
// officer bar's stack).
func appTabs(o fyne.CanvasObject) (*container.AppTabs, bool) {
	switch o := o.(type) {
	case *container.AppTabs:
		return o, true
	case *fyne.Container:
		for _, c := range o.Objects {
			if t, ok := appTabs(c); ok {
				return t, true
			}
		}
	}
	return nil, false
}
