package custody

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestVerifyStopsItsWorkers(t *testing.T) {
	s := newStation(t, "st")
	path := filepath.Join(t.TempDir(), "custody.log")
	l := s.open(t, path)
	fill(t, l, 5000)
	l.Close()
	lines := readLines(t, path)
	lines[1] = strings.Replace(lines[1], `"b1"`, `"bX"`, 1)
	writeLines(t, path, lines)
	base := runtime.NumGoroutine()
	for range 20 {
		if r := verify(t, s, path, nil); r.OK() {
			t.Fatal("tampered log verified")
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base {
		t.Fatalf("%d goroutines left running after early verdicts (%d before)", n, base)
	}
}
