//go:build !linux

package durable

import (
	"io/fs"
	"os"
	"path/filepath"
)

// SyncTree makes every file and folder under dir durable, one fsync each.
func SyncTree(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return f.Sync()
	})
}
