package transform

import (
	"bytes"
	"image"
	"math/rand/v2"
	"testing"

	"golang.org/x/image/bmp"
)

// TestKindOf agrees with Plan wherever Plan has its tools, and needs none.
func TestKindOf(t *testing.T) {
	for _, c := range []struct {
		name string
		head string
		want Action
	}{
		{"a.png", "\x89PNG\r\n\x1a\n....", ActionReencodeImage},
		{"a.pdf", "%PDF-1.7\n", ActionPDFOfImages},
		{"a.docx", "PK\x03\x04....", ActionPDFOfImages},
		{"a.doc", "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", ActionPDFOfImages},
		{"a.docx", "not a zip", ActionHold},
		{"a.txt", "words\n", ActionCleanText},
		{"a.txt", "bin\x00ary", ActionHold},
		{"a.bin", "\x00\x01", ActionHold},
		{"noext", "words", ActionHold},
		{"a.pdf", "junk before the header, as readers accept", ActionPDFOfImages},
		{"a.PDF", "", ActionPDFOfImages},
		{"a.dotx", "PK\x03\x04....", ActionPDFOfImages},
		{"a.PPSX", "PK\x03\x04....", ActionPDFOfImages},
		{"a.xlsb", "PK\x03\x04....", ActionPDFOfImages},
		{"a.pps", "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", ActionPDFOfImages},
	} {
		if got := KindOf(c.name, []byte(c.head)); got != c.want {
			t.Errorf("KindOf(%q, %q) = %s, want %s", c.name, c.head, got, c.want)
		}
	}
}

// Random bytes are not an image: a kiosk receiving 200,000 random files
// held eight as images "not transformed" when "BM" alone made a BMP. A
// real BMP still is one.
func TestKindOfRandomBytes(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	head := make([]byte, 512)
	for i := range 400_000 {
		for j := range head {
			head[j] = byte(r.Uint32())
		}
		if i%4 == 0 {
			copy(head, "BM") // the weakest signature, every time
		}
		if got := KindOf("f.bin", head); got != ActionHold {
			t.Fatalf("random file %d (%x…) taken for %s", i, head[:18], got)
		}
	}
	var b bytes.Buffer
	if err := bmp.Encode(&b, image.NewGray(image.Rect(0, 0, 4, 4))); err != nil {
		t.Fatal(err)
	}
	if got := KindOf("f.bmp", b.Bytes()); got != ActionReencodeImage {
		t.Errorf("a real BMP: %s", got)
	}
}
