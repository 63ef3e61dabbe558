package ui

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"strings"
	"sync"

	"github.com/godbus/dbus/v5"
)

// portalAvailable reports whether the desktop's own file chooser can be
// asked for through xdg-desktop-portal (a session bus where
// org.freedesktop.portal.Desktop runs or can be started). Checked once.
var portalAvailable = sync.OnceValue(func() bool {
	conn, err := dbus.SessionBus()
	if err != nil {
		return false
	}
	var names []string
	if err := conn.BusObject().Call("org.freedesktop.DBus.ListActivatableNames", 0).Store(&names); err == nil {
		for _, n := range names {
			if n == portalName {
				return true
			}
		}
	}
	var has bool
	err = conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, portalName).Store(&has)
	return err == nil && has
})

const (
	portalName   = "org.freedesktop.portal.Desktop"
	portalPath   = dbus.ObjectPath("/org/freedesktop/portal/desktop")
	responseName = "org.freedesktop.portal.Request.Response"
)

// portalPick shows the desktop's file chooser (the FileChooser portal's
// OpenFile, as the portal's documentation describes the request and its
// Response signal) and returns the chosen paths, none when the officer
// cancels. It blocks until then: call it off the UI thread. It talks to the
// portal directly with godbus: the portal package Fyne brings in panics
// when its signal channel closes.
func portalPick(title string, folders, multiple bool, start string) ([]string, error) {
	conn, err := dbus.SessionBus()
	if err != nil {
		return nil, err
	}
	var tok [8]byte
	rand.Read(tok[:])
	token := "sluice" + hex.EncodeToString(tok[:])
	sender := strings.ReplaceAll(strings.TrimPrefix(conn.Names()[0], ":"), ".", "_")
	handle := dbus.ObjectPath(string(portalPath) + "/request/" + sender + "/" + token)
	match := []dbus.MatchOption{dbus.WithMatchInterface("org.freedesktop.portal.Request"), dbus.WithMatchMember("Response")}
	if err := conn.AddMatchSignal(match...); err != nil {
		return nil, err
	}
	defer conn.RemoveMatchSignal(match...)
	signals := make(chan *dbus.Signal, 8)
	conn.Signal(signals)
	defer conn.RemoveSignal(signals)

	opts := map[string]dbus.Variant{
		"handle_token": dbus.MakeVariant(token),
		"modal":        dbus.MakeVariant(true),
		"multiple":     dbus.MakeVariant(multiple),
		"directory":    dbus.MakeVariant(folders),
		"accept_label": dbus.MakeVariant("Choose"),
	}
	if start != "" {
		opts["current_folder"] = dbus.MakeVariant(append([]byte(start), 0))
	}
	var got dbus.ObjectPath
	if err := conn.Object(portalName, portalPath).Call("org.freedesktop.portal.FileChooser.OpenFile", 0, "", title, opts).Store(&got); err != nil {
		return nil, err
	}
	for sig := range signals {
		if sig == nil {
			break
		}
		if sig.Name != responseName || sig.Path != got && sig.Path != handle || len(sig.Body) != 2 {
			continue
		}
		if status, _ := sig.Body[0].(uint32); status != 0 {
			return nil, nil // cancelled, or ended otherwise
		}
		results, _ := sig.Body[1].(map[string]dbus.Variant)
		uris, _ := results["uris"].Value().([]string)
		return pathsOf(uris), nil
	}
	return nil, errors.New("the connection to the desktop portal closed")
}

// pathsOf turns the portal's file:// URIs into paths.
func pathsOf(uris []string) []string {
	var paths []string
	for _, u := range uris {
		if p, err := url.Parse(u); err == nil && p.Scheme == "file" && p.Path != "" {
			paths = append(paths, p.Path)
		}
	}
	return paths
}
