package transform

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"image"
	"image/jpeg"
	"io"
	"math/bits"
	"slices"
)

// Page classification thresholds. A rendered page is "text" when nearly
// every pixel is close to white or to black (the rest are the
// anti-aliased edges of letters and lines): such pages compress far
// better losslessly than as JPEG, and JPEG would blur their letters. A
// page with many mid-tones is a photograph or a scan, kept as JPEG so the
// rebuilt PDF stays near the original's size (Dangerzone's lossless pixels
// make scans 3–5× larger, its issues #239 and #970).
const (
	// chromaMin: a pixel whose channels differ by more is coloured.
	chromaMin = 40
	// colourPixels: a page with at least this many coloured pixels
	// among those classify looks at (a quarter) is in colour: a heading
	// or a link in colour is a few thousand pixels of a page's two
	// million, and black text's anti-aliasing has none.
	colourPixels = 16
	// midShare: a page with more mid-tone pixels than this share is
	// photographic.
	midShare = 0.12
	// pageJPEGQuality: photographic pages. 85 shows no blocking at
	// 150 DPI, where Dangerzone's users saw pixelation (its issue #441).
	pageJPEGQuality = 85
)

// classify looks at a page of w × h pixels of ch bytes each (1: gray, 3:
// RGB) and says how to encode it, from shares of the page's pixels, for
// which a sample is plenty: in gray every fourth row, eight pixels at a
// time; in RGB every second pixel of every second row, skipping runs of
// white eight bytes at a time (most of a document's page is paper).
func classify(pix []byte, w, h, ch int) (gray, photo bool) {
	if ch == 1 {
		var mid, n int
		for y := 0; y < h; y += 4 {
			mid += midTones(pix[y*w : (y+1)*w])
			n += w
		}
		return true, n > 0 && float64(mid) > midShare*float64(n)
	}
	var coloured, mid, n int
	stride := w * ch
	for y := 0; y < h; y += 2 {
		row := pix[y*stride : (y+1)*stride]
		for i := 0; i+ch-1 < len(row); {
			if row[i]&row[i+ch-1]&row[i+(ch-1)/2] == 0xff {
				j := skipWhite(row, i, ch)
				k := (j - i + 2*ch - 1) / (2 * ch) // every second pixel counted
				n += k
				i += k * 2 * ch
				continue
			}
			r, g, b := int(row[i]), int(row[i+1]), int(row[i+2])
			if max(r, g, b)-min(r, g, b) > chromaMin {
				coloured++
			}
			if l := (r*77 + g*150 + b*29) >> 8; l > 48 && l < 208 {
				mid++
			}
			n++
			i += 2 * ch
		}
	}
	if n == 0 {
		return true, false
	}
	return coloured < colourPixels, float64(mid) > midShare*float64(n)
}

// Eight gray pixels are compared at once as the bytes of a uint64 (SWAR).
// Adding to a byte's low seven bits cannot carry into the next byte, so
// (b & 0x7f) + (128 - k) has its high bit set exactly when b's low seven
// bits are at least k; with b's own high bit that compares b with 128 + k.
const (
	low7 = 0x7f7f7f7f7f7f7f7f
	high = 0x8080808080808080
)

// atLeast160 has the high bit of each byte of v that is at least 160
// (paper, not ink): its high bit set and its low seven bits at least 32.
func atLeast160(v uint64) uint64 { return v & ((v & low7) + 0x6060606060606060) & high }

// paper is a stretch of white pixels, for skipPaper.
var paper = bytes.Repeat([]byte{0xff}, 64)

// skipPaper returns the offset of the first stretch of len(paper) bytes
// at or after i in row that is not all white (or where fewer are left):
// bytes.Equal compares them with the CPU's vector instructions, and most
// of a page is paper.
func skipPaper(row []byte, i int) int {
	for i+len(paper) <= len(row) && bytes.Equal(row[i:i+len(paper)], paper) {
		i += len(paper)
	}
	return i
}

// midTones counts a gray row's pixels strictly between 48 and 208.
func midTones(row []byte) int {
	n, i := 0, 0
	for ; i+8 <= len(row); i += 8 {
		if i%len(paper) == 0 {
			if i = skipPaper(row, i); i+8 > len(row) {
				break
			}
		}
		v := binary.LittleEndian.Uint64(row[i:])
		if v == ^uint64(0) {
			continue
		}
		above48 := (v | ((v & low7) + 0x4f4f4f4f4f4f4f4f)) & high // b >= 49
		from208 := v & ((v & low7) + 0x3030303030303030) & high   // b >= 208
		n += bits.OnesCount64(above48 &^ from208)
	}
	for ; i < len(row); i++ {
		if row[i] > 48 && row[i] < 208 {
			n++
		}
	}
	return n
}

// skipWhite returns the offset of the first pixel (of ch bytes) at or
// after byte i (a pixel's start) of a row that is not pure white, or
// len(row): eight bytes compared at a time.
func skipWhite(row []byte, i, ch int) int {
	j := i
	for j+8 <= len(row) && binary.LittleEndian.Uint64(row[j:]) == ^uint64(0) {
		j += 8
	}
	for j < len(row) && row[j] == 0xff {
		j++
	}
	return j - j%ch // back to the start of the pixel holding it
}

