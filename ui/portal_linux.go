package ui

import (
	"strings"
	"sync"

	"github.com/godbus/dbus/v5"
	"github.com/rymdport/portal/filechooser"
)

// portalAvailable reports whether the desktop's own file chooser can be
// asked for through xdg-desktop-portal (a session bus where
// org.freedesktop.portal.Desktop runs). Checked once.
var portalAvailable = sync.OnceValue(func() bool {
	conn, err := dbus.SessionBus()
	if err != nil {
		return false
	}
	var has bool
	err = conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, "org.freedesktop.portal.Desktop").Store(&has)
	return err == nil && has
})

// portalPick shows the desktop's file chooser and returns the chosen
// paths (none when the officer cancels). It blocks until then: call it off
// the UI thread.
func portalPick(title string, folders, multiple bool, start string) ([]string, error) {
	uris, err := filechooser.OpenFile("", title, &filechooser.OpenFileOptions{
		Directory: folders, Multiple: multiple, CurrentFolder: start, AcceptLabel: "Choose",
	})
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, u := range uris {
		if p, ok := strings.CutPrefix(u, "file://"); ok {
			paths = append(paths, p)
		}
	}
	return paths, nil
}
