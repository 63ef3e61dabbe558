// Package buildinfo says which build of Sluice is running: the version and
// commit stamped by the Makefile (-ldflags -X), the Go toolchain and the
// build flags recorded by the linker, and a short identity of the
// executable itself. `sluice version` prints it; the custody log records a
// build-changed event whenever a station is written by a different build.
//
// # Stamping
//
// `make build` (and the package and offline kit built from it) passes
//
//	-ldflags '-buildid= -X sluice/internal/buildinfo.version=V -X sluice/internal/buildinfo.commit=C'
//
// where V is the VERSION file at the repository root and C the commit
// (git rev-parse HEAD, or the COMMIT file an offline kit carries). A plain
// `go build` stamps nothing: the build says "development build" and takes
// the commit from the Go build info when the toolchain recorded one.
package buildinfo

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
)

// Set by the linker (-X); empty in a development build.
var (
	version string
	commit  string
)

// Development is the version of a build nothing stamped.
const Development = "development build"

// Info describes the running build.
type Info struct {
	// Version is the stamped version, or Development.
	Version string
	// Commit is the stamped commit, else the VCS revision the Go
	// toolchain recorded (with "+modified" for a dirty tree), else "".
	Commit string
	// Stamped is true when the Makefile stamped version and commit.
	Stamped bool
	// GoVersion is the toolchain that built the binary.
	GoVersion string
	// Settings are the build settings the linker recorded (-trimpath,
	// -ldflags, CGO_CFLAGS, GOARCH, …), in the toolchain's order.
	Settings []debug.BuildSetting
}

// Read returns the running build's description.
func Read() Info {
	in := Info{Version: version, Commit: commit, Stamped: version != "", GoVersion: runtime.Version()}
	if in.Version == "" {
		in.Version = Development
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return in
	}
	in.GoVersion = bi.GoVersion
	in.Settings = bi.Settings
	if in.Commit == "" {
		var rev, modified string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
		if rev != "" && modified == "true" {
			rev += "+modified"
		}
		in.Commit = rev
	}
	return in
}

var exe struct {
	once sync.Once
	id   string
	err  error
}

// ExecutableID returns the first 16 hex digits of the SHA-256 of the running
// executable, computed once per process (about 50 ms for Sluice's 48 MB).
// Callers that only need to know whether the build changed should compare
// the executable's size and modification time first (see app's
// build-changed record).
func ExecutableID() (string, error) {
	exe.once.Do(func() {
		exe.id, exe.err = FileID(Executable())
	})
	return exe.id, exe.err
}

// Executable is the path that opens the running executable: /proc/self/exe
// on Linux (the file itself, even if it was replaced or renamed since it
// started), else os.Executable.
func Executable() string {
	if runtime.GOOS == "linux" {
		if _, err := os.Stat("/proc/self/exe"); err == nil {
			return "/proc/self/exe"
		}
	}
	p, err := os.Executable()
	if err != nil {
		return os.Args[0]
	}
	return p
}

// FileID is ExecutableID for any file: the first 16 hex digits of its
// SHA-256.
func FileID(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("hash the running executable: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash the running executable: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}
