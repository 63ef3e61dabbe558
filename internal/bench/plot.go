package main

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

var (
	white     = color.RGBA{255, 255, 255, 255}
	black     = color.RGBA{0, 0, 0, 255}
	grey      = color.RGBA{200, 200, 200, 255}
	sluiceCol = color.RGBA{31, 119, 180, 255} // blue
	udpcCol   = color.RGBA{255, 127, 14, 255} // orange
)

// drawCurve draws the loss curve as two bar charts, one above the other:
// goodput (median of the intact transfers) and the share of transfers
// that arrived intact, for each loss condition, Sluice beside udpcast.
// Plain image packages and x/image's fixed 7×13 font, already a module
// of the build.
func drawCurve(path string, rows []curveRow, rate int64, mib, reps int, withUdpcast bool) error {
	const w, h = 1000, 800
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), &image.Uniform{white}, image.Point{}, draw.Src)
	text(img, 20, 20, black, fmt.Sprintf("Sluice diode and udpcast through loss: %d MiB bundle, --rate %s, 25 %% FEC, one pass, %d transfer(s) per bar",
		mib, fmtRate(rate), reps))
	text(img, 20, 36, black, fmt.Sprintf("loopback, sender, lossy relay and receiver on one machine of %d cores, %s", runtime.NumCPU(), time.Now().UTC().Format("2006-01-02")))
	maxP := float64(rate) / 1e6
	good := func(r curveRow, tool int) float64 {
		if tool == 0 {
			return r.sluiceP
		}
		return r.udpcstP
	}
	share := func(r curveRow, tool int) float64 {
		os := r.sluice
		if tool == 1 {
			os = r.udpcast
		}
		if len(os) == 0 {
			return 0
		}
		return 100 * float64(succeeded(os)) / float64(len(os))
	}
	tools := 1
	if withUdpcast {
		tools = 2
	}
	panel(img, image.Rect(80, 80, w-30, 380), rows, tools, "goodput on the link, Mbit/s (median of the intact transfers; 0: none intact)", maxP, good, "%.0f")
	panel(img, image.Rect(80, 460, w-30, 720), rows, tools, "transfers intact, %", 100, share, "%.0f")
	// Legend.
	lx, ly := 90, h-20
	legend := []struct {
		c    color.Color
		name string
	}{{sluiceCol, "sluice diode send --fec 25%"}, {udpcCol, "udp-sender --async --fec 8x32/128"}}
	for i := range tools {
		fill(img, image.Rect(lx, ly-10, lx+14, ly+2), legend[i].c)
		text(img, lx+20, ly, black, legend[i].name)
		lx += 320
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// panel draws one bar chart in r: an axis with ticks up to top, a group
// of bars per row (one per tool), the rows' labels under the groups.
func panel(img *image.RGBA, r image.Rectangle, rows []curveRow, tools int, title string, top float64, value func(curveRow, int) float64, format string) {
	text(img, r.Min.X-60, r.Min.Y-22, black, title)
	step := niceStep(top / 5)
	top = math.Ceil(top/step) * step
	ticks := top
	top *= 1.08 // room for the labels over the highest bars
	y := func(v float64) int { return r.Max.Y - int(float64(r.Dy())*v/top+0.5) }
	for v := 0.0; v <= ticks+step/2; v += step {
		yy := y(v)
		hline(img, r.Min.X, r.Max.X, yy, grey)
		s := fmt.Sprintf(format, v)
		text(img, r.Min.X-8-7*len(s), yy+4, black, s)
	}
	vline(img, r.Min.X, r.Min.Y, r.Max.Y, black)
	hline(img, r.Min.X, r.Max.X, r.Max.Y, black)
	gw := r.Dx() / len(rows)
	bw := gw / 4
	for i, row := range rows {
		gx := r.Min.X + i*gw + (gw-tools*bw)/2
		for t := range tools {
			v := value(row, t)
			c := sluiceCol
			if t == 1 {
				c = udpcCol
			}
			x0 := gx + t*bw
			fill(img, image.Rect(x0+2, y(v), x0+bw-2, r.Max.Y), c)
			s := fmt.Sprintf(format, v)
			text(img, x0+bw/2-7*len(s)/2, y(v)-4, black, s)
		}
		text(img, r.Min.X+i*gw+gw/2-7*len(row.label)/2, r.Max.Y+18, black, row.label)
	}
}

func niceStep(x float64) float64 {
	if x <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= x {
			return m * p
		}
	}
	return 10 * p
}

func text(img *image.RGBA, x, y int, c color.Color, s string) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

func fill(img *image.RGBA, r image.Rectangle, c color.Color) {
	draw.Draw(img, r, &image.Uniform{c}, image.Point{}, draw.Src)
}

func hline(img *image.RGBA, x0, x1, y int, c color.Color) { fill(img, image.Rect(x0, y, x1+1, y+1), c) }
func vline(img *image.RGBA, x, y0, y1 int, c color.Color) { fill(img, image.Rect(x, y0, x+1, y1+1), c) }
