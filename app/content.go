package app

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/dustin/go-humanize"

	"sluice/internal/pdfcheck"
	"sluice/transfer/bundle"
	"sluice/transfer/inspect"
	"sluice/transfer/scan"
	"sluice/transfer/transform"
)

// ContentReport is what the policy's content checks found in a bundle.
type ContentReport struct {
	Files    int64            // files checked
	Members  int              // archive members checked, at every depth
	Families map[string]int64 // files by type family
	// Held are the reports of the files held, by path; empty when every
	// file passed.
	Held []inspect.Report
	// Scanners are the malware scanners' versions (engine and signatures)
	// that scanned every file; none when scanning is off.
	Scanners []string
	// Passed are the first maxHeldRecords findings the policy let pass
	// (files not scanned for a reason scan.pass_not_scanned names);
	// PassedFiles counts every file with one.
	Passed      []inspect.Finding
	PassedFiles int
	// TransformedVerified counts the files marked transformed by the
	// sender that were verified in their simple form.
	TransformedVerified int
	// SealedOriginals counts the originals the sender sealed beside the
	// files it transformed, kept in SealedOriginalsDir, never released.
	SealedOriginals    int64
	SealedOriginalsDir string
}

// add counts a file's report, keeping it when the file is held.
func (c *ContentReport) add(r inspect.Report) {
	c.Files++
	c.Members += r.Members
	c.Families[r.Family]++
	if r.Held() {
		c.Held = append(c.Held, r)
	}
	if len(r.Passed) > 0 {
		c.PassedFiles++
		for _, f := range r.Passed {
			if len(c.Passed) < maxHeldRecords {
				c.Passed = append(c.Passed, f)
			}
		}
	}
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
	if len(c.Scanners) > 0 {
		s += "; scanned by " + strings.Join(c.Scanners, ", ")
	} else {
		s += "; not scanned for malware: no scanner configured"
	}
	s += c.passedText()
	if c.TransformedVerified > 0 {
		s += fmt.Sprintf("; %d file(s) transformed by the sender verified in their simple form", c.TransformedVerified)
	}
	if c.SealedOriginals > 0 {
		s += fmt.Sprintf("; %d original(s) of files the sender transformed, sealed by it, kept in %s and not released", c.SealedOriginals, c.SealedOriginalsDir)
	}
	if len(c.Held) == 0 {
		return s + "; none held"
	}
	reasons := c.Reasons()
	rs := make([]string, 0, len(reasons))
	for r, n := range reasons {
		rs = append(rs, fmt.Sprintf("%s %d", r, n))
	}
	sort.Strings(rs)
	return s + fmt.Sprintf("; %d held (%s)", len(c.Held), strings.Join(rs, ", "))
}

// contentRules are the policy's content rules, expanding archive members
// under tmp and checking PDFs in the children of pdf (internal/pdfcheck),
// away from the station's own process.
func contentRules(p Policy, tmp string, pdf *pdfcheck.Pool) inspect.Rules {
	rules := p.Content
	rules.TempDir = tmp
	rules.PDF = pdf.Check
	return rules
}

