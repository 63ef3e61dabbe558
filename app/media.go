package app

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"sluice/internal/regfile"
	"sluice/transfer/bundle"
	"sluice/transfer/custody"
	"sluice/transfer/media"
)

// BundleIDAt returns the id that the envelope in dir gives, or "" if dir
// holds no readable envelope. It proves nothing: callers that act on a
// bundle verify it.
func BundleIDAt(dir string) string {
	b, err := bundle.OpenPart(dir)
	if b == nil || b.Envelope == nil {
		return ""
	}
	_ = err // a bundle with a volume missing still names itself
	return b.Envelope.ID
}

// FindBundles lists the bundle folders (with an envelope.json) at dir and
// one level below, as a drive holds them. A folder or envelope that is a
// symbolic link, or not a regular file, is not listed: nothing on a drive
// may lead Sluice off it.
func FindBundles(dir string) []string {
	var out []string
	for _, pattern := range []string{"*" + bundle.DirSuffix, filepath.Join("*", "*"+bundle.DirSuffix)} {
		m, _ := filepath.Glob(filepath.Join(dir, pattern))
		for _, d := range m {
			if strings.HasPrefix(filepath.Base(d), ".") {
				continue
			}
			if info, err := os.Lstat(d); err != nil || !info.IsDir() {
				continue
			}
			if parent, err := os.Lstat(filepath.Dir(d)); err != nil || parent.Mode()&os.ModeSymlink != 0 {
				continue
			}
			if _, err := regfile.Check(filepath.Join(d, bundle.EnvelopeName)); err == nil {
				out = append(out, d)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Junk is a folder on a drive that looks like a bundle but is not one that
// a trusted station signed.
type Junk struct {
	Dir string
	// Why is one line: what is wrong with it.
	Why string
}

// Screen splits bundle folders found on a drive into those signed by a
// trusted station, which a receive checks and records one by one, and junk:
// an unreadable envelope, a bad signature, an unknown signer. Junk gets one
// custody record for the whole drive (RecordJunk), so a stick of 2,000 fake
// bundles cannot flood the log.
func (s *Station) Screen(dirs []string) (bundles []string, junk []Junk) {
	for _, d := range dirs {
		b, err := bundle.OpenPart(d)
		if b == nil || b.Envelope == nil {
			junk = append(junk, Junk{d, err.Error()})
			continue
		}
		var subj subject
		s.attribute(&subj, b)
		if subj.id == "" {
			junk = append(junk, Junk{d, fmt.Sprintf("not signed by a station this kiosk trusts (it names %s)", b.Envelope.Sender.Name)})
			continue
		}
		bundles = append(bundles, d)
	}
	return bundles, junk
}

// maxJunkListed bounds how many junk folders one record names.
const maxJunkListed = 10

// RecordJunk writes one "rejected" record for all the junk found on the
// drive at point, naming the first few folders and why.
func (s *Station) RecordJunk(point string, junk []Junk) error {
	if len(junk) == 0 {
		return nil
	}
	var parts []string
	for i, j := range junk {
		if i == maxJunkListed {
			parts = append(parts, fmt.Sprintf("and %d more", len(junk)-i))
			break
		}
		why := j.Why
		if len(why) > 200 {
			why = why[:200] + "…"
		}
		parts = append(parts, fmt.Sprintf("%s (%s)", filepath.Base(j.Dir), why))
	}
	return s.record(custody.Record{Event: custody.EventRejected, Media: mediaOf(point), Path: point, Outcome: "rejected",
		Reason: fmt.Sprintf("the drive holds %d folder(s) that are not bundles from a trusted station: %s", len(junk), strings.Join(parts, "; "))})
}

// Eject unmounts the drive mounted at point (and powers it off where
// udisks2 runs) and records it, with the drive's identity, so the log shows
// when the medium left the station. It says what was done.
func (s *Station) Eject(point string) (string, error) {
	where := mediaOf(point)
	how, err := media.Eject(point)
	if err != nil {
		return "", err
	}
	return how, s.record(custody.Record{Event: custody.EventEjected, Media: where, Path: point, Outcome: "ok", Reason: how})
}

// FreshDrive returns the mount point of the one writable removable drive
// inserted that does not hold bundle id yet: the drive an officer just
// inserted for the next share of a bundle that spans drives.
func FreshDrive(id string) (string, error) {
	drives, err := media.Host.Drives(false)
	if err != nil {
		return "", err
	}
	var points []string
	for _, d := range drives {
		for _, m := range d.Mounts {
			if _, err := os.Stat(filepath.Join(m.Point, id+bundle.DirSuffix)); m.ReadOnly || err == nil {
				continue
			}
			points = append(points, m.Point)
		}
	}
	switch len(points) {
	case 0:
		return "", fmt.Errorf("no writable removable drive without bundle %s is mounted; insert one, or type the folder to write to", id)
	case 1:
		return points[0], nil
	}
	return "", fmt.Errorf("%d removable drives could take it (%s); type the mount point of the one to use", len(points), strings.Join(points, ", "))
}
