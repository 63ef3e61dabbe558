package bundle

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Folders are listed concurrently, yet a tree gives the same answer every
// time: the same entries in the same order, and, when two things in it
// are refused, always the first in bundle order, named by its path.
func TestCollectConcurrentWalk(t *testing.T) {
	src := t.TempDir()
	files := map[string]string{}
	for d := range 300 {
		for f := range 5 {
			files[fmt.Sprintf("top/d%03d/sub/f%d", d, f)] = "x"
		}
	}
	writeTree(t, src, files)
	top := filepath.Join(src, "top")
	first, err := Collect([]string{top})
	if err != nil {
		t.Fatal(err)
	}
	if want := 1 + 300*2 + 300*5; len(first) != want {
		t.Fatalf("collected %d entries, want %d", len(first), want)
	}
	for i := 1; i < len(first); i++ {
		if first[i-1].Path >= first[i].Path {
			t.Fatalf("entries out of order: %s before %s", first[i-1].Path, first[i].Path)
		}
	}
	for range 5 {
		again, err := Collect([]string{top})
		if err != nil || len(again) != len(first) {
			t.Fatalf("second walk: %d entries, %v", len(again), err)
		}
		for i := range again {
			if again[i].Path != first[i].Path || again[i].OSPath != first[i].OSPath || again[i].Size != first[i].Size {
				t.Fatalf("entry %d: %+v, then %+v", i, first[i], again[i])
			}
		}
	}

	fifo := filepath.Join(top, "d150", "sub", "f2x")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	os.Symlink("f1", filepath.Join(top, "d200", "sub", "link"))
	for range 20 {
		_, err := Collect([]string{top})
		if err == nil || !strings.Contains(err.Error(), fifo) || !strings.Contains(err.Error(), "FIFO") {
			t.Fatalf("got %v, want the FIFO %s refused", err, fifo)
		}
	}
	os.Remove(fifo)
	if _, err := Collect([]string{top}); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("link deep in the tree: got %v", err)
	}
	os.Remove(filepath.Join(top, "d200", "sub", "link"))

	if os.Geteuid() == 0 {
		t.Log("running as root: an unreadable folder cannot be tested (root reads it)")
		return
	}
	locked := filepath.Join(top, "d100", "sub")
	os.Chmod(locked, 0)
	defer os.Chmod(locked, 0o755)
	if _, err := Collect([]string{top}); err == nil || !strings.Contains(err.Error(), locked) || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("unreadable folder: got %v", err)
	}
}