// inspectContent checks every file in the quarantine q against the
// policy's content rules, and, when the policy requires it, has every
// malware scanner scan it; on as many goroutines as there are cores.
// Archive members too large for memory are expanded beside q, in the
// quarantine's own folder (readable by the station's user only). A
// scanner that cannot be used makes every file not-scanned: held.
func (s *Station) inspectContent(ctx context.Context, q string, entries []bundle.ManifestEntry, pre *earlyChecks, pdf *pdfcheck.Pool) (*ContentReport, error) {
	rules := contentRules(s.Policy, filepath.Dir(q), pdf)
	rep := &ContentReport{Families: map[string]int64{}}
	eng := s.scanEngines(ctx, rules.TempDir)
	rep.Scanners = eng.versions
	// Files under 1 MiB were checked as they were written, if pre ran
	// and saw every one of them; else every file is checked here.
	small := int64(0)
	for _, e := range entries {
		if e.Type == bundle.TypeFile && e.Size < bundle.SmallFile {
			small++
		}
	}
	early := pre != nil && pre.rep.Files == small
	// held finds a file's report among the held ones, for the scanners'
	// verdicts on files the early checks judged.
	held := map[string]int{}
	if early {
		rep.Files, rep.Members, rep.Held = pre.rep.Files, pre.rep.Members, pre.rep.Held
		for f, n := range pre.rep.Families {
			rep.Families[f] = n
		}
		rep.Passed, rep.PassedFiles = pre.rep.Passed, pre.rep.PassedFiles
		for i, h := range rep.Held {
			held[h.Path] = i
		}
	}
	reinspect := func(rel string) inspect.Report {
		return s.checkFile(ctx, &rules, &engines{}, q, rel) // its type by content, for the review
	}
	scanning := len(eng.perFile) > 0 || eng.batch != nil || len(eng.broken) > 0
	type job struct {
		rel      string
		scanOnly bool // checked early: only the scanners are left
	}
	jobs := make(chan job, 64)
	var all []inspect.Report // kept only for clamscan, which answers for the whole bundle at the end
	var allScanOnly []bool
	var mu sync.Mutex
	var wg sync.WaitGroup
	n := workers()
	if len(eng.perFile) > 0 {
		n = 2 * n // most of a scan is waiting for the scanner's answer
	}
	for range n {
		wg.Go(func() {
			for j := range jobs {
				var r inspect.Report
				if j.scanOnly {
					r = s.scanFile(ctx, eng, q, j.rel)
				} else {
					r = s.checkFile(ctx, &rules, eng, q, j.rel)
				}
				mu.Lock()
				switch {
				case eng.batch != nil:
					all, allScanOnly = append(all, r), append(allScanOnly, j.scanOnly) // counted once clamscan has answered
				case j.scanOnly:
					rep.merge(held, r, reinspect)
				default:
					rep.add(r)
				}
				mu.Unlock()
			}
		})
	}
	var err error
	for _, e := range entries {
		if err = ctx.Err(); err != nil {
			break
		}
		switch {
		case e.Type != bundle.TypeFile:
		case !early || e.Size >= bundle.SmallFile:
			jobs <- job{rel: e.Path}
		case scanning:
			jobs <- job{rel: e.Path, scanOnly: true}
		}
	}
	close(jobs)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	if eng.batch != nil && len(all) > 0 {
		full := make([]string, len(all))
		for i, r := range all {
			full[i] = filepath.Join(q, filepath.FromSlash(r.Path))
		}
		verdicts, err := eng.batch.ScanAll(ctx, full)
		for i := range all {
			var v scan.Result
			if err != nil {
				v = scan.Result{Engine: "clamscan", Verdict: scan.NotScanned, Cause: scan.CauseEngineError, Why: err.Error()}
			} else {
				v = verdicts[full[i]]
			}
			eng.add(&all[i], v)
			if allScanOnly[i] {
				rep.merge(held, all[i], reinspect)
			} else {
				rep.add(all[i])
			}
		}
	}
	slices.SortFunc(rep.Held, func(a, b inspect.Report) int { return strings.Compare(a.Path, b.Path) })
	return rep, nil
}

// merge adds the scanners' findings in r to a file the early checks
// already judged and counted: to its held report, or, when the early
// checks passed it, to a new one (reinspect gives its type by content).
func (c *ContentReport) merge(held map[string]int, r inspect.Report, reinspect func(rel string) inspect.Report) {
	if len(r.Passed) > 0 {
		c.PassedFiles++
		for _, f := range r.Passed {
			if len(c.Passed) < maxHeldRecords {
				c.Passed = append(c.Passed, f)
			}
		}
	}
	if len(r.Findings) == 0 {
		return
	}
	if i, ok := held[r.Path]; ok {
		c.Held[i].Findings = append(c.Held[i].Findings, r.Findings...)
		return
	}
	base := reinspect(r.Path)
	base.Findings = append(base.Findings, r.Findings...)
	held[r.Path] = len(c.Held)
	c.Held = append(c.Held, base)
}

// engines are the policy's malware scanners for one bundle.
type engines struct {
	perFile  []scan.Engine
	batch    *scan.Clamscan
	versions []string
	// broken are the engines that cannot scan, each as the not-scanned
	// verdict every file gets from it (cause among scan.Causes); the
	// other engines still scan every file.
	broken []scan.Result
	// pass are the causes of not-scanned the policy lets pass.
	pass []string
}

