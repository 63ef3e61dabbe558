package transform

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// helveticaObj is the text layer's font object as the writer writes it.
const helveticaObj = helveticaFont

// textPagePDF is onePagePDF's page with a text layer: resources naming
// the font object 6 (font, or fonts in place of the whole /Font entry),
// a content stream (deflated unless raw), and extra objects numbered
// from 7 (each a body, streams written in full by the caller).
func textPagePDF(t testing.TB, fonts, font, content string, raw bool, extra ...string) []byte {
	j := jpegBytes(t, photo(16, 16))
	if fonts == "" {
		fonts = "/Font << /F1 6 0 R >>"
	}
	var stream bytes.Buffer
	filter := " /Filter /FlateDecode"
	if raw {
		stream.WriteString(content)
		filter = ""
	} else {
		z := zlib.NewWriter(&stream)
		z.Write([]byte(content))
		z.Close()
	}
	r := newRawPDF()
	r.obj("<< /Type /Catalog /Pages 2 0 R >>", nil)
	r.obj("<< /Type /Pages /Kids [3 0 R] /Count 1 >>", nil)
	r.obj("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 7.68 7.68] /Resources << /XObject << /Im0 5 0 R >> "+fonts+" >> /Contents 4 0 R >>", nil)
	r.obj(fmt.Sprintf("<< /Length %d%s >>", stream.Len(), filter), stream.Bytes())
	r.obj(fmt.Sprintf("<< /Type /XObject /Subtype /Image /Width 16 /Height 16 /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode /Length %d >>", len(j)), j)
	r.obj(font, nil)
	for _, e := range extra {
		r.obj(e, nil)
	}
	return r.bytes("")
}

// wide is /F2's objects as the writer writes them, numbered from 7 (the
// Type 0 font, its CID font, the descriptor, the ToUnicode stream), for
// textPagePDF's extra; wideFonts the resources naming both fonts, and
// wideWord a text object showing a word in /F2.
var (
	wide = []string{fmt.Sprintf(wideType0, 8, 10), fmt.Sprintf(wideCIDFont, 9), wideDescriptor,
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(wideToUnicode), wideToUnicode)}
	wideFonts = "/Font << /F1 6 0 R /F2 7 0 R >>"
	wideWord  = "BT 3 Tr /F2 7.2 Tf 1 0 0 1 0 0 Tm <041C043E0441043A04320430> Tj ET\n"
)

// wideWith is wide with object i's first from replaced by to, and more
// objects after.
func wideWith(i int, from, to string, more ...string) []string {
	w := slices.Clone(wide)
	w[i] = strings.Replace(w[i], from, to, 1)
	if w[i] == wide[i] {
		panic("wideWith: " + from + " not in object")
	}
	if i == 3 { // the stream's length follows its content
		body := w[i][strings.Index(w[i], "stream\n")+7 : strings.LastIndex(w[i], "\nendstream")]
		head := w[i][:strings.Index(w[i], ">>")]
		head = head[:strings.LastIndex(head, "/Length")]
		w[i] = fmt.Sprintf("%s/Length %d >>\nstream\n%s\nendstream", head, len(body), body)
	}
	return append(w, more...)
}

