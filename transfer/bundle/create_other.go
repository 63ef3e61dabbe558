//go:build !unix

package bundle

import "os"

func openFolderFd(r *os.Root) (*os.File, error) { return nil, nil }

func createIn(d *qfolder, base string) (*os.File, error) {
	return d.root.OpenFile(base, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
}
