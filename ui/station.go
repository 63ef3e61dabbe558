package ui

import (
	"fmt"
	"os"
	"path/filepath"
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
	"sluice/internal/durable"
	"sluice/internal/safetext"
	"sluice/internal/textfile"
)

// stationScreen is the technician's view: this station's card (as text,
// QR code or file), the stations it trusts (imported from card files or
// pasted), and the folders the desktop app releases bundles into.
type stationScreen struct {
	st       *app.Station
	win      fyne.Window
	trusted  []crypto.Card
	selected int
	list     *widget.List
	remove   *widget.Button
	empty    *widget.Label
	feedback *widget.Label

	folders     []string
	folderSel   int
	folderList  *widget.List
	folderPath  *widget.Entry
	removeDir   *widget.Button
	folderEmpty *widget.Label

	sess *session
	// officersChanged is called after an officer is enrolled or removed.
	officersChanged func()
	policyText      *widget.Label
	officers        []app.Officer
	officerSel      int
	officerList     *widget.List
	removeOfficer   *widget.Button
	officerEmpty    *widget.Label

	content fyne.CanvasObject
}

// mono is a label in a monospace font: fingerprints and hashes, where l
// and I must not look alike.
func mono(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.TextStyle = fyne.TextStyle{Monospace: true}
	return l
}

