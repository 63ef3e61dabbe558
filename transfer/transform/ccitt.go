package transform

import (
	"bufio"
	"io"
)

// g4Writer encodes a bilevel image in CCITT Group 4 (ITU-T T.6), the
// coding of fax and of most scanned text in PDFs: each row is coded
// against the one above it, so a page of text takes a fraction of what
// deflated bits do. golang.org/x/image/ccitt decodes it (and tests it
// here); its encoder is unexported, so its tables are copied
// (ccitt_tables.go) and the coding written here.
type g4Writer struct {
	w     *bufio.Writer
	bits  uint64 // pending bits, the first in the highest places of the low n
	n     uint
	width int
	ref   []int // the row above: its changing elements, then width twice
	cur   []int
}

func newG4Writer(w io.Writer, width int) *g4Writer {
	g := &g4Writer{w: bufio.NewWriterSize(w, 64<<10), width: width}
	// The imaginary row above the first is all white: no change.
	g.ref = append(g.ref, width, width)
	return g
}

func (g *g4Writer) put(c bitString) {
	g.bits = g.bits<<c.nBits | uint64(c.bits)
	g.n += uint(c.nBits)
	for g.n >= 8 {
		g.n -= 8
		g.w.WriteByte(byte(g.bits >> g.n))
	}
}

// run writes a run of n pixels of one colour: makeup codes (multiples of
// 64, at most 2560 each) then a terminating code (0–63).
func (g *g4Writer) run(n int, black bool) {
	term, makeup := whiteEncodeTable2[:], whiteEncodeTable3[:]
	if black {
		term, makeup = blackEncodeTable2[:], blackEncodeTable3[:]
	}
	for n >= 2560+64 {
		g.put(makeup[len(makeup)-1]) // 2560
		n -= 2560
	}
	if n >= 64 {
		g.put(makeup[n/64-1])
		n %= 64
	}
	g.put(term[n])
}

// row codes one row, given as its changing elements: the positions where
// the colour changes, the first pixel's left neighbour counted white (so
// changes[0] is the first black pixel).
func (g *g4Writer) row(changes []int) {
	w := g.width
	g.cur = append(append(g.cur[:0], changes...), w, w)
	cur, ref := g.cur, g.ref
	a0, black := -1, false
	ci, ri := 0, 0 // search starts in cur and ref
	for a0 < w {
		// a1: the next change on this row after a0.
		for cur[ci] <= a0 && cur[ci] < w {
			ci++
		}
		a1 := cur[ci]
		// b1: the next change on the row above after a0 whose colour is
		// the opposite of a0's (even changes turn black, odd ones white);
		// b2 the change after it.
		for ri > 0 && ref[ri-1] > a0 {
			ri--
		}
		for ref[ri] <= a0 && ref[ri] < w || ref[ri] < w && (ri%2 == 1) != black {
			ri++
		}
		b1 := ref[ri]
		b2 := w
		if b1 < w {
			b2 = ref[ri+1]
		}
		switch d := a1 - b1; {
		case b2 < a1:
			g.put(modeEncodeTable[modePass])
			a0 = b2
		case d >= -3 && d <= 3:
			g.put(modeEncodeTable[[...]int{modeVL3, modeVL2, modeVL1, modeV0, modeVR1, modeVR2, modeVR3}[d+3]])
			a0, black = a1, !black
		default:
			a2 := cur[ci+1]
			if a1 == w {
				a2 = w
			}
			g.put(modeEncodeTable[modeH])
			g.run(a1-max(a0, 0), black)
			g.run(a2-a1, !black)
			a0 = a2
		}
	}
	g.ref, g.cur = cur, ref
}

// close writes the end of block (two EOLs) and pads to a byte.
func (g *g4Writer) close() error {
	g.put(bitString{1, 12})
	g.put(bitString{1, 12})
	if g.n > 0 {
		g.put(bitString{0, 8 - uint32(g.n)})
	}
	return g.w.Flush()
}
