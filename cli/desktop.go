package cli

import (
	"fmt"
	"path/filepath"

	"sluice/app"
	"sluice/internal/safetext"
)

// runDesktop shows and sets the desktop app's settings, for a technician
// at a kiosk whose app opens in kiosk mode (and so without its Station
// screen).
func runDesktop(e *env, args []string) error {
	fs := e.flags("desktop")
	sendTo := fs.String("send-to", "", "desktop diode: the receiver's `HOST:PORT` the Send screen sends to")
	rate := fs.String("rate", "100M", "desktop diode: the wire `RATE` the Send screen sends at (800M, 1G)")
	parity := fs.String("parity", "20%", "desktop diode: the parity per pass, as a share of the data (`PERCENT`)")
	listen := fs.String("listen", "", "desktop diode: the `HOST:PORT` the Receive screen listens on")
	inbox := fs.String("inbox", "", "desktop diode: the `DIR` what arrives is kept in")
	pos, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	usage := usagef("usage: sluice desktop show · desktop kiosk on|off · desktop release add|remove DIR · desktop diode [--send-to HOST:PORT --rate R --parity P] [--listen HOST:PORT --inbox DIR]")
	if len(pos) == 0 {
		return usage
	}
	st, err := e.station()
	if err != nil {
		return err
	}
	d, err := st.DesktopSettings()
	if err != nil {
		return err
	}
	switch {
	case pos[0] == "show" && len(pos) == 1:
		fmt.Fprintf(e.stdout, "kiosk mode       %s\n", verdict(d.Kiosk, "on (Receive and the custody log only, full screen)", "off"))
		if len(d.ReleaseFolders) == 0 {
			fmt.Fprintln(e.stdout, "release folders  none (the Receive screen cannot release until one is added)")
		}
		for i, f := range d.ReleaseFolders {
			label := "release folders"
			if i > 0 {
				label = ""
			}
			fmt.Fprintf(e.stdout, "%-16s %s\n", label, safetext.Line(f))
		}
		if dd := d.Diode; dd.SendTo != "" {
			fmt.Fprintf(e.stdout, "diode send       to %s at %s, parity %s\n", safetext.Line(dd.SendTo), safetext.Line(dd.Rate), safetext.Line(dd.Parity))
		}
		if dd := d.Diode; dd.Listen != "" {
			fmt.Fprintf(e.stdout, "diode receive    on %s into %s\n", safetext.Line(dd.Listen), safetext.Line(dd.Inbox))
		}
		return nil
	case pos[0] == "diode" && len(pos) == 1:
		in := *inbox
		if in != "" {
			if in, err = filepath.Abs(in); err != nil {
				return err
			}
		}
		ds := app.DiodeSettings{SendTo: *sendTo, Listen: *listen, Inbox: in}
		if ds.SendTo != "" {
			ds.Rate, ds.Parity = *rate, *parity
		}
		if err := st.SetDiode(ds); err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, "Diode link saved; the desktop app uses it from its next start")
		return nil
	case pos[0] == "kiosk" && len(pos) == 2 && (pos[1] == "on" || pos[1] == "off"):
		if err := st.SetKiosk(pos[1] == "on"); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Kiosk mode %s from the desktop app's next start\n", pos[1])
		return nil
	case pos[0] == "release" && len(pos) == 3 && (pos[1] == "add" || pos[1] == "remove"):
		dir, err := filepath.Abs(pos[2])
		if err != nil {
			return err
		}
		var folders []string
		for _, f := range d.ReleaseFolders {
			if f != dir {
				folders = append(folders, f)
			}
		}
		if pos[1] == "add" {
			folders = append(folders, dir)
		} else if len(folders) == len(d.ReleaseFolders) {
			return fmt.Errorf("%s is not a release folder of this station", safetext.Line(dir))
		}
		if err := st.SetReleaseFolders(folders); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Release folders: %d\n", len(folders))
		return nil
	}
	return usage
}
