package bundle

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"filippo.io/age"

	"sluice/crypto"
)

// benchTree writes 256 MiB in four files plus 500 small ones.
func benchTree(b *testing.B) (string, int64) {
	dir := b.TempDir()
	var total int64
	for i := range 4 {
		data := randomBytes(64<<20, uint64(i))
		os.WriteFile(filepath.Join(dir, "big"+itoa(i)), data, 0o644)
		total += int64(len(data))
	}
	for i := range 500 {
		data := randomBytes(4096+i*37, uint64(i+10))
		os.WriteFile(filepath.Join(dir, "small"+itoa(i)), data, 0o644)
		total += int64(len(data))
	}
	return dir, total
}

func BenchmarkSeal(b *testing.B) {
	src, total := benchTree(b)
	alice, kiosk := newStation(b, "alice"), newStation(b, "kiosk")
	srcs, _ := Collect([]string{src})
	b.SetBytes(total)
	b.ResetTimer()
	for range b.N {
		out := b.TempDir()
		if _, err := Seal(context.Background(), out, srcs, SealOptions{SenderName: "alice", Signer: alice.keys.Signer, Recipients: []crypto.Card{kiosk.card}}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkExtract(b *testing.B) {
	src, total := benchTree(b)
	alice, kiosk := newStation(b, "alice"), newStation(b, "kiosk")
	srcs, _ := Collect([]string{src})
	s, err := Seal(context.Background(), b.TempDir(), srcs, SealOptions{SenderName: "alice", Signer: alice.keys.Signer, Recipients: []crypto.Card{kiosk.card}})
	if err != nil {
		b.Fatal(err)
	}
	bd, _ := Open(s.Dir)
	b.SetBytes(total)
	b.ResetTimer()
	for range b.N {
		q := b.TempDir()
		root, _ := os.OpenRoot(q)
		if _, err := bd.Extract(context.Background(), []age.Identity{kiosk.keys.Identity}, root, nil); err != nil {
			b.Fatal(err)
		}
		root.Close()
	}
}

func BenchmarkSealManySmall(b *testing.B) {
	dir := b.TempDir()
	data := randomBytes(4096, 1)
	for d := range 10 {
		sub := filepath.Join(dir, "d"+itoa(d))
		os.Mkdir(sub, 0o755)
		for i := range 1000 {
			os.WriteFile(filepath.Join(sub, "f"+itoa(i)), data, 0o644)
		}
	}
	alice, kiosk := newStation(b, "alice"), newStation(b, "kiosk")
	b.SetBytes(10000 * 4096)
	b.ResetTimer()
	for range b.N {
		srcs, err := Collect([]string{dir})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Seal(context.Background(), b.TempDir(), srcs, SealOptions{SenderName: "alice", Signer: alice.keys.Signer, Recipients: []crypto.Card{kiosk.card}}); err != nil {
			b.Fatal(err)
		}
	}
}
