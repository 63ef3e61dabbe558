package bundle

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"slices"
	"strings"
	"sync/atomic"

	"filippo.io/age"
	"github.com/dustin/go-humanize"
	"golang.org/x/crypto/ssh"
	"golang.org/x/sync/errgroup"

	"sluice/crypto"
	"sluice/internal/progress"
)

// Expect is what a verified envelope promises about its payload stream. The
// stream is held to it entry by entry, before anything is written.
type Expect struct {
	BundleID     string
	SenderName   string
	SenderKey    ssh.PublicKey
	Files        int64
	Dirs         int64
	ContentBytes int64
	// OnFile, if set, is called with each file under SmallFile bytes once it is
	// written into the quarantine, on the goroutine that wrote it (so
	// concurrently): name is its path in the bundle, content its bytes,
	// valid only during the call. The kiosk checks content there, from
	// memory, instead of reading every small file back.
	OnFile func(name string, content []byte)
	// MaxFileSize and MaxPathDepth, if set, are a kiosk's limits on each
	// file's size and each entry's depth (its folders and name): an entry
	// past one is refused as its header is read, before it is written.
	MaxFileSize  int64
	MaxPathDepth int
	// Originals, if set, receives the sealed originals of the transformed
	// files (originals/ in the stream), held like data/ entries to the
	// limits above and to OriginalFiles and OriginalBytes, and checked
	// against the marks of the signed manifest. A stream that holds
	// originals when it is nil is refused.
	Originals                    *os.Root
	OriginalFiles, OriginalBytes int64
}

// ErrLimit is wrapped by Extract's error for an entry past one of Expect's
// limits (MaxFileSize, MaxPathDepth): the bundle is refused by the
// receiver's policy, not damaged.
var ErrLimit = errors.New("past the receiving station's limit")

// SmallFile is the size under which Extract reads a file whole and hands
// it to Expect.OnFile: every such file of a bundle that extracts.
const SmallFile = readAheadMax

// ExpectFrom returns what b's envelope promises. Call it only after the
// envelope's signature has been checked.
func (b *Bundle) ExpectFrom() (Expect, error) {
	k, err := b.Envelope.SenderKey()
	if err != nil {
		return Expect{}, err
	}
	e := b.Envelope
	x := Expect{BundleID: e.ID, SenderName: e.Sender.Name, SenderKey: k, Files: e.Files, Dirs: e.Dirs, ContentBytes: e.ContentBytes}
	if o := e.Originals; o != nil {
		x.OriginalFiles, x.OriginalBytes = o.Files, o.Bytes
	}
	return x, nil
}

// Verified is the outcome of a successful extraction: every entry written
// under the destination matches the sender's signed manifest exactly.
type Verified struct {
	Manifest       *Manifest
	ManifestSHA256 crypto.Digest
	// SealRecord is the sender's custody record of the seal, as it
	// travelled (nil if the bundle carries none); the caller checks it.
	SealRecord   []byte
	Files, Dirs  int64
	ContentBytes int64
	// Originals and OriginalBytes count the sealed originals written to
	// Expect.Originals, each the one its transformed file's mark names.
	Originals, OriginalBytes int64
	// DatesNotKept counts files released without the date the sender gave
	// them, because the filesystem cannot hold it (FAT before 1980 or after
	// 2107, ext4 with small inodes after 2038); DateExample names one and
	// says why.
	DatesNotKept int64
	DateExample  string
}

// Progress, if set on Extract, is called about ten times a second from one
// goroutine with the bytes of payload read so far.
type Progress func(done, total int64)

