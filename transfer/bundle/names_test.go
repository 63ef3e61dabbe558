package bundle

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sluice/crypto"
)

// Names that hide or disguise what they say are refused at staging too,
// with the name escaped in the message, so an officer learns before
// sealing rather than from the kiosk.
func TestStagingRefusesDeceptiveNames(t *testing.T) {
	cases := []struct{ name, want string }{
		{"invoice\u202etxt.exe", `invoice\u202etxt.exe`},
		{"a\u200bb", `a\u200bb`},
		{"line\u2028sep", `line\u2028sep`},
		{"CONIN$", "reserved Windows device name"},
		{"p\u0430ypal.pdf", "mixes Latin and Cyrillic"},
	}
	for _, c := range cases {
		dir := t.TempDir()
		writeTree(t, dir, map[string]string{"docs/" + c.name: "x"})
		_, err := Collect([]string{filepath.Join(dir, "docs")})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+q: got %v, want %q", c.name, err, c.want)
		}
		if err != nil && strings.ContainsAny(err.Error(), "\u202e\u200b\u2028\n") {
			t.Errorf("%+q: the message carries the raw character: %q", c.name, err)
		}
		// The officer is told what to do about it.
		if err != nil && !strings.HasSuffix(err.Error(), "; rename it or leave it out, then stage again") {
			t.Errorf("%+q: the message does not say what to do: %q", c.name, err)
		}
	}
	// Two folders that differ only in case, one staged from each of two
	// places.
	a, b := t.TempDir(), t.TempDir()
	writeTree(t, a, map[string]string{"Reports/x": "1"})
	writeTree(t, b, map[string]string{"reports/y": "2"})
	if _, err := Collect([]string{filepath.Join(a, "Reports"), filepath.Join(b, "reports")}); err == nil || !strings.Contains(err.Error(), "differ only in case") || !strings.Contains(err.Error(), "rename it") {
		t.Errorf("folders differing in case: %v", err)
	}
	// Names in other scripts, accents and ideographic spaces are fine.
	ok := t.TempDir()
	writeTree(t, ok, map[string]string{"d/Пример.txt": "1", "d/résumé.pdf": "2", "d/報告\u3000書.doc": "3", "d/10µm scan.png": "4"})
	if _, err := Collect([]string{filepath.Join(ok, "d")}); err != nil {
		t.Errorf("ordinary international names refused: %v", err)
	}
}

// A file dated after 2262 (past the range of nanoseconds since 1970) keeps
// its date, or the receipt says it could not; it is never silently turned
// into 1901.
func TestDatesPast2262(t *testing.T) {
	alice, kiosk := newStation(t, "alice"), newStation(t, "kiosk")
	src := t.TempDir()
	writeTree(t, src, map[string]string{"far/future.txt": "hello", "far/past.txt": "old"})
	future := time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)
	past := time.Date(1970, 1, 2, 0, 0, 0, 0, time.UTC)
	for p, tm := range map[string]time.Time{"far/future.txt": future, "far/past.txt": past} {
		f, err := os.Open(filepath.Join(src, p))
		if err != nil {
			t.Fatal(err)
		}
		if err := keepTime(f, tm); err != nil {
			t.Skipf("the test's own filesystem cannot hold %s: %v", tm, err)
		}
		f.Close()
	}
	s := seal(t, alice, []station{kiosk}, []string{filepath.Join(src, "far")}, 0)
	v, q, err := receive(t, s.Dir, alice, kiosk)
	if err != nil {
		t.Fatal(err)
	}
	for p, tm := range map[string]time.Time{"far/future.txt": future, "far/past.txt": past} {
		info, err := os.Stat(filepath.Join(q, p))
		if err != nil {
			t.Fatal(err)
		}
		if got := info.ModTime().UTC(); !got.Equal(tm) && v.DatesNotKept == 0 {
			t.Errorf("%s released dated %s, sent dated %s, and nothing says so", p, got, tm)
		}
	}
}

