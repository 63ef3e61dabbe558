package transform

import (
	"encoding/binary"
	"errors"
	"sync"
)

// g4Reader reads a Group 4 image (ITU-T T.6) as g4Writer takes it: row by
// row, each row its changing elements. It follows the codes and never
// touches pixels, so its work is in proportion to the coded bytes (a
// blank row is one bit, read in one step), where x/image/ccitt writes
// every pixel: a 10,000 × 10,000 blank page, 1,253 bytes, took it 0.2
// CPU-seconds, so a forged sender's PDF of such pages could keep a kiosk
// verifying until the file's deadline (a hostile-input review). It is
// strict: changes only move right and stay in the row, and a code
// g4Writer never writes (the extension and end-of-line codes inside the
// rows, uncompressed mode) is an error. The differential fuzz test holds
// it to x/image/ccitt.
type g4Reader struct {
	src   []byte
	pos   uint // the next bit of src, counted from its first byte's highest
	width int
	ref   []int // the row above: its changing elements, then width twice
	cur   []int
}

func newG4Reader(src []byte, width int) *g4Reader {
	return &g4Reader{src: src, width: width, ref: []int{width, width}}
}

// errG4Short: the data ends inside a row.
var errG4Short = errors.New("it ends inside a row")

// peek gives the next n bits (n ≤ 24), zero past the end.
func (d *g4Reader) peek(n uint) uint32 {
	i := d.pos >> 3
	var v uint32
	if int(i)+4 <= len(d.src) {
		v = binary.BigEndian.Uint32(d.src[i:])
	} else {
		for k := uint(0); k < 4; k++ {
			v <<= 8
			if int(i+k) < len(d.src) {
				v |= uint32(d.src[i+k])
			}
		}
	}
	return v << (d.pos & 7) >> (32 - n)
}

// skip moves past n bits, failing if they go past the end.
func (d *g4Reader) skip(n uint) error {
	d.pos += n
	if d.pos > uint(len(d.src))*8 {
		return errG4Short
	}
	return nil
}

// g4Code is one entry of a decoding table: the value of the code the
// table's index starts with, and its length in bits (0: no such code).
type g4Code struct {
	val  int16
	bits uint8
}

// g4Modes is indexed by the next 7 bits, g4Runs[black] by the next 13:
// the longest mode code g4Writer writes and the longest run code.
type g4Tables struct {
	modes [1 << 7]g4Code
	runs  [2][1 << 13]g4Code
}

var g4Decoding = sync.OnceValue(func() *g4Tables {
	t := new(g4Tables)
	fill := func(tab []g4Code, width uint, c bitString, val int) {
		shift := width - uint(c.nBits)
		for i := range 1 << shift {
			tab[uint(c.bits)<<shift|uint(i)] = g4Code{int16(val), uint8(c.nBits)}
		}
	}
	for m := modePass; m <= modeVL3; m++ {
		fill(t.modes[:], 7, modeEncodeTable[m], m)
	}
	for black, tabs := range [2][2][]bitString{
		{whiteEncodeTable2[:], whiteEncodeTable3[:]},
		{blackEncodeTable2[:], blackEncodeTable3[:]},
	} {
		for n, c := range tabs[0] {
			fill(t.runs[black][:], 13, c, n)
		}
		for i, c := range tabs[1] {
			fill(t.runs[black][:], 13, c, (i+1)*64)
		}
	}
	return t
})

// verticalShift is how far a vertical mode puts a1 from b1.
var verticalShift = [...]int{modeV0: 0, modeVR1: 1, modeVR2: 2, modeVR3: 3, modeVL1: -1, modeVL2: -2, modeVL3: -3}

// row reads the next row and gives its changing elements (as g4Writer.row
// takes them; valid until the next call).
func (d *g4Reader) row() ([]int, error) {
	tabs := g4Decoding()
	w := d.width
	cur, ref := d.cur[:0], d.ref
	a0, black := -1, false
	ri := 0
	for a0 < w {
		var b1, b2 int
		ri, b1, b2 = refChanges(ref, ri, a0, w, black)
		c := tabs.modes[d.peek(7)]
		if c.bits == 0 {
			return nil, errors.New("a code that is not a mode Sluice writes")
		}
		if err := d.skip(uint(c.bits)); err != nil {
			return nil, err
		}
		switch m := int(c.val); m {
		case modePass:
			if b2 >= w {
				return nil, errors.New("a pass beyond the row's end")
			}
			a0 = b2
		case modeH:
			start := max(a0, 0)
			r1, err := d.run(black, w-start)
			if err != nil {
				return nil, err
			}
			a1 := start + r1
			if a1 <= a0 {
				return nil, errors.New("a run of nothing")
			}
			r2, err := d.run(!black, w-a1)
			if err != nil {
				return nil, err
			}
			a2 := a1 + r2
			if a2 == a1 && a1 < w {
				return nil, errors.New("a run of nothing")
			}
			for _, a := range [2]int{a1, a2} {
				if a < w {
					cur = append(cur, a)
				}
			}
			a0 = a2
		default:
			a1 := b1 + verticalShift[m]
			if a1 <= a0 || a1 > w {
				return nil, errors.New("a change outside the row")
			}
			if a1 < w {
				cur = append(cur, a1)
			}
			a0, black = a1, !black
		}
	}
	d.cur = ref[:0]
	d.ref = append(cur, w, w)
	return cur, nil
}

// run reads the makeup codes and the terminating code of one run of at
// most most pixels.
func (d *g4Reader) run(black bool, most int) (int, error) {
	tab := &g4Decoding().runs[0]
	if black {
		tab = &g4Decoding().runs[1]
	}
	n := 0
	for {
		c := tab[d.peek(13)]
		if c.bits == 0 {
			return 0, errors.New("a code that is not a run length")
		}
		if err := d.skip(uint(c.bits)); err != nil {
			return 0, err
		}
		n += int(c.val)
		if n > most {
			return 0, errors.New("a run past the row's end")
		}
		if c.val < 64 {
			return n, nil
		}
	}
}