// Extract decrypts the payload with ids and writes its entries into dst, a
// quarantine the caller owns and removes if Extract fails. Volumes are read,
// hashed, decrypted and extracted as a pipeline with bounded memory. The
// envelope's signature must have been checked with VerifySignature first.
func (b *Bundle) Extract(ctx context.Context, ids []age.Identity, dst *os.Root, report Progress) (*Verified, error) {
	exp, err := b.ExpectFrom()
	exp.OnFile, exp.MaxFileSize, exp.MaxPathDepth, exp.Originals = b.OnFile, b.MaxFileSize, b.MaxPathDepth, b.Originals
	if err != nil {
		return nil, err
	}
	var volErr, decErr error
	g, gctx := errgroup.WithContext(ctx)
	cipher, plain := newChunkPipe(gctx), newChunkPipe(gctx)
	vr := newVolumeReader(b.Dir, b.Envelope.Payload, false)
	counter := &countingReader{r: vr}
	stop := progress.Tick(report, &counter.n, b.Envelope.Payload.Size)
	g.Go(func() error {
		defer vr.close()
		buf := make([]byte, 1<<20)
		_, err := io.CopyBuffer(cipher, ctxReader{gctx, counter}, buf)
		if err != nil {
			volErr = ownError(err)
			return err
		}
		return cipher.closeWrite()
	})
	g.Go(func() error {
		dr, err := age.Decrypt(cipher, ids...)
		if err != nil {
			decErr = ownError(err)
			return err
		}
		buf := make([]byte, pipeChunk)
		for {
			n, err := dr.Read(buf)
			if n > 0 {
				if _, werr := plain.Write(buf[:n]); werr != nil {
					return werr
				}
			}
			if err == io.EOF {
				return plain.closeWrite()
			}
			if err != nil {
				decErr = ownError(err)
				return err
			}
		}
	})
	var v *Verified
	g.Go(func() error {
		var err error
		v, err = ExtractStream(gctx, plain, dst, exp)
		return err
	})
	err = g.Wait()
	stop()
	if err == nil {
		return v, nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	var ve *VolumeError
	if errors.As(volErr, &ve) {
		return nil, ve
	}
	if !errors.Is(err, ErrRejected) && decErr == nil && volErr == nil {
		return nil, err // the environment failed (disk full, permissions)
	}
	// The payload is damaged: name the bad volume if there is one.
	if cerr := b.CheckVolumes(ctx); errors.As(cerr, &ve) {
		return nil, ve
	}
	var noMatch *age.NoIdentityMatchError
	if errors.As(decErr, &noMatch) {
		return nil, ErrNotForThisStation
	}
	if decErr != nil {
		return nil, rejectf("payload does not decrypt: %v; the bundle is damaged or was altered", decErr)
	}
	return nil, err
}

// ownError drops the cancellation a stage sees when another stage failed
// first, so the error reported is the one that caused it.
func ownError(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	return err
}

type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n.Add(int64(n))
	return n, err
}

// ExtractStream reads a decrypted payload (a tar stream) from r, writes its
// data/ entries under dst and its originals/ entries under exp.Originals,
// and checks them against the signed manifest that ends the stream and
// against exp. It reads r to its end, so the decryption
// under it authenticates every byte. Every name, type, size and count is
// checked before anything is written; entries can only be created inside dst.
func ExtractStream(ctx context.Context, r io.Reader, dst *os.Root, exp Expect) (*Verified, error) {
	x := extractor{dst: dst, exp: exp, tree: newTree(), buf: make([]byte, 256<<10), made: map[string]bool{},
		top: &qfolder{root: dst}}
	x.top.hold()
	if fd, err := openFolderFd(dst); err == nil && fd != nil {
		x.top.fd = fd
		defer fd.Close() // after finish, below: the writers may use it until then
	}
	defer x.finish()
	tr := tar.NewReader(r)
	var manifest, sig, seal []byte
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, streamErr(err)
		}
		switch {
		case manifest == nil && x.otree == nil && strings.HasPrefix(hdr.Name, dataPrefix):
			if err := x.entry(ctx, hdr, tr); err != nil {
				return nil, err
			}
		case manifest == nil && strings.HasPrefix(hdr.Name, originalsPrefix):
			if err := x.original(ctx, hdr, tr); err != nil {
				return nil, err
			}
		case manifest == nil && hdr.Name == ManifestPath:
			x.tree = nil // no data entry may follow: free it before the manifest is read
			if manifest, err = readTrailer(hdr, tr, MaxManifestLen(exp.Files, exp.Dirs)); err != nil {
				return nil, err
			}
		case manifest != nil && sig == nil && hdr.Name == ManifestSigPath:
			if sig, err = readTrailer(hdr, tr, maxTrailerSigLen); err != nil {
				return nil, err
			}
		case sig != nil && seal == nil && hdr.Name == SealRecordPath:
			if seal, err = readTrailer(hdr, tr, MaxSealRecord); err != nil {
				return nil, err
			}
		default:
			return nil, rejectf("payload holds an unexpected entry %q", truncate(hdr.Name))
		}
	}
	if err := drainZeros(r); err != nil {
		return nil, err
	}
	if err := x.finish(); err != nil {
		return nil, err
	}
	x.tree = nil // its work is done (also when no manifest came); the manifest builds its own
	if manifest == nil || sig == nil {
		return nil, rejectf("payload ends before its signed manifest: the bundle is truncated or was not made by Sluice")
	}
	v, err := x.verify(manifest, sig)
	if err != nil {
		return nil, err
	}
	v.SealRecord = seal
	return v, nil
}

