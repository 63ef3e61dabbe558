package app

import (
	"fmt"

	"github.com/dustin/go-humanize"

	"sluice/transfer/bundle"
	"sluice/transfer/custody"
	"sluice/transfer/media"
)

// Destination is what Pack learned about where a bundle goes.
type Destination struct {
	Mount media.Mount
	Space media.Space
	// Media identifies the drive, for custody records; nil when unknown.
	Media *custody.Media
}

// payloadEstimate is an upper bound of a bundle's payload for srcs: the
// content, two tar blocks of header and padding per entry, age's 16 bytes
// per 64 KiB chunk, and room for the manifest and trailer.
func payloadEstimate(srcs []bundle.Source) int64 {
	var n int64 = 1 << 20
	for _, s := range srcs {
		n += s.Size + 1536 + 256
	}
	return n + n/4096
}

// checkDestination finds the filesystem under dir, refuses one that is
// read-only or too small, and picks a volume size the filesystem can hold
// when none was asked for (FAT32: 4 GiB − 1 byte).
func checkDestination(dir string, srcs []bundle.Source, volumeSize int64) (Destination, int64, error) {
	var d Destination
	m, err := media.Host.MountOf(dir)
	if err != nil {
		return d, volumeSize, nil // no mount table here: nothing more to check
	}
	d.Mount = m
	if m.ReadOnly {
		return d, 0, fmt.Errorf("the destination %s is mounted read-only; unlock the drive or choose another", m.Point)
	}
	sp, err := media.SpaceOf(dir, m.FSType)
	if err != nil {
		return d, 0, err
	}
	d.Space = sp
	// Some FUSE filesystems (fusefat) report no sizes at all: then only
	// the write itself can tell.
	if need := payloadEstimate(srcs); sp.Size > 0 && need > sp.Free {
		return d, 0, fmt.Errorf("the destination %s has %s free but the bundle needs about %s; free space or choose a larger drive",
			m.Point, humanize.IBytes(uint64(sp.Free)), humanize.IBytes(uint64(need)))
	}
	if sp.MaxFile > 0 && (volumeSize == 0 || volumeSize > sp.MaxFile) {
		volumeSize = sp.MaxFile
	}
	if drives, err := media.Host.Drives(true); err == nil {
		for _, dr := range drives {
			for _, dm := range dr.Mounts {
				if dm.Point == m.Point {
					d.Media = &custody.Media{Vendor: dr.Vendor, Model: dr.Model, Serial: dr.Serial, Filesystem: dm.FSType, FSID: dm.FSID}
				}
			}
		}
	}
	if d.Media == nil {
		d.Media = &custody.Media{Filesystem: m.FSType}
	}
	return d, volumeSize, nil
}
