package transform

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"sluice/internal/regfile"
)

// verifyBatchSize bounds the files one verify worker is given: the
// descriptors it holds, its options' size, and what is verified again
// after a crash.
const verifyBatchSize = 64

// VerifyFiles runs VerifyFile's check on each file of paths and returns
// its verdict in errs[i] for paths[i] (nil: in its simple form). A
// kiosk's bundle of many small transformed files spends most of
// VerifyFile's time starting workers; here one worker checks many files
// in turn, each with VerifyFile's guarantees: the same memory limit and
// sandbox, and its own deadline (Config.Timeout for its size), counted
// from the worker's answer on the file before it. A worker that crashes
// or overruns a file's deadline is killed: that file fails, and the files
// after it are checked by a fresh worker, never taken as verified. A
// file that crashed a worker that had checked others first is checked
// again alone, so that memory the others left cannot fail it. Every
// failure wraps ErrNotSimple, as VerifyFile's do, except a file that
// cannot be opened (regfile's error).
func (t *Transformer) VerifyFiles(ctx context.Context, paths []string) []error {
	errs := make([]error, len(paths))
	pending := make([]int, len(paths))
	for i := range pending {
		pending[i] = i
	}
	var alone []int // to check again in a worker of their own
	for len(pending) > 0 || len(alone) > 0 {
		if err := ctx.Err(); err != nil {
			for _, i := range append(alone, pending...) {
				errs[i] = fmt.Errorf("%w: not checked: %v", ErrNotSimple, context.Cause(ctx))
			}
			break
		}
		var batch []int
		retry := len(alone) > 0
		if retry {
			batch, alone = alone[:1], alone[1:]
		} else {
			batch = pending[:min(len(pending), verifyBatchSize)]
		}
		var files []*os.File
		var sizes []int64
		var names []string
		var idx []int
		for _, i := range batch {
			f, err := regfile.Open(paths[i])
			var fi os.FileInfo
			if err == nil {
				fi, err = f.Stat()
				if err != nil {
					f.Close()
				}
			}
			if err != nil {
				errs[i] = err
				continue
			}
			files, sizes, idx = append(files, f), append(sizes, fi.Size()), append(idx, i)
			names = append(names, filepath.Base(paths[i]))
		}
		var got []error
		crashed := false
		if len(files) > 0 {
			got, crashed = t.verifyBatch(ctx, names, files, sizes)
		}
		for _, f := range files {
			f.Close()
		}
		for k, err := range got {
			errs[idx[k]] = err
		}
		if k := len(got) - 1; crashed && k > 0 && !retry {
			alone = append(alone, idx[k])
		}
		if !retry {
			// The files of this batch the worker did not reach go to the
			// next; those that could not be opened are done.
			next := len(batch)
			if len(got) < len(files) {
				next = slicesIndex(batch, idx[len(got)])
			}
			pending = pending[next:]
		}
	}
	return errs
}

func slicesIndex(s []int, v int) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return len(s)
}

var errFileTimeout = errors.New("a file's deadline passed")

// verifyBatch runs one verify-batch worker on files (named names, of
// sizes bytes). It returns the verdicts of the files the worker reached,
// in order: every one if it ran to the end, else those it answered and
// the failure of the one it was on (the last), with crashed true when the
// worker died or failed on it rather than overran its deadline or was
// stopped; or only those it answered, when a deadline passed just as the
// answer came (the rest are then not reached).
func (t *Transformer) verifyBatch(ctx context.Context, names []string, files []*os.File, sizes []int64) (verdicts []error, crashed bool) {
	notChecked := func(err error) []error {
		return []error{fmt.Errorf("%w: %v", ErrNotSimple, err)}
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return notChecked(err), false
	}
	defer pr.Close()
	var total time.Duration
	for _, s := range sizes {
		total += t.cfg.Timeout(0, s)
	}
	j, err := t.workerJob("verify-batch", workerOpts{Names: names}, pw, total)
	if err != nil {
		pw.Close()
		return notChecked(err), false
	}
	j.name, j.files = "the verify worker", files
	bctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// The reader times each file from the answer before it, and kills the
	// worker (through bctx) when one overruns or answers out of turn.
	var mu sync.Mutex
	var wrong error       // an answer out of turn or that does not parse
	var late atomic.Int64 // the file whose deadline passed
	late.Store(-1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer io.Copy(io.Discard, pr)
		br := bufio.NewReaderSize(pr, 64<<10)
		for i := range files {
			timer := time.AfterFunc(t.cfg.Timeout(0, sizes[i]), func() {
				late.Store(int64(i))
				cancel(errFileTimeout)
			})
			line, err := br.ReadSlice('\n')
			timer.Stop()
			if err != nil {
				if errors.Is(err, bufio.ErrBufferFull) {
					mu.Lock()
					wrong = errors.New("the worker's answer is too long")
					mu.Unlock()
					cancel(errors.New("a wrong answer"))
				}
				return
			}
			var rep verifyReply
			if err := json.Unmarshal(line, &rep); err != nil || rep.File != i {
				mu.Lock()
				wrong = fmt.Errorf("the worker answered out of turn (file %d, expected %d)", rep.File, i)
				if err != nil {
					wrong = fmt.Errorf("the worker's answer does not parse: %v", err)
				}
				mu.Unlock()
				cancel(errors.New("a wrong answer"))
				return
			}
			mu.Lock()
			verdicts = append(verdicts, replyError(rep.Error))
			mu.Unlock()
		}
	}()
	runErr := t.run(bctx, j)
	pw.Close()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if len(verdicts) == len(files) && runErr == nil && wrong == nil {
		return verdicts, false
	}
	timedOut := errors.Is(context.Cause(bctx), errFileTimeout)
	if timedOut && int(late.Load()) < len(verdicts) && ctx.Err() == nil {
		// The answer on the late file came as its deadline passed: the
		// files after it were not reached, and go to a fresh worker.
		return verdicts, false
	}
	// The worker failed on the file after its last answer; one that
	// failed after answering for all of them is taken to have failed on
	// the last (which VerifyFiles checks again alone, if it was not the
	// worker's first).
	if len(verdicts) == len(files) {
		verdicts = verdicts[:len(verdicts)-1]
	}
	k := len(verdicts)
	var why error
	switch {
	case wrong != nil:
		why, crashed = wrong, true
	case timedOut:
		why = fmt.Errorf("the verify worker took longer than %s on it (a damaged or hostile file?)", t.cfg.Timeout(0, sizes[k]).Round(time.Second))
	case ctx.Err() != nil:
		why = fmt.Errorf("the verify worker stopped: %w", context.Cause(ctx))
	case runErr != nil:
		why, crashed = runErr, true
	default:
		why, crashed = errors.New("the worker ended without a reply"), true
	}
	return append(verdicts, fmt.Errorf("%w: %v", ErrNotSimple, why)), crashed
}

// replyError is the error a worker's answer reports: Verify's own
// (ErrNotSimple and its detail) or another; nil for none.
func replyError(msg string) error {
	if msg == "" {
		return nil
	}
	if rest, ok := strings.CutPrefix(msg, ErrNotSimple.Error()+": "); ok {
		return fmt.Errorf("%w: %s", ErrNotSimple, rest)
	}
	return fmt.Errorf("%w: %s", ErrNotSimple, msg)
}
