package transform

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"
)

// pageColours reads what `mutool draw -s f` writes on stderr for each page
// it draws, before the page's pixels: "page NAME N color" or "page NAME N
// grayscale" (mupdf's mudraw.c, drawpage: one fprintf, after the colour
// test has run, so the test's warnings come before it, never inside). Its
// newline comes only after the page is drawn, so a warning may follow on
// the same line. mupdf's test
// device calls a page colour when any colour on it is more than 2% from
// gray, or it holds an image in a colour space (it does not look inside
// Type 3 glyphs: see renderWalk). Everything else on stderr is passed on,
// for the error message, but the newline that ends a verdict's line.
//
// The renderer reads a hostile document, and the document's own text can
// reach stderr in a warning. The document's name in the sandbox is
// random, so a page cannot quote a verdict: each is mutool's own, and the
// verdicts come in the order of the pages drawn. One for another page than
// the next of the run means mutool is not drawing the pages asked for, in
// their order (it counts or orders the pages otherwise than pdfcpu did: a
// review found a page tree defined twice in an object stream, which each
// read its own way): no verdict is trusted after it, and err says so, for
// the run to fail rather than put a page's pixels in another's place.
//
// Once mutool says it is repairing the file ("trying to repair broken
// xref", "repairing PDF document"), no verdict is trusted: it may draw
// objects that pdfcpu, which looked for what its test does not see
// (colourTestBlind), did not read.
type pageColours struct {
	mu     sync.Mutex
	prefix []byte // "page NAME "
	pend   []byte // bytes that may begin a verdict, not yet passed on
	rest   io.Writer
	pages  []int // the run's pages; pages[next] is the one a verdict may name
	next   int
	// eol: a verdict was just taken; a newline next is its line's end.
	eol    bool
	colour map[int]bool
	// changed is closed when a verdict arrives.
	changed chan struct{}
	// silent: a page's verdict did not come in time, or mutool is
	// repairing the file; the rest are not waited for.
	silent bool
	// seen ends what was passed on, to find "repair" across writes.
	seen []byte
	// queued are the verdicts read before the run's pages were known
	// (start with none; expect gives them), in order, at most maxQueued.
	queued []verdict
	// wrong: a verdict named another page than the next (see err).
	wrong string
}

// verdict is a page's colour verdict, read before the page was expected.
type verdict struct {
	page   int
	colour bool
}

// maxQueued bounds the verdicts kept before expect: a renderer draws the
// pages its pipe holds while they are counted (dozens when they are small:
// a review found 16 too few for 100-point pages), one per page of a
// document Verify would take. One beyond is not taken (its page is drawn
// again in RGB: slower, never wrong).
const maxQueued = maxPagesLimit

// start prepares for a run of the renderer on pages (in order) of the
// document it sees as name; with pages nil, expect gives them later.
func (c *pageColours) start(name string, pages []int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.prefix = []byte("page " + name + " ")
	c.pages, c.next, c.eol = pages, 0, false
	c.pend, c.colour, c.changed, c.silent, c.seen, c.queued, c.wrong = nil, map[int]bool{}, make(chan struct{}), false, nil, nil, ""
}

// expect gives the run's pages (in order) to a run started with none, and
// takes the verdicts read meanwhile by the same rule as later ones.
func (c *pageColours) expect(pages []int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pages = pages
	for _, v := range c.queued {
		c.take(v.page, v.colour)
	}
	c.queued = nil
}

func (c *pageColours) passOn(w io.Writer) {
	c.mu.Lock()
	c.rest = w
	c.mu.Unlock()
}

var (
	verdictGray   = []byte(" grayscale")
	verdictColour = []byte(" color")
)

