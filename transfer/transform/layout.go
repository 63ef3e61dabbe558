package transform

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// checkLayout reads a PDF, every byte of it, as writePDF lays one out,
// before pdfcpu parses it (verifyPDF): the header; objects 1 to N in
// order, each "N 0 obj", one dictionary on one line, then "endobj" or a
// stream of exactly its direct /Length; a classic cross-reference table
// whose offsets are those objects'; the trailer; startxref; %%EOF; nothing
// after; the trailer exactly /Size and /Root. Dictionaries hold only names without # escapes, integers,
// decimals, references, literal strings of printable ASCII, arrays and dictionaries,
// nested a few levels at most, each key once, separated by spaces (no
// line break, tab or comment).
//
// So no byte of the file is read two ways. pdfcpu, when its strict reading
// of a dictionary fails, reads it again leniently (dropping a key it
// cannot decode, skipping what is not a key, ending at a stray ">>"),
// and rebuilds a broken cross-reference table by scanning; a viewer reads
// the same bytes its own way. A key only a viewer would see (a /FontFile2,
// an /OpenAction) would then pass every check made on pdfcpu's objects.
// A hostile review found exactly that; nesting beyond any depth also
// overflowed pdfcpu's stack.
func checkLayout(r io.Reader) error {
	l := &layoutReader{r: bufio.NewReaderSize(r, 64<<10)}
	if err := l.header(); err != nil {
		return err
	}
	var offs []int64
	for {
		at := l.n
		line, err := l.line(64)
		if err != nil {
			return err
		}
		if line == "xref" {
			return l.tail(offs, at)
		}
		want := strconv.Itoa(len(offs)+1) + " 0 obj"
		if line != want {
			return fmt.Errorf("object %d: %q where %q belongs", len(offs)+1, clip([]byte(line)), want)
		}
		offs = append(offs, at)
		if len(offs) > maxLayoutObjects {
			return fmt.Errorf("more than %d objects", maxLayoutObjects)
		}
		if err := l.object(len(offs)); err != nil {
			return fmt.Errorf("object %d: %w", len(offs), err)
		}
	}
}

// maxPagesLimit is the largest Config.MaxPages; maxLayoutObjects bounds
// a PDF's objects: three a page for as many, and the fonts.
const (
	maxPagesLimit    = 100_000
	maxLayoutObjects = 3*maxPagesLimit + 8
)

// maxDictLine bounds one object's dictionary: a page tree of 100,000
// kids is 1.2 MB.
const maxDictLine = 4 << 20

// maxLayoutDepth is how deep dictionaries and arrays may nest: Sluice
// writes three levels (a page's /Resources << /XObject << … >> >>); a few
// more keep a forgery's verdict the one its keys earn, and none can
// overflow a parser's stack.
const maxLayoutDepth = 6

type layoutReader struct {
	r *bufio.Reader
	n int64 // bytes read
}

// line reads up to and without the next "\n", at most max bytes.
func (l *layoutReader) line(max int) (string, error) {
	var b []byte
	for {
		chunk, err := l.r.ReadSlice('\n')
		l.n += int64(len(chunk))
		b = append(b, chunk...)
		if len(b) > max+1 {
			return "", fmt.Errorf("a line longer than %d bytes", max)
		}
		if err == nil {
			return string(b[:len(b)-1]), nil
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			return "", errors.New("the file ends in the middle of a line")
		}
		return "", err
	}
}

func (l *layoutReader) expect(s string) error {
	b := make([]byte, len(s))
	n, err := io.ReadFull(l.r, b)
	l.n += int64(n)
	if err != nil || string(b) != s {
		return fmt.Errorf("%q where %q belongs", clip(b[:n]), s)
	}
	return nil
}

func (l *layoutReader) header() error {
	v, err := l.line(16)
	if err != nil || v != "%PDF-1.4" && v != "%PDF-1.5" {
		return fmt.Errorf("a header %q: not %%PDF-1.4 or 1.5 as Sluice writes", clip([]byte(v)))
	}
	// The comment of four bytes above 127 that marks the file binary.
	if b, err := l.r.Peek(1); err == nil && b[0] == '%' {
		c, err := l.line(8)
		if err != nil || len(c) != 5 || c[1] < 0x80 || c[2] < 0x80 || c[3] < 0x80 || c[4] < 0x80 {
			return fmt.Errorf("a comment %q after the header", clip([]byte(c)))
		}
	}
	return nil
}

