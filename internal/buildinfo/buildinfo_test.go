package buildinfo

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"
)

func TestReadUnstamped(t *testing.T) {
	in := Read()
	if in.Stamped || in.Version != Development {
		t.Fatalf("a test binary is not stamped, got %+v", in)
	}
	if !strings.HasPrefix(in.GoVersion, "go") {
		t.Errorf("GoVersion %q", in.GoVersion)
	}
}

func TestReadStamped(t *testing.T) {
	defer func(v, c string) { version, commit = v, c }(version, commit)
	version, commit = "1.2.3", "abc123"
	in := Read()
	if !in.Stamped || in.Version != "1.2.3" || in.Commit != "abc123" {
		t.Fatalf("got %+v", in)
	}
}

// TestExecutableID checks the ID against the file and measures the cost,
// which decides whether every command may afford it (see app/build.go).
func TestExecutableID(t *testing.T) {
	start := time.Now()
	id, err := ExecutableID()
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	b, err := os.ReadFile(Executable())
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if want := hex.EncodeToString(sum[:])[:16]; id != want {
		t.Fatalf("ExecutableID %s, want %s", id, want)
	}
	t.Logf("hashed %d MB in %s", len(b)>>20, took)
}
