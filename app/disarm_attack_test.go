package app

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sluice/crypto"
	"sluice/transfer/bundle"
	"sluice/transfer/custody"
	"sluice/transfer/transform"
)

// pngWithText is a PNG whose metadata (a tEXt chunk) the kiosk's
// re-encoding drops.
func pngWithText(t *testing.T, text string) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 32, 24))
	for y := range 24 {
		for x := range 32 {
			img.Set(x, y, color.RGBA{uint8(x * 8), uint8(y * 10), 90, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	raw := b.Bytes()
	// insert a tEXt chunk right after IHDR (8 + 25 bytes)
	data := append([]byte("tEXt"), []byte("Comment\x00"+text)...)
	var chunk bytes.Buffer
	binary.Write(&chunk, binary.BigEndian, uint32(len(data)-4))
	chunk.Write(data)
	binary.Write(&chunk, binary.BigEndian, crc32.ChecksumIEEE(data))
	out := append([]byte{}, raw[:33]...)
	out = append(out, chunk.Bytes()...)
	return append(out, raw[33:]...)
}

// TestPartialReleaseAfterFailedKioskTransform: with images = "kiosk" and
// partial releases allowed, one image that cannot be transformed makes
// transformInQuarantine replace nothing; the other image, which passed,
// is then released by a partial release as its original, never
// transformed.
func TestPartialReleaseAfterFailedKioskTransform(t *testing.T) {
	needTransformer(t)
	sender, kiosk := pair(t, false)
	setPolicy(t, kiosk, strings.Replace(defaultPolicyText, "partial_release = false", "partial_release = true", 1))
	kiosk.Policy.Transform.Images = TransformKiosk
	photo := pngWithText(t, "GPS 51.5N 0.1W secret")
	if transform.Verify("photo.png", bytes.NewReader(photo), int64(len(photo))) == nil {
		t.Fatal("test PNG is already simple")
	}
	broken := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0x42}, 200)...)
	sealed := pack(t, sender, "kiosk-1", stage(t, map[string]string{"photo.png": string(photo), "zbroken.png": string(broken)}))
	_, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: t.TempDir()})
	var he *HeldError
	if !errors.As(err, &he) {
		t.Fatalf("receive: %v", err)
	}
	for _, r := range he.Held.Reports {
		t.Logf("held %s: %+v", r.Path, r.Findings)
	}
	r, err := kiosk.ReleaseHeld(context.Background(), he.Held.ID, Decision{Partial: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(r.Dir, "outbox", "photo.png"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(got, []byte("secret")) {
		t.Fatal("photo.png released after review as its original, never transformed, though images = \"kiosk\"")
	}
}

// TestKioskTransformsWhatAMarkMisnames: with images = "both", the kiosk
// re-encodes every image itself, even one that came marked transformed.
// A sender that marks its image with another action ("extract-links",
// a sidecar's) must not be able to skip the kiosk's own transformation.
func TestKioskTransformsWhatAMarkMisnames(t *testing.T) {
	needTransformer(t)
	sender, kiosk := pair(t, false)
	kiosk.Policy.Transform.Images = TransformBoth
	for _, action := range []string{"re-encode-image", "extract-links", "pdf-of-images", "anything"} {
		t.Run(action, func(t *testing.T) {
			img := plainPNG(t)
			dir := stage(t, map[string]string{"photo.png": string(img)})
			srcs := mustStage(t, dir)
			for i := range srcs {
				if srcs[i].Type == bundle.TypeFile {
					srcs[i].Transformed = &bundle.Transformed{From: "photo.png", SHA256: crypto.HashBytes(img), Size: int64(len(img)), Action: action, Tool: "go", Version: "1"}
				}
			}
			s := sealAs(t, sender, kiosk, srcs)
			r, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: s.Dir, OutDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(kiosk.Home, originalsDir, r.Envelope.ID, "outbox", "photo.png")); err != nil {
				t.Fatalf("marked %q, the image was released without the kiosk's own re-encoding (images = \"both\"): %v", action, err)
			}
		})
	}
}

func sealAs(t *testing.T, sender, kiosk *Station, srcs []bundle.Source) *bundle.Sealed {
	t.Helper()
	s, err := bundle.Seal(context.Background(), t.TempDir(), srcs, bundle.SealOptions{SenderName: sender.Name, Signer: sender.Keys.Signer,
		Recipients: []crypto.Card{kiosk.Card()},
		SealRecord: func(id string, manifest crypto.Digest, files, bytes int64) ([]byte, error) {
			a, err := sender.appendRecord(custody.Record{Event: custody.EventSealed, Bundle: id, Peer: kiosk.Name, ManifestSHA256: manifest.String(), Files: files, Bytes: bytes, Outcome: "ok"})
			if err != nil {
				return nil, err
			}
			return json.Marshal(custody.NewSealProof(a))
		}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestKioskTransformNameTaken: with images = "kiosk", logo.gif becomes
// logo.png, a name another file of the bundle has. The bundle is not
// rejected for it (the sender could not know), the clash is held for
// review, the rest released transformed; a refused bundle leaves no
// originals behind.
func TestKioskTransformNameTaken(t *testing.T) {
	needTransformer(t)
	sender, kiosk := pair(t, false)
	kiosk.Policy.Transform.Images = TransformKiosk
	var gb bytes.Buffer
	pal := image.NewPaletted(image.Rect(0, 0, 8, 8), []color.Color{color.Black, color.White})
	if err := gif.Encode(&gb, pal, nil); err != nil {
		t.Fatal(err)
	}
	dir := stage(t, map[string]string{"logo.gif": gb.String(), "logo.png": string(plainPNG(t))})
	sealed := pack(t, sender, "kiosk-1", dir)
	_, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: t.TempDir()})
	var he *HeldError
	if !errors.As(err, &he) {
		left, _ := os.ReadDir(filepath.Join(kiosk.Home, originalsDir, sealed.Envelope.ID, "outbox"))
		t.Fatalf("logo.gif and logo.png: %v (originals left behind: %d)", err, len(left))
	}
	if len(he.Held.Reports) != 1 || he.Held.Reports[0].Path != "outbox/logo.gif" {
		t.Fatalf("held: %+v", he.Held.Reports)
	}
}

// TestSenderKeepsTheOriginalAsSealed: the original a sender keeps of a
// file it transformed is the file as it was transformed, not a hard link
// that changes when the officer edits the staged file afterwards.
func TestSenderKeepsTheOriginalAsSealed(t *testing.T) {
	needTransformer(t)
	sender, kiosk := pair(t, false)
	importKioskPolicy(t, sender, kiosk)
	photo := pngWithText(t, "before")
	dir := stage(t, map[string]string{"photo.png": string(photo)})
	sealed := pack(t, sender, "kiosk-1", dir)
	kept := filepath.Join(sender.Home, originalsDir, sealed.Envelope.ID, "outbox", "photo.png")
	if got, err := os.ReadFile(kept); err != nil || !bytes.Equal(got, photo) {
		t.Fatalf("original not kept: %v", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "photo.png"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("edited after sealing")
	f.Close()
	if got, _ := os.ReadFile(kept); !bytes.Equal(got, photo) {
		t.Fatal("the kept original changed with the staged file: it is a hard link, not what was transformed and recorded")
	}
}

// TestPartialReleaseKeepsBackAHeldFileTransformed: with images = "kiosk",
// a held GIF (a ZIP hides in it) is transformed in quarantine into a PNG
// of another name; a partial release keeps the held file back, in its
// transformed form too, and its record counts what it released.
func TestPartialReleaseKeepsBackAHeldFileTransformed(t *testing.T) {
	needTransformer(t)
	sender, kiosk := pair(t, false)
	setPolicy(t, kiosk, strings.Replace(defaultPolicyText, "partial_release = false", "partial_release = true", 1))
	kiosk.Policy.Transform.Images = TransformKiosk
	var gb bytes.Buffer
	pal := image.NewPaletted(image.Rect(0, 0, 8, 8), []color.Color{color.Black, color.White})
	if err := gif.Encode(&gb, pal, nil); err != nil {
		t.Fatal(err)
	}
	gb.WriteString("PK\x03\x04 a zip hides here PK\x05\x06" + strings.Repeat("\x00", 18))
	sealed := pack(t, sender, "kiosk-1", stage(t, map[string]string{"logo.gif": gb.String(), "notes.txt": "fine\n"}))
	_, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: t.TempDir()})
	var he *HeldError
	if !errors.As(err, &he) || len(he.Held.Reports) != 1 {
		t.Fatalf("receive: %v", err)
	}
	t.Logf("held %s: %v", he.Held.Reports[0].Path, he.Held.Reports[0].Findings)
	r, err := kiosk.ReleaseHeld(context.Background(), he.Held.ID, Decision{Partial: true})
	if err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(filepath.Join(r.Dir, "outbox"))
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "notes.txt" {
		t.Fatalf("a partial release released %s; the held logo.gif's transformation should have stayed back", strings.Join(names, ","))
	}
}

// TestBothTransformsWhatCameAsItWas: with images = "both", an image that
// came untransformed is held (the sender should have), and the kiosk
// transforms it too: an officer's override releases the transformed
// image, never the original.
func TestBothTransformsWhatCameAsItWas(t *testing.T) {
	needTransformer(t)
	sender, kiosk := pair(t, false)
	kiosk.Policy.Transform.Images = TransformBoth
	sealed := pack(t, sender, "kiosk-1", stage(t, map[string]string{"photo.png": string(pngWithText(t, "GPS secret"))}))
	_, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: t.TempDir()})
	var he *HeldError
	if !errors.As(err, &he) {
		t.Fatalf("receive: %v", err)
	}
	r, err := kiosk.ReleaseHeld(context.Background(), he.Held.ID, Decision{})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(r.Dir, "outbox", "photo.png")); bytes.Contains(got, []byte("GPS secret")) {
		t.Fatal("images = \"both\": the original was released after review, never transformed by the kiosk")
	}
}
