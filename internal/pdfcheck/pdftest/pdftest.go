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
