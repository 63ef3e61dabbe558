package ui

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
	"github.com/dustin/go-humanize"

	"sluice/app"
	"sluice/internal/durable"
	"sluice/internal/safetext"
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
	since   *widget.Entry
	until   *widget.Entry
	table   *widget.Table
	verdict *widget.Label
	count   *widget.Label
	chart   *fyne.Container
	// verifyBtn is the screen's primary button.
	verifyBtn *widget.Button
	content   fyne.CanvasObject
}

var logColumns = []string{"Seq", "Time (UTC)", "Event", "Officer", "Bundle", "Peer", "Files", "Size", "Outcome", "Reason"}

func newLogScreen(st *app.Station, w fyne.Window) *logScreen {
	l := &logScreen{st: st, win: w}
	l.event = widget.NewSelect(append([]string{"all events"}, custody.Events...), func(string) { l.filter() })
	l.search = widget.NewEntry()
	l.search.SetPlaceHolder("bundle, officer, station or reason contains…")
	l.search.OnChanged = func(string) { l.filter() }
	l.since = widget.NewEntry()
	l.since.SetPlaceHolder("since YYYY-MM-DD")
	l.since.OnChanged = func(string) { l.filter() }
	l.until = widget.NewEntry()
	l.until.SetPlaceHolder("until YYYY-MM-DD")
	l.until.OnChanged = func(string) { l.filter() }
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
	for i, wd := range []float32{45, 150, 135, 80, 270, 80, 55, 75, 75, 400} {
		l.table.SetColumnWidth(i, wd)
	}
	l.table.OnSelected = func(id widget.TableCellID) {
		if id.Row >= 0 && id.Row < len(l.shown) {
			l.showRecord(l.shown[id.Row])
		}
	}
	l.verdict = widget.NewLabel("")
	l.verdict.Wrapping = fyne.TextWrapWord
	l.count = widget.NewLabel("")
	l.verifyBtn = widget.NewButtonWithIcon("Verify log", theme.ConfirmIcon(), l.verify)
	l.verifyBtn.Importance = widget.HighImportance
	verify := l.verifyBtn
	// No Reload: the screen follows the log as records are appended, by
	// this window, another one or the CLI (Station.Watch).
	export := widget.NewButtonWithIcon("Export…", theme.DocumentSaveIcon(), l.pickExport)
	reconcile := widget.NewButtonWithIcon("Reconcile…", theme.SearchIcon(), l.pickReconcile)
	buttons := container.NewBorder(nil, nil, container.NewHBox(verify, export, reconcile), l.count)
	date := func(e *widget.Entry) fyne.CanvasObject {
		return container.NewGridWrap(fyne.NewSize(165, e.MinSize().Height), e)
	}
	filters := container.NewBorder(nil, nil, container.NewHBox(l.event, date(l.since), date(l.until)), nil, l.search)
	bar := container.NewVBox(buttons, filters)
	l.chart = container.NewStack()
	l.content = container.NewBorder(container.NewVBox(bar, l.verdict, l.chart), nil, nil, nil, l.table)
	l.event.SetSelected("all events")
	l.load()
	return l
}

// load reads the log now (the screen's first view).
func (l *logScreen) load() {
	recs, err := newestRecords(l.st.CustodyPath)
	l.show(recs, err)
}

// reload reads the log off the UI thread and then shows it: the screen
// follows appends without freezing on a large log.
func (l *logScreen) reload() {
	go func() {
		recs, err := newestRecords(l.st.CustodyPath)
		onUI(func() { l.show(recs, err) })
	}()
}

// newestRecords returns the newest maxShown records of the log: a table
// that kept the first ones would stop showing new records on a large log.
func newestRecords(path string) ([]custody.Record, error) {
	var ring []custody.Record
	n := 0
	err := custody.Each(path, func(_ []byte, r custody.Record) error {
		if len(ring) < maxShown {
			ring = append(ring, r)
		} else {
			ring[n%maxShown] = r
		}
		n++
		return nil
	})
	if n > maxShown { // rotate so the oldest kept comes first
		k := n % maxShown
		ring = append(ring[k:], ring[:k]...)
	}
	return ring, err
}

func (l *logScreen) show(recs []custody.Record, err error) {
	l.all = recs
	if err != nil {
		l.verdict.SetText("The log cannot be read: " + safetext.Line(err.Error()))
		l.verdict.Importance = widget.DangerImportance
		l.verdict.Refresh()
	}
	l.chart.Objects = []fyne.CanvasObject{newDayChart(l.all, time.Now())}
	l.chart.Refresh()
	l.filter()
}

