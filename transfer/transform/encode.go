package transform

import (
	"compress/zlib"
	"encoding/binary"
	"image"
	"image/jpeg"
	"io"
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
	// colourShare: a page with more coloured pixels than this share is
	// in colour.
	colourShare = 0.002
	// midShare: a page with more mid-tone pixels than this share is
	// photographic.
	midShare = 0.12
	// pageJPEGQuality: photographic pages. 85 shows no blocking at
	// 150 DPI, where Dangerzone's users saw pixelation (its issue #441).
	pageJPEGQuality = 85
)

// classify looks at an RGB page of w × h pixels (3 bytes a pixel) and
// says how to encode it. It looks at every second pixel of every second
// row (a quarter of them, plenty for shares of a page), and skips runs of
// white eight pixels at a time: most of a document's page is paper.
func classify(rgb []byte, w, h int) (gray, photo bool) {
	var coloured, mid, n int
	stride := w * 3
	for y := 0; y < h; y += 2 {
		row := rgb[y*stride : (y+1)*stride]
		for i := 0; i+2 < len(row); {
			if row[i]&row[i+1]&row[i+2] == 0xff {
				j := skipWhite(row, i)
				n += (j - i + 5) / 6 // every second pixel counted
				i += (j - i + 5) / 6 * 6
				continue
			}
			r, g, b := int(row[i]), int(row[i+1]), int(row[i+2])
			hi, lo := max(r, g, b), min(r, g, b)
			if hi-lo > chromaMin {
				coloured++
			}
			if l := (r*77 + g*150 + b*29) >> 8; l > 48 && l < 208 {
				mid++
			}
			n++
			i += 6
		}
	}
	if n == 0 {
		return true, false
	}
	return float64(coloured) < colourShare*float64(n), float64(mid) > midShare*float64(n)
}

// skipWhite returns the offset of the first pixel at or after byte i (a
// pixel's start) of an RGB row that is not pure white, or len(row):
// eight bytes compared at a time.
func skipWhite(row []byte, i int) int {
	j := i
	for j+8 <= len(row) && binary.LittleEndian.Uint64(row[j:]) == ^uint64(0) {
		j += 8
	}
	for j < len(row) && row[j] == 0xff {
		j++
	}
	return j - j%3 // back to the start of the pixel holding it
}

// encodePage encodes an RGB page of w × h pixels into out and describes
// it. rgb is overwritten (used as scratch space).
func encodePage(rgb []byte, w, h int, out io.Writer) (pageImage, error) {
	gray, photo := classify(rgb, w, h)
	p := pageImage{W: w, H: h, Gray: gray, BPC: 8}
	switch {
	case photo && gray:
		p.Filter, p.Kind = "DCTDecode", "photo-gray"
		g := toGray(rgb, w, h)
		return p, jpeg.Encode(out, g, &jpeg.Options{Quality: pageJPEGQuality})
	case photo:
		p.Filter, p.Kind = "DCTDecode", "photo"
		img := &image.RGBA{Pix: make([]byte, w*h*4), Stride: w * 4, Rect: image.Rect(0, 0, w, h)}
		for i, j := 0, 0; i+2 < len(rgb); i, j = i+3, j+4 {
			img.Pix[j], img.Pix[j+1], img.Pix[j+2], img.Pix[j+3] = rgb[i], rgb[i+1], rgb[i+2], 0xff
		}
		return p, jpeg.Encode(out, img, &jpeg.Options{Quality: pageJPEGQuality})
	case gray:
		// Black-and-white text: one bit a pixel, CCITT Group 4.
		p.Filter, p.Kind, p.BPC = "CCITTFaxDecode", "text", 1
		g := newG4Writer(out, w)
		var changes []int
		for y := 0; y < h; y++ {
			changes = rowChanges(rgb[y*w*3:(y+1)*w*3], changes[:0])
			g.row(changes)
		}
		return p, g.close()
	default:
		// Text with colour (links, headings, a logo): RGB, deflated.
		// (PNG's Up filter, /Predictor 15, makes anti-aliased text a
		// quarter larger.)
		p.Filter, p.Kind = "FlateDecode", "text-colour"
		return p, deflate(out, rgb)
	}
}

// rowChanges appends the positions in an RGB row where it changes between
// ink (luminance under 160) and paper, starting from paper.
func rowChanges(rgb []byte, changes []int) []int {
	ink := false
	for x, i := 0, 0; i+2 < len(rgb); {
		if !ink && rgb[i]&rgb[i+1]&rgb[i+2] == 0xff {
			j := skipWhite(rgb, i)
			x, i = x+(j-i)/3, j
			if i+2 >= len(rgb) {
				break
			}
		}
		l := (int(rgb[i])*77 + int(rgb[i+1])*150 + int(rgb[i+2])*29) >> 8
		if (l < 160) != ink {
			ink = !ink
			changes = append(changes, x)
		}
		x, i = x+1, i+3
	}
	return changes
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
