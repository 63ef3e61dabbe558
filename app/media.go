package app

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"sluice/transfer/bundle"
	"sluice/transfer/custody"
	"sluice/transfer/media"
)

// FindBundles lists the complete bundle folders (with an envelope.json) at
// the top of dir and one folder below, as a kiosk looks for them on an
// inserted drive.
func FindBundles(dir string) []string {
	var out []string
	for _, pattern := range []string{"*" + bundle.DirSuffix, filepath.Join("*", "*"+bundle.DirSuffix)} {
		m, _ := filepath.Glob(filepath.Join(dir, pattern))
		for _, d := range m {
			if _, err := os.Stat(filepath.Join(d, bundle.EnvelopeName)); err == nil && !strings.HasPrefix(filepath.Base(d), ".") {
				out = append(out, d)
			}
		}
	}
	sort.Strings(out)
	return out
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
