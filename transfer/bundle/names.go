package bundle

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
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
// paths, no control characters, no characters or names Windows refuses.
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

var windowsReserved = map[string]bool{
	"CON": true, "PRN": true, "AUX": true, "NUL": true,
	"COM1": true, "COM2": true, "COM3": true, "COM4": true, "COM5": true, "COM6": true, "COM7": true, "COM8": true, "COM9": true,
	"LPT1": true, "LPT2": true, "LPT3": true, "LPT4": true, "LPT5": true, "LPT6": true, "LPT7": true, "LPT8": true, "LPT9": true,
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
	for _, r := range c {
		if r < 0x20 || r == 0x7f || unicode.IsControl(r) {
			return fmt.Errorf("control character in name")
		}
		if strings.ContainsRune(`<>:"\|?*`, r) {
			return fmt.Errorf("character %q in name, which Windows refuses", r)
		}
	}
	base, _, _ := strings.Cut(c, ".")
	if windowsReserved[strings.ToUpper(strings.TrimRight(base, " "))] {
		return fmt.Errorf("reserved Windows device name %q", base)
	}
	return nil
}

// foldName is the key under which two names collide on a case-insensitive
// filesystem.
func foldName(p string) string { return strings.ToLower(strings.ToUpper(p)) }
