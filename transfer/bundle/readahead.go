package bundle

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/semaphore"

	"sluice/crypto"
	"sluice/internal/regfile"
)

// Small files are read ahead of the tar writer by a few goroutines: each
// opens, reads whole and hashes the next files while the writer archives
// (and the next stage encrypts) the ones before them, in order. Per file
// that costs openat, fstat, read and close (staging has looked at it
// already: Dir.ReadSmallStaged, which still looks first where the
// filesystem is not mounted nodev), each name looked up in its folder held
// open (heldDir), and those calls overlap the rest of
// the pipeline instead of stalling it. Files travel in batches of up to
// aheadBatchFiles, so the goroutines hand work to each other once per
// batch, not once per file: with 200,000 files of 512 bytes, per-file
// hand-offs kept the scheduler busier than the files did. Memory stays
// bounded: at most readAheadBytes of content and readAheadFiles files are
// held at once, whatever the bundle holds.
const (
	readAheadMax     = 1 << 20 // larger files are streamed by the writer as before
	readAheadBytes   = 4 << 20
	readAheadFiles   = 1024
	readAheadWorkers = 4 // more than the cores: a file not in the page cache waits for the disk
	aheadBatchFiles  = 32
	aheadBatchBytes  = 256 << 10
)

// readAheadable says whether the read-ahead takes s.
func readAheadable(s *Source) bool { return s.Type == TypeFile && s.Size < readAheadMax }

// aheadFile is one file read ahead: its content and hash, or why it could
// not be read as staged (the same errors writeEntry gives).
type aheadFile struct {
	src *Source
	dir *heldDir // the folder it is opened in; nil to open it by path
	buf *[]byte  // from bufPools; content is (*buf)[:src.Size]
	sum crypto.Digest
	err error
}

// aheadBatch is consecutive files read by one goroutine; ready is closed
// when all are read.
type aheadBatch struct {
	files []aheadFile
	cost  int64
	ready chan struct{}
}

// readAhead reads the read-ahead-able sources of srcs, in order, on
// readAheadWorkers goroutines; next hands them to the writer in that order.
type readAhead struct {
	ctx    context.Context
	cancel context.CancelFunc
	order  chan *aheadBatch
	jobs   chan *aheadBatch
	budget *semaphore.Weighted
	wg     sync.WaitGroup
	cur    *aheadBatch // the batch the writer is taking files from
	at     int         // the next file of cur
}

func startReadAhead(ctx context.Context, srcs []Source) *readAhead {
	ctx, cancel := context.WithCancel(ctx)
	const batches = readAheadFiles / aheadBatchFiles
	r := &readAhead{ctx: ctx, cancel: cancel, order: make(chan *aheadBatch, batches),
		jobs: make(chan *aheadBatch, batches+1), budget: semaphore.NewWeighted(readAheadBytes)}
	r.wg.Add(1 + readAheadWorkers)
	go func() { // the feeder: takes budget in order, so a later file never starves an earlier one
		defer r.wg.Done()
		defer close(r.jobs)
		defer close(r.order)
		var dir *heldDir
		defer func() { dir.release() }()
		var b *aheadBatch
		send := func() bool {
			if b == nil {
				return true
			}
			select {
			case r.order <- b:
			case <-ctx.Done():
				for i := range b.files {
					b.files[i].dir.release()
				}
				return false
			}
			r.jobs <- b // never blocks: jobs holds at most what order does, and the batch the writer waits for
			b = nil
			return true
		}
		for i := range srcs {
			s := &srcs[i]
			if !readAheadable(s) {
				continue
			}
			cost := bufCost(s.Size)
			if !r.budget.TryAcquire(cost) {
				// What is held must reach the writer before more budget
				// can come back.
				if !send() || r.budget.Acquire(ctx, cost) != nil {
					return
				}
			}
			if b == nil {
				b = &aheadBatch{files: make([]aheadFile, 0, aheadBatchFiles), ready: make(chan struct{})}
			}
			dir = dir.next(s.OSPath)
			b.files = append(b.files, aheadFile{src: s, dir: dir.hold()})
			b.cost += cost
			if len(b.files) == aheadBatchFiles || b.cost >= aheadBatchBytes {
				if !send() {
					return
				}
			}
		}
		send()
	}()
	for range readAheadWorkers {
		go func() {
			defer r.wg.Done()
			for b := range r.jobs {
				for i := range b.files {
					a := &b.files[i]
					if ctx.Err() == nil {
						a.read()
					} else {
						a.err = ctx.Err()
					}
					a.dir.release()
				}
				close(b.ready)
			}
		}()
	}
	return r
}

