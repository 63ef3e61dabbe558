//go:build sluicebench

package app

import "os"

// The bench's build only: SLUICE_BENCH_SKIP_CONTENT_CHECKS=1 receives
// without the content checks, to measure their cost (internal/bench).
func init() { skipContentChecks = os.Getenv("SLUICE_BENCH_SKIP_CONTENT_CHECKS") == "1" }