func streamErr(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var re *rejectError
	var ve *VolumeError
	if errors.As(err, &re) || errors.As(err, &ve) {
		return err
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return rejectf("payload stream is truncated")
	}
	return rejectf("payload stream is not valid: %v", err)
}

// paxAllowed are the only PAX extended-header records Seal writes (a long or
// non-ASCII name, a time or size beyond the old header's fields). Anything
// else would mean one thing to Sluice and another to stock tar: sparse maps
// (GNU.sparse.*, which expand a few bytes into a huge file), extended
// attributes and ACLs (SCHILY.*, LIBARCHIVE.*), link targets, owners.
var paxAllowed = map[string]bool{"path": true, "mtime": true, "size": true}

// checkHeader refuses tar features a bundle never uses, whatever the entry.
func checkHeader(hdr *tar.Header) error {
	if hdr.Typeflag == tar.TypeGNUSparse {
		return rejectf("payload entry %q is a sparse file; bundles hold only plain files", truncate(hdr.Name))
	}
	for k := range hdr.PAXRecords {
		if !paxAllowed[k] {
			if strings.HasPrefix(k, "GNU.sparse.") {
				return rejectf("payload entry %q is a sparse file; bundles hold only plain files", truncate(hdr.Name))
			}
			return rejectf("payload entry %q carries the tar extension %q, which Sluice never writes", truncate(hdr.Name), truncate(k))
		}
	}
	if hdr.Linkname != "" {
		return rejectf("payload entry %q names a link target", truncate(hdr.Name))
	}
	// Sluice writes uid and gid 0 and no owner names (FORMAT.md); stock
	// tar run as root would give a file the owner a header names.
	if hdr.Uid != 0 || hdr.Gid != 0 || hdr.Uname != "" || hdr.Gname != "" {
		owner := fmt.Sprintf("uid %d, gid %d", hdr.Uid, hdr.Gid)
		if hdr.Uname != "" || hdr.Gname != "" {
			owner += ", a user or group name"
		}
		return rejectf("payload entry %q names an owner (%s), which Sluice never writes", truncate(hdr.Name), owner)
	}
	return nil
}

func readTrailer(hdr *tar.Header, tr *tar.Reader, max int64) ([]byte, error) {
	if hdr.Typeflag != tar.TypeReg {
		return nil, rejectf("payload entry %s is not a regular file", hdr.Name)
	}
	if err := checkHeader(hdr); err != nil {
		return nil, err
	}
	if hdr.Size < 0 || hdr.Size > max {
		return nil, rejectf("payload entry %s is %d bytes, more than the %d allowed", hdr.Name, hdr.Size, max)
	}
	b := make([]byte, hdr.Size)
	if _, err := io.ReadFull(tr, b); err != nil {
		return nil, streamErr(err)
	}
	return b, nil
}

// drainZeros reads what follows the tar stream's end. Only zero padding is
// allowed; reading to the end lets age check the final chunk.
func drainZeros(r io.Reader) error {
	buf := make([]byte, 32<<10)
	var total int64
	for {
		n, err := r.Read(buf)
		for _, c := range buf[:n] {
			if c != 0 {
				return rejectf("payload holds data after the end of its archive")
			}
		}
		total += int64(n)
		if total > 1<<20 {
			return rejectf("payload holds more than 1 MiB of padding after its archive")
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return streamErr(err)
		}
	}
}

type extractor struct {
	dst                 *os.Root
	exp                 Expect
	tree                *tree
	got                 []gotEntry // in stream order
	dirs                []ManifestEntry
	files, ndirs, bytes int64
	// otree and originals are the sealed originals read so far (otree
	// set from the first: no data/ entry may follow it).
	otree          *tree
	originals      []gotEntry
	ofiles, obytes int64
	buf            []byte
	// made holds the folders listed and made so far (every entry's folder
	// is listed before it: listedFolder); dir is the folder the last file
	// went into, opened once for all its files.
	made     map[string]bool
	dir      *qfolder
	dirName  string
	top      *qfolder    // dst itself
	switches int         // folders opened
	writer   *fileWriter // writes small files; nil until the first
	// datesLost counts files whose date the filesystem could not hold.
	datesLost   int64
	dateExample string
}

