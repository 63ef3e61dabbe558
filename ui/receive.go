package ui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
	"github.com/dustin/go-humanize"

	"sluice/app"
	"sluice/internal/safetext"
	"sluice/transfer/bundle"
	"sluice/transfer/media"
)

// Steps of the receive flow, shown at the top of the screen.
var receiveSteps = []string{"Choose a drive or bundle", "Check the envelope", "Decrypt, verify and release", "Wipe or eject the drive"}

// receiveScreen is the kiosk officer's flow: choose a bundle (from an
// inserted drive or a folder), see what was checked without decrypting,
// release it into one of the station's release folders or reject it with a
// reason, then wipe or eject the drive.
type receiveScreen struct {
	st   *app.Station
	win  fyne.Window
	sess *session

	job job

	dir      string
	wiped    bool
	sources  []string // the folders the released bundle was read from
	in       *app.Inspection
	inErr    error
	dest     string
	entries  []bundle.ManifestEntry
	released *app.Received

	steps    *widget.Label
	open     *widget.Button
	path     *widget.Entry
	facts    *widget.Form
	envelope *widget.Form
	verdict  *widget.Label
	dests    *widget.Select
	destHint *widget.Label
	release  *widget.Button
	reject   *widget.Button
	stop     *widget.Button
	wipe     *widget.Button
	eject    *widget.Button
	again    *widget.Button
	files    *widget.List
	found    []string
	onDrives *widget.List
	drives   []media.Drive
	inFolder []string
	// inbox is the diode link's inbox (runDiodeReceiver), and link its
	// panel: rate, loss, last announcement, bundles arriving.
	inbox   string
	link    *widget.Label
	meter   *meter
	status  *widget.Label
	content fyne.CanvasObject
	// review opens the queue of bundles held by the content checks;
	// scanWarn stands while the policy scans nothing.
	review   *widget.Button
	scanWarn *widget.Label
	held     bool // the bundle opened was held for review: decided in the queue
	// waiting is the bundle whose other drives are awaited after one
	// drive of it was read; read holds the drive folders read so far.
	waiting string
	read    map[string]bool
	// resume: release as soon as the drive being opened checks out
	// (the officer already chose to release this bundle).
	resume bool
}

