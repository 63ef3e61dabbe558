//go:build !linux

package media

// DropDeviceCache has nothing to do here: the platform's own uncached
// reads (see openUncached) are all there is.
func DropDeviceCache(path string) error { return nil }
