package transform

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/api"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"

	"sluice/internal/pdfcheck/pdftest"
)

// activeTokens must not appear anywhere in a rebuilt PDF.
var activeTokens = []string{"/JavaScript", "/JS", "/OpenAction", "/AA", "/URI", "/Launch", "/EmbeddedFile", "/Names",
	"/AcroForm", "/Annots", "/Metadata", "/Info", "/Font", "/XFA", "/RichMedia", "/Encrypt"}

// checkClean checks an output beyond Verify: no active token in a PDF,
// no metadata marker or foreign tail in an image, and that pdfcpu
// validates a PDF strictly.
func checkClean(t *testing.T, res *Result) {
	t.Helper()
	b, err := os.ReadFile(res.Output)
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(filepath.Base(res.Output), bytes.NewReader(b), int64(len(b))); err != nil {
		t.Fatalf("the output does not verify: %v", err)
	}
	switch filepath.Ext(res.Output) {
	case ".pdf":
		for _, tok := range activeTokens {
			if tok == "/Font" && res.TextPages > 0 {
				continue // the text layer's Helvetica; Verify checked it is only that
			}
			if bytes.Contains(b, []byte(tok)) {
				t.Errorf("the rebuilt PDF holds %s", tok)
			}
		}
		conf := model.NewDefaultConfiguration()
		conf.ValidationMode = model.ValidationStrict
		if err := api.Validate(bytes.NewReader(b), conf); err != nil {
			t.Errorf("pdfcpu's strict validation fails: %v", err)
		}
	default:
		for _, tok := range []string{"Exif", "GPS", "PK\x03\x04", "tEXt", "iTXt", "XMP", "ICC_PROFILE"} {
			if bytes.Contains(b, []byte(tok)) {
				t.Errorf("the image holds %q", tok)
			}
		}
	}
}

// run transforms one file from a fresh folder into a fresh folder.
func run(t *testing.T, tr *Transformer, name string, b []byte) (*Result, string, error) {
	t.Helper()
	in, out := t.TempDir(), t.TempDir()
	res, err := tr.Transform(context.Background(), write(t, in, name, b), out)
	return res, out, err
}

// mustFail checks that a transformation failed, saying want, and left
// nothing behind.
func mustFail(t *testing.T, err error, out, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("transformed; want an error saying %q", want)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
	if left := listDir(t, out); len(left) != 0 {
		t.Errorf("a failed transformation left %v in the output folder", left)
	}
}

func TestHostilePDFs(t *testing.T) {
	tr := newT(t, Config{})
	need(t, tr, "mutool")
	link := "<< /Type /Annot /Subtype /Link /Rect [0 0 300 300] /A << /S /URI /URI (https://example.org/\x1b[31mred\xe2\x80\xae) >> >>"
	cases := []struct {
		name     string
		pdf      []byte
		links    int
		contains string // in the sidecar
	}{
		{"js-openaction.pdf", textPDF(2, "/OpenAction 1000 0 R /Names << /JavaScript << /Names [(x) 1000 0 R] >> >> /AA << /WC 1000 0 R >>",
			"/Annots [1001 0 R] /AA << /O 1000 0 R >>",
			"<< /S /JavaScript /JS (app.alert\\(1\\)) >>", link), 1, `page 1: https://example.org/\x1b[31mred\u202e`},
		{"embedded.pdf", textPDF(1, "/Names << /EmbeddedFiles << /Names [(evil.exe) 1000 0 R] >> >>", "",
			"<< /Type /Filespec /F (evil.exe) /EF << /F 1001 0 R >> >>", "<< /Type /EmbeddedFile /Length 5 >>\nstream\nMZxyz\nendstream"), 0, ""},
		{"launch.pdf", textPDF(1, "/OpenAction << /S /Launch /F (cmd.exe) >>", "", ""), 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := Verify(c.name, bytes.NewReader(c.pdf), int64(len(c.pdf))); !errors.Is(err, ErrNotSimple) {
				t.Errorf("Verify passes the original: %v", err)
			}
			res, _, err := run(t, tr, c.name, c.pdf)
			if err != nil {
				t.Fatal(err)
			}
			checkClean(t, res)
			// The same verdicts from a worker, as a kiosk would ask.
			if err := tr.VerifyFile(context.Background(), res.Output); err != nil {
				t.Errorf("VerifyFile on the output: %v", err)
			}
			orig := write(t, t.TempDir(), c.name, c.pdf)
			if err := tr.VerifyFile(context.Background(), orig); !errors.Is(err, ErrNotSimple) {
				t.Errorf("VerifyFile on the original: %v, want ErrNotSimple", err)
			}
			if res.Links != c.links {
				t.Errorf("%d links, want %d", res.Links, c.links)
			}
			if c.links > 0 {
				side, _ := os.ReadFile(res.Sidecar)
				if !strings.Contains(string(side), c.contains) {
					t.Errorf("the sidecar says\n%s\nnot %q", side, c.contains)
				}
				if err := Verify(res.Sidecar, bytes.NewReader(side), int64(len(side))); err != nil {
					t.Errorf("the sidecar does not verify: %v", err)
				}
			}
		})
	}
}

