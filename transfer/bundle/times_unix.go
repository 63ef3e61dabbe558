//go:build unix && !linux

package bundle

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// setTime calls futimes(2) directly with whole seconds.
func setTime(f *os.File, t time.Time) error { return setTimeFd(int(f.Fd()), t) }

// setTimeFd is setTime on a bare descriptor.
func setTimeFd(fd int, t time.Time) error {
	tv := unix.Timeval{Sec: t.Unix()} // bundles carry whole seconds
	return unix.Futimes(fd, []unix.Timeval{tv, tv})
}
