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
	d := NewDoc("1.7")
	d.Obj(1, "<< /Type /Catalog /Pages 2 0 R >>")
	d.Obj(2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
	d.Obj(3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << >> /Annots [<< /Type /Annot /Subtype /Link /Rect [0 0 612 792] /A 4 0 R >>] >>")
	hdr := "4 0 "
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	zw.Write([]byte(hdr + action))
	spaces := bytes.Repeat([]byte(" "), 1<<20)
	for n := int64(0); n < pad; n += int64(len(spaces)) {
		zw.Write(spaces[:min(int64(len(spaces)), pad-n)])
	}
	zw.Close()
	d.Stream(5, fmt.Sprintf("/Type /ObjStm /N 1 /First %d /Filter /FlateDecode", len(hdr)), z.Bytes())
	d.InStream(4, 5, 0)
	return d.XRefStream(6, 7, "")
}

// Text builds a PDF of pages pages, each a few lines of Helvetica text,
// with catalogExtra added to its catalog (such as an /OpenAction
// "<< /S /JavaScript /JS (app.alert(1)) >>"): the ordinary document a
// sender stages, or one carrying an action.
func Text(pages int, catalogExtra string) []byte { return TextLinked(pages, catalogExtra, "") }

// TextLinked is Text with, if uri is set, a link to uri on its first page
// (a /URI action: the kind of link a transformation lists in its sidecar).
func TextLinked(pages int, catalogExtra, uri string) []byte {
	d := NewDoc("1.4")
	d.Obj(1, "<< /Type /Catalog /Pages 2 0 R "+catalogExtra+" >>")
	kids := ""
	for i := range pages {
		kids += fmt.Sprintf("%d 0 R ", 4+2*i)
	}
	d.Obj(2, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", kids, pages))
	d.Obj(3, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	for i := range pages {
		content := fmt.Sprintf("BT /F1 12 Tf 14 TL 72 760 Td (Page %d of the weekly report) Tj T* (Nothing here but words.) Tj ET", i+1)
		annots := ""
		if i == 0 && uri != "" {
			annots = fmt.Sprintf("/Annots [<< /Type /Annot /Subtype /Link /Rect [72 740 300 770] /A << /S /URI /URI (%s) >> >>]", uri)
		}
		d.Obj(4+2*i, fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R %s >>", 5+2*i, annots))
		d.Stream(5+2*i, "", []byte(content))
	}
	return d.Table(4+2*pages, "")
}
