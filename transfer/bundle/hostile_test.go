package bundle

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
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

// editManifest and editEnvelope, when set, edit the manifest's and the
// envelope's bytes before they are signed: a trusted but compromised sender
// can sign anything. Only signedEdit sets them, for one bundle at a time.
var editManifest, editEnvelope func([]byte) []byte

// signedEdit is craftBundle(good()) with the signed bytes edited.
func signedEdit(manifest, envelope func([]byte) []byte) func(t testing.TB, dir string, a, k, m station) string {
	return func(t testing.TB, dir string, a, k, m station) string {
		editManifest, editEnvelope = manifest, envelope
		defer func() { editManifest, editEnvelope = nil, nil }()
		return craftBundle(good(), nil, nil, 0)(t, dir, a, k, m)
	}
}

// prepend is craftBundle(good()) with raw bytes before the stream.
func prepend(raw []byte, mutateEnv func(*Envelope)) func(t testing.TB, dir string, a, k, m station) string {
	return func(t testing.TB, dir string, a, k, m station) string {
		ents := good()
		f, d, n := counts(ents)
		env := newEnvelope(a, k, f, d, n)
		if mutateEnv != nil {
			mutateEnv(env)
		}
		s := append(raw, streamOf(t, ents, manifestFor(env.ID, "alice", ents), a)...)
		return writeBundle(t, dir, env, encrypt(t, s, k), 0, a)
	}
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
		if editManifest != nil {
			mb = editManifest(mb)
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
	if editEnvelope != nil {
		eb = editEnvelope(eb)
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
		{"more content than declared", craftBundle(good(), nil, func(e *Envelope) { e.ContentBytes-- }, 0), "more content than the envelope declares"},
		{"payload larger than its counts allow", craftBundle(good(), nil, func(e *Envelope) { e.ContentBytes = 10 }, 0), "larger than 2 files, 1 folders and 10 bytes of content can make"},
		{"file count overflows", craftBundle(good(), nil, func(e *Envelope) { e.Files, e.Dirs = math.MaxInt64, 1 }, 0), "more than a bundle may hold"},
		{"folder count overflows", craftBundle(good(), nil, func(e *Envelope) { e.Files, e.Dirs = 1, math.MaxInt64 }, 0), "more than a bundle may hold"},
		{"content size overflows", craftBundle(good(), nil, func(e *Envelope) { e.ContentBytes = math.MaxInt64 }, 0), "more than a bundle may hold"},
		{"sparse file (PAX 1.0)", prepend(append(rawPAX("PaxHeaders/big", [][2]string{{"GNU.sparse.major", "1"}, {"GNU.sparse.minor", "0"}, {"GNU.sparse.name", "data/docs/big"}, {"GNU.sparse.realsize", "1073741824"}}),
			append(rawHeader("data/docs/GNUSparseFile.0/big", '0', 512), pad512([]byte("1\n1073741823\n1\n"))...)...), nil), "is a sparse file"},
		{"sparse file (PAX 0.1)", prepend(append(rawPAX("PaxHeaders/big", [][2]string{{"GNU.sparse.size", "1073741824"}, {"GNU.sparse.numblocks", "1"}, {"GNU.sparse.offset", "1073741823"}, {"GNU.sparse.numbytes", "1"}}),
			append(rawHeader("data/docs/big", '0', 512), make([]byte, 512)...)...), nil), "is a sparse file"},
		{"sparse file (old GNU)", prepend(rawHeader("data/docs/big", 'S', 0), nil), "is a sparse file"},
		{"owner in the header", craftBundle(withEntry(tarEntry{hdr: tar.Header{Name: dataPrefix + "docs/x", Typeflag: tar.TypeReg, Mode: 0o644, Format: tar.FormatUSTAR,
			Uid: 1, Gid: 1, Uname: "daemon", Gname: "daemon"}}), nil, nil, 0), `"data/docs/x" names an owner (uid 1, gid 1, a user or group name)`},
		{"owner name alone", craftBundle(withEntry(tarEntry{hdr: tar.Header{Name: dataPrefix + "docs/x", Typeflag: tar.TypeReg, Mode: 0o644, Format: tar.FormatUSTAR,
			Uname: "root"}}), nil, nil, 0), `"data/docs/x" names an owner (uid 0, gid 0, a user or group name)`},
		{"extended attribute", craftBundle(withEntry(tarEntry{hdr: tar.Header{Name: dataPrefix + "docs/x", Typeflag: tar.TypeReg, Mode: 0o644, Format: tar.FormatPAX,
			PAXRecords: map[string]string{"SCHILY.xattr.user.evil": "1"}}}), nil, nil, 0), `tar extension "SCHILY.xattr.user.evil"`},
		{"manifest key twice in case", signedEdit(func(b []byte) []byte {
			return bytes.Replace(b, []byte(`{"path":"docs/a.txt",`), []byte(`{"path":"docs/a.txt","PATH":"docs/evil.txt",`), 1)
		}, nil), `keys "path" and "PATH" differ only in case`},
		{"manifest key in other case", signedEdit(func(b []byte) []byte {
			return bytes.Replace(b, []byte(`{"path":"docs/a.txt",`), []byte(`{"Path":"docs/a.txt",`), 1)
		}, nil), `unknown key "Path"`},
		{"manifest key twice", signedEdit(func(b []byte) []byte {
			return bytes.Replace(b, []byte(`{"path":"docs/a.txt",`), []byte(`{"path":"docs/a.txt","path":"docs/evil.txt",`), 1)
		}, nil), `key "path" appears twice`},
		{"envelope note twice in case", signedEdit(nil, func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"files":`), []byte(`"note": "harmless", "NOTE": "approved by security", "files":`), 1)
		}), `keys "note" and "NOTE" differ only in case`},
		{"envelope nested key in case", signedEdit(nil, func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"name": "alice",`), []byte(`"name": "alice", "Name": "bob",`), 1)
		}), `keys "name" and "Name" differ only in case`},
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
		{"names colliding in case", craftBundle(withEntry(fileEntry("docs/A.TXT", "x")), nil, nil, 0), `"docs/a.txt" and "docs/A.TXT" differ only in case`},
		{"folders differing in case", craftBundle(append([]tarEntry{dirEntry("A")}, withEntry(fileEntry("a/b", "x"))...), nil, nil, 0), `"A" and "a" differ only in case`},
		// Every folder a receive makes is listed, and so counted against
		// the envelope's folders and the kiosk's max_files.
		{"folder never listed", craftBundle(withEntry(fileEntry("deep/d/d/f", "x")), nil, nil, 0), `"deep/d/d/f" comes before its folder "deep/d/d", or its folder is not listed`},
		{"folder listed after what it holds", craftBundle(append(good(), fileEntry("late/x", "x"), dirEntry("late")), nil, nil, 0), `"late/x" comes before its folder "late"`},
		{"implied folders differing in case", craftBundle(withEntry(fileEntry("DOCS/b", "x")), nil, nil, 0), `"docs" and "DOCS" differ only in case`},
		{"names colliding in full width", craftBundle(withEntry(fileEntry("docs/ａ.txt", "x")), nil, nil, 0), "differ only in case or in look-alike"},
		{"names colliding by composition", craftBundle(append(good(), fileEntry("docs/\u00e9", "x"), fileEntry("docs/e\u0301", "y")), nil, nil, 0), "differ only in case or in look-alike"},
		{"right-to-left override", craftBundle(withEntry(fileEntry("docs/invoice\u202etxt.exe", "x")), nil, nil, 0), `bidirectional control (U+202E)`},
		{"left-to-right isolate", craftBundle(withEntry(fileEntry("docs/a\u2066b", "x")), nil, nil, 0), `bidirectional control (U+2066)`},
		{"zero-width space", craftBundle(withEntry(fileEntry("docs/a\u200b.txt", "x")), nil, nil, 0), `invisible character (U+200B)`},
		{"soft hyphen", craftBundle(withEntry(fileEntry("docs/a\u00adb", "x")), nil, nil, 0), `invisible character (U+00AD)`},
		{"variation selector", craftBundle(withEntry(fileEntry("docs/a\ufe0fb", "x")), nil, nil, 0), `invisible character (U+FE0F)`},
		{"Hangul filler", craftBundle(withEntry(fileEntry("docs/a\u3164b", "x")), nil, nil, 0), `invisible character (U+3164)`},
		{"line separator", craftBundle(withEntry(fileEntry("docs/a\u2028b", "x")), nil, nil, 0), `line or paragraph separator (U+2028)`},
		{"no-break space", craftBundle(withEntry(fileEntry("docs/a\u00a0b", "x")), nil, nil, 0), `space other than U+0020 (U+00A0)`},
		{"private use", craftBundle(withEntry(fileEntry("docs/a\ue000b", "x")), nil, nil, 0), `private-use character (U+E000)`},
		{"unassigned", craftBundle(withEntry(fileEntry("docs/a\u0378b", "x")), nil, nil, 0), `unassigned character`},
		{"C1 control", craftBundle(withEntry(fileEntry("docs/a\u009bb", "x")), nil, nil, 0), `control character (U+009B)`},
		{"Cyrillic look-alike", craftBundle(withEntry(fileEntry("docs/p\u0430ypal.pdf", "x")), nil, nil, 0), "mixes Latin and Cyrillic letters"},
		{"whole-script Cyrillic look-alike", craftBundle(append(good(), fileEntry("docs/cope.pdf", "x"), fileEntry("docs/\u0441\u043e\u0440\u0435.pdf", "y")), nil, nil, 0), "differ only in case or in look-alike"},
		{"whole-script Greek look-alike", craftBundle(append(good(), fileEntry("docs/KOI", "x"), fileEntry("docs/\u039a\u039f\u0399", "y")), nil, nil, 0), "differ only in case or in look-alike"},
		{"braille blank", craftBundle(withEntry(fileEntry("docs/a\u2800.txt", "x")), nil, nil, 0), "invisible character (U+2800)"},
		{"Greek look-alike", craftBundle(withEntry(fileEntry("docs/\u0391dmin.txt", "x")), nil, nil, 0), "mixes Greek and Latin letters"},
		{"Windows console name", craftBundle(withEntry(fileEntry("docs/CONIN$", "x")), nil, nil, 0), `reserved Windows device name "CONIN$"`},
		{"Windows console output name", craftBundle(withEntry(fileEntry("docs/conout$.txt", "x")), nil, nil, 0), `reserved Windows device name "conout$"`},
		{"Windows COM0", craftBundle(withEntry(fileEntry("docs/COM0", "x")), nil, nil, 0), `reserved Windows device name`},
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
			// Declare enough folders that the payload's size passes the
			// envelope's bound: the stream itself must be refused.
			env.Dirs += 1000
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
		}, "sluice/manifest.json is 67108865 bytes, more than the"},
		{"manifest larger than its counts allow", func(t testing.TB, dir string, a, k, m station) string {
			ents := good()
			f, d, n := counts(ents)
			env := newEnvelope(a, k, f, d, n)
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			for _, e := range ents {
				tw.WriteHeader(&e.hdr)
				tw.Write(e.body)
			}
			// 63 MiB of deep folders for a bundle of three entries: refused
			// by its size before a byte is read or parsed.
			tw.WriteHeader(&tar.Header{Name: ManifestPath, Typeflag: tar.TypeReg, Mode: 0o644, Size: 63 << 20})
			return writeBundle(t, dir, env, encrypt(t, buf.Bytes()[:buf.Len()], k), 0, a)
		}, fmt.Sprintf("is 66060288 bytes, more than the %d allowed", MaxManifestLen(2, 1))},
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
	return rawPAX("PaxHeaders/big", [][2]string{{"comment", strings.Repeat("x", size)}})
}

