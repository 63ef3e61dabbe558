package ui

import (
	"context"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"sluice/app"
	"sluice/internal/safetext"
)

// reviewPanel is the kiosk's review queue: the bundles its policy held,
// each file held with its type (by content) and every reason, and the
// officer's decisions (release, release the files that passed, reject
// with a reason), each recorded by app.
type reviewPanel struct {
	st   *app.Station
	sess *session
	win  fyne.Window
	// changed is called after a decision, so the Receive screen can
	// update its count.
	changed func()

	items    []*app.Held
	sel      *app.Held
	rows     []string // the selected bundle's held files and findings, one line each
	list     *widget.List
	detail   *widget.Label
	findings *widget.Label // the held files and why, wrapped, in a scroll
	release  *widget.Button
	partial  *widget.Button
	approve  *widget.Button // shown once officers are enrolled
	reject   *widget.Button
	status   *widget.Label
	content  fyne.CanvasObject
}

func newReviewPanel(st *app.Station, sess *session, w fyne.Window, changed func()) *reviewPanel {
	p := &reviewPanel{st: st, sess: sess, win: w, changed: changed}
	p.list = widget.NewList(func() int { return len(p.items) },
		func() fyne.CanvasObject {
			l := widget.NewLabel("\n")
			l.Truncation = fyne.TextTruncateEllipsis
			return l
		},
		func(i widget.ListItemID, o fyne.CanvasObject) {
			h := p.items[i]
			o.(*widget.Label).SetText(fmt.Sprintf("%s\nfrom %s · %d of %d file(s) held", h.ID, safetext.Line(h.Sender), len(h.Reports), h.Files))
		})
	p.list.OnSelected = func(i widget.ListItemID) {
		if i < len(p.items) {
			p.show(p.items[i])
		}
	}
	p.detail = widget.NewLabel("Choose a bundle held for review.")
	p.detail.Wrapping = fyne.TextWrapWord
	p.findings = widget.NewLabel("")
	p.findings.Wrapping = fyne.TextWrapWord
	p.release = widget.NewButtonWithIcon("Release after review", theme.ConfirmIcon(), func() { p.decide(false) })
	p.release.Importance = widget.HighImportance
	p.partial = widget.NewButtonWithIcon("Release the files that passed", theme.ContentRemoveIcon(), func() { p.decide(true) })
	p.approve = widget.NewButtonWithIcon("Approve as officer…", theme.AccountIcon(), p.askApprove)
	p.reject = widget.NewButtonWithIcon("Reject…", theme.CancelIcon(), p.askReject)
	p.reject.Importance = widget.DangerImportance
	p.status = widget.NewLabel("")
	p.status.Wrapping = fyne.TextWrapWord
	right := container.NewBorder(p.detail, container.NewVBox(container.NewHBox(p.approve, p.release, p.partial, p.reject), p.status), nil, nil,
		widget.NewCard("Held files", "Type judged by content; every reason it was held", container.NewVScroll(p.findings)))
	split := container.NewHSplit(widget.NewCard("Held for review", "Nothing of these was released", p.list), right)
	split.Offset = 0.35
	p.content = split
	p.load()
	return p
}

// selectID shows the bundle id, if it is held.
func (p *reviewPanel) selectID(id string) {
	for i, h := range p.items {
		if h.ID == id {
			p.list.Select(i)
		}
	}
}

// load reads the queue again.
func (p *reviewPanel) load() {
	items, err := p.st.Reviews()
	if err != nil {
		p.status.SetText(safetext.Line(err.Error()))
	}
	p.items = items
	p.list.UnselectAll()
	p.sel, p.rows = nil, nil
	p.detail.SetText("Choose a bundle held for review.")
	if len(items) == 0 {
		p.detail.SetText("No bundle is held for review.")
	}
	p.list.Refresh()
	p.findings.SetText("")
	p.refresh()
}

// maxHeldOnScreen bounds the held files listed; sluice review show --all
// lists every one.
const maxHeldOnScreen = 200

func (p *reviewPanel) refresh() {
	officers, _ := p.st.Officers()
	showIf(p.approve, len(officers) > 0)
	enable(p.approve, p.sel != nil)
	enable(p.release, p.sel != nil && p.st.MayRelease(p.sel, app.Decision{}) == nil)
	enable(p.partial, p.sel != nil && p.st.MayRelease(p.sel, app.Decision{Partial: true}) == nil)
	enable(p.reject, p.sel != nil)
}

