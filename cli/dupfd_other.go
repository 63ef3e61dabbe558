//go:build !unix

package cli

// dupFD returns fd itself where descriptors cannot be duplicated here.
func dupFD(fd int) (int, error) { return fd, nil }
