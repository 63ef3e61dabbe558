package transform

import (
	"bufio"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
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
// pages that finds which are in colour, where the renderer cannot say
// (see renderWalk): an A4 page is 99 × 140 pixels.
const previewDPI = 12

// maxRuns bounds the runs of one previewed range: a document whose colour
// and gray pages alternate more often is rendered in RGB in one run
// rather than restarting the renderer for each stretch.
const maxRuns = 8

// pass is one run of the renderer.
type pass struct {
	// pages are the page numbers to render in order; pdftoppm takes
	// only a rising range.
	pages []int
	dpi   int
	// gray: one byte a pixel (PGM), else three (PPM).
	gray bool
	// colours, when set (mutool only), learns from the renderer which
	// of the pages hold colour.
	colours *pageColours
	// spec and later, when later is set, stand for pages while the
	// page count is not known: spec is mutool's page list ("1-N",
	// "N-1"), and later waits for the count and gives the pages.
	spec  string
	later func(context.Context) ([]int, error)
}

// renderArgs is the command that renders pass's pages of pdf (a path the
// child sees) as binary PGM or PPM images, one after another, on stdout.
func (t *Transformer) renderArgs(r, pdf string, ps pass) []string {
	d := strconv.Itoa(ps.dpi)
	spec := ps.spec
	if ps.later == nil {
		spec = pageList(ps.pages)
	}
	switch r {
	case "mutool":
		c, f := "rgb", "ppm"
		if ps.gray {
			c, f = "gray", "pgm"
		}
		a := []string{realPath(t.paths[r]), "draw", "-q", "-r", d, "-c", c, "-F", f, "-o", "-"}
		if ps.colours != nil {
			a = append(a, "-s", "f")
		}
		return t.buffered(append(a, pdf, spec))
	default:
		a := []string{realPath(t.paths[r]), "-r", d, "-f", strconv.Itoa(ps.pages[0]), "-l", strconv.Itoa(ps.pages[len(ps.pages)-1])}
		if ps.gray {
			a = append(a, "-gray")
		}
		return t.buffered(append(a, pdf))
	}
}

// buffered runs argv with a 1 MiB buffer on its stdout (coreutils'
// stdbuf), when stdbuf is there. The renderers write a page's pixels to
// stdout a row or two at a time: mutool makes 800 write calls for a gray
// A4 page at 150 DPI, which cost it a third more than drawing the page.
// Buffered, it makes 35, and two renderers drawing a 141-page document
// into pipes take 0.32 s instead of 0.44 s (0.59 core-seconds, not 0.87).
func (t *Transformer) buffered(argv []string) []string {
	if p, ok := t.paths["stdbuf"]; ok {
		return append([]string{realPath(p), "-o", "1M"}, argv...)
	}
	return argv
}

// pageList writes page numbers as mutool's page list: runs joined by
// commas, a run going up or down ("1-5,7,12-9").
func pageList(pages []int) string {
	var b strings.Builder
	for i := 0; i < len(pages); {
		j := i
		if i+1 < len(pages) {
			if step := pages[i+1] - pages[i]; step == 1 || step == -1 {
				for j+1 < len(pages) && pages[j+1] == pages[j]+step {
					j++
				}
			}
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(pages[i]))
		if j > i {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(pages[j]))
		}
		i = j + 1
	}
	return b.String()
}

// pageRange returns first, first±1, … last: up or down.
func pageRange(first, last int) []int {
	step := 1
	if last < first {
		step = -1
	}
	pages := make([]int, 0, (last-first)*step+1)
	for n := first; ; n += step {
		pages = append(pages, n)
		if n == last {
			return pages
		}
	}
}

// walk is a renderer's way through a document: the pages it draws in
// order, given the page count n, until it meets a page another renderer
// took. spec is mutool's page list for it, which may name the last page
// "N" before n is known.
type walk struct {
	spec  string
	pages func(n int) []int
}

// walkUp and walkDown are the first two walks: the whole document from
// its first page up, and from its last page down. They need no page count
// to start, so they start while the pdfinfo worker counts the pages.
var (
	walkUp   = walk{"1-N", func(n int) []int { return pageRange(1, n) }}
	walkDown = walk{"N-1", func(n int) []int { return pageRange(n, 1) }}
)

// fixed is a walk of known pages.
func fixed(pages []int) walk {
	return walk{pageList(pages), func(int) []int { return pages }}
}

