//go:build !unix

package diode

// freeSpace is not known on this platform.
func freeSpace(dir string) (int64, bool) { return 0, false }
