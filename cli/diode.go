package cli

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/dustin/go-humanize"

	"sluice/app"
	"sluice/internal/safetext"
	"sluice/transfer/diode"
)

func runDiode(e *env, args []string) error {
	if len(args) == 0 {
		return usagef("usage: sluice diode send --to HOST:PORT [--rate 800M] [--fec 20%%] [--mtu 1500] [--repeat N | --carousel] BUNDLE... · diode receive --listen HOST:PORT --inbox DIR [--once] [--out DIR] · diode status --inbox DIR")
	}
	switch args[0] {
	case "-h", "-help", "--help":
		fmt.Fprintln(e.stdout, `sluice diode: one-way transport through a data diode.

  sluice diode send --to HOST:PORT [--rate 800M] [--fec 20%] [--mtu 1500] [--repeat N | --carousel] BUNDLE...
  sluice diode receive --listen HOST:PORT --inbox DIR [--once] [--out DIR]
  sluice diode status --inbox DIR

Each takes --help. The sender never reads its socket and the receiver never
writes to its own; see docs/DIODE.md.`)
		return flag.ErrHelp
	case "send":
		return runDiodeSend(e, args[1:])
	case "receive":
		return runDiodeReceive(e, args[1:])
	case "status":
		return runDiodeStatus(e, args[1:])
	}
	return usagef("sluice diode: unknown %q; use send, receive or status", args[0])
}

func runDiodeSend(e *env, args []string) error {
	fs := e.flags("diode send")
	to := fs.String("to", "", "the receiver's `HOST:PORT` across the diode")
	rate := fs.String("rate", "100M", "wire `RATE` in bit/s held from first packet to last, headers and parity included (k, M, G: 800M, 1G)")
	fec := fs.String("fec", "20%", "parity sent per pass, as a share of the data (`PERCENT`, up to 100%; 0% sends none)")
	mtu := fs.Int("mtu", 1500, "the link's MTU in `BYTES`; packets are never fragmented")
	repeat := fs.Int("repeat", 1, "send every block `N` times, each with different parity")
	carousel := fs.Bool("carousel", false, "send again and again, with different parity each pass, until interrupted (Ctrl-C): a receiver that starts late or loses a stretch still completes")
	pos, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	if *to == "" || len(pos) == 0 {
		return usagef("usage: sluice diode send --to HOST:PORT [--rate 800M] [--fec 20%%] [--mtu 1500] [--repeat N | --carousel] BUNDLE...")
	}
	r, err := app.ParseRate(*rate)
	if err != nil {
		return usagef("--%v", err)
	}
	overhead, err := app.ParseParity(*fec)
	if err != nil {
		return usagef("--fec: %v", err)
	}
	if *repeat < 1 {
		return usagef("--repeat %d: send at least once", *repeat)
	}
	if *carousel && *repeat > 1 {
		return usagef("--repeat and --carousel: choose one")
	}
	st, err := e.station()
	if err != nil {
		return err
	}
	last := time.Now()
	rep, err := st.DiodeSend(e.ctx, app.DiodeSendRequest{To: *to, Bundles: pos, Rate: r, Overhead: overhead, MTU: *mtu, Passes: *repeat, Carousel: *carousel,
		Progress: func(p diode.SendProgress) {
			if time.Since(last) < 2*time.Second {
				return
			}
			last = time.Now()
			if p.Hashing {
				fmt.Fprintf(e.stderr, "sluice: hashing blocks: %s of %s\n", humanize.IBytes(uint64(p.DataBytes)), humanize.IBytes(uint64(p.TotalBytes)))
				return
			}
			fmt.Fprintf(e.stderr, "sluice: pass %d: %s of %s sent, %s packets\n", p.Pass+1, humanize.IBytes(uint64(p.DataBytes)),
				humanize.IBytes(uint64(p.TotalBytes)), humanize.Comma(p.Packets))
		}})
	if rep != nil {
		fmt.Fprintf(e.stdout, "Sent %d bundle(s) through the diode to %s: session %s, %d pass(es), %s packets of %d bytes, %.0f Mbit/s on the wire, in %s\n",
			len(rep.Bundles), safetext.Line(*to), rep.Session, rep.Passes, humanize.Comma(rep.Packets), rep.PacketSize, rep.Rate()/1e6,
			rep.Finished.Sub(rep.Started).Round(time.Millisecond))
		for _, b := range rep.Bundles {
			fmt.Fprintf(e.stdout, "  %s  %s in %d block(s)\n", b.ID, humanize.IBytes(uint64(b.Bytes)), b.Blocks)
		}
		if rep.SendErrors > 0 {
			fmt.Fprintf(e.stdout, "  %s packet(s) refused by this machine's kernel (first: %s); nothing answers through a diode, so sending went on\n",
				humanize.Comma(rep.SendErrors), safetext.Line(rep.FirstError))
		}
		if rep.Behind > time.Second {
			fmt.Fprintf(e.stdout, "  the sender fell %s behind its rate (CPU or disk too slow for %s)\n", rep.Behind.Round(time.Millisecond), *rate)
		}
	}
	return err
}

