//go:build linux || darwin

package media

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// SpaceOf reports a mounted filesystem's size, free space and largest file.
func SpaceOf(path, fsType string) (Space, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return Space{}, fmt.Errorf("free space of %s: %w", path, err)
	}
	return Space{Size: int64(st.Blocks) * int64(st.Bsize), Free: int64(st.Bavail) * int64(st.Bsize), MaxFile: MaxFileSize(fsType)}, nil
}
