package bundle

import (
	"encoding"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"

	"sluice/crypto"
	"sluice/internal/regfile"
)

// volumeWriter cuts the encrypted payload into volume files of at most max
// bytes each, hashing every volume and the whole payload on the way.
//
// Hashing is the costliest part of sealing, so the payload hash is not a
// second pass from the start: while there is one volume it is the volume's
// hash, and when a second volume begins the payload hash resumes from the
// first volume's saved state.
type volumeWriter struct {
	dir   string
	max   int64
	f     *os.File
	h     hash.Hash
	first []byte    // the first volume's hash state, saved when it ends
	total hash.Hash // nil while there is one volume
	size  int64
	vols  []Volume
	err   error
	// flushed is how much of the current volume has been handed to
	// startWriteback.
	flushed int64
	// marks holds, per volume, the hash's state at every readBackStretch
	// boundary (see Bundle.UseMarks).
	marks [][][]byte
}

// readBackStretch is how much of a volume lies between two of the hash
// states kept while writing, so that a read-back can check the stretches
// on every core (readback.go). A multiple of SHA-256's 64-byte block, so
// each state is a whole number of blocks; a variable for tests.
var readBackStretch int64 = 32 << 20

// writebackWindow is how much is written before writeback of it starts.
const writebackWindow = 8 << 20

func newVolumeWriter(dir string, max int64) *volumeWriter {
	if max <= 0 {
		max = 1<<63 - 1
	}
	return &volumeWriter{dir: dir, max: max}
}

func (v *volumeWriter) Write(b []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n := 0
	for len(b) > 0 {
		if v.f == nil {
			if v.err = v.open(); v.err != nil {
				return n, v.err
			}
		}
		cur := &v.vols[len(v.vols)-1]
		room := v.max - cur.Size
		if mark := (cur.Size/readBackStretch + 1) * readBackStretch; mark-cur.Size < room {
			room = mark - cur.Size
		}
		chunk := b
		if int64(len(chunk)) > room {
			chunk = chunk[:room]
		}
		w, err := v.f.Write(chunk)
		v.h.Write(chunk[:w])
		if v.total != nil {
			v.total.Write(chunk[:w])
		}
		cur.Size += int64(w)
		v.size += int64(w)
		n += w
		b = b[w:]
		if err != nil {
			v.err = fmt.Errorf("%w: %s: %w", ErrWrite, cur.Name, err)
			return n, v.err
		}
		if w > 0 && cur.Size%readBackStretch == 0 {
			state, err := v.h.(encoding.BinaryMarshaler).MarshalBinary()
			if err != nil {
				v.err = fmt.Errorf("save volume hash: %w", err)
				return n, v.err
			}
			last := len(v.marks) - 1
			v.marks[last] = append(v.marks[last], state)
		}
		if cur.Size-v.flushed >= writebackWindow {
			startWriteback(v.f, v.flushed, cur.Size-v.flushed)
			v.flushed = cur.Size
		}
		if cur.Size == v.max {
			if v.err = v.finish(); v.err != nil {
				return n, v.err
			}
		}
	}
	return n, nil
}

func (v *volumeWriter) open() error {
	if len(v.vols) >= MaxVolumes {
		return fmt.Errorf("payload needs more than %d volumes; choose a larger volume size", MaxVolumes)
	}
	if len(v.vols) == 1 {
		v.total = crypto.NewHash()
		if err := v.total.(encoding.BinaryUnmarshaler).UnmarshalBinary(v.first); err != nil {
			return fmt.Errorf("resume payload hash: %w", err)
		}
	}
	name := VolumeName(len(v.vols))
	f, err := os.OpenFile(filepath.Join(v.dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("%w: create volume: %w", ErrWrite, err)
	}
	v.f, v.h, v.flushed = f, crypto.NewHash(), 0
	v.vols = append(v.vols, Volume{Name: name})
	v.marks = append(v.marks, nil)
	return nil
}

// finish makes the current volume durable and records its hash.
func (v *volumeWriter) finish() error {
	cur := &v.vols[len(v.vols)-1]
	if len(v.vols) == 1 {
		state, err := v.h.(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil {
			return fmt.Errorf("save payload hash: %w", err)
		}
		v.first = state
	}
	cur.SHA256 = crypto.SumOf(v.h)
	err := v.f.Sync()
	if cerr := v.f.Close(); err == nil {
		err = cerr
	}
	v.f = nil
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrWrite, cur.Name, err)
	}
	return nil
}

