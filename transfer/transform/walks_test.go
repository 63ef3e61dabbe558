package transform

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os/exec"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestPageList(t *testing.T) {
	for _, c := range []struct {
		pages []int
		want  string
	}{
		{[]int{1}, "1"},
		{pageRange(1, 5), "1-5"},
		{pageRange(9, 1), "9-1"},
		{[]int{1, 2, 3, 5, 7, 8}, "1-3,5,7-8"},
		{[]int{12, 11, 10, 9, 7, 5, 4}, "12-9,7,5-4"},
		{[]int{3, 4, 3}, "3-4,3"},
	} {
		if got := pageList(c.pages); got != c.want {
			t.Errorf("pageList(%v) = %q, want %q", c.pages, got, c.want)
		}
	}
}

// Renderers walking as walks says, each drawing pages at its own uneven
// speed and stopping at the first page another took, draw every page
// exactly once, for every page count and renderer count.
func TestWalksCoverEveryPageOnce(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for n := 1; n <= 30; n++ {
		for w := 1; w <= min(n, 6); w++ {
			ways := walks(n, w)
			if len(ways) != w {
				t.Fatalf("%d pages, %d renderers: %d walks", n, w, len(ways))
			}
			for range 3 {
				tk := &taken{page: make([]bool, n)}
				drawn := make([][]int, w)
				var wg sync.WaitGroup
				for i, way := range ways {
					delay := time.Duration(rng.IntN(100)) * time.Microsecond
					wg.Go(func() {
						for _, num := range way.pages(n) {
							time.Sleep(delay)
							if !tk.take(num) {
								return
							}
							drawn[i] = append(drawn[i], num)
						}
					})
				}
				wg.Wait()
				all := slices.Concat(drawn...)
				slices.Sort(all)
				if !slices.Equal(all, pageRange(1, n)) {
					t.Fatalf("%d pages, %d renderers (walks %v): drew %v", n, w, ways, drawn)
				}
			}
		}
	}
}

// A document transformed by renderers that walk it from both ends (and a
// lone third) keeps every page in its place, gray and colour pages alike:
// page k holds a bar at a height of its own, found again in the output.
func TestWalksKeepPageOrder(t *testing.T) {
	const n = 23
	var contents []string
	for k := 1; k <= n; k++ {
		paint := "0 g"
		if k%4 == 0 {
			paint = "1 0 0 rg" // drawn again in RGB by the renderer that took it
		}
		contents = append(contents, fmt.Sprintf("%s 60 %d 400 12 re f", paint, 800-30*k))
	}
	pdf := pagesPDF(contents...)
	for _, workers := range []int{2, 3} {
		tr := newT(t, Config{Workers: workers})
		need(t, tr, "mutool")
		res, _, err := run(t, tr, "bars.pdf", pdf)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(tr.paths["mutool"], "draw", "-q", "-r", "20", "-c", "gray", "-F", "pgm", "-o", "-", res.Output)
		var pgm bytes.Buffer
		cmd.Stdout = &pgm
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(&pgm)
		for k := 1; k <= n; k++ {
			w, h, _, err := ppmHeader(br)
			if err != nil {
				t.Fatalf("%d renderers: page %d: %v", workers, k, err)
			}
			pix := make([]byte, w*h)
			if _, err := io.ReadFull(br, pix); err != nil {
				t.Fatal(err)
			}
			bar := slices.IndexFunc(pix, func(b byte) bool { return b < 160 }) / w
			// 30 points a page apart: 8.3 pixels at 20 DPI.
			if want := (842 - 800 + 30*k - 12) * 20 / 72; bar < want-3 || bar > want+3 {
				t.Errorf("%d renderers: output page %d has its bar at row %d, want about %d (page %d's)", workers, k, bar, want, k)
			}
		}
	}
}
