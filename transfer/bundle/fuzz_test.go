package bundle

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"sluice/crypto"
	"sluice/internal/strictjson"
)

// fuzzSender has a fixed key so the signed manifests in the committed corpus
// stay valid from run to run.
func fuzzSender(t testing.TB) station {
	priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	k := &crypto.StationKeys{Signer: signer}
	return station{name: "alice", keys: k, card: crypto.Card{Name: "alice", SigningKey: signer.PublicKey()}}
}

const fuzzBundleID = "20260101T000000Z-0123456789abcdef"

func fuzzExpect(t testing.TB) Expect {
	a := fuzzSender(t)
	return Expect{BundleID: fuzzBundleID, SenderName: "alice", SenderKey: a.card.SigningKey, Files: 2, Dirs: 1, ContentBytes: 9}
}

// fuzzStreams are small payload streams, honest and hostile, that seed
// FuzzExtractStream.
func fuzzStreams(t testing.TB) [][]byte {
	a := fuzzSender(t)
	base := []tarEntry{dirEntry("docs"), fileEntry("docs/a.txt", "alpha"), fileEntry("docs/b.txt", "beta")}
	honest := func(ents []tarEntry) []byte { return streamOf(t, ents, manifestFor(fuzzBundleID, "alice", ents), a) }
	out := [][]byte{honest(base), streamOf(t, base, nil, a)}
	for _, e := range []tarEntry{
		fileEntry("../evil", "x"), fileEntry("/abs", "x"), fileEntry("docs/A.TXT", "x"), fileEntry("docs/CON", "x"),
		fileEntry("docs/a.txt", "dup"), fileEntry("docs/a.txt/in", "x"), special("docs/l", tar.TypeSymlink),
		special("docs/h", tar.TypeLink), special("docs/c", tar.TypeChar), special("docs/f", tar.TypeFifo),
	} {
		out = append(out, honest(append(base[:len(base):len(base)], e)))
	}
	// A transformed file with its original sealed beside it.
	m := manifestFor(fuzzBundleID, "alice", base)
	m.Entries[1].Transformed = &Transformed{From: "a.docx", SHA256: crypto.HashBytes([]byte("the docx")), Size: 8, Action: "pdf-of-images", Tool: "soffice", Version: "7"}
	out = append(out, streamOf(t, append(base[:len(base):len(base)], originalEntry("docs/a.docx", "the docx")), m, a))
	return out
}

func FuzzExtractStream(f *testing.F) {
	for _, s := range fuzzStreams(f) {
		f.Add(s)
	}
	exp := fuzzExpect(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		// One directory per input, removed at once rather than at the end
		// of the whole fuzz run as t.TempDir would.
		q, err := os.MkdirTemp("", "sluice-fuzz-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(q)
		od, err := os.MkdirTemp("", "sluice-fuzz-originals-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(od)
		root, err := os.OpenRoot(q)
		if err != nil {
			t.Fatal(err)
		}
		defer root.Close()
		oroot, err := os.OpenRoot(od)
		if err != nil {
			t.Fatal(err)
		}
		defer oroot.Close()
		// A stream that names originals is taken as one whose envelope
		// declares the seed's (one of 8 bytes), so honest ones can pass.
		exp := exp
		exp.Originals = oroot
		if strings.Contains(string(b), originalsPrefix) {
			exp.OriginalFiles, exp.OriginalBytes = 1, 8
		}
		v, err := ExtractStream(context.Background(), strings.NewReader(string(b)), root, exp)
		if err != nil {
			return
		}
		// The originals on disk are exactly those the marks name.
		want, err := OriginalsOf(v.Manifest.Entries)
		if err != nil {
			t.Fatalf("accepted a manifest whose marks disagree: %v", err)
		}
		if v.Originals != 0 && int64(len(want)) != v.Originals {
			t.Fatalf("accepted %d originals for %d marks", v.Originals, len(want))
		}
		filepath.WalkDir(od, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			rel, _ := filepath.Rel(od, p)
			got, _ := os.ReadFile(p)
			if w, ok := want[filepath.ToSlash(rel)]; !ok || crypto.HashBytes(got) != w.SHA256 {
				t.Fatalf("accepted original %s that no mark names as it is", rel)
			}
			return nil
		})
		// Accepted: what is on disk must be exactly the signed manifest.
		n := 0
		filepath.WalkDir(q, func(p string, d os.DirEntry, err error) error {
			if p != q {
				n++
			}
			return nil
		})
		if n != len(v.Manifest.Entries) {
			t.Fatalf("accepted stream left %d entries on disk, manifest lists %d", n, len(v.Manifest.Entries))
		}
		for _, e := range v.Manifest.Entries {
			if e.Type != TypeFile {
				continue
			}
			got, err := os.ReadFile(filepath.Join(q, filepath.FromSlash(e.Path)))
			if err != nil || crypto.HashBytes(got) != *e.SHA256 {
				t.Fatalf("accepted %s but its content does not match: %v", e.Path, err)
			}
		}
	})
}

