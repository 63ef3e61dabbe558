//go:build race

package transform

// raceEnabled: under the race detector the workers are race-instrumented
// test binaries, whose ThreadSanitizer shadow memory counts against their
// RLIMIT_DATA.
const raceEnabled = true
