package transform

import (
	"compress/zlib"
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

// classify looks at an RGB page (3 bytes a pixel) and says how to encode
// it.
func classify(rgb []byte) (gray, photo bool) {
	var coloured, mid, n int
	// Every second pixel of every second row would do; every pixel costs
	// little next to rendering.
	for i := 0; i+2 < len(rgb); i += 3 {
		r, g, b := int(rgb[i]), int(rgb[i+1]), int(rgb[i+2])
		hi, lo := max(r, g, b), min(r, g, b)
		if hi-lo > chromaMin {
			coloured++
		}
		if l := (r*77 + g*150 + b*29) >> 8; l > 48 && l < 208 {
			mid++
		}
		n++
	}
	if n == 0 {
		return true, false
	}
	return float64(coloured) < colourShare*float64(n), float64(mid) > midShare*float64(n)
}

// encodePage encodes an RGB page of w × h pixels into out and describes
// it. rgb is overwritten (used as scratch space).
func encodePage(rgb []byte, w, h int, out io.Writer) (pageImage, error) {
	gray, photo := classify(rgb)
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
		// Black-and-white text: one bit a pixel, deflated.
		p.Filter, p.Kind, p.BPC = "FlateDecode", "text", 1
		g := toGray(rgb, w, h)
		row := (w + 7) / 8
		bits := rgb[:row*h] // the gray copy is separate: rgb is free
		clear(bits)
		for y := 0; y < h; y++ {
			src := g.Pix[y*w : y*w+w]
			dst := bits[y*row : y*row+row]
			for x, v := range src {
				if v >= 160 { // white is 1 in DeviceGray
					dst[x>>3] |= 0x80 >> (x & 7)
				}
			}
		}
		return p, deflate(out, bits)
	default:
		// Text with colour (links, headings, a logo): RGB, each row
		// filtered as PNG's Up, deflated.
		p.Filter, p.Kind, p.Predictor = "FlateDecode", "text-colour", true
		return p, deflateUp(out, rgb, w*3, h)
	}
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

// deflateUp writes rows of stride bytes each preceded by PNG filter type 2
// (Up: each byte minus the one above it), deflated: what /Predictor 15
// undoes.
func deflateUp(out io.Writer, pix []byte, stride, h int) error {
	z, _ := zlib.NewWriterLevel(out, flateLevel)
	row := make([]byte, stride+1)
	row[0] = 2
	for y := 0; y < h; y++ {
		cur := pix[y*stride : (y+1)*stride]
		if y == 0 {
			copy(row[1:], cur)
		} else {
			prev := pix[(y-1)*stride : y*stride]
			for x := range cur {
				row[1+x] = cur[x] - prev[x]
			}
		}
		if _, err := z.Write(row); err != nil {
			return err
		}
	}
	return z.Close()
}
