package bundle

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"filippo.io/age"
	"golang.org/x/crypto/ssh"
	"golang.org/x/sync/errgroup"

	"sluice/crypto"
	"sluice/internal/durable"
	"sluice/internal/progress"
	"sluice/internal/regfile"
)

// SealOptions says who seals a bundle, for whom, and how to cut it.
type SealOptions struct {
	// SenderName and Signer identify the sealing station.
	SenderName string
	Signer     ssh.Signer
	// Recipients are the stations the payload is encrypted to.
	Recipients []crypto.Card
	// VolumeSize is the largest volume file in bytes; 0 means one volume.
	VolumeSize int64
	// VolumesPerDrive, when set, spreads the volumes over drives holding
	// this many each (see Span and WritePart) if there are more of them.
	VolumesPerDrive int
	// Note is shown to the receiving officer before decryption (cleartext).
	Note string
	// Update, if set, marks the bundle as an update (Envelope.Update).
	Update *Update
	// Originals, if set, are sealed too, in the payload's part of their
	// own (Envelope.Originals): the originals of the transformed sources,
	// each named by its staged path ("reports/plan.docx", what the
	// transformed file's mark names) and with the SHA-256 the mark gives.
	// Seal refuses a list that leaves out one a mark names, or holds one
	// no mark names; a file that changed since it was transformed aborts
	// the seal (ErrChanged).
	Originals []Source
	// Progress, if set, is called from one goroutine about ten times a
	// second, and once more at the end, with the bytes of file content read.
	Progress func(done, total int64)
	// Now, if set, replaces time.Now (tests).
	Now func() time.Time
	// SealRecord, if set, is called once the manifest is signed, with the
	// bundle's id and the manifest's hash; what it returns travels in the
	// payload as sluice/seal-record.json (the sender's custody record).
	SealRecord func(id string, manifest crypto.Digest, files, bytes int64) ([]byte, error)
}

// Sealed describes a bundle that Seal wrote and made durable.
type Sealed struct {
	Dir            string
	Envelope       *Envelope
	ManifestSHA256 crypto.Digest
	// Parts lists each drive's folder, in order, once the shares of a
	// bundle that spans drives are written (Dir is then the first).
	Parts []string
	// marks are the volumes' hash states kept while writing, by volume
	// name (see Bundle.UseMarks).
	marks map[string][][]byte
}

// ErrChanged is wrapped when a staged file changed between review and sealing.
var ErrChanged = errors.New("file changed since it was staged")