func TestEncryptedPDF(t *testing.T) {
	tr := newT(t, Config{})
	need(t, tr, "mutool")
	dir := t.TempDir()
	plain := write(t, dir, "plain.pdf", textPDF(1, "", ""))
	for _, c := range []struct {
		name, user string
		ok         bool
	}{{"user-password.pdf", "secret", false}, {"owner-only.pdf", "", true}} {
		t.Run(c.name, func(t *testing.T) {
			enc := filepath.Join(dir, c.name)
			if err := api.EncryptFile(plain, enc, model.NewAESConfiguration(c.user, "owner", 256)); err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(enc)
			res, out, err := run(t, tr, c.name, b)
			if !c.ok {
				mustFail(t, err, out, "encrypted with a password")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkClean(t, res)
		})
	}
}

// A 50-page text document: every page rebuilt, in order, as bilevel
// text; a scanned one as JPEG; the sizes logged against the originals.
func TestDocumentSizes(t *testing.T) {
	tr := newT(t, Config{})
	need(t, tr, "mutool")
	for _, c := range []struct {
		name  string
		pdf   []byte
		pages int
		kind  string
	}{{"text50.pdf", textPDF(50, "", ""), 50, "text"}, {"scan4.pdf", scanPDF(t, 4), 4, "photo"}} {
		t.Run(c.name, func(t *testing.T) {
			res, _, err := run(t, tr, c.name, c.pdf)
			if err != nil {
				t.Fatal(err)
			}
			checkClean(t, res)
			if res.Pages != c.pages {
				t.Errorf("%d pages, want %d", res.Pages, c.pages)
			}
			photo := strings.Contains(strings.Join(res.Notes, ";"), "photographic")
			if photo != (c.kind == "photo") {
				t.Errorf("notes %q: want %s pages", res.Notes, c.kind)
			}
			t.Logf("%s: %d → %d bytes (%.2f×) in %s, %.1f pages/s", c.name, res.OriginalSize, res.OutputSize,
				float64(res.OutputSize)/float64(res.OriginalSize), res.Duration.Round(time.Millisecond), float64(res.Pages)/res.Duration.Seconds())
		})
	}
}

func TestImages(t *testing.T) {
	tr := newT(t, Config{})
	pic := photo(320, 240)
	var gifBuf bytes.Buffer
	gif.Encode(&gifBuf, pic, nil)
	lossless, _ := os.ReadFile("testdata/blue-purple-pink.lossless.webp")
	lossy, _ := os.ReadFile("testdata/blue-purple-pink.lossy.webp")
	for _, c := range []struct {
		name, out string
		b         []byte
	}{
		{"zip-tail.png", "zip-tail.png", append(pngBytes(t, pic), []byte("PK\x03\x04 a ZIP archive appended to the image")...)},
		{"gps.jpeg", "gps.jpeg", withEXIFGPS(jpegBytes(t, pic))},
		{"animated.gif", "animated.png", gifBuf.Bytes()},
		{"lossless.webp", "lossless.png", lossless},
		{"lossy.webp", "lossy.jpg", lossy},
		{"misnamed.png", "misnamed.jpg", jpegBytes(t, pic)},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := Verify(c.name, bytes.NewReader(c.b), int64(len(c.b))); err == nil && !strings.HasSuffix(c.name, ".gif") && !strings.HasSuffix(c.name, ".webp") {
				t.Errorf("Verify passes the original")
			}
			res, _, err := run(t, tr, c.name, c.b)
			if err != nil {
				t.Fatal(err)
			}
			if filepath.Base(res.Output) != c.out {
				t.Errorf("output %s, want %s", filepath.Base(res.Output), c.out)
			}
			checkClean(t, res)
		})
	}
}

