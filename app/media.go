package app

import (
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

// Eject unmounts the drive mounted at point and records it, with the
// drive's identity, so the log shows when the medium left the station.
func (s *Station) Eject(point string) error {
	where := mediaOf(point)
	if err := media.Eject(point); err != nil {
		return err
	}
	return s.record(custody.Record{Event: custody.EventEjected, Media: where, Path: point, Outcome: "ok"})
}
