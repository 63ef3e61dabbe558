package app

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sluice/internal/pdfcheck/pdftest"
	"sluice/transfer/custody"
	"sluice/transfer/transform"
)

// With transform.ocr set in the kiosk's policy, the sender (which
// transforms documents) rebuilds a PDF with an invisible text layer; the
// kiosk verifies it in its simple form and releases it searchable.
func TestOCRAtSenderVerifiedAtKiosk(t *testing.T) {
	needTransformer(t)
	if err := transform.CheckOCR("eng"); err != nil {
		t.Skipf("%v (packaging/deps.sh test installs tesseract-ocr and tesseract-ocr-eng)", err)
	}
	sender, kiosk := pair(t, false)
	kiosk.Policy.Transform.OCR = "eng"
	importKioskPolicy(t, sender, kiosk)
	dir := stage(t, map[string]string{"report.pdf": string(pdftest.TextLinked(1, "", "https://intranet.example/q3"))})
	sealed := pack(t, sender, "kiosk-1", dir)
	r, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if r.Content.TransformedVerified != 2 { // and report.links.txt
		t.Fatalf("kiosk verified %d transformed files", r.Content.TransformedVerified)
	}
	var recorded bool
	for _, rec := range events(t, sender) {
		recorded = recorded || rec.Event == custody.EventTransformed && strings.Contains(rec.Reason, "outbox/report.pdf (sha256 ") && strings.Contains(rec.Reason, ", OCR text on 1 of 1 pages")
	}
	if !recorded {
		t.Error("the sender's transformed record does not say which pages have text")
	}
	out := filepath.Join(r.Dir, "outbox", "report.pdf")
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("/BaseFont /Helvetica")) {
		t.Fatal("the released PDF has no text layer")
	}
	if err := transform.Verify("report.pdf", bytes.NewReader(b), int64(len(b))); err != nil {
		t.Fatalf("released PDF: %v", err)
	}
	if _, err := exec.LookPath("pdftotext"); err == nil {
		txt, err := exec.Command("pdftotext", "-q", out, "-").Output()
		if err != nil || !strings.Contains(strings.ToLower(string(txt)), "weekly report") {
			t.Errorf("the released PDF's text: %q, %v", txt, err)
		}
	}
}

// A policy that has this station read documents' text in a language it
// lacks is not installed (nor imported), and the error names the package.
func TestOCRPolicyNeedsItsLanguages(t *testing.T) {
	sender, kiosk := pair(t, false)
	pol := func(documents, ocr string) string {
		p := DefaultPolicy()
		p.Transform.Documents, p.Transform.OCR = documents, ocr
		return p.Text()
	}
	err := kiosk.InstallPolicy([]byte(pol(TransformKiosk, "eng+zzz")))
	if err == nil || !strings.Contains(err.Error(), `transform.ocr: OCR language "zzz" is not installed (Debian: apt-get install tesseract-ocr tesseract-ocr-zzz)`) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("InstallPolicy with a missing language: %v", err)
	}
	if kiosk.Policy.Transform.OCR != "" {
		t.Fatal("a refused policy was put in force")
	}
	// The sender reads the text there: the kiosk needs no tesseract.
	if err := kiosk.InstallPolicy([]byte(pol(TransformSender, "zzz"))); err != nil {
		t.Fatalf("InstallPolicy with OCR at the sender: %v", err)
	}
	p := filepath.Join(t.TempDir(), "kiosk-1.toml")
	os.WriteFile(p, []byte(pol(TransformSender, "zzz")), 0o644)
	if err := sender.ImportPolicy("kiosk-1", p); err == nil || !strings.Contains(err.Error(), "tesseract-ocr-zzz") {
		t.Fatalf("ImportPolicy of a policy whose OCR the sender cannot do: %v", err)
	}
	if _, err := ParsePolicy([]byte(pol(TransformKiosk, "eng deu"))); err == nil || !strings.Contains(err.Error(), `transform.ocr: OCR languages "eng deu": give tesseract language names joined by "+"`) {
		t.Fatalf("ParsePolicy with a malformed list: %v", err)
	}
}
