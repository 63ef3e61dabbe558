//go:build !linux

package pdfcheck

// limitMemory has no portable equivalent of RLIMIT_DATA here: the child
// still keeps a hostile PDF away from the station's own process, and the
// deadline still applies, but its memory is bounded only by Go's soft
// limit.
func limitMemory(n int64) error { return nil }