func newStationScreen(st *app.Station, w fyne.Window) *stationScreen {
	s := &stationScreen{st: st, win: w, sess: newSession(st, w), selected: -1, folderSel: -1, officerSel: -1}
	card := st.Card()
	cardText := mono(strings.TrimSpace(string(card.Marshal())))
	cardText.Wrapping = fyne.TextWrapBreak
	cardScroll := container.NewVScroll(cardText)
	cardScroll.SetMinSize(fyne.NewSize(0, 110)) // a post-quantum card is long: it scrolls
	s.feedback = widget.NewLabel("")
	qr := widget.NewButtonWithIcon("QR code", theme.VisibilityIcon(), s.showQR)
	copyCard := widget.NewButtonWithIcon("Copy", theme.ContentCopyIcon(), func() {
		fyne.CurrentApp().Clipboard().SetContent(string(card.Marshal()))
		s.feedback.SetText("Card copied to the clipboard.")
	})
	saveCard := widget.NewButtonWithIcon("Save to file…", theme.DocumentSaveIcon(), s.saveCard)

	s.list = widget.NewList(
		func() int { return len(s.trusted) },
		func() fyne.CanvasObject { return mono("name\nSHA256:") },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			c := s.trusted[i]
			kind := encryptionKind(c.Recipient)
			if c.Role == crypto.RoleRelease {
				kind = "release key, trusted for updates only"
			}
			o.(*widget.Label).SetText(c.Name + " — " + kind + "\n" + c.SigningFingerprint())
		})
	s.list.OnSelected = func(i widget.ListItemID) { s.selected = i; enable(s.remove, true) }
	s.list.OnUnselected = func(widget.ListItemID) { s.selected = -1; enable(s.remove, false) }
	importBtn := widget.NewButtonWithIcon("Import card file…", theme.ContentAddIcon(), s.pickCard)
	paste := widget.NewButtonWithIcon("Paste card…", theme.ContentPasteIcon(), s.pasteCard)
	s.remove = widget.NewButtonWithIcon("Remove…", theme.DeleteIcon(), s.askRemove)
	s.remove.Disable()
	s.empty = widget.NewLabel("No trusted stations yet. Import another station's card (a .card file, or paste its text) to send to it or receive from it.")
	s.empty.Wrapping = fyne.TextWrapWord

	s.folderList = widget.NewList(func() int { return len(s.folders) },
		func() fyne.CanvasObject { return widget.NewLabel("") },
		func(i widget.ListItemID, o fyne.CanvasObject) { o.(*widget.Label).SetText(safetext.Line(s.folders[i])) })
	s.folderList.OnSelected = func(i widget.ListItemID) { s.folderSel = i; enable(s.removeDir, true) }
	s.folderList.OnUnselected = func(widget.ListItemID) { s.folderSel = -1; enable(s.removeDir, false) }
	s.folderPath = widget.NewEntry()
	s.folderPath.SetPlaceHolder("type a full path, then Enter")
	s.folderPath.OnSubmitted = func(p string) { s.addFolder(strings.TrimSpace(p)) }
	chooseDir := widget.NewButtonWithIcon("Folder…", theme.FolderOpenIcon(), func() { pickFolderFor(w, "release", s.addFolder) })
	s.removeDir = widget.NewButtonWithIcon("Remove", theme.DeleteIcon(), s.removeFolder)
	s.removeDir.Disable()
	s.folderEmpty = widget.NewLabel("None set: the Receive screen cannot release anything until a folder on this station's own disk is added here. Removable drives are refused.")
	s.folderEmpty.Wrapping = fyne.TextWrapWord

	header := widget.NewLabelWithStyle("Station "+st.Name, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	facts := widget.NewForm(
		widget.NewFormItem("Home", widget.NewLabel(safetext.Line(st.Home))),
		widget.NewFormItem("Signing key", mono(card.SigningFingerprint())),
		widget.NewFormItem("Encryption", widget.NewLabel(encryptionKind(card.Recipient))),
	)
	folderBox := container.NewBorder(container.NewBorder(nil, nil, nil, container.NewHBox(chooseDir, s.removeDir), s.folderPath), s.folderEmpty, nil, nil, s.folderList)
	folderStack := container.NewStack(folderBox)
	s.policyText = widget.NewLabel(policySummary(st.Policy))
	s.policyText.Wrapping = fyne.TextWrapWord
	editBtn := widget.NewButtonWithIcon("Edit policy…", theme.DocumentCreateIcon(), func() { editPolicy(st, s.sess, w, s.reloadPolicy) })
	s.officerList = widget.NewList(func() int { return len(s.officers) },
		func() fyne.CanvasObject { return mono("name — SHA256:") },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			o.(*widget.Label).SetText(safetext.Line(s.officers[i].Name) + " — " + s.officers[i].Fingerprint)
		})
	s.officerList.OnSelected = func(i widget.ListItemID) { s.officerSel = i; enable(s.removeOfficer, true) }
	s.officerList.OnUnselected = func(widget.ListItemID) { s.officerSel = -1; enable(s.removeOfficer, false) }
	addOfficer := widget.NewButtonWithIcon("Enroll officer…", theme.ContentAddIcon(), s.askEnroll)
	s.removeOfficer = widget.NewButtonWithIcon("Remove…", theme.DeleteIcon(), s.askRemoveOfficer)
	s.removeOfficer.Disable()
	s.officerEmpty = widget.NewLabel("No officer enrolled: records name the OS user, and decisions need no signature.")
	s.officerEmpty.Wrapping = fyne.TextWrapWord
	left := container.NewVScroll(container.NewVBox(header, facts,
		widget.NewCard("Public card", "Give this to other stations; they compare the signing key with the one shown here",
			container.NewVBox(cardScroll, container.NewHBox(qr, copyCard, saveCard), s.feedback)),
		widget.NewCard("Policy", "What this station holds, scans and needs approved", container.NewVBox(s.policyText, container.NewHBox(editBtn))),
		widget.NewCard("Officers", "Each signs in with their own key; approvals are signed",
			container.NewBorder(container.NewHBox(addOfficer, s.removeOfficer), s.officerEmpty, nil, nil, withMinHeight(s.officerList, 90))),
		newUpdatesCard(st, s.sess, w).card,
		diodeCard(st, func() *app.Station { return s.sess.acting() }, w, s.feedback),
	))
	kiosk := widget.NewCheck("Kiosk mode from the next start", nil)
	kioskHelp := widget.NewLabel("Full screen with only Receive and the custody log; undo with sluice desktop kiosk off.")
	kioskHelp.Wrapping = fyne.TextWrapWord
	if d, err := st.DesktopSettings(); err == nil {
		kiosk.Checked = d.Kiosk
	}
	kiosk.OnChanged = func(on bool) {
		if err := s.sess.acting().SetKiosk(on); err != nil {
			showError(err, w)
		}
	}
	releases := widget.NewCard("Release folders", "Where the Receive screen releases bundles",
		container.NewBorder(nil, container.NewVBox(kiosk, kioskHelp), nil, nil, withMinHeight(folderStack, 170)))
	trust := widget.NewCard("Trusted stations", "", container.NewBorder(container.NewHBox(importBtn, paste, s.remove), s.empty, nil, nil, s.list))
	right := container.NewBorder(releases, nil, nil, nil, trust)
	split := container.NewHSplit(left, right)
	split.Offset = 0.45
	s.content = split
	s.reload()
	s.reloadFolders()
	s.reloadOfficers()
	return s
}

// reloadPolicy reads the policy again after it changed (installed here,
// by sluice policy install, or edited by hand) and shows it; a file with
// a mistake leaves the policy in force and says so.
func (s *stationScreen) reloadPolicy() {
	if err := s.st.ReloadPolicy(); err != nil {
		s.policyText.SetText(policySummary(s.st.Policy) + "\n" + safetext.Line(err.Error()) + " — the policy loaded before stays in force.")
		return
	}
	s.policyText.SetText(policySummary(s.st.Policy))
}

