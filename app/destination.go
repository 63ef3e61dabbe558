package app

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/dustin/go-humanize"

	"sluice/internal/durable"
	"sluice/internal/safetext"
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

// sealPlan is how a bundle will be cut for its destination.
type sealPlan struct {
	dest       Destination
	volumeSize int64
	// perDrive > 0: the bundle spans drives holding this many volumes.
	perDrive int
}

// planDestination finds the filesystem under dir, refuses one that is
// read-only, picks a volume size the filesystem can hold when none was
// asked for (FAT32: 4 GiB − 1 byte), and, when the bundle will not fit,
// either refuses or (canSpan) plans to spread it over several drives like
// this one.
func planDestination(dir string, srcs []bundle.Source, volumeSize int64, canSpan bool) (sealPlan, error) {
	p := sealPlan{volumeSize: volumeSize}
	d, err := inspectDestination(dir)
	if err != nil || d.Mount.Point == "" {
		return p, err
	}
	p.dest = d
	sp := d.Space
	if sp.MaxFile > 0 && (volumeSize == 0 || volumeSize > sp.MaxFile) {
		p.volumeSize = sp.MaxFile
	}
	// Some FUSE filesystems (fusefat) report no sizes at all: then only
	// the write itself can tell.
	need := payloadEstimate(srcs)
	if sp.Size == 0 || need <= sp.Free {
		return p, nil
	}
	if !canSpan {
		return p, fmt.Errorf("the destination %s has %s free but the bundle needs about %s; free space, choose a larger drive, or spread the bundle over several drives (sluice pack --span)",
			d.Mount.Point, humanize.IBytes(uint64(sp.Free)), humanize.IBytes(uint64(need)))
	}
	room := shareRoom(sp.Free)
	if room < minShare {
		return p, fmt.Errorf("the destination %s has only %s free, too little to hold a share of a bundle; free space or choose a larger drive",
			d.Mount.Point, humanize.IBytes(uint64(sp.Free)))
	}
	vs := p.volumeSize
	if vs == 0 || vs > room {
		// As few volumes per drive as the file-size limit allows, of
		// equal size, filling the drive.
		limit := room
		if sp.MaxFile > 0 {
			limit = min(limit, sp.MaxFile)
		}
		k := (room + limit - 1) / limit
		vs, p.perDrive = room/k, int(k)
	} else {
		p.perDrive = int(room / vs)
	}
	if need/vs+1 > bundle.MaxVolumes {
		return p, fmt.Errorf("spreading %s over drives of %s would take more than %d volumes; use larger drives or a larger volume size",
			humanize.IBytes(uint64(need)), humanize.IBytes(uint64(sp.Free)), bundle.MaxVolumes)
	}
	p.volumeSize = vs
	return p, nil
}

// minShare is the least room a drive must offer to hold part of a bundle.
const minShare = 64 << 10

// shareRoom is how much of free space a drive's share of a spanning bundle
// may take: the rest is left for the envelope, its signature, the label
// and the filesystem's own rounding.
func shareRoom(free int64) int64 { return free - free/64 - 1<<20 }

// freeFor is the least free space whose shareRoom holds share: what a
// drive must offer, as told to the officer and as checked.
func freeFor(share int64) int64 { return ((share+1<<20)*64 + 62) / 63 }

