// Package app holds the station and the use-cases both front ends call:
// create a station, manage trust, pack, inspect and receive bundles. The CLI
// (package cli) and the GUI (package ui) hold no logic of their own; they
// parse input, call these, and show the result.
package app

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"time"

	"sluice/crypto"
	"sluice/internal/durable"
	"sluice/internal/regfile"
	"sluice/transfer/bundle"
	"sluice/transfer/custody"
)

// Files in a station's home directory.
const (
	stationFile  = "station.toml"
	identityFile = "identity.age"
	signingFile  = "signing.key"
	cardFile     = "card.txt"
	trustDir     = "trust"
	policyFile   = "policy.toml"
	custodyFile  = "custody.log"
	seenFile     = "seen-bundles" // the replay list of stations made before seenDir
	seenDir      = "seen"
)

// ErrRejected is wrapped by every error that means a bundle (or a card, or a
// log) was refused on its merits, as opposed to an environment failure.
var ErrRejected = bundle.ErrRejected

// ErrNoStation is returned when the home directory holds no station.
var ErrNoStation = errors.New("no station here")

// Station is a loaded station: its name, keys, policy, trust store and
// custody file.
type Station struct {
	Home string
	Name string
	// Role is "" for a station, crypto.RoleRelease for a release key's
	// home (ReleaseKeygen), which signs updates and nothing else.
	Role   string
	Keys   *crypto.StationKeys
	Policy Policy
	// InitNote is what Init has to tell the technician (no malware
	// scanner found), or "".
	InitNote string
	// CustodyPath is the custody log; see custody.go for how records are
	// appended.
	CustodyPath string
	// Officer names who acts, for custody records. It defaults to the OS
	// user; AsOfficer sets it to an officer who signed in.
	Officer string
	// signedIn is the officer who signed in to act (AsOfficer), if any.
	signedIn *SignedIn
}

// DefaultHome returns the default station directory: sluice under the
// user's config directory.
func DefaultHome() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find the config directory: %w; pass --home DIR", err)
	}
	return filepath.Join(dir, "sluice"), nil
}

// Init creates a new station in home. It refuses to touch a home that
// already holds one. With pq, the station's age identity is post-quantum
// hybrid.
func Init(home, name string, pq bool) (*Station, error) { return initStation(home, name, pq, "") }

func initStation(home, name string, pq bool, role string) (*Station, error) {
	if err := crypto.ValidName(name); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(home, stationFile)); err == nil {
		return nil, fmt.Errorf("a station already exists in %s; refusing to overwrite it (use another --home)", home)
	}
	for _, f := range []string{identityFile, signingFile} {
		if _, err := os.Stat(filepath.Join(home, f)); err == nil {
			return nil, fmt.Errorf("%s already holds %s; refusing to overwrite keys (use another --home)", home, f)
		}
	}
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, fmt.Errorf("create station directory: %w", err)
	}
	if err := os.Chmod(home, 0o700); err != nil {
		return nil, fmt.Errorf("create station directory: %w", err)
	}
	keys, err := crypto.GenerateStationKeys(pq)
	if err != nil {
		return nil, err
	}
	sk, err := keys.MarshalSigningKey(name)
	if err != nil {
		return nil, err
	}
	policyText, scanNote := initialPolicyText()
	pol, err := parsePolicy([]byte(policyText))
	if err != nil {
		return nil, fmt.Errorf("app: initial policy does not parse: %w", err)
	}
	s := &Station{Home: home, Name: name, Role: role, Keys: keys, Policy: pol, CustodyPath: filepath.Join(home, custodyFile), Officer: osUser(), InitNote: scanNote}
	meta := fmt.Appendf(nil, "# Sluice station\nname = %q\ncreated = %q\n", name, time.Now().UTC().Format(time.RFC3339))
	if role != "" {
		meta = fmt.Appendf(meta, "role = %q\n", role)
		s.InitNote = ""
	}
	files := []struct {
		name string
		data []byte
		mode fs.FileMode
	}{
		{identityFile, keys.MarshalIdentity(), 0o600},
		{signingFile, sk, 0o600},
		{cardFile, s.Card().Marshal(), 0o644},
		{policyFile, []byte(policyText), 0o644},
		// station.toml last: its presence means the station is complete.
		{stationFile, meta, 0o644},
	}
	if err := os.MkdirAll(filepath.Join(home, trustDir), 0o700); err != nil {
		return nil, fmt.Errorf("create trust store: %w", err)
	}
	for _, f := range files {
		if err := durable.ReplaceFile(filepath.Join(home, f.name), f.data, f.mode); err != nil {
			return nil, err
		}
	}
	if err := s.record(custody.Record{Event: custody.EventStationCreated, Outcome: "ok",
		Reason: "signing key " + keys.Card(name).SigningFingerprint() + ", recipient " + crypto.RecipientFingerprint(keys.Recipient)}); err != nil {
		return nil, err
	}
	// The log's first build-changed record, naming the build that made
	// the station, follows station-created (OpenCustody writes it).
	l, err := s.OpenCustody()
	if err != nil {
		return nil, err
	}
	l.Close()
	return s, nil
}

