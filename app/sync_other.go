//go:build !linux

package app

import (
	"io/fs"
	"os"
	"path/filepath"
)

// syncTree makes every file and folder under dir durable, one fsync each.
func syncTree(dir string) error {
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
