package bundle

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"sluice/crypto"
)

// tarEntry is one entry of a hand-made payload stream.
type tarEntry struct {
	hdr  tar.Header
	body []byte
}

func fileEntry(name, body string) tarEntry {
	return tarEntry{hdr: tar.Header{Name: dataPrefix + name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body)), Format: tar.FormatPAX}, body: []byte(body)}
}

func dirEntry(name string) tarEntry {
	return tarEntry{hdr: tar.Header{Name: dataPrefix + name + "/", Typeflag: tar.TypeDir, Mode: 0o755, Format: tar.FormatPAX}}
}

// manifestFor lists entries as an honest sender would.
func manifestFor(id, sender string, ents []tarEntry) *Manifest {
	m := &Manifest{Format: ManifestFormat, BundleID: id, Sender: sender}
	for _, e := range ents {
		me := ManifestEntry{Path: strings.TrimSuffix(strings.TrimPrefix(e.hdr.Name, dataPrefix), "/"), Mode: Mode(e.hdr.Mode & 0o777)}
		if e.hdr.Typeflag == tar.TypeDir {
			me.Type = TypeDir
		} else {
			me.Type = TypeFile
			me.Size = int64(len(e.body))
			d := crypto.HashBytes(e.body)
			me.SHA256 = &d
		}
		m.Entries = append(m.Entries, me)
	}
	return m
}

// streamOf writes a payload tar stream: ents, then m signed by signer (if m
// is not nil).
func streamOf(t testing.TB, ents []tarEntry, m *Manifest, signer station) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range ents {
		h := e.hdr
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatalf("write header %q: %v", h.Name, err)
		}
		if len(e.body) > 0 {
			if _, err := tw.Write(e.body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if m != nil {
		mb, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		sig, err := crypto.SignSSH(signer.keys.Signer, crypto.NamespaceManifest, mb)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []struct {
			n string
			b []byte
		}{{ManifestPath, mb}, {ManifestSigPath, sig}} {
			tw.WriteHeader(&tar.Header{Name: f.n, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(f.b))})
			tw.Write(f.b)
		}
	}
	tw.Close()
	return buf.Bytes()
}

func encrypt(t testing.TB, plain []byte, to station) []byte {
	t.Helper()
	r, _ := to.card.AgeRecipient()
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, r)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(plain)
	w.Close()
	return buf.Bytes()
}

// counts returns what an honest envelope declares for ents.
func counts(ents []tarEntry) (files, dirs, bytes int64) {
	for _, e := range ents {
		if e.hdr.Typeflag == tar.TypeDir {
			dirs++
		} else {
			files++
			bytes += int64(len(e.body))
		}
	}
	return
}

// writeBundle writes a bundle directory around an already encrypted payload,
// cut into volumes of volSize (0: one), with an envelope signed by signer.
func writeBundle(t testing.TB, dir string, env *Envelope, cipher []byte, volSize int, signer station) string {
	t.Helper()
	bdir := filepath.Join(dir, env.ID+DirSuffix)
	if err := os.MkdirAll(bdir, 0o755); err != nil {
		t.Fatal(err)
	}
	if volSize <= 0 {
		volSize = len(cipher)
	}
	env.Payload = Payload{Size: int64(len(cipher)), SHA256: crypto.HashBytes(cipher)}
	for i := 0; i*volSize < len(cipher); i++ {
		part := cipher[i*volSize : min(len(cipher), (i+1)*volSize)]
		name := VolumeName(i)
		os.WriteFile(filepath.Join(bdir, name), part, 0o644)
		env.Payload.Volumes = append(env.Payload.Volumes, Volume{Name: name, Size: int64(len(part)), SHA256: crypto.HashBytes(part)})
	}
	eb, err := env.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := crypto.SignSSH(signer.keys.Signer, crypto.NamespaceEnvelope, eb)
	os.WriteFile(filepath.Join(bdir, EnvelopeName), eb, 0o644)
	os.WriteFile(filepath.Join(bdir, EnvelopeSigName), sig, 0o644)
	return bdir
}

