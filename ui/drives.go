package ui

import (
	"context"
	"fmt"
	"time"

	"github.com/dustin/go-humanize"

	"sluice/app"
	"sluice/internal/safetext"
	"sluice/transfer/media"
)

// watchDrives reports the removable drives to fn on the UI thread, at start
// and whenever one comes or goes, until ctx ends (the window closes).
func watchDrives(ctx context.Context, fn func([]media.Drive)) {
	go media.Watch(ctx, media.Host, time.Second, func(ds []media.Drive) {
		onUI(func() { fn(ds) })
	})
}

// watchStation reports changes to the station (cards imported, records
// appended, settings changed, by this window, another one or the CLI) to
// fn on the UI thread until ctx ends: no screen needs a restart
// or a Reload button.
func watchStation(ctx context.Context, st *app.Station, fn func(app.Change)) {
	go st.Watch(ctx, time.Second, func(c app.Change) { onUI(func() { fn(c) }) })
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