// Verify's verdicts on pages whose text layer is one step away from the
// invisible one OCR writes.
func TestVerifyTextLayerForgeries(t *testing.T) {
	const draw = "q 7.68 0 0 7.68 0 0 cm /Im0 Do Q\n"
	const good = "BT\n3 Tr\n/F1 7.2 Tf\n95.5 Tz 1 0 0 1 0.48 1.2 Tm (Hello) Tj\n0 -8 Td [(wor) -20 (ld)] TJ\nET\n"
	fontFile := "<< /Length 3 /Length1 3 /Length2 0 /Length3 0 >>\nstream\nabc\nendstream"
	for _, c := range []struct {
		name, fonts, font, content string
		raw                        bool
		extra                      []string
		want                       string // "" = verifies
	}{
		{name: "invisible text", content: draw + good},
		{name: "two text objects", content: draw + good + "BT /F1 3 Tf 0 0 Td (x) Tj ET\n"},
		{name: "visible text", content: draw + strings.Replace(good, "3 Tr", "0 Tr", 1), want: "render mode 0, which is visible"},
		{name: "no render mode", content: draw + "BT /F1 7.2 Tf (Hello) Tj ET\n", want: "render mode 0, which is visible"},
		{name: "visible after invisible", content: draw + good + "BT 2 Tr /F1 3 Tf (x) Tj ET\n", want: "render mode 2, which is visible"},
		{name: "text outside BT/ET", content: draw + "BT 3 Tr /F1 7 Tf ET (Hello) Tj\n", want: "text shown outside BT/ET"},
		{name: "Tm outside BT/ET", content: draw + "1 0 0 1 0 0 Tm\n", want: "Tm outside BT/ET"},
		{name: "BT without ET", content: draw + "BT 3 Tr /F1 7 Tf (Hello) Tj\n", want: "BT without ET"},
		{name: "extra operator", content: draw + "BT 3 Tr /F1 7 Tf (Hello) Tj ET 0 0 5 5 re f\n", want: `the operator "re"`},
		{name: "colour operator", content: draw + "BT 3 Tr 1 0 0 rg /F1 7 Tf (Hello) Tj ET\n", want: `the operator "rg"`},
		{name: "image drawn again", content: draw + good + "q 1 0 0 1 0 0 cm /Im0 Do Q\n", want: `the operator "q"`},
		{name: "text before the image", content: good + draw, want: "content does more than draw its image"},
		{name: "hex string of odd codes", content: draw + "BT 3 Tr /F1 7 Tf <48656c6c6f> Tj ET\n", want: `a hexadecimal string "<48656c6c6f>`},
		{name: "hex string in /F1", content: draw + "BT 3 Tr /F1 7 Tf <00480065> Tj ET\n", want: "as a hexadecimal string in the font /F1"},
		{name: "dictionary operand", content: draw + "BT 3 Tr /F1 7 Tf << /A 1 >> Tj ET\n", want: `a dictionary "<<`},
		{name: "comment", content: draw + "% hidden\n" + good, want: `unexpected "% hidden`},
		{name: "unescaped line break in a string", content: draw + "BT 3 Tr /F1 7 Tf (a\nb) Tj ET\n", want: "byte 0x0a unescaped"},
		{name: "other font name", content: draw + "BT 3 Tr /F2 7 Tf (x) Tj ET\n", want: "the font /F2, not the page's /F1"},
		{name: "show without a font", content: draw + "BT 3 Tr (x) Tj ET\n", want: "before a font is set"},
		{name: "Tj with two strings", content: draw + "BT 3 Tr /F1 7 Tf (a) (b) Tj ET\n", want: "Tj with unexpected operands"},
		{name: "not deflated", content: draw + good, raw: true, want: "not deflated"},
		{name: "image-only stream with a font", content: draw},
		{name: "embedded font", font: "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding /FirstChar 32 /LastChar 32 /Widths [278] /FontDescriptor 7 0 R >>",
			extra:   []string{"<< /Type /FontDescriptor /FontName /Helvetica /Flags 32 /FontBBox [0 0 1000 1000] /ItalicAngle 0 /Ascent 718 /Descent -207 /CapHeight 718 /StemV 88 /FontFile 8 0 R >>", fontFile},
			content: draw + good, want: "a font with /FontDescriptor (an embedded or custom font)"},
		{name: "Type3 font", font: "<< /Type /Font /Subtype /Type3 /FontBBox [0 0 1 1] /FontMatrix [0.001 0 0 0.001 0 0] /CharProcs 7 0 R /Encoding << /Type /Encoding /Differences [72 /H] >> /FirstChar 72 /LastChar 72 /Widths [500] >>",
			extra:   []string{"<< /H 8 0 R >>", "<< /Length 9 >>\nstream\n500 0 d0\n\nendstream"},
			content: draw + good, want: "a font of subtype Type3"},
		{name: "TrueType Helvetica", font: "<< /Type /Font /Subtype /TrueType /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>", content: draw + good, want: "a font of subtype TrueType"},
		{name: "other base font", font: "<< /Type /Font /Subtype /Type1 /BaseFont /Courier /Encoding /WinAnsiEncoding >>", content: draw + good, want: "other than the standard Type1 Helvetica"},
		{name: "font with widths", font: "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding /FirstChar 32 /LastChar 32 /Widths [278] >>", content: draw + good, want: "the font has /"},
		{name: "font with a ToUnicode map", font: "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding /ToUnicode 7 0 R >>",
			extra: []string{"<< /Length 3 >>\nstream\nabc\nendstream"}, content: draw + good, want: "a font with /ToUnicode"},
		{name: "Helvetica as /F2", fonts: "/Font << /F1 6 0 R /F2 6 0 R >>", content: draw + good, want: "other than the one of the text layer's glyphless font"},
		{name: "three fonts", fonts: "/Font << /F1 6 0 R /F2 7 0 R /F3 6 0 R >>", extra: wide, content: draw + good, want: "fonts other than exactly /F1, or /F1 and /F2"},
		{name: "/F2 alone", fonts: "/Font << /F2 7 0 R >>", extra: wide, content: draw + good, want: "fonts other than exactly /F1, or /F1 and /F2"},
		{name: "wide words", fonts: wideFonts, extra: wide, content: draw + good + wideWord},
		{name: "wide words, /F2 undeclared", extra: wide[:0], content: draw + good + wideWord, want: "the font /F2, not the page's /F1"},
		{name: "wide words as a literal", fonts: wideFonts, extra: wide, content: draw + "BT 3 Tr /F2 7 Tf (Hello) Tj ET\n", want: "as a literal string in the font /F2"},
		{name: "wide words with TJ", fonts: wideFonts, extra: wide, content: draw + "BT 3 Tr /F2 7 Tf [(Hello)] TJ ET\n", want: "in /F2 with TJ"},
		{name: "wide words visible", fonts: wideFonts, extra: wide, content: draw + "BT 0 Tr /F2 7 Tf <041C> Tj ET\n", want: "render mode 0, which is visible"},
		{name: "wide font vertical", fonts: wideFonts, extra: wideWith(0, "/Identity-H", "/Identity-V"), content: draw + good, want: "a wide font (/F2) other than"},
		{name: "wide font with widths", fonts: wideFonts, extra: wideWith(1, "/DW 500", "/DW 500 /W [0 [1000]]"), content: draw + good, want: "a wide font's CID font (/F2) other than"},
		{name: "wide font embedded", fonts: wideFonts, extra: wideWith(2, "/StemV 80", "/StemV 80 /FontFile2 11 0 R", fontFile), content: draw + good, want: "a wide font's descriptor (/F2) other than"},
		{name: "wide font CFF", fonts: wideFonts, extra: wideWith(1, "CIDFontType2", "CIDFontType0"), content: draw + good, want: "a wide font's CID font (/F2) other than"},
		{name: "ToUnicode remapped", fonts: wideFonts, extra: wideWith(3, "<4100> <41FF> <4100>", "<4100> <41FF> <0000>"), content: draw + good, want: "ToUnicode of /F2 other than the identity map"},
		{name: "ToUnicode filtered", fonts: wideFonts, extra: wideWith(3, "<< /Length", "<< /Filter /ASCIIHexDecode /Length"), content: draw + good, want: "ToUnicode of /F2 has /Filter"},
		{name: "font written in the page", fonts: "/Font << /F1 " + helveticaObj + " >>", content: draw + good, want: "not a separate object"},
		{name: "extra resource", fonts: "/Font << /F1 6 0 R >> /ExtGState << /G0 << /CA 1 >> >>", content: draw + good, want: "resources has /ExtGState"},
		{name: "inflation bomb", content: draw + "BT ET" + strings.Repeat(" ", maxContent), want: "more than 8 MiB"},
	} {
		t.Run(c.name, func(t *testing.T) {
			font := c.font
			if font == "" {
				font = helveticaObj
			}
			checkVerdict(t, "f.pdf", textPagePDF(t, c.fonts, font, c.content, c.raw, c.extra...), c.want)
		})
	}
}
