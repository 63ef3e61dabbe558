package ui

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
	"github.com/dustin/go-humanize"

	"sluice/app"
	"sluice/crypto"
	"sluice/internal/safetext"
	"sluice/transfer/bundle"
	"sluice/transfer/diode"
	"sluice/transfer/media"
)

// sendScreen is the officer's send flow: stage, hash (shown), choose
// kiosks and destination, seal and write. Seal stays disabled until every
// file is hashed and a kiosk and a destination are chosen.
type sendScreen struct {
	st   *app.Station
	win  fyne.Window
	sess *session
	// lastDrives are the drives last seen, so the destinations can be
	// listed again when the diode link changes.
	lastDrives []media.Drive

	job     job
	sealing bool
	paths   []string
	srcs    []bundle.Source
	hashed  bool
	// foreseen: staged files a chosen kiosk's policy would hold (path →
	// why), from the copies of their policies this station holds.
	foreseen map[string]string
	heldNote *widget.Label
	// xf are the transformations a kiosk's policy asks of this station.
	xf       sendTransforms
	dest     string
	selected int

	table     *widget.Table
	total     *widget.Label
	hashShown *widget.Label
	copyHash  *widget.Button
	path      *widget.Entry
	steps     *widget.Label
	noKiosks  *fyne.Container
	again     *widget.Button
	// sealed is the bundle last sealed from this stage; sealing the same
	// stage again asks first.
	sealed     string
	goStation  func()
	recipients *widget.CheckGroup
	destLabel  *widget.Entry
	note       *widget.Entry
	addFiles   *widget.Button
	addFolder  *widget.Button
	remove     *widget.Button
	chooseDest *widget.Button
	drives     *widget.Select
	choices    []driveChoice
	eject      *widget.Button
	seal       *widget.Button
	stop       *widget.Button
	meter      *meter
	status     *widget.Label
	content    fyne.CanvasObject
	// next is the open question for the next drive of a bundle that spans
	// drives, while one is open.
	next *nextDrive
}

// nextDrive is the dialog asking the officer for the next drive.
type nextDrive struct {
	ask    app.DriveAsk
	answer chan string // the folder to write to; "" gives up
	pick   *widget.Select
	chosen string
	dlg    dialog.Dialog
}