// rawPAX makes a PAX extended header with the given records by hand: Go's
// tar writer refuses the hostile ones (sparse maps, huge headers).
func rawPAX(name string, recs [][2]string) []byte {
	var body []byte
	for _, kv := range recs {
		rec := kv[0] + "=" + kv[1]
		line := fmt.Sprintf("%d %s\n", len(rec)+2+len(fmt.Sprint(len(rec))), rec)
		for i := 0; i < 3; i++ { // the length prefix counts itself
			line = fmt.Sprintf("%d %s\n", len(line), rec)
		}
		body = append(body, line...)
	}
	return append(rawHeader(name, 'x', len(body)), pad512(body)...)
}

// rawHeader makes one ustar header block by hand.
func rawHeader(name string, typ byte, size int) []byte {
	h := make([]byte, 512)
	copy(h[0:], name)
	copy(h[100:], "0000644\x00")
	copy(h[108:], "0000000\x00")
	copy(h[116:], "0000000\x00")
	copy(h[124:], fmt.Sprintf("%011o\x00", size))
	copy(h[136:], "00000000000\x00")
	h[156] = typ
	copy(h[257:], "ustar\x0000")
	if typ == 'S' { // only the old GNU format has this type
		copy(h[257:], "ustar  \x00")
	}
	copy(h[148:], "        ")
	sum := 0
	for _, c := range h {
		sum += int(c)
	}
	copy(h[148:], fmt.Sprintf("%06o\x00 ", sum))
	return h
}

func pad512(b []byte) []byte {
	if pad := len(b) % 512; pad != 0 {
		b = append(b, make([]byte, 512-pad)...)
	}
	return b
}