// The tree's verdicts are the same for ASCII names (folded by lower-casing
// the whole path once) and for names that need Unicode folding, at every
// depth.
func TestTreeVerdicts(t *testing.T) {
	cases := []struct {
		entries [][2]string // path, type
		want    string      // "" or part of the last entry's error
	}{
		{[][2]string{{"a", TypeDir}, {"a/b", TypeFile}, {"a/c/d", TypeFile}}, ""},
		{[][2]string{{"Docs/a", TypeFile}, {"docs/b", TypeFile}}, `names "Docs" and "docs" differ only in case`},
		{[][2]string{{"x/Docs/a", TypeFile}, {"x/DOCS", TypeDir}}, `names "x/Docs" and "x/DOCS" differ only in case`},
		{[][2]string{{"a/b", TypeFile}, {"a/b/c", TypeFile}}, `inside "a/b", which is a file`},
		{[][2]string{{"a/b", TypeFile}, {"a/b", TypeFile}}, "appears twice"},
		{[][2]string{{"a/b", TypeDir}, {"a/b", TypeDir}}, "appears twice"},
		{[][2]string{{"a/b/c", TypeFile}, {"a/b", TypeDir}}, ""},
		{[][2]string{{"Ünï/a", TypeFile}, {"ünï/b", TypeFile}}, `names "Ünï" and "ünï" differ only in case`},
		{[][2]string{{"r/ﬁle", TypeFile}, {"r/file", TypeFile}}, `names "r/ﬁle" and "r/file" differ only in case`},
		{[][2]string{{"é/x/Y", TypeFile}, {"é/x/y", TypeFile}}, `names "é/x/Y" and "é/x/y" differ only in case`},
		{[][2]string{{"é/x", TypeFile}, {"é/x/y", TypeFile}}, `inside "é/x", which is a file`},
		{[][2]string{{"é/x", TypeDir}, {"é/x/y", TypeFile}, {"é/X/z", TypeFile}}, `names "é/x" and "é/X" differ only in case`},
	}
	for _, c := range cases {
		tr := newTree()
		var err error
		for _, e := range c.entries {
			if err = tr.add(e[0], e[1]); err != nil {
				break
			}
		}
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%v: got %v, want %q", c.entries, err, c.want)
		}
	}
}

// The manifest Seal writes takes the canonical fast path; any other
// spelling of it goes through the strict decoder, which keeps its verdicts.
func TestManifestCanonicalFastPath(t *testing.T) {
	d := crypto.HashBytes([]byte("x"))
	m := &Manifest{Format: ManifestFormat, BundleID: "20261127T000000Z-0123456789abcdef", Sender: "alice", Entries: []ManifestEntry{
		{Path: "docs", Type: TypeDir, Mode: 0o755}, {Path: "docs/R&D.txt", Type: TypeFile, Mode: 0o644, Size: 1, SHA256: &d}}}
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var got Manifest
	if !decodeCanonical(b, &got) || len(got.Entries) != 2 || *got.Entries[1].SHA256 != d {
		t.Fatalf("a sealed manifest did not take the fast path: %+v", got)
	}
	s := string(b)
	for _, c := range []struct{ doc, want string }{
		{strings.Replace(s, `"path":"docs",`, `"path":"docs","PATH":"evil",`, 1), "differ only in case"},
		{strings.Replace(s, `"path":"docs",`, `"path":"evil","path":"docs",`, 1), "appears twice"},
		{strings.Replace(s, `"path":"docs",`, `"Path":"docs",`, 1), "unknown key"},
		{strings.Replace(s, `"path":"docs",`, `"path":"docs","extra":1,`, 1), "unknown key"},
		{s + `{}`, "after the JSON document"},
		{strings.Replace(s, `"sender":"alice"`, `"sender":"alice","sender":"bob"`, 1), "appears twice"},
		{strings.Replace(s, "\n", " \n", 1), ""},               // other spacing: strict, and fine
		{strings.Replace(s, `"alice"`, `"\u0061lice"`, 1), ""}, // an escape: strict, and fine
	} {
		var m2 Manifest
		if decodeCanonical([]byte(c.doc), &m2) {
			t.Errorf("%q took the fast path", c.doc)
		}
		_, err := ParseManifest([]byte(c.doc))
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%q: got %v, want %q", c.doc, err, c.want)
		}
	}
	// A file whose folder is not listed, or listed after it: refused on
	// either path.
	for _, entries := range [][]ManifestEntry{
		{{Path: "other/R&D.txt", Type: TypeFile, Mode: 0o644, Size: 1, SHA256: &d}},
		{{Path: "other/R&D.txt", Type: TypeFile, Mode: 0o644, Size: 1, SHA256: &d}, {Path: "other", Type: TypeDir, Mode: 0o755}},
	} {
		m.Entries = entries
		b, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range []string{string(b), strings.Replace(string(b), "\n", " \n", 1)} {
			if _, err := ParseManifest([]byte(doc)); err == nil || !strings.Contains(err.Error(), `"other/R&D.txt" comes before its folder "other"`) {
				t.Errorf("%s: got %v", doc, err)
			}
		}
	}
}