func (p *reviewPanel) show(h *app.Held) {
	p.sel = h
	text := fmt.Sprintf("Bundle %s from %s, sealed %s. %d files, every one matching the signed manifest. %s.",
		h.ID, safetext.Line(h.Sender), h.Created.Local().Format("2006-01-02 15:04"), h.Files, safetext.Line(h.Summary))
	if h.Note != "" {
		text += " Note: " + safetext.Line(h.Note)
	}
	p.detail.SetText(text + " For " + safetext.Line(h.Out) + ".")
	p.rows = p.rows[:0]
	for i, r := range h.Reports {
		if i == maxHeldOnScreen {
			p.rows = append(p.rows, fmt.Sprintf("… and %d more held file(s): sluice review show %s --all lists them", len(h.Reports)-i, h.ID))
			break
		}
		p.rows = append(p.rows, fmt.Sprintf("HELD %s  (%s, %s)", safetext.Line(r.Path), safetext.Line(r.MIME), r.Family))
		for _, f := range r.Findings {
			p.rows = append(p.rows, "    • "+safetext.Line(f.Text(r.Path)))
		}
	}
	p.findings.SetText(strings.Join(p.rows, "\n"))
	p.status.SetText("")
	if err := p.st.MayRelease(h, app.Decision{}); err != nil {
		p.status.SetText("Release not allowed: " + safetext.Line(err.Error()) + ".")
	}

	p.refresh()
}

func (p *reviewPanel) decide(partial bool) {
	h := p.sel
	if h == nil {
		return
	}
	what := "Release bundle " + h.ID + " whole, overriding every hold? The decision is recorded in the custody log."
	if partial {
		what = fmt.Sprintf("Release the files of bundle %s that passed every check? The %d held file(s) stay in this station's review folder; the decision is recorded.", h.ID, len(h.Reports))
	}
	dialog.ShowConfirm("Release after review", what, func(ok bool) {
		if ok {
			p.sess.require("release bundle "+h.ID, func() { p.releaseNow(h, partial) })
		}
	}, p.win)
}

func (p *reviewPanel) releaseNow(h *app.Held, partial bool) {
	st := p.sess.acting()
	go func() {
		r, err := st.ReleaseHeld(context.Background(), h.ID, app.Decision{Partial: partial})
		onUI(func() {
			if err != nil {
				p.status.SetText("Not released: " + safetext.Line(err.Error()))
				showError(err, p.win)
				return
			}
			p.load()
			p.status.SetText("Released into " + safetext.Line(r.Dir) + "; the custody log records who released it and what was overridden.")
			if p.changed != nil {
				p.changed()
			}
		})
	}()
}

// askApprove signs an officer in on this kiosk (any enrolled officer, so a
// second one can approve at the same screen) and records their signed
// approval of the decision they choose. Nothing stays signed in: each
// approval asks for the passphrase.
func (p *reviewPanel) askApprove() {
	h := p.sel
	if h == nil {
		return
	}
	officers, err := p.st.Officers()
	if err != nil || len(officers) == 0 {
		return
	}
	var names []string
	for _, o := range officers {
		names = append(names, o.Name)
	}
	who := widget.NewSelect(names, nil)
	pass := widget.NewPasswordEntry()
	decisions := []string{"Release the whole bundle"}
	if p.st.Policy.PartialRelease {
		decisions = append(decisions, "Release the files that passed")
	}
	what := widget.NewRadioGroup(decisions, nil)
	what.SetSelected(decisions[0])
	dialog.ShowForm("Approve bundle "+h.ID, "Sign approval", "Back", []*widget.FormItem{
		widget.NewFormItem("Officer", who), widget.NewFormItem("Passphrase", pass), widget.NewFormItem("Decision", what),
	}, func(ok bool) {
		if !ok || who.Selected == "" {
			return
		}
		d := app.Decision{Partial: what.Selected == "Release the files that passed"}
		secret := []byte(pass.Text)
		st := p.sess.acting()
		go func() {
			var approvals []string
			o, err := st.SignIn(who.Selected, secret)
			if err == nil {
				approvals, err = st.ApproveHeld(context.Background(), h.ID, d, o)
			}
			onUI(func() {
				if err != nil {
					p.status.SetText("Not approved: " + safetext.Line(err.Error()))
					showError(err, p.win)
					return
				}
				p.status.SetText(fmt.Sprintf("Approved by %s; signed approvals of this decision: %s (the policy needs %d). Recorded in the custody log.",
					who.Selected, strings.Join(approvals, ", "), p.st.Policy.RequireApprovals))
			})
		}()
	}, p.win)
}

func (p *reviewPanel) askReject() {
	h := p.sel
	if h == nil {
		return
	}
	reason := widget.NewEntry()
	reason.SetPlaceHolder("why, for the custody log")
	dialog.ShowForm("Reject bundle "+h.ID, "Reject", "Back", []*widget.FormItem{widget.NewFormItem("Reason", reason)}, func(ok bool) {
		if !ok || strings.TrimSpace(reason.Text) == "" {
			return
		}
		p.sess.require("reject bundle "+h.ID, func() {
			if err := p.sess.acting().RejectHeld(context.Background(), h.ID, reason.Text); err != nil {
				showError(err, p.win)
				return
			}
			p.load()
			p.status.SetText("Rejected; its content was removed and the rejection recorded.")
			if p.changed != nil {
				p.changed()
			}
		})
	}, p.win)
}
