package ui

import (
	"fmt"
	"image/color"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
	"github.com/dustin/go-humanize"

	"sluice/transfer/custody"
)

// chartDays is how many days the bundles-per-day chart shows.
const chartDays = 14

// dayTotals counts the bundles this station sealed or received per UTC day,
// and their bytes, for the last chartDays days up to now.
func dayTotals(recs []custody.Record, now time.Time) (days []time.Time, bundles, bytes []int64) {
	today := now.UTC().Truncate(24 * time.Hour)
	days = make([]time.Time, chartDays)
	bundles, bytes = make([]int64, chartDays), make([]int64, chartDays)
	for i := range days {
		days[i] = today.AddDate(0, 0, i-chartDays+1)
	}
	for _, r := range recs {
		if r.Event != custody.EventSealed && r.Event != custody.EventReceived {
			continue
		}
		i := int(r.Time.UTC().Truncate(24*time.Hour).Sub(days[0]) / (24 * time.Hour))
		if i >= 0 && i < chartDays {
			bundles[i]++
			bytes[i] += r.Bytes
		}
	}
	return days, bundles, bytes
}

// newDayChart draws one bar per day, its height the day's bytes, labelled
// with the day's bundle count.
func newDayChart(recs []custody.Record, now time.Time) fyne.CanvasObject {
	days, bundles, bytes := dayTotals(recs, now)
	var most, total, count int64
	for i := range days {
		most = max(most, bytes[i])
		total += bytes[i]
		count += bundles[i]
	}
	const height = 60
	bars := make([]fyne.CanvasObject, len(days))
	for i, d := range days {
		h := float32(2)
		if most > 0 {
			h = max(2, height*float32(bytes[i])/float32(most))
		}
		bar := canvas.NewRectangle(theme.Color(theme.ColorNamePrimary))
		if bundles[i] == 0 {
			bar.FillColor = color.NRGBA{R: 0x80, G: 0x80, B: 0x80, A: 0x40}
		}
		bar.SetMinSize(fyne.NewSize(18, h))
		label := widget.NewLabel(fmt.Sprintf("%s\n%d", d.Format("2/1"), bundles[i]))
		label.Alignment = fyne.TextAlignCenter
		bars[i] = container.NewVBox(layout.NewSpacer(), container.NewCenter(bar), label)
	}
	title := widget.NewLabel(fmt.Sprintf("Bundles sealed or received per day, last %d days: %d bundles, %s (bar height: bytes, number: bundles)",
		chartDays, count, humanize.IBytes(uint64(total))))
	return container.NewVBox(title, container.NewGridWithColumns(len(days), bars...))
}
