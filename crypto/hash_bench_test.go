package crypto

import (
	stdsha256 "crypto/sha256"
	"hash"
	"sync"
	"testing"

	simd "github.com/minio/sha256-simd"
)

// The product chose sha256-simd; these say whether it, or its AVX-512
// multi-buffer server, beats the standard library on this CPU, for the
// large files and for the many small files a bundle holds.

func benchHash(b *testing.B, size int, newHash func() hash.Hash) {
	buf := make([]byte, size)
	b.SetBytes(int64(size))
	for range b.N {
		h := newHash()
		h.Write(buf)
		h.Sum(nil)
	}
}

func BenchmarkHashStd1MiB(b *testing.B)  { benchHash(b, 1<<20, stdsha256.New) }
func BenchmarkHashSimd1MiB(b *testing.B) { benchHash(b, 1<<20, simd.New) }
func BenchmarkHashStd4KiB(b *testing.B)  { benchHash(b, 4<<10, stdsha256.New) }
func BenchmarkHashSimd4KiB(b *testing.B) { benchHash(b, 4<<10, simd.New) }

// BenchmarkHashAvx512Server4KiB hashes 4 KiB files sixteen at a time through
// the multi-buffer server, the only way it can help.
func BenchmarkHashAvx512Server4KiB(b *testing.B) {
	if !hasAVX512() {
		b.Skip("no AVX-512 on this CPU")
	}
	srv := simd.NewAvx512Server()
	buf := make([]byte, 4<<10)
	b.SetBytes(int64(len(buf)))
	b.ResetTimer()
	var wg sync.WaitGroup
	per := (b.N + 15) / 16
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range per {
				h := simd.NewAvx512(srv)
				h.Write(buf)
				h.Sum(nil)
			}
		}()
	}
	wg.Wait()
}
