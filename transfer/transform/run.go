package transform

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"sluice/internal/durable"
	"sluice/internal/regfile"
	"sluice/internal/safetext"
)

// officeExts are the office and OpenDocument types LibreOffice converts.
var officeExts = map[string]bool{
	".docx": true, ".xlsx": true, ".pptx": true, ".doc": true, ".xls": true, ".ppt": true,
	".odt": true, ".ods": true, ".odp": true,
	".docm": true, ".xlsm": true, ".pptm": true, ".rtf": true,
	// Templates, shows and Excel's binary workbook: Word, Excel,
	// PowerPoint and LibreOffice open them as documents like the others.
	".dot": true, ".dotx": true, ".dotm": true, ".xlt": true, ".xltx": true, ".xltm": true, ".xlsb": true,
	".pot": true, ".potx": true, ".potm": true, ".pps": true, ".ppsx": true, ".ppsm": true,
	".odg": true, ".ott": true, ".ots": true, ".otp": true, ".otg": true,
}

// textExts are the text types cleaned as text.
var textExts = map[string]bool{
	".txt": true, ".csv": true, ".tsv": true, ".json": true, ".xml": true, ".md": true, ".markdown": true, ".log": true,
}

// HeadSize is how many first bytes of a file Plan looks at.
const HeadSize = 4096

// Plan says what Transform would do with a file named name whose first
// bytes are head (HeadSize of them, or the whole file if shorter), and
// why, in one line. It reads nothing else and starts nothing: cheap enough
// for a sender's review list. ActionHold's reason names the missing tool's
// Debian package, or the type that has no transformation.
func (t *Transformer) Plan(name string, head []byte) (Action, string) {
	a, why, _ := t.plan(name, head)
	return a, why
}

// plan is Plan with the error Transform returns for a held file.
func (t *Transformer) plan(name string, head []byte) (Action, string, error) {
	ext := strings.ToLower(filepath.Ext(name))
	hold := func(err error, format string, args ...any) (Action, string, error) {
		why := fmt.Sprintf(format, args...)
		return ActionHold, why, &holdError{err, why}
	}
	if f := imageFormat(head); f != "" {
		return ActionReencodeImage, fmt.Sprintf("a %s image: its pixels are decoded and encoded afresh as %s", strings.ToUpper(f), strings.ToUpper(outputFormat(f, head))), nil
	}
	if i := bytes.Index(head[:min(len(head), 1024)], []byte("%PDF-")); i >= 0 || ext == ".pdf" {
		r, err := t.renderer()
		if err != nil {
			return hold(ErrNoTool, "a PDF, but no renderer is installed (Debian: mupdf-tools)")
		}
		if why := t.ocrMissing(); why != "" {
			return hold(ErrNoTool, "a PDF, but OCR is on and %s", why)
		}
		return ActionPDFOfImages, fmt.Sprintf("a PDF: every page is rendered to pixels (%s, %d DPI) and rebuilt as a PDF of images%s", r, t.cfg.DPI, t.ocrPlan()), nil
	}
	if officeExts[ext] {
		zip, ole := bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"))
		if !zip && !ole && !(ext == ".rtf" && bytes.HasPrefix(head, []byte("{\\rtf"))) {
			return hold(ErrUnsupported, "named %s but not an office document inside", ext)
		}
		if _, ok := t.paths["soffice"]; !ok {
			return hold(ErrNoTool, "an office document, but LibreOffice is not installed (Debian: %s)", packages["soffice"])
		}
		if _, err := t.renderer(); err != nil {
			return hold(ErrNoTool, "an office document, but no PDF renderer is installed (Debian: mupdf-tools)")
		}
		if why := t.ocrMissing(); why != "" {
			return hold(ErrNoTool, "an office document, but OCR is on and %s", why)
		}
		return ActionPDFOfImages, "an office document: converted to PDF by LibreOffice, then every page rendered to pixels and rebuilt as a PDF of images" + t.ocrPlan(), nil
	}
	if textExts[ext] {
		if looksText(head) {
			return ActionCleanText, "text: checked as UTF-8; control, bidirectional formatting and tag characters removed", nil
		}
		return hold(ErrUnsupported, "named %s but not text inside (binary bytes)", ext)
	}
	if ext == "" {
		return hold(ErrUnsupported, "no transformation for a file with no extension that is not an image or PDF")
	}
	return hold(ErrUnsupported, "no transformation for %s files", ext)
}

// holdError is ErrUnsupported or ErrNoTool with the reason in Plan's
// words.
type holdError struct {
	sentinel error
	why      string
}

func (e *holdError) Error() string { return e.why }
func (e *holdError) Unwrap() error { return e.sentinel }

// looksText: no NUL byte in head unless it starts with a UTF-16 byte-order
// mark.
func looksText(head []byte) bool {
	if bytes.HasPrefix(head, []byte{0xff, 0xfe}) || bytes.HasPrefix(head, []byte{0xfe, 0xff}) {
		return true
	}
	return bytes.IndexByte(head, 0) < 0
}