func typeName(flag byte) string {
	switch flag {
	case tar.TypeSymlink:
		return "a symbolic link"
	case tar.TypeLink:
		return "a hard link"
	case tar.TypeChar:
		return "a character device"
	case tar.TypeBlock:
		return "a block device"
	case tar.TypeFifo:
		return "a FIFO"
	case tar.TypeXGlobalHeader:
		return "a global header"
	case tar.TypeGNUSparse:
		return "a sparse file"
	default:
		return fmt.Sprintf("of tar type %q", flag)
	}
}

func (x *extractor) entry(ctx context.Context, hdr *tar.Header, tr *tar.Reader) error {
	name := strings.TrimPrefix(hdr.Name, dataPrefix)
	var typ string
	switch hdr.Typeflag {
	case tar.TypeReg:
		typ = TypeFile
	case tar.TypeDir:
		typ = TypeDir
		name = strings.TrimSuffix(name, "/")
	default:
		return rejectf("payload entry %q is %s; bundles hold only regular files and folders", truncate(name), typeName(hdr.Typeflag))
	}
	if err := checkHeader(hdr); err != nil {
		return err
	}
	if err := x.tree.add(name, typ); err != nil {
		return rejectf("payload: %v", err)
	}
	if err := x.limits("", name, typ, hdr.Size); err != nil {
		return err
	}
	if err := listedFolder(x.made, name); err != nil {
		return rejectf("payload: %v", err)
	}
	if hdr.Mode < 0 || hdr.Mode&^0o777 != 0 {
		return rejectf("payload entry %q has mode %o; only permission bits are allowed", truncate(name), hdr.Mode)
	}
	e := ManifestEntry{Path: name, Type: typ, Mode: Mode(hdr.Mode)}
	if typ == TypeDir {
		if x.ndirs++; x.ndirs > x.exp.Dirs {
			return rejectf("payload holds more folders than the envelope declares (%d)", x.exp.Dirs)
		}
		if hdr.Size != 0 {
			return rejectf("payload folder %q has a size", truncate(name))
		}
		if err := x.dst.MkdirAll(name, 0o700); err != nil {
			return fmt.Errorf("quarantine: %w", err)
		}
		x.made[name] = true
		x.dirs = append(x.dirs, e)
		x.got = append(x.got, gotEntry{path: name, mode: e.Mode, dir: true})
		return nil
	}
	if x.files++; x.files > x.exp.Files {
		return rejectf("payload holds more files than the envelope declares (%d)", x.exp.Files)
	}
	if hdr.Size < 0 || hdr.Size > x.exp.ContentBytes-x.bytes {
		return rejectf("payload holds more content than the envelope declares (%d bytes)", x.exp.ContentBytes)
	}
	x.bytes += hdr.Size
	dir, err := x.openDir(path.Dir(name))
	if err != nil {
		return fmt.Errorf("quarantine: %w", err)
	}
	if hdr.Size < readAheadMax {
		return x.small(ctx, hdr, tr, name, dir, e)
	}
	f, err := createIn(dir, path.Base(name))
	if err != nil {
		return fmt.Errorf("quarantine: %w", err)
	}
	h := crypto.NewHash()
	var n int64
	for n < hdr.Size {
		if err := ctx.Err(); err != nil {
			f.Close()
			return err
		}
		k, rerr := tr.Read(x.buf)
		if k > 0 {
			h.Write(x.buf[:k])
			if _, werr := f.Write(x.buf[:k]); werr != nil {
				f.Close()
				return fmt.Errorf("quarantine: %w", werr)
			}
			n += int64(k)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			f.Close()
			return streamErr(rerr)
		}
	}
	if err := f.Chmod(fileMode(e.Mode)); err != nil {
		f.Close()
		return fmt.Errorf("quarantine: %w", err)
	}
	if n == hdr.Size && !hdr.ModTime.IsZero() {
		if err := keepTime(f, hdr.ModTime); err != nil {
			x.datesLost++
			if x.dateExample == "" {
				x.dateExample = fmt.Sprintf("%q (%v)", truncate(name), err)
			}
		}
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("quarantine: %w", err)
	}
	if n != hdr.Size {
		return rejectf("payload stream is truncated")
	}
	x.got = append(x.got, gotEntry{path: name, size: hdr.Size, sum: crypto.SumOf(h), mode: e.Mode})
	return nil
}

