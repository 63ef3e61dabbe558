package app

import (
	"context"
	"fmt"
	"os"

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
// writes into out (made if missing) and calls done after each file, in
// order; it returns the results (each naming its tool and version). A
// file not transformed is in its Transformed.Err and makes the returned
// error wrap ErrRejected; a Transformer that cannot start (no sandbox,
// no prlimit) is an error of its own and nothing is transformed.
func Transform(ctx context.Context, paths []string, out string, cfg transform.Config, done func(Transformed)) ([]Transformed, error) {
	t, err := transform.New(cfg)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, fmt.Errorf("cannot make the output folder: %w", err)
	}
	var all []Transformed
	failed := 0
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return all, fmt.Errorf("transform %s", CancelReason(ctx))
		}
		res, err := t.Transform(ctx, p, out)
		r := Transformed{Path: p, Result: res, Err: err}
		if err != nil {
			failed++
		}
		all = append(all, r)
		if done != nil {
			done(r)
		}
	}
	if failed > 0 {
		return all, fmt.Errorf("%w: %d of %d files not transformed (held: nothing of them is in %s)", ErrRejected, failed, len(paths), out)
	}
	return all, nil
}
