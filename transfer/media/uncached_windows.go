package media

import (
	"os"

	"golang.org/x/sys/windows"
)

// syncToDevice flushes f to the device (FlushFileBuffers).
func syncToDevice(f *os.File) error { return f.Sync() }

// openUncached opens path for unbuffered reads (FILE_FLAG_NO_BUFFERING),
// which come from the device; offsets, sizes and buffers must be
// sector-aligned, as Check's are.
func openUncached(path string) (*os.File, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, err
	}
	h, err := windows.CreateFile(p, windows.GENERIC_READ, windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL|windows.FILE_FLAG_NO_BUFFERING, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(h), path), nil
}
