// Package regfile opens files that Sluice reads from places it does not
// control (removable media, bundle folders, a station's home, paths given
// as arguments) so that nothing but a regular file is ever read: a symbolic
// link in the last component, a FIFO, a device, a socket or a directory is
// refused with an error that says what it is, and opening never blocks (a
// FIFO with no writer would block open(2) for ever).
package regfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// NotRegularError says that a path is not a regular file, and what it is.
type NotRegularError struct {
	Path string
	// Kind is "a symbolic link", "a FIFO (named pipe)", "a device",
	// "a socket" or "a folder".
	Kind string
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("%s is %s, not a regular file; Sluice reads only regular files", e.Path, e.Kind)
}

// ErrTooLarge is wrapped by ReadFile's error for a file over its limit.
var ErrTooLarge = errors.New("file is too large")

// KindOf names a file mode's type for messages: "a FIFO (named pipe)" and
// so on; "" for a regular file.
func KindOf(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return ""
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO (named pipe)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m.IsDir():
		return "a folder"
	default:
		return "a special file"
	}
}

// Open opens path for reading if, and only if, it is a regular file reached
// without following a symbolic link in its last component. It never blocks
// on a FIFO or a device. The error is a *NotRegularError for anything else,
// or an *fs.PathError.
func Open(path string) (*os.File, error) {
	f, _, err := OpenInfo(path)
	return f, err
}

// OpenInfo is Open, also returning the file's status as it was checked,
// so that a caller needs no second stat.
func OpenInfo(path string) (*os.File, fs.FileInfo, error) {
	f, err := open(path)
	if err != nil {
		return nil, nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if k := KindOf(info.Mode()); k != "" {
		f.Close()
		return nil, nil, &NotRegularError{Path: path, Kind: k}
	}
	return f, info, nil
}

// ReadSmall reads the regular file at path, opened as Open opens it, into
// buf, and closes it: the fewest system calls a small file allows (open,
// fstat, one read, close on Linux). It returns the bytes read and the size
// the file had when opened, or -1 with the error if it could not be opened
// as a regular file. Reading stops at the end of the file, when buf
// is full, or after a read that stopped short at exactly size bytes; so a
// caller that expects size bytes passes a buf one byte longer and learns
// that the file grew when n > size, without a read to find the end.
func ReadSmall(path string, buf []byte, size int64) (n int, sizeNow int64, err error) {
	return readSmall(path, buf, size)
}

// fill is ReadSmall's loop over an opened file.
func fill(r io.Reader, path string, buf []byte, size int64) (int, error) {
	n := 0
	for n < len(buf) {
		k, err := r.Read(buf[n:])
		n += k
		if err == io.EOF || k == 0 && err == nil {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("read %s: %w", path, err)
		}
		if int64(n) == size && n < len(buf) {
			return n, nil // a short read that ended at the expected size
		}
	}
	return n, nil
}

// ReadFile reads a regular file of at most max bytes (see Open). A larger
// file is an error wrapping ErrTooLarge that gives the limit.
func ReadFile(path string, max int64) ([]byte, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s: %w: more than %d bytes", path, ErrTooLarge, max)
	}
	return b, nil
}

// Check reports, without opening it, whether path is a regular file and not
// a symbolic link: for listings where opening would be too costly.
func Check(path string) (fs.FileInfo, error) {
	info, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if k := KindOf(info.Mode()); k != "" {
		return nil, &NotRegularError{Path: path, Kind: k}
	}
	return info, nil
}
