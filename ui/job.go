package ui

import (
	"context"
	"sync"

	"sluice/app"
)

// job is the one long task a screen runs at a time (hashing, sealing,
// inspecting, releasing) and the Cancel that stops it.
type job struct {
	mu     sync.Mutex
	cancel context.CancelCauseFunc
}

// start begins a job and returns its context. Screens start one only when
// none runs; should one still run, it is cancelled first, so its Cancel is
// never lost.
func (j *job) start() context.Context {
	ctx, cancel := context.WithCancelCause(context.Background())
	j.mu.Lock()
	if j.cancel != nil {
		j.cancel(&app.Interrupted{By: "a new job on the same screen"})
	}
	j.cancel = cancel
	j.mu.Unlock()
	return ctx
}

// end marks the job finished.
func (j *job) end() {
	j.mu.Lock()
	if j.cancel != nil {
		j.cancel(nil)
		j.cancel = nil
	}
	j.mu.Unlock()
}

// stop cancels the running job, if any.
func (j *job) stop() {
	j.mu.Lock()
	if j.cancel != nil {
		j.cancel(&app.Interrupted{By: "the officer (Cancel)"})
	}
	j.mu.Unlock()
}

// running reports whether a job is under way.
func (j *job) running() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.cancel != nil
}