func newEnvelope(sender station, to station, files, dirs, n int64) *Envelope {
	created := time.Now().UTC().Truncate(time.Second)
	return &Envelope{Format: EnvelopeFormat, ID: NewID(created), Created: created,
		Sender:     Sender{Name: sender.name, SigningKey: sender.card.SigningKeyString()},
		Recipients: []Recipient{{Name: to.name, Fingerprint: to.card.RecipientFingerprint()}},
		Files:      files, Dirs: dirs, ContentBytes: n}
}

// hostile is one bad bundle and the verdict it must get.
type hostile struct {
	name string
	// make builds the bundle under dir and returns its path.
	make func(t testing.TB, dir string, alice, kiosk, mallory station) string
	// want is a fragment of the one-line error.
	want string
}

// honestBundle builds a bundle of ents the way a buggy or malicious but
// trusted sender could: the stream, manifest and envelope are each given.
func craftBundle(ents []tarEntry, mutateManifest func(*Manifest), mutateEnv func(*Envelope), volSize int) func(t testing.TB, dir string, alice, kiosk, mallory station) string {
	return func(t testing.TB, dir string, alice, kiosk, _ station) string {
		f, d, n := counts(ents)
		env := newEnvelope(alice, kiosk, f, d, n)
		m := manifestFor(env.ID, alice.name, ents)
		if mutateManifest != nil {
			mutateManifest(m)
		}
		if mutateEnv != nil {
			mutateEnv(env)
		}
		return writeBundle(t, dir, env, encrypt(t, streamOf(t, ents, m, alice), kiosk), volSize, alice)
	}
}

func good() []tarEntry {
	return []tarEntry{dirEntry("docs"), fileEntry("docs/a.txt", "alpha"), fileEntry("docs/b.txt", strings.Repeat("b", 200000))}
}

func withEntry(e tarEntry) []tarEntry { return append(good(), e) }

func special(name string, typ byte) tarEntry {
	return tarEntry{hdr: tar.Header{Name: dataPrefix + name, Typeflag: typ, Linkname: "docs/a.txt", Mode: 0o644, Format: tar.FormatPAX}}
}

