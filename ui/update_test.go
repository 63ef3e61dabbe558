package ui

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"sluice/app"
)

// signatureUpdate seals a ClamAV signature update (a .cud sigtool builds)
// at version v with rel for kiosk-1.
func signatureUpdate(t *testing.T, rel *app.Station, v int) string {
	t.Helper()
	if _, err := exec.LookPath("sigtool"); err != nil {
		t.Skip("sigtool is not installed: run packaging/deps.sh test (Debian's clamav) to run this test")
	}
	work := t.TempDir()
	sum := md5.Sum([]byte("x"))
	os.WriteFile(filepath.Join(work, "daily.hdb"), fmt.Appendf(nil, "%s:1:Sluice.Test.UI\n", hex.EncodeToString(sum[:])), 0o644)
	os.WriteFile(filepath.Join(work, "COPYING"), []byte("test\n"), 0o644)
	cmd := exec.Command("sigtool", "--build=daily.cud", "--unsigned", fmt.Sprintf("--cvd-version=%d", v), "--datadir="+work)
	cmd.Dir, cmd.Stdin = work, strings.NewReader("sluice-tests\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sigtool: %v\n%s", err, out)
	}
	carried := t.TempDir()
	os.Rename(filepath.Join(work, "daily.cud"), filepath.Join(carried, "daily.cud"))
	sealed, err := rel.ReleasePack(context.Background(), app.ReleasePackRequest{To: []string{"kiosk-1"}, OutDir: t.TempDir(), ClamAVDB: carried})
	if err != nil {
		t.Fatal(err)
	}
	return sealed.Dir
}

// TestUpdatesCard: the Station screen's guided update: the chosen bundle
// is read and shown with its signer before anything is installed; an
// older one is refused before it is offered; a release key's card is
// offered for trust as one.
func TestUpdatesCard(t *testing.T) {
	test.NewTempApp(t)
	dir := t.TempDir()
	kiosk, _ := app.Init(filepath.Join(dir, "k"), "kiosk-1", false)
	rel, err := app.ReleaseKeygen(filepath.Join(dir, "r"), "release-2026")
	if err != nil {
		t.Fatal(err)
	}
	rel.TrustAdd(kiosk.Card().Marshal())
	kiosk.Policy.Scan.Database = t.TempDir()
	w := test.NewWindow(nil)
	defer w.Close()
	w.Resize(fyne.NewSize(1024, 768))
	s := newStationScreen(kiosk, w)
	w.SetContent(s.content)

	s.importCard(rel.Card().Marshal())
	confirm := w.Canvas().Overlays().Top()
	if text := strings.Join(labels(confirm), "\n"); !strings.Contains(text, "Trust release key release-2026 to sign updates") {
		t.Fatalf("the release key's trust dialog says: %s", text)
	}
	test.Tap(findButton(t, confirm, "Trust"))
	if len(s.trusted) != 1 || s.trusted[0].Role != "release" {
		t.Fatalf("trusted: %+v", s.trusted)
	}

	u := newUpdatesCard(kiosk, s.sess, w)
	if !strings.Contains(u.status.Text, "\nClamAV signatures: no update applied yet\n") || strings.Contains(u.status.Text, `\n`) || !u.back.Disabled() {
		t.Fatalf("status before: %q", u.status.Text)
	}
	u.read(signatureUpdate(t, rel, 30001))
	d := w.Canvas().Overlays().Top()
	text := strings.Join(labels(d), "\n")
	for _, want := range []string{"ClamAV signatures, version 30001", "release-2026 (release key)"} {
		if !strings.Contains(text, want) {
			t.Fatalf("the confirmation lacks %q: %s", want, text)
		}
	}
	test.Tap(findButton(t, d, "Install"))
	waitFor(t, "the update to apply", func() bool { return strings.Contains(u.status.Text, "ClamAV signatures: update 30001") })
	if _, err := os.Stat(filepath.Join(kiosk.Policy.Scan.Database, "daily.cud")); err != nil {
		t.Fatalf("database not installed: %v", err)
	}
	w.Canvas().Overlays().Top().Hide() // "Updated"

	u.read(signatureUpdate(t, rel, 30000))
	if text := strings.Join(labels(w.Canvas().Overlays().Top()), "\n"); !strings.Contains(text, "This station will refuse it") || !strings.Contains(text, "older than version 30001 installed here") {
		t.Fatalf("an older update was offered: %s", text)
	}
}
