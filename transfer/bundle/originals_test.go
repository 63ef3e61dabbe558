package bundle

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"sluice/crypto"
)

// originalEntry is a sealed original in a hand-made payload stream.
func originalEntry(name, body string) tarEntry {
	return tarEntry{hdr: tar.Header{Name: originalsPrefix + name, Typeflag: tar.TypeReg, Mode: 0o600, Size: int64(len(body)), Format: tar.FormatPAX}, body: []byte(body)}
}

// stagedWithOriginal stages out/report.pdf marked as transformed from
// out/report.docx, whose content is kept apart (as a sender's staged
// file is), and returns the sources and the original's source.
func stagedWithOriginal(t *testing.T, docx string) ([]Source, Source) {
	t.Helper()
	src := t.TempDir()
	writeTree(t, src, map[string]string{"out/report.pdf": "%PDF-1.7 pixels", "out/notes.txt": "words", "staged/report.docx": docx})
	srcs, err := Collect([]string{filepath.Join(src, "out")})
	if err != nil {
		t.Fatal(err)
	}
	orig := crypto.HashBytes([]byte(docx))
	for i := range srcs {
		if srcs[i].Path == "out/report.pdf" {
			srcs[i].Transformed = &Transformed{From: "report.docx", SHA256: orig, Size: int64(len(docx)), Action: "pdf-of-images", Tool: "soffice", Version: "7.4.7.2"}
		}
	}
	staged, err := Collect([]string{filepath.Join(src, "staged", "report.docx")})
	if err != nil {
		t.Fatal(err)
	}
	o := staged[0]
	o.Path, o.SHA256 = "out/report.docx", &orig
	return srcs, o
}

