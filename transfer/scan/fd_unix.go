//go:build unix

package scan

import (
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// sendFD hands clamd the open file itself (FILDES): no copy, and clamd
// needs no right to open it.
func sendFD(uc *net.UnixConn, f *os.File) error {
	if _, err := uc.Write([]byte("zFILDES\x00")); err != nil {
		return err
	}
	rights := unix.UnixRights(int(f.Fd()))
	_, _, err := uc.WriteMsgUnix([]byte{0}, rights, nil)
	return err
}
