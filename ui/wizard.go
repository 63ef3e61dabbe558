package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"sluice/app"
	"sluice/crypto"
)

// wizard creates the station on first start.
type wizard struct {
	home    string
	name    *widget.Entry
	pq      *widget.Check
	create  *widget.Button
	content fyne.CanvasObject
}

func newWizard(home string, w fyne.Window, done func(*app.Station)) *wizard {
	z := &wizard{home: home}
	z.name = widget.NewEntry()
	z.name.SetPlaceHolder("for example kiosk-1")
	z.name.Validator = crypto.ValidName
	z.pq = widget.NewCheck("Post-quantum encryption key (ML-KEM-768 + X25519)", nil)
	z.create = widget.NewButton("Create station", func() {
		st, err := app.Init(z.home, z.name.Text, z.pq.Checked)
		if err != nil {
			showError(err, w)
			return
		}
		done(st)
	})
	z.create.Importance = widget.HighImportance
	z.name.OnSubmitted = func(string) { z.create.OnTapped() }
	intro := widget.NewLabel("This computer has no Sluice station yet. A station has its own keys: " +
		"an encryption key other stations seal bundles to, and a signing key that vouches for what it sends " +
		"and for its custody log. Give it a name other stations will know it by.")
	intro.Wrapping = fyne.TextWrapWord
	nameItem := widget.NewFormItem("Station name", z.name)
	nameItem.HintText = "1 to 64 letters, digits, '.', '_' or '-', starting with a letter, digit or '_'"
	form := widget.NewForm(nameItem, widget.NewFormItem("", z.pq))
	z.content = container.NewPadded(container.NewVBox(
		widget.NewLabelWithStyle("Create this station", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		intro, form, container.NewHBox(z.create),
		widget.NewLabel("Keys are kept in "+home+"."),
	))
	// The officer types the name first.
	onUI(func() { w.Canvas().Focus(z.name) })
	return z
}