func runDiodeReceive(e *env, args []string) error {
	fs := e.flags("diode receive")
	listen := fs.String("listen", "", "the local `HOST:PORT` the diode delivers to")
	inbox := fs.String("inbox", "", "`DIR` bundles arrive in (as DIR/ID.sluice; unfinished ones under DIR/.partial)")
	once := fs.Bool("once", false, "stop after the first session: exit 0 if every bundle of it arrived whole, 1 if one did not")
	out := fs.String("out", "", "also receive each bundle that arrives (every check of sluice receive) and release it into `DIR`")
	pos, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	if *listen == "" || *inbox == "" || len(pos) > 0 {
		return usagef("usage: sluice diode receive --listen HOST:PORT --inbox DIR [--once] [--out DIR]")
	}
	st, err := e.station()
	if err != nil {
		return err
	}
	var printing sync.Mutex // events and releases are told from two goroutines
	var released error      // the first release that did not happen (--out)
	warned := false
	req := app.DiodeReceiveRequest{Listen: *listen, Inbox: *inbox, Once: *once, OnEvent: func(ev diode.Event) {
		printing.Lock()
		defer printing.Unlock()
		switch ev.Kind {
		case diode.EventStats:
			if w := app.DiodeBufferWarning(*ev.Stats); w != "" && !warned {
				warned = true
				fmt.Fprintf(e.stderr, "sluice: warning: %s\n", w)
			}
		case diode.EventAnnounced:
			fmt.Fprintf(e.stdout, "Announced: bundle %s from %s, %s in %d block(s) (session %s)\n", ev.Bundle, safetext.Line(ev.Station),
				humanize.IBytes(uint64(ev.Bytes)), ev.Blocks, ev.Session)
		case diode.EventComplete:
			fmt.Fprintf(e.stdout, "Arrived: bundle %s, whole, in %s\n", ev.Bundle, safetext.Line(ev.Path))
		case diode.EventDuplicate:
			fmt.Fprintf(e.stdout, "Already here: bundle %s\n", ev.Bundle)
		case diode.EventIncomplete:
			fmt.Fprintf(e.stdout, "Incomplete: bundle %s has %d of %d block(s); sluice diode status --inbox %s names what is missing\n",
				ev.Bundle, ev.Have, ev.Blocks, safetext.Line(*inbox))
		case diode.EventIgnored:
			fmt.Fprintf(e.stderr, "sluice: ignored an announcement: %s (key %s, claiming %q)\n", safetext.Line(ev.Reason), ev.Fingerprint, safetext.Line(ev.Station))
		case diode.EventError:
			fmt.Fprintf(e.stderr, "sluice: bundle %s: %s\n", ev.Bundle, safetext.Line(fmt.Sprint(ev.Err)))
		}
	}}
	if *out != "" {
		req.OnArrived = func(dir string) {
			r, err := st.Receive(e.ctx, app.ReceiveRequest{BundleDir: dir, OutDir: *out})
			printing.Lock()
			defer printing.Unlock()
			var held *app.HeldError
			if err != nil && released == nil {
				released = err
			}
			switch {
			case errors.As(err, &held):
				fmt.Fprintf(e.stdout, "Held for review: %s\n", safetext.Line(err.Error()))
			case err != nil:
				fmt.Fprintf(e.stderr, "sluice: %s: %s\n", safetext.Line(dir), safetext.Line(err.Error()))
			default:
				fmt.Fprintf(e.stdout, "Released bundle %s into %s\n", r.Envelope.ID, safetext.Line(r.Dir))
			}
		}
	}
	fmt.Fprintf(e.stderr, "sluice: listening on %s (one way: nothing is ever sent back); bundles arrive in %s\n", safetext.Line(*listen), safetext.Line(*inbox))
	err = st.DiodeReceive(e.ctx, req)
	var inc *app.IncompleteError
	switch {
	case errors.As(err, &inc):
		return fmt.Errorf("%w: %v", app.ErrRejected, err)
	case err == nil && *once && released != nil:
		// What arrived was not all released: say so in the exit status
		// (3 held for review, 1 refused), as receive does.
		return released
	}
	return err
}

