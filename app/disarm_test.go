package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sluice/crypto"
	"sluice/internal/pdfcheck/pdftest"
	"sluice/transfer/bundle"
	"sluice/transfer/custody"
	"sluice/transfer/inspect"
	"sluice/transfer/transform"
)

// needTransformer skips, saying why, where the transformations cannot
// run (bubblewrap, prlimit and mupdf are in packaging/deps.sh test).
func needTransformer(t *testing.T) {
	t.Helper()
	tr, err := transform.New(transform.Config{TempDir: t.TempDir()})
	if err != nil {
		t.Skipf("the transformations cannot run here (%v): run packaging/deps.sh test", err)
	}
	if m := tr.Missing(); len(m) > 0 {
		t.Skipf("the transformations lack tools here: %s", strings.Join(m, "; "))
	}
	if err := exec.Command("bwrap", "--ro-bind", "/", "/", "--unshare-all", "true").Run(); err != nil {
		t.Skipf("bubblewrap cannot make a sandbox here (%v); it needs user namespaces or root, as in CI", err)
	}
}

// pngWithZip is a PNG with a ZIP archive appended: a polyglot.
func pngWithZip(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for y := range 48 {
		for x := range 64 {
			img.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 5), 90, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	b.WriteString("PK\x03\x04 a zip hides here PK\x05\x06" + strings.Repeat("\x00", 18))
	return b.Bytes()
}

// importKioskPolicy gives the sender a copy of the kiosk's policy, as a
// technician does with sluice policy import.
func importKioskPolicy(t *testing.T, sender, kiosk *Station) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "kiosk-1.toml")
	os.WriteFile(p, []byte(kiosk.Policy.Text()), 0o644)
	if err := sender.ImportPolicy("kiosk-1", p); err != nil {
		t.Fatal(err)
	}
}

// TestTransformAtSenderVerifiedAtKiosk is the NCSC pattern end to end: the
// kiosk's policy has the sender transform documents and images; the
// sender, holding a copy of it, rebuilds a PDF with a JavaScript
// /OpenAction and a PNG with a ZIP appended, seals the outputs marked with
// their originals, keeps the originals and records each change; the
// kiosk verifies each simple form and releases them; text passes as it is.
func TestTransformAtSenderVerifiedAtKiosk(t *testing.T) {
	needTransformer(t)
	sender, kiosk := pair(t, false)
	importKioskPolicy(t, sender, kiosk)
	pdf := pdftest.TextLinked(2, "/OpenAction << /S /JavaScript /JS (app.alert(1)) >>", "https://intranet.example/q3")
	dir := stage(t, map[string]string{"plan.pdf": string(pdf), "photo.png": string(pngWithZip(t)), "notes.txt": "plain words\n"})
	sealed := pack(t, sender, "kiosk-1", dir)
	if sealed.Envelope.Files != 4 { // and plan.links.txt
		t.Fatalf("sealed %d files", sealed.Envelope.Files)
	}
	var recs []string
	for _, r := range events(t, sender) {
		if r.Event == custody.EventTransformed {
			if r.Bundle != sealed.Envelope.ID {
				t.Fatalf("transformed record names bundle %q", r.Bundle)
			}
			recs = append(recs, r.Reason)
		}
	}
	if len(recs) != 1 || !strings.Contains(recs[0], "outbox/plan.pdf (sha256 ") || !strings.Contains(recs[0], "outbox/photo.png (sha256 ") {
		t.Fatalf("sender's transformed records: %q", recs)
	}
	for _, f := range []string{"outbox/plan.pdf", "outbox/photo.png"} {
		if _, err := os.Stat(filepath.Join(sender.Home, originalsDir, sealed.Envelope.ID, f)); err != nil {
			t.Errorf("original of %s not kept: %v", f, err)
		}
	}

	out := t.TempDir()
	r, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: out})
	if err != nil {
		t.Fatal(err)
	}
	if links, err := os.ReadFile(filepath.Join(r.Dir, "outbox", "plan.links.txt")); err != nil || !strings.Contains(string(links), "https://intranet.example/q3") {
		t.Fatalf("the links sidecar: %q, %v", links, err)
	}
	if r.Content.TransformedVerified != 3 {
		t.Fatalf("kiosk verified %d transformed files", r.Content.TransformedVerified)
	}
	marks := 0
	for _, e := range r.Verified.Manifest.Entries {
		if m := e.Transformed; m != nil {
			marks++
			if e.Path == "outbox/plan.pdf" && (m.From != "plan.pdf" || m.Action != "pdf-of-images" || m.SHA256 != crypto.HashBytes(pdf)) {
				t.Fatalf("plan.pdf's mark: %+v", m)
			}
		}
	}
	if marks != 3 {
		t.Fatalf("%d marked entries", marks)
	}
	got, _ := os.ReadFile(filepath.Join(r.Dir, "outbox", "photo.png"))
	if bytes.Contains(got, []byte("a zip hides here")) {
		t.Fatal("the ZIP appended to the PNG crossed")
	}
	if err := transform.Verify("photo.png", bytes.NewReader(got), int64(len(got))); err != nil {
		t.Fatalf("released PNG: %v", err)
	}
	released, _ := os.ReadFile(filepath.Join(r.Dir, "outbox", "plan.pdf"))
	if bytes.Contains(released, []byte("JavaScript")) {
		t.Fatal("the JavaScript crossed")
	}
	if b, _ := os.ReadFile(filepath.Join(r.Dir, "outbox", "notes.txt")); string(b) != "plain words\n" {
		t.Fatalf("text changed: %q", b)
	}
	if !strings.Contains(lastReceived(t, kiosk).Reason, "3 file(s) transformed by the sender verified in their simple form") {
		t.Fatalf("received record: %s", lastReceived(t, kiosk).Reason)
	}
}