// Load opens the station in home.
func Load(home string) (*Station, error) {
	meta, err := regfile.ReadFile(filepath.Join(home, stationFile), 1<<20)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w in %s: run sluice init --name NAME first (or pass --home)", ErrNoStation, home)
	}
	if err != nil {
		return nil, fmt.Errorf("load station: %w", err)
	}
	var st struct {
		Name    string `toml:"name"`
		Created string `toml:"created"`
		Role    string `toml:"role"`
	}
	if err := decodeTOML(meta, &st); err != nil {
		return nil, fmt.Errorf("load station: %s: %w", stationFile, err)
	}
	id, err := readSecret(filepath.Join(home, identityFile))
	if err != nil {
		return nil, err
	}
	sk, err := readSecret(filepath.Join(home, signingFile))
	if err != nil {
		return nil, err
	}
	keys, err := crypto.LoadStationKeys(id, sk)
	if err != nil {
		return nil, fmt.Errorf("load station keys: %w", err)
	}
	pol, err := LoadPolicy(filepath.Join(home, policyFile))
	if err != nil {
		return nil, err
	}
	if st.Role != "" && st.Role != crypto.RoleRelease {
		return nil, fmt.Errorf("load station: %s names an unknown role %q", stationFile, st.Role)
	}
	return &Station{Home: home, Name: st.Name, Role: st.Role, Keys: keys, Policy: pol, CustodyPath: filepath.Join(home, custodyFile), Officer: osUser()}, nil
}

// readSecret reads a key file and refuses one that others can read.
func readSecret(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("load station keys: %w", err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s is readable by others (mode %04o); run chmod 600 %s", path, info.Mode().Perm(), path)
	}
	b, err := regfile.ReadFile(path, 1<<20)
	if err != nil {
		return nil, fmt.Errorf("load station keys: %w", err)
	}
	return b, nil
}

// Card returns this station's public card.
func (s *Station) Card() crypto.Card {
	c := s.Keys.Card(s.Name)
	c.Role = s.Role
	return c
}

func osUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "unknown"
}

// AsOfficer returns a copy of the station acting for officer o, who
// signed in (SignIn): its records name them, and decisions that need an
// officer once officers are enrolled (release or reject after review,
// sealing under require_seal_approvals) are allowed. With o nil the copy
// acts for the OS user. A front end takes the copy on its own thread
// before starting a job, so a later sign-out or policy change does not
// race with the job.
func (s *Station) AsOfficer(o *SignedIn) *Station {
	c := *s
	c.Officer, c.signedIn = osUser(), nil
	if o != nil {
		c.Officer, c.signedIn = o.Name, o
	}
	return &c
}

// needOfficer refuses a decision no signed-in officer makes, once
// officers are enrolled: then every decision is attributable to one.
func (s *Station) needOfficer(what string) error {
	if s.signedIn != nil {
		// Still enrolled, with the key they signed in with.
		o, err := s.officer(s.signedIn.Name)
		if err != nil || string(o.Key.Marshal()) != string(s.signedIn.Key.Marshal()) {
			return fmt.Errorf("officer %s is not enrolled on this station any more; another officer signs in to %s", s.signedIn.Name, what)
		}
		return nil
	}
	list, err := s.Officers()
	if err != nil {
		return err
	}
	if len(list) > 0 {
		return fmt.Errorf("officers are enrolled on this station: an officer signs in to %s (--officer NAME, or Sign in on the desktop)", what)
	}
	return nil
}

// ReloadPolicy reads policy.toml again after it changed on disk (sluice
// policy install, or a technician's editor). On a mistake the policy in
// force stays, and the error says what is wrong.
func (s *Station) ReloadPolicy() error {
	p, err := LoadPolicy(filepath.Join(s.Home, policyFile))
	if err != nil {
		return err
	}
	s.Policy = p
	return nil
}