// A phone's portrait photo, stored on its side with EXIF orientation 6
// (turn 90° clockwise), arrives upright: its left half (red) on top.
func TestEXIFOrientation(t *testing.T) {
	tr := newT(t, Config{})
	src := image.NewRGBA(image.Rect(0, 0, 80, 40))
	for y := range 40 {
		for x := range 80 {
			c := color.RGBA{220, 20, 20, 255}
			if x >= 40 {
				c = color.RGBA{20, 20, 220, 255}
			}
			src.SetRGBA(x, y, c)
		}
	}
	for o, want := range map[int][2]int{1: {80, 40}, 3: {80, 40}, 6: {40, 80}, 8: {40, 80}} {
		res, _, err := run(t, tr, fmt.Sprintf("IMG_%d.jpg", o), withOrientation(jpegBytes(t, src), o))
		if err != nil {
			t.Fatal(err)
		}
		checkClean(t, res)
		f, _ := os.Open(res.Output)
		img, err := jpeg.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if b := img.Bounds(); b.Dx() != want[0] || b.Dy() != want[1] {
			t.Errorf("orientation %d: %v, want %d × %d", o, b, want[0], want[1])
		}
		red := func(x, y int) bool { r, _, b, _ := img.At(x, y).RGBA(); return r > b }
		switch o {
		case 1:
			if !red(5, 20) || red(75, 20) {
				t.Errorf("orientation 1 changed the picture")
			}
		case 3: // turned 180°: red on the right
			if red(5, 20) || !red(75, 20) {
				t.Errorf("orientation 3 not turned")
			}
		case 6: // turned clockwise: the left (red) goes to the top
			if !red(20, 5) || red(20, 75) {
				t.Errorf("orientation 6 not turned clockwise")
			}
		case 8: // anticlockwise: the left goes to the bottom
			if red(20, 5) || !red(20, 75) {
				t.Errorf("orientation 8 not turned anticlockwise")
			}
		}
	}
}

func TestDecompressionBomb(t *testing.T) {
	tr := newT(t, Config{})
	bomb := bombPNG(t, 100000, 100000)
	if _, err := png.DecodeConfig(bytes.NewReader(bomb)); err != nil {
		t.Fatalf("the bomb's header does not parse: %v", err)
	}
	_, out, err := run(t, tr, "bomb.png", bomb)
	mustFail(t, err, out, "decompression bomb")
}

