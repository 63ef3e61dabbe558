package transform

import (
	"archive/zip"
	"bytes"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"strings"
	"testing"

	"sluice/internal/pdfcheck/pdftest"
)

// textPDF builds a PDF of pages pages of Helvetica text (about 50 lines
// each), with extra objects appended to the catalog (catalogExtra, such as
// "/OpenAction 9 0 R") and to the first page (pageExtra), and extra
// objects numbered from 1000 (extra[i] is object 1000+i).
func textPDF(pages int, catalogExtra, pageExtra string, extra ...string) []byte {
	return textPDFSized(pages, "[0 0 595 842]", catalogExtra, pageExtra, extra...)
}

// textPDFSized is textPDF with pages of the given MediaBox.
func textPDFSized(pages int, mediaBox, catalogExtra, pageExtra string, extra ...string) []byte {
	d := pdftest.NewDoc("1.4")
	d.Obj(1, "<< /Type /Catalog /Pages 2 0 R "+catalogExtra+" >>")
	var kids []string
	for i := 0; i < pages; i++ {
		kids = append(kids, fmt.Sprintf("%d 0 R", 10+2*i))
	}
	d.Obj(2, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), pages))
	d.Obj(3, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	rng := rand.New(rand.NewPCG(1, 2))
	words := strings.Fields("the transfer station checks every file before it releases anything into the network and records what it did")
	for i := 0; i < pages; i++ {
		var c strings.Builder
		c.WriteString("BT /F1 10 Tf 12 TL 56 790 Td\n")
		fmt.Fprintf(&c, "(Page %d) Tj T*\n", i+1)
		for l := 0; l < 55; l++ {
			var line []string
			for w := 0; w < 14; w++ {
				line = append(line, words[rng.IntN(len(words))])
			}
			fmt.Fprintf(&c, "(%s) Tj T*\n", strings.Join(line, " "))
		}
		c.WriteString("ET\n")
		extraPage := ""
		if i == 0 {
			extraPage = pageExtra
		}
		d.Obj(10+2*i, fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox %s /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R %s >>", mediaBox, 11+2*i, extraPage))
		d.Stream(11+2*i, "", []byte(c.String()))
	}
	for i, e := range extra {
		d.Obj(1000+i, e)
	}
	size := 1000 + len(extra)
	if len(extra) == 0 {
		size = 12 + 2*pages
	}
	return d.Table(size, "")
}

// photo is a w × h picture with smooth gradients and noise, as a camera
// would take.
func photo(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(3, 4))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			n := rng.IntN(24)
			img.Set(x, y, color.RGBA{uint8(x*255/w + n/2), uint8(y*255/h + n/3), uint8((x+y)*127/(w+h) + n), 255})
		}
	}
	return img
}

