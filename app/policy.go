package app

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/dustin/go-humanize"

	"sluice/internal/regfile"
)

// Policy is what a receiving station accepts. It is read from policy.toml in
// the station's home, which a technician edits.
type Policy struct {
	// MaxFiles and MaxBytes bound a bundle's entries and content; checked
	// against the signed envelope before anything is decrypted.
	MaxFiles int64
	MaxBytes int64
	// MaxAge rejects stale bundles; MaxClockSkew rejects bundles dated in
	// the future by more than that.
	MaxAge       time.Duration
	MaxClockSkew time.Duration
}

const defaultPolicyText = `# Sluice receive policy: what this station accepts.
# Sizes take units (KiB, MiB, GiB, TiB); durations take h, m, s (720h is 30 days).

# Most entries (files and folders) one bundle may hold.
max_files = 200000

# Most content one bundle may hold.
max_bytes = "1 TiB"

# Reject bundles sealed longer ago than this.
max_age = "720h"

# Reject bundles dated further in the future than this (clocks disagree).
max_clock_skew = "10m"
`

// DefaultPolicy is the policy a new station starts with.
func DefaultPolicy() Policy {
	p, err := parsePolicy([]byte(defaultPolicyText))
	if err != nil {
		panic("app: default policy does not parse: " + err.Error())
	}
	return p
}

// LoadPolicy reads a policy file.
func LoadPolicy(path string) (Policy, error) {
	b, err := regfile.ReadFile(path, 1<<20)
	if err != nil {
		return Policy{}, fmt.Errorf("load policy: %w", err)
	}
	p, err := parsePolicy(b)
	if err != nil {
		return Policy{}, fmt.Errorf("policy %s: %w; fix the file or restore the default", path, err)
	}
	return p, nil
}

func parsePolicy(b []byte) (Policy, error) {
	var raw struct {
		MaxFiles     int64  `toml:"max_files"`
		MaxBytes     string `toml:"max_bytes"`
		MaxAge       string `toml:"max_age"`
		MaxClockSkew string `toml:"max_clock_skew"`
	}
	if err := decodeTOML(b, &raw); err != nil {
		return Policy{}, err
	}
	p := Policy{MaxFiles: raw.MaxFiles}
	if p.MaxFiles <= 0 {
		return p, fmt.Errorf("max_files must be positive")
	}
	n, err := humanize.ParseBytes(raw.MaxBytes)
	if err != nil || n == 0 || n > 1<<62 {
		return p, fmt.Errorf("max_bytes %q is not a size like \"64 GiB\"", raw.MaxBytes)
	}
	p.MaxBytes = int64(n)
	if p.MaxAge, err = time.ParseDuration(raw.MaxAge); err != nil || p.MaxAge <= 0 {
		return p, fmt.Errorf("max_age %q is not a duration like \"720h\"", raw.MaxAge)
	}
	if p.MaxClockSkew, err = time.ParseDuration(raw.MaxClockSkew); err != nil || p.MaxClockSkew < 0 {
		return p, fmt.Errorf("max_clock_skew %q is not a duration like \"10m\"", raw.MaxClockSkew)
	}
	return p, nil
}

// decodeTOML decodes strictly: an unknown key is an error, since a typo in a
// policy must not silently leave a default in force.
func decodeTOML(b []byte, v any) error {
	md, err := toml.NewDecoder(bytes.NewReader(b)).Decode(v)
	if err != nil {
		return err
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return fmt.Errorf("unknown setting %s", strings.Join(keys, ", "))
	}
	return nil
}