func (s *stationScreen) reloadOfficers() {
	list, err := s.st.Officers()
	if err != nil {
		s.officerEmpty.SetText("The officers cannot be read: " + safetext.Line(err.Error()))
		s.officerEmpty.Show()
		return
	}
	s.officers, s.officerSel = list, -1
	s.officerList.UnselectAll()
	s.removeOfficer.Disable()
	showIf(s.officerEmpty, len(list) == 0)
	s.officerList.Refresh()
	if s.officersChanged != nil {
		s.officersChanged()
	}
}

// askEnroll enrolls an officer with a passphrase typed twice; the key is
// made and kept encrypted by app.AddOfficer, which records it.
func (s *stationScreen) askEnroll() {
	name, pass, again := widget.NewEntry(), widget.NewPasswordEntry(), widget.NewPasswordEntry()
	name.SetPlaceHolder("letters, digits, - and _")
	d := dialog.NewForm("Enroll an officer", "Enroll", "Back", []*widget.FormItem{
		widget.NewFormItem("Name", name), widget.NewFormItem("Passphrase", pass), widget.NewFormItem("Again", again),
	}, func(ok bool) {
		if !ok {
			return
		}
		if pass.Text != again.Text {
			showError(fmt.Errorf("the passphrases differ; enroll again"), s.win)
			return
		}
		n, secret := strings.TrimSpace(name.Text), []byte(pass.Text)
		s.sess.asQuorum("enroll an officer", app.ChangeEnroll, func(acting *app.Station, others []*app.SignedIn) {
			go func() {
				o, err := acting.AddOfficer(n, secret, others...) // scrypt: about a second
				onUI(func() {
					if err != nil {
						showError(err, s.win)
						return
					}
					s.reloadOfficers()
					s.feedback.SetText("Enrolled officer " + safetext.Line(o.Name) + ", signing key " + o.Fingerprint + ".")
				})
			}()
		})
	}, s.win)
	d.Resize(fyne.NewSize(440, d.MinSize().Height))
	d.Show()
	s.win.Canvas().Focus(name)
}

func (s *stationScreen) askRemoveOfficer() {
	if s.officerSel < 0 || s.officerSel >= len(s.officers) {
		return
	}
	o := s.officers[s.officerSel]
	dialog.ShowConfirm("Remove officer "+o.Name+"?",
		"Their key is deleted and their approvals stop counting. The removal is recorded in the custody log.", func(ok bool) {
			if !ok {
				return
			}
			s.sess.asQuorum("remove an officer", app.ChangeRemove, func(acting *app.Station, others []*app.SignedIn) {
				if err := acting.RemoveOfficer(o.Name, others...); err != nil {
					showError(err, s.win)
				}
				s.reloadOfficers() // signs out the officer removed, if signed in
			})
		}, s.win)
}

// withMinHeight gives o at least h of height in a VBox or Border.
func withMinHeight(o fyne.CanvasObject, h float32) fyne.CanvasObject {
	spacer := canvas.NewRectangle(nil)
	spacer.SetMinSize(fyne.NewSize(0, h))
	return container.NewStack(spacer, o)
}

