package transform

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// jpegScanExact walks the coded data of a baseline JPEG (r, size bytes),
// as Go's encoder writes one: it decodes every block's Huffman codes (not
// their values: no quantisation, no transform) and checks that after the
// last block of the last MCU come only the 1 bits padding its byte, then
// EOI, the file's last two bytes. Go's decoder stops after the last
// block and skips what follows up to a marker, so a file slipped in
// there went unseen (a hostile-input review hid a ZIP archive so). The
// rules are ITU-T T.81: F.1.2 (coding), F.2.2.3 (DECODE), C (tables),
// B.2 (frame and scan headers).
func jpegScanExact(r io.Reader, size int64) error {
	br := bufio.NewReader(r)
	var b [2]byte
	if _, err := io.ReadFull(br, b[:]); err != nil || b != [2]byte{0xff, 0xd8} {
		return errors.New("not a JPEG image")
	}
	read := int64(2)
	var tables [2][4]*huffTable // class (0 DC, 1 AC), id
	type comp struct {
		id, h, v byte
		dc, ac   *huffTable
	}
	var comps []comp
	var width, height int
	for {
		if _, err := io.ReadFull(br, b[:]); err != nil || b[0] != 0xff {
			return errors.New("a JPEG image with a broken marker")
		}
		var l [2]byte
		if _, err := io.ReadFull(br, l[:]); err != nil {
			return errors.New("a JPEG image cut short")
		}
		n := int(binary.BigEndian.Uint16(l[:])) - 2
		if n < 0 {
			return errors.New("a JPEG image with a broken segment")
		}
		seg := make([]byte, n)
		if _, err := io.ReadFull(br, seg); err != nil {
			return errors.New("a JPEG image cut short")
		}
		read += int64(4 + n)
		switch m := b[1]; m {
		case 0xdb: // quantisation tables: their values do not matter here
		case 0xc4:
			for len(seg) > 0 {
				if len(seg) < 17 {
					return errors.New("a JPEG image with a broken Huffman table")
				}
				class, id := seg[0]>>4, seg[0]&15
				if class > 1 || id > 3 {
					return errors.New("a JPEG image with a broken Huffman table")
				}
				t, used, err := newHuffTable(seg[1:])
				if err != nil {
					return err
				}
				tables[class][id] = t
				seg = seg[1+used:]
			}
		case 0xc0, 0xc1: // baseline or extended sequential, Huffman
			if len(seg) < 6 || seg[0] != 8 {
				return errors.New("a JPEG image with a frame header Sluice does not write")
			}
			height, width = int(binary.BigEndian.Uint16(seg[1:])), int(binary.BigEndian.Uint16(seg[3:]))
			nf := int(seg[5])
			if nf != 1 && nf != 3 || len(seg) != 6+3*nf || height == 0 || width == 0 {
				return errors.New("a JPEG image with a frame header Sluice does not write")
			}
			for i := range nf {
				c := seg[6+3*i:]
				if c[1]>>4 < 1 || c[1]>>4 > 4 || c[1]&15 < 1 || c[1]&15 > 4 {
					return errors.New("a JPEG image with a frame header Sluice does not write")
				}
				comps = append(comps, comp{id: c[0], h: c[1] >> 4, v: c[1] & 15})
			}
		case 0xda:
			if comps == nil || len(seg) < 1 || int(seg[0]) != len(comps) || len(seg) != 1+2*len(comps)+3 {
				return errors.New("a JPEG image whose scan is not one of all its components")
			}
			for i := range comps {
				s := seg[1+2*i:]
				if s[0] != comps[i].id || s[1]>>4 > 3 || s[1]&15 > 3 {
					return errors.New("a JPEG image whose scan is not one of all its components")
				}
				comps[i].dc, comps[i].ac = tables[0][s[1]>>4], tables[1][s[1]&15]
				if comps[i].dc == nil || comps[i].ac == nil {
					return errors.New("a JPEG image whose scan uses a Huffman table it does not define")
				}
			}
			if t := seg[len(seg)-3:]; t[0] != 0 || t[1] != 63 || t[2] != 0 {
				return errors.New("a JPEG image with a progressive scan")
			}
			// The scan: every MCU, each block of each component in turn.
			var hmax, vmax int
			for _, c := range comps {
				hmax, vmax = max(hmax, int(c.h)), max(vmax, int(c.v))
			}
			mcus := ((width + 8*hmax - 1) / (8 * hmax)) * ((height + 8*vmax - 1) / (8 * vmax))
			if len(comps) == 1 {
				mcus = ((width + 7) / 8) * ((height + 7) / 8)
				comps[0].h, comps[0].v = 1, 1
			}
			bits := &scanBits{r: br}
			for range mcus {
				for _, c := range comps {
					for range int(c.h) * int(c.v) {
						if err := bits.block(c.dc, c.ac); err != nil {
							return err
						}
					}
				}
			}
			if pad := byte(1)<<bits.n - 1; bits.cur&pad != pad {
				return errors.New("a JPEG image whose last byte is not padded with 1 bits")
			}
			read += bits.read
			if _, err := io.ReadFull(br, b[:]); err != nil || b != [2]byte{0xff, 0xd9} {
				return fmt.Errorf("a JPEG image with data after its last block: %w", errTrailing)
			}
			if read+2 != size {
				return fmt.Errorf("%d bytes after the JPEG image's end", size-read-2)
			}
			return nil
		default:
			return fmt.Errorf("a JPEG image with marker 0x%02x (restart intervals, metadata or an unusual coding)", m)
		}
	}
}

