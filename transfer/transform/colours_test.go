package transform

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

// pageColours takes each page's verdict out of mutool's stderr however
// the writes split it, with the newline that ends its line, and passes
// everything else on unchanged: a warning between a verdict and its
// newline, an error at the end after more verdicts than the error message
// keeps, text that only looks like a verdict, and verdicts a hostile page
// quotes in a warning under a name it guessed.
func TestPageColours(t *testing.T) {
	var stderr, want strings.Builder
	var pages []int
	for n := 1; n <= 5000; n++ {
		pages = append(pages, n)
		v := "grayscale"
		if n%7 == 0 {
			v = "color"
		}
		if n == 8 {
			// Page 8's content quotes a verdict for page 9 and one for
			// page 2 in a warning, before its own.
			spoof := "warning: cannot find ExtGState resource 'page /in/d0c.pdf 9 color' nor 'page /in/doc.pdf. 2 color'\n"
			stderr.WriteString(spoof)
			want.WriteString(spoof)
		}
		fmt.Fprintf(&stderr, "page /in/doc.pdf %d %s", n, v)
		if n == 5 {
			stderr.WriteString("warning: ignoring a broken annotation\n")
			want.WriteString("warning: ignoring a broken annotation\n\n")
		}
		stderr.WriteString("\n")
	}
	tricky := "page /in/doc.pdf x color\npage /in/doc.pdf 12 colour? page /in/other.pdf 3 color\n"
	stderr.WriteString(tricky)
	want.WriteString(tricky)
	stderr.WriteString("error: cannot draw page 5001\n")
	want.WriteString("error: cannot draw page 5001\n")
	in := stderr.String()
	for _, chunk := range []int{1, 2, 3, 7, 64, len(in)} {
		var c pageColours
		var rest bytes.Buffer
		c.start("/in/doc.pdf", pages)
		c.passOn(&rest)
		for i := 0; i < len(in); i += chunk {
			c.Write([]byte(in[i:min(i+chunk, len(in))]))
		}
		c.flush()
		if rest.String() != want.String() {
			t.Fatalf("chunks of %d: passed on %q, want %q", chunk, rest.String(), want.String())
		}
		if len(c.colour) != len(pages) {
			t.Fatalf("chunks of %d: %d verdicts kept for a run of %d pages", chunk, len(c.colour), len(pages))
		}
		for _, n := range pages {
			colour, known := c.wait(n)
			if !known || colour != (n%7 == 0) {
				t.Fatalf("chunks of %d: page %d colour %v known %v", chunk, n, colour, known)
			}
		}
	}
	// The error line survives in what the error message keeps.
	var c pageColours
	var tl tail
	c.start("/in/doc.pdf", pages)
	c.passOn(&tl)
	c.Write([]byte(in))
	c.flush()
	if got := tl.firstLine(); got != "error: cannot draw page 5001" {
		t.Errorf("the error message says %q", got)
	}
}

// A renderer that gives no verdict costs one wait; every page is then
// taken as colour at once, and a verdict arriving during a wait ends it.
func TestPageColoursSilent(t *testing.T) {
	var c pageColours
	c.start("/in/doc.pdf", []int{1, 2, 3})
	go func() {
		time.Sleep(50 * time.Millisecond)
		c.Write([]byte("page /in/doc.pdf 1 grayscale"))
	}()
	if colour, known := c.wait(1); colour || !known {
		t.Fatalf("page 1: colour %v known %v, want a gray verdict", colour, known)
	}
	start := time.Now()
	if _, known := c.wait(2); known {
		t.Fatal("page 2 has a verdict it was never given")
	}
	if d := time.Since(start); d < verdictWait {
		t.Fatalf("gave up on page 2 after %s, before %s", d, verdictWait)
	}
	start = time.Now()
	if _, known := c.wait(3); known || time.Since(start) > verdictWait/2 {
		t.Fatal("page 3 was waited for after the renderer fell silent")
	}
}

// FuzzPageColours feeds pageColours what a compromised renderer could
// write on stderr, split into writes anywhere: it never panics, holds
// back only the few bytes that may begin a verdict, and passes on every
// byte that is not part of a verdict it took, in order.
func FuzzPageColours(f *testing.F) {
	f.Add([]byte("page /in/doc.pdf 1 grayscale\npage /in/doc.pdf 2 color\n"), uint8(3))
	f.Add([]byte("page /in/doc.pdf 12345678901 color page /in/doc.pdf  color"), uint8(1))
	f.Add([]byte("warning: xpage /in/doc.pdf 3 grayscalewarning: y\n"), uint8(7))
	f.Fuzz(func(t *testing.T, in []byte, chunk uint8) {
		step := int(chunk)%17 + 1
		var c pageColours
		var rest bytes.Buffer
		c.start("/in/doc.pdf", []int{1, 2, 3, 12, 12345})
		c.passOn(&rest)
		for i := 0; i < len(in); i += step {
			c.Write(in[i:min(i+step, len(in))])
			if len(c.pend) > len(c.prefix)+len(verdictGray)+10 {
				t.Fatalf("holds back %d bytes", len(c.pend))
			}
		}
		c.flush()
		// Each verdict taken is at least the prefix, a digit and " color".
		taken := len(in) - rest.Len()
		if taken < len(c.colour)*(len(c.prefix)+1+len(verdictColour)) {
			t.Fatalf("took %d verdicts from %d bytes", len(c.colour), taken)
		}
		if !isSubsequence(rest.Bytes(), in) {
			t.Fatalf("passed on %q, not in order from %q", rest.Bytes(), in)
		}
	})
}

