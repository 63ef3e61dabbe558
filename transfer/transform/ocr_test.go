package transform

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// newOCR returns a Transformer with OCR in English, or skips saying which
// Debian packages it needs.
func newOCR(t testing.TB) *Transformer {
	t.Helper()
	tr := newT(t, Config{OCR: "eng", Workers: 2})
	need(t, tr, "mutool")
	if why := tr.ocrMissing(); why != "" {
		t.Skipf("%s (packaging/deps.sh test installs tesseract-ocr and tesseract-ocr-eng)", why)
	}
	return tr
}

// pdfText extracts a PDF's text with pdftotext (poppler-utils), or skips.
func pdfText(t *testing.T, path string) string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Skip("pdftotext is not installed (Debian: poppler-utils; packaging/deps.sh test installs it)")
	}
	out, err := exec.Command("pdftotext", "-q", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

// A text PDF rebuilt with OCR keeps its words, found by a text extractor
// that is not ours, in a PDF that verifies and pdfcpu validates strictly.
func TestOCRTextLayer(t *testing.T) {
	tr := newOCR(t)
	in := textPDF(2, "", "")
	start := time.Now()
	res, _, err := run(t, tr, "doc.pdf", in)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("2 pages with OCR in %s, %d bytes (notes %q)", time.Since(start).Round(time.Millisecond), res.OutputSize, res.Notes)
	if res.Pages != 2 || res.TextPages != 2 {
		t.Fatalf("%d pages, %d with text; want 2 and 2", res.Pages, res.TextPages)
	}
	checkClean(t, res)
	got := strings.Fields(strings.ToLower(pdfText(t, res.Output)))
	found := map[string]bool{}
	for _, w := range got {
		found[strings.Trim(w, ".,")] = true
	}
	words := strings.Fields("page the transfer station checks every file before it releases anything into network and records what did")
	missing := 0
	for _, w := range words {
		if !found[w] {
			missing++
			t.Logf("not found: %q", w)
		}
	}
	if missing > len(words)/5 {
		t.Errorf("%d of %d words of the input not found in the output's text (%d words extracted)", missing, len(words), len(got))
	}
	// Extraction keeps the reading order: the first line of the
	// first page.
	if !strings.Contains(strings.ToLower(pdfText(t, res.Output)), "page 1") {
		t.Errorf("the text layer does not start with the page's first line")
	}
	var note bool
	for _, n := range res.Notes {
		note = note || strings.Contains(n, "text layer (OCR") && strings.Contains(n, "on 2 of 2 pages")
	}
	if !note {
		t.Errorf("no note says how many pages have text: %q", res.Notes)
	}
}

// Without OCR the output has no text layer, as before.
func TestOCROffNoText(t *testing.T) {
	tr := newT(t, Config{Workers: 2})
	need(t, tr, "mutool")
	res, _, err := run(t, tr, "doc.pdf", textPDF(1, "", ""))
	if err != nil {
		t.Fatal(err)
	}
	checkClean(t, res) // no /Font anywhere
	if res.TextPages != 0 {
		t.Errorf("%d pages with text with OCR off", res.TextPages)
	}
	if _, err := exec.LookPath("pdftotext"); err == nil {
		if txt := strings.TrimSpace(pdfText(t, res.Output)); txt != "" {
			t.Errorf("text extracted with OCR off: %q", txt[:min(len(txt), 80)])
		}
	}
}

// A page tesseract fails on keeps its image and no text, and the Result
// says so; a tesseract that fails on every page fails the document.
func TestOCRFailures(t *testing.T) {
	newOCR(t) // skips without tesseract
	dir := t.TempDir()
	// Fails on the second page it is given, reads the others (New asks
	// its version first: not counted).
	counter := dir + "/n"
	script := dir + "/tesseract"
	real, _ := exec.LookPath("tesseract")
	os.WriteFile(script, []byte("#!/bin/sh\n[ \"$1\" = stdin ] && echo >> "+counter+"\nif [ \"$(wc -l < "+counter+")\" = 2 ]; then echo 'Error: page broken' >&2; exit 1; fi\nexec "+real+" \"$@\"\n"), 0o755)
	tr := newT(t, Config{OCR: "eng", Workers: 1, NoSandbox: true, Tools: map[string]string{"tesseract": script}})
	res, _, err := run(t, tr, "doc.pdf", textPDF(3, "", ""))
	if err != nil {
		t.Fatal(err)
	}
	if res.TextPages != 2 || res.OCRFailed != 1 {
		t.Errorf("%d pages with text and %d failed, want 2 and 1", res.TextPages, res.OCRFailed)
	}
	joined := strings.Join(res.Notes, "\n")
	if !strings.Contains(joined, "OCR failed on 1 of 3 pages, kept without text (first: page 2: tesseract failed (exit status 1): Error: page broken)") {
		t.Errorf("notes do not say which page failed: %q", res.Notes)
	}
	checkClean(t, res)

	os.WriteFile(script, []byte("#!/bin/sh\necho 'Error: no way' >&2\nexit 1\n"), 0o755)
	_, out, err := run(t, tr, "doc.pdf", textPDF(2, "", ""))
	mustFail(t, err, out, "OCR failed on every page (page 1: tesseract failed (exit status 1): Error: no way)")
}

// OCR on with a language not installed holds documents, naming the
// package; a malformed list is refused at once.
func TestOCRLanguages(t *testing.T) {
	if err := CheckOCR("eng;rm"); err == nil || !strings.Contains(err.Error(), `joined by "+"`) {
		t.Errorf("CheckOCR(eng;rm) = %v", err)
	}
	if err := CheckOCR("zzz_qq"); err == nil || !strings.Contains(err.Error(), "apt-get install tesseract-ocr tesseract-ocr-zzz-qq") {
		t.Errorf("CheckOCR(zzz_qq) = %v", err)
	}
	if _, err := New(Config{OCR: "../eng"}); err == nil || !strings.Contains(err.Error(), "OCR languages") {
		t.Errorf("New with OCR ../eng = %v", err)
	}
	tr := newT(t, Config{OCR: "eng+zzz"})
	need(t, tr, "mutool")
	a, why := tr.Plan("doc.pdf", []byte("%PDF-1.4\n"))
	if a != ActionHold || !strings.Contains(why, "tesseract-ocr-zzz") {
		t.Errorf("Plan = %s, %q; want hold naming tesseract-ocr-zzz", a, why)
	}
	_, out, err := run(t, tr, "doc.pdf", textPDF(1, "", ""))
	mustFail(t, err, out, "OCR is on and OCR language \"zzz\" is not installed")
}

// The text layer written for hostile words stays within what Verify
// accepts: parentheses, backslashes, ligatures and control characters in
// /F1; a word beyond WinAnsi, in any script, in /F2 as UTF-16 codes, a
// format character (a bidirectional override) as '?'.
func TestTextLayerEscapes(t *testing.T) {
	words := []ocrWord{
		{text: `a(b)c\d`, left: 10, w: 50, lineTop: 10, lineH: 20},
		{text: "Straße €5 ﬁne \x01", left: 70, w: 80, lineTop: 10, lineH: 20},
		{text: "x) Tj 0 Tr (y", left: 10, w: 30, lineTop: 40, lineH: 15},
		{text: "日本 Ωμέγα 𝄞\x02\u202e>", left: 10, w: 30, lineTop: 60, lineH: 15},
	}
	layer, wide := textLayer(words, 100, 150)
	content := append([]byte(imageContent(100, 100, 150)), layer...)
	if !wide {
		t.Fatal("a layer with CJK and Greek does not say it needs /F2")
	}
	if err := verifyTextLayer(layer, true); err != nil {
		t.Fatalf("the writer's layer does not verify: %v\n%s", err, content)
	}
	if err := verifyTextLayer(layer, false); err == nil || !strings.Contains(err.Error(), "the font /F2, not the page's /F1") {
		t.Fatalf("/F2 on a page without it: %v", err)
	}
	for _, want := range []string{`(a\(b\)c\\d)`, `(Stra\337e \2005 fine ?)`, `(x\) Tj 0 Tr \(y)`, "3 Tr",
		"/F2 7.20 Tf", "<65E5672C002003A903BC03AD03B303B10020003F003F003F003E>"} {
		if !bytes.Contains(layer, []byte(want)) {
			t.Errorf("the layer lacks %s:\n%s", want, layer)
		}
	}
}

// A text layer with words beyond WinAnsi (written in /F2) verifies,
// validates strictly with pdfcpu, and gives its words back, in their
// script, to text extractors that are not ours (poppler's pdftotext and
// mupdf's).
func TestWideTextLayerExtracts(t *testing.T) {
	b := smallPDFText(t, "3 Tr") // "Hello (world)" and "Москва"
	p := filepath.Join(t.TempDir(), "wide.pdf")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	checkClean(t, &Result{Output: p, TextPages: 1})
	for _, tok := range []string{"/FontFile", "/CharProcs", "/Type3"} {
		if bytes.Contains(b, []byte(tok)) {
			t.Errorf("the text layer's fonts hold %s", tok)
		}
	}
	got := pdfText(t, p)
	for _, w := range []string{"Hello", "(world)", "Москва"} {
		if !strings.Contains(got, w) {
			t.Errorf("pdftotext does not find %q in %q", w, got)
		}
	}
	if _, err := exec.LookPath("mutool"); err == nil {
		out, err := exec.Command("mutool", "draw", "-q", "-F", "txt", "-o", "-", p, "1").Output()
		if err != nil {
			t.Fatalf("mutool draw -F txt: %v", err)
		}
		if !strings.Contains(string(out), "Москва") {
			t.Errorf("mupdf does not find the Cyrillic word in %q", out)
		}
	}
}

// A Russian document, made by the real LibreOffice, rebuilt with OCR in
// Russian keeps its words in Cyrillic (/F2), found by poppler's
// extractor, in a PDF that verifies and pdfcpu validates strictly.
func TestOCRNonLatin(t *testing.T) {
	tr := newT(t, Config{OCR: "rus", Workers: 2})
	need(t, tr, "mutool")
	if why := tr.ocrMissing(); why != "" {
		t.Skipf("%s (packaging/deps.sh test installs tesseract-ocr and tesseract-ocr-rus)", why)
	}
	src := filepath.Join(t.TempDir(), "letter.txt")
	text := "Москва и Санкт-Петербург\n\nПередача данных через воздушный зазор проверяется на каждой станции.\n"
	if err := os.WriteFile(src, []byte(strings.Repeat(text, 3)), 0o644); err != nil {
		t.Fatal(err)
	}
	pdf := convertOffice(t, t.TempDir(), src, "pdf")
	res, _, err := run(t, tr, "letter.pdf", pdf)
	if err != nil {
		t.Fatal(err)
	}
	if res.TextPages != 1 {
		t.Fatalf("%d of %d pages with text", res.TextPages, res.Pages)
	}
	checkClean(t, res)
	got := strings.ToLower(pdfText(t, res.Output))
	missing := 0
	words := strings.Fields("москва санкт-петербург передача данных через воздушный зазор проверяется на каждой станции")
	for _, w := range words {
		if !strings.Contains(got, w) {
			missing++
			t.Logf("not found: %q", w)
		}
	}
	if missing > len(words)/5 {
		t.Errorf("%d of %d Cyrillic words not found in the output's text: %q", missing, len(words), got)
	}
}

// A page's words that would take its text layer past what Verify
// accepts are left out, not the page: 1,300 words of a ligature that
// normalises to 18 characters (from a hostile review).
func TestTextLayerBounded(t *testing.T) {
	var tsv strings.Builder
	tsv.WriteString("level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n")
	for i := range 1300 {
		fmt.Fprintf(&tsv, "5\t1\t1\t1\t1\t%d\t10\t10\t100\t20\t90\t%s\n", i+1, strings.Repeat("\uFDFA", 100))
	}
	words, err := parseTSV([]byte(tsv.String()))
	if err != nil {
		t.Fatal(err)
	}
	layer, wide := textLayer(words, 1000, 300)
	if !wide || len(layer) == 0 {
		t.Fatal("no layer")
	}
	if n := len(imageContent(100, 1000, 300)) + len(layer); n > maxContent {
		t.Fatalf("a content stream of %d bytes; Verify accepts %d", n, maxContent)
	}
	if err := verifyTextLayer(layer, true); err != nil {
		t.Fatal(err)
	}
}
