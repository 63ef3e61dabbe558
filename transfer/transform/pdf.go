package transform

import (
	"bufio"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"golang.org/x/sync/errgroup"
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

// previewDPI is the resolution of the first, cheap pass over a range of
// pages that finds which are in colour: an A4 page is 99 × 140 pixels.
const previewDPI = 12

// maxRuns bounds the renderer runs of one range: a document whose colour
// and gray pages alternate more often is rendered in RGB in one run
// rather than restarting the renderer for each stretch.
const maxRuns = 8

// renderArgs is the command that renders pages first..last of pdf (a
// path the child sees) at dpi as binary PGM (gray) or PPM images, one
// after another, on stdout.
func (t *Transformer) renderArgs(r, pdf string, first, last, dpi int, gray bool) []string {
	d := strconv.Itoa(dpi)
	switch r {
	case "mutool":
		c, f := "rgb", "ppm"
		if gray {
			c, f = "gray", "pgm"
		}
		return []string{realPath(t.paths[r]), "draw", "-q", "-r", d, "-c", c, "-F", f, "-o", "-", pdf, fmt.Sprintf("%d-%d", first, last)}
	default:
		a := []string{realPath(t.paths[r]), "-r", d, "-f", strconv.Itoa(first), "-l", strconv.Itoa(last)}
		if gray {
			a = append(a, "-gray")
		}
		return append(a, pdf)
	}
}

// renderPDF renders every page of the PDF at path (pages of them) on up
// to Config.Workers renderers at once, each given a range of pages and
// streaming them through a pipe, and encodes each page as it arrives into
// that worker's spool file: at most one page's pixels per worker are in
// memory. It returns the pages in order, their images in the spools.
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

// renderRange renders pages first..last in two passes: a preview at
// previewDPI says which pages have colour; then each stretch of pages is
// rendered at Config.DPI in RGB if it has colour, else in gray, a third of
// the bytes to move and look at (most documents are black text).
func (t *Transformer) renderRange(ctx context.Context, r, path string, first, last, spool int, sf *os.File, out []pageImage, deadline time.Time) error {
	colour := make([]bool, len(out))
	err := t.streamPages(ctx, r, path, first, last, previewDPI, false, deadline, func(num, w, h, ch int, pix []byte) error {
		colour[num-first] = colourful(pix)
		return nil
	})
	if err != nil {
		return err
	}
	type stretch struct {
		from, to int // indexes into out, inclusive
		gray     bool
	}
	var runs []stretch
	for s := 0; s < len(out); {
		e := s
		for e+1 < len(out) && colour[e+1] == colour[s] {
			e++
		}
		runs = append(runs, stretch{s, e, !colour[s]})
		s = e + 1
	}
	if len(runs) > maxRuns {
		runs = []stretch{{0, len(out) - 1, false}}
	}
	off, err := sf.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	sw := &countWriter{w: bufio.NewWriterSize(sf, 256<<10)}
	for _, run := range runs {
		err := t.streamPages(ctx, r, path, first+run.from, first+run.to, t.cfg.DPI, run.gray, deadline, func(num, w, h, ch int, pix []byte) error {
			start := sw.n
			p, err := encodePage(pix, w, h, ch, sw)
			if err != nil {
				return fmt.Errorf("page %d: %v", num, err)
			}
			if sw.err != nil {
				return sw.err
			}
			p.Spool, p.Off, p.Length = spool, off+start, sw.n-start
			if t.cfg.OCR != "" {
				// The renderer waits while tesseract reads the page:
				// still one page's pixels per worker.
				words, err := t.ocrPage(ctx, pix, w, h, ch, deadline)
				if err != nil {
					if ctx.Err() != nil {
						return err
					}
					p.OCRErr = err.Error()
				} else if layer := textLayer(words, h, t.cfg.DPI); layer != nil {
					start := sw.n
					z := zlib.NewWriter(sw)
					io.WriteString(z, imageContent(w, h, t.cfg.DPI))
					z.Write(layer)
					if err := z.Close(); err != nil {
						return err
					}
					if sw.err != nil {
						return sw.err
					}
					p.TextOff, p.TextLength = off+start, sw.n-start
				}
			}
			out[num-first] = p
			return nil
		})
		if err != nil {
			return err
		}
	}
	return sw.w.(*bufio.Writer).Flush()
}

// streamPages runs renderer r on pages first..last of the PDF at path, at
// dpi, in gray (one byte a pixel) or RGB (three), and calls page with each
// page's pixels as they arrive (valid until it returns).
func (t *Transformer) streamPages(ctx context.Context, r, path string, first, last, dpi int, gray bool, deadline time.Time, page func(num, w, h, ch int, pix []byte) error) error {
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	defer pr.Close()
	growPipe(pw)
	// A fixed name in the sandbox keeps a hostile name out of the
	// renderer's arguments.
	pdf := t.at(path, "/in/doc.pdf")
	j := job{
		name:    r,
		argv:    t.renderArgs(r, pdf, first, last, dpi, gray),
		binds:   []bind{{src: path, dst: "/in/doc.pdf"}},
		stdout:  pw,
		timeout: time.Until(deadline),
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type decodeResult struct {
		err error
		// bad: the pages were refused (too large, too many, not
		// encoded), and the renderer stopped for that; else a failed
		// read is the renderer's failure, which its exit says best.
		bad bool
	}
	decoded := make(chan decodeResult, 1)
	go func() {
		ch := 3
		if gray {
			ch = 1
		}
		err := t.readPages(pr, first, last-first+1, dpi, ch, page)
		var bad *badPages
		isBad := err != nil && (errors.As(err, &bad) || !errors.Is(err, errRendererOutput))
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

// errRendererOutput marks a read of the renderer's output that failed
// (cut short, not an image): the renderer's own exit says why best.
var errRendererOutput = errors.New("the renderer's output")

// readPages reads n binary PGM (ch 1) or PPM (ch 3) images from r, the
// first being page first, and hands each to page.
func (t *Transformer) readPages(r io.Reader, first, n, dpi, ch int, page func(num, w, h, ch int, pix []byte) error) error {
	br := bufio.NewReaderSize(r, 1<<20)
	var buf []byte
	for i := range n {
		num := first + i
		w, h, c, err := ppmHeader(br)
		if err != nil {
			return fmt.Errorf("%w: page %d did not render: %v", errRendererOutput, num, err)
		}
		if c != ch {
			return &badPages{fmt.Sprintf("the renderer wrote page %d with %d channels, not %d", num, c, ch)}
		}
		if w > maxSide || h > maxSide || int64(w)*int64(h) > t.cfg.MaxPixels {
			return &badPages{fmt.Sprintf("page %d is %d × %d pixels at %d DPI, more than the %d × %d or %d million pixels allowed", num, w, h, dpi, maxSide, maxSide, t.cfg.MaxPixels/1e6)}
		}
		size := w * h * ch
		if cap(buf) < size {
			buf = make([]byte, size)
		}
		buf = buf[:size]
		if _, err := io.ReadFull(br, buf); err != nil {
			return fmt.Errorf("%w: page %d did not render whole: %v", errRendererOutput, num, err)
		}
		if err := page(num, w, h, ch, buf); err != nil {
			return err
		}
	}
	if _, err := br.Peek(1); err != io.EOF {
		return &badPages{fmt.Sprintf("the renderer wrote more than the %d pages asked for", n)}
	}
	return nil
}

// ppmHeader reads a binary PGM or PPM header ("P5" or "P6", width,
// height, 255, separated by whitespace, comments allowed) and the one
// whitespace byte after it; ch is 1 for PGM, 3 for PPM.
func ppmHeader(br *bufio.Reader) (w, h, ch int, err error) {
	var fields [4]string
	for i := range fields {
		var tok []byte
		for {
			c, err := br.ReadByte()
			if err != nil {
				return 0, 0, 0, err
			}
			if c == '#' && len(tok) == 0 {
				if _, err := br.ReadBytes('\n'); err != nil {
					return 0, 0, 0, err
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
				return 0, 0, 0, fmt.Errorf("not a PPM image")
			}
			tok = append(tok, c)
		}
		fields[i] = string(tok)
	}
	switch fields[0] {
	case "P5":
		ch = 1
	case "P6":
		ch = 3
	}
	if ch == 0 || fields[3] != "255" {
		return 0, 0, 0, fmt.Errorf("not an 8-bit PGM or PPM image (%q, %q)", fields[0], fields[3])
	}
	w, err1 := strconv.Atoi(fields[1])
	h, err2 := strconv.Atoi(fields[2])
	if err1 != nil || err2 != nil || w < 1 || h < 1 {
		return 0, 0, 0, fmt.Errorf("a PPM image of %q × %q pixels", fields[1], fields[2])
	}
	return w, h, ch, nil
}
