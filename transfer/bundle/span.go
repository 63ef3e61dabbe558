package bundle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync/atomic"

	"sluice/crypto"
	"sluice/internal/durable"
	"sluice/internal/progress"
	"sluice/internal/regfile"
)

// Span says how a bundle too large for one drive is spread over several:
// drive k (counting from 1) holds volumes (k−1)·VolumesPerDrive up to
// k·VolumesPerDrive − 1, and every drive holds the envelope and its
// signature, so any one of them can be checked on its own and tells the
// kiosk which volumes the others hold.
type Span struct {
	Drives          int `json:"drives"`
	VolumesPerDrive int `json:"volumes_per_drive"`
}

// Drives is how many drives the bundle occupies: 1 unless it spans.
func (e *Envelope) Drives() int {
	if e.Span == nil {
		return 1
	}
	return e.Span.Drives
}

// DriveOf returns the drive (from 0) that holds volume i.
func (e *Envelope) DriveOf(i int) int {
	if e.Span == nil {
		return 0
	}
	return i / e.Span.VolumesPerDrive
}

// DriveVolumes returns the volumes [first, end) that drive k (from 0) holds.
func (e *Envelope) DriveVolumes(k int) (first, end int) {
	n := len(e.Payload.Volumes)
	if e.Span == nil {
		return 0, n
	}
	first = min(k*e.Span.VolumesPerDrive, n)
	return first, min(first+e.Span.VolumesPerDrive, n)
}

// LabelName is the name of the plain-text label in drive k's (from 0) part
// of a bundle spanning n drives.
func LabelName(k, n int) string { return fmt.Sprintf("drive-%d-of-%d.txt", k+1, n) }

var labelPattern = regexp.MustCompile(`^drive-([0-9]{1,5})-of-([0-9]{1,5})\.txt$`)

// label is the text of drive k's label: for the people handling the drives,
// not for the kiosk, which trusts only the signed envelope.
func label(e *Envelope, k int) []byte {
	first, end := e.DriveVolumes(k)
	return fmt.Appendf(nil, `Sluice bundle %s
Drive %d of %d (volume %d of %d of bundle %s).

This drive holds the bundle's payload volumes %d to %d of %d
(%s to %s), %s bytes of %s.
Sealed by %s for %s on %s.

Carry all %d drives to the receiving kiosk. It checks the signed envelope
on whichever drive comes first and asks for the others by number.
`, e.ID, k+1, e.Drives(), k+1, e.Drives(), e.ID,
		first+1, end, len(e.Payload.Volumes), VolumeName(first), VolumeName(end-1),
		strconv.FormatInt(sumSizes(e.Payload.Volumes[first:end]), 10), strconv.FormatInt(e.Payload.Size, 10),
		e.Sender.Name, e.RecipientNames(), e.Created.Format("2006-01-02 15:04 UTC"), e.Drives())
}

func sumSizes(vs []Volume) int64 {
	var n int64
	for _, v := range vs {
		n += v.Size
	}
	return n
}

// RecipientNames lists the stations the bundle is sealed for: "a, b".
func (e *Envelope) RecipientNames() string {
	s := ""
	for i, r := range e.Recipients {
		if i > 0 {
			s += ", "
		}
		s += r.Name
	}
	return s
}

// Missing lists the volumes (from 0) this bundle folder does not hold: on a
// drive of a spanning bundle, the ones on the other drives.
func (b *Bundle) Missing() []int {
	var out []int
	for i, ok := range b.present {
		if !ok {
			out = append(out, i)
		}
	}
	return out
}

// Holds reports whether the folder holds volume i (from 0).
func (b *Bundle) Holds(i int) bool { return i >= 0 && i < len(b.present) && b.present[i] }

// Complete reports whether the folder holds every volume.
func (b *Bundle) Complete() bool { return len(b.Missing()) == 0 }

