package textfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"
)

func utf16LE(s string, bom bool) []byte {
	var b []byte
	if bom {
		b = append(b, 0xFF, 0xFE)
	}
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}

func utf16BE(s string, bom bool) []byte {
	var b []byte
	if bom {
		b = append(b, 0xFE, 0xFF)
	}
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u>>8), byte(u))
	}
	return b
}

func TestNormalize(t *testing.T) {
	const text = "sluice-custody/st\n12\nabc=\n\n— sluice-custody/st xyz=\n"
	for _, c := range []struct {
		name string
		in   []byte
		says string // "" for text that normalises to text
	}{
		{"LF", []byte(text), ""},
		{"CRLF", []byte(strings.ReplaceAll(text, "\n", "\r\n")), ""},
		{"CR", []byte(strings.ReplaceAll(text, "\n", "\r")), ""},
		{"UTF-8 BOM and CRLF", append([]byte("\xEF\xBB\xBF"), strings.ReplaceAll(text, "\n", "\r\n")...), ""},
		{"no final newline", []byte(strings.TrimSuffix(text, "\n")), ""},
		{"trailing blank lines", []byte(text + "\n\n"), ""},
		{"leading blank lines", []byte("\n\r\n" + text), ""},
		{"trailing spaces", []byte(strings.ReplaceAll(text, "\n", " \t\n") + "   \n"), ""},
		{"UTF-16LE with BOM", utf16LE(text, true), "x.txt is UTF-16 text; save it as UTF-8 and try again"},
		{"UTF-16BE with BOM", utf16BE(text, true), "x.txt is UTF-16 text; save it as UTF-8 and try again"},
		{"UTF-16LE without BOM", utf16LE(text, false), "x.txt is UTF-16 text"},
		{"UTF-16BE without BOM", utf16BE(text, false), "x.txt is UTF-16 text"},
		{"binary", []byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00>\x00"), "x.txt is not text (it holds NUL bytes)"},
		{"Windows-1252", []byte("name: caf\xe9\n"), "x.txt is not UTF-8 text"},
		{"empty", nil, "x.txt is empty"},
		{"blank", []byte("\xEF\xBB\xBF\r\n \r\n"), "x.txt is empty"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := Normalize("x.txt", c.in)
			if c.says == "" {
				if err != nil || string(got) != text {
					t.Fatalf("got %q, %v; want %q", got, err, text)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrNotText) || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("error %v; want one saying %q", err, c.says)
			}
		})
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "card.txt")
	os.WriteFile(p, []byte("a\r\nb"), 0o644)
	if b, err := ReadFile(p, 100); err != nil || string(b) != "a\nb\n" {
		t.Fatalf("ReadFile: %q %v", b, err)
	}
	if _, err := ReadFile(p, 3); err == nil || !strings.Contains(err.Error(), "larger than 3 bytes") {
		t.Fatalf("too large: %v", err)
	}
	os.WriteFile(p, utf16LE("a\r\nb", true), 0o644)
	if _, err := ReadFile(p, 100); err == nil || err.Error() != p+" is UTF-16 text; save it as UTF-8 and try again" {
		t.Fatalf("UTF-16: %v", err)
	}
	if _, err := ReadFile(filepath.Join(dir, "missing"), 100); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing: %v", err)
	}
}

func FuzzNormalize(f *testing.F) {
	f.Add([]byte("a\r\nb"))
	f.Add([]byte{0xFF, 0xFE, 'a', 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := Normalize("f", b)
		if err != nil {
			return
		}
		again, err := Normalize("f", got)
		if err != nil || string(again) != string(got) {
			t.Fatalf("not idempotent: %q -> %q (%v)", got, again, err)
		}
	})
}
