//go:build !linux

package bundle

import "os"

// dropCache cannot drop cached pages here; read-back may come from memory.
func dropCache(f *os.File) {}
