package transform

import (
	"context"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"
)

// rowChangesRef is rowChanges written pixel by pixel, the rule itself:
// a change wherever a pixel's ink (luminance under 160) differs from its
// left neighbour's, the first pixel's neighbour being paper.
func rowChangesRef(row []byte, ch int) []int {
	var changes []int
	ink := false
	for x := 0; x*ch+ch-1 < len(row); x++ {
		l := int(row[x*ch])
		if ch == 3 {
			i := x * 3
			l = (int(row[i])*77 + int(row[i+1])*150 + int(row[i+2])*29) >> 8
		}
		if (l < 160) != ink {
			ink = !ink
			changes = append(changes, x)
		}
	}
	return changes
}

// rowChanges finds the same changes as the rule, and midTones counts the
// same pixels, in words or one at a time, on rows of every width up to 200
// (and some to 700), of every byte value, of runs of paper and ink, in
// gray and RGB.
func TestRowChanges(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	values := []byte{0, 1, 47, 48, 49, 127, 128, 158, 159, 160, 161, 207, 208, 254, 255}
	for i := 0; i < 20000; i++ {
		ch := 1
		if i%4 == 3 {
			ch = 3
		}
		w := rng.IntN(201)
		if i%10 == 9 {
			w = rng.IntN(700) // several 64-pixel words, runs across them
		}
		row := make([]byte, w*ch)
		run := 0
		var v byte
		for j := range row {
			if run == 0 {
				run = 1 + rng.IntN(80)
				switch rng.IntN(4) {
				case 0:
					v = 255
				case 1:
					v = 0
				case 2:
					v = values[rng.IntN(len(values))]
				default:
					v = byte(rng.IntN(256))
				}
			}
			row[j] = v
			run--
		}
		got, want := rowChanges(row, ch, nil), rowChangesRef(row, ch)
		if !slices.Equal(got, want) {
			t.Fatalf("row %v (%d channels): changes %v, want %v", row, ch, got, want)
		}
		if ch == 1 {
			mid := 0
			for _, b := range row {
				if b > 48 && b < 208 {
					mid++
				}
			}
			if got := midTones(row); got != mid {
				t.Fatalf("row %v: %d mid-tones counted, want %d", row, got, mid)
			}
		}
	}
}

// renderedPage renders page 1 of a PDF at 150 DPI in gray with the
// sandboxed renderer, as a transformation would.
func renderedPage(b *testing.B, pdf []byte) (pix []byte, w, h int) {
	tr := newT(b, Config{})
	need(b, tr, "mutool")
	path := write(b, b.TempDir(), "page.pdf", pdf)
	err := tr.streamPages(context.Background(), "mutool", path, pass{pages: []int{1}, dpi: 150, gray: true}, time.Now().Add(time.Minute), func(num, pw, ph, ch int, p []byte) error {
		pix, w, h = slices.Clone(p), pw, ph
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return pix, w, h
}

// BenchmarkEncodeTextPage codes a rendered A4 page of text (55 lines of
// 10-point Helvetica) at 150 DPI: classification and Group 4.
func BenchmarkEncodeTextPage(b *testing.B) {
	pdf := textPDF(1, "", "")
	if p := os.Getenv("SLUICE_BENCH_PDF"); p != "" {
		var err error
		if pdf, err = os.ReadFile(p); err != nil {
			b.Fatal(err)
		}
	}
	pix, w, h := renderedPage(b, pdf)
	b.SetBytes(int64(len(pix)))
	b.ResetTimer()
	for range b.N {
		if _, err := encodePage(pix, w, h, 1, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
