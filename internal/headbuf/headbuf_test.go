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