// Transform transforms the file at src into a new file in dir, named from
// src's name (report.docx → report.pdf, photo.jpeg → photo.jpeg, icon.gif
// → icon.png, doc.pdf → doc.pdf), and for a document with links, a sidecar
// STEM.links.txt beside it. It refuses to replace a file in dir.
//
// src must not change while it is transformed (a change is an error).
// Any failure returns an error and leaves nothing in dir: a type with no
// transformation (wraps ErrUnsupported), a missing tool (ErrNoTool), a
// tool that crashed, ran out of memory or time, or an output that fails
// Verify. The caller then holds the original: nothing is passed through.
func (t *Transformer) Transform(ctx context.Context, src, dir string) (*Result, error) {
	start := time.Now()
	name := filepath.Base(src)
	f, err := regfile.Open(src)
	if err != nil {
		return nil, fmt.Errorf("transform: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("transform: %w", err)
	}
	head := make([]byte, HeadSize)
	n, err := f.ReadAt(head, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("transform: %s: %w", safetext.Line(name), err)
	}
	head = head[:n]
	action, _, err := t.plan(name, head)
	if err != nil {
		return nil, fmt.Errorf("transform: %s: not transformed: %w", safetext.Line(name), err)
	}
	res := &Result{Action: action, OriginalSize: fi.Size()}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, fi.Size())); err != nil {
		return nil, fmt.Errorf("transform: %s: %w", safetext.Line(name), err)
	}
	h.Sum(res.OriginalSHA256[:0])
	o := &outputs{dir: dir}
	defer o.abandon()
	switch action {
	case ActionReencodeImage:
		err = t.transformImage(ctx, f, fi.Size(), name, o, res)
	case ActionCleanText:
		err = t.transformText(f, name, o, res)
	case ActionPDFOfImages:
		if officeExts[strings.ToLower(filepath.Ext(name))] && !bytes.Contains(head[:min(len(head), 1024)], []byte("%PDF-")) {
			err = t.transformOffice(ctx, src, fi.Size(), name, o, res)
		} else {
			err = t.transformPDF(ctx, src, fi.Size(), name, name, o, res)
		}
	}
	if err == nil {
		// The tools opened src by its name: it must still be the file
		// that was hashed.
		if now, serr := os.Lstat(src); serr != nil || !os.SameFile(fi, now) || now.Size() != fi.Size() || !now.ModTime().Equal(fi.ModTime()) {
			err = errors.New("the file changed while it was transformed; transform it again")
		}
	}
	if err == nil {
		err = o.keep(res)
	}
	if err != nil {
		return nil, fmt.Errorf("transform: %s: not transformed: %w", safetext.Line(name), err)
	}
	res.Duration = time.Since(start)
	return res, nil
}

// outputs are the files a transformation writes: each is a temporary file
// in dir until keep checks it with Verify and moves it to its name
// (never replacing a file); abandon removes whatever was not kept.
type outputs struct {
	dir   string
	files []*output
}

type output struct {
	name string // the final name in dir
	f    *os.File
	h    hash.Hash
	n    int64
	kept bool
	// ownPixels: a PDF or image whose pixels this package encoded; keep
	// checks all but their data's decoding (see verify).
	ownPixels bool
}

func (o *outputs) create(name string) (*output, error) {
	if _, err := os.Lstat(filepath.Join(o.dir, name)); err == nil {
		return nil, fmt.Errorf("%s exists already in %s: transform into an empty folder", safetext.Line(name), o.dir)
	}
	f, err := os.CreateTemp(o.dir, ".sluice-transform-*")
	if err != nil {
		return nil, err
	}
	out := &output{name: name, f: f, h: sha256.New()}
	o.files = append(o.files, out)
	return out, nil
}

func (w *output) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.h.Write(p[:n])
	w.n += int64(n)
	return n, err
}

// keep verifies every output, then moves each to its name; the first
// output is the Result's Output, a second its Sidecar.
func (o *outputs) keep(res *Result) error {
	for _, w := range o.files {
		// The disk writes while the CPU verifies (a 5 MB PDF: about
		// 10 ms each).
		synced := make(chan error, 1)
		go func() { synced <- w.f.Sync() }()
		err := verify(w.name, w.f, w.n, !w.ownPixels)
		if serr := <-synced; serr != nil {
			return serr
		}
		if err != nil {
			return fmt.Errorf("the output fails verification: %w", err)
		}
	}
	for i, w := range o.files {
		final := filepath.Join(o.dir, w.name)
		if err := durable.RenameNoReplace(w.f.Name(), final); err != nil {
			return fmt.Errorf("cannot name the output %s: %w", safetext.Line(w.name), err)
		}
		w.kept = true
		switch i {
		case 0:
			res.Output, res.OutputSize = final, w.n
			w.h.Sum(res.OutputSHA256[:0])
		case 1:
			res.Sidecar, res.SidecarSize = final, w.n
			w.h.Sum(res.SidecarSHA256[:0])
		}
	}
	return durable.SyncDir(o.dir)
}

func (o *outputs) abandon() {
	for _, w := range o.files {
		w.f.Close()
		if !w.kept {
			os.Remove(w.f.Name())
		} else if w.kept && o.failed() {
			os.Remove(filepath.Join(o.dir, w.name))
		}
	}
}

// failed: some output was not kept (keep stopped half way).
func (o *outputs) failed() bool {
	for _, w := range o.files {
		if !w.kept {
			return true
		}
	}
	return false
}

// stem is name without its extension.
func stem(name string) string {
	s := strings.TrimSuffix(name, filepath.Ext(name))
	if s == "" || !utf8.ValidString(s) {
		return name
	}
	return s
}
