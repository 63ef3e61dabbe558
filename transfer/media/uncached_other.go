//go:build !linux && !darwin && !windows

package media

import "os"

func syncToDevice(f *os.File) error { return f.Sync() }

// openUncached cannot bypass the cache here: reads may come from memory.
func openUncached(path string) (*os.File, error) { return os.Open(path) }