// huffTable is a Huffman table as T.81 F.2.2.3 decodes with it.
type huffTable struct {
	maxCode [17]int32 // the largest code of each length, -1 for none
	valPtr  [17]int32 // index in vals of the first code of each length
	minCode [17]int32
	vals    []byte
}

// newHuffTable reads a table's 16 counts and its values from b, and
// says how many bytes it used.
func newHuffTable(b []byte) (*huffTable, int, error) {
	t := &huffTable{}
	total := 0
	for _, c := range b[:16] {
		total += int(c)
	}
	if total == 0 || total > 256 || len(b) < 16+total {
		return nil, 0, errors.New("a JPEG image with a broken Huffman table")
	}
	t.vals = b[16 : 16+total]
	code, k := int32(0), int32(0)
	for l := 1; l <= 16; l++ {
		n := int32(b[l-1])
		t.valPtr[l], t.minCode[l] = k, code
		code += n
		k += n
		t.maxCode[l] = code - 1
		if n == 0 {
			t.maxCode[l] = -1
		}
		if code > 1<<l {
			return nil, 0, errors.New("a JPEG image with a broken Huffman table")
		}
		code <<= 1
	}
	return t, 16 + total, nil
}

// scanBits reads a scan's coded data a bit at a time, undoing byte
// stuffing (0xFF 0x00): cur holds the byte being read, n its bits left.
type scanBits struct {
	r    *bufio.Reader
	cur  byte
	n    uint
	read int64
}

func (s *scanBits) bit() (int32, error) {
	if s.n == 0 {
		c, err := s.r.ReadByte()
		if err != nil {
			return 0, errors.New("a JPEG image cut short in its data")
		}
		s.read++
		if c == 0xff {
			d, err := s.r.ReadByte()
			if err != nil || d != 0 {
				return 0, errors.New("a JPEG image whose data ends before its last block (or holds a marker)")
			}
			s.read++
		}
		s.cur, s.n = c, 8
	}
	s.n--
	return int32(s.cur>>s.n) & 1, nil
}

func (s *scanBits) decode(t *huffTable) (byte, error) {
	code := int32(0)
	for l := 1; l <= 16; l++ {
		b, err := s.bit()
		if err != nil {
			return 0, err
		}
		code = code<<1 | b
		if code <= t.maxCode[l] {
			return t.vals[t.valPtr[l]+code-t.minCode[l]], nil
		}
	}
	return 0, errors.New("a JPEG image with a code its Huffman table does not hold")
}

func (s *scanBits) skip(n byte) error {
	for range n {
		if _, err := s.bit(); err != nil {
			return err
		}
	}
	return nil
}

// block reads one 8 × 8 block's codes: its DC difference, then its AC
// coefficients to the end of block or the 63rd.
func (s *scanBits) block(dc, ac *huffTable) error {
	size, err := s.decode(dc)
	if err != nil {
		return err
	}
	if size > 11 {
		return errors.New("a JPEG image with a DC difference too large for 8 bits")
	}
	if err := s.skip(size); err != nil {
		return err
	}
	for k := 1; k < 64; {
		rs, err := s.decode(ac)
		if err != nil {
			return err
		}
		r, sz := int(rs>>4), rs&15
		if sz == 0 {
			if r != 15 {
				return nil // end of block
			}
			if k += 16; k > 64 {
				return errors.New("a JPEG image with a coefficient outside its block")
			}
			continue
		}
		if k += r; k > 63 || sz > 10 {
			return errors.New("a JPEG image with a coefficient outside its block")
		}
		if err := s.skip(sz); err != nil {
			return err
		}
		k++
	}
	return nil
}
