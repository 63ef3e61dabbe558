package bundle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"

	"sluice/crypto"
	"sluice/internal/regfile"
)

// Bundle is a bundle directory whose envelope has been read and parsed. No
// part of it is trusted until VerifySignature succeeds.
type Bundle struct {
	Dir      string
	Envelope *Envelope
	// EnvelopeBytes and Signature are the exact bytes read from the media.
	EnvelopeBytes []byte
	Signature     []byte
	// present[i]: volume i is in Dir with the size the envelope gives.
	present []bool
	// OnFile is passed to Extract (see Expect.OnFile).
	OnFile func(name string, content []byte)
	// MaxFileSize and MaxPathDepth are passed to Extract (see Expect).
	MaxFileSize  int64
	MaxPathDepth int
	// Originals is passed to Extract (see Expect.Originals).
	Originals *os.Root
	// marks are hash states kept while the volumes were written, by
	// volume name (UseMarks).
	marks map[string][][]byte
}

// Open reads a bundle directory's envelope and signature and checks that
// exactly the volumes it lists are present with the sizes it gives. Hidden
// files (names starting with '.', as operating systems leave on media) and
// the drive labels of a spanning bundle are ignored; any other file is
// refused. A missing volume is a *VolumeError that says which drive holds it.
func Open(dir string) (*Bundle, error) {
	b, err := OpenPart(dir)
	if err != nil {
		return b, err
	}
	if miss := b.Missing(); len(miss) > 0 {
		i, e := miss[0], b.Envelope
		reason := "is missing; copy it into the bundle folder"
		if e.Span != nil {
			reason = fmt.Sprintf("is missing: it is on drive %d of %d of this bundle; insert that drive", e.DriveOf(i)+1, e.Drives())
		}
		return b, &VolumeError{Index: i, Count: len(e.Payload.Volumes), Name: e.Payload.Volumes[i].Name, Reason: reason}
	}
	return b, nil
}

// OpenPart is Open for one drive's share of a bundle that spans several:
// volumes may be missing (see Missing), but those present must have the
// sizes the envelope gives and nothing unexpected may be there.
func OpenPart(dir string) (*Bundle, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("open bundle: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("open bundle: %s is not a bundle folder (a folder ending in %s)", dir, DirSuffix)
	}
	envBytes, err := readBounded(filepath.Join(dir, EnvelopeName), MaxEnvelopeSize)
	if err != nil {
		return nil, err
	}
	sig, err := readBounded(filepath.Join(dir, EnvelopeSigName), crypto.MaxSignatureSize)
	if err != nil {
		return nil, err
	}
	env, err := ParseEnvelope(envBytes)
	if err != nil {
		return nil, rejectf("%v", err)
	}
	b := &Bundle{Dir: dir, Envelope: env, EnvelopeBytes: envBytes, Signature: sig}
	return b, b.checkListing()
}

// readBounded reads one of a bundle's small files: a regular file (never a
// link, FIFO or device, which could hang or redirect the read) of at most
// max bytes.
func readBounded(path string, max int64) ([]byte, error) {
	b, err := regfile.ReadFile(path, max)
	var nr *regfile.NotRegularError
	switch {
	case err == nil:
		return b, nil
	case errors.Is(err, fs.ErrNotExist):
		return nil, rejectf("bundle has no %s: it is not a Sluice bundle folder, or its writing was interrupted", filepath.Base(path))
	case errors.As(err, &nr):
		return nil, rejectf("bundle's %s is %s, not a regular file", filepath.Base(path), nr.Kind)
	case errors.Is(err, regfile.ErrTooLarge):
		return nil, rejectf("%s is larger than %d bytes", filepath.Base(path), max)
	}
	return nil, fmt.Errorf("open bundle: %w", err)
}

