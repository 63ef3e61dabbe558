package bundle

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Limits on one path inside a bundle. They keep names portable to every
// filesystem an officer may release onto (FAT32, exFAT, NTFS, ext4).
const (
	MaxPathLen      = 1024
	MaxComponentLen = 255
	MaxDepth        = 64
)

// checkPath reports why p is not a safe, portable relative path for a bundle
// entry: slash-separated, no empty, "." or ".." parts, no absolute or drive
// paths, no characters that hide or disguise what a name says, no
// characters or names Windows refuses. docs/FORMAT.md ("Names") states the
// rule.
func checkPath(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("empty name")
	case len(p) > MaxPathLen:
		return fmt.Errorf("name longer than %d bytes", MaxPathLen)
	case !utf8.ValidString(p):
		return fmt.Errorf("name is not valid UTF-8")
	case strings.HasPrefix(p, "/"):
		return fmt.Errorf("absolute path")
	}
	parts := strings.Split(p, "/")
	if len(parts) > MaxDepth {
		return fmt.Errorf("more than %d levels deep", MaxDepth)
	}
	for _, part := range parts {
		if err := checkComponent(part); err != nil {
			return err
		}
	}
	return nil
}

// windowsReserved are the device names Windows opens instead of a file, with
// or without an extension ("CON.txt" is the console too). Source: Microsoft,
// "Naming Files, Paths, and Namespaces"; CONIN$ and CONOUT$ are the console's
// input and output, and COM0/LPT0 and the superscript digits are listed
// there too.
var windowsReserved = map[string]bool{
	"CON": true, "PRN": true, "AUX": true, "NUL": true, "CONIN$": true, "CONOUT$": true, "CLOCK$": true,
	"COM0": true, "COM1": true, "COM2": true, "COM3": true, "COM4": true, "COM5": true, "COM6": true, "COM7": true, "COM8": true, "COM9": true,
	"LPT0": true, "LPT1": true, "LPT2": true, "LPT3": true, "LPT4": true, "LPT5": true, "LPT6": true, "LPT7": true, "LPT8": true, "LPT9": true,
	"COM¹": true, "COM²": true, "COM³": true, "LPT¹": true, "LPT²": true, "LPT³": true,
}

func checkComponent(c string) error {
	switch {
	case c == "":
		return fmt.Errorf("empty path component")
	case c == "." || c == "..":
		return fmt.Errorf("%q path component", c)
	case len(c) > MaxComponentLen:
		return fmt.Errorf("path component longer than %d bytes", MaxComponentLen)
	case strings.HasSuffix(c, ".") || strings.HasSuffix(c, " "):
		return fmt.Errorf("name ends with a dot or space, which Windows refuses")
	}
	ascii := isASCII(c)
	for _, r := range c {
		if why := hiddenRune(r); why != "" {
			return fmt.Errorf("name holds %s (U+%04X), which can make it show as another name", why, r)
		}
		if strings.ContainsRune(`<>:"\|?*`, r) {
			return fmt.Errorf("character %q in name, which Windows refuses", r)
		}
	}
	if !ascii { // ASCII letters are all Latin
		if a, b := mixedScripts(c); a != "" {
			return fmt.Errorf("name mixes %s and %s letters, as look-alike names do", a, b)
		}
	}
	// The reserved names are 3 to 7 bytes long; upper-casing at most halves
	// a name's length ("ı" is two bytes, its "I" one), so longer names
	// cannot be one and skip the upper-casing.
	base, _, _ := strings.Cut(c, ".")
	if b := strings.TrimRight(base, " "); len(b) >= 3 && len(b) <= 2*len("CONOUT$") && windowsReserved[strings.ToUpper(b)] {
		return fmt.Errorf("reserved Windows device name %q", base)
	}
	return nil
}