// scanEngines sets up the policy's scanners and proves each can scan
// before any file is judged: clamd must answer and alert on an encrypted
// ZIP; clamscan and every hook must run; ClamAV's signatures must be
// younger than max_signature_age. An engine that fails is broken alone:
// its verdict on every file is not-scanned, and the others still scan.
func (s *Station) scanEngines(ctx context.Context, tmp string) *engines {
	sp := s.Policy.Scan
	e := &engines{pass: sp.PassNotScanned}
	if !sp.Required {
		return e
	}
	broken := func(engine, cause, format string, args ...any) {
		e.broken = append(e.broken, scan.Result{Engine: engine, Verdict: scan.NotScanned, Cause: cause, Why: fmt.Sprintf(format, args...)})
	}
	// ClamAV's signatures are too old, or of unknown age under a limit.
	outdated := func(engine, version string) bool {
		if sp.MaxSignatureAge == 0 {
			return false
		}
		date, ok := signatureDate(version)
		switch {
		case !ok:
			broken(engine, scan.CauseOutdated, "the scanner does not say how old its signatures are (%s), and the policy limits their age", version)
		case time.Since(date) > sp.MaxSignatureAge:
			broken(engine, scan.CauseOutdated, "the scanner's signatures are from %s, %s old, older than the policy's max_signature_age of %s; bring newer signatures across",
				date.Format("2006-01-02"), time.Since(date).Round(time.Hour), sp.MaxSignatureAge)
		default:
			return false
		}
		return true
	}
	if sp.Clamd != "" {
		network, address := "tcp", sp.Clamd
		if strings.HasPrefix(sp.Clamd, "/") {
			network = "unix"
		}
		var err error
		if sp.Clamd == ClamdStation {
			address, err = s.stationClamd(ctx)
			network = "unix"
		}
		c := &scan.Clamd{Network: network, Address: address, Timeout: sp.Timeout}
		var version string
		if err == nil {
			version, err = c.Check(ctx, tmp)
		}
		switch {
		case err != nil:
			broken("clamd", scan.CauseEngineError, "%v", err)
		case !outdated("clamd", version):
			e.perFile = append(e.perFile, c)
			e.versions = append(e.versions, "clamd ("+version+")")
		}
	} else {
		c := &scan.Clamscan{Path: sp.Clamscan, Database: sp.Database, Timeout: sp.Timeout}
		version, err := c.Version(ctx)
		switch {
		case err != nil:
			broken("clamscan", scan.CauseEngineError, "%v", err)
		case !outdated("clamscan", version):
			e.batch = c
			e.versions = append(e.versions, "clamscan ("+version+")")
		}
	}
	for _, h := range sp.Hooks {
		c := &scan.Command{Label: h.Name, Args: h.Command, Clean: h.Clean, Infected: h.Infected, Timeout: h.Timeout}
		v, err := c.Version(ctx)
		if err != nil {
			broken(h.Name, scan.CauseEngineError, "%v", err)
			continue
		}
		e.perFile = append(e.perFile, c)
		e.versions = append(e.versions, v)
	}
	return e
}

// signatureDate reads the database date from ClamAV's version line,
// "ClamAV 1.4.6/27100/Sun Nov 29 09:00:00 2026".
func signatureDate(version string) (time.Time, bool) {
	parts := strings.SplitN(version, "/", 3)
	if len(parts) < 3 {
		return time.Time{}, false
	}
	t, err := time.Parse("Mon Jan _2 15:04:05 2006", strings.TrimSpace(strings.TrimSuffix(parts[2], ")")))
	return t, err == nil
}

// earlyChecks are the content checks run on small files from memory as
// they are written into the quarantine (bundle.Expect.OnFile), so the
// kiosk does not read them back for them, and they overlap the
// extraction. Only counts and the reports of held files are kept: memory
// stays flat however many files a bundle holds. Scanners, which open
// every file, run after the extraction (inspectContent).
type earlyChecks struct {
	ctx   context.Context
	rules inspect.Rules
	// transforms: the policy transforms some kind of content, so each
	// file's kind is noted in kinds (only the kinds it transforms: the
	// map stays small for bundles of other content).
	transforms bool
	mu         sync.Mutex
	rep        ContentReport
	kinds      map[string]transform.Action
}

func (s *Station) newEarlyChecks(ctx context.Context, q string, pdf *pdfcheck.Pool) *earlyChecks {
	rules := contentRules(s.Policy, filepath.Dir(q), pdf)
	return &earlyChecks{ctx: ctx, rules: rules, rep: ContentReport{Families: map[string]int64{}},
		transforms: s.Policy.Transform.any(), kinds: map[string]transform.Action{}}
}

// file checks one file's content (bundle.Expect.OnFile).
func (e *earlyChecks) file(name string, content []byte) {
	r := e.rules.Inspect(e.ctx, name, inspect.Memory(content), int64(len(content)))
	kind := transform.ActionHold
	if e.transforms {
		kind = transform.KindOf(path.Base(name), content[:min(len(content), transform.HeadSize)])
	}
	e.mu.Lock()
	e.rep.add(r)
	if kind != transform.ActionHold {
		e.kinds[name] = kind
	}
	e.mu.Unlock()
}