// Write takes the verdicts out of the renderer's stderr and passes on the
// rest, holding back only what may be the start of a verdict.
func (c *pageColours) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pend = append(c.pend, b...)
	for {
		if c.eol && len(c.pend) > 0 {
			if c.pend[0] == '\n' {
				c.pend = append(c.pend[:0], c.pend[1:]...)
			}
			c.eol = false
		}
		i := bytes.Index(c.pend, c.prefix)
		if i < 0 {
			// Keep what could begin the prefix.
			keep := min(len(c.pend), len(c.prefix)-1)
			c.give(c.pend[:len(c.pend)-keep])
			c.pend = append(c.pend[:0], c.pend[len(c.pend)-keep:]...)
			return len(b), nil
		}
		c.give(c.pend[:i])
		rest := c.pend[i+len(c.prefix):]
		j := 0
		for j < len(rest) && j < 10 && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		v := rest[j:]
		partial := len(v) < len(verdictGray) && bytes.HasPrefix(verdictGray, v) ||
			len(v) < len(verdictColour) && bytes.HasPrefix(verdictColour, v)
		if j < 10 && j == len(rest) || j > 0 && partial {
			c.pend = append(c.pend[:0], c.pend[i:]...) // the rest is yet to come
			return len(b), nil
		}
		n, _ := strconv.Atoi(string(rest[:j]))
		used := len(c.prefix)
		switch {
		case j > 0 && bytes.HasPrefix(v, verdictGray) && c.set(n, false):
			used += j + len(verdictGray)
		case j > 0 && bytes.HasPrefix(v, verdictColour) && c.set(n, true):
			used += j + len(verdictColour)
		default:
			c.give(c.prefix) // not a verdict, or not the next page's: passed on as it is
		}
		c.pend = append(c.pend[:0], c.pend[i+used:]...)
	}
}

var repairing = []byte("repair")

func (c *pageColours) give(b []byte) {
	if len(b) == 0 {
		return
	}
	if c.rest != nil {
		c.rest.Write(b)
	}
	c.seen = append(c.seen, b...)
	if !c.silent && bytes.Contains(bytes.ToLower(c.seen), repairing) {
		c.silent = true
		close(c.changed)
		c.changed = make(chan struct{})
	}
	if k := len(repairing) - 1; len(c.seen) > k {
		c.seen = append(c.seen[:0], c.seen[len(c.seen)-k:]...)
	}
}

// set takes a verdict for page if it is the next page of the run and
// verdicts are trusted, or keeps it for expect while the run's pages are
// not known.
func (c *pageColours) set(page int, colour bool) bool {
	if c.pages == nil {
		if c.silent || len(c.queued) == maxQueued {
			return false
		}
		c.queued = append(c.queued, verdict{page, colour})
	} else if !c.take(page, colour) {
		return false
	}
	c.eol = true
	return true
}

// take records a verdict for page if it is the next page of the run and
// verdicts are trusted. One for another page ends the trust, and is
// taken out of stderr too: it is no warning.
func (c *pageColours) take(page int, colour bool) bool {
	if c.silent {
		return false
	}
	if c.next >= len(c.pages) || c.pages[c.next] != page {
		want := "no more"
		if c.next < len(c.pages) {
			want = "page " + strconv.Itoa(c.pages[c.next])
		}
		c.wrong = fmt.Sprintf("mutool drew page %d where %s was asked for: it reads the document's pages otherwise than pdfcpu did (a damaged or hostile file?)", page, want)
		c.silent = true
		close(c.changed)
		c.changed = make(chan struct{})
		return true
	}
	c.next++
	c.colour[page] = colour
	close(c.changed)
	c.changed = make(chan struct{})
	return true
}

func (c *pageColours) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.give(c.pend)
	c.pend = c.pend[:0]
}

// verdictWait bounds the wait for a page's verdict once its pixels are
// read. mutool writes it before them, so only the copying of stderr is
// between; a renderer that does not write them costs one wait, then every
// page is taken as colour (drawn again in RGB: slower, never wrong).
const verdictWait = time.Second

// err says why the renderer's verdicts showed it drawing other pages
// than asked, or is nil.
func (c *pageColours) err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.wrong == "" {
		return nil
	}
	return &badPages{c.wrong}
}

// wait returns whether page has colour, and whether the renderer said
// (and is trusted).
func (c *pageColours) wait(page int) (colour, known bool) {
	var timer *time.Timer
	for {
		c.mu.Lock()
		v, ok := c.colour[page]
		changed, silent := c.changed, c.silent
		c.mu.Unlock()
		switch {
		case ok:
			return v, true
		case silent:
			return false, false
		}
		if timer == nil {
			timer = time.NewTimer(verdictWait)
			defer timer.Stop()
		}
		select {
		case <-changed:
		case <-timer.C:
			c.mu.Lock()
			c.silent = true
			c.mu.Unlock()
			return false, false
		}
	}
}
