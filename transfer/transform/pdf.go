package transform

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"
)

// maxSide bounds a rendered page's width and height in pixels
// (Dangerzone's MAX_PAGE_WIDTH and MAX_PAGE_HEIGHT).
const maxSide = 10000

// renderer returns the renderer to use: mutool, else pdftoppm.
func (t *Transformer) renderer() (string, error) {
	for _, r := range []string{"mutool", "pdftoppm"} {
		if _, ok := t.paths[r]; ok {
			return r, nil
		}
	}
	return "", fmt.Errorf("%w: no PDF renderer (Debian: apt-get install mupdf-tools, or poppler-utils)", ErrNoTool)
}

// renderArgs is the command that renders pages first..last of pdf (a
// path the child sees) as binary PPM images, one after another, on
// stdout.
func (t *Transformer) renderArgs(r, pdf string, first, last int) []string {
	dpi := strconv.Itoa(t.cfg.DPI)
	switch r {
	case "mutool":
		return []string{realPath(t.paths[r]), "draw", "-q", "-r", dpi, "-F", "ppm", "-o", "-", pdf, fmt.Sprintf("%d-%d", first, last)}
	default:
		return []string{realPath(t.paths[r]), "-r", dpi, "-f", strconv.Itoa(first), "-l", strconv.Itoa(last), pdf}
	}
}

// renderPDF renders every page of the PDF at path (pages of them) on up
// to Config.Workers renderers at once, each given a range of pages and
// streaming them as PPM through a pipe, and encodes each page as it
// arrives into that worker's spool file: at most one page's pixels per
// worker are in memory. It returns the pages in order and the spools
// holding their images.
func (t *Transformer) renderPDF(ctx context.Context, r, path string, pages int, spools []*os.File, deadline time.Time) ([]pageImage, error) {
	workers := min(len(spools), pages)
	out := make([]pageImage, pages)
	g, ctx := errgroup.WithContext(ctx)
	for w := 0; w < workers; w++ {
		first := 1 + w*pages/workers
		last := (w + 1) * pages / workers
		g.Go(func() error {
			return t.renderRange(ctx, r, path, first, last, w, spools[w], out[first-1:last], deadline)
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

func (t *Transformer) renderRange(ctx context.Context, r, path string, first, last, spool int, sf *os.File, out []pageImage, deadline time.Time) error {
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	defer pr.Close()
	// A larger pipe (1 MiB rather than 64 KiB) moves a 6.5 MB page in
	// fewer wake-ups of the reader and the renderer.
	unix.FcntlInt(pw.Fd(), unix.F_SETPIPE_SZ, 1<<20)
	pdf := t.at(path, "/in/doc.pdf")
	j := job{
		name:    r,
		argv:    t.renderArgs(r, pdf, first, last),
		binds:   []bind{{src: path, dst: "/in/doc.pdf"}},
		stdout:  pw,
		timeout: time.Until(deadline),
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type decodeResult struct {
		err error
		// bad: the pages were refused (too large, too many), and the
		// renderer stopped for that; else a failed read is the
		// renderer's failure, which its exit says best.
		bad bool
	}
	decoded := make(chan decodeResult, 1)
	go func() {
		err := t.readPages(pr, first, sf, spool, out)
		var bad *badPages
		isBad := errors.As(err, &bad)
		if isBad {
			cancel() // stop the renderer: its output is of no use
		}
		io.Copy(io.Discard, pr)
		decoded <- decodeResult{err, isBad}
	}()
	runErr := t.run(ctx, j)
	pw.Close()
	d := <-decoded
	switch {
	case d.bad:
		return d.err
	case runErr != nil:
		return runErr
	}
	return d.err
}

// badPages is a refusal of what the renderer wrote.
type badPages struct{ msg string }

func (b *badPages) Error() string { return b.msg }

// readPages reads len(out) binary PPM images from r and encodes each into
// sf.
func (t *Transformer) readPages(r io.Reader, first int, sf *os.File, spool int, out []pageImage) error {
	br := bufio.NewReaderSize(r, 1<<20)
	var buf []byte
	off, err := sf.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	sw := &countWriter{w: bufio.NewWriterSize(sf, 256<<10)}
	for i := range out {
		page := first + i
		w, h, err := ppmHeader(br)
		if err != nil {
			return fmt.Errorf("page %d did not render: %v", page, err)
		}
		if w > maxSide || h > maxSide || int64(w)*int64(h) > t.cfg.MaxPixels {
			return &badPages{fmt.Sprintf("page %d is %d × %d pixels at %d DPI, more than the %d × %d or %d million pixels allowed", page, w, h, t.cfg.DPI, maxSide, maxSide, t.cfg.MaxPixels/1e6)}
		}
		n := w * h * 3
		if cap(buf) < n {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(br, buf); err != nil {
			return fmt.Errorf("page %d did not render whole: %v", page, err)
		}
		start := sw.n
		p, err := encodePage(buf, w, h, sw)
		if err != nil {
			return fmt.Errorf("page %d: %v", page, err)
		}
		if sw.err != nil {
			return sw.err
		}
		p.Spool, p.Off, p.Length = spool, off+start, sw.n-start
		out[i] = p
	}
	if _, err := br.Peek(1); err != io.EOF {
		return &badPages{fmt.Sprintf("the renderer wrote more than the %d pages asked for", len(out))}
	}
	return sw.w.(*bufio.Writer).Flush()
}

// ppmHeader reads a binary PPM header ("P6", width, height, 255, each
// separated by whitespace, comments allowed) and the one whitespace byte
// after it.
func ppmHeader(br *bufio.Reader) (w, h int, err error) {
	var fields [4]string
	for i := range fields {
		var tok []byte
		for {
			c, err := br.ReadByte()
			if err != nil {
				return 0, 0, err
			}
			if c == '#' && len(tok) == 0 {
				if _, err := br.ReadBytes('\n'); err != nil {
					return 0, 0, err
				}
				continue
			}
			if c == ' ' || c == '\n' || c == '\r' || c == '\t' {
				if len(tok) == 0 {
					continue
				}
				break
			}
			if len(tok) > 10 {
				return 0, 0, fmt.Errorf("not a PPM image")
			}
			tok = append(tok, c)
		}
		fields[i] = string(tok)
	}
	if fields[0] != "P6" || fields[3] != "255" {
		return 0, 0, fmt.Errorf("not an 8-bit RGB PPM image (%q, %q)", fields[0], fields[3])
	}
	w, err1 := strconv.Atoi(fields[1])
	h, err2 := strconv.Atoi(fields[2])
	if err1 != nil || err2 != nil || w < 1 || h < 1 {
		return 0, 0, fmt.Errorf("a PPM image of %q × %q pixels", fields[1], fields[2])
	}
	return w, h, nil
}
