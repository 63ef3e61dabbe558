//go:build !unix

package app

import (
	"os"
	"path/filepath"
)

// deviceOf tells filesystems apart by volume name (the drive letter).
func deviceOf(path string) (uint64, error) {
	var h uint64
	for _, c := range filepath.VolumeName(path) {
		h = h*31 + uint64(c)
	}
	return h, nil
}

// ownedByMe cannot tell here; folders on Windows carry ACLs instead.
func ownedByMe(os.FileInfo) bool { return true }

// fileID cannot name a folder here beyond its existence.
func fileID(path string) (dev, ino uint64) {
	if _, err := os.Lstat(path); err != nil {
		return 0, 0
	}
	return 1, 1
}