// Seal writes a bundle of srcs into a new directory under outDir. It reads
// every file once: hashing, archiving, encrypting and writing run as a
// pipeline on all cores with bounded memory. The envelope is written last,
// once everything else is durable, so a folder without one is never taken
// for a bundle; on any error or cancellation the folder is removed.
func Seal(ctx context.Context, outDir string, srcs []Source, opts SealOptions) (*Sealed, error) {
	if len(opts.Recipients) == 0 {
		return nil, errors.New("seal: no recipients")
	}
	if len(opts.Note) > MaxNoteLen {
		return nil, fmt.Errorf("seal: note is longer than %d bytes", MaxNoteLen)
	}
	var recips []age.Recipient
	env := &Envelope{Format: EnvelopeFormat, Note: opts.Note, Update: opts.Update}
	for _, c := range opts.Recipients {
		r, err := c.AgeRecipient()
		if err != nil {
			return nil, fmt.Errorf("seal for %s: %w", c.Name, err)
		}
		recips = append(recips, r)
		env.Recipients = append(env.Recipients, Recipient{Name: c.Name, Fingerprint: c.RecipientFingerprint()})
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	env.Created = now().UTC().Truncate(time.Second)
	env.ID = NewID(env.Created)
	env.Sender = Sender{Name: opts.SenderName, SigningKey: crypto.Card{SigningKey: opts.Signer.PublicKey()}.SigningKeyString()}
	for _, s := range srcs {
		if s.Type == TypeFile {
			env.Files++
			env.ContentBytes += s.Size
		} else {
			env.Dirs++
		}
	}
	if len(opts.Originals) > 0 {
		if err := checkOriginals(srcs, opts.Originals); err != nil {
			return nil, fmt.Errorf("seal: %w", err)
		}
		env.Originals = &Originals{Files: int64(len(opts.Originals))}
		for _, o := range opts.Originals {
			env.Originals.Bytes += o.Size
		}
	}

	// The bundle is written under its final name; its envelope is written
	// last, through a temporary name and a rename, so a folder is a
	// complete bundle exactly when it has an envelope.json. (Renaming the
	// whole folder into place would be neater, but FUSE FAT drivers lose a
	// renamed folder's contents; renaming a file works everywhere.)
	final := filepath.Join(outDir, env.ID+DirSuffix)
	if err := os.Mkdir(final, 0o755); err != nil {
		return nil, fmt.Errorf("%w: create bundle folder: %w", ErrWrite, err)
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(final)
		}
	}()
	var done atomic.Int64
	total := env.ContentBytes
	if env.Originals != nil {
		total += env.Originals.Bytes
	}
	stopProgress := progress.Tick(opts.Progress, &done, total)
	manifest, payload, marks, err := sealPayload(ctx, final, srcs, recips, env, opts, &done)
	stopProgress()
	if err != nil {
		return nil, err
	}
	env.Payload = payload
	if k := opts.VolumesPerDrive; k > 0 && len(payload.Volumes) > k {
		env.Span = &Span{Drives: (len(payload.Volumes) + k - 1) / k, VolumesPerDrive: k}
	}
	envBytes, err := env.Marshal()
	if err != nil {
		return nil, err
	}
	sig, err := crypto.SignSSH(opts.Signer, crypto.NamespaceEnvelope, envBytes)
	if err != nil {
		return nil, fmt.Errorf("seal: sign envelope: %w", err)
	}
	if err := durable.WriteFile(filepath.Join(final, EnvelopeSigName), sig, 0o644); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWrite, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	envTmp := filepath.Join(final, "."+EnvelopeName+".tmp")
	if err := durable.WriteFile(envTmp, envBytes, 0o644); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWrite, err)
	}
	if err := os.Rename(envTmp, filepath.Join(final, EnvelopeName)); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWrite, err)
	}
	if err := durable.SyncDir(final); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWrite, err)
	}
	ok = true
	if err := durable.SyncDir(outDir); err != nil {
		return nil, err
	}
	return &Sealed{Dir: final, Envelope: env, ManifestSHA256: manifest, marks: marks}, nil
}

// sealPayload runs the pipeline: read+hash+tar → encrypt → hash+write volumes.
func sealPayload(ctx context.Context, dir string, srcs []Source, recips []age.Recipient, env *Envelope, opts SealOptions, done *atomic.Int64) (crypto.Digest, Payload, map[string][][]byte, error) {
	g, ctx := errgroup.WithContext(ctx)
	plain, cipher := newChunkPipe(ctx), newChunkPipe(ctx)
	var manifestHash crypto.Digest
	g.Go(func() error {
		d, err := writeStream(ctx, plain, srcs, env, opts, done)
		if err != nil {
			return err
		}
		manifestHash = d
		return plain.closeWrite()
	})
	g.Go(func() error {
		w, err := age.Encrypt(cipher, recips...)
		if err != nil {
			return fmt.Errorf("seal: encrypt: %w", err)
		}
		if _, err := plain.WriteTo(w); err != nil {
			return err
		}
		if err := w.Close(); err != nil {
			return fmt.Errorf("seal: encrypt: %w", err)
		}
		return cipher.closeWrite()
	})
	vw := newVolumeWriter(dir, opts.VolumeSize)
	var payload Payload
	g.Go(func() error {
		if _, err := cipher.WriteTo(vw); err != nil {
			vw.abort()
			return err
		}
		p, err := vw.close()
		payload = p
		return err
	})
	if err := g.Wait(); err != nil {
		vw.abort()
		return manifestHash, payload, nil, err
	}
	marks := make(map[string][][]byte, len(vw.vols))
	for i, v := range vw.vols {
		marks[v.Name] = vw.marks[i]
	}
	return manifestHash, payload, marks, nil
}

