package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"sluice/transfer/transform"
)

// Transformed is what Transform did with one file: its result, or why it
// was not transformed.
type Transformed struct {
	Path   string
	Result *transform.Result
	Err    error
}

// Transform runs the disarm-and-rebuild transformations (transfer/transform,
// with its default limits) on paths, standalone: no station is needed. It
// writes into out (made if missing), transforming as many files at once
// as there are cores (workers), and calls done once per file, in the
// order of paths; it returns the results in that order (each naming its
// tool and version). Files whose outputs could take the same name (the
// same name up to its first dot, in any case: notes.docx and Notes.pdf
// both become notes.pdf, on a drive that ignores case too) are
// transformed one after the other in the order given, so the first keeps
// the name and the later one is refused, as when run alone. A file not
// transformed is in its Transformed.Err and makes the returned error wrap
// ErrRejected; a Transformer that cannot start (no sandbox, no prlimit)
// is an error of its own and nothing is transformed. Once ctx ends, no
// further file is started, and every file is still reported: those not
// started with an error saying so.
func Transform(ctx context.Context, paths []string, out string, cfg transform.Config, done func(Transformed)) ([]Transformed, error) {
	t, err := transform.New(cfg)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, fmt.Errorf("cannot make the output folder: %w", err)
	}
	// Each group is the indexes of paths whose outputs could collide.
	var groups [][]int
	byKey := map[string]int{}
	for i, p := range paths {
		key := strings.ToLower(filepath.Base(p))
		key, _, _ = strings.Cut(key, ".")
		g, ok := byKey[key]
		if !ok {
			g = len(groups)
			byKey[key] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], i)
	}
	results := make([]Transformed, len(paths))
	finished := make([]bool, len(paths))
	var mu sync.Mutex
	next, failed := 0, 0
	jobs := make(chan []int)
	var wg sync.WaitGroup
	for range min(workers(), len(groups)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for g := range jobs {
				for _, i := range g {
					if ctx.Err() != nil {
						break
					}
					res, err := t.Transform(ctx, paths[i], out)
					mu.Lock()
					results[i], finished[i] = Transformed{Path: paths[i], Result: res, Err: err}, true
					if err != nil {
						failed++
					}
					for ; next < len(paths) && finished[next]; next++ {
						if done != nil {
							done(results[next])
						}
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, g := range groups {
		if ctx.Err() != nil {
			break
		}
		select {
		case jobs <- g:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	if next < len(paths) {
		// Cancelled: files of a later group may be done while an earlier
		// one was never started. Every file is reported, in order, the
		// ones not started as such, so nothing in out goes unreported.
		why := fmt.Errorf("transform %s", CancelReason(ctx))
		for ; next < len(paths); next++ {
			if !finished[next] {
				results[next] = Transformed{Path: paths[next], Err: fmt.Errorf("%s: not transformed: %w", filepath.Base(paths[next]), why)}
			}
			if done != nil {
				done(results[next])
			}
		}
		return results, why
	}
	if failed > 0 {
		return results, fmt.Errorf("%w: %d of %d files not transformed (held: nothing of them is in %s)", ErrRejected, failed, len(paths), out)
	}
	return results, nil
}
