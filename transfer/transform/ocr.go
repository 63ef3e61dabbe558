package transform

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/unicode/norm"
)

// OCR (Config.OCR) gives each rendered page to tesseract, in the sandbox
// like every tool, and writes the words it reads into the page as an
// invisible text layer: text render mode 3 (neither filled nor stroked),
// in the standard Type1 font Helvetica with WinAnsiEncoding (/F1), no font
// program embedded, each word placed with Tm and fitted to the width of
// its box with Tz. A word WinAnsiEncoding cannot encode is written in
// /F2, a Type 0 font without a font program whose codes are UTF-16 units
// mapped to themselves (widefont.go). The page stays an image; the layer
// only makes it searchable and its text selectable.

// ocrLangsRE is a tesseract language list: traineddata names joined by
// "+" ("eng", "eng+deu", "chi_sim").
var ocrLangsRE = regexp.MustCompile(`^[a-z][a-z0-9_]{1,30}(\+[a-z][a-z0-9_]{1,30}){0,7}$`)

// tessdataGlob is where Debian's tesseract-ocr-LANG packages put their
// traineddata (/usr/share/tesseract-ocr/5/tessdata on Debian 12).
var tessdataGlob = "/usr/share/tesseract-ocr/*/tessdata"

// ocrPageTimeout bounds tesseract on one page; ocrPerPage is the time
// each page adds to a document's deadline when OCR is on: four times the
// 2.5 s of CPU a dense page takes here, for a slower or busier machine
// (its input is pixels rendered here, not the sender's file).
const (
	ocrPageTimeout = 120 * time.Second
	ocrPerPage     = 10 * time.Second
)

// maxOCROutput bounds what tesseract may write about one page (its TSV):
// a page of small print is about 100 KiB.
const maxOCROutput = 8 << 20

// CheckOCR checks a tesseract language list (Config.OCR, the policy's
// transform.ocr): "" (OCR off) or names of installed traineddata joined by
// "+". An error is one line naming what is missing and its Debian package.
func CheckOCR(langs string) error {
	if err := CheckOCRSyntax(langs); err != nil || langs == "" {
		return err
	}
	dirs, _ := filepath.Glob(tessdataGlob)
	for _, l := range strings.Split(langs, "+") {
		found := false
		for _, d := range dirs {
			if fi, err := os.Stat(filepath.Join(d, l+".traineddata")); err == nil && fi.Mode().IsRegular() {
				found = true
			}
		}
		if !found {
			return fmt.Errorf("OCR language %q is not installed (Debian: apt-get install tesseract-ocr %s)", l, langPackage(l))
		}
	}
	return nil
}

// CheckOCRSyntax checks only the form of a language list ("" or names
// joined by "+"), not that they are installed: for a policy that another
// station applies.
func CheckOCRSyntax(langs string) error {
	if langs != "" && !ocrLangsRE.MatchString(langs) {
		return fmt.Errorf("OCR languages %q: give tesseract language names joined by \"+\", such as \"eng\" or \"eng+deu\"", langs)
	}
	return nil
}

// langPackage is the Debian package of a tesseract language.
func langPackage(l string) string {
	return "tesseract-ocr-" + strings.ReplaceAll(l, "_", "-")
}

// ocrWord is one word tesseract read, in pixels of the page.
type ocrWord struct {
	text           string
	left, w        int
	lineTop, lineH int
}

// ocrPage runs tesseract on one page's pixels (w × h, ch bytes a pixel)
// given on its stdin as a PGM or PPM image, and returns the words it
// read.
func (t *Transformer) ocrPage(ctx context.Context, pix []byte, w, h, ch int, deadline time.Time) ([]ocrWord, error) {
	magic := "P6"
	if ch == 1 {
		magic = "P5"
	}
	out := &capBuffer{max: maxOCROutput}
	j := job{
		name: "tesseract",
		argv: []string{realPath(t.paths["tesseract"]), "stdin", "stdout", "-l", t.cfg.OCR, "--dpi", strconv.Itoa(t.cfg.DPI), "tsv"},
		// One thread: pages are already spread over Config.Workers.
		env:     []string{"OMP_THREAD_LIMIT=1"},
		stdin:   io.MultiReader(strings.NewReader(fmt.Sprintf("%s\n%d %d\n255\n", magic, w, h)), bytes.NewReader(pix)),
		stdout:  out,
		timeout: min(ocrPageTimeout, time.Until(deadline)),
	}
	if err := t.run(ctx, j); err != nil {
		if out.over {
			return nil, fmt.Errorf("tesseract wrote more than %d MiB about one page", maxOCROutput>>20)
		}
		return nil, err
	}
	return parseTSV(out.Bytes())
}

