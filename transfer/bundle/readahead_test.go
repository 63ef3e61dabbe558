package bundle

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"sluice/crypto"
)

// The payload's tar stream is the same, byte for byte, whether its files
// were read ahead (writeAhead) or each read as it was archived (writeEntry,
// the path of files too large to read ahead): names that need a PAX record
// (long, non-ASCII), names USTAR splits, dates before 1970 and past 2242,
// sizes around a block, folders between files; and so are the manifest's
// entries for them, a transformation's mark included.
func TestReadAheadStreamIsTarWriters(t *testing.T) {
	root := filepath.Join(t.TempDir(), "tree")
	type file struct {
		name string
		size int
		date time.Time
	}
	long := strings.Repeat("long-folder-name/", 7) // past USTAR's 100-byte name, split at a slash
	files := []file{
		{"a", 0, time.Date(2001, 2, 3, 4, 5, 6, 7, time.UTC)},
		{"b", 1, time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC)},
		{"c", 511, time.Date(1901, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"d", 512, time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"e", 513, time.Unix(1, 0)},
		{"sub/f", 4096, time.Unix(1700000000, 999999999)},
		{"sub/ünïcødé ✓", 1000, time.Unix(1700000000, 0)},
		{long + "g", 100, time.Unix(1700000000, 0)},
		{strings.Repeat("x", 150), 200, time.Unix(1700000000, 0)},
		{"sub/big", readAheadMax, time.Unix(1700000000, 0)},
		{"z/h", 3000, time.Unix(1700000000, 0)},
	}
	for i, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f.name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, randomBytes(f.size, uint64(i)), 0o640); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, f.date, f.date); err != nil {
			t.Fatal(err)
		}
	}
	srcs, err := Collect([]string{root})
	if err != nil {
		t.Fatal(err)
	}
	ahead, marked := 0, 0
	for i := range srcs {
		if readAheadable(&srcs[i]) {
			ahead++
			if strings.HasSuffix(srcs[i].Path, "/e") {
				srcs[i].Transformed = &Transformed{From: "e.docx", SHA256: crypto.HashBytes([]byte("the docx")), Size: 8, Action: "pdf-of-images", Tool: "soffice", Version: "7"}
				marked++
			}
		}
	}
	if ahead != len(files)-1 || marked != 1 {
		t.Fatalf("%d of %d files read ahead (want all but one), %d marked transformed (want 1)", ahead, len(files), marked)
	}
	alice := newStation(t, "alice")
	env := &Envelope{Format: EnvelopeFormat, ID: "0123456789abcdef0123456789abcdef", Created: time.Unix(1700000000, 0).UTC()}
	var got bytes.Buffer
	var done atomic.Int64
	if _, err := writeStream(context.Background(), &got, srcs, env, SealOptions{SenderName: "alice", Signer: alice.keys.Signer}, &done); err != nil {
		t.Fatal(err)
	}
	var want, entries bytes.Buffer
	tw := tar.NewWriter(&want)
	buf := make([]byte, 4096)
	for i, s := range srcs {
		e, err := writeEntry(context.Background(), tw, dataPrefix, s, buf, &done)
		if err != nil {
			t.Fatal(err)
		}
		if err := appendManifestEntry(&entries, i, &e); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Flush(); err != nil {
		t.Fatal(err)
	}
	if got.Len() <= want.Len() || !bytes.Equal(got.Bytes()[:want.Len()], want.Bytes()) {
		n := 0
		for n < min(got.Len(), want.Len()) && got.Bytes()[n] == want.Bytes()[n] {
			n++
		}
		t.Fatalf("the stream differs from one tar.Writer's at byte %d of %d", n, want.Len())
	}
	if !bytes.Contains(got.Bytes()[want.Len():], entries.Bytes()) {
		t.Fatalf("the manifest's entries differ from writeEntry's:\n%s", entries.Bytes())
	}
}