func TestOffice(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: LibreOffice takes seconds per document")
	}
	tr := newT(t, Config{})
	need(t, tr, "soffice", "mutool")
	t.Run("docx-with-macro", func(t *testing.T) {
		res, _, err := run(t, tr, "report.docx", docxWithMacro(t))
		if err != nil {
			t.Fatal(err)
		}
		checkClean(t, res)
		if filepath.Base(res.Output) != "report.pdf" || res.Tool != "soffice" {
			t.Errorf("output %s by %s", res.Output, res.Tool)
		}
		b, _ := os.ReadFile(res.Output)
		for _, tok := range []string{"vbaProject", "AutoOpen", "calc.exe"} {
			if bytes.Contains(b, []byte(tok)) {
				t.Errorf("the PDF holds %q", tok)
			}
		}
		side, _ := os.ReadFile(res.Sidecar)
		if res.Links != 1 || !strings.Contains(string(side), "page 1: https://example.org/report\n") || filepath.Base(res.Sidecar) != "report.links.txt" {
			t.Errorf("%d links in %s: %q", res.Links, res.Sidecar, side)
		}
		t.Logf("%+v", res)
	})
	t.Run("odt-with-link-and-macro", func(t *testing.T) {
		res, _, err := run(t, tr, "minutes.odt", odtWithLink(t))
		if err != nil {
			t.Fatal(err)
		}
		checkClean(t, res)
		if res.Links != 1 {
			t.Fatalf("%d links listed, want the document's 1", res.Links)
		}
		side, _ := os.ReadFile(res.Sidecar)
		if !strings.Contains(string(side), "page 1: https://example.org/minutes\n") || filepath.Base(res.Sidecar) != "minutes.links.txt" {
			t.Errorf("%s says %q", res.Sidecar, side)
		}
	})
	t.Run("xlsx", func(t *testing.T) {
		res, _, err := run(t, tr, "figures.xlsx", xlsx(t, 200))
		if err != nil {
			t.Fatal(err)
		}
		checkClean(t, res)
		t.Logf("%s: %d pages in %s", res.Output, res.Pages, res.Duration.Round(time.Millisecond))
	})
	t.Run("not-office", func(t *testing.T) {
		_, out, err := run(t, tr, "fake.docx", []byte("MZ\x90\x00 a program named as a document"))
		mustFail(t, err, out, "not an office document")
		if !errors.Is(err, ErrUnsupported) {
			t.Errorf("%v does not wrap ErrUnsupported", err)
		}
	})
}

// With mutool switched off, pdftoppm renders; the links are listed all
// the same.
func TestPdftoppmFallback(t *testing.T) {
	tr := newT(t, Config{Tools: map[string]string{"mutool": ""}})
	need(t, tr, "pdftoppm")
	link := "<< /Type /Annot /Subtype /Link /Rect [0 0 300 300] /A << /S /URI /URI (https://example.org/p) >> >>"
	res, _, err := run(t, tr, "doc.pdf", textPDF(3, "", "/Annots [1000 0 R]", link))
	if err != nil {
		t.Fatal(err)
	}
	checkClean(t, res)
	if res.Tool != "pdftoppm" || res.Pages != 3 || res.Links != 1 || res.SidecarSize == 0 {
		t.Errorf("%+v", res)
	}
}

