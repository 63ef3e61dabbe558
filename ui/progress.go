package ui

import (
	"fmt"
	"time"

	"fyne.io/fyne/v2/widget"
	"github.com/dustin/go-humanize"
)

// meter shows a long job's progress: bar, bytes, rate and time left. Its
// update method is what app use-cases call from their ticker goroutine
// (about ten times a second); it hands the change to Fyne's thread.
type meter struct {
	bar   *widget.ProgressBar
	label *widget.Label
	// what and start describe the current phase; only Fyne's thread
	// touches them.
	what  string
	start time.Time
}

func newMeter() *meter {
	m := &meter{bar: widget.NewProgressBar(), label: widget.NewLabel("")}
	m.bar.Hide()
	return m
}

// begin resets the meter for a job, or the next phase of one; call on
// Fyne's thread.
func (m *meter) begin(what string) {
	m.what, m.start = what, time.Now()
	m.bar.SetValue(0)
	m.bar.Show()
	m.label.SetText(what)
}

// update returns the progress callback for app use-cases; it may be called
// from any goroutine and describes the phase last begun.
func (m *meter) update() func(done, total int64) {
	return func(done, total int64) {
		onUI(func() {
			if total > 0 {
				m.bar.SetValue(float64(done) / float64(total))
			}
			m.label.SetText(describeProgress(m.what, done, total, time.Since(m.start)))
		})
	}
}

func describeProgress(what string, done, total int64, elapsed time.Duration) string {
	s := fmt.Sprintf("%s %s of %s", what, humanize.IBytes(uint64(done)), humanize.IBytes(uint64(total)))
	if secs := elapsed.Seconds(); secs > 0.5 && done > 0 {
		rate := float64(done) / secs
		s += fmt.Sprintf(", %s/s", humanize.IBytes(uint64(rate)))
		if total > done {
			left := time.Duration(float64(total-done) / rate * float64(time.Second))
			s += fmt.Sprintf(", about %s left", left.Round(time.Second))
		}
	}
	return s
}