// limits holds an entry (what names its part: "" for data, "the original "
// for one) to the receiver's max_path_depth and, a file, max_file_size.
func (x *extractor) limits(what, name, typ string, size int64) error {
	if d := strings.Count(name, "/") + 1; x.exp.MaxPathDepth > 0 && d > x.exp.MaxPathDepth {
		return fmt.Errorf("%w: %w: policy: %s%s is %d levels deep, deeper than max_path_depth (%d); the sender flattens the folders, or the technician raises the limit",
			ErrRejected, ErrLimit, what, truncate(name), d, x.exp.MaxPathDepth)
	}
	if x.exp.MaxFileSize > 0 && typ == TypeFile && size > x.exp.MaxFileSize {
		fix := "the sender splits it"
		if what != "" {
			fix = "the sender seals without originals"
		}
		return fmt.Errorf("%w: %w: policy: %s%s is %s, larger than max_file_size (%s); %s, or the technician raises the limit",
			ErrRejected, ErrLimit, what, truncate(name), humanize.IBytes(uint64(size)), humanize.IBytes(uint64(x.exp.MaxFileSize)), fix)
	}
	return nil
}

// original writes one sealed original into exp.Originals, checked as a
// data/ file is and hashed; verify holds it to its transformed file's mark.
func (x *extractor) original(ctx context.Context, hdr *tar.Header, tr *tar.Reader) error {
	name := strings.TrimPrefix(hdr.Name, originalsPrefix)
	if x.exp.Originals == nil && x.exp.OriginalFiles > 0 {
		return fmt.Errorf("%w: the bundle carries the originals of its transformed files, and this station does not take them", ErrRejected)
	}
	if x.ofiles++; x.ofiles > x.exp.OriginalFiles || x.exp.Originals == nil {
		return rejectf("payload holds more originals than the envelope declares (%d)", x.exp.OriginalFiles)
	}
	if hdr.Typeflag != tar.TypeReg {
		return rejectf("payload original %q is %s; originals are regular files", truncate(name), typeName(hdr.Typeflag))
	}
	if err := checkHeader(hdr); err != nil {
		return err
	}
	if x.otree == nil {
		x.otree = newTree()
	}
	if err := x.otree.add(name, TypeFile); err != nil {
		return rejectf("payload originals: %v", err)
	}
	if err := x.limits("the original ", name, TypeFile, hdr.Size); err != nil {
		return err
	}
	// An original sits beside the file it became (OriginalsOf), so in a
	// folder the data listed: none is made that nothing counts.
	if err := listedFolder(x.made, name); err != nil {
		return rejectf("payload originals: %v", err)
	}
	if hdr.Mode < 0 || hdr.Mode&^0o777 != 0 {
		return rejectf("payload original %q has mode %o; only permission bits are allowed", truncate(name), hdr.Mode)
	}
	if hdr.Size < 0 || hdr.Size > x.exp.OriginalBytes-x.obytes {
		return rejectf("payload holds more originals' content than the envelope declares (%d bytes)", x.exp.OriginalBytes)
	}
	x.obytes += hdr.Size
	if dir := path.Dir(name); dir != "." {
		if err := x.exp.Originals.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("originals: %w", err)
		}
	}
	f, err := x.exp.Originals.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("originals: %w", err)
	}
	// A write that fails is this station's (a full disk: "failed", the
	// bundle kept for another try), a read that fails the bundle's.
	h, fw := crypto.NewHash(), &writeErr{w: f}
	n, err := io.CopyBuffer(io.MultiWriter(h, fw), ctxReader{ctx, tr}, x.buf)
	cerr := f.Close()
	switch {
	case fw.err != nil:
		return fmt.Errorf("originals: %w", fw.err)
	case err != nil:
		return streamErr(err)
	case cerr != nil:
		return fmt.Errorf("originals: %w", cerr)
	}
	if n != hdr.Size {
		return rejectf("payload stream is truncated")
	}
	x.originals = append(x.originals, gotEntry{path: name, size: n, sum: crypto.SumOf(h), mode: Mode(hdr.Mode)})
	return nil
}

// writeErr passes writes on and keeps the first that failed.
type writeErr struct {
	w   io.Writer
	err error
}

