package ui

import (
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
	"github.com/dustin/go-humanize"

	"sluice/app"
	"sluice/transfer/custody"
)

// maxShown bounds the rows the table holds; the CLI exports everything.
const maxShown = 100_000

// logScreen is the auditor's view of this station's custody log: a
// filtered table and a verify button with one verdict.
type logScreen struct {
	st      *app.Station
	win     fyne.Window
	all     []custody.Record
	shown   []custody.Record
	event   *widget.Select
	search  *widget.Entry
	table   *widget.Table
	verdict *widget.Label
	count   *widget.Label
	content fyne.CanvasObject
}

var logColumns = []string{"Seq", "Time (UTC)", "Event", "Officer", "Bundle", "Peer", "Files", "Size", "Outcome", "Reason"}

func newLogScreen(st *app.Station, w fyne.Window) *logScreen {
	l := &logScreen{st: st, win: w}
	l.event = widget.NewSelect(append([]string{"all events"}, custody.Events...), func(string) { l.filter() })
	l.search = widget.NewEntry()
	l.search.SetPlaceHolder("bundle, officer, station or reason contains…")
	l.search.OnChanged = func(string) { l.filter() }
	l.table = widget.NewTableWithHeaders(
		func() (int, int) { return len(l.shown), len(logColumns) },
		func() fyne.CanvasObject { return widget.NewLabel("") },
		l.updateCell)
	l.table.ShowHeaderColumn = false
	l.table.CreateHeader = func() fyne.CanvasObject { return widget.NewLabel("") }
	l.table.UpdateHeader = func(id widget.TableCellID, o fyne.CanvasObject) {
		if id.Col >= 0 {
			o.(*widget.Label).SetText(logColumns[id.Col])
		}
	}
	for i, wd := range []float32{50, 160, 110, 90, 280, 90, 60, 80, 80, 400} {
		l.table.SetColumnWidth(i, wd)
	}
	l.verdict = widget.NewLabel("")
	l.verdict.Wrapping = fyne.TextWrapWord
	l.count = widget.NewLabel("")
	verify := widget.NewButtonWithIcon("Verify log", theme.ConfirmIcon(), l.verify)
	verify.Importance = widget.HighImportance
	reload := widget.NewButtonWithIcon("Reload", theme.ViewRefreshIcon(), l.load)
	bar := container.NewBorder(nil, nil, container.NewHBox(verify, reload, l.event), l.count, l.search)
	l.content = container.NewBorder(container.NewVBox(bar, l.verdict), nil, nil, nil, l.table)
	l.event.SetSelected("all events")
	l.load()
	return l
}

func (l *logScreen) load() {
	l.all = l.all[:0]
	err := custody.Each(l.st.CustodyPath, func(_ []byte, r custody.Record) error {
		if len(l.all) < maxShown {
			l.all = append(l.all, r)
		}
		return nil
	})
	if err != nil {
		l.verdict.SetText("The log cannot be read: " + err.Error())
		l.verdict.Importance = widget.DangerImportance
		l.verdict.Refresh()
	}
	l.filter()
}

func (l *logScreen) filter() {
	if l.table == nil {
		return
	}
	ev := l.event.Selected
	q := strings.ToLower(l.search.Text)
	l.shown = l.shown[:0]
	for _, r := range l.all {
		if ev != "" && ev != "all events" && r.Event != ev {
			continue
		}
		if q != "" && !strings.Contains(strings.ToLower(r.Bundle+" "+r.Officer+" "+r.Station+" "+r.Peer+" "+r.Reason), q) {
			continue
		}
		l.shown = append(l.shown, r)
	}
	l.count.SetText(fmt.Sprintf("%s of %s records", humanize.Comma(int64(len(l.shown))), humanize.Comma(int64(len(l.all)))))
	l.table.Refresh()
}

func (l *logScreen) updateCell(id widget.TableCellID, o fyne.CanvasObject) {
	r := l.shown[id.Row]
	var s string
	switch id.Col {
	case 0:
		s = fmt.Sprint(r.Seq)
	case 1:
		s = r.Time.UTC().Format("2006-01-02 15:04:05")
	case 2:
		s = r.Event
	case 3:
		s = r.Officer
	case 4:
		s = r.Bundle
	case 5:
		s = r.Peer
	case 6:
		if r.Files > 0 {
			s = humanize.Comma(r.Files)
		}
	case 7:
		if r.Bytes > 0 {
			s = humanize.IBytes(uint64(r.Bytes))
		}
	case 8:
		s = r.Outcome
	case 9:
		s = r.Reason
	}
	o.(*widget.Label).SetText(s)
}

// verify checks the whole log and shows one verdict, green or red.
func (l *logScreen) verify() {
	v, err := l.st.Verifier(l.st.Name)
	if err != nil {
		l.setVerdict(false, err.Error())
		return
	}
	l.verdict.SetText("Verifying…")
	go func() {
		rep, err := custody.Verify(l.st.CustodyPath, v, l.st.Origin(), nil)
		onUI(func() {
			switch {
			case err != nil:
				l.setVerdict(false, err.Error())
			case !rep.OK():
				where := ""
				if rep.Line > 0 {
					where = fmt.Sprintf(" at line %d", rep.Line)
				}
				l.setVerdict(false, fmt.Sprintf("FAILED%s: %s", where, rep.Problem))
			default:
				l.setVerdict(true, fmt.Sprintf("Verified: %s records, %d signed checkpoints; not edited, reordered or truncated.",
					humanize.Comma(rep.Records), rep.Checkpoints))
			}
		})
	}()
}

func (l *logScreen) setVerdict(ok bool, text string) {
	if ok {
		l.verdict.SetText("✓ " + text)
		l.verdict.Importance = widget.SuccessImportance
	} else {
		l.verdict.SetText("✗ " + text)
		l.verdict.Importance = widget.DangerImportance
	}
	l.verdict.Refresh()
}