func lastReceived(t *testing.T, s *Station) custody.Record {
	t.Helper()
	var rec custody.Record
	for _, r := range events(t, s) {
		if r.Event == custody.EventReceived {
			rec = r
		}
	}
	return rec
}

// TestKioskHoldsWhatWasNotTransformed: a sender without the kiosk's policy
// seals a PDF and an image as they are; the kiosk, whose policy has the
// sender transform both, holds them (not-transformed), and says why.
func TestKioskHoldsWhatWasNotTransformed(t *testing.T) {
	sender, kiosk := pair(t, false)
	dir := stage(t, map[string]string{"plan.pdf": string(pdftest.Text(1, "")), "photo.png": string(plainPNG(t)), "notes.txt": "words\n"})
	sealed := pack(t, sender, "kiosk-1", dir)
	_, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: t.TempDir()})
	var he *HeldError
	if !errors.As(err, &he) {
		t.Fatalf("untransformed documents: %v", err)
	}
	got := map[string]string{}
	for _, r := range he.Held.Reports {
		for _, f := range r.Findings {
			got[r.Path] += f.Reason + ":" + f.Detail
		}
	}
	if len(got) != 2 || !strings.Contains(got["outbox/plan.pdf"], inspect.ReasonNotTransformed+":this station's policy has the sender transform documents") ||
		!strings.Contains(got["outbox/photo.png"], inspect.ReasonNotTransformed) {
		t.Fatalf("held: %v", got)
	}
}

func plainPNG(t *testing.T) []byte {
	var b bytes.Buffer
	png.Encode(&b, image.NewGray(image.Rect(0, 0, 8, 8)))
	return b.Bytes()
}

