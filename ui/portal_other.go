//go:build !linux

package ui

import "errors"

// The desktop's own chooser is asked for through xdg-desktop-portal on
// Linux only; elsewhere Fyne's dialog is used.
func portalAvailable() bool { return false }

func portalPick(string, bool, bool, string) ([]string, error) {
	return nil, errors.New("no desktop portal here")
}
