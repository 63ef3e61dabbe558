package bundle

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// setTime calls utimensat(2) on the descriptor with whole seconds (x/sys's
// Futimes goes through nanoseconds and wraps after 2262). Kernels that
// refuse AT_EMPTY_PATH there get the file's /proc/self/fd path instead.
func setTime(f *os.File, t time.Time) error { return setTimeFd(int(f.Fd()), t) }

// setTimeFd is setTime on a bare descriptor.
func setTimeFd(fd int, t time.Time) error {
	ts := []unix.Timespec{{Sec: t.Unix()}, {Sec: t.Unix()}}
	err := unix.UtimesNanoAt(fd, "", ts, unix.AT_EMPTY_PATH)
	if err == unix.EINVAL || err == unix.ENOENT {
		err = unix.UtimesNanoAt(unix.AT_FDCWD, fmt.Sprintf("/proc/self/fd/%d", fd), ts, 0)
	}
	return err
}
