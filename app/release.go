package app

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/BurntSushi/toml"

	"sluice/internal/durable"
	"sluice/internal/regfile"
	"sluice/transfer/custody"
)

// desktopFile holds, in a station's home, the desktop app's settings that a
// technician sets on the Station screen (or with sluice desktop): the
// folders the app releases bundles into, and whether it opens as a
// receiving kiosk. The CLI's receive --out stays for scripts, with the same
// refusals.
const desktopFile = "desktop.toml"

// Desktop is the desktop app's settings.
type Desktop struct {
	// ReleaseFolders are where the Receive screen releases bundles, in
	// order; an officer chooses among them, never a folder on a stick.
	ReleaseFolders []string `toml:"release_folders"`
	// Kiosk: the app opens full screen with only Receive and the custody
	// log, so sending and the station's settings are out of reach.
	Kiosk bool `toml:"kiosk"`
}

// DesktopSettings returns the desktop app's settings; the zero value when
// none were set.
func (s *Station) DesktopSettings() (Desktop, error) {
	var d Desktop
	b, err := regfile.ReadFile(filepath.Join(s.Home, desktopFile), 64<<10)
	if errors.Is(err, fs.ErrNotExist) {
		return d, nil
	}
	if err != nil {
		return d, fmt.Errorf("desktop settings: %w", err)
	}
	md, err := toml.NewDecoder(bytes.NewReader(b)).Decode(&d)
	if err != nil {
		return d, fmt.Errorf("%s: %w", desktopFile, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return d, fmt.Errorf("%s: unknown key %s", desktopFile, und[0])
	}
	return d, nil
}

// ReleaseFolders returns the release folders the technician set, in order;
// none when unset.
func (s *Station) ReleaseFolders() ([]string, error) {
	d, err := s.DesktopSettings()
	return d.ReleaseFolders, err
}

// CheckReleaseFolder says why dir cannot be a release folder: it must be an
// existing folder on this station's own disks (not a removable drive, not
// a filesystem that cannot rename a folder in one step).
func CheckReleaseFolder(dir string) error {
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("give the release folder as a full path (not %s)", dir)
	}
	info, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("release folder: %w", err)
	}
	if !info.IsDir() {
		return fmt.Errorf("the release folder %s is not a folder", dir)
	}
	return checkReleaseDir(dir, "")
}

// SetReleaseFolders replaces the station's release folders after checking
// each, and records the change.
func (s *Station) SetReleaseFolders(dirs []string) error {
	var clean []string
	for _, d := range dirs {
		d = filepath.Clean(strings.TrimSpace(d))
		if err := CheckReleaseFolder(d); err != nil {
			return err
		}
		clean = append(clean, d)
	}
	d, err := s.DesktopSettings()
	if err != nil {
		return err
	}
	d.ReleaseFolders = clean
	return s.saveDesktop(d, "release folders: "+strings.Join(clean, ", "))
}

// SetKiosk turns kiosk mode on or off for the desktop app's next start,
// and records the change.
func (s *Station) SetKiosk(on bool) error {
	d, err := s.DesktopSettings()
	if err != nil {
		return err
	}
	d.Kiosk = on
	what := "kiosk mode off: the desktop app opens with every screen"
	if on {
		what = "kiosk mode on: the desktop app opens full screen with only Receive and the custody log"
	}
	return s.saveDesktop(d, what)
}

func (s *Station) saveDesktop(d Desktop, what string) error {
	var buf bytes.Buffer
	buf.WriteString("# Settings of this station's desktop app; set on the Station screen or with sluice desktop.\n")
	if err := toml.NewEncoder(&buf).Encode(d); err != nil {
		return err
	}
	if err := durable.ReplaceFile(filepath.Join(s.Home, desktopFile), buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("save desktop settings: %w", err)
	}
	return s.record(custody.Record{Event: custody.EventSettingsChanged, Outcome: "ok", Reason: what})
}
