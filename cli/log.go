package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dustin/go-humanize"
	"golang.org/x/mod/sumdb/note"

	"sluice/app"
	"sluice/crypto"
	"sluice/internal/durable"
	"sluice/internal/safetext"
	"sluice/internal/textfile"
	"sluice/transfer/custody"
)

func runLog(e *env, args []string) error {
	if len(args) == 0 {
		return usagef("usage: sluice log show|verify|recover|export|checkpoint|reconcile|forward; see sluice help log")
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "show":
		return logShow(e, args)
	case "verify":
		return logVerify(e, args)
	case "recover":
		return logRecover(e, args)
	case "export":
		return logExport(e, args)
	case "checkpoint":
		return logCheckpoint(e, args)
	case "reconcile":
		return logReconcile(e, args)
	case "forward":
		return logForward(e, args)
	}
	return usagef("unknown log command %q: use show, verify, recover, export, checkpoint, reconcile or forward", sub)
}

// logForward: sluice log forward --to tcp://HOST:PORT|tls://HOST:PORT.
// Sends the records the collector has not had yet, as syslog; run it from
// a timer (systemd, cron) for a SIEM that follows the log.
func logForward(e *env, args []string) error {
	fs := e.flags("log forward")
	to := fs.String("to", "", "the SIEM's syslog collector: `tcp://HOST:PORT`, or tls://HOST:PORT (RFC 5425, usually port 6514)")
	maxMessage := fs.Int("max-message", custody.DefaultMaxMessage, "the longest message the collector takes, in `BYTES` (rsyslog: maxMessageSize, 8 KiB by default); a longer record is sent as its sequence number, event and hash")
	pos, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	if *to == "" || len(pos) != 0 {
		return usagef("usage: sluice log forward --to tcp://HOST:PORT")
	}
	st, err := e.station()
	if err != nil {
		return err
	}
	f, err := st.ForwardLog(e.ctx, *to, *maxMessage)
	if f != nil && f.Records > 0 {
		fmt.Fprintf(e.stdout, "forwarded %s records to %s (all before record %s have been sent)\n", humanize.Comma(f.Records), f.To, humanize.Comma(f.Next))
	} else if err == nil {
		fmt.Fprintf(e.stdout, "nothing new to forward to %s (all %s records have been sent)\n", f.To, humanize.Comma(f.Next))
	}
	return err
}

// filter selects records for show and export.
type filter struct {
	since         time.Time
	sinceText     string
	bundle, event string
	// reached: a record at or after since was seen; every later one is
	// kept, whatever its time (a station's clock set back must not hide
	// what it logged after).
	reached bool
}

func addFilterFlags(fs interface {
	StringVar(*string, string, string, string)
}) *filter {
	f := &filter{}
	fs.StringVar(&f.sinceText, "since", "", "only records from the first one at or after `TIME` on, in the log's order, later ones kept even if the station's clock went back (2026-11-01, an RFC 3339 time, or a duration like 24h for that long ago)")
	fs.StringVar(&f.bundle, "bundle", "", "only records about bundle `ID`")
	fs.StringVar(&f.event, "event", "", "only records of `EVENT` ("+strings.Join(custody.Events, ", ")+")")
	return f
}

func (f *filter) parse() error {
	if f.event != "" {
		known := false
		for _, e := range custody.Events {
			known = known || e == f.event
		}
		if !known {
			return usagef("--event %q is not an event; use one of %s", f.event, strings.Join(custody.Events, ", "))
		}
	}
	if f.sinceText == "" {
		return nil
	}
	if d, err := time.ParseDuration(f.sinceText); err == nil {
		f.since = time.Now().Add(-d)
		return nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02"} {
		if t, err := time.Parse(layout, f.sinceText); err == nil {
			f.since = t
			return nil
		}
	}
	return usagef("--since %q: give a date (2026-11-01), an RFC 3339 time or a duration (24h)", f.sinceText)
}

