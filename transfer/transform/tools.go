package transform

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"time"
)

// packages names the Debian package of each tool, for the messages of a
// missing one.
var packages = map[string]string{
	"mutool":    "mupdf-tools",
	"pdftoppm":  "poppler-utils",
	"soffice":   "libreoffice-writer-nogui, libreoffice-calc-nogui and libreoffice-impress-nogui",
	"bwrap":     "bubblewrap",
	"prlimit":   "util-linux",
	"tesseract": "tesseract-ocr",
	"stdbuf":    "coreutils",
}

// versionArgs is how each tool tells its version, and the pattern that
// finds it in what it prints (on stdout or stderr).
var versionArgs = map[string][]string{
	"mutool":    {"-v"},
	"pdftoppm":  {"-v"},
	"soffice":   {"--version"},
	"bwrap":     {"--version"},
	"prlimit":   {"--version"},
	"tesseract": {"--version"},
}

var versionRE = regexp.MustCompile(`\d+(\.\d+)+`)

// New finds the tools (mutool, pdftoppm, soffice, bwrap, prlimit, stdbuf,
// and tesseract when Config.OCR is on) and fills in cfg's defaults; each
// tool's version is asked the first time a result names it. A missing
// renderer is not an error: the files that need it are held (ErrNoTool) and
// Transformer.Missing says why. Without bwrap (unless cfg.NoSandbox) or
// prlimit, New fails: no external tool could run safely.
func New(cfg Config) (*Transformer, error) {
	if runtime.GOOS != "linux" {
		return nil, fmt.Errorf("transform: disarm and rebuild runs on Linux only (its sandbox is bubblewrap); transform files at a Linux kiosk")
	}
	if cfg.MaxPixels <= 0 {
		cfg.MaxPixels = 100e6
	}
	if cfg.MaxPages <= 0 {
		cfg.MaxPages = 10000
	}
	if cfg.MaxPages > maxPagesLimit {
		return nil, fmt.Errorf("transform: a document of %d pages is more than the %d Verify accepts; lower MaxPages", cfg.MaxPages, maxPagesLimit)
	}
	if cfg.DPI <= 0 {
		cfg.DPI = 150
	}
	if cfg.DPI > 600 {
		return nil, fmt.Errorf("transform: a resolution of %d DPI is more than the 600 a page needs; lower it", cfg.DPI)
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.NumCPU()
	}
	if cfg.Timeout == nil {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MemoryLimit <= 0 {
		cfg.MemoryLimit = 1 << 30
	}
	if cfg.TempDir == "" {
		cfg.TempDir = os.TempDir()
	}
	if cfg.TextEncoding != "" {
		if _, err := textDecoder(cfg.TextEncoding); err != nil {
			return nil, err
		}
	}
	if err := CheckOCRSyntax(cfg.OCR); err != nil {
		return nil, fmt.Errorf("transform: %v", err)
	}
	t := &Transformer{cfg: cfg, paths: map[string]string{}, vers: map[string]string{}, missing: map[string]string{}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tools := []string{"mutool", "pdftoppm", "soffice", "bwrap", "prlimit", "stdbuf"}
	if cfg.OCR != "" {
		tools = append(tools, "tesseract")
	}
	for _, tool := range tools {
		path, set := cfg.Tools[tool]
		if set && path == "" {
			t.missing[tool] = fmt.Sprintf("%s is switched off (Config.Tools)", tool)
			continue
		}
		if path == "" {
			p, err := exec.LookPath(tool)
			if err != nil {
				t.missing[tool] = fmt.Sprintf("%s is not installed (Debian: apt-get install %s)", tool, packages[tool])
				continue
			}
			path = p
		}
		t.paths[tool] = path
	}
	if _, ok := t.paths["tesseract"]; ok {
		if err := CheckOCR(cfg.OCR); err != nil {
			// Documents are held, saying which package to add.
			delete(t.paths, "tesseract")
			t.missing["tesseract"] = err.Error()
		}
	}
	if _, ok := t.paths["prlimit"]; !ok {
		return nil, fmt.Errorf("transform: %s: without it no tool runs with bounded memory", t.missing["prlimit"])
	}
	if !cfg.NoSandbox {
		if _, ok := t.paths["bwrap"]; !ok {
			return nil, fmt.Errorf("transform: %s: without it no tool runs in a sandbox", t.missing["bwrap"])
		}
		if err := t.sandboxWorks(ctx); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// DefaultTimeout is Config.Timeout's default: 60 s + 1 s per page + 10 s
// per MiB.
func DefaultTimeout(pages int, size int64) time.Duration {
	return 60*time.Second + time.Duration(pages)*time.Second + time.Duration(size/(1<<20))*10*time.Second
}

// version returns tool's version ("unknown" if it does not say), asking
// the tool the first time.
func (t *Transformer) version(tool string) string {
	t.vmu.Lock()
	defer t.vmu.Unlock()
	if v, ok := t.vers[tool]; ok {
		return v
	}
	v := runtime.Version()
	if tool != "sluice" {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		out, _ := exec.CommandContext(ctx, t.paths[tool], versionArgs[tool]...).CombinedOutput()
		cancel()
		if v = versionRE.FindString(string(out)); v == "" {
			v = "unknown"
		}
	}
	t.vers[tool] = v
	return v
}

// Missing returns one line per tool not found, saying which Debian package
// provides it; nil when every tool is there.
func (t *Transformer) Missing() []string {
	var out []string
	for _, why := range t.missing {
		out = append(out, why)
	}
	sort.Strings(out)
	return out
}

// sandboxWorks runs /bin/true (or the first of a few stand-ins) in the
// sandbox once, so that a machine where bwrap cannot create namespaces
// says so at start, not on the first file.
func (t *Transformer) sandboxWorks(ctx context.Context) error {
	args := t.bwrapArgs(nil, "")
	args = append(args, "--", "/usr/bin/true")
	out, err := exec.CommandContext(ctx, t.paths["bwrap"], args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("transform: the sandbox (bwrap) does not run here: %s (%v); run on a kernel that allows user namespaces, or set no_sandbox for tests only",
			strings.TrimSpace(string(out)), err)
	}
	return nil
}