// inspectDestination finds the filesystem under dir, its space and drive,
// and refuses a read-only one. With no mount table it returns a zero
// Destination and no error: there is nothing more to check.
func inspectDestination(dir string) (Destination, error) {
	var d Destination
	m, err := media.Host.MountOf(dir)
	if err != nil {
		return d, nil
	}
	if m.ReadOnly {
		return d, fmt.Errorf("the destination %s is mounted read-only; unlock the drive or choose another", m.Point)
	}
	sp, err := media.SpaceOf(dir, m.FSType)
	if err != nil {
		return d, err
	}
	d.Mount, d.Space = m, sp
	d.Media, d.Removable = identify(m)
	return d, nil
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

// dropDeviceCache is media.DropDeviceCache as the bundle read-back takes
// it: not reaching the medium is a note on the verdict, not a failure.
func dropDeviceCache(dir string) (string, error) {
	err := media.DropDeviceCache(dir)
	if errors.Is(err, media.ErrCacheOnly) {
		return err.Error(), nil
	}
	return "", err
}

// checkReleaseDir refuses a release folder that would put decrypted
// content where it does not belong: inside the bundle being received or
// the folder it is read from, or on a removable drive (content marked for
// this station would leave on the stick). It also refuses a filesystem
// whose driver cannot rename a folder with its contents (fusefat): the
// release is one rename.
func checkReleaseDir(dir, src string) error {
	real, err := resolveExisting(dir)
	if err != nil {
		return fmt.Errorf("release folder: %w", err)
	}
	if src != "" {
		// The bundle's own folder, or anywhere under the folder it is read
		// from (a stick's root, a diode inbox).
		if within(real, filepath.Dir(src)) {
			return fmt.Errorf("cannot release into %s: it is the bundle's own folder or the folder it is read from; choose a folder on this station", safetext.Line(dir))
		}
	}
	// A folder other users may write (without the sticky bit that stops
	// them renaming what is not theirs) would let one swap the quarantine
	// beside it before the release rename.
	if info, err := os.Stat(real); err == nil && info.Mode().Perm()&0o022 != 0 && info.Mode()&os.ModeSticky == 0 {
		return fmt.Errorf("cannot release into %s: other users may write to it (mode %04o) without the sticky bit; use a folder only this station's user can write", safetext.Line(dir), info.Mode().Perm())
	}
	m, err := media.Host.MountOf(real)
	if err != nil {
		return nil
	}
	if m.FSType == "fusefat" {
		return fmt.Errorf("cannot release onto %s (%s): its driver cannot move a folder in one step; release onto a local disk", m.Point, m.FSType)
	}
	if _, removable := identify(m); removable {
		return fmt.Errorf("cannot release onto %s: it is a removable drive; release onto this station's own disk", m.Point)
	}
	return nil
}

// resolveExisting resolves the links of the longest part of p that exists
// and appends the rest: where p is, or would be once created.
func resolveExisting(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	rest := ""
	for cur := abs; ; cur = filepath.Dir(cur) {
		if real, err := filepath.EvalSymlinks(cur); err == nil {
			return filepath.Join(real, rest), nil
		}
		if cur == filepath.Dir(cur) {
			return abs, nil
		}
		rest = filepath.Join(filepath.Base(cur), rest)
	}
}

// within reports whether path is dir or inside it (both cleaned, links
// resolved by the caller).
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// Wipe removes a released bundle from its medium and records what was
// really done: the drive can go back into circulation without the bundle on
// it. Only a folder that is verifiably that bundle is removed: its real
// path is found without following links off the medium, its envelope must
// be signed by the trusted sender it names, and the bundle must have been
// released here; with want set, its id must be want. Removal goes through
// an os.Root on the folder's parent, so nothing outside it can be reached.
// A wipe that fails part-way says so in the error and in a "wiped" record
// with outcome "failed".
func (s *Station) Wipe(bundleDir, want string) error {
	dir, err := ResolveMediaPath(bundleDir)
	if err != nil {
		return fmt.Errorf("wipe: %w", err)
	}
	info, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("wipe: %w", err)
	}
	if !info.IsDir() {
		return fmt.Errorf("wipe: %s is not a bundle folder", safetext.Line(bundleDir))
	}
	b, err := bundle.OpenPart(dir) // a drive of a spanning bundle holds part of it
	if err != nil {
		return fmt.Errorf("wipe: %w", err)
	}
	id := b.Envelope.ID
	if want != "" && id != want {
		return fmt.Errorf("wipe: %s holds bundle %s, not %s; nothing was wiped", safetext.Line(bundleDir), id, want)
	}
	c, ok, err := s.Trusted(b.Envelope.Sender.Name)
	if err != nil {
		return err
	}
	if !ok || b.VerifySignature(c.SigningKey) != nil {
		return fmt.Errorf("wipe: %s is not a bundle signed by a trusted station; nothing was wiped", safetext.Line(bundleDir))
	}
	released, err := s.seen(id)
	if err != nil {
		return err
	}
	if !released {
		return fmt.Errorf("bundle %s was not released here; wipe only what was released", id)
	}
	where := mediaOf(dir)
	rec := custody.Record{Event: custody.EventWiped, Bundle: id, Peer: b.Envelope.Sender.Name, Media: where, Path: dir, Outcome: "ok",
		Reason: "bundle removed from the medium after release"}
	parent, err := os.OpenRoot(filepath.Dir(dir))
	if err == nil {
		err = parent.RemoveAll(filepath.Base(dir))
		parent.Close()
	}
	if err == nil {
		err = durable.SyncDir(filepath.Dir(dir))
	}
	if err != nil {
		rec.Outcome = "failed"
		rec.Reason = "wiping the bundle from the medium failed part-way: " + err.Error()
		if _, serr := os.Lstat(dir); errors.Is(serr, fs.ErrNotExist) {
			rec.Reason = "the bundle folder was removed, but the medium could not confirm it is written: " + err.Error()
		}
		if lerr := s.record(rec); lerr != nil {
			return errors.Join(fmt.Errorf("wipe %s: %w", dir, err), lerr)
		}
		return fmt.Errorf("wipe %s: %w; what remains is on the medium", safetext.Line(dir), err)
	}
	return s.record(rec)
}