func newReceiveScreen(st *app.Station, w fyne.Window) *receiveScreen {
	r := &receiveScreen{st: st, win: w, sess: newSession(st, w), read: map[string]bool{}}
	r.steps = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	r.open = widget.NewButtonWithIcon("Open bundle or drive…", theme.FolderOpenIcon(), r.pickBundle)
	r.path = widget.NewEntry()
	r.path.SetPlaceHolder("or type a bundle or drive path and press Enter")
	r.path.OnSubmitted = func(p string) {
		if p = strings.TrimSpace(p); p != "" && !r.busy() {
			r.openBundle(p)
		}
	}
	r.facts = widget.NewForm()
	r.envelope = widget.NewForm()
	r.verdict = widget.NewLabel("")
	r.verdict.Wrapping = fyne.TextWrapWord
	r.dests = widget.NewSelect(nil, func(d string) { r.dest = d; r.refresh() })
	r.dests.PlaceHolder = "Choose a release folder"
	r.destHint = widget.NewLabel("")
	r.destHint.Wrapping = fyne.TextWrapWord
	r.release = widget.NewButtonWithIcon("Verify and release", theme.ConfirmIcon(), r.startRelease)
	r.release.Importance = widget.HighImportance
	r.reject = widget.NewButtonWithIcon("Reject…", theme.CancelIcon(), r.askReject)
	r.reject.Importance = widget.DangerImportance
	r.stop = widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), r.cancelJob)
	r.wipe = widget.NewButtonWithIcon("Wipe from the drive", theme.DeleteIcon(), r.wipeSource)
	r.eject = widget.NewButtonWithIcon("Eject the drive", theme.LogoutIcon(), r.ejectSource)
	r.again = widget.NewButtonWithIcon("Next bundle", theme.ContentAddIcon(), r.reset)
	r.files = widget.NewList(func() int { return len(r.entries) },
		func() fyne.CanvasObject { return widget.NewLabel("") },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			e := r.entries[i]
			text := safetext.Line(e.Path) + "/"
			if e.Type == bundle.TypeFile {
				text = fmt.Sprintf("✓ %s  (%s, sha256 %s…)", safetext.Line(e.Path), humanize.IBytes(uint64(e.Size)), e.SHA256.String()[:16])
			}
			o.(*widget.Label).SetText(text)
		})
	r.onDrives = widget.NewList(func() int { return len(r.found) },
		func() fyne.CanvasObject { return widget.NewLabel("") },
		func(i widget.ListItemID, o fyne.CanvasObject) { o.(*widget.Label).SetText(safetext.Line(r.found[i])) })
	r.onDrives.OnSelected = func(i widget.ListItemID) {
		if !r.busy() && i < len(r.found) {
			r.openBundle(r.found[i])
		}
		r.onDrives.UnselectAll()
	}
	r.meter = newMeter()
	r.status = widget.NewLabel("")
	r.status.Wrapping = fyne.TextWrapWord

	// The checks scroll; the release controls stay in view below them.
	checks := container.NewVScroll(widget.NewCard("Envelope", "Checked before anything is decrypted, in this order",
		container.NewVBox(r.envelope, r.facts)))
	actions := container.NewVBox(
		r.verdict,
		container.NewBorder(nil, nil, widget.NewLabelWithStyle("Release into", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), nil, r.dests),
		r.destHint,
		container.NewHBox(r.release, r.reject, r.stop),
		container.NewHBox(r.wipe, r.eject, r.again),
		r.meter.box, r.status,
	)
	flow := container.NewBorder(nil, actions, nil, nil, checks)
	r.link = widget.NewLabel("")
	r.link.Wrapping = fyne.TextWrapWord
	r.link.Hide()
	drives := widget.NewCard("Bundles", "On drives, in the diode inbox or the folder opened",
		container.NewBorder(nil, r.link, nil, nil, r.onDrives))
	right := container.NewVSplit(drives, widget.NewCard("Files released", "", r.files))
	split := container.NewHSplit(flow, right)
	split.Offset = 0.55
	r.review = widget.NewButtonWithIcon("Review queue", theme.WarningIcon(), func() { r.showReview("") })
	r.scanWarn = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	r.scanWarn.Truncation = fyne.TextTruncateEllipsis
	if w := st.ScanWarning(); w != "" {
		r.scanWarn.SetText("⚠ " + w)
	} else {
		r.scanWarn.Hide()
	}
	top := container.NewVBox(container.NewBorder(nil, nil, nil, r.review, r.steps), r.scanWarn, container.NewBorder(nil, nil, r.open, nil, r.path))
	r.content = container.NewBorder(top, nil, nil, nil, split)
	r.loadDests()
	r.countReview()
	r.refresh()
	return r
}

func (r *receiveScreen) busy() bool { return r.job.running() }

// countReview shows how many bundles wait for review on the queue's button.
func (r *receiveScreen) countReview() {
	hs, _ := r.st.Reviews()
	r.review.SetText(fmt.Sprintf("Review queue (%d)", len(hs)))
	if len(hs) > 0 {
		r.review.Importance = widget.WarningImportance
	} else {
		r.review.Importance = widget.MediumImportance
	}
	r.review.Refresh()
}

// showReview opens the review queue over the screen, at most the window's
// size, showing bundle id if it is held.
func (r *receiveScreen) showReview(id string) {
	p := newReviewPanel(r.st, r.sess, r.win, r.countReview)
	p.selectID(id)
	d := dialog.NewCustom("Bundles held for review", "Close", p.content, r.win)
	size := r.win.Canvas().Size()
	d.Resize(fyne.NewSize(size.Width*0.94, size.Height*0.9))
	d.Show()
	r.review.Refresh()
}

func (r *receiveScreen) admissible() bool { return r.inErr == nil && r.in.Admissible() }

// step is the flow's current step, from 0.
func (r *receiveScreen) step() int {
	switch {
	case r.released != nil:
		return 3
	case r.in != nil && r.admissible():
		return 2
	case r.dir != "":
		return 1
	}
	return 0
}

func (r *receiveScreen) refresh() {
	busy := r.busy()
	k := r.step()
	r.steps.SetText(fmt.Sprintf("Step %d of %d: %s", k+1, len(receiveSteps), receiveSteps[k]))
	enable(r.open, !busy)
	if busy {
		r.path.Disable()
		r.dests.Disable()
	} else {
		r.path.Enable()
		r.dests.Enable()
	}
	enable(r.release, !busy && r.admissible() && r.dest != "" && r.released == nil && !r.held)
	showIf(r.release, r.released == nil)
	showIf(r.reject, r.released == nil)
	// Only a bundle whose envelope was read can be rejected: the record
	// names what was refused.
	enable(r.reject, !busy && r.in != nil && r.released == nil && !r.held)
	enable(r.stop, busy)
	showIf(r.stop, busy)
	onDrive := r.released != nil && r.sourceDrive() != ""
	showIf(r.wipe, r.released != nil)
	enable(r.wipe, !busy && r.released != nil && !r.wiped)
	showIf(r.eject, onDrive)
	enable(r.eject, !busy && onDrive)
	showIf(r.again, r.released != nil || r.held || r.in != nil && !busy)
	r.files.Refresh()
}

