package ui

import (
	"fmt"
	"io"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
	qrcode "github.com/skip2/go-qrcode"

	"sluice/app"
	"sluice/crypto"
	"sluice/internal/textfile"
)

// stationScreen is the technician's view: this station's card (as text
// and as a QR code), and the stations it trusts, imported from card files.
type stationScreen struct {
	st       *app.Station
	win      fyne.Window
	trusted  []crypto.Card
	selected int
	list     *widget.List
	remove   *widget.Button
	empty    *widget.Label
	content  fyne.CanvasObject
}

func newStationScreen(st *app.Station, w fyne.Window) *stationScreen {
	s := &stationScreen{st: st, win: w, selected: -1}
	card := st.Card()
	cardText := widget.NewLabel(strings.TrimSpace(string(card.Marshal())))
	cardText.Wrapping = fyne.TextWrapBreak
	cardText.TextStyle = fyne.TextStyle{Monospace: true}
	qr := widget.NewButtonWithIcon("Show as QR code", theme.VisibilityIcon(), s.showQR)
	copyCard := widget.NewButtonWithIcon("Copy card", theme.ContentCopyIcon(), func() {
		fyne.CurrentApp().Clipboard().SetContent(string(card.Marshal()))
	})
	s.list = widget.NewList(
		func() int { return len(s.trusted) },
		func() fyne.CanvasObject { return widget.NewLabel("") },
		func(i widget.ListItemID, o fyne.CanvasObject) { o.(*widget.Label).SetText(describeCard(s.trusted[i])) })
	s.list.OnSelected = func(i widget.ListItemID) { s.selected = i; enable(s.remove, true) }
	s.list.OnUnselected = func(widget.ListItemID) { s.selected = -1; enable(s.remove, false) }
	importBtn := widget.NewButtonWithIcon("Import card…", theme.ContentAddIcon(), s.pickCard)
	s.remove = widget.NewButtonWithIcon("Remove…", theme.DeleteIcon(), s.askRemove)
	s.remove.Disable()
	s.empty = widget.NewLabel("No trusted stations yet. Import another station's card (a .card file) to send to it or receive from it.")
	s.empty.Wrapping = fyne.TextWrapWord

	header := widget.NewLabelWithStyle("Station "+st.Name, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	facts := widget.NewForm(
		widget.NewFormItem("Home", widget.NewLabel(st.Home)),
		widget.NewFormItem("Signing key", widget.NewLabel(card.SigningFingerprint())),
		widget.NewFormItem("Encryption", widget.NewLabel(encryptionKind(card.Recipient))),
	)
	top := container.NewVBox(header, facts,
		widget.NewCard("Public card", "Give this to other stations", container.NewVBox(cardText, container.NewHBox(qr, copyCard))))
	trust := widget.NewCard("Trusted stations", "", container.NewBorder(container.NewHBox(importBtn, s.remove), s.empty, nil, nil, s.list))
	s.content = container.NewBorder(top, nil, nil, nil, trust)
	s.reload()
	return s
}

func (s *stationScreen) reload() {
	cards, err := s.st.TrustList()
	if err != nil {
		s.empty.SetText("The trust store cannot be read: " + err.Error())
		s.empty.Show()
		return
	}
	s.trusted, s.selected = cards, -1
	s.list.UnselectAll()
	s.remove.Disable()
	if len(cards) == 0 {
		s.empty.Show()
	} else {
		s.empty.Hide()
	}
	s.list.Refresh()
}

func (s *stationScreen) pickCard() {
	dialog.ShowFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil || r == nil {
			return
		}
		defer r.Close()
		text, err := io.ReadAll(io.LimitReader(r, crypto.MaxCardSize+1))
		if err == nil {
			text, err = textfile.Normalize(r.URI().Name(), text) // names the file if it is not UTF-8 text
		}
		if err != nil {
			showError(fmt.Errorf("read card: %w", err), s.win)
			return
		}
		s.importCard(text)
	}, s.win)
}

// importCard trusts the station on a card, after the technician has
// compared its fingerprint with the one the other station shows.
func (s *stationScreen) importCard(text []byte) {
	c, err := crypto.ParseCard(text)
	if err != nil {
		showError(fmt.Errorf("that file is not a usable station card: %w", err), s.win)
		return
	}
	msg := fmt.Sprintf("Trust station %s?\n\nSigning key %s\nEncryption %s\n\nCompare the signing key with the one shown on %s's Station screen before you trust it.",
		c.Name, c.SigningFingerprint(), encryptionKind(c.Recipient), c.Name)
	dialog.ShowConfirm("Trust a station", msg, func(ok bool) {
		if !ok {
			return
		}
		if _, err := s.st.TrustAdd(text); err != nil {
			showError(err, s.win)
			return
		}
		s.reload()
	}, s.win)
}

func (s *stationScreen) askRemove() {
	if s.selected < 0 || s.selected >= len(s.trusted) {
		return
	}
	name := s.trusted[s.selected].Name
	dialog.ShowConfirm("Stop trusting "+name+"?",
		"Bundles from "+name+" will be rejected and you can no longer seal bundles for it. The custody log records this.",
		func(ok bool) {
			if !ok {
				return
			}
			if err := s.st.TrustRemove(name); err != nil {
				showError(err, s.win)
			}
			s.reload()
		}, s.win)
}

// cardQR renders the card as a QR code. A post-quantum card is about two
// kilobytes, which fits only at the lowest error correction.
func cardQR(card crypto.Card) (*canvas.Image, error) {
	q, err := qrcode.New(string(card.Marshal()), qrcode.Low)
	if err != nil {
		return nil, fmt.Errorf("make QR code: %w", err)
	}
	img := canvas.NewImageFromImage(q.Image(1024))
	img.FillMode = canvas.ImageFillContain
	img.ScaleMode = canvas.ImageScalePixels
	img.SetMinSize(fyne.NewSize(420, 420))
	return img, nil
}

func (s *stationScreen) showQR() {
	img, err := cardQR(s.st.Card())
	if err != nil {
		showError(err, s.win)
		return
	}
	dialog.ShowCustom("Card of "+s.st.Name, "Close", container.NewVBox(img,
		widget.NewLabel("Signing key "+s.st.Card().SigningFingerprint())), s.win)
}
