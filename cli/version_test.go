package cli

import (
	"runtime"
	"strings"
	"testing"
)

// TestVersion: an unstamped build (a test binary) says so, with the Go
// toolchain, a build ID and the build flags.
func TestVersion(t *testing.T) {
	r := mustRun(t, "", "version")
	for _, want := range []string{"sluice development build\n", "go:        " + runtime.Version() + "\n", "build id:  ", "build flags:\n", "  GOOS=" + runtime.GOOS + "\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("sluice version lacks %q:\n%s", want, r.stdout)
		}
	}
	if r := run(t, "", "version", "extra"); r.code != ExitUsage {
		t.Errorf("sluice version extra: exit %d, want %d", r.code, ExitUsage)
	}
}
