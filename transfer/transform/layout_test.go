package transform

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// Verify reads a PDF's bytes as Sluice lays them out before pdfcpu parses
// them: a key pdfcpu's lenient second reading drops (a name it cannot
// decode, then what it skips) but a viewer reads, a broken layout pdfcpu
// repairs, and nesting deep enough to overflow its stack are refused,
// each with what is wrong. Cases from a hostile review of the OCR text
// layer's fonts.
func TestVerifyLayout(t *testing.T) {
	const draw = "q 7.68 0 0 7.68 0 0 cm /Im0 Do Q\n"
	good := onePagePDF(t, "", "", "", "", "")
	for _, c := range []struct {
		name string
		pdf  []byte
		want string
	}{
		{"a font program pdfcpu does not see", textPagePDF(t, wideFonts, helveticaObj, draw+wideWord, false,
			wideWith(2, "/StemV 80", "/X#zz /StemV /FontFile2 5 0 R /StemV 80")...), "object 9: its dictionary holds a key that is not a plain name"},
		{"an /OpenAction pdfcpu does not see", onePagePDF(t, "/X#zz /Type /Catalog << /Type /Catalog >> /OpenAction << /S /URI /URI (http://evil.example/) >>", "", "", "", ""),
			"object 1: its dictionary holds a key that is not a plain name"},
		{"/Annots pdfcpu does not see", onePagePDF(t, "", "/X#zz /Type /Page << /Type /Page >> /Annots [ << /Type /Annot /Subtype /Link /Rect [0 0 7 7] /A << /S /URI /URI (http://evil.example/) >> >> ]", "", "", ""),
			"object 3: its dictionary holds a key that is not a plain name"},
		{"a reference where a key belongs", onePagePDF(t, "5 0 R /OpenAction 6 0 R", "", "", "", ""), "object 1: its dictionary holds a key that is not a plain name"},
		{"deep nesting", onePagePDF(t, "/X "+strings.Repeat("[", 25000)+strings.Repeat("]", 25000), "", "", "", ""), "nests deeper than Sluice writes"},
		{"a reference with a decimal", onePagePDF(t, "/Lang 1.5 0 R", "", "", "", ""), "holds a key that is not a plain name"},
		{"a reference with a sign", onePagePDF(t, "/Lang 5 -1 R", "", "", "", ""), "holds a key that is not a plain name"},
		{"a key twice", onePagePDF(t, "/Pages 2 0 R", "", "", "", ""), "holds /Pages twice"},
		{"a line break in a dictionary", bytes.Replace(good, []byte("/Type /Catalog"), []byte("/Type\n/Catalog"), 1), "object 1: its dictionary"},
		{"a comment in a dictionary", bytes.Replace(good, []byte("/Type /Catalog "), []byte("/Type /Catalog %x\n"), 1), "object 1: its dictionary"},
		{"a string with a raw byte", onePagePDF(t, "/Lang (\x81)", "", "", "", ""), "holds a string that is not plain"},
		{"a stream longer than its /Length", bytes.Replace(good, []byte("<< /Length 33 >>"), []byte("<< /Length 20 >>"), 1), `object 4: "cm /Im0 Do Q\n\nen" where "endstream\nendobj\n" belongs`},
		{"an object out of order", bytes.Replace(good, []byte("2 0 obj"), []byte("7 0 obj"), 1), `object 2: "7 0 obj" where "2 0 obj" belongs`},
		{"an offset that is not the object's", bytes.Replace(good, fmt.Appendf(nil, "%010d 00000 n", bytes.Index(good, []byte("1 0 obj"))), fmt.Appendf(nil, "%010d 00000 n", bytes.Index(good, []byte("1 0 obj"))+1), 1), "cross-reference entry 1"},
		{"bytes after %%EOF", append(append([]byte{}, good...), "1 0 obj\n<< >>\nendobj\n"...), "bytes after %%EOF"},
		{"a second cross-reference section", bytes.Replace(good, []byte("/Root 1 0 R >>"), []byte("/Root 1 0 R /XRefStm 9 >>"), 1), "a trailer"},
		{"an xref stream", bytes.Replace(good, []byte("xref\n0 6"), []byte("xreF\n0 6"), 1), `object 6: "xreF" where "6 0 obj" belongs`},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := Verify("x.pdf", bytes.NewReader(c.pdf), int64(len(c.pdf)))
			if !errors.Is(err, ErrNotSimple) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "not laid out as Sluice writes one") {
				t.Fatalf("Verify = %v\n want ErrNotSimple saying %q", err, c.want)
			}
		})
	}
	if err := Verify("x.pdf", bytes.NewReader(good), int64(len(good))); err != nil {
		t.Fatalf("the simple form: %v", err)
	}
}
