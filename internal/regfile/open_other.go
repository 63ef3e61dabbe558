//go:build !unix

package regfile

import (
	"errors"
	"os"
	"path/filepath"
)

// open checks the path before opening it: Windows has no FIFOs a file
// name can reach, and os.Lstat sees reparse points as links.
func open(path string) (*os.File, error) {
	if _, err := Check(path); err != nil {
		return nil, err
	}
	return os.Open(path)
}

func readSmall(path string, buf []byte, size int64) (int, int64, error) {
	f, info, err := OpenInfo(path)
	if err != nil {
		return 0, -1, err
	}
	defer f.Close()
	n, err := fill(f, path, buf, size)
	return n, info.Size(), err
}

// Dir is a folder whose files are read by name; elsewhere than Unix it
// only remembers the folder's path.
type Dir struct{ path string }

// OpenDir checks that path is a folder.
func OpenDir(path string) (*Dir, error) {
	info, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return nil, &os.PathError{Op: "open", Path: path, Err: errors.New("not a folder")}
	}
	return &Dir{path: path}, nil
}

// ReadSmall is ReadSmall of the file called name in d.
func (d *Dir) ReadSmall(name string, buf []byte, size int64) (n int, sizeNow int64, err error) {
	return readSmall(filepath.Join(d.path, name), buf, size)
}

// ReadSmallStaged is ReadSmall.
func (d *Dir) ReadSmallStaged(name string, buf []byte, size int64) (n int, sizeNow int64, err error) {
	return d.ReadSmall(name, buf, size)
}

// Close does nothing.
func (d *Dir) Close() error { return nil }
