package bundle

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sluice/crypto"
)

// spoolEntries encodes n manifest entries through a spool, as Seal does,
// and the same entries into a plain buffer.
func spoolEntries(t *testing.T, n int) (*manifestSpool, []byte) {
	t.Helper()
	m := newManifestSpool(1 << 20)
	t.Cleanup(m.close)
	var plain bytes.Buffer
	for _, b := range []*bytes.Buffer{&m.Buffer, &plain} {
		if err := appendManifestHead(b, ManifestFormat, "20261130T000000Z-0123456789abcdef", "alice"); err != nil {
			t.Fatal(err)
		}
	}
	d := crypto.HashBytes([]byte("x"))
	for i := range n {
		e := ManifestEntry{Path: "data/" + strings.Repeat("d", i%200) + "/f" + itoa(i), Type: TypeFile, Mode: 0o644, Size: int64(i), SHA256: &d}
		for _, b := range []*bytes.Buffer{&m.Buffer, &plain} {
			if err := appendManifestEntry(b, i, &e); err != nil {
				t.Fatal(err)
			}
		}
		if err := m.spill(); err != nil {
			t.Fatal(err)
		}
	}
	m.WriteString(manifestTail)
	plain.WriteString(manifestTail)
	return m, plain.Bytes()
}

// checkSpool: the spool gives back exactly the plain encoding, with its
// SHA-256, and the signature of what it hashed is the signature of the
// plain encoding.
func checkSpool(t *testing.T, m *manifestSpool, plain []byte) {
	t.Helper()
	size, sum, sig := m.finish()
	var got bytes.Buffer
	if err := m.writeTo(&got, sum); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), plain) || size != int64(len(plain)) {
		t.Fatalf("the spooled manifest is %d bytes (says %d), not the %d encoded", got.Len(), size, len(plain))
	}
	if sum != crypto.HashBytes(plain) {
		t.Fatal("the spool's SHA-256 is not the manifest's")
	}
	k, err := crypto.GenerateStationKeys(false)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := crypto.SignSSH(k.Signer, crypto.NamespaceManifest, plain)
	if got, err := crypto.SignSSHHash(k.Signer, crypto.NamespaceManifest, sig); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("the signature of what the spool hashed is not the manifest's (%v)", err)
	}
}

// A manifest past manifestInMemory goes to a temporary file and comes back
// byte for byte; a small one stays in memory.
func TestManifestSpool(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	m, plain := spoolEntries(t, 40000)
	if len(plain) < 2*manifestInMemory || m.file == nil {
		t.Fatalf("a %d-byte manifest was not spooled to a file", len(plain))
	}
	if m.Len() > manifestInMemory {
		t.Fatalf("%d bytes still in memory after spooling", m.Len())
	}
	checkSpool(t, m, plain)
	if names, _ := os.ReadDir(os.Getenv("TMPDIR")); len(names) != 0 {
		t.Fatalf("the spool left %s in the temporary folder", names[0].Name())
	}

	small, plain := spoolEntries(t, 100)
	if small.file != nil {
		t.Fatal("a small manifest was spooled to a file")
	}
	checkSpool(t, small, plain)
}

// A spool file whose bytes change after they were hashed (a failing disk,
// or another process of the station's user) fails the seal there, with a
// message that says so, rather than at the kiosk.
func TestManifestSpoolChanged(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	m, _ := spoolEntries(t, 40000)
	_, sum, _ := m.finish()
	if _, err := m.file.WriteAt([]byte("X"), 1000); err != nil {
		t.Fatal(err)
	}
	if err := m.writeTo(io.Discard, sum); !errors.Is(err, errSpoolChanged) {
		t.Fatalf("a changed spool file: got %v, want errSpoolChanged", err)
	}
}

// A temporary folder that cannot hold a file keeps the manifest in memory:
// nothing is lost, the seal goes on.
func TestManifestSpoolNoTempFolder(t *testing.T) {
	t.Setenv("TMPDIR", filepath.Join(t.TempDir(), "missing"))
	m, plain := spoolEntries(t, 40000)
	if m.file != nil || !m.noFile {
		t.Fatal("expected the manifest in memory when the temporary folder is missing")
	}
	checkSpool(t, m, plain)
}

// A bundle whose manifest is spooled seals, verifies and extracts like any
// other (with the thresholds lowered, so that 600 files are enough).
func TestSealExtractSpooledManifest(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	defer func(m, s int) { manifestInMemory, manifestSpill = m, s }(manifestInMemory, manifestSpill)
	manifestInMemory, manifestSpill = 16<<10, 4<<10
	src := filepath.Join(t.TempDir(), "tree")
	want := map[string]string{}
	for i := range 600 {
		want[fmt.Sprintf("d%d/%s%d", i%7, strings.Repeat("n", 100), i)] = fmt.Sprint(i)
	}
	writeTree(t, src, want)
	alice, kiosk := newStation(t, "alice"), newStation(t, "kiosk")
	spooled := manifestSpoolFiles.Load()
	s := seal(t, alice, []station{kiosk}, []string{src}, 0)
	if n := manifestSpoolFiles.Load() - spooled; n != 1 {
		t.Fatalf("the manifest went to %d spool files, want 1", n)
	}
	v, q, err := receive(t, s.Dir, alice, kiosk)
	if err != nil {
		t.Fatal(err)
	}
	if v.Manifest == nil || v.Files != 600 || v.Dirs != s.Envelope.Dirs || v.ManifestSHA256 != s.ManifestSHA256 {
		t.Fatalf("received %d files and %d folders (manifest %s), sealed 600 and %d (%s)", v.Files, v.Dirs, v.ManifestSHA256, s.Envelope.Dirs, s.ManifestSHA256)
	}
	n := 0
	for _, e := range v.Manifest.Entries {
		n += len(e.Path)
	}
	if n < 4*manifestInMemory {
		t.Fatalf("the manifest's paths take %d bytes: too few to be spooled", n)
	}
	for name, b := range want {
		if got, err := os.ReadFile(filepath.Join(q, "tree", name)); err != nil || string(got) != b {
			t.Fatalf("%s after the round trip: %q, %v", name, got, err)
		}
	}
}
