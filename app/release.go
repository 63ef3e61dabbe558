package app

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"sluice/internal/durable"
	"sluice/internal/regfile"
	"sluice/transfer/custody"
	"sluice/transfer/diode"
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
	// Diode is the station's data-diode link, if it has one.
	Diode DiodeSettings `toml:"diode"`
}

// DiodeSettings are a station's data-diode link as the desktop app uses
// it: where Send sends (SendTo, at Rate with Parity), and where the
// Receive screen listens and keeps what arrives (Listen, Inbox). Empty
// fields: that side is not used.
type DiodeSettings struct {
	SendTo string `toml:"send_to"` // HOST:PORT
	Rate   string `toml:"rate"`    // "800M"
	Parity string `toml:"parity"`  // "20%"
	Listen string `toml:"listen"`  // HOST:PORT
	Inbox  string `toml:"inbox"`   // a folder on the station's own disk
}

// SetDiode checks and saves the station's diode link (recorded).
func (s *Station) SetDiode(ds DiodeSettings) error {
	if ds.SendTo != "" {
		if _, err := net.ResolveUDPAddr("udp", ds.SendTo); err != nil {
			return fmt.Errorf("diode: send to %q: give HOST:PORT (%v)", ds.SendTo, err)
		}
		if _, err := ParseRate(ds.Rate); err != nil {
			return err
		}
		if _, err := ParseParity(ds.Parity); err != nil {
			return err
		}
	}
	if (ds.Listen == "") != (ds.Inbox == "") {
		return errors.New("diode: to receive, give both the address to listen on and the inbox folder")
	}
	if ds.Listen != "" {
		if _, err := net.ResolveUDPAddr("udp", ds.Listen); err != nil {
			return fmt.Errorf("diode: listen on %q: give HOST:PORT (%v)", ds.Listen, err)
		}
		if !filepath.IsAbs(ds.Inbox) {
			return fmt.Errorf("diode: the inbox %q must be a full path", ds.Inbox)
		}
		ds.Inbox = filepath.Clean(ds.Inbox)
	}
	d, err := s.DesktopSettings()
	if err != nil {
		return err
	}
	d.Diode = ds
	return s.saveDesktop(d, fmt.Sprintf("diode link: send to %q at %s with %s parity; listen on %q into %q", ds.SendTo, ds.Rate, ds.Parity, ds.Listen, ds.Inbox))
}

// ParseRate reads a link rate in bit/s: "800M", "1G", "1.5G", "250k", or
// a number; "" is diode.DefaultRate.
func ParseRate(s string) (int64, error) {
	t := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSpace(s), "bit/s"), "bps")
	if t == "" {
		return diode.DefaultRate, nil
	}
	mult := 1.0
	switch {
	case strings.HasSuffix(t, "k") || strings.HasSuffix(t, "K"):
		mult, t = 1e3, t[:len(t)-1]
	case strings.HasSuffix(t, "M"):
		mult, t = 1e6, t[:len(t)-1]
	case strings.HasSuffix(t, "G"):
		mult, t = 1e9, t[:len(t)-1]
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f*mult < 1e3 || f*mult > 1e11 {
		return 0, fmt.Errorf("rate %q: give a rate in bit/s between 1k and 100G, like 800M or 1G", s)
	}
	return int64(f * mult), nil
}

// ParseParity reads the parity sent per pass as a share of the data:
// "20%" or "0.2"; "" is the default (diode.DefaultOverhead). No parity
// ("0%") is returned as -1, as diode.SendOptions takes it.
func ParseParity(s string) (float64, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, nil
	}
	div := 1.0
	if strings.HasSuffix(t, "%") {
		t, div = strings.TrimSuffix(t, "%"), 100
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f < 0 || f/div > 1 {
		return 0, fmt.Errorf("parity %q: give a share of the data between 0%% and 100%%, like 20%%", s)
	}
	if f == 0 {
		return -1, nil
	}
	return f / div, nil
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