// writeStream writes the payload's tar stream: every source under data/,
// then the signed manifest. It returns the manifest's hash.
func writeStream(ctx context.Context, w io.Writer, srcs []Source, env *Envelope, opts SealOptions, done *atomic.Int64) (crypto.Digest, error) {
	tw := tar.NewWriter(w)
	// The manifest is encoded as the entries are archived: a bundle of
	// 200,000 files would otherwise hold 200,000 entries and then their
	// encoding at once. A large one is spooled to a temporary file; a
	// small one's size is known closely enough to allocate once.
	est := 256
	for i := range srcs {
		// ,\n{"path":"…","type":"file","mode":"0644","size":…,"sha256":"…"}
		// for a file; a folder has size 0 and no hash. Escapes are rare.
		est += 60 + len(srcs[i].Path)
		if srcs[i].Type == TypeFile {
			est += 65 + 11 + len(strconv.FormatInt(srcs[i].Size, 10))
		}
	}
	mbuf := newManifestSpool(est)
	defer mbuf.close()
	if err := appendManifestHead(&mbuf.Buffer, ManifestFormat, env.ID, opts.SenderName); err != nil {
		return crypto.Digest{}, err
	}
	buf := make([]byte, 256<<10)
	ra := startReadAhead(ctx, srcs)
	defer ra.stop()
	for i := range srcs {
		s := &srcs[i]
		if err := ctx.Err(); err != nil {
			return crypto.Digest{}, err
		}
		var e ManifestEntry
		var err error
		if readAheadable(s) {
			e, err = writeAhead(tw, ra, s, done)
		} else {
			e, err = writeEntry(ctx, tw, dataPrefix, *s, buf, done)
		}
		if err != nil {
			return crypto.Digest{}, err
		}
		if err := appendManifestEntry(&mbuf.Buffer, i, &e); err != nil {
			return crypto.Digest{}, err
		}
		if err := mbuf.spill(); err != nil {
			return crypto.Digest{}, err
		}
	}
	for _, o := range opts.Originals {
		if _, err := writeEntry(ctx, tw, originalsPrefix, o, buf, done); err != nil {
			return crypto.Digest{}, err
		}
	}
	mbuf.WriteString(manifestTail)
	msize, md, mhash := mbuf.finish()
	sig, err := crypto.SignSSHHash(opts.Signer, crypto.NamespaceManifest, mhash)
	if err != nil {
		return crypto.Digest{}, fmt.Errorf("seal: sign manifest: %w", err)
	}
	type part struct {
		name string
		b    []byte
	}
	trailer := []part{{ManifestSigPath, sig}}
	if opts.SealRecord != nil {
		rec, err := opts.SealRecord(env.ID, md, env.Files, env.ContentBytes)
		if err != nil {
			return crypto.Digest{}, fmt.Errorf("seal: custody record: %w", err)
		}
		if len(rec) > MaxSealRecord {
			return crypto.Digest{}, fmt.Errorf("seal: custody record is larger than %d bytes", MaxSealRecord)
		}
		trailer = append(trailer, part{SealRecordPath, rec})
	}
	hdr := &tar.Header{Name: ManifestPath, Mode: 0o644, Size: msize, ModTime: env.Created, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return crypto.Digest{}, fmt.Errorf("seal: %w", err)
	}
	if err := mbuf.writeTo(tw, md); err != nil {
		return crypto.Digest{}, fmt.Errorf("seal: %w", err)
	}
	for _, f := range trailer {
		hdr := &tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.b)), ModTime: env.Created, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return crypto.Digest{}, fmt.Errorf("seal: %w", err)
		}
		if _, err := tw.Write(f.b); err != nil {
			return crypto.Digest{}, fmt.Errorf("seal: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return crypto.Digest{}, fmt.Errorf("seal: %w", err)
	}
	return md, nil
}

// checkOriginals holds originals to what srcs' transformation marks name:
// each once, as a file with the hash and size the mark gives, and none
// left out.
func checkOriginals(srcs []Source, originals []Source) error {
	var marked []ManifestEntry
	for _, s := range srcs {
		if s.Type == TypeFile && s.Transformed != nil {
			marked = append(marked, ManifestEntry{Path: s.Path, Type: s.Type, Transformed: s.Transformed})
		}
	}
	want, err := OriginalsOf(marked)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, o := range originals {
		w, ok := want[o.Path]
		switch {
		case !ok:
			return fmt.Errorf("%q is not the original of a transformed file", o.Path)
		case seen[o.Path]:
			return fmt.Errorf("the original %q is listed twice", o.Path)
		case o.Type != TypeFile || o.SHA256 == nil || *o.SHA256 != w.SHA256 || o.Size != w.Size:
			return fmt.Errorf("the original %q is not the file its transformed file was made from", o.Path)
		}
		seen[o.Path] = true
	}
	for p := range want {
		if !seen[p] {
			return fmt.Errorf("the original %q of a transformed file is left out; seal every original or none", p)
		}
	}
	return nil
}

