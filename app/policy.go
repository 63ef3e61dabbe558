package app

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/BurntSushi/toml"
	"github.com/dustin/go-humanize"

	"sluice/crypto"
	"sluice/internal/durable"
	"sluice/internal/regfile"
	"sluice/internal/safetext"
	"sluice/transfer/bundle"
	"sluice/transfer/custody"
	"sluice/transfer/inspect"
	"sluice/transfer/scan"
	"sluice/transfer/transform"
)

// Policy is what a receiving station accepts. It is read from policy.toml in
// the station's home, which a technician edits.
type Policy struct {
	// MaxFiles and MaxBytes bound a bundle's entries and content, sealed
	// originals (Envelope.Originals) counted in both; checked against the
	// signed envelope before anything is decrypted.
	MaxFiles int64
	MaxBytes int64
	// MaxFileSize and MaxPathDepth bound each file's size and each
	// entry's depth (folders in its path, the file's name included);
	// checked against the signed manifest, before the content checks.
	MaxFileSize  int64
	MaxPathDepth int
	// Destinations restrict release folders to senders: a bundle from a
	// sender the most specific rule for its release folder does not name
	// is refused before anything is decrypted. Folders under no rule take
	// any trusted sender.
	Destinations []DestinationRule
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
	// RequireApprovals is how many different officers must sign a release
	// after review, once officers are enrolled (sluice officer add).
	RequireApprovals int
	// RequireSealApprovals is how many different officers, none of them
	// the one sealing, must sign their approval of the staged files before
	// this station seals them (0: none). Data leaving a protected network
	// is reviewed by someone other than its author (issue 12; NIST 800-53
	// AC-4(26), the two-person rule of AC-3(2)).
	RequireSealApprovals int
	// Scan is how files are scanned for malware.
	Scan ScanPolicy
	// Transform is where risky content is rebuilt into a simple form.
	Transform TransformPolicy
}

// Where a kind of content is transformed (TransformPolicy's fields).
const (
	// TransformSender: the sending station transforms before sealing and
	// the kiosk verifies the simple form; a file of the kind that comes
	// as it was is held (not-transformed). The UK NCSC import pattern:
	// transform on the untrusted side, verify on the trusted side.
	TransformSender = "sender"
	// TransformKiosk: the kiosk transforms in quarantine before release;
	// the original stays in the kiosk's quarantine of originals.
	TransformKiosk = "kiosk"
	// TransformBoth: the sender transforms, the kiosk verifies and
	// transforms again.
	TransformBoth = "both"
	TransformOff  = "off"
)

// TransformPolicy is the policy's [transform] (issue 14; transfer/transform).
type TransformPolicy struct {
	// Documents (PDF, office: a PDF of page images), Images (a fresh PNG
	// or JPEG) and Text (UTF-8 without control characters): each one of
	// TransformSender, TransformKiosk, TransformBoth or TransformOff.
	Documents, Images, Text string
	// DPI renders pages; MaxPixels bounds an image or a page.
	DPI       int
	MaxPixels int64
	// OCR is "" (off) or a tesseract language list ("eng", "eng+deu"):
	// the station that transforms documents gives each page a text layer
	// (transform.Config.OCR).
	OCR string
	// SealOriginals, on a kiosk, accepts the originals of the files its
	// senders transformed sealed in the bundle's originals part (kept in
	// HOME/sealed-originals/<id>/, never released); a sender seals them
	// when every recipient's policy (its copy) says so. Off, a bundle that
	// carries them is refused before decryption (issue 14: "also sealed,
	// in a separate originals part only if policy allows").
	SealOriginals bool
}

// ocrHere checks that this station can read the languages of the OCR the
// policy asks of it, when it transforms documents where (TransformKiosk
// for its own policy, TransformSender for a recipient's copy).
func (t TransformPolicy) ocrHere(where string) error {
	if t.OCR == "" || t.Documents != where && t.Documents != TransformBoth {
		return nil
	}
	if err := transform.CheckOCR(t.OCR); err != nil {
		return fmt.Errorf("transform.ocr: %v; this station transforms documents and reads their text", err)
	}
	return nil
}