// A renderer that crashes, or hangs, on a malformed PDF: the
// transformation fails in time and leaves nothing.
func TestRendererFailures(t *testing.T) {
	dir := t.TempDir()
	crash := write(t, dir, "crash.sh", []byte("#!/bin/sh\n[ \"$1\" = -v ] && exec echo mutool version 0.0\necho 'error: cannot draw page 1' >&2\nkill -SEGV $$\n"))
	hang := write(t, dir, "hang.sh", []byte("#!/bin/sh\n[ \"$1\" = -v ] && exec echo mutool version 0.0\nexec sleep 60\n"))
	os.Chmod(crash, 0o755)
	os.Chmod(hang, 0o755)
	pdf := textPDF(1, "", "")
	t.Run("crash", func(t *testing.T) {
		tr := newT(t, Config{NoSandbox: true, Tools: map[string]string{"mutool": crash}})
		_, out, err := run(t, tr, "malformed.pdf", pdf)
		mustFail(t, err, out, "crashed")
	})
	t.Run("hang", func(t *testing.T) {
		tr := newT(t, Config{NoSandbox: true, Tools: map[string]string{"mutool": hang},
			Timeout: func(int, int64) time.Duration { return 2 * time.Second }})
		start := time.Now()
		_, out, err := run(t, tr, "malformed.pdf", pdf)
		mustFail(t, err, out, "took longer than")
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("a 2 s timeout took %s", d)
		}
	})
	t.Run("hang, a page count's deadline", func(t *testing.T) {
		// The first renderers start before the pages are counted, bound
		// by the most pages allowed; the document's own deadline stops
		// them, and the error names it.
		tr := newT(t, Config{NoSandbox: true, Tools: map[string]string{"mutool": hang}, MaxPages: 500,
			Timeout: func(pages int, _ int64) time.Duration {
				if pages == 500 {
					return time.Hour
				}
				return 2 * time.Second
			}})
		start := time.Now()
		_, out, err := run(t, tr, "malformed.pdf", pdf)
		mustFail(t, err, out, "took longer than 2s")
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("a 2 s timeout took %s", d)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		tr := newT(t, Config{NoSandbox: true, Tools: map[string]string{"mutool": hang}})
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(time.Second, cancel)
		in, out := t.TempDir(), t.TempDir()
		start := time.Now()
		_, err := tr.Transform(ctx, write(t, in, "malformed.pdf", pdf), out)
		mustFail(t, err, out, "stopped")
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("cancelled after 1 s, returned after %s", d)
		}
	})
}

// A 2,000-page PDF under a timeout too short for it fails in time.
func TestTimeoutOn2000Pages(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: a 2,000-page PDF takes a while to build")
	}
	tr := newT(t, Config{Timeout: func(pages int, size int64) time.Duration { return 3 * time.Second }})
	need(t, tr, "mutool")
	start := time.Now()
	_, out, err := run(t, tr, "long.pdf", textPDF(2000, "", ""))
	mustFail(t, err, out, "took longer than")
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("a 3 s timeout took %s", d)
	}
}

func TestText(t *testing.T) {
	tr := newT(t, Config{})
	res, _, err := run(t, tr, "notes.txt", []byte("line one\r\nbell\a and escape \x1b[2J\tend\nC1 \u0085 gone\n"))
	if err != nil {
		t.Fatal(err)
	}
	checkClean(t, res)
	b, _ := os.ReadFile(res.Output)
	if got, want := string(b), "line one\r\nbell and escape [2J\tend\nC1  gone\n"; got != want {
		t.Errorf("cleaned to %q, want %q", got, want)
	}
	_, out, err := run(t, tr, "latin1.csv", []byte("caf\xe9;1\n"))
	mustFail(t, err, out, "not UTF-8")
	tr1252 := newT(t, Config{TextEncoding: "windows-1252"})
	res, _, err = run(t, tr1252, "latin1.csv", []byte("caf\xe9;1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(res.Output); string(b) != "café;1\n" {
		t.Errorf("converted to %q", b)
	}
	// Trojan Source (CVE-2021-42574): an RLO and isolates make the line
	// show as a comment while a compiler reads code; tag characters hide
	// "rm" after "ok". The marks (LRM, RLM) and joiners stay.
	trojan := "if (admin) { /* \u202e } \u2066if (user)\u2069 \u2066 begin \u202c*/\n" +
		"ok\U000E0072\U000E006D shalom \u200fש\u200e 👩\u200d💻\n"
	res, _, err = run(t, tr, "review.txt", []byte(trojan))
	if err != nil {
		t.Fatal(err)
	}
	checkClean(t, res)
	if b, _ := os.ReadFile(res.Output); string(b) != "if (admin) { /*  } if (user)  begin */\nok shalom \u200fש\u200e 👩\u200d💻\n" {
		t.Errorf("cleaned to %q", b)
	}
	notes := strings.Join(res.Notes, "; ")
	for _, want := range []string{"5 bidirectional formatting characters removed", "CVE-2021-42574", "2 tag characters removed"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes %q do not say %q", notes, want)
		}
	}
	if strings.Contains(notes, "control") {
		t.Errorf("notes %q count control characters there were none of", notes)
	}
	// A sender that did not clean them: the kiosk's check holds the file.
	for _, c := range []struct{ text, want string }{
		{"a\u202eb", "a bidirectional formatting character U+202E at byte 1"},
		{"ab\u2069", "a bidirectional formatting character U+2069 at byte 2"},
		{"x\U000E0041", "a tag character U+E0041 at byte 1"},
		{"\x1b[2J", "a control character U+001B at byte 0"},
	} {
		err := Verify("sent.csv", strings.NewReader(c.text), int64(len(c.text)))
		if !errors.Is(err, ErrNotSimple) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Verify(%q) = %v, want %q", c.text, err, c.want)
		}
	}
	res, _, err = run(t, tr, "utf16.txt", []byte("\xff\xfeh\x00i\x00\n\x00"))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(res.Output); string(b) != "hi\n" {
		t.Errorf("UTF-16 converted to %q", b)
	}
}

