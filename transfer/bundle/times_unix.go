//go:build unix && !linux

package bundle

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// setTime calls futimes(2) directly with whole seconds.
func setTime(f *os.File, t time.Time) error {
	tv := unix.Timeval{Sec: t.Unix()} // bundles carry whole seconds
	return unix.Futimes(int(f.Fd()), []unix.Timeval{tv, tv})
}
