// Package progress reports a long job's progress the way restic's archiver
// does: workers add to an atomic counter, and one ticker goroutine reports
// it about ten times a second, so a front end never gets a call per read.
package progress

import (
	"sync/atomic"
	"time"
)

// Interval is how often Tick reports.
const Interval = 100 * time.Millisecond

// Tick calls fn(done.Load(), total) every Interval from one goroutine, and
// once more when stop is called; stop returns after that last call. A nil fn
// reports nothing.
func Tick(fn func(done, total int64), done *atomic.Int64, total int64) (stop func()) {
	if fn == nil {
		return func() {}
	}
	quit, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(Interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				fn(done.Load(), total)
			case <-quit:
				fn(done.Load(), total)
				return
			}
		}
	}()
	return func() { close(quit); <-finished }
}
