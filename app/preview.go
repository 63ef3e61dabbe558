package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/dustin/go-humanize"

	"sluice/crypto"
	"sluice/internal/durable"
	"sluice/internal/pdfcheck"
	"sluice/internal/regfile"
	"sluice/transfer/bundle"
	"sluice/transfer/custody"
	"sluice/transfer/inspect"
	"sluice/transfer/transform"
)

// policiesDir holds, in a sending station's home, copies of its receiving
// stations' policies (HOME/policies/<name>.toml), so the officer sees
// before sealing what each kiosk would hold.
const policiesDir = "policies"

// ImportPolicy installs a copy of receiving station name's policy (the
// output of sluice policy show on that kiosk) after checking it, and
// records it.
func (s *Station) ImportPolicy(name, path string) error {
	if err := crypto.ValidName(name); err != nil {
		return err
	}
	if _, ok, err := s.Trusted(name); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("%s is not a station this one trusts; add its card first (sluice trust add)", name)
	}
	b, err := regfile.ReadFile(path, 1<<20)
	if err != nil {
		return fmt.Errorf("import policy: %w", err)
	}
	p, err := parsePolicy(b)
	if err != nil {
		return fmt.Errorf("%w: %s is not a valid policy: %v", ErrRejected, path, err)
	}
	if err := p.Transform.ocrHere(TransformSender); err != nil {
		return fmt.Errorf("%w: %s's policy is not imported: %v", ErrRejected, name, err)
	}
	dir := filepath.Join(s.Home, policiesDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := durable.ReplaceFile(filepath.Join(dir, name+".toml"), b, 0o644); err != nil {
		return fmt.Errorf("import policy: %w", err)
	}
	return s.record(custody.Record{Event: custody.EventSettingsChanged, Peer: name, Outcome: "ok",
		Reason: fmt.Sprintf("copy of %s's receive policy installed from %s, to check staged files against before sealing", name, path)})
}

// PolicyOf returns the copy of receiving station name's policy, if one
// was imported.
func (s *Station) PolicyOf(name string) (Policy, bool, error) {
	b, err := regfile.ReadFile(filepath.Join(s.Home, policiesDir, name+".toml"), 1<<20)
	if errors.Is(err, fs.ErrNotExist) {
		return Policy{}, false, nil
	}
	if err != nil {
		return Policy{}, false, err
	}
	p, err := parsePolicy(b)
	if err != nil {
		return Policy{}, false, fmt.Errorf("the copy of %s's policy in %s: %w; import it again", name, filepath.Join(s.Home, policiesDir), err)
	}
	return p, true, nil
}

// Foreseen is a staged file a receiving station's policy would hold.
type Foreseen struct {
	Recipient string
	Report    inspect.Report
}

func (f Foreseen) String() string {
	parts := make([]string, 0, len(f.Report.Findings))
	for _, fd := range f.Report.Findings {
		parts = append(parts, fd.Text(f.Report.Path))
	}
	return fmt.Sprintf("%s's policy would hold %s: %s", f.Recipient, f.Report.Path, strings.Join(parts, "; "))
}

// Foresee runs, on the staged files, the content checks of every recipient
// whose policy this station holds a copy of (ImportPolicy), and returns
// what each would hold, by file. Malware scanning is the kiosk's; the
// rest is the same code the kiosk runs. Recipients without a copy are
// not checked; none returns nothing.
func (s *Station) Foresee(ctx context.Context, srcs []bundle.Source, to []string) ([]Foreseen, error) {
	var out []Foreseen
	pdf := pdfcheck.New()
	defer pdf.Close()
	for _, name := range to {
		p, ok, err := s.PolicyOf(name)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		rules := contentRules(p, "", pdf)
		for i := range srcs {
			src := &srcs[i]
			limit := func(format string, args ...any) {
				out = append(out, Foreseen{Recipient: name, Report: inspect.Report{Path: src.Path, Findings: []inspect.Finding{
					{Path: src.Path, Reason: "over-limit", Detail: fmt.Sprintf(format, args...) + "; the kiosk refuses the whole bundle"}}}})
			}
			if d := strings.Count(src.Path, "/") + 1; d > p.MaxPathDepth {
				limit("%d levels deep, deeper than its max_path_depth (%d)", d, p.MaxPathDepth)
			}
			if src.Type != bundle.TypeFile {
				continue
			}
			if src.Size > p.MaxFileSize {
				limit("%s, larger than its max_file_size (%s)", humanize.IBytes(uint64(src.Size)), humanize.IBytes(uint64(p.MaxFileSize)))
				continue
			}
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			f, err := regfile.Open(src.OSPath)
			if err != nil {
				return nil, fmt.Errorf("check %s before sealing: %w", src.OSPath, err)
			}
			if p.Transform.any() {
				// A file this station transforms for the kiosk crosses as
				// its simple form, which the kiosk verifies: its
				// original's findings would not hold it.
				head := make([]byte, transform.HeadSize)
				n, _ := f.ReadAt(head, 0)
				if m := p.Transform.forAction(string(transform.KindOf(path.Base(src.Path), head[:n]))); m == TransformSender || m == TransformBoth {
					f.Close()
					continue
				}
			}
			r := rules.Inspect(ctx, src.Path, f, src.Size)
			f.Close()
			if r.Held() {
				out = append(out, Foreseen{Recipient: name, Report: r})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Foreseen) int { return strings.Compare(a.Report.Path, b.Report.Path) })
	return out, nil
}
