package bundle

import "context"

// A DeviceFlush makes the reads that follow, from the files in folder dir,
// come from the medium rather than from a cache that dropping the files'
// own cached pages does not reach: a FUSE driver (exfat-fuse) reads its
// block device through the kernel's cache of the device. It returns a note
// saying why, when it could not (the reads may then come from memory), and
// an error when the medium failed.
type DeviceFlush func(dir string) (note string, err error)

// ReadBackThrough is ReadBack on a medium that may need flush first: flush
// is called with the bundle folder before any volume is read, and its note
// returned, for the caller to record with the verdict. If flush fails,
// nothing is read.
func (b *Bundle) ReadBackThrough(ctx context.Context, flush DeviceFlush) (note string, err error) {
	if flush != nil {
		if note, err = flush(b.Dir); err != nil {
			return note, err
		}
	}
	return note, b.ReadBack(ctx)
}
