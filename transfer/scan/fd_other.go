//go:build !unix

package scan

import (
	"net"
	"os"
)

// sendFD streams the file where descriptors cannot be passed.
func sendFD(uc *net.UnixConn, f *os.File) error { return sendStream(uc, f) }