func showIf(o fyne.CanvasObject, on bool) {
	if on {
		o.Show()
	} else {
		o.Hide()
	}
}

// loadDests offers the release folders the technician set on the Station
// screen; the app never releases anywhere else.
func (r *receiveScreen) loadDests() {
	folders, err := r.st.ReleaseFolders()
	switch {
	case err != nil:
		r.destHint.SetText("The release folders cannot be read: " + safetext.Line(err.Error()))
	case len(folders) == 0:
		r.destHint.SetText("No release folder is set for this station. A technician sets it on the Station screen; until then nothing can be released here.")
	default:
		r.destHint.SetText("")
	}
	r.dests.Options = folders
	keep := false
	for _, f := range folders {
		keep = keep || f == r.dest
	}
	switch {
	case keep:
		r.dests.SetSelected(r.dest)
	case len(folders) == 1:
		r.dests.SetSelected(folders[0])
	default:
		r.dest = ""
		r.dests.ClearSelected()
	}
	r.dests.Refresh()
	showIf(r.destHint, r.destHint.Text != "")
	r.refresh()
}

// setDest chooses a release folder; only one of the station's is taken.
func (r *receiveScreen) setDest(dir string) {
	if !slices.Contains(r.dests.Options, dir) {
		return
	}
	r.dests.SetSelected(dir)
	r.dest = dir
	r.refresh()
}

func (r *receiveScreen) pickBundle() {
	pickFolderFor(r.win, "bundle", r.openBundle)
}

// reset starts over for the next bundle.
func (r *receiveScreen) reset() {
	r.dir, r.in, r.inErr, r.entries, r.released, r.inFolder, r.wiped, r.sources = "", nil, nil, nil, nil, nil, false, nil
	r.held = false
	r.facts.Items, r.envelope.Items = nil, nil
	r.facts.Refresh()
	r.envelope.Refresh()
	r.verdict.SetText("")
	r.status.SetText("")
	r.meter.clear()
	r.listFound()
	r.refresh()
}

// openBundle checks the envelope, signature and volumes without decrypting.
// A folder that is not a bundle but holds some (a drive's mount point) has
// them listed instead.
func (r *receiveScreen) openBundle(dir string) {
	if r.busy() {
		return // a release (or a check) is running: it owns the screen
	}
	if _, err := os.Lstat(filepath.Join(dir, bundle.EnvelopeName)); err != nil {
		if found := app.FindBundles(dir); len(found) > 0 {
			r.reset()
			r.inFolder = found
			r.listFound()
			r.verdict.SetText(fmt.Sprintf("%s is not a bundle; it holds %d. Choose one in the list.", safetext.Line(dir), len(found)))
			r.verdict.Importance = widget.MediumImportance
			r.verdict.Refresh()
			return
		}
	}
	r.dir, r.in, r.inErr, r.entries, r.released, r.wiped = dir, nil, nil, nil, nil, false
	r.facts.Items, r.envelope.Items = nil, nil
	r.facts.Refresh()
	r.envelope.Refresh()
	r.verdict.Importance = widget.MediumImportance
	r.verdict.SetText("Checking the envelope, the signature and every volume…")
	r.status.SetText("")
	ctx := r.startJob()
	r.meter.beginUnderway("Checking " + filepath.Base(dir))
	st := r.sess.acting() // a copy: the policy may be reloaded meanwhile
	go func() {
		in, err := app.Inspect(ctx, dir, st)
		onUI(func() {
			r.endJob()
			r.in, r.inErr = in, err
			r.showEnvelope()
			r.refresh()
			if r.resume && r.admissible() && r.dest != "" {
				r.startRelease()
			}
			r.resume = false
		})
	}()
}

// reinspect checks the open bundle again: the trust store or the policy
// changed (a card imported on the Station screen or by the CLI).
func (r *receiveScreen) reinspect() {
	if r.dir != "" && r.released == nil && !r.busy() {
		r.openBundle(r.dir)
	}
}