// hiddenRune says why r may not appear in a name, or "" if it may: control
// characters, bidirectional and other format controls (U+202E shows
// "invoice<RLO>txt.exe" as "invoiceexe.txt"), zero-width and other
// default-ignorable characters and U+2800 BRAILLE PATTERN BLANK (two names
// that differ only by one look the same), line and paragraph separators, spaces other than U+0020 and the
// ideographic space, private-use and unassigned code points.
func hiddenRune(r rune) string {
	if r < utf8.RuneSelf { // every printable ASCII character is in L, N, P, S or is U+0020
		if r < 0x20 || r == 0x7f {
			return "a control character"
		}
		return ""
	}
	switch {
	case r < 0x20 || r == 0x7f || unicode.Is(unicode.Cc, r):
		return "a control character"
	case unicode.Is(unicode.Bidi_Control, r):
		return "a bidirectional control"
	case unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Variation_Selector, r) ||
		unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) || r == '\u2800':
		return "an invisible character"
	case unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r):
		return "a line or paragraph separator"
	case unicode.Is(unicode.Zs, r) && r != ' ' && r != '\u3000':
		return "a space other than U+0020"
	case unicode.Is(unicode.Co, r):
		return "a private-use character"
	case !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Zs):
		return "an unassigned character"
	}
	return ""
}

// confusableScripts are the scripts whose letters pass for one another
// (Unicode TS #39, "Moderately Restrictive": Latin may not mix with Cyrillic
// or Greek, nor those with each other).
var confusableScripts = []struct {
	name  string
	table *unicode.RangeTable
}{{"Latin", unicode.Latin}, {"Cyrillic", unicode.Cyrillic}, {"Greek", unicode.Greek}}

// mixedScripts returns two of the confusable scripts whose letters one word
// of c mixes ("pаypal" with a Cyrillic а), or "", "". Words are runs of
// letters and marks, so "Пример.txt" is two words, each of one script.
func mixedScripts(c string) (string, string) {
	first := ""
	for _, r := range c {
		if !unicode.IsLetter(r) && !unicode.IsMark(r) {
			first = ""
			continue
		}
		for _, s := range confusableScripts {
			if unicode.Is(s.table, r) {
				if first == "" {
					first = s.name
				} else if first != s.name {
					return first, s.name
				}
				break
			}
		}
	}
	return "", ""
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

var folder = cases.Fold()

// lookalikes maps Cyrillic and Greek letters to the Latin letters they are
// drawn as in common fonts: the part of Unicode's confusables.txt (UTS #39)
// that lets a whole-script name pass for a Latin one ("соре.pdf" in
// Cyrillic beside "cope.pdf"). Names are compared through it, so two such
// names in one bundle collide; either alone is fine.
var lookalikes = strings.NewReplacer(
	// Cyrillic
	"А", "A", "В", "B", "Е", "E", "К", "K", "М", "M", "Н", "H", "О", "O", "Р", "P", "С", "C", "Т", "T", "Х", "X", "У", "Y",
	"Ѕ", "S", "І", "I", "Ј", "J", "Ԛ", "Q", "Ԝ", "W", "Ӏ", "I",
	"а", "a", "е", "e", "о", "o", "р", "p", "с", "c", "у", "y", "х", "x", "ѕ", "s", "і", "i", "ј", "j",
	"ԁ", "d", "ԛ", "q", "ԝ", "w", "һ", "h", "ӏ", "l", "ү", "y",
	// Greek
	"Α", "A", "Β", "B", "Ε", "E", "Ζ", "Z", "Η", "H", "Ι", "I", "Κ", "K", "Μ", "M", "Ν", "N", "Ο", "O", "Ρ", "P", "Τ", "T",
	"Υ", "Y", "Χ", "X", "ο", "o", "ν", "v", "ι", "i", "α", "a", "κ", "k", "ρ", "p", "υ", "u", "χ", "x",
	// Latin letters that pass for others
	"ı", "i", "ȷ", "j",
)

// foldComponent is the key under which two names collide: on a
// case-insensitive filesystem, or to the eye (compatibility forms such as
// full-width letters or the "ﬁ" ligature, composed and decomposed accents,
// Cyrillic and Greek letters drawn like Latin ones).
func foldComponent(c string) string {
	for i := 0; i < len(c); i++ {
		if c[i] >= utf8.RuneSelf {
			return folder.String(norm.NFKC.String(lookalikes.Replace(norm.NFKC.String(c))))
		}
	}
	return strings.ToLower(c)
}