// match says whether r, the next record in the log's order, is selected.
func (f *filter) match(r custody.Record) bool {
	if !f.since.IsZero() && !f.reached {
		if r.Time.Before(f.since) {
			return false
		}
		f.reached = true
	}
	return (f.bundle == "" || r.Bundle == f.bundle) && (f.event == "" || r.Event == f.event)
}

// logPath picks the log to read: FILE if given, else this station's.
func (e *env) logPath(pos []string) (string, error) {
	if len(pos) > 1 {
		return "", usagef("name at most one log FILE")
	}
	if len(pos) == 1 {
		return pos[0], nil
	}
	st, err := e.station()
	if err != nil {
		return "", err
	}
	return st.CustodyPath, nil
}

func logShow(e *env, args []string) error {
	fs := e.flags("log show")
	asJSON := fs.Bool("json", false, "print one JSON record per line, exactly as logged")
	f := addFilterFlags(fs)
	pos, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	if err := f.parse(); err != nil {
		return err
	}
	path, err := e.logPath(pos)
	if err != nil {
		return err
	}
	if *asJSON {
		out := e.machineOut()
		err := custody.Each(path, func(line []byte, r custody.Record) error {
			if f.match(r) {
				_, err := fmt.Fprintf(out, "%s\n", line)
				return err
			}
			return nil
		})
		if err == nil {
			e.warnTorn(e.stderr, path) // standard output holds only records
		}
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tTIME (UTC)\tWHEN\tEVENT\tSTATION\tOFFICER\tBUNDLE\tPEER\tFILES\tSIZE\tOUTCOME\tREASON")
	n := 0
	err = custody.Each(path, func(_ []byte, r custody.Record) error {
		if !f.match(r) {
			return nil
		}
		n++
		size := ""
		if r.Bytes > 0 {
			size = humanize.IBytes(uint64(r.Bytes))
		}
		files := ""
		if r.Files > 0 {
			files = humanize.Comma(r.Files)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Seq, r.Time.UTC().Format("2006-01-02 15:04:05"), humanize.Time(r.Time),
			dash(r.Event), dash(r.Station), dash(r.Officer), dash(r.Bundle), dash(r.Peer), dash(files), dash(size), dash(r.Outcome), oneLine(r.Reason, 80))
		return nil
	})
	tw.Flush()
	if err != nil {
		return err
	}
	if n == 0 {
		fmt.Fprintln(e.stdout, "No records match.")
	}
	e.warnTorn(e.stdout, path)
	return nil
}

// dash shows a field from a record, a drive or a bundle: "-" when empty,
// escaped (safetext) otherwise, since any of them may come from elsewhere.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return safetext.Line(s)
}

// oneLine shows free text (a reason, a detail) on one line of at most max
// characters, escaped.
func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > max {
		s = string(r[:max]) + "…"
	}
	return safetext.Line(s)
}

// verifierFor returns the checkpoint verifier for the log at path: from a
// card file if given, else from this station and its trust store.
func (e *env) verifierFor(path, cardFile string) (note.Verifier, string, error) {
	name, err := app.LogStation(path)
	if err != nil {
		return nil, "", err
	}
	if cardFile != "" {
		b, err := textfile.ReadFile(cardFile, crypto.MaxCardSize)
		if err != nil {
			return nil, "", fmt.Errorf("read card: %w", err)
		}
		v, cardName, err := app.VerifierFromCard(b)
		if err != nil {
			return nil, "", fmt.Errorf("card %s: %w", cardFile, err)
		}
		if cardName != name {
			return nil, "", fmt.Errorf("%w: the log was written by station %q but the card is %q's", app.ErrRejected, name, cardName)
		}
		return v, name, nil
	}
	st, err := e.station()
	if errors.Is(err, app.ErrNoStation) {
		return nil, "", fmt.Errorf("no station here to vouch for %q's key: pass its card with --card FILE", name)
	}
	if err != nil {
		return nil, "", err
	}
	v, err := st.Verifier(name)
	return v, name, err
}