// PartBytes is the size of the volumes this folder holds.
func (b *Bundle) PartBytes() int64 {
	var n int64
	for i, ok := range b.present {
		if ok {
			n += b.Envelope.Payload.Volumes[i].Size
		}
	}
	return n
}

// WritePart writes drive k's (from 0) share of the complete bundle b into a
// new bundle folder under parent: the drive's volumes, its label, the
// envelope's signature and, last, through a rename, the envelope. Each
// volume is checked against the envelope as it is copied. On failure the
// folder is removed. progress, if set, is called about ten times a second
// with the bytes copied. Read the part back with ReadBack before calling
// it written.
func WritePart(ctx context.Context, b *Bundle, parent string, k int, progressFn func(done, total int64)) (dir string, err error) {
	e := b.Envelope
	if k < 0 || k >= e.Drives() {
		return "", fmt.Errorf("bundle %s has no drive %d", e.ID, k+1)
	}
	if !b.Complete() {
		return "", fmt.Errorf("write drive %d of %d: the bundle at %s is not complete", k+1, e.Drives(), b.Dir)
	}
	dir = filepath.Join(parent, e.ID+DirSuffix)
	if err := os.Mkdir(dir, 0o755); err != nil {
		if os.IsExist(err) {
			return "", fmt.Errorf("%w: %s already holds bundle %s; wipe it or use another drive", ErrWrite, parent, e.ID)
		}
		return "", fmt.Errorf("%w: create bundle folder: %w", ErrWrite, err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	first, end := e.DriveVolumes(k)
	var done atomic.Int64
	stop := progress.Tick(progressFn, &done, sumSizes(e.Payload.Volumes[first:end]))
	defer stop()
	buf := make([]byte, 1<<20)
	for i := first; i < end; i++ {
		if err := copyVolume(ctx, b.Dir, dir, e.Payload.Volumes[i], buf, &done); err != nil {
			var ve *VolumeError
			if errors.As(err, &ve) {
				ve.Index, ve.Count = i, len(e.Payload.Volumes)
				return "", fmt.Errorf("the sealed copy on this station is damaged: %w", ve)
			}
			return "", err
		}
	}
	if e.Drives() > 1 {
		if err := durable.WriteFile(filepath.Join(dir, LabelName(k, e.Drives())), label(e, k), 0o644); err != nil {
			return "", fmt.Errorf("%w: %w", ErrWrite, err)
		}
	}
	if err := durable.WriteFile(filepath.Join(dir, EnvelopeSigName), b.Signature, 0o644); err != nil {
		return "", fmt.Errorf("%w: %w", ErrWrite, err)
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	tmp := filepath.Join(dir, "."+EnvelopeName+".tmp")
	if err := durable.WriteFile(tmp, b.EnvelopeBytes, 0o644); err != nil {
		return "", fmt.Errorf("%w: %w", ErrWrite, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, EnvelopeName)); err != nil {
		return "", fmt.Errorf("%w: %w", ErrWrite, err)
	}
	if err := durable.SyncDir(dir); err != nil {
		return "", fmt.Errorf("%w: %w", ErrWrite, err)
	}
	if err := durable.SyncDir(parent); err != nil {
		return "", fmt.Errorf("%w: %w", ErrWrite, err)
	}
	return dir, nil
}

// Gather copies the volumes that part holds, and the spool lacks, into the
// spool's folder for the same bundle (created on first use with the
// envelope and its signature), checking each against the envelope as it is
// copied. The caller must have verified part's signature: Gather refuses a
// part whose envelope is not byte for byte the one already gathered. It
// returns the spool's bundle, which may still miss volumes.
func Gather(ctx context.Context, part *Bundle, spool string, progressFn func(done, total int64)) (*Bundle, error) {
	e := part.Envelope
	dir := filepath.Join(spool, e.ID+DirSuffix)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("gather: %w", err)
	}
	if have, err := regfile.ReadFile(filepath.Join(dir, EnvelopeName), MaxEnvelopeSize); err == nil {
		if string(have) != string(part.EnvelopeBytes) {
			return nil, rejectf("drive holds a different envelope for bundle %s than the drives read before: it was altered; set it aside", e.ID)
		}
	} else {
		if err := durable.WriteFile(filepath.Join(dir, EnvelopeSigName), part.Signature, 0o600); err != nil {
			return nil, fmt.Errorf("gather: %w", err)
		}
		if err := durable.ReplaceFile(filepath.Join(dir, EnvelopeName), part.EnvelopeBytes, 0o600); err != nil {
			return nil, fmt.Errorf("gather: %w", err)
		}
	}
	into, err := OpenPart(dir)
	if err != nil {
		return nil, fmt.Errorf("gather: %w", err)
	}
	var todo []int
	var total int64
	for i, ok := range part.present {
		if ok && !into.present[i] {
			todo = append(todo, i)
			total += e.Payload.Volumes[i].Size
		}
	}
	var done atomic.Int64
	stop := progress.Tick(progressFn, &done, total)
	defer stop()
	buf := make([]byte, 1<<20)
	for _, i := range todo {
		if err := copyVolume(ctx, part.Dir, dir, e.Payload.Volumes[i], buf, &done); err != nil {
			var ve *VolumeError
			if errors.As(err, &ve) {
				ve.Index, ve.Count = i, len(e.Payload.Volumes)
				if e.Span != nil {
					ve.Reason += fmt.Sprintf(" (on drive %d of %d); bring another copy of that drive", e.DriveOf(i)+1, e.Drives())
				}
			}
			return nil, err
		}
		into.present[i] = true
	}
	if err := durable.SyncDir(dir); err != nil {
		return nil, fmt.Errorf("gather: %w", err)
	}
	return into, nil
}

// copyVolume copies volume v from folder src to folder dst under a
// temporary name, hashing it on the way, and renames it into place only if
// its size and hash match the envelope; the copy is fsynced first. A source
// that does not match is a *VolumeError (Index and Count left for the
// caller); a failing destination wraps ErrWrite.
func copyVolume(ctx context.Context, src, dst string, v Volume, buf []byte, done *atomic.Int64) error {
	in, err := regfile.Open(filepath.Join(src, v.Name))
	if err != nil {
		return &VolumeError{Name: v.Name, Reason: fmt.Sprintf("cannot be read: %v", err)}
	}
	defer in.Close()
	tmp := filepath.Join(dst, "."+v.Name+".tmp")
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrWrite, v.Name, err)
	}
	ok := false
	defer func() {
		if !ok {
			out.Close()
			os.Remove(tmp)
		}
	}()
	h := crypto.NewHash()
	var n, flushed int64
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		k, rerr := in.Read(buf)
		if n+int64(k) > v.Size {
			return &VolumeError{Name: v.Name, Reason: "is longer than the envelope says"}
		}
		if k > 0 {
			h.Write(buf[:k])
			if _, err := out.Write(buf[:k]); err != nil {
				return fmt.Errorf("%w: %s: %w", ErrWrite, v.Name, err)
			}
			n += int64(k)
			done.Add(int64(k))
			if n-flushed >= writebackWindow {
				startWriteback(out, flushed, n-flushed)
				flushed = n
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return &VolumeError{Name: v.Name, Reason: fmt.Sprintf("cannot be read: %v", rerr)}
		}
	}
	if n != v.Size {
		return &VolumeError{Name: v.Name, Reason: fmt.Sprintf("is truncated: %d of %d bytes", n, v.Size)}
	}
	if crypto.SumOf(h) != v.SHA256 {
		return &VolumeError{Name: v.Name, Reason: "is corrupt: its SHA-256 does not match the envelope"}
	}
	if err := out.Sync(); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrWrite, v.Name, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrWrite, v.Name, err)
	}
	if err := os.Rename(tmp, filepath.Join(dst, v.Name)); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrWrite, v.Name, err)
	}
	ok = true
	return nil
}
