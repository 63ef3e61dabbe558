// Package cli is Sluice's command-line front end: the scriptable contract
// for headless kiosks, automation and tests. Each command parses its flags,
// calls one use-case in package app, and prints the result; no decision is
// made here.
//
// Exit status: 0 done; 1 rejected (bad signature, failed hash, policy, a
// refused card, a custody log that does not verify or reconcile); 2 usage or
// environment error (including a card or checkpoint file that is not UTF-8
// text); 3 held for review (a received bundle verified, but a file in it was
// held by the policy's content checks: nothing was released). A custody log whose only fault is a torn last line, left by a
// crash, verifies: exit 0 with a WARNING line. Errors are one line on stderr.
package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"

	"golang.org/x/term"

	"sluice/app"
	"sluice/internal/safetext"
)

// Exit codes.
const (
	ExitOK       = 0
	ExitRejected = 1
	ExitUsage    = 2
	// ExitHeld: a bundle verified but was held for an officer's review
	// (sluice review); nothing of it was released.
	ExitHeld = 3
)

// env is what a command runs with.
type env struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// rawStdout is standard output as given, for data a program reads
	// (machineOut).
	rawStdout io.Writer
	home      string
	// cmd is the command being run, for messages.
	cmd string
	// lines delivers stdin line by line once readLine has started.
	lines     chan string
	linesOnce sync.Once
	// passFDs read passphrases from --passphrase-fd, a line per officer.
	passFDs map[int]*bufio.Reader
	// closers are closed when the command ends.
	closers []io.Closer
}

type command struct {
	name    string
	args    string
	summary string
	run     func(e *env, args []string) error
}

var commands []command

func init() {
	commands = []command{
		{"init", "--name NAME [--pq]", "create this station: keys, trust store, policy, custody log", runInit},
		{"id", "", "print this station's public card", runID},
		{"trust", "add [--role release] FILE|- · trust list · trust remove NAME", "manage the stations (and release keys) this one trusts", runTrust},
		{"pack", "--to NAME[,NAME] --out DIR [--volume-size SIZE] [--note TEXT] [--verify] [--span] PATH...", "seal files and folders into a bundle (with --span, over several drives); prints its path last", runPack},
		{"inspect", "BUNDLE", "check a bundle's envelope, signature and volumes without any secret key", runInspect},
		{"receive", "--out DIR [--wipe] BUNDLE|DRIVE...", "verify, decrypt, check and release a bundle (or the bundles on a drive) into DIR/<bundle-id>/; the drives of a bundle that spans drives are gathered until the last is in", runReceive},
		{"log", "show [--json] [--since T] [--bundle ID] [--event E] [FILE] · log verify [FILE] [--checkpoint FILE] [--card FILE] · log recover · log export --format csv|json [--out FILE] · log checkpoint · log reconcile SENDER_LOG KIOSK_LOG · log forward --to tcp://HOST:PORT", "the custody log, for auditors and the site's SIEM", runLog},
		{"media", "list [--all] · media watch · media check MOUNT [--size SIZE] · media wipe BUNDLE · media eject MOUNT", "removable drives: list them, check one really stores what it is given, wipe a released bundle, mount or unmount one", runMedia},
		{"review", "list · review show ID · review approve ID --officer NAME [--partial] [--passphrase-fd N] · review release ID [--partial] [--note TEXT] · review reject ID --reason TEXT", "bundles held by the policy's content checks: see why, release or reject them (recorded)", runReview},
		{"officer", "add NAME [--passphrase-fd N] · officer list · officer remove NAME", "the officers who sign releases after review, each with a key protected by a passphrase", runOfficer},
		{"policy", "show · policy check FILE · policy install FILE · policy import STATION FILE", "the receive policy in force, every setting filled in; check a draft, or install it (recorded); on a sending station, a copy of a kiosk's policy to check staged files against", runPolicy},
		{"transform", "FILE... --out DIR [--text-encoding NAME] [--ocr LANGS]", "disarm and rebuild documents and images as policy would (PDFs and office documents to PDFs of page images, images re-encoded, text cleaned), each in a sandbox; print what was done to each file", runTransform},
		{"diode", "send --to HOST:PORT [--rate 800M] [--fec 20%] [--mtu 1500] [--repeat N | --carousel] BUNDLE... · diode receive --listen HOST:PORT --inbox DIR [--once] [--out DIR] · diode status --inbox DIR", "one-way transport through a data diode: UDP with parity, paced, signed announcements; the receiver never answers and says exactly what it lacks", runDiode},
		{"desktop", "show · desktop kiosk on|off · desktop release add|remove DIR · desktop diode [--send-to HOST:PORT --rate R --parity P] [--listen HOST:PORT --inbox DIR]", "the desktop app's settings: kiosk mode, the folders it releases into, its data-diode link", runDesktop},
		{"release", "keygen --name NAME · release pack --to NAME[,NAME] --out DIR [--version V] (PACKAGE.deb | --clamav-db DIR)", "a release key, kept off the stations: seal an update of Sluice or of ClamAV's signatures as a bundle", runRelease},
		{"update", "apply [--dpkg-root DIR] [--accept-old REASON] [--officer NAME [--approver NAME]...] BUNDLE · update rollback [--dpkg-root DIR] [--officer NAME ...] · update status", "apply an update signed by a trusted release key (newer versions only; recorded), go back one step, or see what is installed", runUpdate},
		{"version", "", "print this build: version, commit, Go toolchain, build ID and build flags", runVersion},
		{"help", "[COMMAND]", "show help", nil},
	}
}

