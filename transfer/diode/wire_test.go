package diode

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// A subset code makes exactly the parity shards the full code makes.
func TestSubsetCodec(t *testing.T) {
	for _, k := range []int{1, 3, 46, 128} {
		sh := make([][]byte, 2*k)
		for i := range sh {
			sh[i] = make([]byte, 100)
			if i < k {
				for j := range sh[i] {
					sh[i][j] = byte(rand.Uint32())
				}
			}
		}
		if err := codec(k).Encode(sh); err != nil {
			t.Fatal(err)
		}
		for pass := range 5 {
			c := perPass(k, 0.2)
			var rows []int
			for j := range c {
				if x := shardAt(pass, j, c, 2*k); x >= k {
					rows = append(rows, x)
				}
			}
			if len(rows) == 0 {
				continue
			}
			// sorted, as the sender does
			for i := 1; i < len(rows); i++ {
				for j := i; j > 0 && rows[j] < rows[j-1]; j-- {
					rows[j], rows[j-1] = rows[j-1], rows[j]
				}
			}
			out := append([][]byte(nil), sh[:k]...)
			for range rows {
				out = append(out, make([]byte, 100))
			}
			if err := subsetCodec(k, rows).Encode(out); err != nil {
				t.Fatal(err)
			}
			for i, x := range rows {
				if !bytes.Equal(out[k+i], sh[x]) {
					t.Fatalf("k=%d pass %d: parity shard %d differs", k, pass, x)
				}
			}
		}
	}
}

// Passes rotate through every shard of a block before repeating one.
func TestRotationCoversAllShards(t *testing.T) {
	for _, k := range []int{1, 5, 32, 93, 128} {
		n := 2 * k
		c := perPass(k, 0.2)
		seen := map[int]int{}
		sent := 0
		for p := 0; sent < n; p++ {
			for j := range c {
				seen[shardAt(p, j, c, n)]++
				sent++
			}
		}
		if len(seen) != n {
			t.Errorf("k=%d: %d of %d shards sent after %d packets", k, len(seen), n, sent)
		}
	}
}

func TestHeaderRoundTrip(t *testing.T) {
	h := header{Session: [8]byte{1, 2, 3, 4, 5, 6, 7, 8}, Seq: 99, Kind: kindData, Bundle: 3, Block: 70000, Shard: 255, K: 128, N: 256, Length: 182272}
	p := make([]byte, 1472)
	putHeader(p, &h)
	newMAC([]byte("k")).seal(p)
	var g header
	if err := parseHeader(p, &g); err != nil || g != h {
		t.Fatalf("got %+v, %v; want %+v", g, err, h)
	}
	if !newMAC([]byte("k")).check(p) || newMAC([]byte("j")).check(p) {
		t.Error("tag check")
	}
	p[40] ^= 1
	if newMAC([]byte("k")).check(p) {
		t.Error("a flipped bit passed the tag")
	}
	if PacketSize(1500, false) != 1472 || PacketSize(1500, true) != 1452 || PacketSize(9000, false) != 8972 {
		t.Error("PacketSize")
	}
}