// TestKioskRefusesAFakeTransformation: a sender that marks an original
// PDF, JavaScript and all, as transformed does not get it through: it is
// not in the simple form, and is held (not-simple).
func TestKioskRefusesAFakeTransformation(t *testing.T) {
	needTransformer(t)
	sender, kiosk := pair(t, false)
	pdf := pdftest.Text(1, "/OpenAction << /S /JavaScript /JS (app.alert(1)) >>")
	dir := stage(t, map[string]string{"plan.pdf": string(pdf)})
	srcs := mustStage(t, dir)
	for i := range srcs {
		if srcs[i].Type == bundle.TypeFile {
			srcs[i].Transformed = &bundle.Transformed{From: "plan.docx", SHA256: crypto.HashBytes([]byte("x")), Size: 1, Action: "pdf-of-images", Tool: "mutool", Version: "1.21.1"}
		}
	}
	s := sealAs(t, sender, kiosk, srcs)
	_, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: s.Dir, OutDir: t.TempDir()})
	var he *HeldError
	if !errors.As(err, &he) || len(he.Held.Reports) != 1 {
		t.Fatalf("a fake transformation: %v", err)
	}
	found := false
	for _, f := range he.Held.Reports[0].Findings {
		found = found || f.Reason == inspect.ReasonNotSimple
	}
	if !found {
		t.Fatalf("findings: %+v", he.Held.Reports[0].Findings)
	}
}

// TestKioskVerifiesManyTransformedFiles: a bundle of 70 files marked
// transformed, verified many to a worker (two workers' worth), with one
// not in its simple form in the middle of the first: exactly that one is
// held, as not-simple, and every other is verified.
func TestKioskVerifiesManyTransformedFiles(t *testing.T) {
	needTransformer(t)
	sender, kiosk := pair(t, false)
	var simple bytes.Buffer
	png.Encode(&simple, image.NewGray(image.Rect(0, 0, 8, 8)))
	files := map[string]string{}
	for i := range 70 {
		switch {
		case i == 35:
			files[fmt.Sprintf("f%02d.png", i)] = string(pngWithZip(t))
		case i%2 == 0:
			files[fmt.Sprintf("f%02d.png", i)] = simple.String()
		default:
			files[fmt.Sprintf("f%02d.txt", i)] = fmt.Sprintf("line %d, cleaned\n", i)
		}
	}
	srcs := mustStage(t, stage(t, files))
	for i := range srcs {
		if srcs[i].Type == bundle.TypeFile {
			srcs[i].Transformed = &bundle.Transformed{From: path.Base(srcs[i].Path), SHA256: crypto.HashBytes([]byte("x")), Size: 1, Action: "re-encode-image", Tool: "sluice", Version: "go1.26"}
		}
	}
	s := sealAs(t, sender, kiosk, srcs)
	start := time.Now()
	_, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: s.Dir, OutDir: t.TempDir()})
	t.Logf("received 70 transformed files in %s", time.Since(start).Round(time.Millisecond))
	var he *HeldError
	if !errors.As(err, &he) {
		t.Fatalf("a bundle with one fake transformation: %v", err)
	}
	if len(he.Held.Reports) != 1 || he.Held.Reports[0].Path != "outbox/f35.png" {
		t.Fatalf("held %+v, want outbox/f35.png alone", he.Held.Reports)
	}
	found := false
	for _, f := range he.Held.Reports[0].Findings {
		found = found || f.Reason == inspect.ReasonNotSimple && strings.Contains(f.Detail, "after the PNG image's end")
	}
	if !found {
		t.Fatalf("findings: %+v", he.Held.Reports[0].Findings)
	}
	if !strings.Contains(he.Held.Summary, "69 file(s) transformed by the sender verified") {
		t.Fatalf("summary: %s", he.Held.Summary)
	}
}

