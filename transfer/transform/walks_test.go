package transform

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"sluice/internal/pdfcheck/pdftest"
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
		bars := barRows(t, tr, res.Output, 20)
		if len(bars) != n {
			t.Fatalf("%d renderers: %d pages", workers, len(bars))
		}
		for i, bar := range bars {
			k := i + 1
			// 30 points a page apart: 8.3 pixels at 20 DPI.
			if want := (842 - 800 + 30*k - 12) * 20 / 72; bar < want-3 || bar > want+3 {
				t.Errorf("%d renderers: output page %d has its bar at row %d, want about %d (page %d's)", workers, k, bar, want, k)
			}
		}
	}
}

// twoPageTrees is a PDF of six 100-point pages, each with a bar at a
// height of its own, whose page tree (object 2) is written twice in one
// object stream: six kids, then the first three. The cross-reference
// stream points at the second; mupdf keeps the first. So pdfcpu counts 3
// pages and mutool 6, and "N" is not the same page to both (a review's
// finding).
func twoPageTrees() []byte {
	d := pdftest.NewDoc("1.5")
	d.Obj(1, "<< /Type /Catalog /Pages 2 0 R >>")
	kids := func(n int) string {
		var k []string
		for i := range n {
			k = append(k, fmt.Sprintf("%d 0 R", 10+2*i))
		}
		return fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(k, " "), n)
	}
	for i := range 6 {
		d.Obj(10+2*i, fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 100 100] /Contents %d 0 R >>", 11+2*i))
		d.Stream(11+2*i, "", fmt.Appendf(nil, "0 g 10 %d 80 6 re f", 84-12*(i+1)))
	}
	six, three := kids(6), kids(3)
	head := fmt.Sprintf("2 0 2 %d ", len(six)+1)
	d.Stream(4, fmt.Sprintf("/Type /ObjStm /N 2 /First %d", len(head)), []byte(head+six+" "+three))
	d.InStream(2, 4, 1) // the second
	return d.XRefStream(5, 22, "")
}

// A document that mutool and pdfcpu count differently never has one
// page's pixels put in another's place: it is held, or its pages are
// pdfcpu's, in order.
func TestPageTreesThatDisagree(t *testing.T) {
	pdf := twoPageTrees()
	if info, err := pdfInfo(bytes.NewReader(pdf), int64(len(pdf)), 100); err != nil || info.Pages != 3 {
		t.Fatalf("pdfcpu: %v pages, %v; the test needs 3", info, err)
	}
	for _, workers := range []int{1, 2, 3} {
		for range 3 {
			tr := newT(t, Config{Workers: workers})
			need(t, tr, "mutool")
			res, _, err := run(t, tr, "trees.pdf", pdf)
			if err != nil {
				continue // held: what it should be
			}
			for i, bar := range barRows(t, tr, res.Output, 72) {
				k := i + 1
				if want := 100 - (84 - 12*k) - 6; bar < want-2 || bar > want+2 {
					t.Errorf("%d renderers: output page %d holds the bar at row %d, page %d's is at %d", workers, k, bar, k, want)
				}
			}
		}
	}
}

// barRows draws each page of the PDF at path in gray at dpi and gives the
// row of its first dark pixel: where its bar is.
func barRows(t *testing.T, tr *Transformer, path string, dpi int) []int {
	t.Helper()
	cmd := exec.Command(tr.paths["mutool"], "draw", "-q", "-r", strconv.Itoa(dpi), "-c", "gray", "-F", "pgm", "-o", "-", path)
	var pgm bytes.Buffer
	cmd.Stdout = &pgm
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(&pgm)
	var rows []int
	for {
		if _, err := br.Peek(1); err == io.EOF {
			return rows
		}
		w, h, _, err := ppmHeader(br)
		if err != nil {
			t.Fatalf("page %d: %v", len(rows)+1, err)
		}
		pix := make([]byte, w*h)
		if _, err := io.ReadFull(br, pix); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, slices.IndexFunc(pix, func(b byte) bool { return b < 160 })/w)
	}
}
