package ui

import (
	"context"
	"errors"
	"fmt"
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
	"sluice/internal/safetext"
	"sluice/transfer/bundle"
	"sluice/transfer/media"
)

// receiveScreen is the kiosk officer's flow: open a bundle, see who sent
// what (checked without decrypting), then release it into a destination or
// reject it with a reason.
type receiveScreen struct {
	st  *app.Station
	win fyne.Window

	job job

	dir     string
	in      *app.Inspection
	inErr   error
	dest    string
	entries []bundle.ManifestEntry

	open       *widget.Button
	envelope   *widget.Form
	verdict    *widget.Label
	destLabel  *widget.Label
	chooseDest *widget.Button
	release    *widget.Button
	reject     *widget.Button
	stop       *widget.Button
	files      *widget.List
	found      []string
	onDrives   *widget.List
	meter      *meter
	status     *widget.Label
	content    fyne.CanvasObject
	// waiting is the bundle whose other drives are awaited after one
	// drive of it was read; read holds the drive folders read so far.
	waiting string
	read    map[string]bool
	// resume: release as soon as the drive being opened checks out
	// (the officer already chose to release this bundle).
	resume bool
}

func newReceiveScreen(st *app.Station, w fyne.Window) *receiveScreen {
	r := &receiveScreen{st: st, win: w, read: map[string]bool{}}
	r.open = widget.NewButtonWithIcon("Open bundle…", theme.FolderOpenIcon(), r.pickBundle)
	r.envelope = widget.NewForm()
	r.verdict = widget.NewLabel("Open a bundle folder (its name ends in .sluice). Its envelope is checked before anything is decrypted.")
	r.verdict.Wrapping = fyne.TextWrapWord
	r.destLabel = widget.NewLabel("No destination chosen")
	r.chooseDest = widget.NewButtonWithIcon("Choose…", theme.FolderOpenIcon(), r.pickDest)
	r.release = widget.NewButtonWithIcon("Verify and release", theme.ConfirmIcon(), r.startRelease)
	r.release.Importance = widget.HighImportance
	r.reject = widget.NewButtonWithIcon("Reject…", theme.CancelIcon(), r.askReject)
	r.reject.Importance = widget.DangerImportance
	r.stop = widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), r.cancelJob)
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
	top := container.NewVBox(
		container.NewHBox(r.open),
		widget.NewCard("Envelope", "", container.NewVBox(r.envelope, r.verdict)),
		container.NewBorder(nil, nil, widget.NewLabel("Release into"), r.chooseDest, r.destLabel),
		container.NewHBox(r.release, r.reject, r.stop),
		r.meter.bar, r.meter.label, r.status,
	)
	drives := widget.NewCard("Bundles on inserted drives", "They appear here when a drive is inserted; choose one to open it", r.onDrives)
	r.content = container.NewBorder(top, nil, nil, nil, container.NewVSplit(drives, widget.NewCard("Files", "", r.files)))
	r.refresh()
	return r
}

func (r *receiveScreen) busy() bool { return r.job.running() }

func (r *receiveScreen) admissible() bool {
	return r.in != nil && r.inErr == nil && r.in.Trust == "trusted" && r.in.ForThisStation
}

func (r *receiveScreen) refresh() {
	busy := r.busy()
	enable(r.open, !busy)
	enable(r.chooseDest, !busy)
	enable(r.release, !busy && r.admissible() && r.dest != "" && r.entries == nil)
	enable(r.reject, !busy && r.dir != "" && r.entries == nil)
	enable(r.stop, busy)
	r.files.Refresh()
}

func (r *receiveScreen) pickBundle() {
	pickFolder(r.win, r.openBundle)
}

func (r *receiveScreen) pickDest() {
	pickFolder(r.win, r.setDest)
}

func (r *receiveScreen) setDest(dir string) {
	r.dest = dir
	r.destLabel.SetText(dir)
	r.refresh()
}

