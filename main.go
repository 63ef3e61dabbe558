// Command sluice is the Sluice transfer station. With no arguments it opens
// the desktop app; with a command it runs the CLI (see sluice help).
package main

import (
	_ "earlylocale" // before Fyne: see the package comment
	"hash/crc32"
	"strings"

	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"syscall"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"

	"sluice/app"
	"sluice/assets"
	"sluice/cli"
	"sluice/internal/pdfcheck"
	"sluice/transfer/transform"
	"sluice/ui"
)

// cliMemoryLimit is the CLI's soft memory limit (GOMEMLIMIT overrides it).
const cliMemoryLimit = 88 << 20

func main() {
	pdfcheck.Serve()  // when started as the kiosk's PDF checker, only that
	transform.Serve() // likewise as a transformation worker
	home, kiosk, gui := guiArgs(os.Args[1:])
	if !gui {
		if os.Getenv("GOMEMLIMIT") == "" {
			// A bundle of 200,000 small files keeps about 60 MiB of names,
			// hashes and manifest alive at its peak; left to itself the
			// collector lets the heap grow to twice that first. A soft
			// limit makes it collect sooner instead, keeping pack and
			// receive under 128 MiB. (The desktop app, whose own heap is
			// larger, keeps Go's default.)
			debug.SetMemoryLimit(cliMemoryLimit)
		}
		ctx, stop := interruptible()
		stopProfile := startProfile()
		code := cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
		stopProfile()
		stop()
		os.Exit(code)
	}
	if ok, why := ui.HasDisplay(); !ok {
		fmt.Fprintf(os.Stderr, "sluice: %s, so the desktop app cannot open.\nUse the command line instead: sluice help (for example: sluice init --name NAME, sluice pack, sluice receive).\n", why)
		os.Exit(cli.ExitUsage)
	}
	if home == "" {
		home = os.Getenv("SLUICE_HOME")
	}
	if home == "" {
		h, err := app.DefaultHome()
		if err != nil {
			fmt.Fprintf(os.Stderr, "sluice: %v\n", err)
			os.Exit(cli.ExitUsage)
		}
		home = h
	}
	// One preferences store per station home: two stations on one
	// machine must not share file dialogs' last folders (nor write one
	// preferences file at once).
	a := fyneapp.NewWithID(fmt.Sprintf("org.sluice.station.h%08x", crc32.ChecksumIEEE([]byte(home))))
	a.SetIcon(assets.Icon)
	w := a.NewWindow("Sluice")
	w.SetContent(ui.Create(a, w, home, ui.Options{Kiosk: kiosk}))
	w.Resize(fyne.NewSize(1000, 700))
	w.ShowAndRun()
}

// guiArgs reports whether the arguments ask for the desktop app: none, or
// only --home DIR and --kiosk (sluice --home DIR opens the app on that
// station; sluice --kiosk opens the receiving kiosk full screen).
func guiArgs(args []string) (home string, kiosk, gui bool) {
	for len(args) > 0 {
		switch a := args[0]; {
		case a == "--kiosk" || a == "-kiosk":
			kiosk, args = true, args[1:]
		case (a == "--home" || a == "-home") && len(args) > 1:
			home, args = args[1], args[2:]
		case strings.HasPrefix(a, "--home="):
			home, args = strings.TrimPrefix(a, "--home="), args[1:]
		default:
			return "", false, false
		}
	}
	return home, kiosk, true
}

// interruptible returns a context cancelled by Ctrl-C or SIGTERM, whose
// cause (an *app.Interrupted) says which, so a cancelled receive records
// what stopped it rather than "cancelled by the officer".
func interruptible() (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		s, ok := <-sig
		if !ok {
			return
		}
		by := map[os.Signal]string{os.Interrupt: "Ctrl-C (SIGINT)", syscall.SIGTERM: "SIGTERM (a request to stop from the system or another process)",
			syscall.SIGHUP: "SIGHUP (the terminal closed)"}[s]
		cancel(&app.Interrupted{By: by})
		signal.Stop(sig) // a second signal ends the process at once
	}()
	return ctx, func() { signal.Stop(sig); cancel(nil) }
}

// startProfile writes a CPU profile to $SLUICE_CPUPROFILE, for developers
// measuring a command (see internal/bench).
func startProfile() (stop func()) {
	path := os.Getenv("SLUICE_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "sluice: cpu profile: %v\n", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintf(os.Stderr, "sluice: cpu profile: %v\n", err)
		f.Close()
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}
