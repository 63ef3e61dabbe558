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

// dropped reports whether r is removed from text: C0 controls other than
// tab, newline and carriage return, DEL, and C1 controls (which no text
// editor shows, and which terminals may obey).
func dropped(r rune) bool {
	return (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || (r >= 0x7f && r <= 0x9f)
}

// transformText copies text as UTF-8 without control characters, line
// endings kept. Text that is not UTF-8 is converted from UTF-16 when it
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
	if removed > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("%d control characters removed", removed))
	}
	res.Tool, res.ToolVersion = "sluice", t.version("sluice")
	return nil
}

func validUTF8(r io.Reader) bool {
	_, err := cleanText(r, io.Discard)
	return err == nil
}

// cleanText copies r to w, dropping control characters; text that is not
// UTF-8 is an error naming the byte offset.
func cleanText(r io.Reader, w io.Writer) (removed int, err error) {
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
		if dropped(c) {
			removed++
			continue
		}
		bw.WriteRune(c)
	}
	return removed, bw.Flush()
}
