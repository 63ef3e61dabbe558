package app

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/dustin/go-humanize"

	"sluice/transfer/inspect"
)

// ContentReport is what the policy's content checks found in a bundle.
type ContentReport struct {
	Files    int64            // files checked
	Members  int              // archive members checked, at every depth
	Families map[string]int64 // files by type family
	// Held are the reports of the files held, by path; empty when every
	// file passed.
	Held []inspect.Report
}

// Reasons counts the held files' findings by reason.
func (c *ContentReport) Reasons() map[string]int {
	n := map[string]int{}
	for _, h := range c.Held {
		for _, f := range h.Findings {
			n[f.Reason]++
		}
	}
	return n
}

// Summary says in one line what was checked and what was held.
func (c *ContentReport) Summary() string {
	fams := make([]string, 0, len(c.Families))
	for f, n := range c.Families {
		fams = append(fams, fmt.Sprintf("%s %s", f, humanize.Comma(n)))
	}
	sort.Strings(fams)
	s := fmt.Sprintf("%s file(s) checked by content (%s)", humanize.Comma(c.Files), strings.Join(fams, ", "))
	if c.Members > 0 {
		s += fmt.Sprintf(", with %s archive member(s)", humanize.Comma(int64(c.Members)))
	}
	if len(c.Held) == 0 {
		return s + ": none held"
	}
	reasons := c.Reasons()
	rs := make([]string, 0, len(reasons))
	for r, n := range reasons {
		rs = append(rs, fmt.Sprintf("%s %d", r, n))
	}
	sort.Strings(rs)
	return s + fmt.Sprintf(": %d held (%s)", len(c.Held), strings.Join(rs, ", "))
}

// inspectContent checks every file in the quarantine q against the
// policy's content rules, on as many goroutines as there are cores.
// Archive members too large for memory are expanded beside q, in the
// quarantine's own folder (readable by the station's user only).
func (s *Station) inspectContent(ctx context.Context, q string) (*ContentReport, error) {
	rules := s.Policy.Content
	rules.TempDir = filepath.Dir(q)
	paths := make(chan string, 64)
	rep := &ContentReport{Families: map[string]int64{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range workers() {
		wg.Go(func() {
			for rel := range paths {
				r := s.inspectFile(ctx, &rules, q, rel)
				mu.Lock()
				rep.Files++
				rep.Members += r.Members
				rep.Families[r.Family]++
				if r.Held() {
					rep.Held = append(rep.Held, r)
				}
				mu.Unlock()
			}
		})
	}
	err := filepath.WalkDir(q, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(q, p)
			paths <- filepath.ToSlash(rel)
		}
		return nil
	})
	close(paths)
	wg.Wait()
	if err != nil {
		return nil, fmt.Errorf("check content: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(rep.Held, func(a, b inspect.Report) int { return strings.Compare(a.Path, b.Path) })
	return rep, nil
}

func (s *Station) inspectFile(ctx context.Context, rules *inspect.Rules, q, rel string) inspect.Report {
	f, err := os.Open(filepath.Join(q, filepath.FromSlash(rel)))
	if err != nil {
		return inspect.Report{Path: rel, Family: inspect.FamilyData, Findings: []inspect.Finding{{Path: rel, Reason: inspect.ReasonNotChecked, Detail: err.Error()}}}
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return inspect.Report{Path: rel, Family: inspect.FamilyData, Findings: []inspect.Finding{{Path: rel, Reason: inspect.ReasonNotChecked, Detail: err.Error()}}}
	}
	return rules.Inspect(ctx, rel, f, info.Size())
}

func workers() int { return max(2, min(4, runtime.NumCPU())) }