func pngBytes(t testing.TB, img image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func jpegBytes(t testing.TB, img image.Image) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withEXIFGPS inserts an APP1 Exif segment holding a GPS IFD (latitude
// 51° N) after a JPEG's SOI marker.
func withEXIFGPS(j []byte) []byte {
	// TIFF header (big-endian), IFD0 with one entry: GPSInfo → IFD at 26.
	tiff := []byte{'M', 'M', 0, 42, 0, 0, 0, 8,
		0, 1, 0x88, 0x25, 0, 4, 0, 0, 0, 1, 0, 0, 0, 26, 0, 0, 0, 0,
		// GPS IFD: GPSLatitudeRef = "N".
		0, 1, 0, 1, 0, 2, 0, 0, 0, 2, 'N', 0, 0, 0, 0, 0, 0, 0, 0, 0}
	payload := append([]byte("Exif\x00\x00"), tiff...)
	seg := []byte{0xff, 0xe1, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}
	seg = append(seg, payload...)
	out := append([]byte{}, j[:2]...)
	out = append(out, seg...)
	return append(out, j[2:]...)
}

// bombPNG is a PNG header claiming w × h pixels with a few rows of data:
// a small file that would need gigabytes to decode.
func bombPNG(t testing.TB, w, h int) []byte {
	small := pngBytes(t, image.NewGray(image.Rect(0, 0, 1, 1)))
	// Rewrite IHDR's width and height (bytes 16–23), and its CRC.
	b := append([]byte{}, small...)
	put := func(off, v int) { b[off], b[off+1], b[off+2], b[off+3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v) }
	put(16, w)
	put(20, h)
	crc := crc32.ChecksumIEEE(b[12:29])
	put(29, int(crc))
	return b
}

// ooxml builds an office document from its parts (path → content).
func ooxml(t testing.TB, parts map[string]string) []byte {
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	for _, name := range []string{"[Content_Types].xml", "_rels/.rels"} {
		w, _ := z.Create(name)
		w.Write([]byte(parts[name]))
	}
	for name, body := range parts {
		if name == "[Content_Types].xml" || name == "_rels/.rels" {
			continue
		}
		w, err := z.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// docxWithMacro is a Word document with a VBA project (a macro-enabled
// document saved under .docx) and a hyperlink.
func docxWithMacro(t testing.TB) []byte {
	return ooxml(t, map[string]string{
		"[Content_Types].xml": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/><Override PartName="/word/document.xml" ContentType="application/vnd.ms-word.document.macroEnabled.main+xml"/><Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/></Types>`,
		"_rels/.rels": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>`,
		"word/_rels/document.xml.rels": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId9" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" Target="vbaProject.bin"/><Relationship Id="rId5" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink" Target="https://example.org/report" TargetMode="External"/><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>`,
		// LibreOffice 7.4 exports a link to PDF only when its run has a
		// character style, as Word's and LibreOffice's own documents do.
		"word/styles.xml": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/></w:style><w:style w:type="character" w:styleId="Hyperlink"><w:name w:val="Hyperlink"/><w:rPr><w:color w:val="0563C1"/><w:u w:val="single"/></w:rPr></w:style></w:styles>`,
		"word/vbaProject.bin": "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + strings.Repeat("\x00", 504) + "Sub AutoOpen()\r\nShell \"calc.exe\"\r\nEnd Sub\r\n",
		"word/document.xml": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><w:body>
<w:p><w:r><w:t>Quarterly report: every figure below was checked twice.</w:t></w:r></w:p>
<w:p><w:hyperlink r:id="rId5"><w:r><w:rPr><w:rStyle w:val="Hyperlink"/></w:rPr><w:t>The full report</w:t></w:r></w:hyperlink></w:p>
</w:body></w:document>`,
	})
}

// xlsx is a workbook of one sheet of rows × 4 numbers.
func xlsx(t testing.TB, rows int) []byte {
	var sheet strings.Builder
	sheet.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`)
	for r := 1; r <= rows; r++ {
		fmt.Fprintf(&sheet, `<row r="%d">`, r)
		for c := 0; c < 4; c++ {
			fmt.Fprintf(&sheet, `<c r="%c%d"><v>%d</v></c>`, 'A'+c, r, r*10+c)
		}
		sheet.WriteString(`</row>`)
	}
	sheet.WriteString(`</sheetData></worksheet>`)
	return ooxml(t, map[string]string{
		"[Content_Types].xml": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>`,
		"_rels/.rels": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`,
		"xl/workbook.xml": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Figures" sheetId="1" r:id="rId1"/></sheets></workbook>`,
		"xl/_rels/workbook.xml.rels": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>`,
		"xl/worksheets/sheet1.xml": sheet.String(),
	})
}

// scanPDF builds a PDF of pages pages, each one full-page JPEG (a
// scanned document).
func scanPDF(t testing.TB, pages int) []byte {
	j := jpegBytes(t, photo(1240, 1754))
	d := pdftest.NewDoc("1.4")
	d.Obj(1, "<< /Type /Catalog /Pages 2 0 R >>")
	var kids []string
	for i := 0; i < pages; i++ {
		kids = append(kids, fmt.Sprintf("%d 0 R", 10+3*i))
	}
	d.Obj(2, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), pages))
	for i := 0; i < pages; i++ {
		n := 10 + 3*i
		d.Obj(n, fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /Scan %d 0 R >> >> /Contents %d 0 R >>", n+2, n+1))
		d.Stream(n+1, "", []byte("q 595 0 0 842 0 0 cm /Scan Do Q"))
		d.Stream(n+2, "/Type /XObject /Subtype /Image /Width 1240 /Height 1754 /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode", j)
	}
	return d.Table(10+3*pages, "")
}

// odtWithLink is an OpenDocument text with a hyperlink and a Basic macro
// library bound to the document's opening.
func odtWithLink(t testing.TB) []byte {
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	// The mimetype comes first, stored, as ODF requires.
	w, _ := z.CreateHeader(&zip.FileHeader{Name: "mimetype", Method: zip.Store})
	w.Write([]byte("application/vnd.oasis.opendocument.text"))
	for name, body := range map[string]string{
		"META-INF/manifest.xml": `<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/><manifest:file-entry manifest:full-path="Basic/Standard/Module1.xml" manifest:media-type="text/xml"/></manifest:manifest>`,
		"content.xml": `<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:script="urn:oasis:names:tc:opendocument:xmlns:script:1.0" office:version="1.2"><office:scripts><office:event-listeners><script:event-listener script:language="ooo:script" script:event-name="dom:load" xlink:href="vnd.sun.star.script:Standard.Module1.Main?language=Basic&amp;location=document"/></office:event-listeners></office:scripts><office:body><office:text>
<text:p>Minutes of the meeting. <text:a xlink:type="simple" xlink:href="https://example.org/minutes">The full minutes</text:a></text:p>
</office:text></office:body></office:document-content>`,
		"Basic/Standard/Module1.xml": `<?xml version="1.0" encoding="UTF-8"?>
<script:module xmlns:script="http://openoffice.org/2000/script" script:name="Module1" script:language="StarBasic">Sub Main
Shell("calc.exe")
End Sub</script:module>`,
	} {
		w, err := z.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withOrientation inserts an APP1 Exif segment whose IFD0 holds only the
// Orientation tag (0x0112) = o.
func withOrientation(j []byte, o int) []byte {
	tiff := []byte{'M', 'M', 0, 42, 0, 0, 0, 8,
		0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, byte(o), 0, 0, 0, 0, 0, 0}
	payload := append([]byte("Exif\x00\x00"), tiff...)
	seg := []byte{0xff, 0xe1, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}
	seg = append(seg, payload...)
	out := append([]byte{}, j[:2]...)
	out = append(out, seg...)
	return append(out, j[2:]...)
}

// rawPDF writes a PDF's objects in order, numbered from 1, then its
// cross-reference table and trailer: for tests that build a PDF object by
// object.
type rawPDF struct {
	d *pdftest.Doc
	n int
}

func newRawPDF() *rawPDF { return &rawPDF{d: pdftest.NewDoc("1.4")} }

// obj writes the next object: body, then stream's bytes as its stream
// when stream is not nil (body then holds the stream's /Length).
func (r *rawPDF) obj(body string, stream []byte) {
	r.n++
	if stream != nil {
		body += "\nstream\n" + string(stream) + "\nendstream"
	}
	r.d.Obj(r.n, body)
}

// bytes ends the PDF, trailer's entries (if any) added to the trailer
// after /Size and /Root 1 0 R, and returns it.
func (r *rawPDF) bytes(trailer string) []byte { return r.d.Table(r.n+1, trailer) }

// pagesPDF builds a PDF of one A4 page per content stream, with
// Helvetica as /F1.
func pagesPDF(contents ...string) []byte {
	return pagesPDFFont("/F1 3 0 R", nil, contents...)
}

// pagesPDFFont is pagesPDF with font as the pages' /Font entries ("/F1 3 0
// R" for Helvetica, object 3) and extra as objects 4, 5….
func pagesPDFFont(font string, extra []string, contents ...string) []byte {
	d := pdftest.NewDoc("1.4")
	d.Obj(1, "<< /Type /Catalog /Pages 2 0 R >>")
	var kids []string
	for i := range contents {
		kids = append(kids, fmt.Sprintf("%d 0 R", 10+2*i))
	}
	d.Obj(2, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(contents)))
	d.Obj(3, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	for i, e := range extra {
		d.Obj(4+i, e)
	}
	for i, c := range contents {
		d.Obj(10+2*i, fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << %s >> >> /Contents %d 0 R >>", font, 11+2*i))
		d.Stream(11+2*i, "", []byte(c))
	}
	return d.Table(12+2*len(contents), "")
}