// Close finishes the last volume and returns the payload's description.
func (v *volumeWriter) close() (Payload, error) {
	if v.err != nil {
		return Payload{}, v.err
	}
	if v.f != nil {
		if err := v.finish(); err != nil {
			return Payload{}, err
		}
	}
	p := Payload{Size: v.size, Volumes: v.vols}
	if v.total != nil {
		p.SHA256 = crypto.SumOf(v.total)
	} else if len(v.vols) == 1 {
		p.SHA256 = v.vols[0].SHA256
	}
	return p, nil
}

// abort closes any open volume after a failure.
func (v *volumeWriter) abort() {
	if v.f != nil {
		v.f.Close()
		v.f = nil
	}
}

// volumeReader reads a bundle's volumes in order as one stream, checking
// each volume's size and hash against the envelope as it reaches its end, so
// a bad volume is named as soon as it has been read.
type volumeReader struct {
	dir   string
	vols  []Volume
	i     int
	f     *os.File
	h     hash.Hash
	n     int64
	total hash.Hash // nil: the payload hash is not checked
	want  Payload
	// uncached drops each volume's cached pages before reading it.
	uncached bool
}

// newVolumeReader reads p's volumes from dir. With checkTotal it also checks
// the payload hash, which adds nothing to security once every volume's hash
// matches, but lets inspect confirm the envelope in full.
func newVolumeReader(dir string, p Payload, checkTotal bool) *volumeReader {
	r := &volumeReader{dir: dir, vols: p.Volumes, want: p}
	if checkTotal && len(p.Volumes) > 1 {
		r.total = crypto.NewHash()
	}
	return r
}

func (r *volumeReader) Read(b []byte) (int, error) {
	for {
		if r.i >= len(r.vols) {
			if len(r.vols) == 1 && r.vols[0].SHA256 != r.want.SHA256 || r.total != nil && crypto.SumOf(r.total) != r.want.SHA256 {
				return 0, rejectf("payload hash does not match the envelope although every volume does; the bundle was not made by Sluice")
			}
			return 0, io.EOF
		}
		if r.f == nil {
			f, err := regfile.Open(filepath.Join(r.dir, r.vols[r.i].Name))
			if err != nil {
				return 0, r.volumeErr("cannot be read: %v", err)
			}
			if r.uncached {
				dropCache(f)
			}
			r.f, r.h, r.n = f, crypto.NewHash(), 0
		}
		vol := r.vols[r.i]
		if r.n == vol.Size {
			// Anything after the declared size is an error too.
			var one [1]byte
			if k, _ := r.f.Read(one[:]); k > 0 {
				return 0, r.volumeErr("is longer than the envelope says")
			}
			r.f.Close()
			r.f = nil
			if crypto.SumOf(r.h) != vol.SHA256 {
				return 0, r.volumeErr("is corrupt: its SHA-256 does not match the envelope")
			}
			r.i++
			continue
		}
		if int64(len(b)) > vol.Size-r.n {
			b = b[:vol.Size-r.n]
		}
		k, err := r.f.Read(b)
		r.h.Write(b[:k])
		if r.total != nil {
			r.total.Write(b[:k])
		}
		r.n += int64(k)
		if k > 0 {
			return k, nil
		}
		if err == io.EOF {
			return 0, r.volumeErr("is truncated: %d of %d bytes", r.n, vol.Size)
		}
		if err != nil {
			return 0, r.volumeErr("cannot be read: %v", err)
		}
	}
}

func (r *volumeReader) volumeErr(format string, args ...any) error {
	return &VolumeError{Index: r.i, Count: len(r.vols), Name: r.vols[r.i].Name, Reason: fmt.Sprintf(format, args...)}
}

func (r *volumeReader) close() {
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
}

// VolumeError names the volume that is missing, short or corrupt, so the
// officer knows which medium to fetch again.
type VolumeError struct {
	Index, Count int
	Name         string
	Reason       string
}

func (e *VolumeError) Error() string {
	return fmt.Sprintf("volume %d of %d (%s) %s", e.Index+1, e.Count, e.Name, e.Reason)
}

// Is makes every VolumeError a rejection.
func (e *VolumeError) Is(target error) bool { return target == ErrRejected }