// parseTSV reads tesseract's TSV: a header, then level, page, block,
// paragraph, line, word numbers, left, top, width, height, confidence,
// text. Level 4 rows are lines, level 5 words.
func parseTSV(b []byte) ([]ocrWord, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	if !sc.Scan() || !strings.HasPrefix(sc.Text(), "level\t") {
		return nil, errors.New("tesseract's output is not its TSV")
	}
	var words []ocrWord
	var lineTop, lineH int
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 12 {
			continue
		}
		var n [10]int
		for i := range n {
			v, err := strconv.Atoi(f[i])
			if err != nil || v < 0 {
				return nil, fmt.Errorf("tesseract's TSV has %q where a number belongs", f[i])
			}
			n[i] = v
		}
		switch n[0] {
		case 4:
			lineTop, lineH = n[7], n[9]
		case 5:
			text := strings.TrimSpace(f[11])
			if text == "" || n[8] < 1 || n[9] < 1 {
				continue
			}
			lt, lh := lineTop, lineH
			if lh < 1 || n[7] < lt || n[7]+n[9] > lt+lh {
				lt, lh = n[7], n[9] // a word outside its line's box
			}
			words = append(words, ocrWord{text: text, left: n[6], w: n[8], lineTop: lt, lineH: lh})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("tesseract's TSV: %v", err)
	}
	return words, nil
}

// textLayer is the content that follows a page's image in its content
// stream: its words, invisible, each in a line's font size, at its box's
// left and its line's baseline, stretched to its box's width. wide says
// it uses /F2 (some word is not in WinAnsiEncoding). The words that would
// take it past maxLayer are left out: Verify holds a content stream to
// maxContent, and a page's words are hostile text (one ligature
// character normalises to 18).
func textLayer(words []ocrWord, pageH, dpi int) (layer []byte, wide bool) {
	if len(words) == 0 {
		return nil, false
	}
	pt := func(px float64) float64 { return px * 72 / float64(dpi) }
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
	var b bytes.Buffer
	b.WriteString("BT\n3 Tr\n")
	var size float64
	font := ""
	for _, w := range words {
		s, ok := encodeWinAnsi(w.text)
		f := "F1"
		if !ok {
			s, f = encodeWide(w.text), "F2"
		}
		if b.Len()+4*len(s)+160 > maxLayer { // a byte is at most 4 in a string
			break
		}
		// A line's box runs from its tallest ascender to its lowest
		// descender; Helvetica's descender is a fifth of its size.
		sz := max(pt(float64(w.lineH)), 1)
		if sz != size || f != font {
			fmt.Fprintf(&b, "/%s %s Tf\n", f, num(sz))
			size, font = sz, f
		}
		natural := helveticaWidth(s) * sz / 1000
		if f == "F2" {
			natural = float64(wideGlyphWidth*len(s)/2) * sz / 1000
		}
		tz := 100.0
		if natural > 0 {
			tz = min(max(100*pt(float64(w.w))/natural, 1), 1000)
		}
		x := pt(float64(w.left))
		y := pt(float64(pageH-(w.lineTop+w.lineH))) + sz*0.2
		fmt.Fprintf(&b, "%s Tz 1 0 0 1 %s %s Tm ", num(tz), num(x), num(max(y, 0)))
		if f == "F2" {
			writePDFHex(&b, s)
			wide = true
		} else {
			writePDFString(&b, s)
		}
		b.WriteString(" Tj\n")
	}
	b.WriteString("ET\n")
	return b.Bytes(), wide
}

// maxLayer bounds a text layer: maxContent, less room for the image's
// drawing before it.
const maxLayer = maxContent - 4096

// normalizeOCR is a word as the layer keeps it: compatibility normalised
// (a ligature "ﬁ" becomes "fi", a full-width letter its plain one).
func normalizeOCR(text string) string { return norm.NFKC.String(text) }

