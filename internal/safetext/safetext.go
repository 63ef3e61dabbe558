// Package safetext makes text that Sluice did not write safe to show: names,
// notes, station names, reasons and paths that come from a bundle, a card,
// a manifest, a custody log or a drive. Terminal escape sequences, control
// characters, bidirectional overrides, invisible characters and line
// separators could repaint an officer's screen ("signature valid" over
// "INVALID") or disguise a name ("invoice<U+202E>txt.exe" shows as
// "invoiceexe.txt"), so they are shown escaped, Go-style: \x1b, \u202e,
// \n. Everything else, accents and every script included, is shown as is.
package safetext

import (
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Hidden reports whether r must not be shown raw: it is not printable (a
// control character, a format or bidirectional control, a line or paragraph
// separator, a space other than U+0020, a private-use or unassigned code
// point), or is printable but invisible (variation selectors and other
// default-ignorable code points such as U+3164 HANGUL FILLER, and U+2800
// BRAILLE PATTERN BLANK).
func Hidden(r rune) bool {
	if r < utf8.RuneSelf {
		return r < 0x20 || r == 0x7f
	}
	return !unicode.IsPrint(r) || unicode.Is(unicode.Variation_Selector, r) ||
		unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) || r == '\u2800'
}

// Line returns s on one line with every hidden character, newlines and tabs
// included, and every byte that is not UTF-8, escaped.
func Line(s string) string { return escape(s, false) }

// Block is Line that keeps newlines and tabs: for multi-line text such as a
// card or a log line's detail view.
func Block(s string) string { return escape(s, true) }

func escape(s string, keepLines bool) string {
	clean := true
	for i, r := range s {
		if r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD") || Hidden(r) && !(keepLines && (r == '\n' || r == '\t')) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case keepLines && (r == '\n' || r == '\t'):
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case Hidden(r) && r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		case Hidden(r) && r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		case Hidden(r):
			fmt.Fprintf(&b, `\U%08x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// Writer returns a writer that escapes, in everything written through it,
// every hidden character except newline and tab (see Block). The CLI writes
// all its output through one, so no text from a bundle, card, manifest, log
// or drive can reach the terminal raw, whatever path it took. A character
// split across two writes is held until its end arrives.
func Writer(w io.Writer) io.Writer { return &writer{w: w} }

type writer struct {
	w    io.Writer
	held []byte
}

func (w *writer) Write(p []byte) (int, error) {
	buf := append(w.held, p...)
	w.held = nil
	// Hold back an incomplete character at the end.
	cut := len(buf)
	for k := 1; k <= 3 && k <= len(buf); k++ {
		c := buf[len(buf)-k]
		if c < utf8.RuneSelf {
			break
		}
		if utf8.RuneStart(c) {
			if !utf8.FullRune(buf[len(buf)-k:]) {
				cut = len(buf) - k
			}
			break
		}
	}
	w.held = append([]byte(nil), buf[cut:]...)
	if _, err := io.WriteString(w.w, escape(string(buf[:cut]), true)); err != nil {
		return 0, err
	}
	return len(p), nil
}