// isSubsequence: every byte of a appears in b, in order.
func isSubsequence(a, b []byte) bool {
	for _, c := range b {
		if len(a) > 0 && a[0] == c {
			a = a[1:]
		}
	}
	return len(a) == 0
}

// Once mutool says it is repairing the file, no verdict is taken, and
// every page waits for none: each is drawn again in RGB.
func TestPageColoursRepair(t *testing.T) {
	var c pageColours
	var rest bytes.Buffer
	c.start("/in/x.pdf", []int{1, 2, 3})
	c.passOn(&rest)
	c.Write([]byte("page /in/x.pdf 1 grayscale\nwarning: trying to re"))
	c.Write([]byte("pair broken xref\npage /in/x.pdf 2 grayscale\n"))
	c.flush()
	if colour, known := c.wait(1); colour || !known {
		t.Errorf("page 1, before the repair: colour %v known %v", colour, known)
	}
	start := time.Now()
	for _, n := range []int{2, 3} {
		if _, known := c.wait(n); known {
			t.Errorf("page %d has a verdict after the repair", n)
		}
	}
	if time.Since(start) > verdictWait/2 {
		t.Error("pages were waited for after the repair")
	}
	if !strings.Contains(rest.String(), "page /in/x.pdf 2 grayscale") {
		t.Errorf("the verdict after the repair was not passed on: %q", rest.String())
	}
}

// A verdict (under the document's own, random name: mutool's) for another
// page than the next of the run means mutool draws other pages than asked,
// or in another order: err says so, and no verdict is taken after it.
func TestPageColoursDisagree(t *testing.T) {
	for _, c := range []struct {
		stderr, want string
	}{
		{"page /in/doc.pdf 1 grayscale\npage /in/doc.pdf 3 color\n", "drew page 3 where page 2 was asked for"},
		{"page /in/doc.pdf 1 grayscale\npage /in/doc.pdf 1 grayscale\n", "drew page 1 where page 2 was asked for"},
		{"page /in/doc.pdf 1 grayscale\npage /in/doc.pdf 2 color\npage /in/doc.pdf 3 color\npage /in/doc.pdf 4 color\n", "drew page 4 where no more was asked for"},
	} {
		var p pageColours
		var rest bytes.Buffer
		p.start("/in/doc.pdf", []int{1, 2, 3})
		p.passOn(&rest)
		p.Write([]byte(c.stderr + "page /in/doc.pdf 2 color\n"))
		p.flush()
		if err := p.err(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err %v, want one saying %q", c.stderr, err, c.want)
		}
		if _, known := p.wait(2); known && !strings.Contains(c.stderr, "2 color") {
			t.Errorf("%q: a verdict was taken after the disagreement", c.stderr)
		}
		// The verdicts up to the disagreement are mutool's, not warnings;
		// after it nothing is taken, and what follows is passed on.
		if rest.String() != "page /in/doc.pdf 2 color\n" {
			t.Errorf("%q: passed on %q", c.stderr, rest.String())
		}
	}
}

// A run started before its pages are known (a renderer drawing while the
// pdfinfo worker counts them) keeps the verdicts it reads, at most
// maxQueued, and takes them once expect gives the pages, by the same
// rule: in order, the run's own pages only.
func TestPageColoursExpectedLater(t *testing.T) {
	var c pageColours
	var rest bytes.Buffer
	c.start("/in/doc.pdf", nil)
	c.passOn(&rest)
	c.Write([]byte("page /in/doc.pdf 9 grayscale\npage /in/doc.pdf 8 color\n"))
	if rest.Len() != 0 {
		t.Fatalf("verdicts passed on: %q", rest.String())
	}
	c.expect([]int{9, 8, 7})
	for _, v := range []struct {
		page   int
		colour bool
	}{{9, false}, {8, true}} {
		if colour, known := c.wait(v.page); colour != v.colour || !known {
			t.Errorf("page %d: colour %v known %v, want %v", v.page, colour, known, v.colour)
		}
	}
	c.Write([]byte("page /in/doc.pdf 7 grayscale\n"))
	if colour, known := c.wait(7); colour || !known || c.err() != nil {
		t.Errorf("page 7: colour %v known %v, err %v", colour, known, c.err())
	}

	// The verdicts read meanwhile are held to the pages' order too: a
	// renderer counting the pages otherwise than pdfcpu (its "N" another
	// page) is found at its first verdict.
	var d pageColours
	d.start("/in/doc.pdf", nil)
	d.Write([]byte("page /in/doc.pdf 6 grayscale\n"))
	d.expect([]int{3, 2, 1})
	if err := d.err(); err == nil || !strings.Contains(err.Error(), "drew page 6 where page 3 was asked for") {
		t.Errorf("a run of pages 3, 2, 1 given page 6's verdict first: err %v", err)
	}

	// More verdicts than maxQueued before the pages are known: the rest
	// are not taken (their pages are drawn again in RGB).
	var e pageColours
	e.start("/in/doc.pdf", nil)
	var pages []int
	for n := 1; n <= maxQueued+3; n++ {
		pages = append(pages, n)
		fmt.Fprintf(&e, "page /in/doc.pdf %d grayscale\n", n)
	}
	e.expect(pages)
	if len(e.colour) != maxQueued || e.err() != nil {
		t.Errorf("%d verdicts taken (err %v), want %d", len(e.colour), e.err(), maxQueued)
	}
}