// onFile is the hook to give the bundle, nil when e is.
func (e *earlyChecks) onFile() func(string, []byte) {
	if e == nil {
		return nil
	}
	return e.file
}

// smallWhole is the size up to which a file is read whole before it is
// checked: the checks read its first 3 KiB and its last 64 KiB anyway.
const smallWhole = 96 << 10

// checkFile runs the content checks and the per-file scanners on one file.
func (s *Station) checkFile(ctx context.Context, rules *inspect.Rules, eng *engines, q, rel string) inspect.Report {
	notChecked := func(err error) inspect.Report {
		return inspect.Report{Path: rel, Family: inspect.FamilyData, Findings: []inspect.Finding{{Path: rel, Reason: inspect.ReasonNotChecked, Detail: err.Error()}}}
	}
	full := filepath.Join(q, filepath.FromSlash(rel))
	f, err := os.Open(full)
	if err != nil {
		return notChecked(err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return notChecked(err)
	}
	var content io.ReaderAt = f
	if n := info.Size(); n <= smallWhole {
		// One read instead of one for the head and one for the tail.
		b := make([]byte, n)
		if _, err := io.ReadFull(f, b); err != nil {
			return notChecked(err)
		}
		content = inspect.Memory(b)
	}
	r := rules.Inspect(ctx, rel, content, info.Size())
	eng.scan(ctx, &r, full, f)
	return r
}

// scanFile has the per-file scanners scan one file the early checks
// judged: the report holds only their findings.
func (s *Station) scanFile(ctx context.Context, eng *engines, q, rel string) inspect.Report {
	r := inspect.Report{Path: rel}
	if len(eng.broken) > 0 || len(eng.perFile) > 0 {
		full := filepath.Join(q, filepath.FromSlash(rel))
		f, err := os.Open(full)
		if err != nil {
			eng.add(&r, scan.Result{Engine: "scan", Verdict: scan.NotScanned, Cause: scan.CauseEngineError, Why: err.Error()})
			return r
		}
		defer f.Close()
		eng.scan(ctx, &r, full, f)
	}
	return r
}

// scan has every per-file scanner scan f, open on full, adding their
// verdicts to r, and each broken engine's not-scanned.
func (e *engines) scan(ctx context.Context, r *inspect.Report, full string, f *os.File) {
	for _, b := range e.broken {
		e.add(r, b)
	}
	for _, en := range e.perFile {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			e.add(r, scan.Result{Engine: en.Name(), Verdict: scan.NotScanned, Cause: scan.CauseEngineError, Why: err.Error()})
			continue
		}
		e.add(r, en.Scan(ctx, full, f))
	}
}

// add adds a scanner's verdict to a file's findings unless clean; a file
// not scanned for a cause the policy lets pass gets it as a passed
// finding, recorded but not holding.
func (e *engines) add(r *inspect.Report, v scan.Result) {
	switch v.Verdict {
	case scan.Clean:
	case scan.Infected:
		r.Findings = append(r.Findings, inspect.Finding{Path: r.Path, Reason: inspect.ReasonInfected, Detail: v.Engine + " found " + v.Signature})
	default:
		f := inspect.Finding{Path: r.Path, Reason: inspect.ReasonNotScanned, Detail: v.Engine + ": " + v.Why}
		if v.Cause != "" && slices.Contains(e.pass, v.Cause) {
			f.Detail += " (" + v.Cause + ": passed, as scan.pass_not_scanned allows)"
			r.Passed = append(r.Passed, f)
			return
		}
		r.Findings = append(r.Findings, f)
	}
}

// passedText says which files were not scanned and passed as the policy
// allows, naming the first few: "; 2 file(s) not scanned but passed by
// policy (big.iso: clamd: larger than ClamAV's 2 GB limit (over-limit: …))".
func (c *ContentReport) passedText() string {
	if c.PassedFiles == 0 {
		return ""
	}
	const shown = 10
	var names []string
	for i, f := range c.Passed {
		if i == shown {
			names = append(names, fmt.Sprintf("and %d more", len(c.Passed)-shown))
			break
		}
		names = append(names, f.Path+": "+f.Detail)
	}
	return fmt.Sprintf("; %d file(s) not scanned but passed by policy (%s)", c.PassedFiles, strings.Join(names, "; "))
}

func workers() int { return max(2, min(4, runtime.NumCPU())) }
