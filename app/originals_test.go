package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sluice/crypto"
	"sluice/transfer/custody"
)

// TestSealedOriginalsCross: a kiosk whose policy accepts sealed originals
// (seal_originals) gets them beside the transformed files, in its own
// home and never in the release; the sender says so in its seal record,
// the kiosk in its records. A kiosk that stopped accepting them refuses
// the next such bundle before decrypting it, and keeps nothing of it.
func TestSealedOriginalsCross(t *testing.T) {
	sender, kiosk := sealOriginalsPair(t)
	photo := pngWithZip(t)
	dir := stage(t, map[string]string{"pics/photo.png": string(photo), "notes.txt": "plain words\n"})
	sealed := pack(t, sender, "kiosk-1", dir)
	if o := sealed.Envelope.Originals; o == nil || o.Files != 1 || o.Bytes != int64(len(photo)) {
		t.Fatalf("envelope's originals: %+v", o)
	}
	if r := lastOf(t, sender, custody.EventSealed); !strings.Contains(r.Reason, "the 1 original(s) of its transformed files (") || !strings.Contains(r.Reason, ") sealed in its originals part") {
		t.Fatalf("sealed record: %q", r.Reason)
	}

	r, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	id := sealed.Envelope.ID
	kept := filepath.Join(kiosk.Home, sealedOriginalsDir, id, "outbox", "pics", "photo.png")
	if got, err := os.ReadFile(kept); err != nil || !bytes.Equal(got, photo) {
		t.Fatalf("the sealed original was not kept as sent: %v", err)
	}
	if info, err := os.Stat(filepath.Dir(kept)); err != nil || info.Mode().Perm()&0o077 != 0 {
		t.Fatalf("the sealed originals are readable by others: %v", info.Mode())
	}
	released, _ := os.ReadFile(filepath.Join(r.Dir, "outbox", "pics", "photo.png"))
	if bytes.Contains(released, []byte("a zip hides here")) {
		t.Fatal("the original was released")
	}
	filepath.WalkDir(r.Dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, _ := os.ReadFile(p); crypto.HashBytes(b) == crypto.HashBytes(photo) {
				t.Errorf("the original is in the release as %s", p)
			}
		}
		return nil
	})
	if rec := lastReceived(t, kiosk); !strings.Contains(rec.Reason, "1 original(s) of files the sender transformed, sealed by it, kept in "+filepath.Dir(filepath.Dir(filepath.Dir(kept)))) {
		t.Fatalf("received record: %q", rec.Reason)
	}
	if ents, _ := os.ReadDir(filepath.Join(kiosk.Home, receivingDir)); len(ents) > 0 {
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), ".originals") {
				t.Fatalf("the originals' working folder stayed: %s", e.Name())
			}
		}
	}

	// The kiosk stops accepting them; the sender's copy still says yes.
	kiosk.Policy.Transform.SealOriginals = false
	sealed = pack(t, sender, "kiosk-1", dir)
	_, err = kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: t.TempDir()})
	if !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "does not accept sealed originals") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("originals this kiosk does not accept: %v", err)
	}
	if _, err := os.Stat(filepath.Join(kiosk.Home, sealedOriginalsDir, sealed.Envelope.ID)); err == nil {
		t.Fatal("refused originals were kept")
	}
	if rec := lastEvent(t, kiosk); rec.Event != custody.EventRejected || !strings.Contains(rec.Reason, "seal_originals") {
		t.Fatalf("the refusal's record: %+v", rec)
	}
}

