package app

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sluice/internal/pdfcheck/pdftest"
)

func zipDocx(t *testing.T, main string) []byte {
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	for _, f := range [][2]string{
		{"[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="` + main + `"/></Types>`},
		{"_rels/.rels", `<Relationships/>`},
		{"word/document.xml", `<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body/></w:document>`},
	} {
		fw, _ := w.Create(f[0])
		fw.Write([]byte(f[1]))
	}
	w.Close()
	return b.Bytes()
}

// TestDocumentsByAnyNameAreTransformed: with documents = "sender", a
// Word template (opened by Word as any document), a slide show, and a
// PDF whose header comes after its first KiB (readers accept it) are held
// as not transformed when they come as they were; a sender with the
// kiosk's policy transforms them, and the kiosk releases them.
func TestDocumentsByAnyNameAreTransformed(t *testing.T) {
	dotx := zipDocx(t, "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml")
	late := append(bytes.Repeat([]byte("%comment line padding to push the header\n"), 30), pdftest.Text(1, "")...)
	for name, content := range map[string][]byte{"plan.dotx": dotx, "plan.PPSX": dotx, "late.pdf": late} {
		sender, kiosk := pair(t, false)
		sealed := pack(t, sender, "kiosk-1", stage(t, map[string]string{name: string(content)}))
		_, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: t.TempDir()})
		var he *HeldError
		if !errors.As(err, &he) || !strings.Contains(fmt.Sprint(he.Held.Reports[0].Findings), "not-transformed") {
			t.Errorf("%s came as it was, documents = \"sender\": %v", name, err)
		}
	}
	needTransformer(t)
	// A real document, as LibreOffice writes it, for the sender to convert.
	work := t.TempDir()
	os.WriteFile(filepath.Join(work, "plan.txt"), []byte("The plan.\n"), 0o644)
	if out, err := exec.Command("soffice", "--headless", "-env:UserInstallation=file://"+work+"/lo", "--convert-to", "docx", "--outdir", work, filepath.Join(work, "plan.txt")).CombinedOutput(); err != nil {
		t.Fatalf("soffice: %v %s", err, out)
	}
	dotx, _ = os.ReadFile(filepath.Join(work, "plan.docx"))
	for name, content := range map[string][]byte{"plan.dotx": dotx, "late.pdf": late} {
		sender, kiosk := pair(t, false)
		importKioskPolicy(t, sender, kiosk)
		sealed := pack(t, sender, "kiosk-1", stage(t, map[string]string{name: string(content)}))
		if _, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: t.TempDir()}); err != nil {
			t.Errorf("%s transformed by the sender: %v", name, err)
		}
	}
}
