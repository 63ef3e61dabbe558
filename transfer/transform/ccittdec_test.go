package transform

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"golang.org/x/image/ccitt"
)

// g4Page codes h rows of w pixels, each row's changes made by change(y).
func g4Page(t testing.TB, w, h int, change func(y int) []int) ([]byte, [][]int) {
	t.Helper()
	var b bytes.Buffer
	g := newG4Writer(&b, w)
	var rows [][]int
	for y := 0; y < h; y++ {
		ch := change(y)
		rows = append(rows, ch)
		g.row(ch)
	}
	if err := g.close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), rows
}

// randomChanges gives the changing elements of a row of w pixels: runs
// short and long, so every mode and makeup code is used.
func randomChanges(rng *rand.Rand, w int, prev []int) []int {
	var ch []int
	switch rng.IntN(4) {
	case 0: // blank
	case 1: // near the row above (vertical modes, passes)
		for _, c := range prev {
			c += rng.IntN(9) - 4
			if c >= 0 && c < w && (len(ch) == 0 || c > ch[len(ch)-1]) {
				ch = append(ch, c)
			}
		}
	default:
		for x := rng.IntN(w + 1); x < w; x += 1 + rng.IntN([]int{3, 70, 3000}[rng.IntN(3)]) {
			ch = append(ch, x)
		}
	}
	return ch
}

// g4Reader gives back every row g4Writer coded, at widths around the byte
// and makeup-code boundaries.
func TestG4ReaderRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, w := range []int{1, 2, 7, 8, 9, 63, 64, 65, 1240, 2560, 2623, 2624, 2625, 6000} {
		var prev []int
		raw, rows := g4Page(t, w, 60, func(int) []int { prev = randomChanges(rng, w, prev); return prev })
		d := newG4Reader(raw, w)
		for y, want := range rows {
			got, err := d.row()
			if err != nil {
				t.Fatalf("width %d row %d: %v", w, y, err)
			}
			if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
				t.Fatalf("width %d row %d: changes %v, want %v", w, y, got, want)
			}
		}
		if err := g4Exact(raw, w, len(rows)); err != nil {
			t.Fatalf("width %d: %v", w, err)
		}
		if err := g4ExactReference(raw, w, len(rows)); err != nil {
			t.Fatalf("width %d: reference: %v", w, err)
		}
	}
}

// A page's verification costs in proportion to its coded bytes, not its
// pixels: 100,000 × 100,000 blank pixels are 12.5 KB of Group 4, which
// x/image/ccitt took minutes to decode.
func TestG4ExactCostIsInCodes(t *testing.T) {
	const w, h = 100_000, 100_000
	raw, _ := g4Page(t, w, h, func(int) []int { return nil })
	start := time.Now()
	if err := g4Exact(raw, w, h); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("%d bytes of Group 4 took %v to verify", len(raw), d)
	}
}

// Streams that are not exactly g4Writer's are refused with a reason.
func TestG4ExactRefuses(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	const w, h = 300, 20
	var prev []int
	raw, _ := g4Page(t, w, h, func(int) []int { prev = randomChanges(rng, w, prev); return prev })
	for _, c := range []struct {
		name string
		raw  []byte
		w, h int
		want string
	}{
		{"a byte after its end", append(slices.Clip(raw), 0), w, h, "not coded as Sluice codes"},
		{"a ZIP after its end", append(slices.Clip(raw), "PK\x03\x04"...), w, h, "not coded as Sluice codes"},
		{"cut short", raw[:len(raw)/2], w, h, "does not decode"},
		{"one row more than coded", raw, w, h + 1, "does not decode"},
		{"one row less than coded", raw, w, h - 1, "not coded as Sluice codes"},
		{"wider than coded", raw, w + 1, h, ""},
		{"empty", nil, w, h, "does not decode"},
		{"all ones", bytes.Repeat([]byte{0xff}, 64), w, h, ""},
		{"all zeros", make([]byte, 64), w, h, "not a mode Sluice writes"},
	} {
		err := g4Exact(c.raw, c.w, c.h)
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		if !bytes.Contains([]byte(err.Error()), []byte(c.want)) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
		if (g4ExactReference(c.raw, c.w, c.h) == nil) != (err == nil) {
			t.Errorf("%s: the reference disagrees", c.name)
		}
	}
}

// FuzzG4Exact holds g4Exact to the reference made of x/image/ccitt and
// g4Writer: the same verdict on every input.
func FuzzG4Exact(f *testing.F) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, w := range []int{1, 9, 64, 200, 2700} {
		var prev []int
		raw, _ := g4Page(f, w, 6, func(int) []int { prev = randomChanges(rng, w, prev); return prev })
		f.Add(raw, uint16(w), uint8(6))
		f.Add(raw[:len(raw)-1], uint16(w), uint8(6))
	}
	f.Fuzz(func(t *testing.T, raw []byte, w16 uint16, h8 uint8) {
		w, h := int(w16%4000)+1, int(h8)+1
		got, want := g4Exact(raw, w, h), g4ExactReference(raw, w, h)
		if (got == nil) != (want == nil) {
			t.Fatalf("%d × %d, %x: g4Exact %v, x/image/ccitt and g4Writer %v", w, h, raw, got, want)
		}
	})
}

// g4ExactReference is g4Exact done with x/image/ccitt: decode every
// pixel, code them again, compare.
func g4ExactReference(raw []byte, w, h int) error {
	dec := ccitt.NewReader(bytes.NewReader(raw), ccitt.MSB, ccitt.Group4, w, h, nil)
	same := &prefixOf{want: raw}
	g := newG4Writer(same, w)
	row := make([]byte, (w+7)/8)
	var changes []int
	for y := 0; y < h; y++ {
		if _, err := io.ReadFull(dec, row); err != nil {
			return err
		}
		changes = bitRowChanges(row, w, changes[:0])
		g.row(changes)
	}
	if n, _ := dec.Read(make([]byte, 1)); n > 0 {
		return errors.New("more rows")
	}
	if err := g.close(); err != nil || same.off != len(raw) {
		return errors.New("not the same")
	}
	return nil
}

// bitRowChanges appends the positions where a row of w pixels (one bit
// each, most significant first, a set bit white, as x/image/ccitt gives
// them) changes colour, starting from white.
func bitRowChanges(row []byte, w int, changes []int) []int {
	white := true
	for x := 0; x < w; x++ {
		if px := row[x>>3]&(0x80>>(x&7)) != 0; px != white {
			changes = append(changes, x)
			white = px
		}
	}
	return changes
}