func TestPlanAndUnsupported(t *testing.T) {
	tr := newT(t, Config{})
	for _, c := range []struct {
		name string
		head []byte
		want Action
	}{
		{"a.pdf", []byte("%PDF-1.7\n"), ActionPDFOfImages},
		{"a.jpg", []byte("\xff\xd8\xff\xe0"), ActionReencodeImage},
		{"a.txt", []byte("hello"), ActionCleanText},
		{"a.txt", []byte("MZ\x00\x00"), ActionHold},
		{"a.exe", []byte("MZ\x00\x00"), ActionHold},
		{"a.zip", []byte("PK\x03\x04"), ActionHold},
	} {
		if got, why := tr.Plan(c.name, c.head); got != c.want || why == "" {
			t.Errorf("Plan(%s, %q) = %s (%s), want %s", c.name, c.head, got, why, c.want)
		}
	}
	_, out, err := run(t, tr, "setup.exe", []byte("MZ\x90\x00"))
	mustFail(t, err, out, "no transformation for .exe")
	if !errors.Is(err, ErrUnsupported) {
		t.Errorf("%v does not wrap ErrUnsupported", err)
	}
	// An existing output is never replaced.
	in, out2 := t.TempDir(), t.TempDir()
	write(t, out2, "notes.txt", []byte("already here"))
	if _, err := tr.Transform(context.Background(), write(t, in, "notes.txt", []byte("new")), out2); err == nil || !strings.Contains(err.Error(), "exists already") {
		t.Errorf("replacing an existing output: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(out2, "notes.txt")); string(b) != "already here" {
		t.Errorf("the existing output was changed")
	}
}

// A page far larger than any paper: the renderer, bounded to 256 MiB,
// cannot allocate its pixels and fails; nothing is left.
func TestHugePage(t *testing.T) {
	tr := newT(t, Config{})
	need(t, tr, "mutool")
	// One the renderer can draw but past Dangerzone's 10,000 pixels a side.
	_, out, err := run(t, tr, "banner.pdf", textPDFSized(1, "[0 0 4900 100]", "", ""))
	mustFail(t, err, out, "10209 × 209 pixels at 150 DPI, more than")
	if raceEnabled {
		t.Skip("-race: the workers' race-detector memory counts against a 256 MiB limit; run this package without -race for the rest")
	}
	tr = newT(t, Config{MemoryLimit: 256 << 20})
	_, out, err = run(t, tr, "poster.pdf", textPDFSized(1, "[0 0 14400 14400]", "", ""))
	mustFail(t, err, out, "more than 256 MiB of memory")
	t.Log(err)
}

// A PDF whose object stream inflates to 1 GiB: the link reader (pdfcpu
// in the pdfinfo worker), bounded to 256 MiB, dies; nothing is left.
func TestPDFBombInWorker(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the bomb takes seconds to build")
	}
	if raceEnabled {
		t.Skip("-race: the race detector's own memory counts against the worker's limit; run this package without -race for this test")
	}
	tr := newT(t, Config{MemoryLimit: 256 << 20})
	need(t, tr, "mutool")
	bomb := pdftest.ObjStm("<< /S /URI /URI (https://example.org/) >>", 1<<30)
	_, out, err := run(t, tr, "bomb.pdf", bomb)
	mustFail(t, err, out, "more than 256 MiB of memory")
	t.Log(err)
}