// forAction is where the kind of content a transformation action
// handles is transformed, TransformOff for one the policy does not name.
func (t TransformPolicy) forAction(a string) string {
	var m string
	switch a {
	case "pdf-of-images":
		m = t.Documents
	case "re-encode-image":
		m = t.Images
	case "clean-text":
		m = t.Text
	}
	if m == "" {
		return TransformOff
	}
	return m
}

// any says whether any kind is transformed somewhere.
func (t TransformPolicy) any() bool {
	for _, m := range []string{t.Documents, t.Images, t.Text} {
		if m != "" && m != TransformOff {
			return true
		}
	}
	return false
}

// DestinationRule is one [[destination]] of the policy: the senders whose
// bundles may be released into Folder or below it.
type DestinationRule struct {
	Folder  string   `toml:"folder"`
	Senders []string `toml:"senders"`
}

// ScanPolicy says which malware scanners every file must pass.
type ScanPolicy struct {
	// Required: every file must be scanned clean by every engine; off: no
	// scan, which the Receive screen and every release record say.
	Required bool
	// Clamd is ClamAV's daemon: a Unix socket path or host:port; empty
	// to run clamscan once per bundle instead.
	Clamd    string
	Clamscan string // the clamscan program, "" for the one on PATH
	Database string // clamscan's signature folder, "" for its own
	Timeout  time.Duration
	// MaxSignatureAge holds every file as not-scanned when the scanner's
	// signatures are older than this (0: no limit).
	MaxSignatureAge time.Duration
	// PassNotScanned are the causes (scan.Causes) for which a file that
	// was not scanned passes instead of being held; recorded either way.
	PassNotScanned []string
	Hooks          []ScanHook
}

// ScanHook is a site's own scanner, run once per file.
type ScanHook struct {
	Name     string        `toml:"name"`
	Command  []string      `toml:"command"`
	Clean    []int         `toml:"clean"`
	Infected []int         `toml:"infected"`
	Timeout  time.Duration `toml:"-"`
	RawTime  string        `toml:"timeout"`
}

