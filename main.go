// Command sluice is the Sluice transfer station. With no arguments it opens
// the desktop app; with a command it runs the CLI (see sluice help).
package main

import (
	_ "earlylocale" // before Fyne: see the package comment

	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"

	"sluice/app"
	"sluice/assets"
	"sluice/cli"
	"sluice/ui"
)

func main() {
	if len(os.Args) > 1 {
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
	home := os.Getenv("SLUICE_HOME")
	if home == "" {
		h, err := app.DefaultHome()
		if err != nil {
			fmt.Fprintf(os.Stderr, "sluice: %v\n", err)
			os.Exit(cli.ExitUsage)
		}
		home = h
	}
	a := fyneapp.NewWithID("org.sluice.station")
	a.SetIcon(assets.Icon)
	w := a.NewWindow("Sluice")
	w.SetContent(ui.Create(a, w, home))
	w.Resize(fyne.NewSize(900, 640))
	w.ShowAndRun()
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