// writeAhead archives the next file the read-ahead holds, which is s.
func writeAhead(tw *tar.Writer, ra *readAhead, s *Source, done *atomic.Int64) (ManifestEntry, error) {
	e := ManifestEntry{Path: s.Path, Type: s.Type, Mode: Mode(s.Mode.Perm()), Transformed: s.Transformed}
	a, err := ra.next()
	if err != nil {
		return e, err
	}
	defer ra.done(a)
	if a.src != s {
		return e, fmt.Errorf("seal: read-ahead out of order at %s", s.OSPath) // a bug, never an input
	}
	if a.err != nil {
		return e, a.err
	}
	hdr := &tar.Header{Name: dataPrefix + s.Path, Mode: int64(s.Mode.Perm()), ModTime: s.ModTime.UTC().Truncate(time.Second), Format: tar.FormatPAX,
		Typeflag: tar.TypeReg, Size: s.Size}
	if err := tw.WriteHeader(hdr); err != nil {
		return e, fmt.Errorf("seal %s: %w", s.OSPath, err)
	}
	if _, err := tw.Write((*a.buf)[:s.Size]); err != nil {
		return e, fmt.Errorf("seal %s: %w", s.OSPath, err)
	}
	done.Add(s.Size)
	d := a.sum
	e.Size, e.SHA256 = s.Size, &d
	return e, nil
}

// writeEntry archives s under prefix (data/ or originals/), reading it
// once and holding it to its staged size and, if set, its SHA-256.
func writeEntry(ctx context.Context, tw *tar.Writer, prefix string, s Source, buf []byte, done *atomic.Int64) (ManifestEntry, error) {
	e := ManifestEntry{Path: s.Path, Type: s.Type, Mode: Mode(s.Mode.Perm()), Transformed: s.Transformed}
	hdr := &tar.Header{Name: prefix + s.Path, Mode: int64(s.Mode.Perm()), ModTime: s.ModTime.UTC().Truncate(time.Second), Format: tar.FormatPAX}
	if s.Type == TypeDir {
		hdr.Typeflag, hdr.Name = tar.TypeDir, hdr.Name+"/"
		if err := tw.WriteHeader(hdr); err != nil {
			return e, fmt.Errorf("seal %s: %w", s.OSPath, err)
		}
		return e, nil
	}
	f, info, err := regfile.OpenInfo(s.OSPath)
	if err != nil {
		return e, fmt.Errorf("seal: %w", err)
	}
	defer f.Close()
	if !info.Mode().IsRegular() || info.Size() != s.Size {
		return e, fmt.Errorf("seal aborted: %s: %w (size was %d, now %d); stage it again", s.OSPath, ErrChanged, s.Size, info.Size())
	}
	hdr.Typeflag, hdr.Size = tar.TypeReg, s.Size
	if err := tw.WriteHeader(hdr); err != nil {
		return e, fmt.Errorf("seal %s: %w", s.OSPath, err)
	}
	h := crypto.NewHash()
	// Each read asks for one byte more than is left, so a file that grew
	// is noticed without an extra read, and a small file takes one call.
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return e, err
		}
		want := min(s.Size-n+1, int64(len(buf)))
		k, err := f.Read(buf[:want])
		if n+int64(k) > s.Size {
			return e, fmt.Errorf("seal aborted: %s: %w (it grew while being read); stage it again", s.OSPath, ErrChanged)
		}
		if k > 0 {
			h.Write(buf[:k])
			if _, werr := tw.Write(buf[:k]); werr != nil {
				return e, fmt.Errorf("seal %s: %w", s.OSPath, werr)
			}
			n += int64(k)
			done.Add(int64(k))
		}
		if err == io.EOF || (k == 0 && err == nil) {
			break
		}
		if err != nil {
			return e, fmt.Errorf("seal %s: %w", s.OSPath, err)
		}
		if n == s.Size && want > int64(k) {
			break // a short read that ended exactly at the size: the file is complete
		}
	}
	if n < s.Size {
		return e, fmt.Errorf("seal aborted: %s: %w (it shrank while being read); stage it again", s.OSPath, ErrChanged)
	}
	d := crypto.SumOf(h)
	if s.SHA256 != nil && *s.SHA256 != d {
		return e, fmt.Errorf("seal aborted: %s: %w (its SHA-256 is not the one reviewed); stage it again", s.OSPath, ErrChanged)
	}
	e.Size, e.SHA256 = s.Size, &d
	return e, nil
}
