package transform

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// onePagePDF is the form Transform writes, one page of a 16 × 16 JPEG,
// with text spliced in where a forger would: into the catalog, the page,
// the content stream, the image's dictionary, the trailer, or as extra
// objects (numbered from 6).
func onePagePDF(t testing.TB, catalog, page, content, image, trailer string, extra ...string) []byte {
	j := jpegBytes(t, photo(16, 16))
	return pagePDF(catalog, page, content, "/Width 16 /Height 16 /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode "+image, j, trailer, extra...)
}

// pagePDF is onePagePDF with the page's image given: the entries of its
// dictionary but for /Type, /Subtype and /Length, and its data.
func pagePDF(catalog, page, content, image string, data []byte, trailer string, extra ...string) []byte {
	if content == "" {
		content = "q 7.68 0 0 7.68 0 0 cm /Im0 Do Q\n"
	}
	r := newRawPDF()
	r.obj("<< /Type /Catalog /Pages 2 0 R "+catalog+" >>", nil)
	r.obj("<< /Type /Pages /Kids [3 0 R] /Count 1 >>", nil)
	r.obj("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 7.68 7.68] /Resources << /XObject << /Im0 5 0 R >> >> /Contents 4 0 R "+page+" >>", nil)
	r.obj(fmt.Sprintf("<< /Length %d >>", len(content)), []byte(content))
	r.obj(fmt.Sprintf("<< /Type /XObject /Subtype /Image %s /Length %d >>", strings.TrimSpace(image), len(data)), data)
	for _, e := range extra {
		r.obj(e, nil)
	}
	return r.bytes(trailer)
}

// checkVerdict runs Verify on b as a file named name: it must verify if
// want is "", else fail with ErrNotSimple saying want.
func checkVerdict(t *testing.T, name string, b []byte, want string) {
	t.Helper()
	err := Verify(name, bytes.NewReader(b), int64(len(b)))
	if want == "" {
		if err != nil {
			t.Fatalf("the simple form does not verify: %v", err)
		}
		return
	}
	if !errors.Is(err, ErrNotSimple) || !strings.Contains(err.Error(), want) {
		t.Errorf("Verify = %v, want ErrNotSimple saying %q", err, want)
	}
}

// Verify's verdicts on PDFs one splice away from the simple form.
func TestVerifyPDFForgeries(t *testing.T) {
	for _, c := range []struct {
		name                                   string
		catalog, page, content, image, trailer string
		extra                                  []string
		want                                   string // "" = verifies
	}{
		{name: "simple"},
		{name: "open action", catalog: "/OpenAction 6 0 R", extra: []string{"<< /S /JavaScript /JS (app.alert\\(1\\)) >>"}, want: "catalog has /OpenAction"},
		{name: "names", catalog: "/Names << /JavaScript 6 0 R >>", extra: []string{"<< /Names [(a) 7 0 R] >>", "<< /S /JavaScript /JS (1) >>"}, want: "catalog has /Names"},
		{name: "annotation", page: "/Annots [6 0 R]", extra: []string{"<< /Type /Annot /Subtype /Link /Rect [0 0 1 1] /A << /S /URI /URI (https://example.org/) >> >>"}, want: "page has /Annots"},
		{name: "page action", page: "/AA << /O 6 0 R >>", extra: []string{"<< /S /JavaScript /JS (1) >>"}, want: "page has /AA"},
		{name: "text drawn", content: "BT /F1 12 Tf (hidden) Tj ET\n", want: "content does more than draw its image"},
		{name: "two images drawn", content: "q 7.68 0 0 7.68 0 0 cm /Im0 Do Q q 1 0 0 1 0 0 cm /Im0 Do Q\n", want: "content does more than draw its image"},
		{name: "soft mask", image: "/SMask 5 0 R", want: "image has /SMask"},
		{name: "information dictionary", trailer: "/Info 6 0 R", extra: []string{"<< /Producer (x) >>"}, want: `a trailer "<< /Size 7 /Root 1 0 R /Info 6 0 R >>"`},
		{name: "stray embedded file", extra: []string{"<< /Type /EmbeddedFile /Length 0 >>"}, want: "object 6 is not part of any page"},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkVerdict(t, "f.pdf", onePagePDF(t, c.catalog, c.page, c.content, c.image, c.trailer, c.extra...), c.want)
		})
	}
}
