package transform

import (
	"bytes"
	"fmt"
	"unicode"
	"unicode/utf16"
)

// The text layer's second font, /F2, for words WinAnsiEncoding cannot
// encode (Cyrillic, Greek, CJK, Arabic…): a Type 0 font with Identity-H
// (each character a two-byte code, the code its UTF-16 unit in the Basic
// Multilingual Plane), no font program (the layer is invisible, so no
// glyph is ever drawn) and a ToUnicode CMap that maps every code to
// itself, so a search or a copy gets the word back. Every object is fixed
// (the writer writes these bytes; Verify accepts these dictionaries key
// for key and value for value, and this CMap byte for byte); only the
// references between them vary. Tesseract's own PDF output uses the same
// arrangement (its "GlyphLessFont"), with an embedded blank font instead
// of none. ISO 32000-1 9.7 (composite fonts), 9.10.3 (ToUnicode).

// wideFontName is the fonts' /BaseFont and the descriptor's /FontName.
const wideFontName = "GlyphLessFont"

// wideGlyphWidth is every code's advance (/DW), in 1/1000 em: the writer
// stretches each word to its box with Tz from it.
const wideGlyphWidth = 500

// wideType0, wideCIDFont and wideDescriptor are the three dictionaries,
// with %d for the objects they refer to (the CID font and the ToUnicode
// stream; the descriptor).
const (
	wideType0      = "<< /Type /Font /Subtype /Type0 /BaseFont /" + wideFontName + " /Encoding /Identity-H /DescendantFonts [%d 0 R] /ToUnicode %d 0 R >>"
	wideCIDFont    = "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /" + wideFontName + " /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor %d 0 R /DW 500 /CIDToGIDMap /Identity >>"
	wideDescriptor = "<< /Type /FontDescriptor /FontName /" + wideFontName + " /FontFamily (" + wideFontName + ") /Flags 4 /FontBBox [0 0 500 1000] /ItalicAngle 0 /Ascent 1000 /Descent 0 /CapHeight 1000 /StemV 80 >>"
)

// wideToUnicode is the ToUnicode CMap's stream: codes 0000 to FFFF, and
// each code but the surrogates (D800 to DFFF, which the writer never
// uses) mapped to the same UTF-16 unit, in ranges of one high byte each
// (a bfrange may vary only in its last byte), at most 100 to a block.
var wideToUnicode = func() []byte {
	var b bytes.Buffer
	b.WriteString("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n" +
		"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n" +
		"/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n" +
		"1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n")
	var hi []int
	for h := 0; h < 256; h++ {
		if h < 0xd8 || h > 0xdf {
			hi = append(hi, h)
		}
	}
	for len(hi) > 0 {
		n := min(len(hi), 100)
		fmt.Fprintf(&b, "%d beginbfrange\n", n)
		for _, h := range hi[:n] {
			fmt.Fprintf(&b, "<%02X00> <%02XFF> <%02X00>\n", h, h, h)
		}
		b.WriteString("endbfrange\n")
		hi = hi[n:]
	}
	b.WriteString("endcmap\nCMapName currentdict /CIDInit /ProcSet findresource pop end\nend\n")
	return b.Bytes()
}()

// encodeWide encodes text for /F2 after compatibility normalisation: each
// rune its UTF-16 unit, big-endian; a control or format character (a
// bidirectional override, a zero-width joiner: what safetext escapes), a
// surrogate and a rune beyond the Basic Multilingual Plane (which would
// take two codes) become '?'.
func encodeWide(text string) []byte {
	text = normalizeOCR(text)
	out := make([]byte, 0, 2*len(text))
	for _, r := range text {
		if r < 0x20 || r >= 0x7f && r < 0xa0 || r > 0xffff || utf16.IsSurrogate(r) || unicode.Is(unicode.Cf, r) {
			r = '?'
		}
		out = append(out, byte(r>>8), byte(r))
	}
	return out
}

// writePDFHex writes s as a PDF hexadecimal string, upper case, no
// spaces: how the layer shows /F2's codes.
func writePDFHex(b *bytes.Buffer, s []byte) {
	const digits = "0123456789ABCDEF"
	b.WriteByte('<')
	for _, c := range s {
		b.WriteByte(digits[c>>4])
		b.WriteByte(digits[c&15])
	}
	b.WriteByte('>')
}
