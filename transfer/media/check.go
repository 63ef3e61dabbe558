package media

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
	"unsafe"
)

// CheckResult is what Check measured.
type CheckResult struct {
	Bytes      int64
	WriteSpeed float64 // bytes per second, including fsync
	ReadSpeed  float64 // bytes per second, from the device
	// Fake is set when blocks read back are not the blocks written: the
	// drive reports more capacity than it has (it wraps around), or
	// corrupts data.
	Fake     bool
	BadBlock int64
	// CacheOnly, when set, says why the blocks may have been read back
	// from memory rather than from the drive (see DropDeviceCache): the
	// check then proves nothing about the drive.
	CacheOnly string
}

// ErrBadDrive is wrapped when a drive does not give back what was written.
var ErrBadDrive = errors.New("the drive does not give back what was written")

// ErrCacheOnly is wrapped when what is read back after writing may come
// from a cache in memory rather than from the drive, so it does not show
// what the drive holds.
var ErrCacheOnly = errors.New("read back through the page cache only")

const checkBlock = 1 << 20

// Check writes size bytes to a test file on the mounted drive at point,
// flushes them to the device, reads them back bypassing the cache (Linux:
// the cached pages are dropped, and under a FUSE driver the device's own
// cache too, see DropDeviceCache; Windows: unbuffered reads; macOS: reads
// with F_NOCACHE, best effort) and compares. Every
// 1 MiB block carries its own number and a per-run random tag, so a drive
// that wraps around (claiming more capacity than it has) or returns stale
// data is caught in the tested range. The test file is removed afterwards.
// When the read-back cannot be made to reach the drive, the result's
// CacheOnly says why.
func Check(ctx context.Context, point string, size int64) (CheckResult, error) {
	res := CheckResult{Bytes: size / checkBlock * checkBlock}
	if res.Bytes == 0 {
		return res, fmt.Errorf("check at least 1 MiB")
	}
	var tag [16]byte
	rand.Read(tag[:])
	path := filepath.Join(point, fmt.Sprintf(".sluice-check-%x", tag[:4]))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return res, fmt.Errorf("check %s: cannot write a test file: %w", point, err)
	}
	defer os.Remove(path)
	defer f.Close()
	block := make([]byte, checkBlock)
	fill := func(n int64) { fillBlock(block, tag, n) }
	start := time.Now()
	for n := int64(0); n < res.Bytes/checkBlock; n++ {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		fill(n)
		if _, err := f.Write(block); err != nil {
			return res, fmt.Errorf("check %s: write failed after %d MiB: %w", point, n, err)
		}
	}
	if err := syncToDevice(f); err != nil {
		return res, fmt.Errorf("check %s: flush failed: %w", point, err)
	}
	res.WriteSpeed = float64(res.Bytes) / time.Since(start).Seconds()
	if err := DropDeviceCache(point); errors.Is(err, ErrCacheOnly) {
		res.CacheOnly = err.Error()
	} else if err != nil {
		return res, fmt.Errorf("check %s: %w", point, err)
	}
	r, err := openUncached(path)
	if err != nil {
		return res, fmt.Errorf("check %s: cannot reopen the test file: %w", point, err)
	}
	defer r.Close()
	start = time.Now()
	got := alignedBlock(checkBlock)
	for n := int64(0); n < res.Bytes/checkBlock; n++ {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if _, err := io.ReadFull(io.NewSectionReader(r, n*checkBlock, checkBlock), got); err != nil {
			return res, fmt.Errorf("check %s: read back failed at %d MiB: %w", point, n, err)
		}
		fill(n)
		if string(got) != string(block) {
			res.Fake, res.BadBlock = true, n
			return res, fmt.Errorf("%w: block %d of %s read back wrong (a fake-capacity or failing drive); do not use it", ErrBadDrive, n, point)
		}
	}
	res.ReadSpeed = float64(res.Bytes) / time.Since(start).Seconds()
	return res, nil
}

// alignedBlock returns n bytes starting on a 4 KiB boundary, as unbuffered
// reads need on some systems (Windows).
func alignedBlock(n int) []byte {
	const align = 4096
	b := make([]byte, n+align)
	off := int(align-uintptr(unsafe.Pointer(&b[0]))%align) % align
	return b[off : off+n : off+n]
}

// fillBlock writes block n's pattern: every 64 bytes hold the run's tag,
// the block number and the offset, so no two blocks (of this run or an
// earlier one) are alike and a wrapped-around read is told apart.
func fillBlock(block []byte, tag [16]byte, n int64) {
	for off := 0; off < len(block); off += 64 {
		copy(block[off:], tag[:])
		binary.LittleEndian.PutUint64(block[off+16:], uint64(n))
		binary.LittleEndian.PutUint64(block[off+24:], uint64(off))
	}
}