func FuzzParseEnvelope(f *testing.F) {
	a, k := newStation(f, "alice"), newStation(f, "kiosk")
	e := newEnvelope(a, k, 1, 0, 5)
	e.Payload = Payload{Size: 10, Volumes: []Volume{{Name: VolumeName(0), Size: 10}}}
	b, _ := e.Marshal()
	f.Add(b)
	f.Add([]byte(`{"format":"sluice-envelope/1"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseEnvelope(b)
		if err != nil {
			return
		}
		again, err := e.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		e2, err := ParseEnvelope(again)
		if err != nil {
			t.Fatalf("re-marshalled envelope does not parse: %v", err)
		}
		if b2, _ := e2.Marshal(); string(b2) != string(again) {
			t.Fatal("marshal is not stable")
		}
	})
}

func FuzzParseManifest(f *testing.F) {
	ents := []tarEntry{dirEntry("docs"), fileEntry("docs/a.txt", "alpha")}
	mb, _ := manifestFor(fuzzBundleID, "alice", ents).Marshal()
	f.Add(mb)
	f.Add([]byte(`{"format":"sluice-manifest/1","bundle_id":"x","entries":[{"path":"../a","type":"file"}]}`))
	tm := manifestFor(fuzzBundleID, "alice", ents)
	tm.Entries[1].Transformed = &Transformed{From: "a.docx", Size: 9, Action: "pdf-of-images", Tool: "mutool", Version: "1.21.1"}
	tb, _ := tm.Marshal()
	f.Add(tb)
	f.Fuzz(func(t *testing.T, b []byte) {
		// The canonical fast path never accepts what the strict decoder
		// refuses, and reads what it reads.
		var fast, strict Manifest
		if decodeCanonical(b, &fast) {
			if err := strictjson.Decode(b, &strict); err != nil {
				t.Fatalf("fast path accepted what strictjson refuses: %v", err)
			}
			if !reflect.DeepEqual(fast, strict) {
				t.Fatalf("fast path read %+v, strictjson %+v", fast, strict)
			}
		}
		m, err := ParseManifest(b)
		if err != nil {
			return
		}
		for _, e := range m.Entries {
			if checkPath(e.Path) != nil {
				t.Fatalf("accepted unsafe path %q", e.Path)
			}
		}
		again, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseManifest(again); err != nil {
			t.Fatalf("re-marshalled manifest does not parse: %v", err)
		}
	})
}

// TestWriteFuzzCorpus writes the seeds above into testdata/fuzz, where they
// are kept with the code. Run with SLUICE_WRITE_CORPUS=1 after changing them.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("SLUICE_WRITE_CORPUS") == "" {
		t.Skip("set SLUICE_WRITE_CORPUS=1 to rewrite testdata/fuzz seeds")
	}
	write := func(target string, seeds [][]byte) {
		dir := filepath.Join("testdata", "fuzz", target)
		os.MkdirAll(dir, 0o755)
		for i, s := range seeds {
			body := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(s)))
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	write("FuzzExtractStream", fuzzStreams(t))
	a, k := fuzzSender(t), fuzzSender(t)
	k.name = "kiosk"
	e := newEnvelope(a, k, 1, 1, 6)
	e.Created = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e.ID = fuzzBundleID
	e.Payload = Payload{Size: 10, Volumes: []Volume{{Name: VolumeName(0), Size: 10}}}
	eb, _ := e.Marshal()
	e.Originals = &Originals{Files: 1, Bytes: 8}
	ebo, _ := e.Marshal()
	ents := []tarEntry{dirEntry("docs"), fileEntry("docs/a.txt", "alpha!")}
	mb, _ := manifestFor(fuzzBundleID, "alice", ents).Marshal()
	write("FuzzParseEnvelope", [][]byte{eb, ebo})
	write("FuzzParseManifest", [][]byte{mb})
}

// FuzzManifestEntry holds the hand-written entry encoder to encoding/json,
// byte for byte: the manifest's canonical form is what json.Marshal writes.
func FuzzManifestEntry(f *testing.F) {
	f.Add("docs/a.txt", TypeFile, uint32(0o644), int64(5), true)
	f.Add("docs", TypeDir, uint32(0o755), int64(0), false)
	f.Add("a<b>&c\"d\\e\u2028\x7f\u00e9\xff", TypeFile, uint32(0o7777), int64(-1), true)
	f.Add("x", "file\n", uint32(0o600), int64(1<<62), true)
	f.Fuzz(func(t *testing.T, path, typ string, mode uint32, size int64, hashed bool) {
		e := ManifestEntry{Path: path, Type: typ, Mode: Mode(mode), Size: size}
		if hashed {
			d := crypto.HashBytes([]byte(path))
			e.SHA256 = &d
		}
		want, err := json.Marshal(&e)
		if err != nil {
			t.Skip()
		}
		var got bytes.Buffer
		if err := appendManifestEntry(&got, 1, &e); err != nil {
			t.Fatal(err)
		}
		if w := ",\n" + string(want); got.String() != w {
			t.Fatalf("encoded %q, encoding/json %q", got.String(), w)
		}
	})
}
