package ui

import (
	"context"
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"github.com/dustin/go-humanize"

	"sluice/internal/safetext"
	"sluice/transfer/media"
)

// watchDrives reports the removable drives to fn on the UI thread, at start
// and whenever one comes or goes, until the window closes.
func watchDrives(w fyne.Window, fn func([]media.Drive)) {
	ctx, cancel := context.WithCancel(context.Background())
	w.SetOnClosed(cancel)
	go media.Watch(ctx, media.Host, time.Second, func(ds []media.Drive) {
		onUI(func() { fn(ds) })
	})
}

// driveChoice is one mounted filesystem an officer can pick.
type driveChoice struct {
	label string
	mount media.Mount
}

func driveChoices(ds []media.Drive) []driveChoice {
	var out []driveChoice
	for _, d := range ds {
		for _, m := range d.Mounts {
			name := safetext.Line(m.Label) // a drive's label is whatever its last writer set
			if name == "" {
				name = safetext.Line(d.Describe())
			}
			free := ""
			if sp, err := media.SpaceOf(m.Point, m.FSType); err == nil && sp.Size > 0 {
				free = fmt.Sprintf(", %s free of %s", humanize.IBytes(uint64(sp.Free)), humanize.IBytes(uint64(sp.Size)))
			}
			ro := ""
			if m.ReadOnly {
				ro = ", read-only"
			}
			out = append(out, driveChoice{label: fmt.Sprintf("%s — %s%s%s (%s)", name, m.FSType, free, ro, m.Point), mount: m})
		}
	}
	return out
}

// pickFolder shows the folder dialog and hands the chosen path to fn.
func pickFolder(w fyne.Window, fn func(path string)) {
	dialog.ShowFolderOpen(func(u fyne.ListableURI, err error) {
		if err == nil && u != nil {
			fn(u.Path())
		}
	}, w)
}
