package safetext

import (
	"bytes"
	"strings"
	"testing"
)

func TestLine(t *testing.T) {
	cases := map[string]string{
		"plain name.txt":                  "plain name.txt",
		"résumé Пример 報告\u3000書":         `résumé Пример 報告\u3000書`,
		"\x1b[1A\x1b[2Ksignature   valid": `\x1b[1A\x1b[2Ksignature   valid`,
		"invoice\u202etxt.exe":            `invoice\u202etxt.exe`,
		"a\u200bb":                        `a\u200bb`,
		"line\u2028sep\npara\u2029":       `line\u2028sep\npara\u2029`,
		"tab\there\r":                     `tab\there\r`,
		"bad \xff byte":                   `bad \xff byte`,
		"c1 \u009b31m":                    `c1 \x9b31m`,
		"filler\u3164 vs\ufe0f":           `filler\u3164 vs\ufe0f`,
		"nbsp\u00a0":                      `nbsp\xa0`,
		"replacement \uFFFD stays":        "replacement \uFFFD stays",
		"tag \U000e0041":                  `tag \U000e0041`,
	}
	for in, want := range cases {
		if got := Line(in); got != want {
			t.Errorf("Line(%+q) = %q, want %q", in, got, want)
		}
	}
	if got := Block("two\nlines\tand \x1b]0;title\x07"); got != "two\nlines\tand \\x1b]0;title\\x07" {
		t.Errorf("Block: %q", got)
	}
}

func TestWriter(t *testing.T) {
	var out bytes.Buffer
	w := Writer(&out)
	msg := "signature\tINVALID\n\x1b[1Fsignature\tvalid\n日本\u202e"
	// Write one byte at a time: characters split across writes survive.
	for i := 0; i < len(msg); i++ {
		w.Write([]byte{msg[i]})
	}
	got := out.String()
	if strings.ContainsRune(got, 0x1b) || strings.ContainsRune(got, 0x202e) {
		t.Fatalf("raw escape reached the output: %q", got)
	}
	if want := "signature\tINVALID\n\\x1b[1Fsignature\tvalid\n日本\\u202e"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func FuzzLine(f *testing.F) {
	f.Add("\x1b[2Kok\u202e")
	f.Fuzz(func(t *testing.T, s string) {
		out := Line(s)
		for _, r := range out {
			if Hidden(r) {
				t.Fatalf("Line(%q) = %q keeps a hidden character", s, out)
			}
		}
	})
}
