package ui

import (
	"errors"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"

	"sluice/internal/safetext"
)

// onUI runs f on Fyne's UI thread. Workers (hashing, sealing, receiving,
// verifying) change widgets only through it, and only from throttled
// callbacks, never once per read. Tests replace it with a queue they drain
// on the test goroutine, which is their UI thread.
var onUI = fyne.Do

// showError shows err in a dialog with the characters safetext escapes
// escaped: error messages quote names, notes and reasons from bundles,
// cards and drives.
func showError(err error, w fyne.Window) {
	dialog.ShowError(errors.New(safetext.Line(err.Error())), w)
}
