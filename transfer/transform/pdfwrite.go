package transform

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
)

// pageImage is one rendered page, encoded: the image XObject of its page
// in the rebuilt PDF.
type pageImage struct {
	W, H int // pixels
	// Filter is "DCTDecode" (JPEG), "FlateDecode" or "CCITTFaxDecode"
	// (Group 4, bilevel).
	Filter string
	// Gray: DeviceGray, else DeviceRGB.
	Gray bool
	// BPC is bits per component: 8, or 1 for a bilevel page.
	BPC int
	// Kind is how the page was classified, for notes: "text",
	// "text-colour", "photo", "photo-gray".
	Kind string
	// Where the encoded bytes wait: spool file index, offset, length.
	Spool       int
	Off, Length int64
	// TextOff and TextLength: where the page's whole content stream
	// waits, deflated, in the same spool when the page has a text layer
	// (Config.OCR); TextLength 0 when it has none.
	TextOff, TextLength int64
	// Wide says the text layer uses /F2 (widefont.go) besides /F1.
	Wide bool
	// OCRErr says why tesseract read nothing of the page ("" when it ran).
	OCRErr string
}

// helveticaFont is the font of the pages' text layers, one object they
// share: a standard Type1 font, nothing embedded (Verify accepts only
// this one).
const helveticaFont = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"

// imageContent is a page's content stream without a text layer, and the
// start of the one with: its image, scaled to the page.
func imageContent(w, h, dpi int) string {
	return fmt.Sprintf("q %s 0 0 %s 0 0 cm /Im0 Do Q\n", points(w, dpi), points(h, dpi))
}

// writePDF writes a PDF 1.4 file (1.5 with /F2) of one page per image, in order: a
// catalog, a page tree, and per page a page, its content stream (one
// "Do" of its image, scaled to the page, then for a page with a text
// layer its invisible words, deflated) and its image; a classic
// cross-reference table; a trailer with /Size and /Root only. Nothing
// else: no information dictionary, no metadata, no action, and no font
// but the standard Helvetica of a text layer and, for words beyond
// WinAnsi, the glyphless Type 0 font of widefont.go, neither embedded. A page's
// MediaBox is its pixel size at dpi, in points (1/72 in). data writes
// page i's encoded image, or with text its deflated content stream.
func writePDF(out io.Writer, pages []pageImage, dpi int, data func(i int, text bool, w io.Writer) error) error {
	w := &countWriter{w: bufio.NewWriterSize(out, 256<<10)}
	n := 2 + 3*len(pages)
	// The text layers' fonts, after the pages: Helvetica, then when a
	// layer needs it /F2's Type 0 font, CID font, descriptor, ToUnicode.
	font, wide := 0, 0
	for _, p := range pages {
		if p.TextLength > 0 && font == 0 {
			n++
			font = n
		}
		if p.Wide && wide == 0 {
			wide = n + 1
			n += 4
		}
	}
	offs := make([]int64, n+1)
	obj := func(num int) { offs[num] = w.n; fmt.Fprintf(w, "%d 0 obj\n", num) }
	// PDF 1.5 for /F2, whose descriptor names its /FontFamily (1.5).
	version := "1.4"
	if wide > 0 {
		version = "1.5"
	}
	io.WriteString(w, "%PDF-"+version+"\n%\xe2\xe3\xcf\xd3\n")
	obj(1)
	io.WriteString(w, "<< /Type /Catalog /Pages 2 0 R >>\nendobj\n")
	obj(2)
	io.WriteString(w, "<< /Type /Pages /Kids [")
	for i := range pages {
		if i > 0 {
			io.WriteString(w, " ")
		}
		fmt.Fprintf(w, "%d 0 R", 3+3*i)
	}
	fmt.Fprintf(w, "] /Count %d >>\nendobj\n", len(pages))
	for i, p := range pages {
		num := 3 + 3*i
		pw, ph := points(p.W, dpi), points(p.H, dpi)
		obj(num)
		fonts := ""
		if p.TextLength > 0 && p.Wide {
			fonts = fmt.Sprintf(" /Font << /F1 %d 0 R /F2 %d 0 R >>", font, wide)
		} else if p.TextLength > 0 {
			fonts = fmt.Sprintf(" /Font << /F1 %d 0 R >>", font)
		}
		fmt.Fprintf(w, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %s %s] /Resources << /XObject << /Im0 %d 0 R >>%s >> /Contents %d 0 R >>\nendobj\n",
			pw, ph, num+2, fonts, num+1)
		obj(num + 1)
		if p.TextLength > 0 {
			fmt.Fprintf(w, "<< /Length %d /Filter /FlateDecode >>\nstream\n", p.TextLength)
			start := w.n
			if err := data(i, true, w); err != nil {
				return err
			}
			if w.n-start != p.TextLength {
				return fmt.Errorf("page %d's text changed length while the PDF was written", i+1)
			}
			io.WriteString(w, "\nendstream\nendobj\n")
		} else {
			content := imageContent(p.W, p.H, dpi)
			fmt.Fprintf(w, "<< /Length %d >>\nstream\n%sendstream\nendobj\n", len(content), content)
		}
		obj(num + 2)
		cs := "/DeviceRGB"
		if p.Gray {
			cs = "/DeviceGray"
		}
		fmt.Fprintf(w, "<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace %s /BitsPerComponent %d /Filter /%s",
			p.W, p.H, cs, p.BPC, p.Filter)
		if p.Filter == "CCITTFaxDecode" {
			fmt.Fprintf(w, " /DecodeParms << /K -1 /Columns %d /Rows %d >>", p.W, p.H)
		}
		fmt.Fprintf(w, " /Length %d >>\nstream\n", p.Length)
		start := w.n
		if err := data(i, false, w); err != nil {
			return err
		}
		if w.n-start != p.Length {
			return fmt.Errorf("page %d's image changed length while the PDF was written", i+1)
		}
		io.WriteString(w, "\nendstream\nendobj\n")
	}
	if font > 0 {
		obj(font)
		io.WriteString(w, helveticaFont+"\nendobj\n")
	}
	if wide > 0 {
		obj(wide)
		fmt.Fprintf(w, wideType0+"\nendobj\n", wide+1, wide+3)
		obj(wide + 1)
		fmt.Fprintf(w, wideCIDFont+"\nendobj\n", wide+2)
		obj(wide + 2)
		io.WriteString(w, wideDescriptor+"\nendobj\n")
		obj(wide + 3)
		fmt.Fprintf(w, "<< /Length %d >>\nstream\n", len(wideToUnicode))
		w.Write(wideToUnicode)
		io.WriteString(w, "\nendstream\nendobj\n")
	}
	xref := w.n
	fmt.Fprintf(w, "xref\n0 %d\n0000000000 65535 f\r\n", n+1)
	for num := 1; num <= n; num++ {
		fmt.Fprintf(w, "%010d 00000 n\r\n", offs[num])
	}
	fmt.Fprintf(w, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", n+1, xref)
	if w.err != nil {
		return w.err
	}
	return w.w.(*bufio.Writer).Flush()
}

// points is a length of px pixels at dpi, in points, with two decimals.
func points(px, dpi int) string {
	return strconv.FormatFloat(float64(px)*72/float64(dpi), 'f', 2, 64)
}

// countWriter counts the bytes written and keeps the first error.
type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}
