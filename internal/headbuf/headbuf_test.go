package headbuf

import (
	"strings"
	"testing"
)

func TestKeepsTheFirstBytes(t *testing.T) {
	var h Buffer
	n, err := h.Write([]byte(strings.Repeat("a", Size-1)))
	if n != Size-1 || err != nil {
		t.Fatal(n, err)
	}
	if n, _ := h.Write([]byte("bcd")); n != 3 {
		t.Fatalf("Write reported %d", n)
	}
	if s := h.String(); len(s) != Size || !strings.HasSuffix(s, "ab") {
		t.Fatalf("kept %d bytes ending %q", len(s), s[len(s)-2:])
	}
}

// Both ways Go's runtime dies at its memory limit, and a C tool's, say
// out of memory; other deaths do not.
func TestOutOfMemory(t *testing.T) {
	for msg, want := range map[string]bool{
		"fatal error: runtime: out of memory\n\ngoroutine 1":          true,
		"fatal error: runtime: cannot allocate memory\n\ngoroutine 1": true,
		"mutool: error: malloc (123 bytes) failed\n":                  true,
		"panic: runtime error: index out of range [3]\n":              false,
		"": false,
	} {
		var h Buffer
		h.Write([]byte(msg))
		if got := h.OutOfMemory(); got != want {
			t.Errorf("%q: OutOfMemory = %v", msg, got)
		}
	}
}
