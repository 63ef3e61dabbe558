package transform

import (
	"archive/zip"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/draw"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"
	"time"
)

// zipArchive is a small ZIP archive holding one script, as a polyglot
// would carry it.
func zipArchive(t testing.TB) []byte {
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	w, _ := z.Create("run.sh")
	w.Write([]byte("echo pwned\n"))
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pngChunk is a PNG chunk of type typ holding data, with its CRC.
func pngChunk(typ string, data []byte) []byte {
	c := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	c = append(append(c, typ...), data...)
	return binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
}

// insertBeforeIEND puts chunk just before a PNG's IEND chunk.
func insertBeforeIEND(p, chunk []byte) []byte {
	i := len(p) - 12
	return append(append(append([]byte(nil), p[:i]...), chunk...), p[i:]...)
}

// Files in the simple form with another file hidden where the decoders
// never look are not simple (found by a hostile-input review, which
// unzipped and ran a script from each): a PNG with an IDAT chunk after
// its pixel data's end, a truecolour PNG with a palette, a PDF page whose
// deflated image or content stream, or Group 4 image, goes on past its
// end.
func TestVerifyHiddenData(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 16, 16))
	for i := range img.Pix {
		img.Pix[i] = byte(i)
	}
	var pb bytes.Buffer
	if err := png.Encode(&pb, img); err != nil {
		t.Fatal(err)
	}
	plain := pb.Bytes()
	rgb := image.NewRGBA(image.Rect(0, 0, 4, 4))
	var rb bytes.Buffer
	png.Encode(&rb, rgb)

	flatePage := func(tail []byte) []byte {
		var z bytes.Buffer
		zw := zlib.NewWriter(&z)
		zw.Write(img.Pix)
		zw.Close()
		return pagePDF("", "", "", "/Width 16 /Height 16 /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode", append(z.Bytes(), tail...), "")
	}
	faxPage := func(tail []byte) []byte {
		var g4 bytes.Buffer
		g := newG4Writer(&g4, 16)
		for y := 0; y < 16; y++ {
			g.row([]int{y % 8, 8 + y%8})
		}
		g.close()
		return pagePDF("", "", "", "/Width 16 /Height 16 /ColorSpace /DeviceGray /BitsPerComponent 1 /Filter /CCITTFaxDecode /DecodeParms << /K -1 /Columns 16 /Rows 16 >>", append(g4.Bytes(), tail...), "")
	}
	zipped := zipArchive(t)
	// After the header (8 + 25 bytes), as a palette image has it.
	withPalette := append(append(append([]byte(nil), rb.Bytes()[:33]...), pngChunk("PLTE", zipped[:len(zipped)/3*3])...), rb.Bytes()[33:]...)
	for _, c := range []struct {
		name, file string
		b          []byte
		want       string // "" = verifies
	}{
		{"png", "a.png", plain, ""},
		{"png, a ZIP in an IDAT after the pixels", "a.png", insertBeforeIEND(plain, pngChunk("IDAT", zipped)), "goes on after its end"},
		{"png, a palette in a truecolour image", "a.png", withPalette, "palette its colour type does not use"},
		{"png, a chunk between its IDATs", "a.png", insertBeforeIEND(insertBeforeIEND(plain, pngChunk("tRNS", []byte{0, 0})), pngChunk("IDAT", nil)), "after its pixels"},
		{"pdf, deflated image", "a.pdf", flatePage(nil), ""},
		{"pdf, a ZIP after the deflated image", "a.pdf", flatePage(zipped), "goes on after its end"},
		{"pdf, fax image", "a.pdf", faxPage(nil), ""},
		{"pdf, a ZIP after the fax image", "a.pdf", faxPage(zipped), "not coded as Sluice codes those pixels"},
	} {
		t.Run(c.name, func(t *testing.T) { checkVerdict(t, c.file, c.b, c.want) })
	}
}