func (l *logScreen) filter() {
	if l.table == nil {
		return
	}
	ev := l.event.Selected
	q := strings.ToLower(l.search.Text)
	since, serr := time.Parse("2006-01-02", strings.TrimSpace(l.since.Text))
	until, uerr := time.Parse("2006-01-02", strings.TrimSpace(l.until.Text))
	// A date in another form is said, not silently ignored.
	bad := ""
	if strings.TrimSpace(l.since.Text) != "" && serr != nil {
		bad = "since"
	}
	if strings.TrimSpace(l.until.Text) != "" && uerr != nil {
		bad = strings.TrimPrefix(bad+" and until", " and ")
	}
	l.shown = l.shown[:0]
	for _, r := range l.all {
		if ev != "" && ev != "all events" && r.Event != ev {
			continue
		}
		if !since.IsZero() && r.Time.Before(since) || !until.IsZero() && !r.Time.Before(until.AddDate(0, 0, 1)) {
			continue
		}
		if q != "" && !strings.Contains(strings.ToLower(r.Bundle+" "+r.Officer+" "+r.Station+" "+r.Peer+" "+r.Reason), q) {
			continue
		}
		l.shown = append(l.shown, r)
	}
	count := fmt.Sprintf("%s of %s records", humanize.Comma(int64(len(l.shown))), humanize.Comma(int64(len(l.all))))
	if bad != "" {
		count = fmt.Sprintf("%s date not understood: write it as YYYY-MM-DD (ignored); %s", bad, count)
	}
	l.count.SetText(count)
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
	o.(*widget.Label).SetText(safetext.Line(s))
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
		rep, err := app.VerifyLog(app.LogRef{Path: l.st.CustodyPath, Station: l.st.Name, Verifier: v}, nil)
		onUI(func() {
			switch {
			case err != nil:
				l.setVerdict(false, strings.TrimPrefix(err.Error(), app.ErrRejected.Error()+": "))
			case rep.TornTail > 0:
				// Not tampering: say so, and how to repair it.
				l.verdict.SetText(fmt.Sprintf("⚠ Verified: %s records, %d signed checkpoints; not edited, reordered or truncated. But %s.",
					humanize.Comma(rep.Records), rep.Checkpoints, app.TornTailNote(l.st.Name, rep)))
				l.verdict.Importance = widget.WarningImportance
				l.verdict.Refresh()
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

// keep is the table's filter, for export.
func (l *logScreen) keep() func(custody.Record) bool {
	shown := make(map[int64]bool, len(l.shown))
	for _, r := range l.shown {
		shown[r.Seq] = true
	}
	return func(r custody.Record) bool { return shown[r.Seq] }
}

func (l *logScreen) showRecord(r custody.Record) {
	var line []byte
	custody.Each(l.st.CustodyPath, func(b []byte, rec custody.Record) error {
		if rec.Seq == r.Seq {
			line = append([]byte(nil), b...)
		}
		return nil
	})
	text := widget.NewLabel(safetext.Line(string(line)))
	text.Wrapping = fyne.TextWrapBreak
	text.TextStyle = fyne.TextStyle{Monospace: true}
	form := widget.NewForm(
		widget.NewFormItem("Event", widget.NewLabel(safetext.Line(r.Event+" ("+r.Outcome+")"))),
		widget.NewFormItem("Time", widget.NewLabel(r.Time.UTC().Format(time.RFC3339Nano))),
		widget.NewFormItem("Station / officer", widget.NewLabel(safetext.Line(r.Station+" / "+r.Officer))),
		widget.NewFormItem("Bundle", widget.NewLabel(safetext.Line(r.Bundle))),
		widget.NewFormItem("Manifest", widget.NewLabel(safetext.Line(r.ManifestSHA256))),
		widget.NewFormItem("Reason", widget.NewLabel(safetext.Line(r.Reason))),
	)
	if r.Seal != nil {
		form.Append("Sender's seal", widget.NewLabel(fmt.Sprintf("record %d of the sender's log, proved against its signed checkpoint", r.Seal.Index)))
	}
	d := dialog.NewCustom(fmt.Sprintf("Record %d", r.Seq), "Close", container.NewVScroll(container.NewVBox(form, widget.NewLabel("As logged:"), text)), l.win)
	d.Resize(fyne.NewSize(760, 520))
	d.Show()
}

func (l *logScreen) pickExport() {
	format := widget.NewSelect([]string{"CSV (spreadsheets)", "JSON (SIEM)"}, nil)
	format.SetSelectedIndex(0)
	home, _ := os.UserHomeDir()
	askSavePath(l.win, "Export the records shown", "export", filepath.Join(home, l.st.Name+"-custody.csv"),
		[]*widget.FormItem{widget.NewFormItem("Format", format)}, func(path string) (string, error) {
			asCSV := format.SelectedIndex() == 0
			if ext := filepath.Ext(path); asCSV && ext == ".json" || !asCSV && ext == ".csv" {
				path = strings.TrimSuffix(path, ext) + map[bool]string{true: ".csv", false: ".json"}[asCSV]
			}
			n := len(l.shown)
			err := durable.WriteWith(path, 0o644, func(w io.Writer) error {
				if asCSV {
					return custody.ExportCSV(w, l.st.CustodyPath, l.keep())
				}
				return custody.ExportJSON(w, l.st.CustodyPath, l.keep())
			})
			if err != nil {
				return "", fmt.Errorf("export: %w", err)
			}
			return fmt.Sprintf("%d records written to %s", n, path), nil
		})
}

func (l *logScreen) pickReconcile() {
	pickFile(l.win, "reconcile", l.reconcileWith)
}

// reconcileWith verifies another station's log and this one, then matches
// bundles in both directions.
func (l *logScreen) reconcileWith(other string) {
	go func() {
		rs, err := l.reconcile(other)
		onUI(func() {
			if err != nil {
				l.setVerdict(false, "Reconcile: "+err.Error())
				return
			}
			l.showMatches(rs)
		})
	}()
}

func (l *logScreen) reconcile(other string) ([]*custody.Reconciliation, error) {
	name, err := app.LogStation(other)
	if err != nil {
		return nil, err
	}
	ov, err := l.st.Verifier(name)
	if err != nil {
		return nil, err
	}
	mv, err := l.st.Verifier(l.st.Name)
	if err != nil {
		return nil, err
	}
	return app.ReconcileBothWays(app.LogRef{Path: other, Station: name, Verifier: ov},
		app.LogRef{Path: l.st.CustodyPath, Station: l.st.Name, Verifier: mv})
}

// showMatches lists every bundle and every receipt that matches nothing,
// in both directions, with one verdict.
func (l *logScreen) showMatches(rs []*custody.Reconciliation) {
	var rows []string
	bundles, bad, unmatched := 0, 0, 0
	for _, r := range rs {
		for _, m := range r.Bundles {
			mark := "✓"
			if !m.OK() {
				mark = "✗"
			}
			rows = append(rows, safetext.Line(fmt.Sprintf("%s %s  %s  %s", mark, m.Bundle, m.Outcome, m.Detail)))
		}
		for _, u := range r.Unmatched {
			rows = append(rows, safetext.Line(fmt.Sprintf("✗ record %d of %s's log, bundle %s: a receipt that matches nothing in %s's log: %s", u.Seq, r.Kiosk, u.Bundle, r.Sender, u.Reason)))
		}
		b, u := r.Failed()
		bundles, bad, unmatched = bundles+len(r.Bundles), bad+b, unmatched+u
	}
	// Every row whole, wrapped rather than cut off.
	text := widget.NewLabel(strings.Join(rows, "\n"))
	text.Wrapping = fyne.TextWrapWord
	list := container.NewVScroll(text)
	verdict := fmt.Sprintf("Reconciled %d bundles: %d match, %d do not; %d receipts match nothing.", bundles, bundles-bad, bad, unmatched)
	save := widget.NewButtonWithIcon("Save report…", theme.DocumentSaveIcon(), func() {
		home, _ := os.UserHomeDir()
		askSavePath(l.win, "Save the reconciliation", "export", filepath.Join(home, l.st.Name+"-reconciliation.txt"), nil, func(path string) (string, error) {
			text := verdict + "\n\n" + strings.Join(rows, "\n") + "\n"
			if err := durable.WriteFile(path, []byte(text), 0o644); err != nil {
				return "", err
			}
			return "Reconciliation saved to " + path, nil
		})
	})
	l.setVerdict(bad == 0 && unmatched == 0, verdict)
	size := l.win.Canvas().Size()
	d := dialog.NewCustom("Reconciliation", "Close", container.NewBorder(nil, container.NewHBox(save), nil, nil, list), l.win)
	d.Resize(fyne.NewSize(min(860, size.Width*0.95), min(460, size.Height*0.85)))
	d.Show()
}