var checkMarks = map[app.CheckState]string{app.Passed: "✓", app.Failed: "✗", app.NotChecked: "–"}

func (r *receiveScreen) showEnvelope() {
	r.envelope.Items, r.facts.Items = nil, nil
	if r.in != nil {
		for _, c := range r.in.Checks {
			l := widget.NewLabel(checkMarks[c.State] + " " + safetext.Line(c.Detail))
			l.Wrapping = fyne.TextWrapWord
			if c.State == app.Failed {
				l.Importance = widget.DangerImportance
			}
			r.envelope.Append(c.Name, l)
		}
		// The envelope's own claims, marked unverified until its signature
		// and its sender check out.
		e := r.in.Bundle.Envelope
		mark := ""
		if !r.in.SignatureOK || r.in.Trust != "trusted" {
			mark = " (unverified)"
		}
		add := func(k, v string) {
			l := widget.NewLabel(safetext.Line(v))
			l.Wrapping = fyne.TextWrapWord
			r.facts.Append(k+mark, l)
		}
		add("Bundle", e.ID)
		add("Sender", e.Sender.Name)
		add("Created", fmt.Sprintf("%s (%s)", e.Created.Format(time.RFC3339), humanize.Time(e.Created)))
		add("Content", fmt.Sprintf("%s %s, %s %s, %s", humanize.Comma(e.Files), plural(e.Files, "file", "files"),
			humanize.Comma(e.Dirs), plural(e.Dirs, "folder", "folders"), humanize.IBytes(uint64(e.ContentBytes))))
		if o := e.Originals; o != nil {
			add("Originals", fmt.Sprintf("%s %s, %s: the sender's originals of what it transformed, kept on this station, never released",
				humanize.Comma(o.Files), plural(o.Files, "file", "files"), humanize.IBytes(uint64(o.Bytes))))
		}
		if miss := r.in.Bundle.Missing(); len(miss) > 0 {
			add("Drives", fmt.Sprintf("this is %s; %d of %d volumes here", driveOf(r.in.Bundle), len(e.Payload.Volumes)-len(miss), len(e.Payload.Volumes)))
		}
		if note := r.in.Note(); note != "" {
			r.facts.Append("Note", widget.NewLabel(note))
		}
	}
	r.envelope.Refresh()
	r.facts.Refresh()
	switch {
	case r.in == nil && r.inErr != nil:
		r.verdict.SetText("✗ Not a bundle that can be opened: " + safetext.Line(r.inErr.Error()))
		r.verdict.Importance = widget.DangerImportance
	case r.inErr != nil:
		r.verdict.SetText("✗ Do not release: " + safetext.Line(r.inErr.Error()))
		r.verdict.Importance = widget.DangerImportance
	case !r.admissible():
		r.verdict.SetText("✗ This station cannot release this bundle: " + r.firstFailure())
		r.verdict.Importance = widget.DangerImportance
	case len(r.in.Bundle.Missing()) > 0:
		r.verdict.SetText(fmt.Sprintf("✓ Envelope, signature and this drive's volumes check out. The bundle is spread over %d drives: Verify and release keeps this drive's volumes on the station and asks for the others; nothing is released until all are in.",
			r.in.Bundle.Envelope.Drives()))
		r.verdict.Importance = widget.SuccessImportance
	default:
		r.verdict.SetText("✓ Every check before decrypting passed. Verify and release decrypts it into a quarantine and checks every file against the sender's signed manifest and this station's content policy before anything is released.")
		r.verdict.Importance = widget.SuccessImportance
	}
	r.verdict.Refresh()
}

