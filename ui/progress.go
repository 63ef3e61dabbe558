package ui

import (
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
	"github.com/dustin/go-humanize"
)

// meter shows a long job's progress: bar, bytes, rate and time left. Its
// update method is what app use-cases call from their ticker goroutine
// (about ten times a second); it hands the change to Fyne's thread.
type meter struct {
	bar *widget.ProgressBar
	// inf is shown for a phase that reports no bytes (a read-back, an
	// eject): the label says what is under way.
	inf   *widget.ProgressBarInfinite
	label *widget.Label
	// box holds the three; screens lay it out.
	box *fyne.Container
	// what and start describe the current phase; only Fyne's thread
	// touches them.
	what  string
	start time.Time
	// phases lists the phases of the last job, in order.
	phases []string
}

func newMeter() *meter {
	m := &meter{bar: widget.NewProgressBar(), inf: widget.NewProgressBarInfinite(), label: widget.NewLabel("")}
	m.label.Wrapping = fyne.TextWrapWord
	m.box = container.NewVBox(m.bar, m.inf, m.label)
	m.clear()
	return m
}

// begin resets the meter for a job, or the next phase of one; call on
// Fyne's thread.
func (m *meter) begin(what string) {
	m.note(what)
	m.what, m.start = what, time.Now()
	m.inf.Stop()
	m.inf.Hide()
	m.bar.SetValue(0)
	m.bar.Show()
	m.label.SetText(what)
}

// beginUnderway starts a phase that reports no bytes: the label says what
// is being done while an endless bar moves.
func (m *meter) beginUnderway(what string) {
	m.note(what)
	m.what, m.start = what, time.Now()
	m.bar.Hide()
	m.inf.Show()
	m.inf.Start()
	m.label.SetText(what + "…")
}

// note starts the phase list anew for a job's first phase.
func (m *meter) note(what string) {
	if m.what == "" {
		m.phases = nil
	}
	m.phases = append(m.phases, what)
}

// clear hides the meter when a job ends: no stale progress is left.
func (m *meter) clear() {
	m.what = ""
	m.bar.Hide()
	m.inf.Stop()
	m.inf.Hide()
	m.label.SetText("")
}

// update returns the progress callback for app use-cases; it may be called
// from any goroutine and describes the phase last begun.
func (m *meter) update() func(done, total int64) {
	return func(done, total int64) {
		onUI(func() {
			if m.what == "" || !m.bar.Visible() {
				return // the job ended, or the phase reports no bytes
			}
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
