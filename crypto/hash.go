package crypto

import (
	"encoding/hex"
	"fmt"
	"hash"
	"io"

	sha256 "github.com/minio/sha256-simd"
)

// DigestSize is the size in bytes of a SHA-256 digest.
const DigestSize = 32

// NewHash returns a new SHA-256 hash. Every file, volume and payload hash in
// Sluice goes through it, so the implementation is chosen here only.
func NewHash() hash.Hash { return sha256.New() }

// Digest is a SHA-256 digest.
type Digest [DigestSize]byte

// String returns the digest as lowercase hex, the form used in manifests,
// envelopes and by sha256sum.
func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// IsZero reports whether d is the all-zero digest, which no real input hashes to.
func (d Digest) IsZero() bool { return d == Digest{} }

// MarshalText encodes d as lowercase hex.
func (d Digest) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText decodes a 64-character lowercase hex digest.
func (d *Digest) UnmarshalText(b []byte) error {
	p, err := ParseDigest(string(b))
	if err != nil {
		return err
	}
	*d = p
	return nil
}

// ParseDigest parses a 64-character lowercase hex SHA-256 digest.
func ParseDigest(s string) (Digest, error) {
	var d Digest
	if len(s) != 2*DigestSize {
		return d, fmt.Errorf("digest must be %d hex characters, got %d", 2*DigestSize, len(s))
	}
	// One pass over the bytes, by table: a manifest holds one digest a
	// file, and a loop over runes then hex.Decode took a fifth of
	// parsing one.
	for i := range d {
		hi, lo := lowerHex[s[2*i]], lowerHex[s[2*i+1]]
		if hi|lo > 0xf {
			return Digest{}, fmt.Errorf("digest must be lowercase hex")
		}
		d[i] = hi<<4 | lo
	}
	return d, nil
}

// lowerHex maps '0'–'9' and 'a'–'f' to their values, every other byte
// to 0xff.
var lowerHex = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i, c := range "0123456789abcdef" {
		t[c] = byte(i)
	}
	return t
}()

// SumOf returns the digest of h's current state.
func SumOf(h hash.Hash) Digest {
	var d Digest
	h.Sum(d[:0])
	return d
}

// HashBytes returns the SHA-256 digest of b.
func HashBytes(b []byte) Digest { return sha256.Sum256(b) }

// HashReader reads r to its end and returns its digest and length.
func HashReader(r io.Reader) (Digest, int64, error) {
	h := NewHash()
	n, err := io.Copy(h, r)
	if err != nil {
		return Digest{}, n, err
	}
	return SumOf(h), n, nil
}