// Each page is classified for itself, whichever renderer run (gray or
// RGB) drew it: black text, text with a red heading, a gray gradient, a
// coloured gradient.
func TestPageKinds(t *testing.T) {
	text := "BT /F1 11 Tf 14 TL 56 780 Td (The transfer station checks every file.) Tj T* (It records what it did.) Tj ET"
	red := "1 0 0 rg BT /F1 20 Tf 56 800 Td (Heading in red) Tj ET 0 g " + text
	var gray, colour strings.Builder
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&gray, "%.2f g 0 %d 595 9 re f\n", float64(i)/100, i*9)
		fmt.Fprintf(&colour, "%.2f 0.3 %.2f rg 0 %d 595 9 re f\n", float64(i)/100, 1-float64(i)/100, i*9)
	}
	for _, r := range []string{"mutool", "pdftoppm"} {
		t.Run(r, func(t *testing.T) {
			tr := newT(t, Config{})
			need(t, tr, r)
			path := write(t, t.TempDir(), "mixed.pdf", pagesPDF(text, red, gray.String(), text, colour.String(), text))
			spool, err := os.CreateTemp(t.TempDir(), "spool")
			if err != nil {
				t.Fatal(err)
			}
			defer spool.Close()
			doc := newPDFDoc()
			doc.set(&workerReply{Pages: 6}, nil)
			pages, err := tr.renderPDF(context.Background(), r, path, 0, doc, []*os.File{spool})
			if err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for _, p := range pages {
				kinds = append(kinds, p.Kind)
			}
			if got, want := strings.Join(kinds, " "), "text text-colour photo-gray text photo text"; got != want {
				t.Errorf("pages classified %s, want %s", got, want)
			}
		})
	}
}