// walks divides pages 1..n among w renderers so that each stops where
// another has already been, and none waits on a fixed share: in pairs,
// one walking up from its stretch's first page to the document's end,
// the other down from its stretch's last page to the first. Pages cost
// what they hold (a scan or a chart may take ten times a page of text),
// and fixed halves left one of two cores idle for 0–43 ms of a 0.6 s
// transform of a 142-page text document. With w odd, the first stretch
// has one renderer, walking up. The first two walks are walkUp and
// walkDown (one walk, walkUp, for w = 1).
//
// Every page is reached, by the walk that gets there first: a walk up
// stops only at a page taken, so a page missed would lie between a walk
// down's start and, next to it, a walk up's start with no page between
// them, and stretches leave none.
func walks(n, w int) []walk {
	ways := []walk{walkUp}
	if w == 1 {
		return ways
	}
	ways = append(ways, walkDown)
	first := 1
	if w%2 == 1 {
		first = n/w + 1 // the first stretch is walkUp's alone
	}
	for k := w % 2; k < w; k += 2 {
		last := (k + 2) * n / w
		if first != 1 {
			ways = append(ways, fixed(pageRange(first, n)))
		}
		if last != n {
			ways = append(ways, fixed(pageRange(last, 1)))
		}
		first = last + 1
	}
	return ways
}

// taken records the pages a walk has reached first.
type taken struct {
	mu   sync.Mutex
	page []bool // page n at n-1
	n    int
}

// take reports whether page num is the caller's to encode: it was not
// taken before.
func (t *taken) take(num int) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.page[num-1] {
		return false
	}
	t.page[num-1] = true
	t.n++
	return true
}

// errMet ends a walk at a page another renderer drew first.
var errMet = errors.New("met another walk")

// pdfDoc is what the pdfinfo worker says of a document being rendered,
// and which renderer took each page; renderers that start before it
// answers wait for it before they read a page.
type pdfDoc struct {
	ready chan struct{} // closed once info or err is set
	info  *workerReply
	err   error
	out   []pageImage
	tk    *taken
}

func newPDFDoc() *pdfDoc { return &pdfDoc{ready: make(chan struct{})} }

// set gives the pdfinfo worker's answer, once.
func (d *pdfDoc) set(info *workerReply, err error) {
	d.info, d.err = info, err
	if err == nil {
		d.out = make([]pageImage, info.Pages)
		d.tk = &taken{page: make([]bool, info.Pages)}
	}
	close(d.ready)
}

// wait waits for the pdfinfo worker's answer.
func (d *pdfDoc) wait(ctx context.Context) error {
	select {
	case <-d.ready:
		return d.err
	case <-ctx.Done():
		return fmt.Errorf("rendering stopped: %w", context.Cause(ctx))
	}
}

// errColourBlind stops renderers that started drawing in gray before the
// pdfinfo worker found the document holding what mutool's colour test
// does not see: it is drawn again, in RGB throughout.
var errColourBlind = errors.New("drawn again in RGB")

// overTime is the cause of a rendering stopped at its deadline, which
// the renderers that started before the page count was known were not
// given: budget is the time allowed.
type overTime struct{ budget time.Duration }

func (o *overTime) Error() string        { return "took longer than " + o.budget.Round(time.Second).String() }
func (o *overTime) Is(target error) bool { return target == errTimeout }

