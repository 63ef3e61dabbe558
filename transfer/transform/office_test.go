package transform

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// odf builds an OpenDocument file of the given mimetype from its
// content.xml, as LibreOffice reads it (the mimetype first, stored).
func odf(t testing.TB, mimetype, content string) []byte {
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	w, _ := z.CreateHeader(&zip.FileHeader{Name: "mimetype", Method: zip.Store})
	w.Write([]byte(mimetype))
	for _, p := range []struct{ name, body string }{
		{"META-INF/manifest.xml", `<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:media-type="` + mimetype + `"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>`},
		{"content.xml", content},
	} {
		w, err := z.Create(p.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(p.body))
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

const odfNS = `xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" xmlns:xlink="http://www.w3.org/1999/xlink" office:version="1.2"`

// odsWithLink is a spreadsheet of rows × 3 numbers whose first cell is a
// link.
func odsWithLink(t testing.TB, rows int) []byte {
	var c strings.Builder
	c.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<office:document-content ` + odfNS + `><office:body><office:spreadsheet><table:table table:name="Figures">`)
	c.WriteString(`<table:table-row><table:table-cell office:value-type="string"><text:p><text:a xlink:type="simple" xlink:href="https://example.org/figures">Source of the figures</text:a></text:p></table:table-cell></table:table-row>`)
	for r := 1; r <= rows; r++ {
		c.WriteString(`<table:table-row>`)
		for col := 0; col < 3; col++ {
			fmt.Fprintf(&c, `<table:table-cell office:value-type="float" office:value="%d"><text:p>%d</text:p></table:table-cell>`, r*10+col, r*10+col)
		}
		c.WriteString(`</table:table-row>`)
	}
	c.WriteString(`</table:table></office:spreadsheet></office:body></office:document-content>`)
	return odf(t, "application/vnd.oasis.opendocument.spreadsheet", c.String())
}

// odpWithLink is a presentation of slides slides, a link on the first.
func odpWithLink(t testing.TB, slides int) []byte {
	var c strings.Builder
	c.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<office:document-content ` + odfNS + `><office:body><office:presentation>`)
	for i := 1; i <= slides; i++ {
		fmt.Fprintf(&c, `<draw:page draw:name="page%d"><draw:frame svg:x="2cm" svg:y="2cm" svg:width="20cm" svg:height="4cm"><draw:text-box><text:p>Slide %d of the briefing.`, i, i)
		if i == 1 {
			c.WriteString(` <text:a xlink:type="simple" xlink:href="https://example.org/slides">The briefing online</text:a>`)
		}
		c.WriteString(`</text:p></draw:text-box></draw:frame></draw:page>`)
	}
	c.WriteString(`</office:presentation></office:body></office:document-content>`)
	return odf(t, "application/vnd.oasis.opendocument.presentation", c.String())
}

// rtfWithLinkAndObject is an RTF document with a HYPERLINK field and an
// embedded OLE object (a Package holding a program's name), as phishing
// RTFs carry. The link's text has a character style: LibreOffice 7.4
// exports a link to PDF only then (as for docxWithMacro).
func rtfWithLinkAndObject() []byte {
	native := "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + strings.Repeat("\x00", 24) + "cmd.exe /c calc.exe"
	var ole bytes.Buffer
	le := func(v int) { ole.Write([]byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)}) }
	le(0x0501) // OLE 1.0
	le(2)      // embedded
	le(len("Package") + 1)
	ole.WriteString("Package\x00")
	le(0) // topic
	le(0) // item
	le(len(native))
	ole.WriteString(native)
	return []byte(`{\rtf1\ansi\deff0{\fonttbl{\f0\froman Times New Roman;}}{\colortbl;\red5\green99\blue193;}{\stylesheet{\s0 Normal;}{\*\cs10\ul\cf1 Internet Link;}}
\pard\f0\fs24 Budget notes: every line was checked twice.\par
\pard {\field{\*\fldinst{HYPERLINK "https://example.org/notes"}}{\fldrslt{\cs10\ul\cf1 The notes online}}}\par
\pard {\object\objemb{\*\objclass Package}\objw1000\objh500{\*\objdata ` + fmt.Sprintf("%x", ole.Bytes()) + `}}\par
}
`)
}

// convertOffice converts src (in a folder of its own) to format with the
// real LibreOffice, sharing one profile across the test's conversions,
// and returns the new file's bytes.
func convertOffice(t *testing.T, profile, src, format string) []byte {
	t.Helper()
	soffice, err := exec.LookPath("soffice")
	if err != nil {
		t.Skipf("soffice is missing: install %s", packages["soffice"])
	}
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, soffice, "--headless", "--norestore", "--nologo", "--nodefault", "--nolockcheck",
		"-env:UserInstallation=file://"+profile, "--convert-to", format, "--outdir", out, src)
	cmd.Env = append(os.Environ(), "HOME="+profile)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("soffice --convert-to %s: %v: %s", format, err, b)
	}
	name := strings.TrimSuffix(filepath.Base(src), filepath.Ext(src)) + "." + format
	b, err := os.ReadFile(filepath.Join(out, name))
	if err != nil {
		t.Fatalf("soffice did not write %s: %v", name, err)
	}
	return b
}

