package transform

import (
	"bytes"
	"encoding/binary"
	"image"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
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

// A BMP whose second header has a size Microsoft does not list is still
// a picture to viewers that read past what they know: ImageMagick reads
// any size from 40 to 124 (and Chromium's Skia any from 12, Firefox any
// from 16 to 64). Such a file must be judged an image, or the kiosk's
// "the sender transforms images" rule lets it through as it came.
func TestKindOfBMPOddHeaders(t *testing.T) {
	identify, _ := exec.LookPath("identify")
	for _, size := range []uint32{41, 44, 48, 100, 120, 20, 32} {
		b := oddBMP(size)
		if identify != "" && size >= 40 {
			p := filepath.Join(t.TempDir(), "odd.bmp")
			os.WriteFile(p, b, 0o600)
			if out, err := exec.Command(identify, p).CombinedOutput(); err != nil {
				t.Fatalf("header size %d: ImageMagick does not read the test's BMP: %v %s", size, err, out)
			}
		}
		if got := KindOf("odd.bmp", b); got != ActionReencodeImage {
			t.Errorf("a 2×2 BMP with a %d-byte second header: %s, want %s", size, got, ActionReencodeImage)
		}
	}
}

// oddBMP is a 2×2 24-bit BMP whose second header is size bytes: a
// BITMAPINFOHEADER cut short or padded with zeros.
func oddBMP(size uint32) []byte {
	le := binary.LittleEndian
	pix := bytes.Repeat([]byte{0, 0, 0xff, 0, 0, 0xff, 0, 0}, 2)
	info := le.AppendUint32(nil, size)
	info = le.AppendUint32(info, 2)
	info = le.AppendUint32(info, 2)
	info = le.AppendUint16(info, 1)
	info = le.AppendUint16(info, 24)
	info = le.AppendUint32(info, 0)
	info = le.AppendUint32(info, uint32(len(pix)))
	info = append(info, make([]byte, 16)...)
	if int(size) < len(info) {
		info = info[:size]
	} else {
		info = append(info, make([]byte, int(size)-len(info))...)
	}
	off := uint32(14 + len(info))
	b := []byte("BM")
	b = le.AppendUint32(b, off+uint32(len(pix)))
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, off)
	return append(append(b, info...), pix...)
}