func newSendScreen(st *app.Station, w fyne.Window) *sendScreen {
	s := &sendScreen{st: st, win: w, sess: newSession(st, w), selected: -1}
	s.table = widget.NewTableWithHeaders(
		func() (int, int) { return len(s.srcs), len(s.columns()) },
		func() fyne.CanvasObject { return widget.NewLabel("") },
		s.updateCell)
	s.table.CreateHeader = func() fyne.CanvasObject { return widget.NewLabel("000000") } // sized for six-digit row numbers
	s.table.UpdateHeader = func(id widget.TableCellID, o fyne.CanvasObject) {
		l := o.(*widget.Label)
		if id.Row < 0 {
			l.SetText(s.columns()[id.Col])
		} else {
			l.SetText(fmt.Sprint(id.Row + 1))
		}
	}
	s.setColumnWidths()
	s.table.OnSelected = func(id widget.TableCellID) { s.selected = id.Row; s.showHash(); s.showTransform(); s.refresh() }
	s.newTransformView()
	s.hashShown = mono("")
	s.hashShown.Wrapping = fyne.TextWrapBreak
	s.copyHash = widget.NewButtonWithIcon("Copy", theme.ContentCopyIcon(), func() {
		if s.selected >= 0 && s.selected < len(s.srcs) && s.srcs[s.selected].SHA256 != nil {
			fyne.CurrentApp().Clipboard().SetContent(s.srcs[s.selected].SHA256.String())
		}
	})
	s.copyHash.Hide()
	s.path = widget.NewEntry()
	s.path.SetPlaceHolder("or type a file or folder path and press Enter")
	s.path.OnSubmitted = func(p string) {
		if p = strings.TrimSpace(p); p != "" {
			s.addPaths([]string{p})
			s.path.SetText("")
		}
	}
	s.steps = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	s.again = widget.NewButtonWithIcon("New transfer", theme.ContentAddIcon(), s.newTransfer)
	s.again.Hide()
	s.total = widget.NewLabel("Nothing staged. Add files or folders, or drop them on this window.")
	s.recipients = widget.NewCheckGroup(nil, func([]string) { s.foresee(); s.refresh() })
	s.heldNote = widget.NewLabel("")
	s.heldNote.Wrapping = fyne.TextWrapWord
	s.heldNote.Importance = widget.WarningImportance
	s.heldNote.Hide()
	noKiosksText := widget.NewLabel("No receiving station is trusted yet: import its card on the Station screen.")
	noKiosksText.Wrapping = fyne.TextWrapWord
	s.noKiosks = container.NewVBox(noKiosksText, widget.NewButtonWithIcon("Go to the Station screen", theme.SettingsIcon(), func() {
		if s.goStation != nil {
			s.goStation()
		}
	}))
	s.loadRecipients()
	s.destLabel = widget.NewEntry()
	s.destLabel.SetPlaceHolder("choose a drive above, or type or choose a folder")
	s.destLabel.OnChanged = func(p string) {
		if d := strings.TrimSpace(p); d != s.dest {
			s.dest = d
			s.refresh()
		}
	}
	s.note = widget.NewMultiLineEntry()
	s.note.SetMinRowsVisible(2)
	s.note.Wrapping = fyne.TextWrapWord
	s.note.SetPlaceHolder("Shown to the receiving officer before decryption; not encrypted")
	s.addFiles = widget.NewButtonWithIcon("Add files…", theme.FileIcon(), s.pickFile)
	s.addFolder = widget.NewButtonWithIcon("Add folder…", theme.FolderIcon(), s.pickStageFolder)
	s.remove = widget.NewButtonWithIcon("Remove", theme.DeleteIcon(), s.removeSelected)
	s.chooseDest = widget.NewButtonWithIcon("Folder…", theme.FolderOpenIcon(), s.pickDest)
	s.drives = widget.NewSelect(nil, func(label string) {
		if strings.HasPrefix(label, diodeDestPrefix) {
			s.setDest(label)
			return
		}
		for _, c := range s.choices {
			if c.label == label {
				s.setDest(c.mount.Point)
			}
		}
	})
	s.drives.PlaceHolder = "No removable drive inserted"
	s.eject = widget.NewButtonWithIcon("Eject drive", theme.LogoutIcon(), s.ejectDest)
	s.seal = widget.NewButtonWithIcon("Seal and write", theme.ConfirmIcon(), s.startSeal)
	s.seal.Importance = widget.HighImportance
	s.stop = widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), s.cancelJob)
	s.meter = newMeter()
	s.status = widget.NewLabel("")
	s.status.Wrapping = fyne.TextWrapWord
	w.SetOnDropped(func(_ fyne.Position, uris []fyne.URI) {
		var paths []string
		for _, u := range uris {
			paths = append(paths, u.Path())
		}
		s.addPaths(paths)
	})

	left := container.NewBorder(
		container.NewVBox(container.NewHBox(s.addFiles, s.addFolder, s.remove), s.path),
		container.NewVBox(container.NewBorder(nil, nil, nil, s.copyHash, s.hashShown), s.xf.box, s.total, s.heldNote), nil, nil, s.table)
	right := container.NewVBox(
		widget.NewLabelWithStyle("Receiving stations", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		s.recipients, s.noKiosks,
		widget.NewLabelWithStyle("Destination", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		s.drives,
		container.NewBorder(nil, nil, nil, s.chooseDest, s.destLabel),
		widget.NewLabelWithStyle("Note", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		s.note,
		container.NewHBox(s.seal, s.stop, s.eject, s.again),
		s.meter.box, s.status,
	)
	split := container.NewHSplit(left, container.NewVScroll(container.NewPadded(right)))
	split.Offset = 0.58
	s.content = container.NewBorder(s.steps, nil, nil, nil, split)
	s.refresh()
	return s
}

func (s *sendScreen) loadRecipients() {
	cards, err := s.st.TrustList()
	if err != nil {
		s.recipients.Options = nil
		return
	}
	var names []string
	for _, c := range cards {
		names = append(names, c.Name)
	}
	// Keep what the officer ticked, if those stations are still trusted.
	var keep []string
	for _, sel := range s.recipients.Selected {
		for _, n := range names {
			if n == sel {
				keep = append(keep, n)
			}
		}
	}
	s.recipients.Options = names
	s.recipients.Selected = keep
	s.recipients.Refresh()
	showIf(s.noKiosks, len(names) == 0)
	if s.seal != nil {
		s.refresh()
	}
}

// columns are the table's columns: "Crosses as" only while a kiosk's
// policy asks this station to transform, before the hashes so that it
// shows without scrolling on a 1024-pixel screen.
func (s *sendScreen) columns() []string {
	if s.xf.running || s.xf.done != nil {
		return []string{"Name", "Size", "Crosses as", "SHA-256"}
	}
	return []string{"Name", "Size", "SHA-256"}
}

func (s *sendScreen) setColumnWidths() {
	if len(s.columns()) == 4 {
		for i, w := range []float32{190, 70, 150, 140} {
			s.table.SetColumnWidth(i, w)
		}
		return
	}
	for i, w := range []float32{300, 90, 190} {
		s.table.SetColumnWidth(i, w)
	}
}

func (s *sendScreen) updateCell(id widget.TableCellID, o fyne.CanvasObject) {
	l := o.(*widget.Label)
	col := s.columns()[id.Col]
	l.TextStyle = fyne.TextStyle{Monospace: col == "SHA-256"}
	l.Truncation = fyne.TextTruncateEllipsis
	src := s.srcs[id.Row]
	switch col {
	case "Name":
		name := src.Path
		if src.Type == bundle.TypeDir {
			name += "/"
		}
		if _, held := s.foreseen[src.Path]; held {
			name = "⚠ " + name
		}
		l.SetText(safetext.Line(name))
	case "Size":
		if src.Type == bundle.TypeFile {
			l.SetText(humanize.IBytes(uint64(src.Size)))
		} else {
			l.SetText("folder")
		}
	case "SHA-256":
		switch {
		case src.Type == bundle.TypeDir:
			l.SetText("")
		case src.SHA256 != nil:
			l.SetText(src.SHA256.String()[:16] + "…")
		default:
			l.SetText("hashing…")
		}
	case "Crosses as":
		if src.Type == bundle.TypeDir {
			l.SetText("")
		} else {
			l.SetText(s.crossesAs(src.Path))
		}
	}
}

func (s *sendScreen) busy() bool { return s.job.running() }

// Steps of the send flow, shown at the top of the screen.
var sendSteps = []string{"Stage files and folders", "Review their hashes", "Choose recipients and a destination", "Seal, write and read back", "Done: eject the drive, or start a new transfer"}

// step is the flow's current step, from 0.
func (s *sendScreen) step() int {
	switch {
	case s.sealed != "":
		return 4
	case s.sealing:
		return 3
	case s.hashed && len(s.srcs) > 0 && (len(s.recipients.Selected) > 0 || s.dest != ""):
		return 2
	case len(s.srcs) > 0:
		return 1
	}
	return 0
}

// refresh enables what may be done next; call on Fyne's thread. While
// files are hashed the officer may still choose recipients and a
// destination; only sealing holds everything still.
func (s *sendScreen) refresh() {
	if !s.hashed && s.foreseen != nil {
		s.foreseen = nil
		s.heldNote.Hide()
	}
	busy := s.busy()
	k := s.step()
	s.steps.SetText(fmt.Sprintf("Step %d of %d: %s", k+1, len(sendSteps), sendSteps[k]))
	enable(s.addFiles, !busy)
	enable(s.addFolder, !busy)
	enable(s.remove, !busy && s.selected >= 0 && s.selected < len(s.srcs))
	enable(s.chooseDest, !s.sealing)
	enable(s.stop, busy)
	showIf(s.stop, busy)
	enable(s.seal, !busy && !s.xf.running && s.hashed && len(s.srcs) > 0 && len(s.recipients.Selected) > 0 && s.dest != "")
	if s.sealed != "" {
		s.seal.SetText("Seal again…")
	} else {
		s.seal.SetText("Seal and write")
	}
	enable(s.eject, !busy && s.destDrive() != "")
	s.setColumnWidths()
	showIf(s.again, s.sealed != "" && !busy)
	for _, w := range []fyne.Disableable{s.drives, s.note, s.path, s.recipients, s.destLabel} {
		if s.sealing || busy && w == fyne.Disableable(s.path) {
			w.Disable()
		} else {
			w.Enable()
		}
	}
	s.table.Refresh()
}

// showHash shows the selected file's whole SHA-256, for the officer to
// compare or copy.
func (s *sendScreen) showHash() {
	if s.selected >= 0 && s.selected < len(s.srcs) && s.srcs[s.selected].SHA256 != nil {
		s.hashShown.SetText(safetext.Line(s.srcs[s.selected].Path) + "\nSHA-256 " + s.srcs[s.selected].SHA256.String())
		s.copyHash.Show()
		return
	}
	s.hashShown.SetText("")
	s.copyHash.Hide()
}

// newTransfer clears the stage, the note and the result for the next
// transfer; recipients and destination stay.
func (s *sendScreen) newTransfer() {
	s.dropTransforms()
	s.paths, s.srcs, s.hashed, s.selected, s.sealed = nil, nil, false, -1, ""
	s.note.SetText("")
	s.status.SetText("")
	s.total.SetText("Nothing staged. Add files or folders, or drop them on this window.")
	s.showHash()
	s.refresh()
}

func enable(b *widget.Button, on bool) {
	if on {
		b.Enable()
	} else {
		b.Disable()
	}
}

func (s *sendScreen) pickFile() {
	pickFiles(s.win, "stage", s.addPaths)
}

func (s *sendScreen) pickStageFolder() {
	pickFolderFor(s.win, "stage", func(p string) { s.addPaths([]string{p}) })
}

func (s *sendScreen) pickDest() {
	pickFolderFor(s.win, "destination", s.setDest)
}

func (s *sendScreen) setDest(dir string) {
	s.dest = dir
	s.destLabel.SetText(dir)
	s.refresh()
}

// addPaths stages more files or folders and hashes everything staged.
func (s *sendScreen) addPaths(paths []string) {
	if s.busy() {
		return
	}
	all := append(append([]string(nil), s.paths...), paths...)
	srcs, err := app.StagePaths(all)
	if err != nil {
		s.showError(err)
		return
	}
	// Files staged before keep the hash the officer already has, if they
	// are the same files: only what is new is read.
	type key struct {
		os   string
		size int64
		mod  int64
	}
	known := map[key]*crypto.Digest{}
	for _, old := range s.srcs {
		if old.SHA256 != nil {
			known[key{old.OSPath, old.Size, old.ModTime.UnixNano()}] = old.SHA256
		}
	}
	for i := range srcs {
		srcs[i].SHA256 = known[key{srcs[i].OSPath, srcs[i].Size, srcs[i].ModTime.UnixNano()}]
	}
	s.dropTransforms()
	s.paths, s.srcs, s.hashed, s.selected, s.sealed = all, srcs, false, -1, ""
	s.status.SetText("")
	s.showHash()
	s.hash()
}

// removeSelected unstages the top-level file or folder holding the
// selected row.
func (s *sendScreen) removeSelected() {
	if s.selected < 0 || s.selected >= len(s.srcs) {
		return
	}
	top := strings.SplitN(s.srcs[s.selected].Path, "/", 2)[0]
	var keep []string
	for _, p := range s.paths {
		if filepath.Base(filepath.Clean(p)) != top {
			keep = append(keep, p)
		}
	}
	s.dropTransforms()
	s.paths, s.srcs, s.selected = nil, nil, -1
	if len(keep) == 0 {
		s.hashed = false
		s.total.SetText("Nothing staged. Add files or folders, or drop them on this window.")
		s.refresh()
		return
	}
	s.addPaths(keep)
}

func (s *sendScreen) startJob() context.Context {
	ctx := s.job.start()
	s.refresh()
	return ctx
}

// endJob runs on Fyne's thread when a job finishes.
func (s *sendScreen) endJob() {
	s.job.end()
	s.meter.clear()
	s.refresh()
}

func (s *sendScreen) cancelJob() {
	s.job.stop()
	s.status.SetText("Cancelling…")
}

func (s *sendScreen) hash() {
	ctx := s.startJob()
	srcs := s.srcs
	s.meter.begin("Hashing")
	var files, bytes int64
	for _, src := range srcs {
		if src.Type == bundle.TypeFile {
			files++
			bytes += src.Size
		}
	}
	summary := fmt.Sprintf("%s %s, %s", humanize.Comma(files), plural(files, "file", "files"), humanize.IBytes(uint64(bytes)))
	s.total.SetText(summary + " — hashing")
	// The worker hashes its own copy. Finished hashes are handed to the
	// table with each progress tick (ten a second), never one UI call per
	// file; the last tick comes before the worker returns.
	work := append([]bundle.Source(nil), srcs...)
	var mu sync.Mutex
	var finished []int
	onFile := func(i int) {
		mu.Lock()
		finished = append(finished, i)
		mu.Unlock()
	}
	meterUpdate := s.meter.update()
	onTick := func(done, total int64) {
		meterUpdate(done, total)
		mu.Lock()
		ready := make(map[int]*crypto.Digest, len(finished))
		for _, i := range finished {
			ready[i] = work[i].SHA256
		}
		finished = finished[:0]
		mu.Unlock()
		if len(ready) > 0 {
			onUI(func() {
				if len(s.srcs) != len(work) {
					return // the stage changed; these hashes belong to the old one
				}
				for i, d := range ready {
					s.srcs[i].SHA256 = d
				}
				s.table.Refresh()
			})
		}
	}
	go func() {
		err := app.HashSources(ctx, work, onTick, onFile)
		onUI(func() {
			s.endJob()
			if err == nil {
				s.srcs = work
			}
			switch {
			case errors.Is(err, context.Canceled):
				s.status.SetText("Hashing cancelled: nothing can be sealed until every file is hashed. Add or remove a file to hash again.")
				s.total.SetText(summary + " — not hashed")
			case err != nil:
				s.showError(err)
				s.total.SetText(summary + " — not hashed")
			default:
				s.hashed = true
				s.total.SetText(summary + " — every file hashed; review before sealing")
				s.foresee()
			}
			s.refresh()
		})
	}()
}

// foresee checks the staged files against the policies of the chosen
// kiosks this station holds copies of, in the background, and marks what
// they would hold.
func (s *sendScreen) foresee() {
	s.transformStaged()
	if !s.hashed || len(s.srcs) == 0 {
		s.foreseen = nil
		s.heldNote.Hide()
		return
	}
	srcs, to := s.srcs, append([]string(nil), s.recipients.Selected...)
	st := s.sess.acting()
	go func() {
		held, err := st.Foresee(context.Background(), srcs, to)
		onUI(func() {
			if len(s.srcs) != len(srcs) || (len(s.srcs) > 0 && &s.srcs[0] != &srcs[0]) {
				return // the stage changed meanwhile
			}
			s.foreseen = map[string]string{}
			for _, f := range held {
				s.foreseen[f.Report.Path] = f.String()
			}
			switch {
			case err != nil:
				s.heldNote.SetText("⚠ The staged files could not be checked against the kiosks' policies: " + safetext.Line(err.Error()))
				s.heldNote.Show()
			case len(held) > 0:
				s.heldNote.SetText(fmt.Sprintf("⚠ %d staged file(s) would be held for review at the kiosk (marked ⚠), e.g. %s", len(held), safetext.Line(held[0].String())))
				s.heldNote.Show()
			default:
				s.heldNote.Hide()
			}
			s.table.Refresh()
		})
	}()
}

func (s *sendScreen) startSeal() {
	if s.busy() || s.seal.Disabled() {
		return
	}
	if s.sealed != "" {
		dialog.ShowConfirm("Seal the same files again?",
			fmt.Sprintf("These files were sealed a moment ago as bundle %s. Sealing again writes a second bundle with a new id. To send other files, choose New transfer.", s.sealed),
			func(ok bool) {
				if ok {
					s.sealNow()
				}
			}, s.win)
		return
	}
	s.sealNow()
}

// sealNow seals, under the officer signed in if any; when the policy
// requires seal approvals, once an officer signed in and others approved
// (app refuses otherwise, and records it).
func (s *sendScreen) sealNow() {
	n := s.st.Policy.RequireSealApprovals
	if n == 0 {
		s.sealWith(nil)
		return
	}
	s.sess.require("seal", func() {
		s.sess.askApprovers(n, fmt.Sprintf("The policy requires %d approval(s) from other officers to seal", n), s.sealWith)
	})
}

func (s *sendScreen) sealWith(approvers []*app.SignedIn) {
	to := append([]string(nil), s.recipients.Selected...)
	sort.Strings(to)
	// The officer's flow always reads the bundle back before calling it written.
	req := app.PackRequest{To: to, OutDir: s.dest, Sources: s.srcs, Note: s.note.Text, ReadBack: app.ReadBackAlways, Approvers: approvers,
		Transforms: s.transformsFor(to)}
	st := s.sess.acting()
	s.sealing = true
	ctx := s.startJob()
	s.meter.begin("Sealing")
	req.Progress = s.meter.update()
	req.Phase = func(what string) {
		onUI(func() {
			if what == app.PhaseReadBack {
				s.meter.beginUnderway(what)
			} else {
				s.meter.begin(what)
			}
		})
	}
	req.NextDrive = s.askDrive
	s.status.SetText("")
	if strings.HasPrefix(s.dest, diodeDestPrefix) {
		go s.sendThroughDiode(ctx, st, req, func(dir string, rep *diode.SendReport, err error) {
			s.sealing = false
			s.endJob()
			switch {
			case errors.Is(err, context.Canceled):
				s.status.SetText("Sending cancelled; the custody log records how far it went.")
			case err != nil:
				s.showError(err)
			default:
				s.sealed = strings.TrimSuffix(filepath.Base(dir), ".sluice")
				s.status.SetText(diodeSentText(dir, rep))
			}
		})
		return
	}
	go func() {
		sealed, err := st.Pack(ctx, req) // writes, then reads back from the medium
		onUI(func() {
			s.sealing = false
			if err == nil {
				s.sealed = sealed.Envelope.ID
				s.total.SetText(fmt.Sprintf("%s %s, %s — sealed as bundle %s", humanize.Comma(sealed.Envelope.Files), plural(sealed.Envelope.Files, "file", "files"),
					humanize.IBytes(uint64(sealed.Envelope.ContentBytes)), sealed.Envelope.ID))
			}
			s.endJob()
			switch {
			case errors.Is(err, context.Canceled):
				s.status.SetText("Sealing cancelled. Nothing was written to the destination.")
			case err != nil:
				s.showError(err)
			default:
				e := sealed.Envelope
				where := sealed.Dir
				if len(sealed.Parts) > 1 {
					where = fmt.Sprintf("Spread over %d drives, each labelled (drive-N-of-%d.txt): %s", len(sealed.Parts), len(sealed.Parts), strings.Join(sealed.Parts, ", "))
				}
				if o := e.Originals; o != nil {
					where += fmt.Sprintf("\nThe %d original(s) of the transformed files are sealed too, in the bundle's originals part, as the recipients' policy allows.", o.Files)
				}
				next := "Eject the drive, or choose New transfer."
				if s.destDrive() == "" {
					next = "Choose New transfer to send other files."
				}
				s.status.SetText(fmt.Sprintf("Sealed and written: bundle %s for %s — %s %s, %s; read back from the medium, all %d volume(s) match.\nManifest %s, recorded in the custody log.\n%s\n%s",
					e.ID, strings.Join(to, ", "), humanize.Comma(e.Files), plural(e.Files, "file", "files"), humanize.IBytes(uint64(e.ContentBytes)), len(e.Payload.Volumes),
					sealed.ManifestSHA256, where, next))
			}
		})
	}()
}

// askDrive is PackRequest.NextDrive for the desktop: it asks the officer
// for the next drive in a dialog and waits for the answer.
func (s *sendScreen) askDrive(ctx context.Context, ask app.DriveAsk) (string, error) {
	answer := make(chan string, 1)
	onUI(func() { s.showNextDrive(ask, answer) })
	select {
	case <-ctx.Done():
		onUI(func() { s.closeNextDrive() })
		return "", ctx.Err()
	case a := <-answer:
		if a == "" {
			return "", context.Canceled
		}
		return a, nil
	}
}

func (s *sendScreen) showNextDrive(ask app.DriveAsk, answer chan string) {
	s.closeNextDrive()
	n := &nextDrive{ask: ask, answer: answer}
	previous := "The bundle is larger than one drive."
	if ask.Previous != "" {
		previous = "The bundle is larger than one drive; " + ask.Previous + "."
	}
	text := widget.NewLabel(fmt.Sprintf("%s Insert drive %d of %d and choose it below. It needs at least %s free and will hold %s.",
		previous, ask.Drive, ask.Drives, humanize.IBytes(uint64(ask.Need)), ask.Volumes))
	text.Wrapping = fyne.TextWrapWord
	items := []fyne.CanvasObject{text}
	if ask.Problem != "" {
		p := widget.NewLabel("The last drive was not used: " + ask.Problem)
		p.Wrapping = fyne.TextWrapWord
		p.Importance = widget.DangerImportance
		items = append(items, p)
	}
	chosen := widget.NewLabel("Nothing chosen yet")
	n.pick = widget.NewSelect(nil, func(label string) {
		for _, c := range s.choices {
			if c.label == label {
				n.chosen = c.mount.Point
				chosen.SetText(n.chosen)
			}
		}
	})
	n.pick.PlaceHolder = "Insert a drive"
	other := widget.NewButtonWithIcon("Folder…", theme.FolderOpenIcon(), func() {
		pickFolder(s.win, func(p string) { n.chosen = p; chosen.SetText(p); n.pick.ClearSelected() })
	})
	items = append(items, n.pick, container.NewBorder(nil, nil, nil, other, chosen))
	s.next = n
	s.refreshNextDrive()
	n.dlg = dialog.NewCustomConfirm(fmt.Sprintf("Insert drive %d of %d", ask.Drive, ask.Drives), "Write to this drive", "Abandon the bundle",
		container.NewVBox(items...), func(ok bool) {
			if s.next != n {
				return
			}
			switch {
			case !ok:
				s.answerDrive("")
			case n.chosen == "":
				ask.Problem = "no drive was chosen"
				s.showNextDrive(ask, answer)
			default:
				s.answerDrive(n.chosen)
			}
		}, s.win)
	n.dlg.Resize(fyne.NewSize(560, 0))
	n.dlg.Show()
}

// answerDrive hands the officer's answer to the waiting pack; "" gives up.
func (s *sendScreen) answerDrive(dir string) {
	n := s.next
	if n == nil {
		return
	}
	s.closeNextDrive()
	n.answer <- dir
}

// closeNextDrive hides the next-drive dialog. s.next is cleared first:
// hiding a dialog calls its callback, which must then do nothing.
func (s *sendScreen) closeNextDrive() {
	if n := s.next; n != nil {
		s.next = nil
		n.dlg.Hide()
	}
}

// refreshNextDrive offers the inserted drives in the open next-drive dialog.
func (s *sendScreen) refreshNextDrive() {
	if s.next == nil {
		return
	}
	var labels []string
	for _, c := range s.choices {
		labels = append(labels, c.label)
	}
	s.next.pick.Options = labels
	s.next.pick.Refresh()
}

func (s *sendScreen) showError(err error) {
	s.status.SetText("Error: " + err.Error())
	showError(err, s.win)
}

// setDrives updates the drive picker as drives come and go.
func (s *sendScreen) setDrives(ds []media.Drive) {
	s.lastDrives = ds
	s.choices = driveChoices(ds)
	var labels []string
	selected := ""
	for _, c := range s.choices {
		labels = append(labels, c.label)
		if c.mount.Point == s.dest {
			selected = c.label
		}
	}
	if d := diodeChoice(s.st); d != "" {
		labels = append(labels, d)
		if s.dest == d {
			selected = d
		}
	}
	s.drives.Options = labels
	if selected == "" {
		s.drives.ClearSelected()
	} else {
		s.drives.SetSelected(selected)
	}
	if len(labels) == 0 {
		s.drives.PlaceHolder = "No removable drive inserted"
	} else {
		s.drives.PlaceHolder = fmt.Sprintf("%d removable drive(s): choose one", len(labels))
	}
	s.drives.Refresh()
	s.refreshNextDrive()
	s.refresh()
}

// destDrive is the mount point of the removable drive chosen as the
// destination, or "".
func (s *sendScreen) destDrive() string {
	for _, c := range s.choices {
		if c.mount.Point == s.dest {
			return c.mount.Point
		}
	}
	return ""
}

func (s *sendScreen) ejectDest() {
	point := s.destDrive()
	if point == "" || s.busy() {
		return
	}
	s.startJob()
	s.meter.beginUnderway("Ejecting " + point)
	st := s.sess.acting()
	go func() {
		how, err := st.Eject(point)
		onUI(func() {
			s.endJob()
			if err != nil {
				s.showError(err)
				return
			}
			s.status.SetText("Ejected " + safetext.Line(point) + " (" + how + "): the drive can be removed.")
			s.setDest("")
		})
	}()
}
