package transform

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/unicode"
	xtransform "golang.org/x/text/transform"
)

// textDecoder returns the decoder of a declared encoding (an IANA or WHATWG
// name: "windows-1252", "iso-8859-1", "shift_jis").
func textDecoder(name string) (*encoding.Decoder, error) {
	e, err := htmlindex.Get(name)
	if err != nil {
		return nil, fmt.Errorf("transform: unknown text encoding %q; give a name such as windows-1252 or iso-8859-15", name)
	}
	return e.NewDecoder(), nil
}

// A removal is a class of character cleaning removes from text.
type removal int

const (
	kept removal = iota
	// removedControl: C0 controls other than tab, newline and carriage
	// return, DEL, and C1 controls, which no text editor shows and which
	// terminals may obey.
	removedControl
	// removedBidi: the explicit bidirectional formatting characters
	// (Unicode UAX #9: LRE, RLE, PDF, LRO, RLO U+202A–202E; LRI, RLI, FSI,
	// PDI U+2066–2069), which reorder how text shows without changing what
	// a program reads: "Trojan Source", CVE-2021-42574, the set GCC's
	// -Wbidi-chars and rustc's text_direction_codepoint lints flag. The
	// implicit marks (LRM, RLM, ALM) stay: they move no text.
	removedBidi
	// removedTag: the tag characters U+E0000–E007F, which show as nothing
	// and can carry a hidden copy of ASCII text ("ASCII smuggling"); their
	// one other use, the subdivision flags (England, Scotland, Wales),
	// shows as a plain black flag without them.
	removedTag
	removals
)

// removalNames name each class: one character (in Verify's errors), and
// many, with why, in the transformation's notes.
var removalNames = [removals]struct{ one, many, why string }{
	removedControl: {"a control character", "control characters", ""},
	removedBidi: {"a bidirectional formatting character", "bidirectional formatting characters",
		" (U+202A–202E, U+2066–2069: they can make text read differently from how it shows, CVE-2021-42574)"},
	removedTag: {"a tag character", "tag characters", " (U+E0000–E007F: invisible)"},
}

// dropped says whether cleaning removes r from text, and why.
func dropped(r rune) removal {
	switch {
	case r < 0x20 && r != '\t' && r != '\n' && r != '\r', r >= 0x7f && r <= 0x9f:
		return removedControl
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return removedBidi
	case r >= 0xe0000 && r <= 0xe007f:
		return removedTag
	}
	return kept
}

// transformText copies text as UTF-8 without the characters dropped
// removes, line endings kept. Text that is not UTF-8 is converted from UTF-16 when it
// starts with a byte-order mark, or from Config.TextEncoding when one is
// declared; otherwise it is not transformed.
func (t *Transformer) transformText(f *os.File, name string, o *outputs, res *Result) error {
	head := make([]byte, 2)
	n, _ := f.ReadAt(head, 0)
	var src io.Reader = io.NewSectionReader(f, 0, 1<<62)
	switch {
	case n == 2 && (bytes.Equal(head, []byte{0xff, 0xfe}) || bytes.Equal(head, []byte{0xfe, 0xff})):
		// BOMOverride drops the mark; the output starts without one.
		src = xtransform.NewReader(src, unicode.BOMOverride(unicode.UTF8.NewDecoder()))
		res.Notes = append(res.Notes, "converted from UTF-16 to UTF-8")
	case t.cfg.TextEncoding != "":
		if !validUTF8(io.NewSectionReader(f, 0, 1<<62)) {
			dec, _ := textDecoder(t.cfg.TextEncoding)
			src = xtransform.NewReader(src, dec)
			res.Notes = append(res.Notes, "converted from "+t.cfg.TextEncoding+" to UTF-8")
		}
	}
	out, err := o.create(name)
	if err != nil {
		return err
	}
	removed, err := cleanText(src, out)
	if err != nil {
		return err
	}
	for k, n := range removed {
		if n > 0 {
			res.Notes = append(res.Notes, fmt.Sprintf("%d %s removed%s", n, removalNames[k].many, removalNames[k].why))
		}
	}
	res.Tool, res.ToolVersion = "sluice", t.version("sluice")
	return nil
}

func validUTF8(r io.Reader) bool {
	_, err := cleanText(r, io.Discard)
	return err == nil
}

// cleanText copies r to w without the characters dropped removes, counted
// by class; text that is not UTF-8 is an error naming the byte offset.
func cleanText(r io.Reader, w io.Writer) (removed [removals]int, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	bw := bufio.NewWriterSize(w, 64<<10)
	var off int64
	for {
		c, size, err := br.ReadRune()
		if err == io.EOF {
			break
		}
		if err != nil {
			return removed, err
		}
		if c == utf8.RuneError && size == 1 {
			return removed, fmt.Errorf("not UTF-8 text (byte %d); declare its encoding, such as windows-1252, to have it converted", off)
		}
		off += int64(size)
		if k := dropped(c); k != kept {
			removed[k]++
			continue
		}
		bw.WriteRune(c)
	}
	return removed, bw.Flush()
}
