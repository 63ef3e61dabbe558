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

// releaseFile holds, in a station's home, the folders its desktop app
// releases into: a technician sets them once on the Station screen, and an
// officer chooses among them, never a folder on a stick (the CLI's --out
// stays for scripts, with the same refusals).
const releaseFile = "release.toml"

// ReleaseFolders returns the release folders the technician set, in order;
// none when unset.
func (s *Station) ReleaseFolders() ([]string, error) {
	b, err := regfile.ReadFile(filepath.Join(s.Home, releaseFile), 64<<10)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("release folders: %w", err)
	}
	var cfg struct {
		Folders []string `toml:"folders"`
	}
	md, err := toml.NewDecoder(bytes.NewReader(b)).Decode(&cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", releaseFile, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, fmt.Errorf("%s: unknown key %s", releaseFile, und[0])
	}
	return cfg.Folders, nil
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
	var buf bytes.Buffer
	buf.WriteString("# Folders this station's desktop app releases bundles into; set on the Station screen.\n")
	if err := toml.NewEncoder(&buf).Encode(struct {
		Folders []string `toml:"folders"`
	}{clean}); err != nil {
		return err
	}
	if err := durable.ReplaceFile(filepath.Join(s.Home, releaseFile), buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("save release folders: %w", err)
	}
	return s.record(custody.Record{Event: custody.EventSettingsChanged, Outcome: "ok",
		Reason: "release folders: " + strings.Join(clean, ", ")})
}