func hostileCases() []hostile {
	edit := func(file string, f func([]byte) []byte) func(t testing.TB, dir string, a, k, m station) string {
		return func(t testing.TB, dir string, a, k, m station) string {
			b := craftBundle(good(), nil, nil, 100000)(t, dir, a, k, m)
			p := filepath.Join(b, file)
			data, _ := os.ReadFile(p)
			os.WriteFile(p, f(data), 0o644)
			return b
		}
	}
	return []hostile{
		{"payload byte flipped", edit(VolumeName(1), func(b []byte) []byte { b[len(b)/2] ^= 1; return b }), "volume 2 of 3 (payload.age.0001) is corrupt"},
		{"envelope edited", edit(EnvelopeName, func(b []byte) []byte { return bytes.Replace(b, []byte(`"files": 2`), []byte(`"files": 1`), 1) }), "envelope signature from alice does not verify"},
		{"envelope signed by another key", func(t testing.TB, dir string, a, k, m station) string {
			ents := good()
			f, d, n := counts(ents)
			env := newEnvelope(a, k, f, d, n)
			env.Sender.SigningKey = m.card.SigningKeyString() // mallory poses as alice
			return writeBundle(t, dir, env, encrypt(t, streamOf(t, ents, manifestFor(env.ID, "alice", ents), m), k), 0, m)
		}, "not the one this station trusts"},
		{"signature file swapped", func(t testing.TB, dir string, a, k, m station) string {
			b := craftBundle(good(), nil, nil, 0)(t, dir, a, k, m)
			sig, _ := crypto.SignSSH(m.keys.Signer, crypto.NamespaceEnvelope, []byte("other"))
			os.WriteFile(filepath.Join(b, EnvelopeSigName), sig, 0o644)
			return b
		}, "does not verify"},
		{"sealed for another kiosk", func(t testing.TB, dir string, a, k, m station) string {
			ents := good()
			f, d, n := counts(ents)
			env := newEnvelope(a, k, f, d, n)
			return writeBundle(t, dir, env, encrypt(t, streamOf(t, ents, manifestFor(env.ID, "alice", ents), a), m), 0, a)
		}, "not sealed for this station"},
		{"volume truncated", edit(VolumeName(2), func(b []byte) []byte { return b[:len(b)-1] }), "volume 3 of 3 (payload.age.0002) is"},
		{"payload truncated at a 64 KiB chunk boundary, re-signed", func(t testing.TB, dir string, a, k, m station) string {
			ents := good()
			f, d, n := counts(ents)
			env := newEnvelope(a, k, f, d, n)
			c := encrypt(t, streamOf(t, ents, manifestFor(env.ID, "alice", ents), a), k)
			hdr := bytes.Index(c, []byte("\n---"))
			hdr += bytes.IndexByte(c[hdr+1:], '\n') + 2
			cut := hdr + 16 + 2*(64<<10+16) // header, nonce, two whole chunks
			if cut >= len(c) {
				t.Fatalf("payload too short to cut: %d", len(c))
			}
			return writeBundle(t, dir, env, c[:cut], 0, a)
		}, "payload does not decrypt"},
		{"volume missing", func(t testing.TB, dir string, a, k, m station) string {
			b := craftBundle(good(), nil, nil, 100000)(t, dir, a, k, m)
			os.Remove(filepath.Join(b, VolumeName(1)))
			return b
		}, "volume 2 of 3 (payload.age.0001) is missing"},
		{"extra volume", func(t testing.TB, dir string, a, k, m station) string {
			b := craftBundle(good(), nil, nil, 100000)(t, dir, a, k, m)
			os.WriteFile(filepath.Join(b, VolumeName(3)), []byte("x"), 0o644)
			return b
		}, "extra volume payload.age.0003"},
		{"manifest lists a file the stream lacks", craftBundle(good(), func(m *Manifest) {
			d := crypto.HashBytes(nil)
			m.Entries = append(m.Entries, ManifestEntry{Path: "docs/ghost.txt", Type: TypeFile, Mode: 0o644, SHA256: &d})
		}, nil, 0), `manifest lists "docs/ghost.txt"`},
		{"stream holds a file the manifest lacks", craftBundle(good(), func(m *Manifest) { m.Entries = m.Entries[:2] }, nil, 0), `payload holds "docs/b.txt", which the manifest does not list`},
		{"size mismatch", craftBundle(good(), func(m *Manifest) { m.Entries[1].Size = 4 }, nil, 0), `"docs/a.txt" is 5 bytes, the manifest says 4`},
		{"hash mismatch", craftBundle(good(), func(m *Manifest) { d := crypto.HashBytes([]byte("other")); m.Entries[1].SHA256 = &d }, nil, 0), "does not match its SHA-256"},
		{"manifest from another bundle", craftBundle(good(), func(m *Manifest) { m.BundleID = NewID(time.Now()) }, nil, 0), "manifest belongs to bundle"},
		{"more content than declared", craftBundle(good(), nil, func(e *Envelope) { e.ContentBytes = 10 }, 0), "more content than the envelope declares"},
		{"more files than declared", craftBundle(good(), nil, func(e *Envelope) { e.Files = 1 }, 0), "more files than the envelope declares"},
		{"absolute path", craftBundle(withEntry(fileEntry("/etc/passwd", "x")), nil, nil, 0), "absolute path"},
		{"absolute path outside data/", craftBundle(append(good(), tarEntry{hdr: tar.Header{Name: "/etc/passwd", Typeflag: tar.TypeReg, Size: 1, Mode: 0o644}, body: []byte("x")}), nil, nil, 0), `unexpected entry "/etc/passwd"`},
		{"dot-dot", craftBundle(withEntry(fileEntry("../../evil", "x")), nil, nil, 0), `".." path component`},
		{"dot-dot inside", craftBundle(withEntry(fileEntry("docs/../../evil", "x")), nil, nil, 0), `".." path component`},
		{"symlink", craftBundle(withEntry(special("docs/link", tar.TypeSymlink)), nil, nil, 0), "is a symbolic link"},
		{"hard link", craftBundle(withEntry(special("docs/hard", tar.TypeLink)), nil, nil, 0), "is a hard link"},
		{"character device", craftBundle(withEntry(special("docs/tty", tar.TypeChar)), nil, nil, 0), "is a character device"},
		{"block device", craftBundle(withEntry(special("docs/sda", tar.TypeBlock)), nil, nil, 0), "is a block device"},
		{"fifo", craftBundle(withEntry(special("docs/pipe", tar.TypeFifo)), nil, nil, 0), "is a FIFO"},
		{"duplicate name", craftBundle(withEntry(fileEntry("docs/a.txt", "again")), nil, nil, 0), "appears twice"},
		{"names colliding in case", craftBundle(withEntry(fileEntry("docs/A.TXT", "x")), nil, nil, 0), "appears twice (or differs only in case)"},
		{"Windows device name CON", craftBundle(withEntry(fileEntry("docs/CON", "x")), nil, nil, 0), "reserved Windows device name"},
		{"Windows device name with extension", craftBundle(withEntry(fileEntry("docs/nul.txt", "x")), nil, nil, 0), "reserved Windows device name"},
		{"trailing dot", craftBundle(withEntry(fileEntry("docs/report.", "x")), nil, nil, 0), "ends with a dot or space"},
		{"colon", craftBundle(withEntry(fileEntry("docs/a:b", "x")), nil, nil, 0), `character ':'`},
		{"control character", craftBundle(withEntry(fileEntry("docs/a\x01b", "x")), nil, nil, 0), "control character"},
		{"file used as a folder", craftBundle(withEntry(fileEntry("docs/a.txt/inner", "x")), nil, nil, 0), "which is a file"},
		{"oversized header", func(t testing.TB, dir string, a, k, m station) string {
			ents := good()
			f, d, n := counts(ents)
			env := newEnvelope(a, k, f, d, n)
			// Go's tar writer refuses to write it, so the bytes are made by hand.
			s := append(rawPAXHeader(2<<20), streamOf(t, ents, manifestFor(env.ID, "alice", ents), a)...)
			return writeBundle(t, dir, env, encrypt(t, s, k), 0, a)
		}, "payload stream is not valid"},
		{"oversized name", craftBundle(withEntry(fileEntry(strings.Repeat("d/", 600)+"x", "x")), nil, nil, 0), "longer than"},
		{"oversized manifest", func(t testing.TB, dir string, a, k, m station) string {
			ents := good()
			f, d, n := counts(ents)
			env := newEnvelope(a, k, f, d, n)
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			for _, e := range ents {
				tw.WriteHeader(&e.hdr)
				tw.Write(e.body)
			}
			tw.WriteHeader(&tar.Header{Name: ManifestPath, Typeflag: tar.TypeReg, Mode: 0o644, Size: MaxManifestSize + 1})
			// The size alone must be refused: write no body, the reader never gets there.
			return writeBundle(t, dir, env, encrypt(t, buf.Bytes()[:buf.Len()], k), 0, a)
		}, "more than the 67108864 allowed"},
		{"no manifest", noManifest, "ends before its signed manifest"},
		{"setuid mode", craftBundle(withEntry(tarEntry{hdr: tar.Header{Name: dataPrefix + "docs/suid", Typeflag: tar.TypeReg, Mode: 0o4755, Format: tar.FormatPAX}}), nil, nil, 0), "only permission bits"},
		{"data after the archive", func(t testing.TB, dir string, a, k, m station) string {
			ents := good()
			f, d, n := counts(ents)
			env := newEnvelope(a, k, f, d, n)
			s := append(streamOf(t, ents, manifestFor(env.ID, "alice", ents), a), []byte("trailing garbage")...)
			return writeBundle(t, dir, env, encrypt(t, s, k), 0, a)
		}, "data after the end of its archive"},
		{"global pax header", craftBundle(withEntry(tarEntry{hdr: tar.Header{Name: dataPrefix + "g", Typeflag: tar.TypeXGlobalHeader, PAXRecords: map[string]string{"path": "x"}, Format: tar.FormatPAX}}), nil, nil, 0), "unexpected entry"},
		{"unexpected file in bundle folder", func(t testing.TB, dir string, a, k, m station) string {
			b := craftBundle(good(), nil, nil, 0)(t, dir, a, k, m)
			os.WriteFile(filepath.Join(b, "autorun.inf"), []byte("x"), 0o644)
			return b
		}, `unexpected file "autorun.inf"`},
	}
}

