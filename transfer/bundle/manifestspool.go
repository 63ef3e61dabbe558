package bundle

import (
	"bytes"
	"fmt"
	"hash"
	"io"
	"os"

	"sluice/crypto"
)

// manifestSpool holds the manifest Seal encodes entry by entry
// (appendManifestEntry writes into its Buffer). Up to manifestInMemory
// bytes stay in memory; past that they go to an anonymous file in the
// temporary folder, so the manifest of 200,000 files (about 30 MB) does
// not sit in the heap beside their 200,000 staged entries, where it made
// the collector run twice as often under the CLI's 88 MiB soft limit.
// The manifest's SHA-256 and the SHA-512 its signature covers are taken
// as it is written, so it is never read whole.
type manifestSpool struct {
	bytes.Buffer          // encoded, not yet hashed or written out
	file         *os.File // nil while the manifest fits in memory
	noFile       bool     // the temporary folder refused a file: all in memory
	size         int64
	sum, sig     hash.Hash
}

// Variables only so that a test can spool a small bundle's manifest.
var (
	manifestInMemory = 4 << 20   // a manifest this size (about 25,000 entries) stays in memory
	manifestSpill    = 256 << 10 // once spooling, buffered bytes go out in pieces of this size
)

func newManifestSpool() *manifestSpool {
	return &manifestSpool{sum: crypto.NewHash(), sig: crypto.NewSignHash()}
}

// spill writes the buffered bytes out when there are enough of them.
func (m *manifestSpool) spill() error {
	if m.noFile || m.Len() < manifestSpill || (m.file == nil && m.Len() < manifestInMemory) {
		return nil
	}
	if m.file == nil {
		f, err := os.CreateTemp("", "sluice-manifest-*")
		if err != nil {
			// Nothing is lost: the manifest stays in memory, as it
			// would for a smaller bundle.
			m.noFile = true
			return nil
		}
		os.Remove(f.Name()) // anonymous: gone when closed, whatever happens
		m.file = f
	}
	b := m.Bytes()
	m.sum.Write(b)
	m.sig.Write(b)
	if _, err := m.file.Write(b); err != nil {
		return fmt.Errorf("seal: cannot spool the manifest in %s (%w); free space there or set TMPDIR to a folder with room", os.TempDir(), err)
	}
	m.size += int64(len(b))
	m.Reset()
	return nil
}

// finish hashes what is still buffered and returns the manifest's size,
// SHA-256 and the hash its signature covers (crypto.SignSSHHash).
func (m *manifestSpool) finish() (size int64, sum crypto.Digest, sig hash.Hash) {
	b := m.Bytes()
	m.sum.Write(b)
	m.sig.Write(b)
	return m.size + int64(len(b)), crypto.SumOf(m.sum), m.sig
}

// writeTo writes the whole manifest to w: what was spooled, then what is
// still buffered.
func (m *manifestSpool) writeTo(w io.Writer) error {
	if m.file != nil {
		if _, err := io.Copy(w, io.NewSectionReader(m.file, 0, m.size)); err != nil {
			return err
		}
	}
	_, err := w.Write(m.Bytes())
	return err
}

// close removes the spool file.
func (m *manifestSpool) close() {
	if m.file != nil {
		m.file.Close()
	}
}