// object reads object num after its "N 0 obj" line.
func (l *layoutReader) object(num int) error {
	line, err := l.line(maxDictLine)
	if err != nil {
		return err
	}
	length, err := checkDictLine([]byte(line))
	if err != nil {
		return err
	}
	end, err := l.line(16)
	if err != nil {
		return err
	}
	switch end {
	case "endobj":
		return nil
	case "stream":
	default:
		return fmt.Errorf("%q after its dictionary, not endobj or stream", clip([]byte(end)))
	}
	if length < 0 {
		return errors.New("a stream without a direct /Length")
	}
	n, err := l.r.Discard(int(length))
	l.n += int64(n)
	if err != nil {
		return errors.New("a stream shorter than its /Length: the file ends in it")
	}
	// An end of line may come before endstream (ISO 32000-1 7.3.8.1).
	if b, err := l.r.Peek(1); err == nil && b[0] == '\n' {
		l.r.Discard(1)
		l.n++
	}
	return l.expect("endstream\nendobj\n")
}

// tail reads the cross-reference table (its "xref" line read, at xref),
// the trailer and the end.
func (l *layoutReader) tail(offs []int64, xref int64) error {
	if len(offs) == 0 {
		return errors.New("no objects")
	}
	if err := l.expect(fmt.Sprintf("0 %d\n0000000000 65535 f\r\n", len(offs)+1)); err != nil {
		return fmt.Errorf("cross-reference table: %w", err)
	}
	for i, o := range offs {
		if err := l.expect(fmt.Sprintf("%010d 00000 n\r\n", o)); err != nil {
			return fmt.Errorf("cross-reference entry %d: %w", i+1, err)
		}
	}
	if err := l.expect("trailer\n"); err != nil {
		return err
	}
	// Exactly the trailer writePDF writes: a /Prev or /XRefStm would send
	// pdfcpu to read a second cross-reference section from bytes already
	// read as something else, an /Info or /Encrypt need not be parsed.
	line, err := l.line(4096)
	if err != nil {
		return err
	}
	if want := fmt.Sprintf("<< /Size %d /Root 1 0 R >>", len(offs)+1); line != want {
		return fmt.Errorf("a trailer %q, not %q", line[:min(len(line), 100)], want)
	}
	if err := l.expect(fmt.Sprintf("startxref\n%d\n%%%%EOF\n", xref)); err != nil {
		return err
	}
	if _, err := l.r.ReadByte(); err != io.EOF {
		return errors.New("bytes after %%EOF")
	}
	return nil
}

// checkDictLine checks one line holding one dictionary, and returns its
// /Length when that is a direct integer (-1 when it has none).
func checkDictLine(b []byte) (length int64, err error) {
	// Words that end or start a PDF's parts, which Sluice never writes
	// inside a dictionary: pdfcpu searches the rest of the file for
	// "xref" at each "endobj" it finds in an object, so a name made of
	// them took 47 s to refuse at 4 MiB (a hostile-input review).
	for _, w := range pdfKeywords {
		if bytes.Contains(b, []byte(w)) {
			return 0, fmt.Errorf("its dictionary holds %q, a word that ends or starts a part of a PDF", w)
		}
	}
	p := &dictParser{b: b, length: -1}
	if err := p.dict(0); err != nil {
		return 0, fmt.Errorf("its dictionary %w, at %q", err, clip(b[min(p.i, len(b)):]))
	}
	if p.i != len(b) {
		return 0, fmt.Errorf("%q after its dictionary", clip(b[p.i:]))
	}
	return p.length, nil
}

// pdfKeywords are the words checkDictLine refuses in a dictionary.
var pdfKeywords = []string{"endobj", "stream", "xref", "trailer"}

type dictParser struct {
	b      []byte
	i      int
	length int64
}

func (p *dictParser) lit(s string) bool {
	if bytes.HasPrefix(p.b[p.i:], []byte(s)) {
		p.i += len(s)
		return true
	}
	return false
}

// dict parses "<< /Key value … >>" at depth.
func (p *dictParser) dict(depth int) error {
	if depth >= maxLayoutDepth {
		return errors.New("nests deeper than Sluice writes")
	}
	if !p.lit("<<") {
		return errors.New("does not start with <<")
	}
	keys := map[string]bool{}
	for {
		if !p.space() {
			return errors.New("is not spaced as Sluice writes it")
		}
		if p.lit(">>") {
			return nil
		}
		key, ok := p.name()
		if !ok {
			return errors.New("holds a key that is not a plain name")
		}
		if keys[key] {
			return fmt.Errorf("holds /%s twice", key)
		}
		keys[key] = true
		if !p.space() {
			return fmt.Errorf("has /%s without a value", key)
		}
		start := p.i
		if err := p.value(depth); err != nil {
			return err
		}
		if key == "Length" && depth == 0 {
			if n, err := strconv.ParseInt(string(p.b[start:p.i]), 10, 64); err == nil && n >= 0 {
				p.length = n
			}
		}
	}
}

