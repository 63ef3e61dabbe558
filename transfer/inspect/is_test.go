package inspect

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gabriel-vasile/mimetype"
)

// is, remembered by bare type, answers as mimetype's Is for every type
// Sluice asks about, on each type and ancestor of a range of contents:
// aliased types (3GP), types mimetype lists twice (JSON, QuickTime), and
// text cloned to carry a charset the content declares. Those charsets,
// chosen by content, do not grow the memo.
func TestIsMatchesMimetype(t *testing.T) {
	asked := map[string]bool{"text/plain": true, "application/zip": true, "application/x-7z-compressed": true,
		"application/pdf": true, "application/x-tar": true, "application/octet-stream": true, "application/vnd.ms-fontobject": true,
		"video/3gp": true, "audio/3gpp": true, "video/3gpp": true, "application/json": true, "video/quicktime": true}
	for _, types := range extTypes {
		for _, x := range types {
			asked[x] = true
		}
	}
	contents := []string{
		"%PDF-1.7\n", "PK\x03\x04\x14\x00\x00\x00\x08\x00", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "GIF89a", "\xff\xd8\xff\xe0",
		"\x00\x00\x00\x14ftyp3gp4\x00\x00\x00\x00", "\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00moov", "{\"a\": [1, 2]}",
		`{"log":{"version":"1.2","entries":[]}}`, "MZ\x90\x00", "7z\xbc\xaf\x27\x1c", "\x1f\x8b\x08\x00",
		"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "hello, world\n", "\xef\xbb\xbfbom text\n", "caf\xe9 latin-1\n",
		"<html><head><meta charset=\"koi8-r\"></head></html>", "<?xml version=\"1.0\" encoding=\"x-made-up\"?><a/>",
		"\x00\x01\x02\x03random",
	}
	for i := range 50 {
		contents = append(contents, fmt.Sprintf("<html><head><meta charset=\"chosen-by-content-%d\"></head></html>", i))
	}
	cloned := 0
	for _, c := range contents {
		if m := mimetype.Detect([]byte(c)); strings.Contains(m.String(), "charset=chosen-by-content") {
			cloned++
		}
		for p := mimetype.Detect([]byte(c)); p != nil; p = p.Parent() {
			for x := range asked {
				if got, want := is(p, x), p.Is(x); got != want {
					t.Errorf("%q: is(%s, %s) = %v, mimetype says %v", c, p, x, got, want)
				}
			}
		}
	}
	if cloned != 50 {
		t.Fatalf("%d of 50 types carried the charset their content chose: the test proves less than it says", cloned)
	}
	isMu.RLock()
	defer isMu.RUnlock()
	if n := len(isMemo); n > 64*len(asked) {
		t.Errorf("the memo holds %d answers for %d types asked about", n, len(asked))
	}
	for k := range isMemo {
		if k.mime != bareMIME(mimetype.Lookup(k.mime)) {
			t.Errorf("memo key %q is not a bare type of mimetype's", k.mime)
		}
	}
}