// firstFailure names the first check that failed, and what to do.
func (r *receiveScreen) firstFailure() string {
	for _, c := range r.in.Checks {
		if c.State == app.Failed {
			return strings.ToLower(c.Name) + ": " + safetext.Line(c.Detail)
		}
	}
	return "a check was not made"
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// driveOf names the drive of a spanning bundle whose volumes b holds.
func driveOf(b *bundle.Bundle) string {
	e := b.Envelope
	for i := range e.Payload.Volumes {
		if b.Holds(i) {
			return fmt.Sprintf("drive %d of %d", e.DriveOf(i)+1, e.Drives())
		}
	}
	return fmt.Sprintf("no volume of its %d drives", e.Drives())
}

func (r *receiveScreen) startJob() context.Context {
	ctx := r.job.start()
	r.refresh()
	return ctx
}

func (r *receiveScreen) endJob() {
	r.job.end()
	r.meter.clear()
}

func (r *receiveScreen) cancelJob() {
	r.job.stop()
	r.status.SetText("Cancelling…")
}

func (r *receiveScreen) startRelease() {
	if !r.admissible() || r.dest == "" || r.released != nil || r.busy() {
		return
	}
	r.releaseNow()
}

func (r *receiveScreen) releaseNow() {
	if !r.admissible() || r.dest == "" || r.released != nil || r.busy() {
		return
	}
	st := r.sess.acting()
	req := app.ReceiveRequest{BundleDir: r.dir, OutDir: r.dest}
	ctx := r.startJob()
	r.meter.begin("Decrypting and verifying")
	req.Progress = r.meter.update()
	go func() {
		got, err := st.Receive(ctx, req)
		onUI(func() {
			r.endJob()
			var md *app.MissingDrivesError
			switch {
			case errors.As(err, &md):
				r.waiting, r.read[req.BundleDir] = md.BundleID, true
				r.status.SetText("Drive read and checked; its volumes wait on this station. Nothing is released yet. " + waitingFor(md))
				dialog.ShowInformation("Insert the next drive", waitingFor(md), r.win)
			case errors.As(err, new(*app.HeldError)):
				var he *app.HeldError
				errors.As(err, &he)
				r.held = true
				r.status.SetText(fmt.Sprintf("Held for review: %d of %d file(s) were held by this station's policy; nothing was released. Open the review queue to see why, and to release or reject it.",
					len(he.Held.Reports), he.Held.Files))
				r.verdict.SetText("⚠ Held for review: the bundle verified, but its content did not pass every check.")
				r.countReview()
				r.showReview(he.Held.ID)
			case errors.Is(err, context.Canceled):
				r.status.SetText("Cancelled. Nothing was released and the quarantine was removed.")
			case errors.As(err, new(*app.NotTakenBackError)):
				r.status.SetText("RELEASED BUT NOT RECORDED: " + safetext.Line(err.Error()))
				showError(err, r.win)
			case errors.Is(err, app.ErrRejected):
				r.status.SetText("Rejected, nothing released: " + safetext.Line(err.Error()))
				showError(err, r.win)
			case err != nil:
				r.status.SetText("Not released (a problem on this station, not with the bundle): " + safetext.Line(err.Error()))
				showError(err, r.win)
			default:
				// Every folder the bundle was read from: the drives of a
				// bundle that spans several were read one by one.
				r.sources = []string{got.Source}
				for d := range r.read {
					if d != got.Source {
						r.sources = append(r.sources, d)
					}
				}
				r.waiting, r.read = "", map[string]bool{}
				r.released = got
				r.entries = got.Verified.Manifest.Entries
				msg := fmt.Sprintf("Released %s %s (%s) into %s. Every file matched the sender's signed manifest.",
					humanize.Comma(got.Verified.Files), plural(got.Verified.Files, "file", "files"), humanize.IBytes(uint64(got.Verified.ContentBytes)), got.Dir)
				if n := got.Verified.DatesNotKept; n > 0 {
					msg += fmt.Sprintf(" %d file date(s) could not be kept by this filesystem, e.g. %s.", n, got.Verified.DateExample)
				}
				if c := got.Content; c != nil && c.SealedOriginals > 0 {
					msg += fmt.Sprintf(" The %d original(s) the sender sealed are kept in %s, not released.", c.SealedOriginals, c.SealedOriginalsDir)
				}
				msg += " Wipe the bundle from its drive before the drive goes back into use, or eject it."
				r.status.SetText(safetext.Line(msg))
				r.verdict.SetText("✓ Released: every file matched the sender's signed manifest, and the custody log records it.")
			}
			r.refresh()
		})
	}()
}

// sourceDrive is the mount point of the inserted drive the released bundle
// was read from, or "".
func (r *receiveScreen) sourceDrive() string {
	if r.released == nil {
		return ""
	}
	m, err := media.Host.MountOf(r.released.Source)
	if err != nil {
		return ""
	}
	for _, d := range r.drives {
		for _, dm := range d.Mounts {
			if dm.Point == m.Point {
				return m.Point
			}
		}
	}
	return ""
}

// wipeSource removes the released bundle from the drive it came from (the
// app checks it is that bundle) and records it.
func (r *receiveScreen) wipeSource() {
	got := r.released
	if got == nil || r.busy() {
		return
	}
	sources := append([]string(nil), r.sources...)
	r.startJob()
	r.meter.beginUnderway("Wiping the bundle from its drive")
	st := r.sess.acting()
	go func() {
		// Each folder is wiped only if it still holds this bundle (the app
		// checks its envelope); a drive already taken out is said, not
		// counted as wiped.
		var wiped, gone []string
		var err error
		for _, d := range sources {
			if app.BundleIDAt(d) != got.Envelope.ID {
				gone = append(gone, d)
				continue
			}
			if err = st.Wipe(d, got.Envelope.ID); err != nil {
				break
			}
			wiped = append(wiped, d)
		}
		onUI(func() {
			r.endJob()
			msg := ""
			if len(wiped) > 0 {
				msg = fmt.Sprintf("Wiped bundle %s from %s; recorded in the custody log.", got.Envelope.ID, safetext.Line(strings.Join(wiped, ", ")))
				r.wiped = err == nil
			}
			if len(gone) > 0 {
				msg += " Not wiped (no longer there): " + safetext.Line(strings.Join(gone, ", ")) + "."
			}
			r.status.SetText(strings.TrimSpace(msg))
			if err != nil {
				showError(err, r.win)
			}
			r.refresh()
		})
	}()
}

func (r *receiveScreen) ejectSource() {
	point := r.sourceDrive()
	if point == "" || r.busy() {
		return
	}
	r.startJob()
	r.meter.beginUnderway("Ejecting " + safetext.Line(point))
	st := r.sess.acting()
	go func() {
		how, err := st.Eject(point)
		onUI(func() {
			r.endJob()
			if err != nil {
				showError(err, r.win)
			} else {
				r.status.SetText("Ejected " + safetext.Line(point) + " (" + how + "): the drive can be removed.")
			}
			r.refresh()
		})
	}()
}

func (r *receiveScreen) askReject() {
	dir := r.dir // the bundle shown when the officer chose to reject it
	reason := widget.NewEntry()
	reason.SetPlaceHolder("why this bundle is not released (recorded in the custody log)")
	d := dialog.NewForm("Reject bundle", "Reject", "Back", []*widget.FormItem{widget.NewFormItem("Reason", reason)}, func(ok bool) {
		if ok && r.dir == dir {
			r.rejectWith(reason.Text)
		}
	}, r.win)
	reason.OnSubmitted = func(string) { d.Submit() } // Enter rejects
	d.Resize(fyne.NewSize(min(640, r.win.Canvas().Size().Width*0.9), 0))
	d.Show()
	r.win.Canvas().Focus(reason)
}

func (r *receiveScreen) rejectWith(reason string) {
	if err := r.sess.acting().Reject(r.dir, reason); err != nil {
		showError(err, r.win)
		return
	}
	r.reset()
	r.status.SetText("Rejected and recorded in the custody log: " + safetext.Line(reason))
}

// setDrives lists the bundles found on the inserted drives.
func (r *receiveScreen) setDrives(ds []media.Drive) {
	r.drives = ds
	r.listFound()
	r.refresh()
	// A drive of the bundle being gathered was inserted: carry on.
	if r.waiting != "" && !r.busy() {
		for _, f := range r.found {
			if filepath.Base(f) == r.waiting+bundle.DirSuffix && !r.read[f] {
				r.resume = true
				r.openBundle(f)
				return
			}
		}
	}
}

// listFound lists the bundles on the inserted drives and in the folder the
// officer opened.
func (r *receiveScreen) listFound() {
	r.found = append([]string(nil), r.inFolder...)
	if r.inbox != "" {
		// What the diode brought and this station has not received yet.
		for _, f := range app.FindBundles(r.inbox) {
			if !r.st.Seen(strings.TrimSuffix(filepath.Base(f), bundle.DirSuffix)) && !slices.Contains(r.found, f) {
				r.found = append(r.found, f)
			}
		}
	}
	for _, d := range r.drives {
		for _, m := range d.Mounts {
			for _, f := range app.FindBundles(m.Point) {
				if !slices.Contains(r.found, f) {
					r.found = append(r.found, f)
				}
			}
		}
	}
	r.onDrives.Refresh()
}

// waitingFor tells the officer which drives to insert next.
func waitingFor(md *app.MissingDrivesError) string {
	var ds []string
	for _, m := range md.Missing {
		ds = append(ds, fmt.Sprintf("drive %d", m.Drive))
	}
	return fmt.Sprintf("Insert %s of the %d drives of bundle %s. The release continues by itself when the drive appears (or open its bundle folder).",
		strings.Join(ds, ", "), md.Drives, md.BundleID)
}