const defaultPolicyText = `# Sluice receive policy: what this station accepts.
# Sizes take units (KiB, MiB, GiB, TiB); durations take h, m, s (720h is 30 days).
# sluice policy show prints the policy in force; sluice policy check FILE checks a draft.

# Most entries (files and folders) one bundle may hold, and most content,
# the originals sealed beside transformed files (seal_originals) counted.
max_files = 200000
max_bytes = "1 TiB"

# Largest single file, and deepest path (folders and name) of an entry.
max_file_size = "1 TiB"
max_path_depth = 32

# Reject bundles sealed longer ago than this.
max_age = "720h"

# Reject bundles dated further in the future than this (clocks disagree).
max_clock_skew = "10m"

# Only the senders named may release into a folder or below it; folders no
# rule names take any trusted sender. One [[destination]] per folder:
# [[destination]]
# folder = "/srv/imports/finance"
# senders = ["finance-gateway"]

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
# active-content, not-checked, not-transformed (a document or image the
# sender should have transformed), not-simple (marked transformed, but
# not in the simple form: a sender that lies), transform-failed.
may_override = ["type-mismatch", "deceptive-name", "active-content", "not-checked", "not-transformed"]
# Let an officer release the files that passed and keep the held ones.
partial_release = false
# Once officers are enrolled (sluice officer add), how many different ones
# must sign their approval of a release after review (sluice review approve).
require_approvals = 1
# Sending: how many officers other than the one sealing must approve the
# staged files (sluice pack --approver NAME) before this station seals them.
require_seal_approvals = 0

# Malware scanning. Three verdicts, never two: clean, infected, or not
# scanned (over a limit, encrypted, engine down); only clean passes.
[scan]
# "required": every file must be scanned clean by every engine below.
# "off": no malware scan; the Receive screen warns and every release
# record says "not scanned: no scanner configured".
mode = "off"
# ClamAV's daemon: its Unix socket, or host:port. It must alert on what it
# cannot scan (AlertExceedsMax, AlertEncrypted, AlertEncryptedArchive,
# AlertEncryptedDoc, AlertOLE2Macros, AlertBrokenExecutables yes).
# "station": the station runs its own clamd with those settings, on a
# socket in its home, signatures from database below (or ClamAV's own).
# Leave empty to run clamscan once per bundle instead.
clamd = ""
# clamscan's program ("" for the one on PATH) and signature folder ("" for its own).
clamscan = ""
database = ""
# Longest one file's scan (clamd) or one bundle's (clamscan) may take.
timeout = "10m"
# Hold everything as not scanned when the signatures are older than this
# ("" for no limit). Offline sites fall behind; the officer sees how far.
max_signature_age = ""
# Files not scanned are held for review, whatever the cause; list the
# causes for which they pass instead (recorded in the release record):
# over-limit, encrypted, timeout, outdated-signatures, engine-error,
# unsupported.
pass_not_scanned = []

# Risky content is rebuilt into a simple form before it is released: a
# document (PDF, Word, Excel, PowerPoint, OpenDocument) into a PDF holding
# only an image of each page, an image into a fresh PNG or JPEG without
# metadata, text into UTF-8 without control characters. The original
# crosses only if seal_originals (below) says so. For each kind, where:
# "sender" (the sending station transforms before sealing, this station
# verifies the simple form and holds a file of that kind that arrives as
# it was: transform on the untrusted side, verify on the trusted side),
# "kiosk" (this station transforms before release and keeps the original
# in quarantine), "both", or "off".
# A sending station follows a kiosk's copy of this policy (sluice policy import).
[transform]
documents = "sender"
images = "sender"
text = "off"
# Pages are rendered at this resolution; an image or page larger than
# max_pixels is not transformed (a decompression bomb), and is held.
dpi = 150
max_pixels = 100000000
# ocr = "eng" (or "eng+deu", tesseract language names joined by "+") keeps
# rebuilt documents searchable: the station that transforms documents
# reads each page with tesseract and adds its words as invisible text
# (standard Helvetica; words in other scripts in a font without glyphs
# whose codes are Unicode); a page tesseract fails on keeps no text.
# Needs tesseract-ocr and tesseract-ocr-LANG for each language on that
# station. "" is off.
ocr = ""
# seal_originals = true has senders also seal the originals of what they
# transformed, in the bundle's originals part, for the officer here to
# compare: kept in the station's home (sealed-originals/<bundle id>/),
# never released. false keeps them with the sender, and a bundle that
# carries them is refused. A sender seals them only when every recipient
# of the bundle allows it.
seal_originals = false

# A site's other engine, run on every file; all engines must say clean.
# [[scanner]]
# name = "second-engine"
# command = ["/opt/av/bin/scan", "{}"]
# clean = [0]
# infected = [1]
# timeout = "60s"
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
	MaxFiles     int64             `toml:"max_files"`
	MaxBytes     string            `toml:"max_bytes"`
	MaxAge       string            `toml:"max_age"`
	MaxClockSkew string            `toml:"max_clock_skew"`
	MaxFileSize  string            `toml:"max_file_size"`
	MaxPathDepth int               `toml:"max_path_depth"`
	Destination  []DestinationRule `toml:"destination"`
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
		MayOverride          []string `toml:"may_override"`
		PartialRelease       bool     `toml:"partial_release"`
		RequireApprovals     int      `toml:"require_approvals"`
		RequireSealApprovals int      `toml:"require_seal_approvals"`
	} `toml:"review"`
	Scan struct {
		Mode            string   `toml:"mode"`
		Clamd           string   `toml:"clamd"`
		Clamscan        string   `toml:"clamscan"`
		Database        string   `toml:"database"`
		Timeout         string   `toml:"timeout"`
		MaxSignatureAge string   `toml:"max_signature_age"`
		PassNotScanned  []string `toml:"pass_not_scanned"`
	} `toml:"scan"`
	Scanner   []ScanHook `toml:"scanner"`
	Transform struct {
		Documents string `toml:"documents"`
		Images    string `toml:"images"`
		Text      string `toml:"text"`
		DPI       int    `toml:"dpi"`
		MaxPixels int64  `toml:"max_pixels"`
		OCR       string `toml:"ocr"`
		// SealOriginals is "seal_originals".
		SealOriginals bool `toml:"seal_originals"`
	} `toml:"transform"`
}

func defaultRaw() rawPolicy {
	var r rawPolicy
	r.MaxFiles, r.MaxBytes, r.MaxAge, r.MaxClockSkew = 200000, "1 TiB", "720h", "10m"
	r.MaxFileSize, r.MaxPathDepth = "1 TiB", 32
	r.Content.Block = slices.Clone(inspect.DefaultBlock)
	r.Content.Allow = []string{}
	r.Content.CheckExtensions, r.Content.CheckNames, r.Content.CheckActiveContent = true, true, true
	r.Archives.MaxDepth, r.Archives.MaxEntries, r.Archives.MaxExpanded, r.Archives.MaxRatio = 2, 10000, "2 GiB", 100
	r.Review.MayOverride = []string{inspect.ReasonTypeMismatch, inspect.ReasonDeceptiveName, inspect.ReasonActiveContent, inspect.ReasonNotChecked,
		inspect.ReasonNotTransformed}
	r.Scan.Mode, r.Scan.Timeout = "off", "10m"
	r.Review.RequireApprovals = 1
	r.Transform.Documents, r.Transform.Images, r.Transform.Text = TransformSender, TransformSender, TransformOff
	r.Transform.DPI, r.Transform.MaxPixels = 150, 100_000_000
	return r
}

// parsePolicy parses and checks a policy.toml. Its errors are one line
// whatever the file holds: the TOML parser and the checks quote what they
// could not accept, which may hold a line break (FuzzParsePolicy).
func parsePolicy(b []byte) (Policy, error) {
	p, err := parsePolicySettings(b)
	if err != nil {
		return p, lineError{err}
	}
	return p, nil
}

// lineError is err with its message on one line (safetext.Line), still
// wrapping err.
type lineError struct{ err error }

func (e lineError) Error() string { return safetext.Line(e.err.Error()) }
func (e lineError) Unwrap() error { return e.err }

func parsePolicySettings(b []byte) (Policy, error) {
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
	if n, err = humanize.ParseBytes(raw.MaxFileSize); err != nil || n == 0 || n > 1<<62 {
		return p, fmt.Errorf("max_file_size %q is not a size like \"4 GiB\"", raw.MaxFileSize)
	}
	p.MaxFileSize = int64(n)
	if p.MaxPathDepth = raw.MaxPathDepth; p.MaxPathDepth < 1 {
		return p, fmt.Errorf("max_path_depth must be at least 1, not %d", raw.MaxPathDepth)
	}
	for i, d := range raw.Destination {
		switch {
		case d.Folder == "" || !filepath.IsAbs(d.Folder):
			return p, fmt.Errorf("destination %d: folder %q must be a full path", i+1, d.Folder)
		case len(d.Senders) == 0:
			return p, fmt.Errorf("destination %s: name the senders allowed to release there (senders = [\"NAME\"])", d.Folder)
		}
		for _, name := range d.Senders {
			if err := crypto.ValidName(name); err != nil {
				return p, fmt.Errorf("destination %s: %w", d.Folder, err)
			}
		}
		d.Folder = filepath.Clean(d.Folder)
		p.Destinations = append(p.Destinations, d)
	}
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
	p.MayOverride, p.PartialRelease, p.RequireApprovals = raw.Review.MayOverride, raw.Review.PartialRelease, raw.Review.RequireApprovals
	if p.RequireApprovals < 1 || p.RequireApprovals > 16 {
		return p, fmt.Errorf("review.require_approvals must be between 1 and 16, not %d", p.RequireApprovals)
	}
	if p.RequireSealApprovals = raw.Review.RequireSealApprovals; p.RequireSealApprovals < 0 || p.RequireSealApprovals > 16 {
		return p, fmt.Errorf("review.require_seal_approvals must be between 0 and 16, not %d", p.RequireSealApprovals)
	}
	if p.Scan, err = parseScan(raw); err != nil {
		return p, err
	}
	t := raw.Transform
	for key, v := range map[string]string{"documents": t.Documents, "images": t.Images, "text": t.Text} {
		switch v {
		case TransformSender, TransformKiosk, TransformBoth, TransformOff:
		default:
			return p, fmt.Errorf("transform.%s %q: say where it is transformed: \"sender\", \"kiosk\", \"both\" or \"off\"", key, v)
		}
	}
	if t.DPI < 50 || t.DPI > 600 {
		return p, fmt.Errorf("transform.dpi must be between 50 and 600, not %d", t.DPI)
	}
	if t.MaxPixels < 1_000_000 || t.MaxPixels > 1_000_000_000 {
		return p, fmt.Errorf("transform.max_pixels must be between 1000000 and 1000000000, not %d", t.MaxPixels)
	}
	if err := transform.CheckOCRSyntax(t.OCR); err != nil {
		return p, fmt.Errorf("transform.ocr: %v", err)
	}
	p.Transform = TransformPolicy{Documents: t.Documents, Images: t.Images, Text: t.Text, DPI: t.DPI, MaxPixels: t.MaxPixels, OCR: t.OCR,
		SealOriginals: t.SealOriginals}
	return p, nil
}

func parseScan(raw rawPolicy) (ScanPolicy, error) {
	sc := raw.Scan
	var sp ScanPolicy
	switch sc.Mode {
	case "required":
		sp.Required = true
	case "off":
	default:
		return sp, fmt.Errorf("scan.mode %q must be \"required\" or \"off\"", sc.Mode)
	}
	for key, v := range map[string]string{"clamd": sc.Clamd, "clamscan": sc.Clamscan, "database": sc.Database} {
		if strings.ContainsFunc(v, unicode.IsControl) {
			// These go into clamd.conf and command lines: a line break
			// would add settings of its own.
			return sp, fmt.Errorf("scan.%s holds a control character; give a plain path", key)
		}
	}
	sp.Clamd, sp.Clamscan, sp.Database = sc.Clamd, sc.Clamscan, sc.Database
	var err error
	if sp.Timeout, err = time.ParseDuration(sc.Timeout); err != nil || sp.Timeout <= 0 {
		return sp, fmt.Errorf("scan.timeout %q is not a duration like \"10m\"", sc.Timeout)
	}
	if sc.MaxSignatureAge != "" {
		if sp.MaxSignatureAge, err = time.ParseDuration(sc.MaxSignatureAge); err != nil || sp.MaxSignatureAge <= 0 {
			return sp, fmt.Errorf("scan.max_signature_age %q is not a duration like \"168h\"", sc.MaxSignatureAge)
		}
	}
	for _, c := range sc.PassNotScanned {
		if !slices.Contains(scan.Causes, c) {
			return sp, fmt.Errorf("scan.pass_not_scanned: %q is not a cause; causes are %s", c, strings.Join(scan.Causes, ", "))
		}
	}
	sp.PassNotScanned = sc.PassNotScanned
	for i, h := range raw.Scanner {
		switch {
		case h.Name == "":
			return sp, fmt.Errorf("scanner %d has no name", i+1)
		case len(h.Command) == 0:
			return sp, fmt.Errorf("scanner %s has no command", h.Name)
		case len(h.Clean) == 0:
			return sp, fmt.Errorf("scanner %s: say which exit status means clean (clean = [0])", h.Name)
		}
		h.Timeout = 2 * time.Minute
		if h.RawTime != "" {
			if h.Timeout, err = time.ParseDuration(h.RawTime); err != nil || h.Timeout <= 0 {
				return sp, fmt.Errorf("scanner %s: timeout %q is not a duration like \"60s\"", h.Name, h.RawTime)
			}
		}
		sp.Hooks = append(sp.Hooks, h)
	}
	if len(sp.Hooks) > 0 && !sp.Required {
		return sp, errors.New("scanners are set but scan.mode is \"off\"; set it to \"required\" or remove them")
	}
	return sp, nil
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
	fmt.Fprintf(&b, "max_files = %d\nmax_bytes = %q\nmax_age = %q\nmax_clock_skew = %q\nmax_file_size = %q\nmax_path_depth = %d\n\n", p.MaxFiles,
		exactBytes(p.MaxBytes), p.MaxAge, p.MaxClockSkew, exactBytes(p.MaxFileSize), p.MaxPathDepth)
	for _, d := range p.Destinations {
		fmt.Fprintf(&b, "[[destination]]\nfolder = %q\nsenders = %s\n\n", d.Folder, q(d.Senders))
	}
	c := p.Content
	fmt.Fprintf(&b, "[content]\nblock = %s\nallow = %s\ncheck_extensions = %t\ncheck_names = %t\ncheck_active_content = %t\n\n",
		q(c.Block), q(c.Allow), c.Extensions, c.Names, c.ActiveContent)
	a := c.Archives
	fmt.Fprintf(&b, "[archives]\nmax_depth = %d\nmax_entries = %d\nmax_expanded = %q\nmax_ratio = %g\n\n",
		a.MaxDepth, a.MaxEntries, exactBytes(a.MaxExpanded), a.MaxRatio)
	fmt.Fprintf(&b, "[review]\nmay_override = %s\npartial_release = %t\nrequire_approvals = %d\nrequire_seal_approvals = %d\n\n",
		q(p.MayOverride), p.PartialRelease, p.RequireApprovals, p.RequireSealApprovals)
	sc := p.Scan
	mode, age := "off", ""
	if sc.Required {
		mode = "required"
	}
	if sc.MaxSignatureAge > 0 {
		age = sc.MaxSignatureAge.String()
	}
	fmt.Fprintf(&b, "[scan]\nmode = %q\nclamd = %q\nclamscan = %q\ndatabase = %q\ntimeout = %q\nmax_signature_age = %q\npass_not_scanned = %s\n",
		mode, sc.Clamd, sc.Clamscan, sc.Database, sc.Timeout, age, q(sc.PassNotScanned))
	tp := p.Transform
	fmt.Fprintf(&b, "\n[transform]\ndocuments = %q\nimages = %q\ntext = %q\ndpi = %d\nmax_pixels = %d\nocr = %q\nseal_originals = %t\n",
		tp.Documents, tp.Images, tp.Text, tp.DPI, tp.MaxPixels, tp.OCR, tp.SealOriginals)
	for _, h := range sc.Hooks {
		ints := func(xs []int) string { return strings.Trim(strings.Join(strings.Fields(fmt.Sprint(xs)), ", "), "[]") }
		fmt.Fprintf(&b, "\n[[scanner]]\nname = %q\ncommand = %s\nclean = [%s]\ninfected = [%s]\ntimeout = %q\n",
			h.Name, q(h.Command), ints(h.Clean), ints(h.Infected), h.Timeout)
	}
	return b.String()
}

// exactBytes writes a size so that it reads back as the same number of
// bytes: in the largest binary unit (TiB … KiB) or, failing that, decimal
// unit (TB … kB) it is a whole number of, else in bytes. (humanize.IBytes
// rounds: a kiosk's "1.5 GB" shown as "1.4 GiB" and imported by a sender
// would be 3 MB larger there.)
func exactBytes(n int64) string {
	for _, u := range []struct {
		size int64
		name string
	}{{1 << 40, "TiB"}, {1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"}, {1e12, "TB"}, {1e9, "GB"}, {1e6, "MB"}, {1e3, "kB"}} {
		if n >= u.size && n%u.size == 0 {
			return fmt.Sprintf("%d %s", n/u.size, u.name)
		}
	}
	return fmt.Sprintf("%d B", n)
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

// Where Debian's clamav-daemon listens, and where its signatures live.
var (
	clamdSockets  = []string{"/run/clamav/clamd.ctl", "/var/run/clamav/clamd.ctl"}
	clamDatabases = "/var/lib/clamav"
)

// initialPolicyText is the policy a new station starts with: scanning
// required through clamd where its socket is, through clamscan where it
// and signatures are installed, else off, with a note saying so.
func initialPolicyText() (text, note string) {
	text = defaultPolicyText
	for _, sock := range clamdSockets {
		if info, err := os.Stat(sock); err == nil && info.Mode()&fs.ModeSocket != 0 {
			text = strings.Replace(text, "mode = \"off\"\n", "mode = \"required\"\n", 1)
			return strings.Replace(text, "clamd = \"\"\n", fmt.Sprintf("clamd = %q\n", sock), 1), ""
		}
	}
	signatures := false
	for _, pat := range []string{"*.cvd", "*.cld"} {
		if m, _ := filepath.Glob(filepath.Join(clamDatabases, pat)); len(m) > 0 {
			signatures = true
		}
	}
	if _, err := exec.LookPath("clamd"); err == nil && signatures {
		// No daemon running, but one installed: the station runs its own.
		text = strings.Replace(text, "mode = \"off\"\n", "mode = \"required\"\n", 1)
		return strings.Replace(text, "clamd = \"\"\n", fmt.Sprintf("clamd = %q\n", ClamdStation), 1), ""
	}
	if _, err := exec.LookPath("clamscan"); err == nil && signatures {
		return strings.Replace(text, "mode = \"off\"\n", "mode = \"required\"\n", 1), ""
	}
	return text, "no malware scanner found (no clamd socket, no clamscan with signatures): scan.mode is \"off\" in policy.toml, and every release will say \"not scanned\"; install clamav-daemon and set scan.mode = \"required\""
}

// ScanWarning is the standing warning a front end shows while the policy
// scans nothing; "" when it scans.
func (s *Station) ScanWarning() string {
	if s.Policy.Scan.Required {
		return ""
	}
	return "No malware scanner configured: files are not scanned (scan.mode is \"off\" in policy.toml)"
}

// PolicyText returns the station's policy.toml as the technician wrote it,
// comments included.
func (s *Station) PolicyText() ([]byte, error) {
	return regfile.ReadFile(filepath.Join(s.Home, policyFile), 1<<20)
}

// ParsePolicy validates a draft policy's text: the policy it gives, or one
// error naming the first mistake.
func ParsePolicy(text []byte) (Policy, error) { return parsePolicy(text) }

// InstallPolicy validates text and puts it in force: policy.toml is
// replaced durably, the station's Policy with it, and a settings-changed
// record names the SHA-256 of the old and the new text, so an auditor
// can tell which policy judged which bundle. A draft with a mistake
// changes nothing.
//
// Once officers are enrolled it needs the two-person rules' quorum (see
// quorum: others are the officers, besides the one acting, who approve),
// judged by the policy in force, so one officer cannot lower the rules.
// The change is recorded before the file is replaced: a change the log
// refuses does not happen.
func (s *Station) InstallPolicy(text []byte, others ...*SignedIn) error {
	p, err := parsePolicy(text)
	if err == nil {
		err = p.Transform.ocrHere(TransformKiosk)
	}
	if err != nil {
		return fmt.Errorf("%w: the policy is not installed: %v", ErrRejected, err)
	}
	who, err := s.quorum("change the policy", ChangePolicy, others)
	if err != nil {
		return err
	}
	if list, err := s.Officers(); err == nil && len(list) > 0 {
		if n := max(p.RequireApprovals, p.RequireSealApprovals+1); n > len(list) {
			return fmt.Errorf("%w: the policy is not installed: its two-person rules need %d officers and %d are enrolled; enroll more first", ErrRejected, n, len(list))
		}
	}
	path := filepath.Join(s.Home, policyFile)
	old, err := regfile.ReadFile(path, 1<<20)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("install policy: %w", err)
	}
	if bytes.Equal(old, text) {
		return nil
	}
	if err := s.record(custody.Record{Event: custody.EventSettingsChanged, Outcome: "ok",
		Reason: fmt.Sprintf("receive policy changed: policy.toml sha256 %s, was %s%s", crypto.HashBytes(text), crypto.HashBytes(old), s.approvedText(who))}); err != nil {
		return fmt.Errorf("the policy is not installed: the custody log refused the record: %w", err)
	}
	if err := durable.ReplaceFile(path, text, 0o644); err != nil {
		s.record(custody.Record{Event: custody.EventSettingsChanged, Outcome: "failed",
			Reason: fmt.Sprintf("receive policy change to sha256 %s not made: %v; the policy in force is still %s", crypto.HashBytes(text), err, crypto.HashBytes(old))})
		return fmt.Errorf("install policy: %w; the policy in force has not changed", err)
	}
	s.Policy = p
	return nil
}

// senderMayRelease applies the destination rules: the most specific rule
// whose folder holds out decides whether sender may release there.
func (p Policy) senderMayRelease(sender, out string) error {
	// Compared as the kernel resolves them: a link to a restricted
	// folder is that folder.
	if r, err := resolveExisting(out); err == nil {
		out = r
	}
	var best *DestinationRule
	bestLen := 0
	for i, d := range p.Destinations {
		folder := d.Folder
		if r, err := resolveExisting(folder); err == nil {
			folder = r
		}
		rel, err := filepath.Rel(folder, filepath.Clean(out))
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			continue
		}
		if best == nil || len(folder) > bestLen {
			best, bestLen = &p.Destinations[i], len(folder)
		}
	}
	if best == nil || slices.Contains(best.Senders, sender) {
		return nil
	}
	return fmt.Errorf("%w: policy: bundles from %s may not be released into %s (its [[destination]] rule allows %s); choose another release folder, or ask the technician",
		ErrRejected, sender, out, strings.Join(best.Senders, ", "))
}

// checkEntries applies the per-entry limits to a bundle's signed
// manifest: each file's size and each entry's path depth.
func (p Policy) checkEntries(entries []bundle.ManifestEntry) error {
	for _, e := range entries {
		if e.Type == bundle.TypeFile && e.Size > p.MaxFileSize {
			return fmt.Errorf("%w: policy: %s is %s, larger than max_file_size (%s); the sender splits it, or the technician raises the limit", ErrRejected, e.Path,
				humanize.IBytes(uint64(e.Size)), humanize.IBytes(uint64(p.MaxFileSize)))
		}
		if d := strings.Count(e.Path, "/") + 1; d > p.MaxPathDepth {
			return fmt.Errorf("%w: policy: %s is %d levels deep, deeper than max_path_depth (%d); the sender flattens the folders, or the technician raises the limit", ErrRejected, e.Path, d, p.MaxPathDepth)
		}
	}
	return nil
}
