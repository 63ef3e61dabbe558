package regfile

import "golang.org/x/sys/unix"

// mountedNodev says whether the folder open as fd is on a filesystem
// mounted nodev.
func mountedNodev(fd int) bool {
	var st unix.Statfs_t
	return unix.Fstatfs(fd, &st) == nil && st.Flags&unix.ST_NODEV != 0
}
