package inspect

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/gabriel-vasile/mimetype"
)

// is, remembered by type, answers as mimetype's Is for every type Sluice
// asks about, on each type and ancestor of a range of contents, whatever
// was asked before: aliased types (3GP), types mimetype lists twice
// (JSON, QuickTime), text cloned to carry a charset, and charsets the
// content declares, among them a repeated parameter, for which Is says
// false (found by review: remembered by bare type, one HTML file's answer
// was every later one's). Charsets chosen by content do not grow the memo.
func TestIsMatchesMimetype(t *testing.T) {
	asked := map[string]bool{"text/plain": true, "text/html": true, "text/xml": true, "application/zip": true, "application/x-7z-compressed": true,
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
		"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "hello, world\n", "\xef\xbb\xbfbom text\n", "\xff\xfeu\x00t\x00f\x001\x006\x00", "caf\xe9 latin-1\n",
		"<html><head><meta charset=\"koi8-r\"></head></html>", "<?xml version=\"1.0\" encoding=\"x-made-up\"?><a/>",
		"<html><head><meta charset=\"a;charset=b\"></head><body>x</body></html>", "<html><head><meta charset=\"utf-8\"></head><body>x</body></html>",
		"<html><head></head><body>x</body></html>", "<?xml version=\"1.0\" encoding=\"a;charset=b\"?><a/>", "<?xml version=\"1.0\"?><a/>",
		"\x00\x01\x02\x03random",
	}
	for i := range 50 {
		contents = append(contents, fmt.Sprintf("<html><head><meta charset=\"chosen-by-content-%d\"></head></html>", i))
	}
	reset := func() {
		isMu.Lock()
		clear(isMemo)
		isMu.Unlock()
	}
	cloned := 0
	check := func(c string) {
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
	for _, c := range contents { // each on its own
		reset()
		check(c)
	}
	reset()
	for _, c := range contents { // after all before it
		check(c)
	}
	for i := range contents { // after all after it, and itself
		check(contents[len(contents)-1-i])
	}
	if cloned != 3*50 {
		t.Fatalf("%d of 150 types carried the charset their content chose: the test proves less than it says", cloned)
	}
	isMu.RLock()
	defer isMu.RUnlock()
	if n := len(isMemo); n > 64*len(asked) {
		t.Errorf("the memo holds %d answers for %d types asked about", n, len(asked))
	}
	for k := range isMemo {
		bare, params, ok := strings.Cut(k.mime, ";")
		if bare != bareMIME(mimetype.Lookup(bare)) || ok && !fixedParams[params] {
			t.Errorf("memo key %q is not one of mimetype's types with its own parameters", k.mime)
		}
	}
}

// One file's inspection does not change another's verdict: an HTML file
// declaring a repeated charset, inspected first, had every later HTML
// file held as "named .html but its content is text/html".
func TestInspectionOrderDoesNotMatter(t *testing.T) {
	ru := &Rules{Extensions: true, Names: true, ActiveContent: true}
	files := map[string]string{
		"evil.html": `<html><head><meta charset="a;charset=b"></head><body>x</body></html>`,
		"good.html": `<html><head><meta charset="utf-8"></head><body>x</body></html>`,
		"page.html": `<html><head></head><body>x</body></html>`,
		"data.xml":  `<?xml version="1.0" encoding="a;charset=b"?><a/>`,
	}
	verdict := func(name string) string {
		b := []byte(files[name])
		return fmt.Sprint(ru.Inspect(context.Background(), name, bytes.NewReader(b), int64(len(b))).Findings)
	}
	alone := map[string]string{}
	for name := range files {
		isMu.Lock()
		clear(isMemo)
		isMu.Unlock()
		alone[name] = verdict(name)
	}
	for _, order := range [][]string{{"evil.html", "good.html", "page.html", "data.xml"}, {"page.html", "good.html", "data.xml", "evil.html"}} {
		for _, name := range order {
			if got := verdict(name); got != alone[name] {
				t.Errorf("%s after %v: %s; alone: %s", name, order, got, alone[name])
			}
		}
	}
}
