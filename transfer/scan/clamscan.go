package scan

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Clamscan runs ClamAV's command-line scanner once over a bundle's files
// (it loads its signatures once per run, which takes seconds with the full
// databases), with every alert on that turns a skipped file into a
// detection instead of an OK.
type Clamscan struct {
	Path     string // the clamscan program; "" for clamscan on PATH
	Database string // --database; "" for clamscan's own
	Timeout  time.Duration
}

// Name implements Engine.
func (c *Clamscan) Name() string { return "clamscan" }

func (c *Clamscan) prog() string {
	if c.Path != "" {
		return c.Path
	}
	return "clamscan"
}

func (c *Clamscan) args() []string {
	a := []string{"--no-summary", "--stdout", "--alert-exceeds-max=yes", "--alert-encrypted=yes", "--alert-encrypted-archive=yes",
		"--alert-encrypted-doc=yes", "--alert-macros=yes", "--alert-broken=yes", "--max-filesize=2000M", "--max-scansize=4000M"}
	if c.Database != "" {
		a = append(a, "--database="+c.Database)
	}
	return a
}

// Version implements Engine.
func (c *Clamscan) Version(ctx context.Context) (string, error) {
	args := []string{"--version"}
	if c.Database != "" {
		args = append(args, "--database="+c.Database)
	}
	out, err := exec.CommandContext(ctx, c.prog(), args...).Output()
	if err != nil {
		return "", fmt.Errorf("clamscan cannot run (%v); install clamav or fix the policy's scan settings", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// Scan implements Engine, one file at a time (ScanAll is the fast way).
func (c *Clamscan) Scan(ctx context.Context, path string, f *os.File) Result {
	rs, err := c.ScanAll(ctx, []string{path})
	if err != nil {
		return failed("clamscan", err, "%v", err)
	}
	return rs[path]
}

// ScanAll scans every file in paths in one run and returns a verdict for
// each: a file clamscan did not report on is not-scanned.
func (c *Clamscan) ScanAll(ctx context.Context, paths []string) (map[string]Result, error) {
	out := make(map[string]Result, len(paths))
	list, err := os.CreateTemp(filepath.Dir(paths[0]), ".sluice-scan-list-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(list.Name())
	w := bufio.NewWriter(list)
	for _, p := range paths {
		if strings.ContainsAny(p, "\n") {
			out[p] = notScanned("clamscan", CauseUnsupported, "a name with a line break cannot be given to clamscan")
			continue
		}
		w.WriteString(p + "\n")
	}
	w.Flush()
	list.Close()
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, c.prog(), append(c.args(), "--file-list="+list.Name())...)
	cmd.WaitDelay = time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	// clamscan exits 0 (nothing found), 1 (something found) or 2 (an
	// error, with whatever it did scan still reported).
	if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() > 2) {
		return nil, fmt.Errorf("clamscan failed: %v: %s", err, truncate(firstLine(stderr.String())))
	}
	byPath := map[string]bool{}
	for _, p := range paths {
		byPath[p] = true
	}
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		// The path is ours; its verdict follows the last ": ".
		i := strings.LastIndex(line, ": ")
		for i > 0 && !byPath[line[:i]] {
			i = strings.LastIndex(line[:i], ": ")
		}
		if i <= 0 {
			continue
		}
		p := line[:i]
		if prev, seen := out[p]; seen && prev.Verdict != Clean {
			continue // the worst verdict stays
		}
		out[p] = clamVerdict("clamscan", "x: "+line[i+2:])
	}
	for _, p := range paths {
		if _, ok := out[p]; !ok {
			why := "clamscan did not report on it"
			if s := firstLine(stderr.String()); s != "" {
				why += ": " + truncate(s)
			}
			out[p] = notScanned("clamscan", CauseEngineError, "%s", why)
		}
	}
	return out, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// Command is any other scanner, run once per file: its exit status says
// clean or infected (anything else, or a timeout, is not-scanned), and on
// infected the first line it prints names what it found.
type Command struct {
	Label    string
	Args     []string // the program and its arguments; "{}" is replaced by the file's path
	Clean    []int
	Infected []int
	Timeout  time.Duration
}

// Name implements Engine.
func (c *Command) Name() string { return c.Label }

// Version implements Engine: the program must exist.
func (c *Command) Version(ctx context.Context) (string, error) {
	if len(c.Args) == 0 {
		return "", fmt.Errorf("scanner %s has no command", c.Label)
	}
	p, err := exec.LookPath(c.Args[0])
	if err != nil {
		return "", fmt.Errorf("scanner %s: %v", c.Label, err)
	}
	return c.Label + " (" + p + ")", nil
}

// Scan implements Engine.
func (c *Command) Scan(ctx context.Context, path string, f *os.File) Result {
	t := c.Timeout
	if t <= 0 {
		t = 120 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, t)
	defer cancel()
	args := make([]string, len(c.Args))
	for i, a := range c.Args {
		args[i] = strings.ReplaceAll(a, "{}", path)
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.WaitDelay = time.Second // a child that keeps the output open must not hold the verdict
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		return notScanned(c.Label, CauseTimeout, "no verdict within %s", t)
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		return notScanned(c.Label, CauseEngineError, "cannot run: %v", err)
	}
	for _, k := range c.Clean {
		if code == k {
			return Result{Engine: c.Label, Verdict: Clean}
		}
	}
	for _, k := range c.Infected {
		if code == k {
			sig := truncate(firstLine(out.String()))
			if sig == "" {
				sig = "reported by " + c.Label
			}
			return Result{Engine: c.Label, Verdict: Infected, Signature: sig}
		}
	}
	return notScanned(c.Label, CauseEngineError, "exit status %d, which the policy maps to no verdict: %s", code, truncate(firstLine(out.String())))
}
