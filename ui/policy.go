package ui

import (
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

// policySummary says in a few lines what the policy in force does.
func policySummary(p app.Policy) string {
	c := p.Content
	lines := []string{fmt.Sprintf("Held by type: %s", strings.Join(c.Block, ", "))}
	if len(c.Allow) > 0 {
		lines = append(lines, "Only these pass: "+strings.Join(c.Allow, ", "))
	}
	scan := "Malware scan: off (nothing is scanned; every release record says so)"
	if p.Scan.Required {
		engine := "clamscan"
		if p.Scan.Clamd != "" {
			engine = "clamd at " + p.Scan.Clamd
		}
		scan = "Malware scan: required, " + engine
		if n := len(p.Scan.Hooks); n > 0 {
			scan += fmt.Sprintf(" and %d more engine(s)", n)
		}
	}
	lines = append(lines, safetext.Line(scan), transformSummary(p.Transform),
		fmt.Sprintf("Approvals: %d to release after review, %d to seal", p.RequireApprovals, p.RequireSealApprovals))
	return strings.Join(lines, "\n")
}

// transformSummary says in one line where each kind is rebuilt, and
// whether rebuilt documents keep searchable text (OCR) and whether the
// originals may cross sealed (seal_originals).
func transformSummary(t app.TransformPolicy) string {
	by := map[string][]string{}
	for _, k := range []struct{ name, mode string }{{"documents", t.Documents}, {"images", t.Images}, {"text", t.Text}} {
		by[k.mode] = append(by[k.mode], k.name)
	}
	var parts []string
	for _, m := range []struct{ mode, say string }{{app.TransformSender, "by the sender, verified here"}, {app.TransformKiosk, "here, before release"},
		{app.TransformBoth, "by the sender and again here"}} {
		if len(by[m.mode]) > 0 {
			parts = append(parts, strings.Join(by[m.mode], " and ")+" "+m.say)
		}
	}
	if len(parts) == 0 {
		return "Rebuilt into a simple form: nothing (transform off)"
	}
	if t.Documents != app.TransformOff && t.Documents != "" {
		if t.OCR != "" {
			parts = append(parts, "documents keep searchable text (OCR: "+safetext.Line(t.OCR)+")")
		} else {
			parts = append(parts, "documents become page images without searchable text (OCR off)")
		}
	}
	if t.SealOriginals {
		parts = append(parts, "senders' originals accepted sealed, kept here, never released")
	}
	return "Rebuilt into a simple form: " + strings.Join(parts, "; ")
}

// editPolicy opens the policy editor: policy.toml as written, checked as
// it is typed (the first mistake is shown and Install stays off until
// there is none), installed through app.InstallPolicy, which records the
// change. done is called after an install.
func editPolicy(st *app.Station, sess *session, w fyne.Window, done func()) {
	text, err := st.PolicyText()
	if err != nil {
		showError(err, w)
		return
	}
	entry := widget.NewMultiLineEntry()
	entry.TextStyle = fyne.TextStyle{Monospace: true}
	entry.Wrapping = fyne.TextWrapOff
	entry.SetText(string(text))
	status := widget.NewLabel("")
	status.Wrapping = fyne.TextWrapWord
	var install *widget.Button
	check := func(s string) {
		if _, err := app.ParsePolicy([]byte(s)); err != nil {
			status.SetText("Not valid: " + safetext.Line(err.Error()))
			status.Importance = widget.DangerImportance
			install.Disable()
		} else {
			status.SetText("Valid. Install puts it in force on this station; the change is recorded in the custody log.")
			status.Importance = widget.MediumImportance
			install.Enable()
		}
		status.Refresh()
	}
	var d dialog.Dialog
	install = widget.NewButtonWithIcon("Install", theme.ConfirmIcon(), func() {
		text := []byte(entry.Text)
		sess.asQuorum("change the policy", app.ChangePolicy, func(acting *app.Station, others []*app.SignedIn) {
			if err := acting.InstallPolicy(text, others...); err != nil {
				showError(err, w)
				return
			}
			d.Hide()
			if done != nil {
				done()
			}
		})
	})
	install.Importance = widget.HighImportance
	cancel := widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), func() { d.Hide() })
	entry.OnChanged = check
	check(entry.Text)
	body := container.NewBorder(nil, container.NewVBox(status, container.NewHBox(install, cancel)), nil, nil, entry)
	d = dialog.NewCustomWithoutButtons("Receive policy of station "+st.Name, body, w)
	size := w.Canvas().Size()
	d.Resize(fyne.NewSize(size.Width*0.94, size.Height*0.9))
	d.Show()
}
