//go:build unix

package app

import (
	"os"
	"syscall"
)

// deviceOf returns the filesystem id of the file at path (not following a
// last link).
func deviceOf(path string) (uint64, error) {
	info, err := os.Lstat(path)
	if err != nil {
		return 0, err
	}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev), nil
	}
	return 0, nil
}

// ownedByMe reports whether the file belongs to this process's user.
func ownedByMe(info os.FileInfo) bool {
	st, ok := info.Sys().(*syscall.Stat_t)
	return !ok || int(st.Uid) == os.Getuid()
}

// fileID returns the device and inode of path (not following a last
// link), or zeros.
func fileID(path string) (dev, ino uint64) {
	info, err := os.Lstat(path)
	if err != nil {
		return 0, 0
	}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev), uint64(st.Ino)
	}
	return 0, 0
}
