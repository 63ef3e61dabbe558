// Package earlylocale runs before Fyne's packages initialise and gives the
// "C" and "POSIX" locales a name Fyne can parse.
//
// Fyne's lang package reads the locale in its init function and logs three
// lines of "Fyne error: Error parsing user locale C" when LANG is C.UTF-8,
// the default on Debian servers, containers and systemd services. On a
// headless kiosk that noise would land on every CLI command's stderr, whose
// contract is one line per error. Go initialises packages in import-path
// order once their imports are ready (Go spec, since 1.21); this module's
// path sorts before "fyne.io", so it runs first. It only sets LANGUAGE, the
// highest-priority locale variable, and only when the locale is C or POSIX,
// which are English by definition.
package earlylocale

import (
	"os"
	"strings"
)

func init() {
	if os.Getenv("LANGUAGE") != "" {
		return
	}
	loc := os.Getenv("LC_ALL")
	if loc == "" {
		loc = os.Getenv("LC_MESSAGES")
	}
	if loc == "" {
		loc = os.Getenv("LANG")
	}
	base, _, _ := strings.Cut(loc, ".")
	if base == "" || base == "C" || base == "POSIX" {
		os.Setenv("LANGUAGE", "en")
	}
}