func (s *stationScreen) reload() {
	cards, err := s.st.TrustList()
	if err != nil {
		s.empty.SetText("The trust store cannot be read: " + safetext.Line(err.Error()))
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

func (s *stationScreen) reloadFolders() {
	folders, err := s.st.ReleaseFolders()
	if err != nil {
		s.folderEmpty.SetText("The release folders cannot be read: " + safetext.Line(err.Error()))
		s.folderEmpty.Show()
		return
	}
	s.folders, s.folderSel = folders, -1
	s.folderList.UnselectAll()
	s.removeDir.Disable()
	showIf(s.folderEmpty, len(folders) == 0)
	s.folderList.Refresh()
}

// addFolder adds a release folder after the app has checked it (a folder on
// this station's own disk).
func (s *stationScreen) addFolder(dir string) {
	if dir == "" {
		return
	}
	for _, f := range s.folders {
		if f == filepath.Clean(dir) {
			return
		}
	}
	if err := s.sess.acting().SetReleaseFolders(append(append([]string(nil), s.folders...), dir)); err != nil {
		showError(err, s.win)
		return
	}
	s.folderPath.SetText("")
	s.reloadFolders()
}

func (s *stationScreen) removeFolder() {
	if s.folderSel < 0 || s.folderSel >= len(s.folders) {
		return
	}
	keep := append(append([]string(nil), s.folders[:s.folderSel]...), s.folders[s.folderSel+1:]...)
	if err := s.sess.acting().SetReleaseFolders(keep); err != nil {
		showError(err, s.win)
		return
	}
	s.reloadFolders()
}

func (s *stationScreen) saveCard() {
	home, _ := os.UserHomeDir()
	askSavePath(s.win, "Save this station's card", "card", filepath.Join(home, s.st.Name+".card"), nil, func(path string) (string, error) {
		if err := durable.WriteFile(path, s.st.Card().Marshal(), 0o644); err != nil {
			return "", err
		}
		return "Card of " + s.st.Name + " saved to " + path, nil
	})
}

func (s *stationScreen) pickCard() {
	pickFile(s.win, "card", func(path string) {
		text, err := textfile.ReadFile(path, crypto.MaxCardSize)
		if err != nil {
			showError(fmt.Errorf("read card: %w", err), s.win)
			return
		}
		s.importCard(text)
	})
}

// pasteCard imports a card pasted as text (from a chat, a mail, a QR
// reader).
func (s *stationScreen) pasteCard() {
	text := widget.NewMultiLineEntry()
	text.SetPlaceHolder("sluice-card/1 …")
	text.SetMinRowsVisible(8)
	text.Wrapping = fyne.TextWrapBreak
	d := dialog.NewForm("Paste a station's card", "Check", "Cancel", []*widget.FormItem{widget.NewFormItem("Card", text)}, func(ok bool) {
		if !ok || strings.TrimSpace(text.Text) == "" {
			return
		}
		b, err := textfile.Normalize("the pasted card", []byte(text.Text))
		if err != nil {
			showError(err, s.win)
			return
		}
		s.importCard(b)
	}, s.win)
	d.Resize(fyne.NewSize(min(680, s.win.Canvas().Size().Width*0.9), 0))
	d.Show()
	s.win.Canvas().Focus(text)
}

// importCard trusts the station on a card, after the technician has
// compared its fingerprint with the one the other station shows.
func (s *stationScreen) importCard(text []byte) {
	c, err := crypto.ParseCard(text)
	if err != nil {
		showError(fmt.Errorf("that is not a usable station card: %w", err), s.win)
		return
	}
	if c.SameKeys(s.st.Card()) {
		showError(fmt.Errorf("that card is this station's own (%s); import the other station's card", s.st.Name), s.win)
		return
	}
	intro := widget.NewLabel(fmt.Sprintf("Trust station %s? Compare the signing key below with the one shown on %s's Station screen before you trust it.", c.Name, c.Name))
	title, add := "Trust a station", s.sess.acting().TrustAdd
	if c.Role == crypto.RoleRelease {
		intro.SetText(fmt.Sprintf("Trust release key %s to sign updates of Sluice and of its scanner's signatures, and nothing else? Compare the signing key below with the one its keeper gives you.", c.Name))
		title, add = "Trust a release key", s.sess.acting().TrustAddRelease
	}
	intro.Wrapping = fyne.TextWrapWord
	form := widget.NewForm(
		widget.NewFormItem("Name", widget.NewLabel(c.Name)),
		widget.NewFormItem("Signing key", mono(c.SigningFingerprint())),
		widget.NewFormItem("Encryption", widget.NewLabel(encryptionKind(c.Recipient))),
	)
	d := dialog.NewCustomConfirm(title, "Trust", "Cancel", container.NewVBox(intro, form), func(ok bool) {
		if !ok {
			return
		}
		if _, err := add(text); err != nil {
			showError(err, s.win)
			return
		}
		s.reload()
	}, s.win)
	d.Resize(fyne.NewSize(min(640, s.win.Canvas().Size().Width*0.9), 0))
	d.Show()
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
			if err := s.sess.acting().TrustRemove(name); err != nil {
				showError(err, s.win)
			}
			s.reload()
		}, s.win)
}

// cardQR renders the card as a QR code. A post-quantum card is about two
// kilobytes, which fits only at the lowest error correction; it is drawn
// as large as the window allows so each module stays several pixels wide.
func cardQR(card crypto.Card, side float32) (*canvas.Image, error) {
	q, err := qrcode.New(string(card.Marshal()), qrcode.Low)
	if err != nil {
		return nil, fmt.Errorf("make QR code: %w", err)
	}
	img := canvas.NewImageFromImage(q.Image(1024))
	img.FillMode = canvas.ImageFillContain
	img.ScaleMode = canvas.ImageScalePixels
	img.SetMinSize(fyne.NewSize(side, side))
	return img, nil
}

func (s *stationScreen) showQR() {
	size := s.win.Canvas().Size()
	side := max(320, min(size.Width, size.Height)-200)
	img, err := cardQR(s.st.Card(), side)
	if err != nil {
		showError(err, s.win)
		return
	}
	dialog.ShowCustom("Card of "+s.st.Name, "Close", container.NewVBox(img,
		mono("Signing key "+s.st.Card().SigningFingerprint())), s.win)
}
