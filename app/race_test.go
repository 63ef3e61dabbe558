//go:build race

package app

// raceEnabled: under the race detector the PDF checker's child is a
// race-instrumented test binary, whose ThreadSanitizer shadow memory
// counts against the child's RLIMIT_DATA.
const raceEnabled = true
