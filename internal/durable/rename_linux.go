package durable

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// RenameNoReplace renames oldpath to newpath only if newpath does not exist
// (renameat2 RENAME_NOREPLACE), atomically: a plain rename of a folder
// silently replaces an empty folder of the same name, and checking first
// leaves a window. The error wraps fs.ErrExist when newpath exists.
// Filesystems without RENAME_NOREPLACE (some FUSE drivers) fall back to a
// check, then a rename.
func RenameNoReplace(oldpath, newpath string) error {
	err := unix.Renameat2(unix.AT_FDCWD, oldpath, unix.AT_FDCWD, newpath, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EOPNOTSUPP) {
		return renameChecked(oldpath, newpath)
	}
	if err != nil {
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: err}
	}
	return nil
}
