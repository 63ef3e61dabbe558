package bundle

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"sync"

	"golang.org/x/sync/semaphore"

	"sluice/crypto"
	"sluice/internal/regfile"
)

// Small files are read ahead of the tar writer by a few goroutines: each
// opens, reads whole and hashes the next files while the writer archives
// (and the next stage encrypts) the ones before them, in order. Per file
// that costs open, fstat, read and close, the least the kernel allows, and
// those calls overlap the rest of the pipeline instead of stalling it.
// Memory stays bounded: at most readAheadBytes of content and
// readAheadFiles files are held at once, whatever the bundle holds.
const (
	readAheadMax     = 1 << 20 // larger files are streamed by the writer as before
	readAheadBytes   = 4 << 20
	readAheadFiles   = 1024
	readAheadWorkers = 4 // more than the cores: a file not in the page cache waits for the disk
)

// readAheadable says whether the read-ahead takes s.
func readAheadable(s *Source) bool { return s.Type == TypeFile && s.Size < readAheadMax }

// aheadFile is one file read ahead: its content and hash, or why it could
// not be read as staged (the same errors writeEntry gives).
type aheadFile struct {
	src   *Source
	ready chan struct{}
	buf   *[]byte // from bufPools; content is (*buf)[:src.Size]
	sum   crypto.Digest
	err   error
}

// readAhead reads the read-ahead-able sources of srcs, in order, on
// readAheadWorkers goroutines; next hands them to the writer in that order.
type readAhead struct {
	ctx    context.Context
	cancel context.CancelFunc
	order  chan *aheadFile
	jobs   chan *aheadFile
	budget *semaphore.Weighted
	wg     sync.WaitGroup
}

func startReadAhead(ctx context.Context, srcs []Source) *readAhead {
	ctx, cancel := context.WithCancel(ctx)
	r := &readAhead{ctx: ctx, cancel: cancel, order: make(chan *aheadFile, readAheadFiles),
		jobs: make(chan *aheadFile, readAheadFiles+1), budget: semaphore.NewWeighted(readAheadBytes)}
	r.wg.Add(1 + readAheadWorkers)
	go func() { // the feeder: takes budget in order, so a later file never starves an earlier one
		defer r.wg.Done()
		defer close(r.jobs)
		defer close(r.order)
		for i := range srcs {
			s := &srcs[i]
			if !readAheadable(s) {
				continue
			}
			if r.budget.Acquire(ctx, bufCost(s.Size)) != nil {
				return
			}
			a := &aheadFile{src: s, ready: make(chan struct{})}
			select {
			case r.order <- a:
			case <-ctx.Done():
				return
			}
			r.jobs <- a // never blocks: jobs holds at most what order does, and the file the writer waits for
		}
	}()
	for range readAheadWorkers {
		go func() {
			defer r.wg.Done()
			for a := range r.jobs {
				if ctx.Err() == nil {
					a.read()
				} else {
					a.err = ctx.Err()
				}
				close(a.ready)
			}
		}()
	}
	return r
}

// next returns the next file read ahead, once it is read; the writer calls
// done with it after use.
func (r *readAhead) next() (*aheadFile, error) {
	select {
	case a, ok := <-r.order:
		if !ok {
			if err := r.ctx.Err(); err != nil {
				return nil, err
			}
			return nil, errors.New("seal: read-ahead ended early") // a bug, never an input
		}
		select {
		case <-a.ready:
			return a, nil
		case <-r.ctx.Done():
			return nil, r.ctx.Err()
		}
	case <-r.ctx.Done():
		return nil, r.ctx.Err()
	}
}

func (r *readAhead) done(a *aheadFile) {
	if a.buf != nil {
		putBuf(a.buf)
		a.buf = nil
	}
	r.budget.Release(bufCost(a.src.Size))
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
	n, now, err := regfile.ReadSmall(s.OSPath, buf, s.Size)
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
