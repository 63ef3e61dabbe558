package ui

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
	"github.com/dustin/go-humanize"

	"sluice/app"
	"sluice/internal/safetext"
	"sluice/transfer/diode"
)

// diodeDestPrefix marks the Send screen's destination when it is the
// station's diode link rather than a folder.
const diodeDestPrefix = "Diode link to "

// diodeChoice is the Send screen's destination label for the diode link,
// or "" when the station sends through none.
func diodeChoice(st *app.Station) string {
	d, err := st.DesktopSettings()
	if err != nil || d.Diode.SendTo == "" {
		return ""
	}
	return diodeDestPrefix + d.Diode.SendTo
}

// sendThroughDiode seals and sends through the station's diode link
// (app.SealForDiode); on the UI thread, done gets the bundle's folder, the
// report and the error.
func (s *sendScreen) sendThroughDiode(ctx context.Context, st *app.Station, req app.PackRequest,
	done func(sealed string, rep *diode.SendReport, err error)) {
	update := s.meter.update()
	sealed, rep, err := st.SealForDiode(ctx, req, func(to string) {
		onUI(func() { s.meter.begin("Sending through the diode to " + to) })
	}, update)
	dir := ""
	if sealed != nil {
		dir = sealed.Dir
	}
	onUI(func() { done(dir, rep, err) })
}

// diodeSentText says what a send through the diode did.
func diodeSentText(dir string, rep *diode.SendReport) string {
	t := fmt.Sprintf("Sealed and sent through the diode: bundle %s, session %s, %s packets at %.0f Mbit/s in %s. Nothing comes back through a diode: the kiosk's custody log says what arrived (log reconcile).\nA copy stays in %s to send again.",
		strings.TrimSuffix(filepath.Base(dir), ".sluice"), rep.Session, humanize.Comma(rep.Packets), rep.Rate()/1e6,
		rep.Finished.Sub(rep.Started).Round(time.Millisecond), dir)
	if rep.SendErrors > 0 {
		t += fmt.Sprintf("\n%s packet(s) were refused by this machine (%s): is the link plugged in?", humanize.Comma(rep.SendErrors), safetext.Line(rep.FirstError))
	}
	return t
}

// runDiodeReceiver listens on the station's diode link, if it has one,
// for as long as ctx: what arrives is listed on the Receive screen (and
// opened when the screen is idle), and the link panel shows rate, loss,
// the last announcement and the bundles under way.
func runDiodeReceiver(ctx context.Context, st *app.Station, r *receiveScreen) {
	d, err := st.DesktopSettings()
	if err != nil || d.Diode.Listen == "" {
		return
	}
	listen, inbox := d.Diode.Listen, d.Diode.Inbox
	onUI(func() {
		r.inbox = inbox
		r.link.SetText("Diode link: listening on " + safetext.Line(listen) + "; nothing received yet.")
		r.link.Show()
		r.listFound()
	})
	var last diode.Stats
	under := map[string]string{} // bundle → "station, N of M blocks"
	go func() {
		err := st.DiodeReceive(ctx, app.DiodeReceiveRequest{Listen: listen, Inbox: inbox, OnEvent: func(e diode.Event) {
			switch e.Kind {
			case diode.EventStats:
				last = *e.Stats
			case diode.EventAnnounced:
				under[e.Bundle] = fmt.Sprintf("%s from %s", e.Bundle, safetext.Line(e.Station))
			case diode.EventComplete, diode.EventDuplicate, diode.EventIncomplete, diode.EventError:
				delete(under, e.Bundle)
			default:
				return
			}
			text := linkText(listen, last, under)
			path := ""
			if e.Kind == diode.EventComplete {
				path = e.Path
			}
			onUI(func() {
				r.link.SetText(text)
				if path != "" {
					r.arrived(path)
				}
			})
		}})
		if err != nil && ctx.Err() == nil {
			onUI(func() {
				r.link.SetText("Diode link on " + safetext.Line(listen) + " stopped: " + safetext.Line(err.Error()))
			})
		}
	}()
}

// linkText is the link panel's line.
func linkText(listen string, s diode.Stats, under map[string]string) string {
	t := fmt.Sprintf("Diode link on %s: %.0f Mbit/s, loss %.1f%%", listen, s.Rate/1e6, 100*s.Loss)
	if w := app.DiodeBufferWarning(s); w != "" {
		t = "⚠ " + w + "\n" + t
	}
	if !s.LastAnnouncement.IsZero() {
		t += fmt.Sprintf(", last announcement %s ago", time.Since(s.LastAnnouncement).Round(time.Second))
	}
	if dropped := s.BadTag + s.Malformed + s.Untrusted + s.HashMismatch; dropped > 0 {
		t += fmt.Sprintf(", %s packet(s) dropped (damaged or untrusted)", humanize.Comma(int64(dropped)))
	}
	if len(under) > 0 {
		var bs []string
		for _, b := range under {
			bs = append(bs, b)
		}
		t += fmt.Sprintf("; arriving: %s (%d of %d blocks)", strings.Join(bs, ", "), s.BlocksDone, s.BlocksTotal)
	}
	return t
}

// arrived lists a bundle that came through the diode, and opens it when
// the screen is idle, so the officer sees who sent what at once.
func (r *receiveScreen) arrived(dir string) {
	r.listFound()
	if r.dir == "" && !r.busy() {
		r.openBundle(dir)
	}
}

// diodeCard is the Station screen's diode link: where Send sends, and
// where Receive listens and keeps what arrives; saved through
// app.SetDiode (checked, recorded).
func diodeCard(st *app.Station, acting func() *app.Station, w fyne.Window, feedback *widget.Label) fyne.CanvasObject {
	d, _ := st.DesktopSettings()
	sendTo, rate, parity := widget.NewEntry(), widget.NewEntry(), widget.NewEntry()
	listen, inbox := widget.NewEntry(), widget.NewEntry()
	sendTo.SetPlaceHolder("HOST:PORT of the receiver, or empty")
	rate.SetPlaceHolder("100M")
	parity.SetPlaceHolder("20%")
	listen.SetPlaceHolder("HOST:PORT to listen on, or empty")
	inbox.SetPlaceHolder("full path of the inbox folder")
	sendTo.SetText(d.Diode.SendTo)
	rate.SetText(d.Diode.Rate)
	parity.SetText(d.Diode.Parity)
	listen.SetText(d.Diode.Listen)
	inbox.SetText(d.Diode.Inbox)
	save := widget.NewButtonWithIcon("Save", theme.DocumentSaveIcon(), func() {
		ds := app.DiodeSettings{SendTo: strings.TrimSpace(sendTo.Text), Rate: strings.TrimSpace(rate.Text), Parity: strings.TrimSpace(parity.Text),
			Listen: strings.TrimSpace(listen.Text), Inbox: strings.TrimSpace(inbox.Text)}
		if ds.SendTo != "" && ds.Rate == "" {
			ds.Rate = "100M"
		}
		if ds.SendTo != "" && ds.Parity == "" {
			ds.Parity = "20%"
		}
		if err := acting().SetDiode(ds); err != nil {
			showError(err, w)
			return
		}
		feedback.SetText("Diode link saved and recorded; receiving starts at the app's next start.")
	})
	form := widget.NewForm(
		widget.NewFormItem("Send to", sendTo), widget.NewFormItem("Rate", rate), widget.NewFormItem("Parity", parity),
		widget.NewFormItem("Listen on", listen), widget.NewFormItem("Inbox", inbox))
	return widget.NewCard("Diode link", "One way: Send sends there; Receive listens here", container.NewVBox(form, container.NewHBox(save)))
}
