// Package ui holds Sluice's Fyne screens and nothing else: every decision is
// made by package app, which the CLI calls too. ui never imports
// fyne.io/fyne/v2/app, so its tests run headless without cgo; only main
// wires the real application.
package ui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"sluice/app"
	"sluice/crypto"
	"sluice/transfer/media"
)

// HasDisplay reports whether a graphical session is available, and if not,
// why. On Linux that needs DISPLAY or WAYLAND_DISPLAY.
func HasDisplay() (bool, string) {
	if runtime.GOOS != "linux" {
		return true, ""
	}
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		return false, "no display found (neither DISPLAY nor WAYLAND_DISPLAY is set)"
	}
	return true, ""
}

// Options shape the window.
type Options struct {
	// Kiosk shows only what a receiving kiosk's officer needs: the
	// Receive flow and the custody log; sending and the station's settings
	// (trust, release folders) are not reachable from it.
	Kiosk bool
}

// Create builds the main window's content for the station in home: the
// screens as tabs, or, when there is no station yet, the wizard that
// creates one.
func Create(a fyne.App, w fyne.Window, home string, opts ...Options) fyne.CanvasObject {
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	st, err := app.Load(home)
	if errors.Is(err, app.ErrNoStation) && !o.Kiosk {
		return newWizard(home, w, func(st *app.Station) { w.SetContent(tabs(st, w, o)) }).content
	}
	if err != nil {
		return noStation(home, err)
	}
	if d, err := st.DesktopSettings(); err == nil && d.Kiosk {
		o.Kiosk = true // the technician set it (Station screen, or sluice desktop kiosk on)
	}
	return tabs(st, w, o)
}

// tabs builds the four screens. Alt+1…4 switch between them and
// Ctrl+Enter presses the shown screen's primary button (Seal and write,
// Verify and release, Verify log) when it is enabled, so every action is
// reachable without a mouse; inside a screen Tab moves the focus and Space
// presses the focused button.
func tabs(st *app.Station, w fyne.Window, o Options) fyne.CanvasObject {
	return newScreens(st, w, o).content
}

// screens are one station window's screens, wired to each other and to
// the station's changes.
type screens struct {
	send    *sendScreen
	recv    *receiveScreen
	log     *logScreen
	station *stationScreen
	tabs    *container.AppTabs
	sess    *session
	// content is the window's content: the tabs and the officer bar.
	content fyne.CanvasObject
}

func newScreens(st *app.Station, w fyne.Window, o Options) *screens {
	send, recv, log, station := newSendScreen(st, w), newReceiveScreen(st, w), newLogScreen(st, w), newStationScreen(st, w)
	sess := newSession(st, w)
	send.sess, recv.sess, station.sess = sess, sess, sess
	station.officersChanged = sess.refresh
	w.SetTitle("Sluice — station " + st.Name)
	st.CleanQuarantines()
	t := container.NewAppTabs(
		container.NewTabItemWithIcon("Send", theme.UploadIcon(), send.content),
		container.NewTabItemWithIcon("Receive", theme.DownloadIcon(), recv.content),
		container.NewTabItemWithIcon("Custody log", theme.ListIcon(), log.content),
		container.NewTabItemWithIcon("Station", theme.SettingsIcon(), station.content),
	)
	primary := []*widget.Button{send.seal, recv.release, log.verifyBtn, nil}
	if o.Kiosk {
		w.SetTitle("Sluice kiosk — station " + st.Name)
		w.SetFullScreen(true)
		t = container.NewAppTabs(
			container.NewTabItemWithIcon("Receive", theme.DownloadIcon(), recv.content),
			container.NewTabItemWithIcon("Custody log", theme.ListIcon(), log.content),
		)
		primary = primary[1:3]
	}
	send.goStation = func() { t.SelectIndex(3) }
	ctx, cancel := context.WithCancel(context.Background())
	w.SetOnClosed(cancel)
	sess.watch(ctx.Done())
	runDiodeReceiver(ctx, st, recv)
	watchStation(ctx, st, func(c app.Change) {
		if c.Trust {
			send.loadRecipients()
			station.reload()
			recv.reinspect()
		}
		if c.Settings {
			recv.loadDests()
			station.reloadFolders()
			send.setDrives(send.lastDrives) // the diode link may have changed
		}
		if c.Settings {
			station.reloadPolicy() // policy install, or the technician's editor
			recv.reinspect()
		}
		if c.Log {
			log.reload()
			station.reloadOfficers() // enrolled or removed elsewhere: recorded
		}
	})
	for i := range t.Items {
		key := fyne.KeyName(fmt.Sprint(i + 1))
		w.Canvas().AddShortcut(&desktop.CustomShortcut{KeyName: key, Modifier: fyne.KeyModifierAlt}, func(fyne.Shortcut) { t.SelectIndex(i) })
	}
	watchDrives(ctx, func(ds []media.Drive) {
		send.setDrives(ds)
		recv.setDrives(ds)
	})
	w.Canvas().AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyReturn, Modifier: fyne.KeyModifierShortcutDefault}, func(fyne.Shortcut) {
		if b := primary[t.SelectedIndex()]; b != nil && !b.Disabled() {
			b.OnTapped()
		}
	})
	// Who is signed in, at the right of the tab bar (shown once officers
	// are enrolled); the bar's empty part lets clicks through to the tabs.
	top := container.NewStack(t, container.NewVBox(container.NewHBox(layout.NewSpacer(), sess.bar)))
	return &screens{send: send, recv: recv, log: log, station: station, tabs: t, sess: sess, content: top}
}

func encryptionKind(recipient string) string {
	if crypto.IsPostQuantum(recipient) {
		return "post-quantum hybrid (ML-KEM-768 + X25519)"
	}
	return "X25519"
}

func noStation(home string, err error) fyne.CanvasObject {
	msg := "This computer has no Sluice station yet.\n\nCreate one from a terminal:\n\n    sluice --home " + home + " init --name NAME"
	if !errors.Is(err, app.ErrNoStation) {
		msg = "The station in " + home + " cannot be opened:\n\n" + err.Error()
	}
	l := widget.NewLabel(msg)
	l.Wrapping = fyne.TextWrapWord
	return container.NewCenter(container.NewVBox(widget.NewIcon(theme.InfoIcon()), l))
}
