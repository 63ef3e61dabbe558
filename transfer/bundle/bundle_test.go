package bundle

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"sluice/crypto"
)

type station struct {
	name string
	keys *crypto.StationKeys
	card crypto.Card
}

func newStation(t testing.TB, name string) station {
	t.Helper()
	k, err := crypto.GenerateStationKeys(false)
	if err != nil {
		t.Fatal(err)
	}
	return station{name, k, k.Card(name)}
}

// writeTree creates files under dir from a map of relative path → content.
func writeTree(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func seal(t testing.TB, from station, to []station, paths []string, volSize int64) *Sealed {
	t.Helper()
	srcs, err := Collect(paths)
	if err != nil {
		t.Fatal(err)
	}
	var cards []crypto.Card
	for _, s := range to {
		cards = append(cards, s.card)
	}
	out := t.TempDir()
	s, err := Seal(context.Background(), out, srcs, SealOptions{SenderName: from.name, Signer: from.keys.Signer, Recipients: cards, VolumeSize: volSize, Note: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func receive(t testing.TB, dir string, sender station, me station) (*Verified, string, error) {
	t.Helper()
	b, err := Open(dir)
	if err != nil {
		return nil, "", err
	}
	if err := b.VerifySignature(sender.card.SigningKey); err != nil {
		return nil, "", err
	}
	q := t.TempDir()
	root, err := os.OpenRoot(q)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	v, err := b.Extract(context.Background(), []age.Identity{me.keys.Identity}, root, nil)
	return v, q, err
}

func TestSealExtractRoundTrip(t *testing.T) {
	src := t.TempDir()
	big := randomBytes(3<<20+12345, 1)
	writeTree(t, src, map[string]string{
		"docs/a.txt":          "alpha",
		"docs/sub/b.txt":      "beta",
		"docs/empty.txt":      "",
		"docs/sub/deep/c.bin": string(big),
	})
	os.Mkdir(filepath.Join(src, "docs", "emptydir"), 0o755)
	os.WriteFile(filepath.Join(src, "top.txt"), []byte("top"), 0o755)
	alice, kiosk := newStation(t, "alice"), newStation(t, "kiosk")
	for _, vol := range []int64{0, 1 << 20, 65536} {
		s := seal(t, alice, []station{kiosk}, []string{filepath.Join(src, "docs"), filepath.Join(src, "top.txt")}, vol)
		if want := int64(5); s.Envelope.Files != want {
			t.Errorf("files = %d, want %d", s.Envelope.Files, want)
		}
		if vol > 0 && len(s.Envelope.Payload.Volumes) < 2 {
			t.Errorf("volume size %d gave %d volumes", vol, len(s.Envelope.Payload.Volumes))
		}
		bd, err := Open(s.Dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := bd.CheckVolumes(context.Background()); err != nil {
			t.Fatalf("vol=%d: volumes and payload hash: %v", vol, err)
		}
		whole := []byte{}
		for _, v := range s.Envelope.Payload.Volumes {
			b, _ := os.ReadFile(filepath.Join(s.Dir, v.Name))
			whole = append(whole, b...)
		}
		if crypto.HashBytes(whole) != s.Envelope.Payload.SHA256 {
			t.Fatalf("vol=%d: payload hash is not the SHA-256 of the concatenated volumes", vol)
		}
		v, q, err := receive(t, s.Dir, alice, kiosk)
		if err != nil {
			t.Fatalf("vol=%d: %v", vol, err)
		}
		if v.ManifestSHA256 != s.ManifestSHA256 {
			t.Error("manifest hash differs between ends")
		}
		got, err := os.ReadFile(filepath.Join(q, "docs/sub/deep/c.bin"))
		if err != nil || !bytes.Equal(got, big) {
			t.Fatalf("big file differs after round trip: %v", err)
		}
		if info, err := os.Stat(filepath.Join(q, "top.txt")); err != nil || info.Mode().Perm() != 0o755 {
			t.Errorf("top.txt mode: %v %v", info.Mode(), err)
		}
		if info, err := os.Stat(filepath.Join(q, "docs/emptydir")); err != nil || !info.IsDir() {
			t.Errorf("empty dir not released: %v", err)
		}
	}
}

func TestSealAbortsWhenFileChanges(t *testing.T) {
	src := t.TempDir()
	writeTree(t, src, map[string]string{"f.txt": "reviewed"})
	srcs, err := Collect([]string{src})
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(src, "f.txt"), []byte("changed!"), 0o644) // same size, new content
	d := crypto.HashBytes([]byte("reviewed"))
	for i := range srcs {
		if srcs[i].Type == TypeFile {
			srcs[i].SHA256 = &d
		}
	}
	alice, kiosk := newStation(t, "alice"), newStation(t, "kiosk")
	out := t.TempDir()
	_, err = Seal(context.Background(), out, srcs, SealOptions{SenderName: "alice", Signer: alice.keys.Signer, Recipients: []crypto.Card{kiosk.card}})
	if !errors.Is(err, ErrChanged) {
		t.Fatalf("got %v, want ErrChanged", err)
	}
	if ents, _ := os.ReadDir(out); len(ents) != 0 {
		t.Fatalf("aborted seal left %d entries in the output folder", len(ents))
	}
	os.WriteFile(filepath.Join(src, "f.txt"), []byte("longer than before"), 0o644)
	_, err = Seal(context.Background(), out, srcs, SealOptions{SenderName: "alice", Signer: alice.keys.Signer, Recipients: []crypto.Card{kiosk.card}})
	if !errors.Is(err, ErrChanged) || !strings.Contains(err.Error(), "stage it again") {
		t.Fatalf("got %v, want ErrChanged", err)
	}
}

func TestSealCancelLeavesNothing(t *testing.T) {
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "big"), randomBytes(32<<20, 2), 0o644)
	srcs, _ := Collect([]string{src})
	alice, kiosk := newStation(t, "alice"), newStation(t, "kiosk")
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	_, err := Seal(ctx, out, srcs, SealOptions{SenderName: "alice", Signer: alice.keys.Signer, Recipients: []crypto.Card{kiosk.card},
		Progress: func(done, total int64) {
			if done > 0 {
				cancel()
			}
		}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if ents, _ := os.ReadDir(out); len(ents) != 0 {
		t.Fatalf("cancelled seal left %d entries", len(ents))
	}
}

func TestCollectRefusesSpecialFiles(t *testing.T) {
	src := t.TempDir()
	writeTree(t, src, map[string]string{"ok.txt": "x"})
	os.Symlink("ok.txt", filepath.Join(src, "link"))
	if _, err := Collect([]string{src}); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("symlink: got %v", err)
	}
	a, b := t.TempDir(), t.TempDir()
	writeTree(t, a, map[string]string{"same.txt": "1"})
	writeTree(t, b, map[string]string{"SAME.txt": "2"})
	if _, err := Collect([]string{filepath.Join(a, "same.txt"), filepath.Join(b, "SAME.txt")}); err == nil {
		t.Fatal("case-colliding names accepted")
	}
	c := t.TempDir()
	writeTree(t, c, map[string]string{"CON.txt": "1"})
	if _, err := Collect([]string{c}); err == nil || !strings.Contains(err.Error(), "Windows") {
		t.Fatalf("CON.txt: got %v", err)
	}
}

// Many files of the sizes where the read-ahead changes how it reads (empty,
// at and around its buffer classes, the largest it takes and the first it
// leaves to the writer) come back byte for byte, in folders, with their
// modes and dates.
func TestSealExtractManySmallFiles(t *testing.T) {
	src := t.TempDir()
	sizes := []int{0, 1, 511, 512, 4095, 4096, 4097, 65535, 65536, readAheadMax - 1, readAheadMax, readAheadMax + 1}
	want := map[string][]byte{}
	date := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	for d := range 7 {
		for i := range 300 {
			size := sizes[(d*300+i)%len(sizes)]
			if size > 65536 && i%50 != 0 {
				size = i // keep the test small
			}
			name := filepath.Join("tree", "d"+itoa(d), "f"+itoa(i))
			b := randomBytes(size, uint64(d*1000+i))
			p := filepath.Join(src, name)
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			os.Chtimes(p, date, date)
			want[filepath.ToSlash(name)] = b
		}
	}
	for d := range 300 { // many folders of one file: writes pending in each
		name := filepath.Join("tree", "one", "d"+itoa(d), "f")
		p := filepath.Join(src, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		b := randomBytes(d, uint64(d))
		os.WriteFile(p, b, 0o644)
		os.Chtimes(p, date, date)
		want[filepath.ToSlash(name)] = b
	}
	alice, kiosk := newStation(t, "alice"), newStation(t, "kiosk")
	s := seal(t, alice, []station{kiosk}, []string{filepath.Join(src, "tree")}, 0)
	if s.Envelope.Files != int64(len(want)) {
		t.Fatalf("sealed %d files, want %d", s.Envelope.Files, len(want))
	}
	v, q, err := receive(t, s.Dir, alice, kiosk)
	if err != nil {
		t.Fatal(err)
	}
	if v.Files != int64(len(want)) || v.DatesNotKept != 0 {
		t.Fatalf("released %d files, %d dates not kept", v.Files, v.DatesNotKept)
	}
	for name, b := range want {
		p := filepath.Join(q, name)
		got, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("%s differs after the round trip (%d bytes, want %d): %v", name, len(got), len(b), err)
		}
		if info, _ := os.Stat(p); !info.ModTime().Equal(date) || info.Mode().Perm() != 0o644 {
			t.Fatalf("%s: date %v, mode %v", name, info.ModTime(), info.Mode())
		}
	}
}

// A file that changes between staging and sealing aborts the seal wherever
// it sits among many read ahead, and the error names it, not a neighbour.
func TestSealAbortsWhenOneOfManyChanges(t *testing.T) {
	src := t.TempDir()
	files := map[string]string{}
	for i := range 3000 {
		files["many/f"+itoa(i)] = strings.Repeat("x", i%700)
	}
	writeTree(t, src, files)
	alice, kiosk := newStation(t, "alice"), newStation(t, "kiosk")
	for k, change := range []func(p string){
		func(p string) { os.WriteFile(p, []byte("grown "+strings.Repeat("y", 800)), 0o644) },
		func(p string) { os.WriteFile(p, nil, 0o644) },
		func(p string) { os.Remove(p); os.Symlink(filepath.Join(src, "many/f1"), p) },
		func(p string) { os.Remove(p) },
	} {
		srcs, err := Collect([]string{filepath.Join(src, "many")})
		if err != nil {
			t.Fatal(err)
		}
		victim := filepath.Join(src, "many/f"+itoa(2345))
		change(victim)
		out := t.TempDir()
		_, err = Seal(context.Background(), out, srcs, SealOptions{SenderName: "alice", Signer: alice.keys.Signer, Recipients: []crypto.Card{kiosk.card}})
		if err == nil || !strings.Contains(err.Error(), victim) {
			t.Fatalf("change %d: got %v, want an error naming %s", k, err, victim)
		}
		if ents, _ := os.ReadDir(out); len(ents) != 0 {
			t.Fatalf("aborted seal left %d entries in the output folder", len(ents))
		}
		os.Remove(victim)
		os.WriteFile(victim, []byte(files["many/f"+itoa(2345)]), 0o644)
	}
}

// OnFile sees every file under 1 MiB, by its path in the bundle, with the
// bytes written into the quarantine; larger files are left to be read back.
func TestExtractOnFile(t *testing.T) {
	src := t.TempDir()
	files := map[string]string{"d/a.txt": "alpha", "d/e/b.txt": "", "d/big.bin": string(randomBytes(readAheadMax+1, 3))}
	writeTree(t, src, files)
	alice, kiosk := newStation(t, "alice"), newStation(t, "kiosk")
	s := seal(t, alice, []station{kiosk}, []string{filepath.Join(src, "d")}, 0)
	b, err := Open(s.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.VerifySignature(alice.card.SigningKey); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]string{}
	b.OnFile = func(name string, content []byte) {
		mu.Lock()
		seen[name] = string(content)
		mu.Unlock()
	}
	root, err := os.OpenRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	if _, err := b.Extract(context.Background(), []age.Identity{kiosk.keys.Identity}, root, nil); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || seen["d/a.txt"] != "alpha" || seen["d/e/b.txt"] != "" {
		t.Fatalf("OnFile saw %d files: %q", len(seen), seen)
	}
}