// next returns the next file read ahead, once it is read; the writer calls
// done with it after use.
func (r *readAhead) next() (*aheadFile, error) {
	if r.cur == nil || r.at == len(r.cur.files) {
		if r.cur != nil {
			r.budget.Release(r.cur.cost)
			r.cur = nil
		}
		select {
		case b, ok := <-r.order:
			if !ok {
				if err := r.ctx.Err(); err != nil {
					return nil, err
				}
				return nil, errors.New("seal: read-ahead ended early") // a bug, never an input
			}
			select {
			case <-b.ready:
				r.cur, r.at = b, 0
			case <-r.ctx.Done():
				return nil, r.ctx.Err()
			}
		case <-r.ctx.Done():
			return nil, r.ctx.Err()
		}
	}
	a := &r.cur.files[r.at]
	r.at++
	return a, nil
}

// done returns a file's buffer once the writer has archived it; the
// batch's budget comes back when the writer moves past the batch.
func (r *readAhead) done(a *aheadFile) {
	if a.buf != nil {
		putBuf(a.buf)
		a.buf = nil
	}
}

// stop ends the goroutines and waits for them.
func (r *readAhead) stop() {
	r.cancel()
	r.wg.Wait()
}

// read opens, reads and hashes the file, holding it to what was staged:
// the same size (one byte more is asked for, so growth shows without a
// further read) and, if the officer reviewed it, the same SHA-256.
func (a *aheadFile) read() {
	s := a.src
	a.buf = getBuf(s.Size)
	buf := (*a.buf)[:s.Size+1]
	var n int
	var now int64
	var err error
	if a.dir != nil {
		n, now, err = a.dir.d.ReadSmallStaged(s.OSPath[len(a.dir.path)+1:], buf, s.Size)
	} else {
		n, now, err = regfile.ReadSmall(s.OSPath, buf, s.Size)
	}
	switch {
	case now < 0:
		a.err = fmt.Errorf("seal: %w", err)
	case now != s.Size:
		a.err = fmt.Errorf("seal aborted: %s: %w (size was %d, now %d); stage it again", s.OSPath, ErrChanged, s.Size, now)
	case int64(n) > s.Size:
		a.err = fmt.Errorf("seal aborted: %s: %w (it grew while being read); stage it again", s.OSPath, ErrChanged)
	case err != nil:
		a.err = fmt.Errorf("seal %s: %w", s.OSPath, err)
	case int64(n) < s.Size:
		a.err = fmt.Errorf("seal aborted: %s: %w (it shrank while being read); stage it again", s.OSPath, ErrChanged)
	}
	if a.err != nil {
		return
	}
	a.sum = crypto.HashBytes(buf[:n])
	if s.SHA256 != nil && *s.SHA256 != a.sum {
		a.err = fmt.Errorf("seal aborted: %s: %w (its SHA-256 is not the one reviewed); stage it again", s.OSPath, ErrChanged)
	}
}

// heldDir is the folder of the files being read ahead, open while any of
// them is still to be read (regfile.Dir: one name looked up per file, not
// the whole path). Staged files come folder by folder, so the feeder opens
// each folder once.
type heldDir struct {
	path string
	d    *regfile.Dir
	refs atomic.Int32
}

// next returns the held folder for the file at osPath: h if it is h's,
// else the file's folder newly opened (and h released), or nil if that
// cannot be opened, so the file is opened by its path and any error
// names it.
func (h *heldDir) next(osPath string) *heldDir {
	if h != nil && inFolder(osPath, h.path) {
		return h
	}
	h.release()
	parent := filepath.Dir(osPath)
	if !inFolder(osPath, parent) {
		return nil // the root, or not a clean path: open it by its path
	}
	d, err := regfile.OpenDir(parent)
	if err != nil {
		return nil
	}
	n := &heldDir{path: parent, d: d}
	n.refs.Store(1)
	return n
}

// inFolder says whether osPath is dir, a separator and a name.
func inFolder(osPath, dir string) bool {
	rest, ok := strings.CutPrefix(osPath, dir)
	return ok && len(rest) > 1 && rest[0] == filepath.Separator && strings.IndexByte(rest[1:], filepath.Separator) < 0
}

// hold takes a reference for one file.
func (h *heldDir) hold() *heldDir {
	if h != nil {
		h.refs.Add(1)
	}
	return h
}

// release drops a reference, closing the folder with the last.
func (h *heldDir) release() {
	if h != nil && h.refs.Add(-1) == 0 {
		h.d.Close()
	}
}

// bufPools hold read-ahead buffers by size class: 4 KiB << class.
var bufPools [9]sync.Pool

// bufClass is the class of a buffer for a file of size bytes (and the
// one byte more read to see that it grew).
func bufClass(size int64) int { return max(0, bits.Len64(uint64(size))-12) }

func bufCost(size int64) int64 { return 4096 << bufClass(size) }

func getBuf(size int64) *[]byte {
	c := bufClass(size)
	if b, ok := bufPools[c].Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, 4096<<c)
	return &b
}

func putBuf(b *[]byte) { bufPools[bufClass(int64(cap(*b))-1)].Put(b) }
