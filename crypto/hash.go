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
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return d, fmt.Errorf("digest must be lowercase hex")
		}
	}
	if _, err := hex.Decode(d[:], []byte(s)); err != nil {
		return d, fmt.Errorf("decode digest: %w", err)
	}
	return d, nil
}

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
