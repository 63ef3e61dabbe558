package bundle

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"
)

// Small files are written into the quarantine by a few goroutines while
// the extractor reads, checks and hashes the entries after them: creating
// a file is most of a small file's cost, and it is the kernel's, so it
// overlaps the rest of the pipeline instead of stalling it. Everything
// about a file that can be refused (name, type, size, counts) is checked
// before it is handed over; the writers only create, write, set the mode
// and date, and close. At most readAheadBytes of content waits for them.
const fileWriters = 3

// qfolder is a folder of the quarantine, opened as a root of its own so a
// file is created in it with one openat; it is closed when the extractor
// and every pending write are done with it.
type qfolder struct {
	root  *os.Root
	fd    *os.File // the folder itself, where createIn uses it; may be nil
	refs  atomic.Int32
	owned bool // false for the quarantine itself, which the caller closes
}

func (d *qfolder) hold() *qfolder { d.refs.Add(1); return d }

func (d *qfolder) release() {
	if d.refs.Add(-1) == 0 && d.owned {
		if d.fd != nil {
			d.fd.Close()
		}
		d.root.Close()
	}
}

// fileJob is one small file, checked and hashed, to be written.
type fileJob struct {
	dir   *qfolder
	base  string // the name in dir
	name  string // the name in the bundle, for messages
	buf   *[]byte
	size  int64
	mode  fs.FileMode
	mtime time.Time
}

type fileWriter struct {
	jobs    chan *fileJob
	budget  *semaphore.Weighted
	wg      sync.WaitGroup
	pending sync.WaitGroup // jobs handed over and not yet done
	failed  atomic.Bool

	onFile func(name string, content []byte) // Expect.OnFile

	mu          sync.Mutex
	err         error // the first write that failed
	datesLost   int64
	dateExample string
}

func newFileWriter() *fileWriter {
	w := &fileWriter{jobs: make(chan *fileJob, readAheadBytes/4096), budget: semaphore.NewWeighted(readAheadBytes)}
	w.wg.Add(fileWriters)
	for range fileWriters {
		go func() {
			defer w.wg.Done()
			for j := range w.jobs {
				if !w.failed.Load() {
					w.write(j)
				}
				j.dir.release()
				putBuf(j.buf)
				w.budget.Release(bufCost(j.size))
				w.pending.Done()
			}
		}()
	}
	return w
}

// buffer waits for room for a file of size bytes and returns a buffer for it.
func (w *fileWriter) buffer(ctx context.Context, size int64) (*[]byte, error) {
	if err := w.budget.Acquire(ctx, bufCost(size)); err != nil {
		return nil, err
	}
	return getBuf(size), nil
}

// unbuffer returns a buffer that was not handed over.
func (w *fileWriter) unbuffer(b *[]byte, size int64) {
	putBuf(b)
	w.budget.Release(bufCost(size))
}

func (w *fileWriter) add(j *fileJob) {
	w.pending.Add(1)
	w.jobs <- j // never blocks: the budget holds fewer jobs than the channel
}

// drain waits until every file handed over is written.
func (w *fileWriter) drain() { w.pending.Wait() }

// firstErr is the first write that failed, if any.
func (w *fileWriter) firstErr() error {
	if !w.failed.Load() {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// finish waits for every file handed over and returns the first failure.
func (w *fileWriter) finish() error {
	close(w.jobs)
	w.wg.Wait()
	return w.firstErr()
}

// writeSmallFile creates the file base in d through an *os.File: create,
// write, chmod, date (checked), close.
func writeSmallFile(d *qfolder, base string, data []byte, mode fs.FileMode, mtime time.Time) (dateErr, err error) {
	f, err := createIn(d, base)
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return nil, err
	}
	if !mtime.IsZero() {
		dateErr = keepTime(f, mtime)
	}
	return dateErr, f.Close()
}

func (w *fileWriter) write(j *fileJob) {
	dateErr, err := writeSmall(j.dir, j.base, (*j.buf)[:j.size], j.mode, j.mtime)
	if dateErr != nil {
		w.mu.Lock()
		w.datesLost++
		if w.dateExample == "" {
			w.dateExample = fmt.Sprintf("%q (%v)", truncate(j.name), dateErr)
		}
		w.mu.Unlock()
	}
	if err == nil && w.onFile != nil {
		w.onFile(j.name, (*j.buf)[:j.size])
	}
	if err != nil {
		w.mu.Lock()
		if w.err == nil {
			w.err = fmt.Errorf("quarantine: %w", err)
		}
		w.mu.Unlock()
		w.failed.Store(true)
	}
}