// usageError marks errors that exit 2 with a hint to read --help.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// Run runs the sluice command line args (without the program name) and
// returns the exit status.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	// Everything printed goes through safetext: no name, note or reason
	// from a bundle, card, manifest, log or drive reaches the terminal raw.
	e := &env{ctx: ctx, stdin: stdin, stdout: safetext.Writer(stdout), stderr: safetext.Writer(stderr), rawStdout: stdout}
	// --home may also come before the command.
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch {
		case args[0] == "--home" || args[0] == "-home":
			if len(args) < 2 {
				return fail(e, usagef("--home needs a directory"))
			}
			e.home, args = args[1], args[2:]
		case strings.HasPrefix(args[0], "--home="):
			e.home, args = strings.TrimPrefix(args[0], "--home="), args[1:]
		case args[0] == "-h" || args[0] == "--help" || args[0] == "-help":
			printHelp(stdout)
			return ExitOK
		default:
			return fail(e, usagef("unknown option %s before the command; see sluice help", args[0]))
		}
	}
	if len(args) == 0 {
		printHelp(stderr)
		return ExitUsage
	}
	name, rest := args[0], args[1:]
	if name == "help" {
		if len(rest) > 0 {
			return Run(ctx, []string{rest[0], "--help"}, stdin, stdout, stderr)
		}
		printHelp(stdout)
		return ExitOK
	}
	for _, c := range commands {
		if c.name == name && c.run != nil {
			e.cmd = name
			if len(rest) == 1 && (rest[0] == "-h" || rest[0] == "--help" || rest[0] == "-help") {
				// A command of subcommands takes no flags of its own: its
				// help is its line of the command table.
				var ue usageError
				err := c.run(e, rest)
				if err != nil && errors.As(err, &ue) {
					fmt.Fprintf(e.stdout, "usage: sluice %s %s\n\n%s\n", c.name, c.args, upperFirst(c.summary))
					return ExitOK
				}
				return fail(e, err)
			}
			err := c.run(e, rest)
			for _, c := range e.closers {
				c.Close()
			}
			return fail(e, err)
		}
	}
	return fail(e, usagef("unknown command %q; see sluice help", name))
}

func fail(e *env, err error) int {
	if err == nil {
		return ExitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	msg := strings.Join(strings.Fields(err.Error()), " ")
	if errors.Is(err, context.Canceled) && !strings.Contains(msg, "interrupted") {
		// Say what was interrupted and by what, not "context canceled".
		msg = fmt.Sprintf("%s %s (%s)", e.cmd, app.CancelReason(e.ctx), msg)
	}
	fmt.Fprintf(e.stderr, "sluice: %s\n", msg)
	var ue usageError
	switch {
	case errors.As(err, &ue):
		return ExitUsage
	case errors.Is(err, app.ErrRejected):
		return ExitRejected
	case errors.As(err, new(*app.HeldError)):
		return ExitHeld
	default:
		return ExitUsage
	}
}

func printHelp(w io.Writer) {
	fmt.Fprint(w, `Sluice: a transfer station for air-gapped networks.

Usage:
  sluice                   open the desktop app
  sluice COMMAND [ARGS]    run one command

Commands:
`)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Every command takes --home DIR (or SLUICE_HOME) for the station directory.
Exit status: 0 done, 1 rejected, 2 usage or environment error, 3 held for review.
Run sluice help COMMAND for a command's flags.
`)
}

// flags makes a FlagSet for a command, with --home and a usage text.
func (e *env) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&e.home, "home", e.home, "station `DIR` (default $SLUICE_HOME, else the user's config directory)")
	return fs
}

// parse parses flags and positional arguments in any order.
func (e *env) parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				e.commandHelp(fs)
				return nil, flag.ErrHelp
			}
			return nil, usagef("%s: %v; see sluice help %s", fs.Name(), err, strings.Fields(fs.Name())[0])
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos, args = append(pos, args[0]), args[1:]
	}
}

func (e *env) commandHelp(fs *flag.FlagSet) {
	top := strings.Fields(fs.Name())[0]
	for _, c := range commands {
		if c.name == top {
			fmt.Fprintf(e.stdout, "Usage: sluice %s %s\n\n%s.\n\nFlags:\n", c.name, c.args, c.summary)
		}
	}
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	sort.Strings(names)
	for _, n := range names {
		f := fs.Lookup(n)
		arg, usage := flag.UnquoteUsage(f)
		fmt.Fprintf(e.stdout, "  --%s %s\n        %s\n", n, arg, usage)
	}
}

func (e *env) homeDir() (string, error) {
	if e.home != "" {
		return e.home, nil
	}
	if h := os.Getenv("SLUICE_HOME"); h != "" {
		return h, nil
	}
	return app.DefaultHome()
}

func (e *env) station() (*app.Station, error) {
	h, err := e.homeDir()
	if err != nil {
		return nil, err
	}
	return app.Load(h)
}

// machineOut is where JSON meant for another program goes (exported
// records, lines exactly as logged; JSON escapes every control character,
// CSV does not and so never comes here): standard output as given when it is
// a pipe or a file, so the bytes are exact (safetext's escapes would make
// JSON that no longer parses, or no longer hashes to the log's leaves);
// escaped, as everything else, when it is a terminal, where a drive's
// model string must not move the cursor.
func (e *env) machineOut() io.Writer {
	if f, ok := e.rawStdout.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return e.stdout
	}
	return e.rawStdout
}