func (b *Bundle) checkListing() error {
	ents, err := os.ReadDir(b.Dir)
	if err != nil {
		return fmt.Errorf("open bundle: %w", err)
	}
	want := map[string]int{}
	for i, v := range b.Envelope.Payload.Volumes {
		want[v.Name] = i
	}
	present := map[string]bool{}
	for _, e := range ents {
		name := e.Name()
		switch {
		case name == EnvelopeName || name == EnvelopeSigName || strings.HasPrefix(name, ".") || labelPattern.MatchString(name):
			continue
		case strings.HasPrefix(name, volumePrefix):
			if _, ok := want[name]; !ok {
				return rejectf("bundle holds an extra volume %s that its envelope does not list", name)
			}
			present[name] = true
		default:
			return rejectf("bundle holds an unexpected file %q", truncate(name))
		}
	}
	n := len(b.Envelope.Payload.Volumes)
	b.present = make([]bool, n)
	for i, v := range b.Envelope.Payload.Volumes {
		if !present[v.Name] {
			continue
		}
		info, err := os.Lstat(filepath.Join(b.Dir, v.Name))
		if err != nil {
			return &VolumeError{Index: i, Count: n, Name: v.Name, Reason: fmt.Sprintf("cannot be read: %v", err)}
		}
		if k := regfile.KindOf(info.Mode()); k != "" {
			return &VolumeError{Index: i, Count: n, Name: v.Name, Reason: "is " + k + ", not a regular file"}
		}
		if info.Size() != v.Size {
			return &VolumeError{Index: i, Count: n, Name: v.Name, Reason: fmt.Sprintf("is %d bytes, the envelope says %d", info.Size(), v.Size)}
		}
		b.present[i] = true
	}
	return nil
}

// VerifySignature checks the envelope's signature against trusted, the key
// the caller trusts for the envelope's sender. It fails if the envelope names
// any other key.
func (b *Bundle) VerifySignature(trusted ssh.PublicKey) error {
	named, err := b.Envelope.SenderKey()
	if err != nil {
		return rejectf("%v", err)
	}
	if string(named.Marshal()) != string(trusted.Marshal()) {
		return rejectf("envelope names a signing key for %s (%s) that is not the one this station trusts (%s)",
			b.Envelope.Sender.Name, ssh.FingerprintSHA256(named), ssh.FingerprintSHA256(trusted))
	}
	if err := crypto.VerifySSH(trusted, crypto.NamespaceEnvelope, b.EnvelopeBytes, b.Signature); err != nil {
		return rejectf("envelope signature from %s does not verify: the envelope was altered or not signed by that station", b.Envelope.Sender.Name)
	}
	return nil
}

// VerifySelfSignature checks that the envelope is signed by the key it names,
// without saying whether that key is trusted.
func (b *Bundle) VerifySelfSignature() error {
	k, err := b.Envelope.SenderKey()
	if err != nil {
		return rejectf("%v", err)
	}
	return b.VerifySignature(k)
}

// CheckVolumes reads every volume and checks its size and hash, and the
// payload's, against the envelope, naming the first bad volume.
func (b *Bundle) CheckVolumes(ctx context.Context) error { return b.checkVolumes(ctx, false) }

// ReadBack is CheckVolumes reading from the device rather than from memory:
// each volume's cached pages are dropped first (Linux), so what is checked
// is what the medium holds. Call it after writing, before the bundle is
// called written.
func (b *Bundle) ReadBack(ctx context.Context) error { return b.checkVolumes(ctx, true) }

func (b *Bundle) checkVolumes(ctx context.Context, uncached bool) error {
	marked := uncached && len(b.marks) > 0
	if b.Complete() && !marked {
		return b.readAll(ctx, b.Envelope.Payload, uncached)
	}
	// One drive of a spanning bundle, or a read-back with the hash states
	// kept while sealing (readback.go): volume by volume.
	vols := b.Envelope.Payload.Volumes
	for _, i := range b.presentList() {
		v := vols[i]
		var err error
		if m, ok := b.marks[v.Name]; ok && uncached {
			err = readBackVolume(ctx, b.Dir, v, m)
		} else {
			err = b.readAll(ctx, Payload{Size: v.Size, SHA256: v.SHA256, Volumes: vols[i : i+1]}, uncached)
		}
		if ve := (*VolumeError)(nil); errors.As(err, &ve) {
			ve.Index, ve.Count, ve.Name = i, len(vols), v.Name
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (b *Bundle) presentList() []int {
	var out []int
	for i, ok := range b.present {
		if ok {
			out = append(out, i)
		}
	}
	return out
}

// readAll reads p's volumes to the end, checking each.
func (b *Bundle) readAll(ctx context.Context, p Payload, uncached bool) error {
	r := newVolumeReader(b.Dir, p, true)
	r.uncached = uncached
	defer r.close()
	buf := make([]byte, 1<<20)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		_, err := r.Read(buf)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
