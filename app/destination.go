package app

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/dustin/go-humanize"

	"sluice/internal/durable"
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
	// Removable: the destination is on a removable drive.
	Removable bool
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
	d.Media, d.Removable = identify(m)
	return d, volumeSize, nil
}

// mediaOf identifies the drive holding dir, for custody records; nil when
// unknown.
func mediaOf(dir string) *custody.Media {
	m, err := media.Host.MountOf(dir)
	if err != nil {
		return nil
	}
	id, _ := identify(m)
	return id
}

// identify names the drive a mount is on, and whether it is removable.
func identify(m media.Mount) (*custody.Media, bool) {
	if drives, err := media.Host.Drives(true); err == nil {
		for _, dr := range drives {
			for _, dm := range dr.Mounts {
				if dm.Point == m.Point {
					return &custody.Media{Vendor: dr.Vendor, Model: dr.Model, Serial: dr.Serial, Filesystem: dm.FSType, FSID: dm.FSID}, dr.Removable
				}
			}
		}
	}
	return &custody.Media{Filesystem: m.FSType}, false
}

// checkReleaseDir refuses to release onto a filesystem whose driver cannot
// rename a folder with its contents (fusefat): the release is one rename.
func checkReleaseDir(dir string) error {
	if m, err := media.Host.MountOf(dir); err == nil && m.FSType == "fusefat" {
		return fmt.Errorf("cannot release onto %s (%s): its driver cannot move a folder in one step; release onto a local disk", m.Point, m.FSType)
	}
	return nil
}

// Wipe removes a released bundle from its medium and records it: the drive
// can go back into circulation without the bundle on it.
func (s *Station) Wipe(bundleDir string) error {
	b, err := bundle.Open(bundleDir)
	if b == nil {
		return fmt.Errorf("wipe: %w", err)
	}
	id := b.Envelope.ID
	released, err := s.seen(id)
	if err != nil {
		return err
	}
	if !released {
		return fmt.Errorf("bundle %s was not released here; wipe only what was released", id)
	}
	where := mediaOf(bundleDir)
	if err := os.RemoveAll(bundleDir); err != nil {
		return fmt.Errorf("wipe %s: %w", bundleDir, err)
	}
	if err := durable.SyncDir(filepath.Dir(bundleDir)); err != nil {
		return err
	}
	return s.record(custody.Record{Event: custody.EventWiped, Bundle: id, Peer: b.Envelope.Sender.Name, Media: where, Path: bundleDir, Outcome: "ok",
		Reason: "bundle removed from the medium after release"})
}
