// Package headbuf keeps the first bytes a child process writes to its
// stderr, where a dying tool or runtime says why, without letting a
// chatty or hostile child grow the parent's memory.
package headbuf

import (
	"strings"
	"sync"
)

// Size is how many bytes a Buffer keeps.
const Size = 4096

// Buffer is an io.Writer that keeps the first Size bytes written to it and
// drops the rest; it is safe for concurrent use (os/exec copies a child's
// stderr on a goroutine of its own).
type Buffer struct {
	mu sync.Mutex
	b  []byte
}

// Write keeps what fits and reports everything written.
func (h *Buffer) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if room := Size - len(h.b); room > 0 {
		h.b = append(h.b, p[:min(len(p), room)]...)
	}
	return len(p), nil
}

// String returns what was kept.
func (h *Buffer) String() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return string(h.b)
}

// OutOfMemory says whether what a child wrote to stderr says it ran out
// of memory under its limit: Go's "fatal error: runtime: out of memory"
// or, when the kernel refuses the runtime's next mapping first, "fatal
// error: runtime: cannot allocate memory"; a C tool's malloc failure.
// Which of Go's two a child dies with depends on where its heap stood.
func (h *Buffer) OutOfMemory() bool {
	msg := strings.ToLower(h.String())
	return strings.Contains(msg, "out of memory") || strings.Contains(msg, "cannot allocate") || strings.Contains(msg, "malloc")
}