// logRef resolves the log at path and its writer's verifier (see
// verifierFor for cardFile).
func (e *env) logRef(path, cardFile string) (app.LogRef, error) {
	v, name, err := e.verifierFor(path, cardFile)
	return app.LogRef{Path: path, Station: name, Verifier: v}, err
}

func logVerify(e *env, args []string) error {
	fs := e.flags("log verify")
	var cpFiles []string
	fs.Func("checkpoint", "a checkpoint `FILE` you saved earlier (sluice log checkpoint): prove the log only grew since; repeat it for each you hold (two of one size that differ show a forked log)", func(v string) error {
		cpFiles = append(cpFiles, v)
		return nil
	})
	cardFile := fs.String("card", "", "the card `FILE` of the station that wrote the log (needed on a machine that does not trust it)")
	pos, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	path, err := e.logPath(pos)
	if err != nil {
		return err
	}
	var saved [][]byte
	for _, f := range cpFiles {
		b, err := custody.ReadCheckpointFile(f)
		if err != nil {
			return fmt.Errorf("read checkpoint: %w", err)
		}
		saved = append(saved, b)
	}
	ref, err := e.logRef(path, *cardFile)
	if err != nil {
		return err
	}
	name := ref.Station
	rep, err := app.VerifyLogAgainst(ref, saved)
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("custody log of %s verified: %s records, %d signed checkpoints", name, humanize.Comma(rep.Records), rep.Checkpoints)
	if rep.TornTail > 0 {
		msg = fmt.Sprintf("custody log of %s verified: %s records before a torn last line, %d signed checkpoints", name, humanize.Comma(rep.Records), rep.Checkpoints)
	}
	if rep.Latest != nil {
		msg += fmt.Sprintf(", latest at %s records", humanize.Comma(rep.Latest.Size))
	}
	if saved != nil {
		msg += "; it only grew since your checkpoint"
	}
	fmt.Fprintln(e.stdout, "OK: "+msg)
	if rep.Unsigned > 0 {
		fmt.Fprintf(e.stdout, "NOTE: the last %s records are after the newest signed checkpoint: no signature covers them yet (the station signs one at its next bundle event)\n", humanize.Comma(rep.Unsigned))
	}
	if note := app.TornTailNote(name, rep); note != "" {
		fmt.Fprintln(e.stdout, "WARNING: "+note)
	}
	return nil
}

// logRecover repairs this station's log after a crash: the torn last line
// is moved to a recovery file and a "recovered" record says so.
func logRecover(e *env, args []string) error {
	fs := e.flags("log recover")
	pos, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("usage: sluice log recover (it repairs this station's own log; run it on the station that wrote the log)")
	}
	st, err := e.station()
	if err != nil {
		return err
	}
	r, err := st.RecoverLog()
	if err != nil {
		return err
	}
	if r.TornFile == "" {
		fmt.Fprintf(e.stdout, "The custody log of %s has no torn last line; nothing to recover (%s records).\n", st.Name, humanize.Comma(r.Records))
		return nil
	}
	fmt.Fprintf(e.stdout, "Recovered the custody log of %s: moved its torn last line (%d bytes) to %s and appended record %d (recovered), which names that file; the log now holds %s records. Check it with: sluice log verify\n",
		st.Name, r.TornBytes, r.TornFile, r.Records-1, humanize.Comma(r.Records))
	return nil
}

// warnTorn tells w when the log at path ends in a torn line, which show and
// export leave out because it is not a record.
func (e *env) warnTorn(w io.Writer, path string) {
	if n, err := custody.TornTail(path); err == nil && n > 0 {
		fmt.Fprintf(w, "WARNING: the last line of %s (%d bytes) is torn (an append was cut short by a crash or power cut) and is not shown; it is not tampering. Repair it with sluice log recover on the station that wrote the log.\n", path, n)
	}
}

