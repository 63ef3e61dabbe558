package transform

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// transformPDF rebuilds the PDF at path as a PDF of images: its page count
// and links read (the pdfinfo worker, pdfcpu) while its pages are rendered
// and encoded (renderPDF), then the new PDF written (writePDF). shown is
// the name the output and sidecar are named after.
func (t *Transformer) transformPDF(ctx context.Context, path string, size int64, original, shown string, o *outputs, res *Result) error {
	r, err := t.renderer()
	if err != nil {
		return err
	}
	// The renderer's version, which the result names, is asked while
	// the document is read and rendered rather than after.
	asked := make(chan struct{})
	go func() {
		t.version(r)
		close(asked)
	}()
	defer func() { <-asked }()
	// The pdfinfo worker counts the pages and checks the document while
	// the first renderers start drawing (renderPDF): they read no page
	// before it answers.
	doc := newPDFDoc()
	ictx, stop := context.WithCancel(ctx)
	defer func() {
		stop() // if rendering failed first
		<-doc.ready
	}()
	go func() {
		f, err := os.Open(path)
		if err != nil {
			doc.set(nil, err)
			return
		}
		info, err := t.worker(ictx, "pdfinfo", workerOpts{MaxPages: t.cfg.MaxPages}, f, size, nil)
		f.Close()
		doc.set(info, err)
	}()
	spools := make([]*os.File, t.cfg.Workers)
	for i := range spools {
		s, err := os.CreateTemp(t.cfg.TempDir, "sluice-pages-*")
		if err != nil {
			return fmt.Errorf("cannot make a spool file for rendered pages: %w", err)
		}
		os.Remove(s.Name()) // anonymous: gone when closed, whatever happens
		defer s.Close()
		spools[i] = s
	}
	pages, err := t.renderPDF(ctx, r, path, size, doc, spools)
	if err != nil {
		return err
	}
	info := doc.info
	if err := t.ocrResult(pages, res); err != nil {
		return err
	}
	out, err := o.create(stem(shown) + ".pdf")
	if err != nil {
		return err
	}
	out.ownPixels = true
	err = writePDF(out, pages, t.cfg.DPI, func(i int, text bool, w io.Writer) error {
		p := pages[i]
		off, n := p.Off, p.Length
		if text {
			off, n = p.TextOff, p.TextLength
		}
		_, err := io.Copy(w, io.NewSectionReader(spools[p.Spool], off, n))
		return err
	})
	if err != nil {
		return fmt.Errorf("cannot write the new PDF: %w", err)
	}
	res.Pages = len(pages)
	if res.Tool == "" {
		res.Tool, res.ToolVersion = r, t.version(r)
	} else {
		res.Notes = append(res.Notes, fmt.Sprintf("pages rendered by %s %s", r, t.version(r)))
	}
	kinds := map[string]int{}
	for _, p := range pages {
		kinds[p.Kind]++
	}
	if n := kinds["photo"] + kinds["photo-gray"]; n > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("%d of %d pages photographic, kept as JPEG (quality %d)", n, len(pages), pageJPEGQuality))
	}
	if info.LinkError != "" {
		res.Notes = append(res.Notes, "links not all listed: "+info.LinkError)
	}
	if len(info.Links) > 0 {
		side, err := o.create(stem(shown) + ".links.txt")
		if err != nil {
			return err
		}
		if _, err := side.Write(linksText(original, info.Links)); err != nil {
			return err
		}
		res.Links = len(info.Links)
	}
	return nil
}

// transformOffice converts an office document to PDF with LibreOffice in
// the sandbox, then rebuilds that PDF as images. LibreOffice gets a
// private profile per conversion (two conversions sharing one fail:
// unoconv issue #364) and --safe-mode's defaults (no extensions, no
// customisation); it can exit 0 without writing anything (Dangerzone's
// finding), so the PDF's presence is what counts.
func (t *Transformer) transformOffice(ctx context.Context, path string, size int64, name string, o *outputs, res *Result) error {
	work, err := os.MkdirTemp(t.cfg.TempDir, "sluice-office-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	outDir := filepath.Join(work, "out")
	profile := filepath.Join(work, "profile")
	for _, d := range []string{outDir, profile} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return err
		}
	}
	// The input by a fixed name with its type's extension, which is how
	// LibreOffice picks its import filter.
	inName := "input" + strings.ToLower(filepath.Ext(name))
	in := t.at(path, "/in/"+inName)
	if t.cfg.NoSandbox {
		// Without a sandbox the input cannot be renamed by a bind: link it.
		in = filepath.Join(work, inName)
		if err := os.Symlink(path, in); err != nil {
			return err
		}
	}
	j := job{
		name: "LibreOffice",
		argv: []string{realPath(t.paths["soffice"]), "--headless", "--safe-mode", "--norestore", "--nologo", "--nodefault", "--nolockcheck",
			"-env:UserInstallation=file://" + t.at(profile, "/tmp/profile"),
			"--convert-to", "pdf", "--outdir", t.at(outDir, "/out"), in},
		binds: []bind{{src: path, dst: "/in/" + inName}, {src: outDir, dst: "/out", rw: true}},
		dir:   t.at(work, "/tmp"),
		// Office documents have no page count until converted.
		timeout: t.cfg.Timeout(0, size),
	}
	if err := t.run(ctx, j); err != nil {
		return err
	}
	pdf := filepath.Join(outDir, "input.pdf")
	fi, err := os.Lstat(pdf)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() == 0 {
		return fmt.Errorf("LibreOffice did not convert it to PDF (a damaged or unsupported document?)")
	}
	res.Tool, res.ToolVersion = "soffice", t.version("soffice")
	return t.transformPDF(ctx, pdf, fi.Size(), name, name, o, res)
}
