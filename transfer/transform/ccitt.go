package transform

import (
	"encoding/binary"
	"io"
)

// g4Writer encodes a bilevel image in CCITT Group 4 (ITU-T T.6), the
// coding of fax and of most scanned text in PDFs: each row is coded
// against the one above it, so a page of text takes a fraction of what
// deflated bits do. golang.org/x/image/ccitt decodes it (and tests it
// here); its encoder is unexported, so its tables are copied
// (ccitt_tables.go) and the coding written here. g4Reader reads it back
// for Verify.
type g4Writer struct {
	w     io.Writer
	buf   []byte // coded bytes not yet written to w
	err   error  // the first error writing to w
	bits  uint64 // pending bits, the first in the highest places of the low n
	n     uint
	width int
	ref   []int // the row above: its changing elements, then width twice
	cur   []int
}

func newG4Writer(w io.Writer, width int) *g4Writer {
	g := &g4Writer{w: w, buf: make([]byte, 0, g4Flush+256), width: width}
	// The imaginary row above the first is all white: no change.
	g.ref = append(g.ref, width, width)
	return g
}

func (g *g4Writer) put(c bitString) {
	// At most 31 bits wait, and a code is at most 13: they fit.
	g.bits = g.bits<<c.nBits | uint64(c.bits)
	g.n += uint(c.nBits)
	if g.n >= 32 {
		g.n -= 32
		g.buf = binary.BigEndian.AppendUint32(g.buf, uint32(g.bits>>g.n))
	}
}

// g4Flush is how many coded bytes a g4Writer gathers before writing them.
const g4Flush = 64 << 10

// flush writes the coded bytes gathered so far.
func (g *g4Writer) flush() {
	if len(g.buf) > 0 && g.err == nil {
		_, g.err = g.w.Write(g.buf)
	}
	g.buf = g.buf[:0]
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
		for cur[ci] <= a0 {
			ci++ // stops at the first w, a0 being less
		}
		a1 := cur[ci]
		var b1, b2 int
		ri, b1, b2 = refChanges(ref, ri, a0, w, black)
		switch d := a1 - b1; {
		case b2 < a1:
			g.put(modeEncodeTable[modePass])
			a0 = b2
		case d >= -3 && d <= 3:
			g.put(verticalCodes[d+3])
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
	if len(g.buf) >= g4Flush {
		g.flush()
	}
}

// refChanges finds b1 on the row above (ref: its changing elements, then
// w twice), the next change after a0 whose colour is the opposite of
// a0's (even changes turn black, odd ones white), and b2, the change
// after it (T.6, 2.2.5). ri is where the last search for the row ended
// and the result where this one did: a row's searches take time in
// proportion to its changes. g4Writer and g4Reader share it, so the
// reader finds the b1 the writer coded against.
func refChanges(ref []int, ri, a0, w int, black bool) (int, int, int) {
	for ri > 0 && ref[ri-1] > a0 {
		ri--
	}
	for ref[ri] <= a0 {
		ri++ // stops at the first w, a0 being less
	}
	if ref[ri] < w && (ri&1 == 1) != black {
		ri++
	}
	b1, b2 := ref[ri], w
	if b1 < w {
		b2 = ref[ri+1]
	}
	return ri, b1, b2
}

// verticalCodes are the codes of the vertical modes V_L3 … V_R3, where a
// change is 3 pixels left of the one above it … 3 right.
var verticalCodes = [7]bitString{modeEncodeTable[modeVL3], modeEncodeTable[modeVL2], modeEncodeTable[modeVL1],
	modeEncodeTable[modeV0], modeEncodeTable[modeVR1], modeEncodeTable[modeVR2], modeEncodeTable[modeVR3]}

// close writes the end of block (two EOLs), pads to a byte and writes
// what is left.
func (g *g4Writer) close() error {
	g.put(bitString{1, 12})
	g.put(bitString{1, 12})
	for ; g.n >= 8; g.n -= 8 {
		g.buf = append(g.buf, byte(g.bits>>(g.n-8)))
	}
	if g.n > 0 {
		g.buf = append(g.buf, byte(g.bits<<(8-g.n)))
		g.n = 0
	}
	g.flush()
	return g.err
}