func runDiodeStatus(e *env, args []string) error {
	fs := e.flags("diode status")
	inbox := fs.String("inbox", "", "the diode inbox `DIR`")
	pos, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	if *inbox == "" || len(pos) > 0 {
		return usagef("usage: sluice diode status --inbox DIR")
	}
	states, err := app.DiodeStatus(*inbox)
	if err != nil {
		return err
	}
	if l, ok := app.DiodeLink(*inbox); ok {
		last := "no announcement yet"
		if !l.LastAnnouncement.IsZero() {
			last = "last announcement " + l.LastAnnouncement.Local().Format("2006-01-02 15:04:05")
		}
		refused := ""
		if l.Refused > 0 {
			// A flood of packets, or more bundles at once than its memory holds.
			refused = fmt.Sprintf(", %d refused to stay within the receiver's memory (a flood of forged packets, or too many bundles at once)", l.Refused)
		}
		fmt.Fprintf(e.stdout, "Link on %s, as of %s: %.0f Mbit/s, loss %.1f%%, %s, %d packet(s) dropped as damaged or untrusted%s\n",
			safetext.Line(l.Listen), l.Updated.Local().Format("2006-01-02 15:04:05"), l.RateBits/1e6, 100*l.Loss, last, l.Dropped, refused)
	}
	if len(states) == 0 {
		fmt.Fprintf(e.stdout, "Nothing in %s yet\n", safetext.Line(*inbox))
		return nil
	}
	for _, s := range states {
		switch {
		case s.Err != nil:
			fmt.Fprintf(e.stdout, "%s  unreadable: %s\n", s.ID, safetext.Line(s.Err.Error()))
		case s.Complete:
			fmt.Fprintf(e.stdout, "%s  arrived whole  %s\n", s.ID, safetext.Line(s.Path))
		default:
			var missing []string
			for _, r := range s.Missing {
				missing = append(missing, r.String())
			}
			fmt.Fprintf(e.stdout, "%s  from %s  %d of %d block(s), missing %s (%s), last written %s\n", s.ID, safetext.Line(s.Station),
				s.Have, s.Blocks, strings.Join(missing, ","), humanize.IBytes(uint64(s.MissingBytes)), s.Updated.Local().Format("2006-01-02 15:04:05"))
			if len(s.Needs) > 0 {
				fmt.Fprintf(e.stdout, "  more shards each missing block needs: %s\n", app.NeedsText(s.Needs))
			}
		}
	}
	return nil
}
