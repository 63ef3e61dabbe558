package transform

import (
	"bytes"
	"io"
	"math/rand/v2"
	"slices"
	"testing"

	"golang.org/x/image/ccitt"
)

// Rows coded by g4Writer decode to the same pixels with x/image/ccitt:
// random rows, rows of text-like runs, a row all black, widths not a
// multiple of 8.
func TestG4RoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, w := range []int{1, 7, 8, 13, 100, 1240, 2600, 5000} {
		h := 40
		rgb := make([]byte, w*h*3)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				var v byte = 255
				switch {
				case y == 3:
					v = 0 // a row all black
				case y%5 == 1:
					if rng.IntN(2) == 0 {
						v = 0
					}
				case y%5 == 2:
					if (x/(1+y))%3 == 0 {
						v = 0
					}
				case y > 20 && x > w/3 && x < w/2:
					v = 0
				}
				i := (y*w + x) * 3
				rgb[i], rgb[i+1], rgb[i+2] = v, v, v
			}
		}
		var b bytes.Buffer
		g := newG4Writer(&b, w)
		var ch []int
		for y := 0; y < h; y++ {
			ch = rowChanges(rgb[y*w*3:(y+1)*w*3], 3, ch[:0])
			// The same row in gray (as a gray rendering gives it) has
			// the same changes.
			gray := make([]byte, w)
			for x := range gray {
				gray[x] = rgb[(y*w+x)*3]
			}
			if g1 := rowChanges(gray, 1, nil); !slices.Equal(g1, ch) {
				t.Fatalf("width %d row %d: gray changes %v, RGB %v", w, y, g1, ch)
			}
			g.row(ch)
		}
		if err := g.close(); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(ccitt.NewReader(&b, ccitt.MSB, ccitt.Group4, w, h, nil))
		if err != nil {
			t.Fatalf("width %d: %v", w, err)
		}
		row := (w + 7) / 8
		if len(got) != row*h {
			t.Fatalf("width %d: %d bytes decoded, want %d", w, len(got), row*h)
		}
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				white := got[y*row+x/8]&(0x80>>(x%8)) != 0
				if want := rgb[(y*w+x)*3] == 255; white != want {
					t.Fatalf("width %d: pixel (%d, %d) white=%v, want %v", w, x, y, white, want)
				}
			}
		}
	}
}