func logCheckpoint(e *env, args []string) error {
	fs := e.flags("log checkpoint")
	pos, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	path, err := e.logPath(pos)
	if err != nil {
		return err
	}
	b, err := custody.LatestCheckpoint(path)
	if err != nil {
		return err
	}
	_, err = e.stdout.Write(b)
	return err
}

func logExport(e *env, args []string) error {
	fs := e.flags("log export")
	format := fs.String("format", "", "`csv` or `json`")
	out := fs.String("out", "", "write to `FILE` instead of standard output")
	f := addFilterFlags(fs)
	pos, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	if *format != "csv" && *format != "json" {
		return usagef("usage: sluice log export --format csv|json [--out FILE]")
	}
	if err := f.parse(); err != nil {
		return err
	}
	path, err := e.logPath(pos)
	if err != nil {
		return err
	}
	export := func(w io.Writer) error {
		if *format == "csv" {
			return custody.ExportCSV(w, path, f.match)
		}
		return custody.ExportJSON(w, path, f.match)
	}
	if *out != "" {
		// Written beside the target and renamed over it: never a half
		// file, and never blocked on a FIFO at that name.
		err = durable.WriteWith(*out, 0o644, export)
		if err != nil {
			err = fmt.Errorf("export: %w", err)
		}
	} else if *format == "json" {
		err = export(e.machineOut())
	} else {
		// CSV does not escape control characters, as JSON does: to a
		// pipe too it goes through safetext.
		err = export(e.stdout)
	}
	if err == nil {
		e.warnTorn(e.stderr, path)
	}
	return err
}

func logReconcile(e *env, args []string) error {
	fs := e.flags("log reconcile")
	senderCard := fs.String("sender-card", "", "card `FILE` of the sending station, if this station does not trust it")
	kioskCard := fs.String("kiosk-card", "", "card `FILE` of the receiving kiosk, if this station does not trust it")
	pos, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("usage: sluice log reconcile SENDER_LOG KIOSK_LOG")
	}
	sender, err := e.logRef(pos[0], *senderCard)
	if err != nil {
		return err
	}
	kiosk, err := e.logRef(pos[1], *kioskCard)
	if err != nil {
		return err
	}
	rec, err := app.ReconcileLogs(sender, kiosk)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "BUNDLE\tOUTCOME\tDETAIL")
	for _, m := range rec.Bundles {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", dash(m.Bundle), dash(m.Outcome), oneLine(m.Detail, 100))
	}
	tw.Flush()
	if len(rec.Unmatched) > 0 {
		fmt.Fprintf(e.stdout, "\nReceipts in %s's log that match nothing in %s's log:\n", kiosk.Station, sender.Station)
		tw = tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "RECORD\tBUNDLE\tREASON")
		for _, u := range rec.Unmatched {
			fmt.Fprintf(tw, "%d\t%s\t%s\n", u.Seq, dash(oneLine(u.Bundle, 60)), oneLine(u.Reason, 140))
		}
		tw.Flush()
	}
	bad, unmatched := rec.Failed()
	n := len(rec.Bundles)
	fmt.Fprintf(e.stdout, "%d bundles: %d reconciled, %d not; %d unmatched receipts in %s's log\n", n, n-bad, bad, unmatched, kiosk.Station)
	e.warnTorn(e.stdout, sender.Path)
	e.warnTorn(e.stdout, kiosk.Path)
	switch {
	case bad > 0 && unmatched > 0:
		return fmt.Errorf("%w: %d of %d bundles do not reconcile, and %d receipts in %s's log match nothing in %s's log", app.ErrRejected, bad, n, unmatched, kiosk.Station, sender.Station)
	case bad > 0:
		return fmt.Errorf("%w: %d of %d bundles do not reconcile", app.ErrRejected, bad, n)
	case unmatched > 0:
		return fmt.Errorf("%w: %d receipts in %s's log match nothing in %s's log", app.ErrRejected, unmatched, kiosk.Station, sender.Station)
	}
	return nil
}