// encodePage encodes a page of w × h pixels of ch bytes each (1: gray, 3:
// RGB) into out and describes it. pix may be overwritten.
func encodePage(pix []byte, w, h, ch int, out io.Writer) (pageImage, error) {
	gray, photo := classify(pix, w, h, ch)
	p := pageImage{W: w, H: h, Gray: gray, BPC: 8}
	switch {
	case photo && gray:
		p.Filter, p.Kind = "DCTDecode", "photo-gray"
		g := &image.Gray{Pix: pix, Stride: w, Rect: image.Rect(0, 0, w, h)}
		if ch == 3 {
			g = toGray(pix, w, h)
		}
		return p, jpeg.Encode(out, g, &jpeg.Options{Quality: pageJPEGQuality})
	case photo:
		p.Filter, p.Kind = "DCTDecode", "photo"
		img := &image.RGBA{Pix: make([]byte, w*h*4), Stride: w * 4, Rect: image.Rect(0, 0, w, h)}
		for i, j := 0, 0; i+2 < len(pix); i, j = i+3, j+4 {
			img.Pix[j], img.Pix[j+1], img.Pix[j+2], img.Pix[j+3] = pix[i], pix[i+1], pix[i+2], 0xff
		}
		return p, jpeg.Encode(out, img, &jpeg.Options{Quality: pageJPEGQuality})
	case gray:
		// Black-and-white text: one bit a pixel, CCITT Group 4.
		p.Filter, p.Kind, p.BPC = "CCITTFaxDecode", "text", 1
		g := newG4Writer(out, w)
		var changes []int
		for y := 0; y < h; y++ {
			changes = rowChanges(pix[y*w*ch:(y+1)*w*ch], ch, changes[:0])
			g.row(changes)
		}
		return p, g.close()
	default:
		// Text with colour (links, headings, a logo): RGB, deflated.
		// (PNG's Up filter, /Predictor 15, makes anti-aliased text a
		// quarter larger.)
		p.Filter, p.Kind = "FlateDecode", "text-colour"
		return p, deflate(out, pix)
	}
}

// rowChanges appends the positions in a row of pixels of ch bytes where it
// changes between ink (luminance under 160) and paper, starting from
// paper.
func rowChanges(row []byte, ch int, changes []int) []int {
	if ch == 1 {
		return grayRowChanges(row, changes)
	}
	ink := false
	for x, i := 0, 0; i+ch-1 < len(row); {
		if !ink && row[i]&row[i+ch-1]&row[i+(ch-1)/2] == 0xff {
			j := skipWhite(row, i, ch)
			x, i = x+(j-i)/ch, j
			if i+ch-1 >= len(row) {
				break
			}
		}
		l := (int(row[i])*77 + int(row[i+1])*150 + int(row[i+2])*29) >> 8
		if (l < 160) != ink {
			ink = !ink
			changes = append(changes, x)
		}
		x, i = x+1, i+ch
	}
	return changes
}

// grayRowChanges is rowChanges for a gray row, 64 pixels at a time: each
// eight bytes' ink (their high bits, SWAR) gathered by one multiplication
// into a byte of a 64-bit mask, bit i pixel i, and the changes are that
// mask's bits that differ from their left neighbour's, taken lowest first.
// A stretch of paper after paper is skipped 64 bytes at a time.
func grayRowChanges(row []byte, changes []int) []int {
	var ink uint64 // 1 if the last pixel looked at was ink
	// At most one change a pixel: room made once, written by index.
	n := len(changes)
	changes = slices.Grow(changes, len(row))
	out := changes[:cap(changes)]
	x := skipPaper(row, 0)
	for ; x+64 <= len(row); x += 64 {
		if ink == 0 && bytes.Equal(row[x:x+64], paper) {
			continue
		}
		w := row[x : x+64 : x+64]
		var m uint64
		for k := 0; k < 64; k += 8 {
			m |= inkByte(binary.LittleEndian.Uint64(w[k:])) << k
		}
		for d := m ^ (m<<1 | ink); d != 0; d &= d - 1 {
			out[n] = x + bits.TrailingZeros64(d)
			n++
		}
		ink = m >> 63
	}
	for ; x < len(row); x++ {
		if (row[x] < 160) != (ink != 0) {
			ink ^= 1
			out[n] = x
			n++
		}
	}
	return out[:n]
}

// inkByte gives a byte whose bit i says whether byte i of v (the lowest
// first) is ink, under 160: the bytes' high bits (atLeast160, inverted)
// shifted to their low bits, then gathered into the top byte by one
// multiplication (bit 8i moves to 56 + i, and no two products meet).
func inkByte(v uint64) uint64 {
	return (^atLeast160(v) & high >> 7 * 0x0102040810204080) >> 56
}

// colourful reports whether a low-resolution RGB rendering of a page has
// any coloured pixel (two or more, so that a stray one from
// anti-aliasing does not count): such a page is rendered in RGB, every
// other in gray, a third of the bytes.
func colourful(rgb []byte) bool {
	n := 0
	for i := 0; i+2 < len(rgb); i += 3 {
		r, g, b := int(rgb[i]), int(rgb[i+1]), int(rgb[i+2])
		if max(r, g, b)-min(r, g, b) > chromaMin {
			if n++; n >= 2 {
				return true
			}
		}
	}
	return false
}

func toGray(rgb []byte, w, h int) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, w, h))
	for i, j := 0, 0; j < len(g.Pix); i, j = i+3, j+1 {
		g.Pix[j] = byte((int(rgb[i])*77 + int(rgb[i+1])*150 + int(rgb[i+2])*29) >> 8)
	}
	return g
}

// flateLevel trades size for speed: level 6 (zlib's default) costs
// twice level 1's time for a tenth less size on rendered text.
const flateLevel = 6

func deflate(out io.Writer, b []byte) error {
	z, _ := zlib.NewWriterLevel(out, flateLevel)
	if _, err := z.Write(b); err != nil {
		return err
	}
	return z.Close()
}
