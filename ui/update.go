package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"sluice/app"
	"sluice/internal/safetext"
	"sluice/transfer/bundle"
)

// updatesCard is the Station screen's one guided step for updates: what
// is installed, then "Apply update…" (choose the update's bundle on the
// drive, read what it is and who signed it, confirm, install, recorded)
// and "Roll back…". The same use-cases as sluice update apply/rollback.
type updatesCard struct {
	st     *app.Station
	sess   *session
	win    fyne.Window
	status *widget.Label
	apply  *widget.Button
	back   *widget.Button
	card   *widget.Card
}

func newUpdatesCard(st *app.Station, sess *session, w fyne.Window) *updatesCard {
	u := &updatesCard{st: st, sess: sess, win: w, status: widget.NewLabel("")}
	u.status.Wrapping = fyne.TextWrapWord
	u.apply = widget.NewButtonWithIcon("Apply update…", theme.DownloadIcon(), func() { pickFolderFor(w, "update", u.read) })
	u.back = widget.NewButtonWithIcon("Roll back…", theme.MediaSkipPreviousIcon(), u.askRollback)
	u.card = widget.NewCard("Updates", "Sluice and ClamAV's signatures, signed by a trusted release key",
		container.NewVBox(u.status, container.NewHBox(u.apply, u.back)))
	u.reload()
	return u
}

func (u *updatesCard) reload() {
	s, err := u.st.UpdateStatus()
	if err != nil {
		u.status.SetText(safetext.Line(err.Error()))
		return
	}
	lines := s.Lines()
	for i, l := range lines {
		lines[i] = safetext.Line(l) // each line escaped, the breaks kept
	}
	u.status.SetText(strings.Join(lines, "\n"))
	enable(u.back, len(s.Installed) > 1)
}

// read reads the chosen bundle and asks the officer to confirm.
func (u *updatesCard) read(dir string) {
	info, err := u.st.ReadUpdate(dir)
	if err != nil {
		showError(err, u.win)
		return
	}
	what := "Sluice " + info.Version
	if info.Kind == bundle.UpdateClamAVDB {
		what = "ClamAV signatures, version " + info.Version
	}
	form := widget.NewForm(
		widget.NewFormItem("Update", widget.NewLabel(what)),
		widget.NewFormItem("Signed by", widget.NewLabel(info.Signer+" (release key)")),
		widget.NewFormItem("Sealed", widget.NewLabel(info.Created.Local().Format("2006-01-02 15:04"))),
		widget.NewFormItem("Bundle", mono(info.Bundle)),
	)
	if !info.Newer {
		msg := widget.NewLabel("This station will refuse it: " + safetext.Line(info.Why))
		msg.Wrapping = fyne.TextWrapWord
		d := dialog.NewCustom("Not an update for this station", "Close", container.NewVBox(form, msg), u.win)
		d.Resize(fyne.NewSize(min(640, u.win.Canvas().Size().Width*0.9), 0))
		d.Show()
		return
	}
	reason := widget.NewEntry()
	reason.SetPlaceHolder("only if it is older than the policy's max_age: why accept it")
	intro := widget.NewLabel("Install it? It is received and checked like any bundle first; every step is recorded.")
	intro.Wrapping = fyne.TextWrapWord
	d := dialog.NewCustomConfirm("Apply an update", "Install", "Cancel",
		container.NewVBox(intro, form, widget.NewForm(widget.NewFormItem("Reason", reason))), func(ok bool) {
			if ok {
				// Installing software answers to the two-person rules,
				// as a policy does.
				u.sess.asQuorum("install an update", app.ChangePolicy, func(st *app.Station, others []*app.SignedIn) {
					u.run(st, others, dir, info.Bundle, strings.TrimSpace(reason.Text))
				})
			}
		}, u.win)
	d.Resize(fyne.NewSize(min(640, u.win.Canvas().Size().Width*0.9), 0))
	d.Show()
}

// run applies the update off the UI thread.
func (u *updatesCard) run(st *app.Station, others []*app.SignedIn, dir, id, reason string) {
	u.apply.Disable()
	u.status.SetText("Applying the update…")
	go func() {
		a, err := st.ApplyUpdate(context.Background(), app.UpdateRequest{BundleDir: dir, Bundle: id, AgeOverride: reason, Others: others})
		onUI(func() {
			u.apply.Enable()
			u.reload()
			if err != nil {
				showError(err, u.win)
				return
			}
			dialog.ShowInformation("Updated", fmt.Sprintf("%s updated to %s.\n%s", a.Kind, a.To, safetext.Line(strings.Join(a.What, "\n"))), u.win)
		})
	}()
}

func (u *updatesCard) askRollback() {
	s, err := u.st.UpdateStatus()
	if err != nil {
		showError(err, u.win)
		return
	}
	if len(s.Installed) < 2 {
		showError(errors.New("no earlier version is kept on this station"), u.win)
		return
	}
	n := len(s.Installed)
	dialog.ShowConfirm("Roll back Sluice?", fmt.Sprintf("Put back Sluice %s in place of %s? The custody log records it; %s stays refused until a newer release comes.",
		s.Installed[n-2], s.Installed[n-1], s.Installed[n-1]), func(ok bool) {
		if !ok {
			return
		}
		u.sess.asQuorum("roll back an update", app.ChangePolicy, func(st *app.Station, others []*app.SignedIn) {
			u.rollback(st, others)
		})
	}, u.win)
}

func (u *updatesCard) rollback(st *app.Station, others []*app.SignedIn) {
	go func() {
		_, err := st.RollbackUpdate(context.Background(), app.RollbackRequest{Others: others})
		onUI(func() {
			u.reload()
			if err != nil {
				showError(err, u.win)
			}
		})
	}()
}
