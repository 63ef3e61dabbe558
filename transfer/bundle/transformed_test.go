package bundle

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"sluice/crypto"
)

// TestTransformedEntries: a source marked as transformed carries its
// original's name, hash and size and the tool into the signed manifest,
// which a receiver reads back; marks that are not plain are refused.
func TestTransformedEntries(t *testing.T) {
	src := t.TempDir()
	writeTree(t, src, map[string]string{"out/report.pdf": "%PDF-1.7 pixels", "out/notes.txt": "words"})
	srcs, err := Collect([]string{filepath.Join(src, "out")})
	if err != nil {
		t.Fatal(err)
	}
	orig := crypto.HashBytes([]byte("the docx"))
	mark := &Transformed{From: "report.docx", SHA256: orig, Size: 8, Action: "pdf-of-images", Tool: "soffice", Version: "7.4.7.2"}
	for i := range srcs {
		if srcs[i].Path == "out/report.pdf" {
			srcs[i].Transformed = mark
		}
	}
	alice, kiosk := newStation(t, "alice"), newStation(t, "kiosk")
	s, err := Seal(context.Background(), t.TempDir(), srcs, SealOptions{SenderName: alice.name, Signer: alice.keys.Signer, Recipients: []crypto.Card{kiosk.card}})
	if err != nil {
		t.Fatal(err)
	}
	v, _, err := receive(t, s.Dir, alice, kiosk)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range v.Manifest.Entries {
		switch e.Path {
		case "out/report.pdf":
			if e.Transformed == nil || *e.Transformed != *mark {
				t.Fatalf("transformed mark read back as %+v", e.Transformed)
			}
			n++
		default:
			if e.Transformed != nil {
				t.Fatalf("%s marked transformed", e.Path)
			}
		}
	}
	if n != 1 {
		t.Fatal("the transformed file is missing")
	}
	// The manifest stays canonical with a mark in it.
	b, _ := v.Manifest.Marshal()
	var m Manifest
	if !decodeCanonical(b, &m) {
		t.Fatal("a manifest with a transformed entry is not canonical")
	}
	for _, bad := range []string{`"from":"report.docx"`, `"action":"pdf-of-images"`, `"tool":"soffice"`} {
		for _, repl := range []string{strings.Replace(bad, "report.docx", "../x", 1), strings.Replace(bad, "pdf-of-images", "", 1), strings.Replace(bad, "soffice", "a\\u0007b", 1)} {
			if repl == bad {
				continue
			}
			doc := strings.Replace(string(b), bad, repl, 1)
			if _, err := ParseManifest([]byte(doc)); err == nil {
				t.Errorf("manifest with %s accepted", repl)
			}
		}
	}
	dirMark := strings.Replace(string(b), `{"path":"out","type":"dir","mode":"0755","size":0}`,
		`{"path":"out","type":"dir","mode":"0755","size":0,"transformed":{"from":"a","sha256":"`+orig.String()+`","size":1,"action":"x","tool":"y","version":"z"}}`, 1)
	if dirMark == string(b) {
		t.Fatal("test did not find the folder's entry")
	}
	if _, err := ParseManifest([]byte(dirMark)); err == nil || !strings.Contains(err.Error(), "transformation") {
		t.Errorf("a folder marked transformed: %v", err)
	}
}

// TestExtractLimits: an entry past the receiver's max file size or path
// depth is refused as its header is read: nothing of it is written.
func TestExtractLimits(t *testing.T) {
	src := t.TempDir()
	writeTree(t, src, map[string]string{"out/a/b/c.txt": "deep", "out/big.bin": strings.Repeat("x", 5000)})
	alice, kiosk := newStation(t, "alice"), newStation(t, "kiosk")
	s := seal(t, alice, []station{kiosk}, []string{filepath.Join(src, "out")}, 0)
	for _, c := range []struct {
		size  int64
		depth int
		want  string
	}{{4999, 0, "out/big.bin is 4.9 KiB, larger than max_file_size (4.9 KiB)"}, {0, 3, "out/a/b/c.txt is 4 levels deep"}} {
		b, err := Open(s.Dir)
		if err != nil {
			t.Fatal(err)
		}
		b.MaxFileSize, b.MaxPathDepth = c.size, c.depth
		q := t.TempDir()
		root, _ := os.OpenRoot(q)
		_, err = b.Extract(context.Background(), []age.Identity{kiosk.keys.Identity}, root, nil)
		root.Close()
		if !errors.Is(err, ErrRejected) || !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("limit %d/%d: %v", c.size, c.depth, err)
		}
		if _, err := os.Stat(filepath.Join(q, "out", "big.bin")); err == nil && c.size > 0 {
			t.Fatal("the file past the limit was written")
		}
	}
}
