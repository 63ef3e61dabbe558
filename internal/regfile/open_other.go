//go:build !unix

package regfile

import "os"

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
