package regfile

import (
	"sync"

	"golang.org/x/sys/unix"
)

// noDevices says whether no one but root can have put a device node in
// the folder open as fd: its filesystem is mounted nodev (where a device
// node fails to open), or it is the filesystem holding "/", the system
// disk, where making one needs CAP_MKNOD in the initial user namespace,
// which only root has (and root is trusted with the station anyway). A
// drive, or any filesystem mounted without nodev other than the system
// disk, gets false.
func noDevices(fd int) bool {
	var fs unix.Statfs_t
	if unix.Fstatfs(fd, &fs) == nil && fs.Flags&unix.ST_NODEV != 0 {
		return true
	}
	var st unix.Stat_t
	root, ok := rootDev()
	return ok && unix.Fstat(fd, &st) == nil && st.Dev == root
}

// rootDev is the device of the filesystem holding "/".
var rootDev = sync.OnceValues(func() (uint64, bool) {
	var st unix.Stat_t
	if err := unix.Stat("/", &st); err != nil {
		return 0, false
	}
	return st.Dev, true
})
