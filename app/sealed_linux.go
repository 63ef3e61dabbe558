package app

import (
	"os"

	"golang.org/x/sys/unix"
)

// sealedFile is an anonymous file in memory (memfd) that, once sealed,
// no one can change: not this process, not another of the station's
// user through /proc, not a swap of a name in the station's home. What
// dpkg installs is read from one, so the package is the one whose hash
// was checked however long pkexec waits for an administrator.
func sealedFile(name string) (*os.File, func() error, error) {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, nil, err
	}
	f := os.NewFile(uintptr(fd), "memfd:"+name)
	seal := func() error {
		_, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_WRITE|unix.F_SEAL_SEAL)
		return err
	}
	return f, seal, nil
}
