//go:build race

package pdfcheck

// raceEnabled: under the race detector the child is a race-instrumented
// test binary, whose ThreadSanitizer shadow memory counts against the
// child's RLIMIT_DATA.
const raceEnabled = true