// renderPDF renders every page of the PDF at path (of size bytes) on up to
// len(spools) renderers at once, each streaming its pages through a pipe,
// and encodes each page as it arrives into that renderer's spool file: at
// most one page's pixels per renderer are in memory. mutool's renderers
// walk the document until they meet (walks), the first two starting at
// once, while the pdfinfo worker, whose answer doc waits for, counts the
// pages; pdftoppm, which takes only a rising range, gets equal ranges once
// the count is known. It returns the pages in order, their images in the
// spools, and stops them all at the deadline the page count gives
// (Config.Timeout, and OCR's time a page).
func (t *Transformer) renderPDF(ctx context.Context, r, path string, size int64, doc *pdfDoc, spools []*os.File) ([]pageImage, error) {
	start := time.Now()
	budget := func(pages int) time.Duration {
		b := t.cfg.Timeout(pages, size)
		if t.cfg.OCR != "" {
			b += time.Duration(pages) * ocrPerPage
		}
		return b
	}
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	g, gctx := errgroup.WithContext(ctx)
	early := 0
	if r == "mutool" {
		// Until the page count is known, the most it may be.
		guess := start.Add(budget(t.cfg.MaxPages))
		for w, way := range []walk{walkUp, walkDown}[:min(len(spools), 2)] {
			early++
			g.Go(func() error {
				return t.renderWalk(gctx, r, path, doc, way, false, w, spools[w], guess)
			})
		}
	}
	if err := doc.wait(ctx); err != nil {
		// The pdfinfo worker's error (it says best why a document cannot
		// be read), else the first renderer's.
		stop(err)
		gerr := g.Wait()
		select {
		case <-doc.ready:
			if doc.err != nil {
				return nil, doc.err
			}
		default:
		}
		if gerr != nil {
			return nil, gerr
		}
		return nil, err
	}
	pages := doc.info.Pages
	deadline := start.Add(budget(pages))
	timer := time.AfterFunc(time.Until(deadline), func() { stop(&overTime{budget(pages)}) })
	defer timer.Stop()
	workers := min(len(spools), pages)
	var ways []walk
	if r == "mutool" {
		ways = walks(pages, max(workers, early))
	} else {
		for w := 0; w < workers; w++ {
			ways = append(ways, fixed(pageRange(1+w*pages/workers, (w+1)*pages/workers)))
		}
	}
	allRGB := doc.info.ColourBlind
	if allRGB && early > 0 {
		// The first renderers stop at errColourBlind, having taken no
		// page: all start again, in RGB.
		if err := g.Wait(); err != nil && !errors.Is(err, errColourBlind) {
			return nil, err
		}
		g, gctx = errgroup.WithContext(ctx)
		early = 0
	}
	for w := early; w < len(ways); w++ {
		g.Go(func() error {
			return t.renderWalk(gctx, r, path, doc, ways[w], allRGB, w, spools[w], deadline)
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if doc.tk.n != pages {
		return nil, fmt.Errorf("%d of %d pages were rendered", doc.tk.n, pages)
	}
	return doc.out, nil
}

// renderWalk renders the pages of way in its order at Config.DPI until it
// meets a page another renderer took, in gray where a page has no colour
// (a third of the bytes to move and look at: most documents are black
// text) and in RGB where it has, and encodes each into doc.out.
//
// mutool draws every page in gray once, saying as it goes which pages
// have colour (its -s f test device); those alone are drawn again in
// RGB. Where its test cannot be trusted, every page is drawn in RGB and
// encodePage judges each from its pixels: for a document the pdfinfo
// worker found holding what the test does not see (allRGB; see
// colourTestBlind), and for the rest of a run once mutool says it is
// repairing the file (it may then read objects pdfcpu did not). pdftoppm
// cannot say, so a preview at previewDPI finds its colour pages first,
// and each stretch of them or of gray pages is rendered in its own run.
func (t *Transformer) renderWalk(ctx context.Context, r, path string, doc *pdfDoc, way walk, allRGB bool, spool int, sf *os.File, deadline time.Time) error {
	off, err := sf.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	sw := &countWriter{w: bufio.NewWriterSize(sf, 256<<10)}
	// pagesOf gives way's pages once the pdfinfo worker has counted them.
	pagesOf := func(ctx context.Context) ([]int, error) {
		if err := doc.wait(ctx); err != nil {
			return nil, err
		}
		if doc.info.ColourBlind && !allRGB {
			return nil, errColourBlind
		}
		return way.pages(doc.info.Pages), nil
	}
	encode := func(num, w, h, ch int, pix []byte) error {
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
			} else if layer, wide := textLayer(words, h, t.cfg.DPI); layer != nil {
				p.Wide = wide
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
		doc.out[num-1] = p
		return nil
	}
	// walk runs one pass over way, ending it without error where another
	// renderer has been.
	walk := func(ps pass, page func(num, w, h, ch int, pix []byte) error) error {
		err := t.streamPages(ctx, r, path, ps, deadline, func(num, w, h, ch int, pix []byte) error {
			if !doc.tk.take(num) {
				return errMet
			}
			return page(num, w, h, ch, pix)
		})
		if errors.Is(err, errMet) {
			return nil
		}
		return err
	}
	var passes []pass
	if allRGB {
		pages, err := pagesOf(ctx)
		if err != nil {
			return err
		}
		if err := walk(pass{pages: pages, dpi: t.cfg.DPI}, encode); err != nil {
			return err
		}
	} else if r == "mutool" {
		colours := &pageColours{}
		var again []int
		ps := pass{dpi: t.cfg.DPI, gray: true, colours: colours, spec: way.spec, later: pagesOf}
		err := walk(ps, func(num, w, h, ch int, pix []byte) error {
			colour, known := colours.wait(num)
			if err := colours.err(); err != nil {
				return err
			}
			if colour || !known {
				again = append(again, num) // drawn again in RGB, which encodePage judges for itself
				return nil
			}
			return encode(num, w, h, ch, pix)
		})
		if err == nil {
			err = colours.err() // after its last page
		}
		if err != nil {
			return err
		}
		if len(again) > 0 {
			passes = append(passes, pass{pages: again, dpi: t.cfg.DPI})
		}
	} else {
		// A rising range of its own: every page is this renderer's.
		way, err := pagesOf(ctx)
		if err != nil {
			return err
		}
		for _, num := range way {
			doc.tk.take(num)
		}
		first := way[0]
		colour := make([]bool, len(way))
		err = t.streamPages(ctx, r, path, pass{pages: way, dpi: previewDPI}, deadline, func(num, w, h, ch int, pix []byte) error {
			colour[num-first] = colourful(pix)
			return nil
		})
		if err != nil {
			return err
		}
		for s := 0; s < len(way); {
			e := s
			for e+1 < len(way) && colour[e+1] == colour[s] {
				e++
			}
			passes = append(passes, pass{pages: pageRange(first+s, first+e), dpi: t.cfg.DPI, gray: !colour[s]})
			s = e + 1
		}
		if len(passes) > maxRuns {
			passes = []pass{{pages: way, dpi: t.cfg.DPI}}
		}
	}
	for _, ps := range passes {
		if err := t.streamPages(ctx, r, path, ps, deadline, encode); err != nil {
			return err
		}
	}
	return sw.w.(*bufio.Writer).Flush()
}

// streamPages runs renderer r over the PDF at path as ps says, and calls
// page with each page's pixels as they arrive (valid until it returns).
func (t *Transformer) streamPages(ctx context.Context, r, path string, ps pass, deadline time.Time, page func(num, w, h, ch int, pix []byte) error) error {
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	defer pr.Close()
	growPipe(pw)
	// A name of ours in the sandbox keeps a hostile name out of the
	// renderer's arguments; a random one, which the document cannot know,
	// keeps it from quoting its own page's colour verdict in a warning.
	inside := fmt.Sprintf("/in/%016x.pdf", rand.Uint64())
	pdf := t.at(path, inside)
	j := job{
		name:    r,
		argv:    t.renderArgs(r, pdf, ps),
		binds:   []bind{{src: path, dst: inside}},
		stdout:  pw,
		timeout: time.Until(deadline),
	}
	if ps.colours != nil {
		ps.colours.start(pdf, ps.pages) // nil while later is to say
		j.filter = ps.colours
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type decodeResult struct {
		err error
		// bad: the pages were refused (too large, too many, not
		// encoded), and the renderer stopped for that; else a failed
		// read is the renderer's failure, which its exit says best.
		bad bool
		// unread: the pages were never known (later failed): a
		// renderer that failed meanwhile says why best.
		unread bool
	}
	decoded := make(chan decodeResult, 1)
	go func() {
		ch := 3
		if ps.gray {
			ch = 1
		}
		pages, err := ps.pages, error(nil)
		if ps.later != nil {
			// The renderer draws meanwhile, until the pipe is full.
			if pages, err = ps.later(ctx); err == nil && ps.colours != nil {
				ps.colours.expect(pages)
			}
		}
		unread := err != nil
		if err == nil {
			err = t.readPages(pr, pages, ps.dpi, ch, page)
		}
		var bad *badPages
		isBad := err != nil && (errors.As(err, &bad) || !errors.Is(err, errRendererOutput))
		if isBad {
			cancel() // stop the renderer: its output is of no use
		}
		io.Copy(io.Discard, pr)
		decoded <- decodeResult{err, isBad, unread}
	}()
	runErr := t.run(ctx, j)
	// The renderer failed by itself, not stopped by the reader or ctx.
	failed := runErr != nil && ctx.Err() == nil
	if runErr != nil {
		cancel() // a reader still waiting for the pages stops
	}
	pw.Close()
	d := <-decoded
	switch {
	case d.bad && !(d.unread && failed):
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

// readPages reads a binary PGM (ch 1) or PPM (ch 3) image from r for
// each of pages, and hands each to page.
func (t *Transformer) readPages(r io.Reader, pages []int, dpi, ch int, page func(num, w, h, ch int, pix []byte) error) error {
	br := bufio.NewReaderSize(r, 1<<20)
	var buf []byte
	for _, num := range pages {
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
		return &badPages{fmt.Sprintf("the renderer wrote more than the %d pages asked for", len(pages))}
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