// value parses a value at depth: a name, a number, a reference "N G R",
// a literal string of printable ASCII, an array or a dictionary.
func (p *dictParser) value(depth int) error {
	switch {
	case p.i >= len(p.b):
		return errors.New("ends before a value")
	case p.b[p.i] == '/':
		if _, ok := p.name(); !ok {
			return errors.New("holds a name that is not plain")
		}
	case p.b[p.i] == '<':
		return p.dict(depth + 1)
	case p.b[p.i] == '[':
		if depth+1 >= maxLayoutDepth {
			return errors.New("nests deeper than Sluice writes")
		}
		p.i++
		for first := true; ; first = false {
			if p.lit("]") {
				return nil
			}
			if !first && !p.space() {
				return errors.New("is not spaced as Sluice writes it")
			}
			if p.lit("]") {
				return nil
			}
			if err := p.value(depth + 1); err != nil {
				return err
			}
		}
	case p.b[p.i] == '(':
		// Printable ASCII; a parenthesis or backslash only escaped, an
		// escape only one of ISO 32000-1 table 3's.
		j := p.i + 1
		for ; j < len(p.b) && p.b[j] != ')'; j++ {
			c := p.b[j]
			switch {
			case c == '(' || c < 0x20 || c > 0x7e:
				return errors.New("holds a string that is not plain")
			case c == '\\':
				j++
				if j >= len(p.b) || !bytes.ContainsRune([]byte("nrtbf()\\01234567"), rune(p.b[j])) {
					return errors.New("holds a string with an escape Sluice does not read")
				}
			}
		}
		if j >= len(p.b) {
			return errors.New("holds a string that does not end")
		}
		p.i = j + 1
	default:
		start := p.i
		if p.number() == 0 {
			return errors.New("holds a value Sluice does not write")
		}
		// A reference, "N G R", of two unsigned integers ("1.5 0 R" is a
		// number, then what pdfcpu reads only leniently).
		if !unsigned(p.b[start:p.i]) {
			return nil
		}
		save := p.i
		if p.space() {
			g := p.i
			if p.number() > 0 && unsigned(p.b[g:p.i]) && p.space() && p.lit("R") {
				return nil
			}
		}
		p.i = save
	}
	return nil
}

// space skips one or more spaces, and says whether there was one.
func (p *dictParser) space() bool {
	j := p.i
	for j < len(p.b) && p.b[j] == ' ' {
		j++
	}
	ok := j > p.i
	p.i = j
	return ok
}

// name parses "/Name" (letters, digits, ".", "-", "+", "_"; no # escape)
// and returns it without its slash.
func (p *dictParser) name() (string, bool) {
	if p.i >= len(p.b) || p.b[p.i] != '/' {
		return "", false
	}
	j := p.i + 1
	for j < len(p.b) && (isAlnum(p.b[j]) || p.b[j] == '.' || p.b[j] == '-' || p.b[j] == '+' || p.b[j] == '_') {
		j++
	}
	// It ends where a delimiter does: "/X#zz" is not the name /X.
	if j == p.i+1 || j-p.i > 128 || j < len(p.b) && !bytes.ContainsRune([]byte(" /[]<>()"), rune(p.b[j])) {
		return "", false
	}
	s := string(p.b[p.i+1 : j])
	p.i = j
	return s, true
}

// unsigned says whether b is digits only.
func unsigned(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

// number parses an integer or a decimal ("-1", "7.68") and returns its
// length, 0 when there is none.
func (p *dictParser) number() int {
	j := p.i
	if j < len(p.b) && p.b[j] == '-' {
		j++
	}
	digits := j
	for j < len(p.b) && p.b[j] >= '0' && p.b[j] <= '9' {
		j++
	}
	if j == digits || j-digits > 20 {
		return 0
	}
	if j < len(p.b) && p.b[j] == '.' {
		k := j + 1
		for k < len(p.b) && p.b[k] >= '0' && p.b[k] <= '9' {
			k++
		}
		if k == j+1 {
			return 0
		}
		j = k
	}
	n := j - p.i
	p.i = j
	return n
}