// encodeWinAnsi encodes text in WinAnsiEncoding (Windows-1252), after
// normalizeOCR; a control character becomes '?'. ok is false when a
// rune has no WinAnsi code (the word then goes to /F2, encodeWide).
func encodeWinAnsi(text string) (s []byte, ok bool) {
	text = normalizeOCR(text)
	out := make([]byte, 0, len(text))
	for _, r := range text {
		c, in := charmap.Windows1252.EncodeRune(r)
		if !in {
			return nil, false
		}
		if c < 0x20 || c == 0x7f || r >= 0x80 && r < 0xa0 {
			c = '?'
		}
		out = append(out, c)
	}
	return out, true
}

// writePDFString writes s as a PDF literal string: parentheses and
// backslashes escaped, bytes outside printable ASCII as octal escapes.
func writePDFString(b *bytes.Buffer, s []byte) {
	b.WriteByte('(')
	for _, c := range s {
		switch {
		case c == '(' || c == ')' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(b, "\\%03o", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte(')')
}

// helveticaASCII is Helvetica's advance widths (its AFM, in 1/1000 em) of
// WinAnsiEncoding's codes 32 to 126.
var helveticaASCII = [95]int{
	278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // space to /
	556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, // 0 to ?
	1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, // @ to O
	667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, // P to _
	333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, // ` to o
	556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, // p to ~
}

// helveticaWidth is the width of s (WinAnsiEncoding) in Helvetica at size
// 1000. A letter beyond ASCII counts as its base letter (Helvetica's
// accented letters are as wide as theirs), any other as 556.
func helveticaWidth(s []byte) float64 {
	var w int
	for _, c := range s {
		switch {
		case c >= 32 && c <= 126:
			w += helveticaASCII[c-32]
		default:
			base := 556
			if d := norm.NFD.String(string(charmap.Windows1252.DecodeByte(c))); d[0] >= 32 && d[0] <= 126 {
				base = helveticaASCII[d[0]-32]
			}
			w += base
		}
	}
	return float64(w)
}

// capBuffer keeps up to max bytes and fails writes beyond.
type capBuffer struct {
	bytes.Buffer
	max  int
	over bool
}

func (c *capBuffer) Write(p []byte) (int, error) {
	if c.Len()+len(p) > c.max {
		c.over = true
		return 0, errors.New("too much output")
	}
	return c.Buffer.Write(p)
}

// ocrMissing says why OCR is on but cannot run ("" when it can, or when
// it is off): tesseract or a language's traineddata is not installed.
func (t *Transformer) ocrMissing() string {
	if t.cfg.OCR == "" {
		return ""
	}
	if _, ok := t.paths["tesseract"]; ok {
		return ""
	}
	if err := CheckOCR(t.cfg.OCR); err != nil && !strings.Contains(t.missing["tesseract"], "switched off") {
		return err.Error()
	}
	return t.missing["tesseract"]
}

// ocrPlan is what Plan adds about OCR.
func (t *Transformer) ocrPlan() string {
	if t.cfg.OCR == "" {
		return ""
	}
	return fmt.Sprintf(", with an invisible text layer read by tesseract (%s)", t.cfg.OCR)
}

// ocrResult counts the pages with a text layer into res and notes the
// pages tesseract failed on. A page where it failed keeps its image and
// no text layer; when it failed on every page (it cannot run here), the
// document is not transformed, like any document whose tool is missing.
func (t *Transformer) ocrResult(pages []pageImage, res *Result) error {
	if t.cfg.OCR == "" {
		return nil
	}
	failed, first := 0, ""
	for i, p := range pages {
		if p.TextLength > 0 {
			res.TextPages++
		}
		if p.OCRErr != "" {
			if failed == 0 {
				first = fmt.Sprintf("page %d: %s", i+1, p.OCRErr)
			}
			failed++
		}
	}
	res.OCRFailed = failed
	if failed == len(pages) {
		return fmt.Errorf("OCR failed on every page (%s); check tesseract-ocr, or set ocr = \"\" in the policy's [transform]", first)
	}
	res.Notes = append(res.Notes, fmt.Sprintf("text layer (OCR, tesseract %s, %s) on %d of %d pages", t.version("tesseract"), t.cfg.OCR, res.TextPages, len(pages)))
	if failed > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("OCR failed on %d of %d pages, kept without text (first: %s)", failed, len(pages), first))
	}
	return nil
}