// A dictionary holding the words that end a PDF's objects is refused by
// the layout check, before pdfcpu, which searched the whole file for
// "xref" at each of them: 1 MiB of such a name took it a second, 4 MiB
// 47 s (a hostile-input review).
func TestVerifyRefusesPDFKeywordsInDictionaries(t *testing.T) {
	name := "/" + strings.Repeat("endobj", 21) + "A"
	page := "/X [0" + strings.Repeat(" "+name, 8000) + "]"
	b := onePagePDF(t, "", page, "", "", "")
	start := time.Now()
	err := Verify("f.pdf", bytes.NewReader(b), int64(len(b)))
	if !errors.Is(err, ErrNotSimple) || !strings.Contains(err.Error(), `holds "endobj"`) {
		t.Errorf("Verify = %v, want ErrNotSimple saying it holds \"endobj\"", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("refusing %d KiB took %s", len(b)>>10, d)
	}
	for _, w := range []string{"stream", "xref", "trailer"} {
		b := onePagePDF(t, "", "/X /A"+w, "", "", "")
		if err := Verify("f.pdf", bytes.NewReader(b), int64(len(b))); !errors.Is(err, ErrNotSimple) || !strings.Contains(err.Error(), w) {
			t.Errorf("/A%s in a page: Verify = %v", w, err)
		}
	}
}

// stuffed is b as it may sit in a JPEG's coded data: each 0xFF followed
// by 0x00.
func stuffed(b []byte) []byte {
	var out []byte
	for _, c := range b {
		out = append(out, c)
		if c == 0xff {
			out = append(out, 0)
		}
	}
	return out
}

// Every JPEG Go's encoder writes (the sender's re-encoding), of any size,
// colour or gray, at any quality, verifies; the same with data slipped in
// after its last block, before its end marker, where Go's decoder does
// not look, or cut short, does not (found by a hostile-input review,
// which hid a ZIP archive there), as a .jpg or as a PDF's page.
func TestVerifyJPEGScan(t *testing.T) {
	for _, size := range [][2]int{{1, 1}, {7, 13}, {16, 16}, {33, 17}, {640, 480}} {
		for _, q := range []int{1, 50, 85, 100} {
			for _, gray := range []bool{false, true} {
				var img image.Image = photo(size[0], size[1])
				if gray {
					g := image.NewGray(img.Bounds())
					draw.Draw(g, g.Bounds(), img, image.Point{}, draw.Src)
					img = g
				}
				var b bytes.Buffer
				if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: q}); err != nil {
					t.Fatal(err)
				}
				j := b.Bytes()
				name := fmt.Sprintf("%dx%d q%d gray=%v", size[0], size[1], q, gray)
				if err := Verify("a.jpg", bytes.NewReader(j), int64(len(j))); err != nil {
					t.Errorf("%s: Go's own JPEG does not verify: %v", name, err)
				}
				hidden := append(append(append([]byte(nil), j[:len(j)-2]...), stuffed(zipArchive(t))...), 0xff, 0xd9)
				if err := Verify("a.jpg", bytes.NewReader(hidden), int64(len(hidden))); !errors.Is(err, ErrNotSimple) || !strings.Contains(err.Error(), "data after its last block") {
					t.Errorf("%s with a ZIP before its end: Verify = %v", name, err)
				}
				short := append(append([]byte(nil), j[:len(j)-6]...), 0xff, 0xd9)
				if err := Verify("a.jpg", bytes.NewReader(short), int64(len(short))); !errors.Is(err, ErrNotSimple) {
					t.Errorf("%s cut short: Verify = %v", name, err)
				}
			}
		}
	}
	// In a PDF: onePagePDF's image is a JPEG of Go's.
	j := jpegBytes(t, photo(16, 16))
	hidden := append(append(append([]byte(nil), j[:len(j)-2]...), stuffed(zipArchive(t))...), 0xff, 0xd9)
	p := pagePDF("", "", "", "/Width 16 /Height 16 /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode", hidden, "")
	if err := Verify("a.pdf", bytes.NewReader(p), int64(len(p))); !errors.Is(err, ErrNotSimple) || !strings.Contains(err.Error(), "data after its last block") {
		t.Errorf("a PDF page's JPEG with a ZIP before its end: Verify = %v", err)
	}
}
