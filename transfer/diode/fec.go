package diode

import (
	"fmt"
	"sync"

	"github.com/klauspost/reedsolomon"
)

// codecs caches one Reed-Solomon codec per data shard count: building the
// coding matrix of a 128+128 code takes longer than coding a block.
var codecs sync.Map // int → reedsolomon.Encoder

// codec returns the code of k data shards and k parity shards over
// GF(2^8) (klauspost's default: a Vandermonde matrix made systematic).
// Both ends build the same matrix from k alone. Its inversion cache is
// off: with random loss nearly every block lacks a different set of
// shards, and the cache would grow by an inverted matrix per block.
func codec(k int) reedsolomon.Encoder {
	if c, ok := codecs.Load(k); ok {
		return c.(reedsolomon.Encoder)
	}
	c, err := reedsolomon.New(k, k, reedsolomon.WithInversionCache(false))
	if err != nil {
		panic("diode: reedsolomon.New: " + err.Error()) // k is 1..128
	}
	c2, _ := codecs.LoadOrStore(k, c)
	return c2.(reedsolomon.Encoder)
}

// parityMatrix returns the k parity rows of codec(k)'s matrix, read off
// by coding unit vectors: with data shard j holding 1 at byte j and 0
// elsewhere, byte t of parity shard i is the coefficient of row i,
// column t.
func parityMatrix(k int) [][]byte {
	sh := make([][]byte, 2*k)
	for j := range sh {
		sh[j] = make([]byte, k)
		if j < k {
			sh[j][j] = 1
		}
	}
	if err := codec(k).Encode(sh); err != nil {
		panic("diode: parity matrix: " + err.Error())
	}
	return sh[k:]
}

var (
	matrices sync.Map // int → [][]byte
	subsets  sync.Map // string → reedsolomon.Encoder
)

// subsetCodec returns a code that makes only the parity shards rows
// (indices k..2k-1 of codec(k)) from k data shards: one pass sends a
// fraction of the parity, and making the rest would cost several times
// the coding that is needed. Each pass of the rotation has its own set;
// there are at most 256 per k.
func subsetCodec(k int, rows []int) reedsolomon.Encoder {
	key := fmt.Sprint(k, rows)
	if c, ok := subsets.Load(key); ok {
		return c.(reedsolomon.Encoder)
	}
	m, ok := matrices.Load(k)
	if !ok {
		m, _ = matrices.LoadOrStore(k, parityMatrix(k))
	}
	full := m.([][]byte)
	sub := make([][]byte, len(rows))
	for i, r := range rows {
		sub[i] = full[r-k]
	}
	c, err := reedsolomon.New(k, len(rows), reedsolomon.WithCustomMatrix(sub))
	if err != nil {
		panic("diode: reedsolomon.New: " + err.Error())
	}
	c2, _ := subsets.LoadOrStore(key, c)
	return c2.(reedsolomon.Encoder)
}
