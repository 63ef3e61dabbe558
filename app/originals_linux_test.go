//go:build linux

package app

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSealedOriginalsCrashAndReject: originals kept by a receive killed
// before its release (nothing released, nothing recorded) go with the
// next clean-up, and an officer's rejection of a held bundle removes its
// originals with its content.
func TestSealedOriginalsCrashAndReject(t *testing.T) {
	sender, kiosk := sealOriginalsPair(t)
	sealed := pack(t, sender, "kiosk-1", stage(t, map[string]string{"pics/photo.png": string(pngWithZip(t))}))
	id := sealed.Envelope.ID
	cmd := childReceive(kiosk, sealed.Dir, t.TempDir())
	cmd.Env = append(cmd.Env, "SLUICE_TEST_DIE_AT=before-rename")
	if code := exitCode(cmd.Run()); code != 9 {
		t.Fatalf("the child receive exited %d", code)
	}
	if _, err := os.Stat(filepath.Join(kiosk.Home, sealedOriginalsDir, id)); err != nil {
		t.Fatalf("the child did not get as far as keeping the originals: %v", err)
	}
	if err := kiosk.CleanQuarantines(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(sealedOriginalsDir, id), filepath.Join(receivingDir, id+".originals")} {
		if _, err := os.Stat(filepath.Join(kiosk.Home, p)); err == nil {
			t.Fatalf("%s stays after a receive killed before its release", p)
		}
	}
	// Received again, it is released with its originals.
	if _, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	if err := kiosk.CleanQuarantines(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(kiosk.Home, sealedOriginalsDir, id, "outbox", "pics", "photo.png")); err != nil {
		t.Fatalf("a released bundle's originals went with a clean-up: %v", err)
	}

	held := pack(t, sender, "kiosk-1", stage(t, map[string]string{"photo.png": string(pngWithZip(t)), "tool.txt": minimalPE}))
	_, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: held.Dir, OutDir: t.TempDir()})
	var he *HeldError
	if !errors.As(err, &he) {
		t.Fatalf("a bundle with an executable: %v", err)
	}
	if err := kiosk.CleanQuarantines(); err != nil {
		t.Fatal(err)
	}
	kept := filepath.Join(kiosk.Home, sealedOriginalsDir, held.Envelope.ID)
	if _, err := os.Stat(kept); err != nil {
		t.Fatalf("a held bundle's originals went with a clean-up: %v", err)
	}
	kiosk.Officer = "bob"
	if err := kiosk.RejectHeld(context.Background(), held.Envelope.ID, "an executable named .txt"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(kept); err == nil {
		t.Fatal("rejected at review, and its sealed originals stay")
	}
	if rec := lastEvent(t, kiosk); !strings.Contains(rec.Reason, "its content and the originals kept of it removed") {
		t.Fatalf("the rejection's record: %q", rec.Reason)
	}
}
