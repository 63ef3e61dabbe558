// Package pdftest builds PDFs for tests: the shapes hostile senders use.
package pdftest

import (
	"bytes"
	"compress/zlib"
	"fmt"
)

// ObjStm builds a PDF 1.5 file whose page links to an action
// (object 4) kept in a compressed object stream, followed in that stream
// by pad bytes of spaces: a few kilobytes on disk, pad bytes once
// inflated.
func ObjStm(action string, pad int64) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << >> /Annots [<< /Type /Annot /Subtype /Link /Rect [0 0 612 792] /A 4 0 R >>] >>",
	}
	var offs []int
	for i, o := range objs {
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	hdr := "4 0 "
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	zw.Write([]byte(hdr + action))
	spaces := bytes.Repeat([]byte(" "), 1<<20)
	for n := int64(0); n < pad; n += int64(len(spaces)) {
		zw.Write(spaces[:min(int64(len(spaces)), pad-n)])
	}
	zw.Close()
	offs = append(offs, b.Len())
	fmt.Fprintf(&b, "5 0 obj\n<< /Type /ObjStm /N 1 /First %d /Filter /FlateDecode /Length %d >>\nstream\n", len(hdr), z.Len())
	b.Write(z.Bytes())
	b.WriteString("\nendstream\nendobj\n")
	xref := b.Len()
	var rows bytes.Buffer
	row := func(t byte, f2, f3 int) {
		rows.Write([]byte{t, byte(f2 >> 24), byte(f2 >> 16), byte(f2 >> 8), byte(f2), byte(f3 >> 8), byte(f3)})
	}
	row(0, 0, 65535)
	row(1, offs[0], 0)
	row(1, offs[1], 0)
	row(1, offs[2], 0)
	row(2, 5, 0)
	row(1, offs[3], 0)
	row(1, xref, 0)
	fmt.Fprintf(&b, "6 0 obj\n<< /Type /XRef /Size 7 /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n", rows.Len())
	b.Write(rows.Bytes())
	fmt.Fprintf(&b, "\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", xref)
	return b.Bytes()
}

// Text builds a PDF of pages pages, each a few lines of Helvetica text,
// with catalogExtra added to its catalog (such as an /OpenAction
// "<< /S /JavaScript /JS (app.alert(1)) >>"): the ordinary document a
// sender stages, or one carrying an action.
func Text(pages int, catalogExtra string) []byte { return TextLinked(pages, catalogExtra, "") }

// TextLinked is Text with, if uri is set, a link to uri on its first page
// (a /URI action: the kind of link a transformation lists in its sidecar).
func TextLinked(pages int, catalogExtra, uri string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	offs := map[int]int{}
	obj := func(n int, body string) {
		offs[n] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", n, body)
	}
	obj(1, "<< /Type /Catalog /Pages 2 0 R "+catalogExtra+" >>")
	kids := ""
	for i := range pages {
		kids += fmt.Sprintf("%d 0 R ", 4+2*i)
	}
	obj(2, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", kids, pages))
	obj(3, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	for i := range pages {
		content := fmt.Sprintf("BT /F1 12 Tf 14 TL 72 760 Td (Page %d of the weekly report) Tj T* (Nothing here but words.) Tj ET", i+1)
		annots := ""
		if i == 0 && uri != "" {
			annots = fmt.Sprintf("/Annots [<< /Type /Annot /Subtype /Link /Rect [72 740 300 770] /A << /S /URI /URI (%s) >> >>]", uri)
		}
		obj(4+2*i, fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R %s >>", 5+2*i, annots))
		obj(5+2*i, fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content))
	}
	size := 4 + 2*pages
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f\r\n", size)
	for n := 1; n < size; n++ {
		fmt.Fprintf(&b, "%010d 00000 n\r\n", offs[n])
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", size, xref)
	return b.Bytes()
}