// TestSealedOriginals: originals sealed beside their transformed files
// travel in a part of their own, counted by the envelope, and come out
// into the originals root only, each held to its mark; a receiver that
// takes no originals refuses the bundle.
func TestSealedOriginals(t *testing.T) {
	docx := "PK\x03\x04 the staged document " + strings.Repeat("x", 300000)
	srcs, o := stagedWithOriginal(t, docx)
	alice, kiosk := newStation(t, "alice"), newStation(t, "kiosk")
	opts := SealOptions{SenderName: alice.name, Signer: alice.keys.Signer, Recipients: []crypto.Card{kiosk.card}, Originals: []Source{o}}
	s, err := Seal(context.Background(), t.TempDir(), srcs, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Envelope.Originals; got == nil || got.Files != 1 || got.Bytes != int64(len(docx)) {
		t.Fatalf("envelope declares originals %+v", got)
	}
	if s.Envelope.Files != 2 || s.Envelope.ContentBytes != int64(len("%PDF-1.7 pixels")+len("words")) {
		t.Fatalf("envelope counts the originals as content: %d files, %d bytes", s.Envelope.Files, s.Envelope.ContentBytes)
	}
	extract := func(withOriginals bool) (*Verified, string, string, error) {
		b, err := Open(s.Dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.VerifySignature(alice.card.SigningKey); err != nil {
			t.Fatal(err)
		}
		q, od := t.TempDir(), t.TempDir()
		root, _ := os.OpenRoot(q)
		defer root.Close()
		if withOriginals {
			b.Originals, _ = os.OpenRoot(od)
			defer b.Originals.Close()
		}
		v, err := b.Extract(context.Background(), []age.Identity{kiosk.keys.Identity}, root, nil)
		return v, q, od, err
	}
	v, q, od, err := extract(true)
	if err != nil {
		t.Fatal(err)
	}
	if v.Originals != 1 || v.OriginalBytes != int64(len(docx)) || v.Files != 2 {
		t.Fatalf("verified %d originals of %d bytes, %d files", v.Originals, v.OriginalBytes, v.Files)
	}
	if got, err := os.ReadFile(filepath.Join(od, "out", "report.docx")); err != nil || string(got) != docx {
		t.Fatalf("the original did not come out whole: %v", err)
	}
	if _, err := os.Stat(filepath.Join(q, "out", "report.docx")); err == nil {
		t.Fatal("the original was written among the content")
	}
	if _, err := os.Stat(filepath.Join(q, "out", "report.pdf")); err != nil {
		t.Fatal(err)
	}
	_, _, od, err = extract(false)
	if !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "this station does not take them") {
		t.Fatalf("a receiver that takes no originals: %v", err)
	}
	if ents, _ := os.ReadDir(od); len(ents) != 0 {
		t.Fatal("originals were written for a receiver that takes none")
	}
}

// TestSealOriginalsRefused: Seal takes exactly the originals its
// transformed sources name, and stops when one changed since.
func TestSealOriginalsRefused(t *testing.T) {
	srcs, o := stagedWithOriginal(t, "the docx")
	alice, kiosk := newStation(t, "alice"), newStation(t, "kiosk")
	other := o
	other.Path = "out/other.docx"
	wrong := o
	d := crypto.HashBytes([]byte("not it"))
	wrong.SHA256 = &d
	for _, c := range []struct {
		name      string
		originals []Source
		want      string
	}{
		{"unnamed", []Source{o, other}, `"out/other.docx" is not the original of a transformed file`},
		{"twice", []Source{o, o}, "listed twice"},
		{"wrong hash", []Source{wrong}, "is not the file its transformed file was made from"},
	} {
		_, err := Seal(context.Background(), t.TempDir(), srcs, SealOptions{SenderName: alice.name, Signer: alice.keys.Signer, Recipients: []crypto.Card{kiosk.card}, Originals: c.originals})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	// One of two marked originals left out.
	srcs2 := append([]Source(nil), srcs...)
	for i := range srcs2 {
		if srcs2[i].Path == "out/notes.txt" {
			srcs2[i].Transformed = &Transformed{From: "notes.rtf", SHA256: d, Size: 6, Action: "clean-text", Tool: "sluice", Version: "1"}
		}
	}
	_, err := Seal(context.Background(), t.TempDir(), srcs2, SealOptions{SenderName: alice.name, Signer: alice.keys.Signer, Recipients: []crypto.Card{kiosk.card}, Originals: []Source{o}})
	if err == nil || !strings.Contains(err.Error(), `"out/notes.rtf" of a transformed file is left out`) {
		t.Errorf("left out: %v", err)
	}
	// Changed after it was transformed: same size, other bytes.
	if err := os.WriteFile(o.OSPath, []byte("the DOCX"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Seal(context.Background(), t.TempDir(), srcs, SealOptions{SenderName: alice.name, Signer: alice.keys.Signer, Recipients: []crypto.Card{kiosk.card}, Originals: []Source{o}})
	if !errors.Is(err, ErrChanged) {
		t.Errorf("changed original: %v", err)
	}
}

// TestHostileOriginals: a trusted but compromised sender's originals part
// is held to the envelope's counts and the signed marks, entry by entry,
// and can only be written inside the originals root.
func TestHostileOriginals(t *testing.T) {
	a := newStation(t, "alice")
	const id = "20260101T000000Z-0123456789abcdef"
	data := []tarEntry{dirEntry("docs"), fileEntry("docs/a.pdf", "%PDF pixels"), fileEntry("docs/b.txt", "beta")}
	marked := func() *Manifest {
		m := manifestFor(id, "alice", data)
		m.Entries[1].Transformed = &Transformed{From: "a.docx", SHA256: crypto.HashBytes([]byte("the docx")), Size: 8, Action: "pdf-of-images", Tool: "soffice", Version: "7"}
		return m
	}
	orig := originalEntry("docs/a.docx", "the docx")
	with := func(extra ...tarEntry) []tarEntry { return append(append([]tarEntry(nil), data...), extra...) }
	link := orig
	link.hdr.Typeflag, link.hdr.Linkname, link.hdr.Size, link.body = tar.TypeSymlink, "/etc/passwd", 0, nil
	for _, c := range []struct {
		name   string
		ents   []tarEntry
		m      *Manifest
		files  int64
		bytes  int64
		want   string
		honest bool
	}{
		{"honest", with(orig), marked(), 1, 8, "", true},
		{"other content", with(originalEntry("docs/a.docx", "the DOCX")), marked(), 1, 8, "is not the one its transformed file names", false},
		{"named by no mark", with(originalEntry("docs/c.docx", "the docx")), marked(), 1, 8, `"docs/c.docx", which no transformed file names`, false},
		{"missing", data, marked(), 1, 8, `"docs/a.docx" of a transformed file is missing`, false},
		{"more than declared", with(orig, originalEntry("docs/z.docx", "z")), marked(), 1, 9, "more originals than the envelope declares (1)", false},
		{"bytes past declared", with(orig), marked(), 1, 7, "more originals' content than the envelope declares (7 bytes)", false},
		{"undeclared", with(orig), marked(), 0, 0, "more originals than the envelope declares (0)", false},
		{"data after originals", with(orig, fileEntry("docs/c.txt", "late")), marked(), 1, 8, "unexpected entry", false},
		{"a link", with(link), marked(), 1, 8, "originals are regular files", false},
		{"escapes", with(originalEntry("../evil", "the docx")), marked(), 1, 8, "unsafe name", false},
		{"case collision", with(orig, originalEntry("docs/A.DOCX", "")), marked(), 2, 8, "payload originals", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			q, od := t.TempDir(), t.TempDir()
			root, _ := os.OpenRoot(q)
			defer root.Close()
			oroot, _ := os.OpenRoot(od)
			defer oroot.Close()
			exp := Expect{BundleID: id, SenderName: "alice", SenderKey: a.card.SigningKey, Files: 2, Dirs: 1, ContentBytes: 15,
				Originals: oroot, OriginalFiles: c.files, OriginalBytes: c.bytes}
			v, err := ExtractStream(context.Background(), bytes.NewReader(streamOf(t, c.ents, c.m, a)), root, exp)
			if c.honest {
				if err != nil || v.Originals != 1 {
					t.Fatalf("honest originals: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v\n want %q", err, c.want)
			}
			if _, err := os.Lstat(filepath.Join(filepath.Dir(od), "evil")); err == nil {
				t.Fatal("an original escaped its root")
			}
		})
	}
	// The receiver's limits hold originals too, as their headers are read.
	for _, c := range []struct {
		size  int64
		depth int
		want  string
	}{{7, 0, "the original docs/a.docx is 8 B, larger than max_file_size (7 B)"}, {0, 1, "the original docs/a.docx is 2 levels deep"}} {
		q, od := t.TempDir(), t.TempDir()
		root, _ := os.OpenRoot(q)
		oroot, _ := os.OpenRoot(od)
		// No data entries: they would meet the limit first.
		exp := Expect{BundleID: id, SenderName: "alice", SenderKey: a.card.SigningKey,
			Originals: oroot, OriginalFiles: 1, OriginalBytes: 8, MaxFileSize: c.size, MaxPathDepth: c.depth}
		_, err := ExtractStream(context.Background(), bytes.NewReader(streamOf(t, []tarEntry{orig}, marked(), a)), root, exp)
		root.Close()
		oroot.Close()
		if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("limit %d/%d: %v", c.size, c.depth, err)
		}
		if _, err := os.Stat(filepath.Join(od, "docs", "a.docx")); err == nil {
			t.Errorf("limit %d/%d: the original past it was written", c.size, c.depth)
		}
	}
}