func noManifest(t testing.TB, dir string, a, k, m station) string {
	ents := good()
	f, d, n := counts(ents)
	env := newEnvelope(a, k, f, d, n)
	return writeBundle(t, dir, env, encrypt(t, streamOf(t, ents, nil, a), k), 0, a)
}

// TestHostileBundles runs every hostile bundle through the receive path
// (open, check the signature against the trusted key, extract into a
// quarantine) and checks each gets its verdict and that nothing escaped the
// quarantine.
func TestHostileBundles(t *testing.T) {
	alice, kiosk, mallory := newStation(t, "alice"), newStation(t, "kiosk"), newStation(t, "mallory")
	for _, h := range hostileCases() {
		t.Run(h.name, func(t *testing.T) {
			outside := t.TempDir()
			dir := h.make(t, t.TempDir(), alice, kiosk, mallory)
			_, q, err := receive(t, dir, alice, kiosk)
			if err == nil {
				t.Fatal("hostile bundle accepted")
			}
			if !errors.Is(err, ErrRejected) {
				t.Errorf("error does not wrap ErrRejected: %v", err)
			}
			if !strings.Contains(err.Error(), h.want) {
				t.Errorf("error %q\n  does not say %q", err, h.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			if ents, _ := os.ReadDir(outside); len(ents) != 0 {
				t.Errorf("something was written outside the quarantine")
			}
			if q != "" {
				// Nothing named by a hostile entry may exist anywhere near it.
				for _, p := range []string{"../evil", "../../evil", "evil", "docs/link", "docs/tty", "docs/pipe"} {
					if _, err := os.Lstat(filepath.Join(q, p)); err == nil {
						t.Errorf("%s was created", p)
					}
				}
			}
		})
	}
}

// TestStreamStopsAtDeclaredCount feeds a generator of ten million entries to
// the stream reader: it must refuse at the first entry past the envelope's
// count, having read and written almost nothing.
func TestStreamStopsAtDeclaredCount(t *testing.T) {
	const total = 10_000_000
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		for i := range total {
			if err := tw.WriteHeader(&tar.Header{Name: dataPrefix + "f" + itoa(i), Typeflag: tar.TypeReg, Mode: 0o644}); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		pw.CloseWithError(tw.Close())
	}()
	q := t.TempDir()
	root, _ := os.OpenRoot(q)
	defer root.Close()
	alice := newStation(t, "alice")
	_, err := ExtractStream(context.Background(), pr, root, Expect{BundleID: NewID(time.Now()), SenderName: "alice", SenderKey: alice.card.SigningKey, Files: 100})
	pr.CloseWithError(errors.New("reader done"))
	if err == nil || !strings.Contains(err.Error(), "more files than the envelope declares") {
		t.Fatalf("got %v", err)
	}
	if ents, _ := os.ReadDir(q); len(ents) > 100 {
		t.Fatalf("%d entries written, more than the 100 declared", len(ents))
	}
}

func itoa(i int) string {
	return strings.TrimLeft(string([]byte{byte('0' + i/1000000%10), byte('0' + i/100000%10), byte('0' + i/10000%10), byte('0' + i/1000%10), byte('0' + i/100%10), byte('0' + i/10%10), byte('0' + i%10)}), "")
}

// rawPAXHeader returns a PAX extended header block whose records take size
// bytes, the kind a hostile sender uses to make a reader allocate.
func rawPAXHeader(size int) []byte {
	rec := "comment=" + strings.Repeat("x", size)
	line := fmt.Sprintf("%d %s\n", len(rec)+2+len(fmt.Sprint(size)), rec)
	for i := 0; i < 3; i++ { // the length prefix counts itself
		line = fmt.Sprintf("%d %s\n", len(line), rec)
	}
	h := make([]byte, 512)
	copy(h[0:], "PaxHeaders/big")
	copy(h[100:], "0000644\x00")
	copy(h[108:], "0000000\x00")
	copy(h[116:], "0000000\x00")
	copy(h[124:], fmt.Sprintf("%011o\x00", len(line)))
	copy(h[136:], "00000000000\x00")
	h[156] = 'x'
	copy(h[257:], "ustar\x0000")
	copy(h[148:], "        ")
	sum := 0
	for _, c := range h {
		sum += int(c)
	}
	copy(h[148:], fmt.Sprintf("%06o\x00 ", sum))
	body := []byte(line)
	if pad := len(body) % 512; pad != 0 {
		body = append(body, make([]byte, 512-pad)...)
	}
	return append(h, body...)
}
