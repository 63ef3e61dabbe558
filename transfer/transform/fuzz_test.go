package transform

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"sluice/transfer/inspect"
)

// verifyKinds are the names FuzzVerify's first byte chooses among.
var verifyKinds = []string{"f.pdf", "f.png", "f.jpg", "f.txt"}

// smallPDF is a rebuilt PDF of three small pages, a text one (Group 4),
// one in colour (Flate) and a photographic one (JPEG), as Transform
// writes them, made without a renderer.
func smallPDF(t testing.TB) []byte { return smallPDFText(t, "") }

// smallPDFText is smallPDF whose first page has a text layer (as OCR
// writes it) with mode as its render mode ("3 Tr", or a forgery's), when
// mode is not "".
func smallPDFText(t testing.TB, mode string) []byte {
	var spool bytes.Buffer
	var pages []pageImage
	text := bytes.Repeat([]byte{0xff}, 64*48*3)
	for i := 64 * 3 * 10; i < 64*3*12; i++ {
		text[i] = 0 // a black line
	}
	red := bytes.Repeat([]byte{0xff}, 64*48*3)
	for i := 64 * 3 * 20; i < 64*3*22; i += 3 {
		red[i+1], red[i+2] = 0, 0 // a red line: text in colour
	}
	for _, rgb := range [][]byte{text, red, photo(64, 48).Pix} {
		if len(rgb) == 64*48*4 { // RGBA → RGB
			out := make([]byte, 0, 64*48*3)
			for i := 0; i < len(rgb); i += 4 {
				out = append(out, rgb[i:i+3]...)
			}
			rgb = out
		}
		start := spool.Len()
		p, err := encodePage(rgb, 64, 48, 3, &spool)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"text", "text-colour", "photo"}[len(pages)]; p.Kind != want {
			t.Fatalf("page %d encoded as %s, want %s", len(pages)+1, p.Kind, want)
		}
		p.Off, p.Length = int64(start), int64(spool.Len()-start)
		if mode != "" && len(pages) == 0 {
			layer, wide := textLayer([]ocrWord{{text: "Hello", left: 4, w: 20, lineTop: 8, lineH: 10}, {text: "(world)", left: 28, w: 30, lineTop: 8, lineH: 10},
				{text: "Москва", left: 4, w: 30, lineTop: 20, lineH: 10}}, 48, 150)
			p.Wide = wide
			layer = bytes.Replace(layer, []byte("3 Tr"), []byte(mode), 1)
			start := spool.Len()
			z := zlib.NewWriter(&spool)
			z.Write([]byte(imageContent(64, 48, 150)))
			z.Write(layer)
			z.Close()
			p.TextOff, p.TextLength = int64(start), int64(spool.Len()-start)
		}
		pages = append(pages, p)
	}
	var b bytes.Buffer
	err := writePDF(&b, pages, 150, func(i int, text bool, w io.Writer) error {
		off, n := pages[i].Off, pages[i].Length
		if text {
			off, n = pages[i].TextOff, pages[i].TextLength
		}
		_, err := w.Write(spool.Bytes()[off : off+n])
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func fuzzSeeds(t testing.TB) [][]byte {
	var jpg bytes.Buffer
	j := jpegBytes(t, photo(16, 16))
	jpg.Write(j)
	return [][]byte{
		append([]byte{0}, smallPDF(t)...),
		append([]byte{0}, textPDF(1, "/OpenAction << /S /JavaScript /JS (1) >>", "")...),
		append([]byte{1}, pngBytes(t, photo(16, 16))...),
		append([]byte{2}, jpg.Bytes()...),
		append([]byte{3}, "a line\r\nanother\tline\n"...),
		// A page with OCR's invisible text layer, and one whose text
		// is visible (render mode 0).
		append([]byte{0}, smallPDFText(t, "3 Tr")...),
		append([]byte{0}, smallPDFText(t, "0 Tr")...),
		// Text a sender left an override and a tag character in.
		append([]byte{3}, "x = 1 /* \u202e } \u2066 */\U000E0041\n"...),
	}
}

// The writer's output verifies, and the seeds that are originals do not.
func TestVerifySeeds(t *testing.T) {
	want := []bool{true, false, true, true, true, true, false, false}
	for i, s := range fuzzSeeds(t) {
		err := Verify(verifyKinds[s[0]], bytes.NewReader(s[1:]), int64(len(s)-1))
		if (err == nil) != want[i] {
			t.Errorf("seed %d: Verify = %v, want ok=%v", i, err, want[i])
		}
	}
}

// FuzzVerify feeds Verify untrusted bytes as each kind of file. It must
// not panic or hang; what it accepts as a PDF must have no active content
// for the kiosk's own PDF check (transfer/inspect), and what it accepts
// as text must be what cleaning it would leave.
func FuzzVerify(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 {
			return
		}
		name, data := verifyKinds[int(b[0])%len(verifyKinds)], b[1:]
		if err := Verify(name, bytes.NewReader(data), int64(len(data))); err != nil {
			return
		}
		switch filepath.Ext(name) {
		case ".pdf":
			if fs := inspect.CheckPDF(bytes.NewReader(data), int64(len(data))); len(fs) > 0 {
				t.Fatalf("Verify accepts a PDF the kiosk's check finds %+v in", fs)
			}
		case ".txt":
			var out bytes.Buffer
			if _, err := cleanText(bytes.NewReader(data), &out); err != nil || !bytes.Equal(out.Bytes(), data) {
				t.Fatalf("Verify accepts text that cleaning changes (%v)", err)
			}
		}
	})
}

// TestWriteFuzzCorpus writes the seeds into testdata/fuzz. Run with
// SLUICE_WRITE_CORPUS=1 after changing them.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("SLUICE_WRITE_CORPUS") == "" {
		t.Skip("set SLUICE_WRITE_CORPUS=1 to rewrite testdata/fuzz seeds")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzVerify")
	os.MkdirAll(dir, 0o755)
	for i, s := range fuzzSeeds(t) {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(s)))
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
