package app

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/dustin/go-humanize"

	"sluice/internal/regfile"
	"sluice/transfer/inspect"
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
	// Content is what every file is checked for before release.
	Content inspect.Rules
	// MayOverride are the reasons a file is held that an officer may
	// release it despite; PartialRelease lets an officer release the files
	// that passed and keep the held ones in quarantine.
	MayOverride    []string
	PartialRelease bool
}

const defaultPolicyText = `# Sluice receive policy: what this station accepts.
# Sizes take units (KiB, MiB, GiB, TiB); durations take h, m, s (720h is 30 days).
# sluice policy show prints the policy in force; sluice policy check FILE checks a draft.

# Most entries (files and folders) one bundle may hold.
max_files = 200000

# Most content one bundle may hold.
max_bytes = "1 TiB"

# Reject bundles sealed longer ago than this.
max_age = "720h"

# Reject bundles dated further in the future than this (clocks disagree).
max_clock_skew = "10m"

# Every file is judged by its content before release; a bundle with a file
# held by any check waits for an officer's review (sluice review) and is
# not released. Families: document, image, text, markup, archive, audio,
# video, font, executable, script, shortcut, disk-image, data.
[content]
# Families held, judged by content, never by name.
block = ["executable", "script", "shortcut", "disk-image"]
# When not empty, only these families pass.
allow = []
# Hold a file whose name and content disagree (a program named report.txt,
# a PDF named notes.dat, a PNG that ends with a ZIP).
check_extensions = true
# Hold deceptive names (invoice.pdf.exe, runs of spaces hiding an extension).
check_names = true
# Hold documents with macros, scripts, embedded objects or PDF actions, and
# encrypted documents, whose content cannot be checked.
check_active_content = true

# Archives are opened and every member checked like a file, within limits
# checked before expanding; an archive past one is held as not-checked.
[archives]
max_depth = 2
max_entries = 10000
max_expanded = "2 GiB"
max_ratio = 100

[review]
# Reasons a file is held that an officer may release it despite:
# blocked-type, type-not-allowed, type-mismatch, deceptive-name,
# active-content, not-checked.
may_override = ["type-mismatch", "deceptive-name", "active-content", "not-checked"]
# Let an officer release the files that passed and keep the held ones.
partial_release = false
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

// rawPolicy is policy.toml as written. Settings a file leaves out keep
// the defaults it is filled with before decoding, so a policy written
// before a setting existed still loads.
type rawPolicy struct {
	MaxFiles     int64  `toml:"max_files"`
	MaxBytes     string `toml:"max_bytes"`
	MaxAge       string `toml:"max_age"`
	MaxClockSkew string `toml:"max_clock_skew"`
	Content      struct {
		Block              []string `toml:"block"`
		Allow              []string `toml:"allow"`
		CheckExtensions    bool     `toml:"check_extensions"`
		CheckNames         bool     `toml:"check_names"`
		CheckActiveContent bool     `toml:"check_active_content"`
	} `toml:"content"`
	Archives struct {
		MaxDepth    int     `toml:"max_depth"`
		MaxEntries  int     `toml:"max_entries"`
		MaxExpanded string  `toml:"max_expanded"`
		MaxRatio    float64 `toml:"max_ratio"`
	} `toml:"archives"`
	Review struct {
		MayOverride    []string `toml:"may_override"`
		PartialRelease bool     `toml:"partial_release"`
	} `toml:"review"`
}

func defaultRaw() rawPolicy {
	var r rawPolicy
	r.MaxFiles, r.MaxBytes, r.MaxAge, r.MaxClockSkew = 200000, "1 TiB", "720h", "10m"
	r.Content.Block = slices.Clone(inspect.DefaultBlock)
	r.Content.Allow = []string{}
	r.Content.CheckExtensions, r.Content.CheckNames, r.Content.CheckActiveContent = true, true, true
	r.Archives.MaxDepth, r.Archives.MaxEntries, r.Archives.MaxExpanded, r.Archives.MaxRatio = 2, 10000, "2 GiB", 100
	r.Review.MayOverride = []string{inspect.ReasonTypeMismatch, inspect.ReasonDeceptiveName, inspect.ReasonActiveContent, inspect.ReasonNotChecked}
	return r
}

func parsePolicy(b []byte) (Policy, error) {
	raw := defaultRaw()
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
	c := raw.Content
	for key, list := range map[string][]string{"content.block": c.Block, "content.allow": c.Allow} {
		for _, f := range list {
			if !slices.Contains(inspect.Families, f) {
				return p, fmt.Errorf("%s: %q is not a type family; families are %s", key, f, strings.Join(inspect.Families, ", "))
			}
		}
	}
	for _, f := range c.Allow {
		if slices.Contains(c.Block, f) {
			return p, fmt.Errorf("content: %q is both allowed and blocked; keep it in one list", f)
		}
	}
	a := raw.Archives
	if a.MaxDepth < 0 || a.MaxEntries < 0 || a.MaxRatio < 0 {
		return p, fmt.Errorf("archives: limits cannot be negative")
	}
	exp, err := humanize.ParseBytes(a.MaxExpanded)
	if err != nil || exp > 1<<62 {
		return p, fmt.Errorf("archives.max_expanded %q is not a size like \"2 GiB\"", a.MaxExpanded)
	}
	p.Content = inspect.Rules{Block: c.Block, Allow: c.Allow, Extensions: c.CheckExtensions, Names: c.CheckNames,
		ActiveContent: c.CheckActiveContent,
		Archives:      inspect.ArchiveLimits{MaxDepth: a.MaxDepth, MaxEntries: a.MaxEntries, MaxExpanded: int64(exp), MaxRatio: a.MaxRatio}}
	for _, r := range raw.Review.MayOverride {
		if !slices.Contains(inspect.Reasons, r) {
			return p, fmt.Errorf("review.may_override: %q is not a reason a file is held; reasons are %s", r, strings.Join(inspect.Reasons, ", "))
		}
	}
	p.MayOverride, p.PartialRelease = raw.Review.MayOverride, raw.Review.PartialRelease
	return p, nil
}

// CheckPolicy validates a draft policy file without installing it.
func CheckPolicy(path string) (Policy, error) { return LoadPolicy(path) }

// Text writes the policy in force as policy.toml, every setting filled in.
func (p Policy) Text() string {
	var b strings.Builder
	q := func(xs []string) string {
		out := make([]string, len(xs))
		for i, x := range xs {
			out[i] = strconv.Quote(x)
		}
		return "[" + strings.Join(out, ", ") + "]"
	}
	fmt.Fprintf(&b, "max_files = %d\nmax_bytes = %q\nmax_age = %q\nmax_clock_skew = %q\n\n", p.MaxFiles,
		humanize.IBytes(uint64(p.MaxBytes)), p.MaxAge, p.MaxClockSkew)
	c := p.Content
	fmt.Fprintf(&b, "[content]\nblock = %s\nallow = %s\ncheck_extensions = %t\ncheck_names = %t\ncheck_active_content = %t\n\n",
		q(c.Block), q(c.Allow), c.Extensions, c.Names, c.ActiveContent)
	a := c.Archives
	fmt.Fprintf(&b, "[archives]\nmax_depth = %d\nmax_entries = %d\nmax_expanded = %q\nmax_ratio = %g\n\n",
		a.MaxDepth, a.MaxEntries, humanize.IBytes(uint64(a.MaxExpanded)), a.MaxRatio)
	fmt.Fprintf(&b, "[review]\nmay_override = %s\npartial_release = %t\n", q(p.MayOverride), p.PartialRelease)
	return b.String()
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
