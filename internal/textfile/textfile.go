// Package textfile reads the small text files people carry between
// machines (station cards, saved checkpoints) the same way everywhere: a
// file saved on Windows (CRLF line ends, a UTF-8 byte-order mark) means the
// same as the original, and a file that is not UTF-8 text at all (UTF-16, a
// legacy code page, binary) is an error that says so and what to do, rather
// than a verdict on its content.
package textfile

import (
	"bytes"
	"errors"
	"fmt"
	"unicode/utf8"

	"sluice/internal/regfile"
)

// ErrNotText is wrapped by every error about a file's encoding: the file
// could not be read as text, so nothing was judged about what it says.
var ErrNotText = errors.New("not UTF-8 text")

// Error says what is wrong with a file's encoding.
type Error struct {
	Name    string // the file, or what it is ("card")
	Problem string // "is UTF-16 text"
	Fix     string // "save it as UTF-8 and try again"
}

func (e *Error) Error() string        { return e.Name + " " + e.Problem + "; " + e.Fix }
func (e *Error) Is(target error) bool { return target == ErrNotText }

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// Normalize checks that b is UTF-8 text and returns it with a UTF-8
// byte-order mark removed, CRLF (and lone CR) line ends turned into LF, and
// a final newline if the last line had none. name says what b is, for the
// error. Text already in that form comes back unchanged (the same slice).
func Normalize(name string, b []byte) ([]byte, error) {
	notText := func(problem, fix string) error { return &Error{name, problem, fix} }
	switch {
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}) || bytes.HasPrefix(b, []byte{0xFE, 0xFF}) || looksUTF16(b):
		return nil, notText("is UTF-16 text", "save it as UTF-8 and try again")
	case len(bytes.TrimSpace(bytes.TrimPrefix(b, utf8BOM))) == 0:
		return nil, notText("is empty", "copy it again from where it was made")
	case bytes.IndexByte(b, 0) >= 0:
		return nil, notText("is not text (it holds NUL bytes)", "check that it is the right file and copy it again")
	}
	for bytes.HasPrefix(b, utf8BOM) {
		b = b[len(utf8BOM):]
	}
	if !utf8.Valid(b) {
		return nil, notText("is not UTF-8 text (it may be in a legacy code page such as Windows-1252, or damaged)", "save it as UTF-8 and try again")
	}
	if bytes.IndexByte(b, '\r') >= 0 {
		b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
		b = bytes.ReplaceAll(b, []byte("\r"), []byte("\n"))
	}
	b = trimBlank(b)
	if b[len(b)-1] != '\n' {
		b = append(b[:len(b):len(b)], '\n')
	}
	return b, nil
}

// trimBlank drops blank lines before the first line and after the last,
// and spaces and tabs at the ends of lines, as editors and mail programs
// add them: neither a card nor a signed note (whose blank line between
// text and signatures stays) has them. Text without them is returned as is.
func trimBlank(b []byte) []byte {
	lines := bytes.Split(b, []byte("\n"))
	changed := false
	for i, l := range lines {
		if t := bytes.TrimRight(l, " \t"); len(t) != len(l) {
			lines[i], changed = t, true
		}
	}
	for len(lines) > 1 && len(lines[0]) == 0 {
		lines, changed = lines[1:], true
	}
	// A final newline leaves one empty element; more are blank lines.
	for len(lines) > 2 && len(lines[len(lines)-1]) == 0 && len(lines[len(lines)-2]) == 0 {
		lines, changed = lines[:len(lines)-1], true
	}
	if !changed {
		return b
	}
	return bytes.Join(lines, []byte("\n"))
}

// looksUTF16 spots UTF-16 without a byte-order mark: mostly ASCII text has a
// NUL in every other byte.
func looksUTF16(b []byte) bool {
	n := min(len(b), 512) &^ 1
	if n < 4 {
		return false
	}
	var even, odd int
	for i := 0; i < n; i += 2 {
		if b[i] == 0 {
			even++
		}
		if b[i+1] == 0 {
			odd++
		}
	}
	half := n / 2
	return (even > half*3/4 && odd == 0) || (odd > half*3/4 && even == 0)
}

// ReadFile reads path, refusing one larger than max bytes, and normalises
// it (see Normalize); errors name the file as given.
func ReadFile(path string, max int64) ([]byte, error) {
	b, err := regfile.ReadFile(path, max) // never a FIFO, device or last-component link
	if errors.Is(err, regfile.ErrTooLarge) {
		return nil, fmt.Errorf("%s is larger than %d bytes; check that it is the right file", path, max)
	}
	if err != nil {
		return nil, err
	}
	return Normalize(path, b)
}