// mutool's colour test does not look inside Type 3 glyphs (a glyph that
// paints itself red, d0, in black text is reported gray) nor at tints a
// ColorDodge blend makes strong; two reviews found those and the ways
// round a first check. The pdfinfo worker flags such documents, however
// the font is written (an object, a dictionary in a page's resources, an
// object stream, /Subtype by reference or missing: mupdf takes any font
// with /CharProcs for Type 3), and they are drawn in RGB throughout, so a
// thin red rule beside a black Type 3 glyph keeps its colour too. A file
// mutool has to repair (it may read objects pdfcpu did not) is drawn in
// RGB from the repair on. A document without any of it is not flagged.
func TestColourTestBlind(t *testing.T) {
	tr := newT(t, Config{})
	need(t, tr, "mutool")
	glyph := "1000 0 d0 1 0 0 rg 0 0 1000 1000 re f"
	font := func(subtype string) string {
		return "<< /Type /Font " + subtype + " /FontBBox [0 0 1000 1000] /FontMatrix [0.001 0 0 0.001 0 0] /CharProcs << /a 4 0 R >> " +
			"/Encoding << /Type /Encoding /Differences [97 /a] >> /FirstChar 97 /LastChar 97 /Widths [1000] /Resources << >> >>"
	}
	t3 := font("/Subtype /Type3")
	stream := func(g string) string { return fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(g), g) }
	content := "0 g BT /F1 100 Tf 100 500 Td (a) Tj ET"
	indirect := pagesPDFFont("/F1 5 0 R", []string{stream(glyph), t3}, content)
	// The same, rewritten by pdfcpu with its objects in a compressed
	// object stream, as most PDFs written today are.
	var packed bytes.Buffer
	if err := api.Optimize(bytes.NewReader(indirect), &packed, model.NewDefaultConfiguration()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(packed.Bytes(), []byte("/ObjStm")) || bytes.Contains(packed.Bytes(), []byte("/Type3")) {
		t.Fatal("pdfcpu did not hide the Type 3 font in an object stream")
	}
	// A file without a cross-reference table, its font in an object
	// stream: both repair it, pdfcpu without the object stream's objects.
	var broken bytes.Buffer
	broken.WriteString("%PDF-1.7\n")
	for _, o := range []string{"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n",
		"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n",
		"3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>\nendobj\n",
		"4 0 obj\n" + stream(content) + "\nendobj\n",
		"6 0 obj\n" + stream(glyph) + "\nendobj\n",
		"7 0 obj\n" + strings.Replace(stream("5 0 "+strings.Replace(t3, "4 0 R", "6 0 R", 1)), "<<", "<< /Type /ObjStm /N 1 /First 4", 1) + "\nendobj\n",
		"trailer\n<< /Root 1 0 R /Size 8 >>\n%%EOF\n"} {
		broken.WriteString(o)
	}
	for _, c := range []struct {
		name   string
		pdf    []byte
		blind  bool // flagged by the pdfinfo worker
		colour bool // the page kept in colour
	}{
		{"indirect", indirect, true, true},
		{"object stream", packed.Bytes(), true, true},
		{"direct", pagesPDFFont("/F1 "+t3, []string{stream(glyph)}, content), true, true},
		{"subtype by reference", pagesPDFFont("/F1 5 0 R", []string{stream(glyph), font("/Subtype 6 0 R"), "/Type3"}, content), true, true},
		{"no subtype", pagesPDFFont("/F1 5 0 R", []string{stream(glyph), font("")}, content), true, true},
		{"thin rule beside a black glyph", pagesPDFFont("/F1 5 0 R", []string{stream("1000 0 d0 0 g 0 0 1000 1000 re f"), t3},
			content+" 1 0 0 RG 1 w 50 300 m 545 300 l S"), true, true},
		{"colour dodge", pagesPDFFont("/F1 3 0 R >> /ExtGState << /G << /BM /ColorDodge >>",
			nil, "0.01 g 0 0 595 842 re f /G gs 1 0.985 0.985 rg 100 100 395 595 re f"), true, true},
		{"repaired", broken.Bytes(), false, true},
		{"none", pagesPDF("0 g BT /F1 40 Tf 100 500 Td (black text) Tj ET"), false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := write(t, dir, "t3.pdf", c.pdf)
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			info, err := tr.worker(context.Background(), "pdfinfo", workerOpts{MaxPages: 10}, f, int64(len(c.pdf)), nil)
			if err != nil {
				t.Fatal(err)
			}
			if info.ColourBlind != c.blind {
				t.Fatalf("ColourBlind = %v, want %v", info.ColourBlind, c.blind)
			}
			spool, err := os.CreateTemp(dir, "spool")
			if err != nil {
				t.Fatal(err)
			}
			defer spool.Close()
			doc := newPDFDoc()
			doc.set(info, nil)
			pages, err := tr.renderPDF(context.Background(), "mutool", path, int64(len(c.pdf)), doc, []*os.File{spool})
			if err != nil {
				t.Fatal(err)
			}
			if pages[0].Gray == c.colour {
				t.Errorf("page encoded as %q (gray %v), want colour %v", pages[0].Kind, pages[0].Gray, c.colour)
			}
		})
	}
}