// TestOfficeFormats covers the office types the engine claims beyond
// docx, ODT and xlsx: ODS and ODP written here, the legacy binary .doc,
// .xls and .ppt and a .pptx made from them by the real LibreOffice, and
// an RTF written by hand with a link field and an embedded OLE object.
// Each becomes a PDF of images that verifies, holds no active token, has
// its pages, and lists its link in a sidecar.
func TestOfficeFormats(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: LibreOffice takes seconds per document")
	}
	tr := newT(t, Config{})
	need(t, tr, "soffice", "mutool")
	profile, src := t.TempDir(), t.TempDir()
	odt := write(t, src, "minutes.odt", odtWithLink(t))
	ods := write(t, src, "figures.ods", odsWithLink(t, 60))
	odp := write(t, src, "briefing.odp", odpWithLink(t, 3))
	cases := []struct {
		name   string
		b      []byte
		pages  [2]int // at least, at most
		link   string // in the sidecar, "" for none expected
		forbid []string
	}{
		{"figures.ods", mustRead(t, ods), [2]int{1, 3}, "https://example.org/figures", nil},
		{"briefing.odp", mustRead(t, odp), [2]int{3, 3}, "https://example.org/slides", nil},
		{"minutes.doc", convertOffice(t, profile, odt, "doc"), [2]int{1, 1}, "https://example.org/minutes", nil},
		{"figures.xls", convertOffice(t, profile, ods, "xls"), [2]int{1, 3}, "https://example.org/figures", nil},
		{"briefing.ppt", convertOffice(t, profile, odp, "ppt"), [2]int{3, 3}, "https://example.org/slides", nil},
		{"briefing.pptx", convertOffice(t, profile, odp, "pptx"), [2]int{3, 3}, "https://example.org/slides", nil},
		{"notes.rtf", rtfWithLinkAndObject(), [2]int{1, 1}, "https://example.org/notes", []string{"calc.exe", "Package"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// What LibreOffice wrote is the real format, not ODF renamed.
			magic := map[string]string{".doc": "\xd0\xcf\x11\xe0", ".xls": "\xd0\xcf\x11\xe0", ".ppt": "\xd0\xcf\x11\xe0", ".pptx": "PK\x03\x04", ".rtf": "{\\rtf1"}
			if m, ok := magic[filepath.Ext(c.name)]; ok && !bytes.HasPrefix(c.b, []byte(m)) {
				t.Fatalf("%s starts %q, not as its format does", c.name, c.b[:min(8, len(c.b))])
			}
			if filepath.Ext(c.name) == ".pptx" && !bytes.Contains(c.b, []byte("ppt/presentation.xml")) {
				t.Fatalf("%s is not a PowerPoint package", c.name)
			}
			res, _, err := run(t, tr, c.name, c.b)
			if err != nil {
				t.Fatal(err)
			}
			checkClean(t, res)
			if err := tr.VerifyFile(context.Background(), res.Output); err != nil {
				t.Errorf("VerifyFile on the output: %v", err)
			}
			if want := stem(c.name) + ".pdf"; filepath.Base(res.Output) != want || res.Tool != "soffice" {
				t.Errorf("output %s by %s, want %s by soffice", filepath.Base(res.Output), res.Tool, want)
			}
			if res.Pages < c.pages[0] || res.Pages > c.pages[1] {
				t.Errorf("%d pages, want %d to %d", res.Pages, c.pages[0], c.pages[1])
			}
			out, _ := os.ReadFile(res.Output)
			for _, tok := range c.forbid {
				if bytes.Contains(out, []byte(tok)) {
					t.Errorf("the PDF holds %q", tok)
				}
			}
			if c.link != "" {
				side, err := os.ReadFile(res.Sidecar)
				if err != nil || res.Links < 1 || !strings.Contains(string(side), c.link+"\n") || filepath.Base(res.Sidecar) != stem(c.name)+".links.txt" {
					t.Errorf("%d links in %q: %q (%v), want %s", res.Links, res.Sidecar, side, err, c.link)
				} else if err := Verify(res.Sidecar, bytes.NewReader(side), int64(len(side))); err != nil {
					t.Errorf("the sidecar does not verify: %v", err)
				}
			}
			t.Logf("%s: %d bytes → %d pages, %d bytes, %d links in %s", c.name, res.OriginalSize, res.Pages, res.OutputSize, res.Links, res.Duration.Round(time.Millisecond))
		})
	}
}

func mustRead(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