func (e *writeErr) Write(p []byte) (int, error) {
	n, err := e.w.Write(p)
	if err != nil && e.err == nil {
		e.err = err
	}
	return n, err
}

// checkOriginals holds the originals read to the manifest's marks and
// the envelope's counts: each is the original a transformed file names,
// with its hash and size, and none is missing.
func (x *extractor) checkOriginals(entries []ManifestEntry) error {
	if x.exp.OriginalFiles == 0 && len(x.originals) == 0 {
		return nil
	}
	want, err := OriginalsOf(entries)
	if err != nil {
		return rejectf("manifest: %v", err)
	}
	for _, g := range x.originals {
		w, ok := want[g.path]
		switch {
		case !ok:
			return rejectf("payload holds the original %q, which no transformed file names", truncate(g.path))
		case w.Size != g.size || w.SHA256 != g.sum:
			return rejectf("the original %q is not the one its transformed file names (size or SHA-256 differ)", truncate(g.path))
		}
		delete(want, g.path)
	}
	if len(want) > 0 {
		missing := slices.Sorted(maps.Keys(want))
		return rejectf("the original %q of a transformed file is missing from the bundle's originals", truncate(missing[0]))
	}
	if x.ofiles != x.exp.OriginalFiles || x.obytes != x.exp.OriginalBytes {
		return rejectf("payload holds %d originals of %d bytes; the envelope declares %d and %d", x.ofiles, x.obytes, x.exp.OriginalFiles, x.exp.OriginalBytes)
	}
	return nil
}

// openDir returns the folder name (made if need be) inside the quarantine,
// as a root of its own, so that each file in it is created with one
// openat instead of a walk from the quarantine down. Entries come sorted,
// so a folder's files come together and it is opened once for them.
func (x *extractor) openDir(name string) (*qfolder, error) {
	if name == "." {
		return x.top, nil
	}
	if x.dir != nil && x.dirName == name {
		return x.dir, nil
	}
	x.closeDir()
	x.switches++
	if x.writer != nil && x.switches%maxOpenFolders == 0 {
		// Each folder stays open while writes into it wait; a bundle of
		// many folders of one file each would otherwise hold a thousand.
		x.writer.drain()
	}
	if !x.made[name] {
		return nil, fmt.Errorf("folder %q was not made before its files (a bug)", truncate(name))
	}
	r, err := x.dst.OpenRoot(name)
	if err != nil {
		return nil, err
	}
	fd, err := openFolderFd(r)
	if err != nil {
		r.Close()
		return nil, err
	}
	x.dir, x.dirName = &qfolder{root: r, fd: fd, owned: true}, name
	return x.dir.hold(), nil
}

func (x *extractor) closeDir() {
	if x.dir != nil {
		x.dir.release()
		x.dir = nil
	}
}

// small reads a file of less than readAheadMax bytes whole, hashes it and
// hands it to the writers; the manifest entry is recorded at once, since
// what is checked against the manifest is what was read.
func (x *extractor) small(ctx context.Context, hdr *tar.Header, tr *tar.Reader, name string, dir *qfolder, e ManifestEntry) error {
	if x.writer == nil {
		x.writer = newFileWriter()
		x.writer.onFile = x.exp.OnFile
	}
	if err := x.writer.firstErr(); err != nil {
		return err
	}
	buf, err := x.writer.buffer(ctx, hdr.Size)
	if err != nil {
		return err
	}
	b := (*buf)[:hdr.Size]
	if _, err := io.ReadFull(tr, b); err != nil {
		x.writer.unbuffer(buf, hdr.Size)
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return streamErr(err)
	}
	x.got = append(x.got, gotEntry{path: name, size: hdr.Size, sum: crypto.HashBytes(b), mode: e.Mode})
	x.writer.add(&fileJob{dir: dir.hold(), base: path.Base(name), name: name, buf: buf, size: hdr.Size, mode: fileMode(e.Mode), mtime: hdr.ModTime})
	return nil
}

// finish waits for the writers and closes the folders; it returns the
// first write that failed. It may be called more than once.
func (x *extractor) finish() error {
	x.closeDir()
	var err error
	if x.writer != nil {
		err = x.writer.finish()
		x.datesLost += x.writer.datesLost
		if x.dateExample == "" {
			x.dateExample = x.writer.dateExample
		}
		x.writer = nil
	}
	return err
}