// openBundle checks the envelope, signature and volumes without decrypting.
func (r *receiveScreen) openBundle(dir string) {
	r.dir, r.in, r.inErr, r.entries = dir, nil, nil, nil
	r.envelope.Items = nil
	r.envelope.Refresh()
	r.verdict.SetText("Checking the envelope, the signature and every volume…")
	r.status.SetText("")
	ctx := r.startJob()
	go func() {
		in, err := app.Inspect(ctx, dir, r.st)
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

func (r *receiveScreen) showEnvelope() {
	r.envelope.Items = nil
	if r.in != nil {
		e := r.in.Bundle.Envelope
		add := func(k, v string) { r.envelope.Append(k, widget.NewLabel(safetext.Line(v))) }
		add("Bundle", e.ID)
		add("Sender", e.Sender.Name)
		add("Signature", verdictText(r.in.SignatureOK, "valid", "INVALID"))
		add("Sender trusted", r.in.Trust)
		add("For this station", verdictText(r.in.ForThisStation, "yes", "no — sealed for "+e.RecipientNames()))
		add("Created", fmt.Sprintf("%s (%s)", e.Created.Format(time.RFC3339), humanize.Time(e.Created)))
		add("Content", fmt.Sprintf("%s files, %s folders, %s", humanize.Comma(e.Files), humanize.Comma(e.Dirs), humanize.IBytes(uint64(e.ContentBytes))))
		if miss := r.in.Bundle.Missing(); len(miss) > 0 {
			add("Volumes", fmt.Sprintf("%s; %d of %d volumes here, %s", driveOf(r.in.Bundle), len(e.Payload.Volumes)-len(miss), len(e.Payload.Volumes),
				verdictText(r.in.VolumesOK, "intact", "not intact")))
		} else {
			add("Volumes", fmt.Sprintf("%d, %s", len(e.Payload.Volumes), verdictText(r.in.VolumesOK, "all intact", "not intact")))
		}
		if note := r.in.Note(); note != "" {
			add("Note", note)
		}
	}
	r.envelope.Refresh()
	switch {
	case r.inErr != nil:
		r.verdict.SetText("✗ Do not release: " + safetext.Line(r.inErr.Error()))
		r.verdict.Importance = widget.DangerImportance
	case !r.admissible():
		r.verdict.SetText("✗ This station cannot release this bundle: the sender is not trusted here or the bundle is not sealed for this station.")
		r.verdict.Importance = widget.DangerImportance
	case len(r.in.Bundle.Missing()) > 0:
		r.verdict.SetText(fmt.Sprintf("✓ Envelope, signature and this drive's volumes check out. The bundle is spread over %d drives: Verify and release keeps this drive's volumes on the station and asks for the others; nothing is released until all are in.",
			r.in.Bundle.Envelope.Drives()))
		r.verdict.Importance = widget.SuccessImportance
	default:
		r.verdict.SetText("✓ Envelope, signature and volumes check out. Choose where to release it; every file is verified while decrypting.")
		r.verdict.Importance = widget.SuccessImportance
	}
	r.verdict.Refresh()
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

func verdictText(ok bool, yes, no string) string {
	if ok {
		return yes
	}
	return no
}

func (r *receiveScreen) startJob() context.Context {
	ctx := r.job.start()
	r.refresh()
	return ctx
}

func (r *receiveScreen) endJob() {
	r.job.end()
	r.meter.bar.Hide()
}

func (r *receiveScreen) cancelJob() {
	r.job.stop()
	r.status.SetText("Cancelling…")
}

func (r *receiveScreen) startRelease() {
	req := app.ReceiveRequest{BundleDir: r.dir, OutDir: r.dest}
	ctx := r.startJob()
	r.meter.begin("Decrypting and verifying")
	req.Progress = r.meter.update()
	go func() {
		got, err := r.st.Receive(ctx, req)
		onUI(func() {
			r.endJob()
			var md *app.MissingDrivesError
			switch {
			case errors.As(err, &md):
				r.waiting, r.read[req.BundleDir] = md.BundleID, true
				r.status.SetText("Drive read and checked; its volumes wait on this station. Nothing is released yet. " + waitingFor(md))
				dialog.ShowInformation("Insert the next drive", waitingFor(md), r.win)
			case errors.Is(err, context.Canceled):
				r.status.SetText("Cancelled. Nothing was released and the quarantine was removed.")
			case err != nil:
				r.status.SetText("Rejected, nothing released: " + safetext.Line(err.Error()))
				showError(err, r.win)
			default:
				r.waiting, r.read = "", map[string]bool{}
				r.entries = got.Verified.Manifest.Entries
				msg := fmt.Sprintf("Released %s files (%s) into %s. Every file matched the sender's signed manifest.",
					humanize.Comma(got.Verified.Files), humanize.IBytes(uint64(got.Verified.ContentBytes)), got.Dir)
				if n := got.Verified.DatesNotKept; n > 0 {
					msg += fmt.Sprintf(" %d file date(s) could not be kept by this filesystem, e.g. %s.", n, got.Verified.DateExample)
				}
				r.status.SetText(safetext.Line(msg))
			}
			r.refresh()
		})
	}()
}

func (r *receiveScreen) askReject() {
	reason := widget.NewEntry()
	reason.SetPlaceHolder("why this bundle is not released")
	dialog.ShowForm("Reject bundle", "Reject", "Back", []*widget.FormItem{widget.NewFormItem("Reason", reason)}, func(ok bool) {
		if ok {
			r.rejectWith(reason.Text)
		}
	}, r.win)
}

func (r *receiveScreen) rejectWith(reason string) {
	if err := r.st.Reject(r.dir, reason); err != nil {
		showError(err, r.win)
		return
	}
	r.status.SetText("Rejected and recorded in the custody log: " + reason)
	r.dir, r.in = "", nil
	r.refresh()
}

// setDrives lists the bundles found on the inserted drives.
func (r *receiveScreen) setDrives(ds []media.Drive) {
	r.found = nil
	for _, d := range ds {
		for _, m := range d.Mounts {
			r.found = append(r.found, app.FindBundles(m.Point)...)
		}
	}
	r.onDrives.Refresh()
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

// waitingFor tells the officer which drives to insert next.
func waitingFor(md *app.MissingDrivesError) string {
	var ds []string
	for _, m := range md.Missing {
		ds = append(ds, fmt.Sprintf("drive %d", m.Drive))
	}
	return fmt.Sprintf("Insert %s of the %d drives of bundle %s. The release continues by itself when the drive appears (or open its bundle folder).",
		strings.Join(ds, ", "), md.Drives, md.BundleID)
}
