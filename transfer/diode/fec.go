package diode

import (
	"sync"

	"github.com/klauspost/reedsolomon"
)

// codecs caches one Reed-Solomon codec per data shard count: building the
// coding matrix of a 128+128 code takes longer than coding a block.
var codecs sync.Map // int → reedsolomon.Encoder

// codec returns the code of k data shards and k parity shards over
// GF(2^8) (Vandermonde-derived systematic matrix, klauspost's default).
// Both ends build the same matrix from k alone; a parity shard's row does
// not depend on how many parity shards exist, so a sender may make only
// the ones it sends.
func codec(k int) reedsolomon.Encoder {
	if c, ok := codecs.Load(k); ok {
		return c.(reedsolomon.Encoder)
	}
	c, err := reedsolomon.New(k, k)
	if err != nil {
		panic("diode: reedsolomon.New: " + err.Error()) // k is 1..128
	}
	c2, _ := codecs.LoadOrStore(k, c)
	return c2.(reedsolomon.Encoder)
}
