package transform

import "testing"

// TestKindOf agrees with Plan wherever Plan has its tools, and needs none.
func TestKindOf(t *testing.T) {
	for _, c := range []struct {
		name string
		head string
		want Action
	}{
		{"a.png", "\x89PNG\r\n\x1a\n....", ActionReencodeImage},
		{"a.pdf", "%PDF-1.7\n", ActionPDFOfImages},
		{"a.docx", "PK\x03\x04....", ActionPDFOfImages},
		{"a.doc", "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", ActionPDFOfImages},
		{"a.docx", "not a zip", ActionHold},
		{"a.txt", "words\n", ActionCleanText},
		{"a.txt", "bin\x00ary", ActionHold},
		{"a.bin", "\x00\x01", ActionHold},
		{"noext", "words", ActionHold},
		{"a.pdf", "junk before the header, as readers accept", ActionPDFOfImages},
		{"a.PDF", "", ActionPDFOfImages},
		{"a.dotx", "PK\x03\x04....", ActionPDFOfImages},
		{"a.PPSX", "PK\x03\x04....", ActionPDFOfImages},
		{"a.xlsb", "PK\x03\x04....", ActionPDFOfImages},
		{"a.pps", "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", ActionPDFOfImages},
	} {
		if got := KindOf(c.name, []byte(c.head)); got != c.want {
			t.Errorf("KindOf(%q, %q) = %s, want %s", c.name, c.head, got, c.want)
		}
	}
}
