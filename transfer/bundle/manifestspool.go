package bundle

import (
	"bytes"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"sync/atomic"

	"sluice/crypto"
)

// manifestSpool holds the manifest Seal encodes entry by entry
// (appendManifestEntry writes into its Buffer). Up to manifestInMemory
// bytes stay in memory; past that they go to an anonymous file in the
// temporary folder, so the manifest of 200,000 files (about 30 MB) does
// not sit in the heap beside their 200,000 staged entries, where it made
// the collector run twice as often under the CLI's 88 MiB soft limit.
// The manifest's SHA-256 and the SHA-512 its signature covers are taken
// as it is written, so it is never read whole; it is hashed again as it
// is copied into the payload, so a spool file that changed is caught
// here, not at the kiosk. A temporary folder that refuses the file, or
// runs out of room, leaves the manifest in memory: nothing fails.
type manifestSpool struct {
	bytes.Buffer          // encoded and not yet written out
	hashed       int      // how many of the Buffer's first bytes are hashed
	file         *os.File // nil while the manifest is in memory
	noFile       bool     // the temporary folder failed: all in memory
	removed      bool     // the file's name is gone already
	size         int64    // bytes in file
	sum          hash.Hash
	sig          *crypto.SignHash
}

// Variables only so that a test can spool a small bundle's manifest.
var (
	manifestInMemory = 4 << 20   // a manifest this size (about 25,000 entries) stays in memory
	manifestSpill    = 256 << 10 // once spooling, buffered bytes go out in pieces of this size
)

// manifestSpoolFiles counts the spool files made, for tests.
var manifestSpoolFiles atomic.Int64

func newManifestSpool(estimate int) *manifestSpool {
	m := &manifestSpool{sum: crypto.NewHash(), sig: crypto.NewSignHash()}
	// A manifest that stays in memory is allocated once; a larger one
	// fills this much before its first spill (an entry is under 16 KiB).
	m.Grow(min(estimate, manifestInMemory+16<<10))
	return m
}

// hash hashes the buffered bytes not hashed yet.
func (m *manifestSpool) hash() {
	b := m.Bytes()[m.hashed:]
	m.sum.Write(b)
	m.sig.Write(b)
	m.hashed = m.Len()
}

// spill writes the buffered bytes out when there are enough of them.
func (m *manifestSpool) spill() error {
	if m.noFile || m.Len() < manifestSpill || (m.file == nil && m.Len() < manifestInMemory) {
		return nil
	}
	if m.file == nil {
		f, err := os.CreateTemp("", "sluice-manifest-*")
		if err != nil {
			m.noFile = true
			return nil
		}
		manifestSpoolFiles.Add(1)
		m.file = f
		// Anonymous: gone when closed, whatever happens. (Windows cannot
		// remove an open file: close removes it there.)
		m.removed = os.Remove(f.Name()) == nil
	}
	m.hash()
	if _, err := m.file.Write(m.Bytes()); err != nil {
		return m.unspool()
	}
	m.size += int64(m.Len())
	m.Reset()
	m.hashed = 0
	return nil
}

// unspool brings what was spooled back into memory, after a write to the
// spool file failed (a full temporary folder), and keeps the rest there.
func (m *manifestSpool) unspool() error {
	b := make([]byte, m.size, int(m.size)+m.Len())
	if _, err := m.file.ReadAt(b, 0); err != nil {
		return fmt.Errorf("seal: the manifest spooled in %s cannot be read back (%w); free space there or set TMPDIR to another folder", os.TempDir(), err)
	}
	b = append(b, m.Bytes()...)
	m.close()
	m.file, m.noFile, m.size = nil, true, 0
	m.Reset()
	m.Write(b)
	m.hashed = m.Len()
	return nil
}

// finish returns the manifest's size, SHA-256 and the hash its signature
// covers (crypto.SignSSHHash).
func (m *manifestSpool) finish() (size int64, sum crypto.Digest, sig *crypto.SignHash) {
	m.hash()
	return m.size + int64(m.Len()), crypto.SumOf(m.sum), m.sig
}

// errSpoolChanged: the spool file's bytes are not those hashed and signed.
var errSpoolChanged = errors.New("the manifest spooled in the temporary folder changed before it was sealed (a failing disk?); seal again")

// writeTo writes the whole manifest to w (what was spooled, then what is
// still buffered) and checks that it is what finish hashed, sum.
func (m *manifestSpool) writeTo(w io.Writer, sum crypto.Digest) error {
	h := crypto.NewHash()
	if m.file != nil {
		if _, err := io.Copy(io.MultiWriter(w, h), io.NewSectionReader(m.file, 0, m.size)); err != nil {
			return err
		}
	}
	h.Write(m.Bytes())
	if crypto.SumOf(h) != sum {
		return errSpoolChanged
	}
	_, err := w.Write(m.Bytes())
	return err
}

// close closes and removes the spool file.
func (m *manifestSpool) close() {
	if m.file != nil {
		m.file.Close()
		if !m.removed {
			os.Remove(m.file.Name())
		}
	}
}
