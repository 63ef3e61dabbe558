//go:build !unix

package bundle

import (
	"io/fs"
	"os"
	"time"
)

func openFolderFd(r *os.Root) (*os.File, error) { return nil, nil }

func createIn(d *qfolder, base string) (*os.File, error) {
	return d.root.OpenFile(base, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
}

// writeSmall is writeSmallFile.
func writeSmall(d *qfolder, base string, data []byte, mode fs.FileMode, mtime time.Time) (dateErr, err error) {
	return writeSmallFile(d, base, data, mode, mtime)
}