// TestKioskTransformsInQuarantine: with images = "kiosk", the kiosk
// re-encodes an image before release, keeps the original, and records
// the change with the release.
func TestKioskTransformsInQuarantine(t *testing.T) {
	needTransformer(t)
	sender, kiosk := pair(t, false)
	kiosk.Policy.Transform.Images = TransformKiosk
	kiosk.Policy.Content.Extensions = false // the polyglot is what the transformation removes
	dir := stage(t, map[string]string{"photo.png": string(pngWithZip(t))})
	sealed := pack(t, sender, "kiosk-1", dir)
	r, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(r.Dir, "outbox", "photo.png"))
	if bytes.Contains(got, []byte("a zip hides here")) || transform.Verify("photo.png", bytes.NewReader(got), int64(len(got))) != nil {
		t.Fatal("the released image was not re-encoded")
	}
	orig, err := os.ReadFile(filepath.Join(kiosk.Home, originalsDir, sealed.Envelope.ID, "outbox", "photo.png"))
	if err != nil || !bytes.Contains(orig, []byte("a zip hides here")) {
		t.Fatalf("original not kept: %v", err)
	}
	var seq []string
	for _, rec := range events(t, kiosk) {
		seq = append(seq, rec.Event)
		if rec.Event == custody.EventTransformed && !strings.Contains(rec.Reason, "outbox/photo.png (sha256 ") {
			t.Fatalf("kiosk's transformed record: %s", rec.Reason)
		}
	}
	if s := strings.Join(seq, ","); !strings.HasSuffix(s, "received,transformed,released") {
		t.Fatalf("records: %s", s)
	}
}

// TestKioskTransformsBeforeReview: with images = "kiosk", a bundle held
// for another file is held with its image already transformed (recorded
// before the hold), so what an officer releases after review is the
// transformed image.
func TestKioskTransformsBeforeReview(t *testing.T) {
	needTransformer(t)
	sender, kiosk := pair(t, false)
	kiosk.Policy.Transform.Images = TransformKiosk
	kiosk.Policy.Content.Extensions = false
	dir := stage(t, map[string]string{"photo.png": string(pngWithZip(t)), "plan.pdf": string(pdftest.Text(1, ""))})
	sealed := pack(t, sender, "kiosk-1", dir)
	_, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: t.TempDir()})
	var he *HeldError
	if !errors.As(err, &he) || len(he.Held.Reports) != 1 || he.Held.Reports[0].Path != "outbox/plan.pdf" {
		t.Fatalf("held: %v", err)
	}
	if lastEvent(t, kiosk).Event != custody.EventHeld {
		t.Fatal("no held record")
	}
	n := countEvents(t, kiosk, custody.EventTransformed, "ok")
	if n != 1 {
		t.Fatalf("%d transformed records before the hold", n)
	}
	r, err := kiosk.ReleaseHeld(context.Background(), he.Held.ID, Decision{})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(r.Dir, "outbox", "photo.png"))
	if bytes.Contains(got, []byte("a zip hides here")) {
		t.Fatal("released after review without the kiosk's transformation")
	}
}

// TestForeseeKnowsWhatWillBeTransformed: a PDF with JavaScript that this
// station will transform for the kiosk is not foreseen as held (its
// simple form crosses); with the kiosk's documents off, it is.
func TestForeseeKnowsWhatWillBeTransformed(t *testing.T) {
	sender, kiosk := pair(t, false)
	dir := stage(t, map[string]string{"plan.pdf": string(pdftest.Text(1, "/OpenAction << /S /JavaScript /JS (app.alert(1)) >>"))})
	srcs := mustStage(t, dir)
	importKioskPolicy(t, sender, kiosk)
	if held, err := sender.Foresee(context.Background(), srcs, []string{"kiosk-1"}); err != nil || len(held) != 0 {
		t.Fatalf("a file to be transformed foreseen as held: %v %v", held, err)
	}
	kiosk.Policy.Transform.Documents = TransformOff
	importKioskPolicy(t, sender, kiosk)
	if held, err := sender.Foresee(context.Background(), srcs, []string{"kiosk-1"}); err != nil || len(held) != 1 {
		t.Fatalf("with documents off: %v %v", held, err)
	}
}