// maxOpenFolders bounds the folders held open by writes not yet done.
const maxOpenFolders = 64

// gotEntry is what the payload held for one entry, as read and hashed,
// kept compactly (200,000 entries take 13 MiB) until the manifest is read.
type gotEntry struct {
	path string
	size int64
	sum  crypto.Digest
	mode Mode
	dir  bool
}

func (g *gotEntry) typ() string {
	if g.dir {
		return TypeDir
	}
	return TypeFile
}

// fileMode is the mode a released file gets: the sender's permission bits,
// never writable by group or others, always readable and writable by the
// owner so the officer can manage what was released.
func fileMode(m Mode) fs.FileMode { return fs.FileMode(m)&0o755 | 0o600 }

func dirMode(m Mode) fs.FileMode { return fs.FileMode(m)&0o755 | 0o700 }

func (x *extractor) verify(mb, sig []byte) (*Verified, error) {
	if err := crypto.VerifySSH(x.exp.SenderKey, crypto.NamespaceManifest, mb, sig); err != nil {
		return nil, rejectf("manifest signature from %s does not verify", x.exp.SenderName)
	}
	sum := crypto.HashBytes(mb)
	m, err := ParseManifest(mb)
	if err != nil {
		return nil, rejectf("%v", err)
	}
	if m.BundleID != x.exp.BundleID || m.Sender != x.exp.SenderName {
		return nil, rejectf("manifest belongs to bundle %s from %s, not to this envelope", m.BundleID, truncate(m.Sender))
	}
	// Seal lists the manifest in stream order, so entry i is compared with
	// the i-th entry read; any other order takes the lookup by name.
	inOrder := len(m.Entries) == len(x.got)
	for i := 0; inOrder && i < len(m.Entries); i++ {
		inOrder = m.Entries[i].Path == x.got[i].path
	}
	var byPath map[string]int
	if !inOrder {
		byPath = make(map[string]int, len(x.got))
		for i, g := range x.got {
			byPath[g.path] = i
		}
	}
	for i, e := range m.Entries {
		j, ok := i, true
		if !inOrder {
			j, ok = byPath[e.Path]
		}
		if !ok {
			return nil, rejectf("manifest lists %q, which the payload does not hold", truncate(e.Path))
		}
		g := &x.got[j]
		switch {
		case g.typ() != e.Type:
			return nil, rejectf("%q is a %s in the payload but a %s in the manifest", truncate(e.Path), g.typ(), e.Type)
		case g.size != e.Size:
			return nil, rejectf("%q is %d bytes, the manifest says %d", truncate(e.Path), g.size, e.Size)
		case !g.dir && g.sum != *e.SHA256:
			return nil, rejectf("%q does not match its SHA-256 in the manifest", truncate(e.Path))
		case g.mode != e.Mode:
			return nil, rejectf("%q has mode %04o, the manifest says %04o", truncate(e.Path), g.mode, e.Mode)
		}
	}
	if len(m.Entries) != len(x.got) {
		listed := make(map[string]bool, len(m.Entries))
		for _, e := range m.Entries {
			listed[e.Path] = true
		}
		for _, g := range x.got {
			if !listed[g.path] {
				return nil, rejectf("payload holds %q, which the manifest does not list", truncate(g.path))
			}
		}
	}
	if x.files != x.exp.Files || x.ndirs != x.exp.Dirs || x.bytes != x.exp.ContentBytes {
		return nil, rejectf("payload holds %d files, %d folders and %d bytes; the envelope declares %d, %d and %d",
			x.files, x.ndirs, x.bytes, x.exp.Files, x.exp.Dirs, x.exp.ContentBytes)
	}
	if err := x.checkOriginals(m.Entries); err != nil {
		return nil, err
	}
	// Only now give folders their modes: a read-only folder set earlier
	// would have refused its own children.
	for i := len(x.dirs) - 1; i >= 0; i-- {
		d := x.dirs[i]
		if err := x.dst.Chmod(d.Path, dirMode(d.Mode)); err != nil {
			return nil, fmt.Errorf("quarantine: %w", err)
		}
	}
	return &Verified{Manifest: m, ManifestSHA256: sum, Files: x.files, Dirs: x.ndirs, ContentBytes: x.bytes,
		Originals: x.ofiles, OriginalBytes: x.obytes, DatesNotKept: x.datesLost, DateExample: x.dateExample}, nil
}