// TestSealedOriginalsHeld: a held bundle keeps its sealed originals (for
// the officer who reviews it); a bundle refused after extraction keeps
// none; a sender seals none when one of its recipients does not accept
// them.
func TestSealedOriginalsHeld(t *testing.T) {
	sender, kiosk := sealOriginalsPair(t)
	dir := stage(t, map[string]string{"photo.png": string(pngWithZip(t)), "tool.txt": minimalPE})
	sealed := pack(t, sender, "kiosk-1", dir)
	_, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: t.TempDir()})
	var he *HeldError
	if !errors.As(err, &he) {
		t.Fatalf("a bundle with an executable: %v", err)
	}
	if _, err := os.Stat(filepath.Join(kiosk.Home, sealedOriginalsDir, sealed.Envelope.ID, "outbox", "photo.png")); err != nil {
		t.Fatalf("a held bundle's original: %v", err)
	}
	if !strings.Contains(he.Held.Summary, "1 original(s) of files the sender transformed, sealed by it, kept in") {
		t.Fatalf("held summary: %q", he.Held.Summary)
	}

	// Damaged in its last chunk, while its 400 KiB original is being
	// written: nothing of the originals stays, kept or half-written.
	sealed = pack(t, sender, "kiosk-1", stage(t, map[string]string{"photo.png": string(noisePNG(t, 320, 320))}))
	last := filepath.Join(sealed.Dir, sealed.Envelope.Payload.Volumes[len(sealed.Envelope.Payload.Volumes)-1].Name)
	b, _ := os.ReadFile(last)
	b[len(b)-20] ^= 1
	os.WriteFile(last, b, 0o644)
	if _, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: t.TempDir()}); !errors.Is(err, ErrRejected) {
		t.Fatalf("a damaged bundle: %v", err)
	}
	for _, p := range []string{filepath.Join(sealedOriginalsDir, sealed.Envelope.ID), filepath.Join(receivingDir, sealed.Envelope.ID+".originals")} {
		if _, err := os.Stat(filepath.Join(kiosk.Home, p)); err == nil {
			t.Fatalf("a refused bundle's originals stay in %s", p)
		}
	}

	// A second recipient without the policy copy: none sealed.
	other, err := Init(filepath.Join(t.TempDir(), "other"), "kiosk-2", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sender.TrustAdd(other.Card().Marshal()); err != nil {
		t.Fatal(err)
	}
	srcs, err := StagePaths([]string{stage(t, map[string]string{"photo.png": string(pngWithZip(t))})})
	if err != nil {
		t.Fatal(err)
	}
	s2, err := sender.Pack(context.Background(), PackRequest{To: []string{"kiosk-1", "kiosk-2"}, OutDir: t.TempDir(), Sources: srcs})
	if err != nil {
		t.Fatal(err)
	}
	if s2.Envelope.Originals != nil {
		t.Fatal("originals sealed for a recipient whose policy does not accept them")
	}
}

// lastOf is s's last record of event.
func lastOf(t *testing.T, s *Station, event string) custody.Record {
	t.Helper()
	var rec custody.Record
	for _, r := range events(t, s) {
		if r.Event == event {
			rec = r
		}
	}
	return rec
}

// TestSealedOriginalsApproved: where sealing needs another officer's
// approval, the originals that cross are in what the approver signs.
func TestSealedOriginalsApproved(t *testing.T) {
	crypto.OfficerWorkFactor = 10
	sender, _ := sealOriginalsPair(t)
	enrollOfficers(t, sender, "alice", "bob")
	sender.Policy.RequireSealApprovals = 1
	alice, _ := sender.SignIn("alice", []byte("alice passphrase, long"))
	bob, _ := sender.SignIn("bob", []byte("bob passphrase, long"))
	photo := pngWithZip(t)
	srcs, err := StagePaths([]string{stage(t, map[string]string{"photo.png": string(photo)})})
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := sender.AsOfficer(alice).Pack(context.Background(), PackRequest{To: []string{"kiosk-1"}, OutDir: t.TempDir(), Sources: srcs, Approvers: []*SignedIn{bob}})
	if err != nil {
		t.Fatal(err)
	}
	if sealed.Envelope.Originals == nil {
		t.Fatal("no originals sealed")
	}
	list := crypto.HashBytes(photo).String() + "  outbox/photo.png\n"
	want := fmt.Sprintf(`"originals":1,"original_bytes":%d,"originals_sha256":"%s"`, len(photo), crypto.HashBytes([]byte(list)))
	if r := lastOf(t, sender, custody.EventApproved); !strings.Contains(r.Reason, want) {
		t.Fatalf("the approval does not name the originals (%s): %q", want, r.Reason)
	}
}

// noisePNG is a w × h PNG of random pixels: it does not compress.
func noisePNG(t *testing.T, w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(1, 2))
	for i := range img.Pix {
		img.Pix[i] = byte(r.Uint32())
		if i%4 == 3 {
			img.Pix[i] = 255
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// sealOriginalsPair is a sender and a kiosk whose policy (installed, and
// imported by the sender) accepts sealed originals; it skips where the
// transformations cannot run.
func sealOriginalsPair(t *testing.T) (sender, kiosk *Station) {
	t.Helper()
	needTransformer(t)
	sender, kiosk = pair(t, false)
	kiosk.Policy.Transform.SealOriginals = true
	if err := os.WriteFile(filepath.Join(kiosk.Home, policyFile), []byte(kiosk.Policy.Text()), 0o600); err != nil {
		t.Fatal(err)
	}
	importKioskPolicy(t, sender, kiosk)
	return sender, kiosk
}
