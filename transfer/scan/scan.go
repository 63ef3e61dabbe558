// Package scan asks malware scanners about files and reports one of three
// verdicts, never two: clean, infected (with the signature's name), or
// not-scanned (with why). ClamAV, by default, answers "OK" for content it
// skipped (over a size limit, encrypted, past 2 GB); Sluice never takes
// that for clean (../shared/ANCHORS.md, section 1.3).
//
// Engines: ClamAV's daemon over its socket (Clamd: FILDES on a local
// socket, so clamd reads the very file Sluice opened; INSTREAM over TCP),
// ClamAV's clamscan for a whole bundle at once (Clamscan), and any other
// engine a site adds through a command (Command).
package scan

import (
	"context"
	"fmt"
	"os"
)

// Verdicts.
const (
	Clean      = "clean"
	Infected   = "infected"
	NotScanned = "not-scanned"
)

// Result is one engine's verdict on one file.
type Result struct {
	Engine  string // "clamd", "clamscan", or the hook's name
	Verdict string
	// Signature names what was found (Infected); Why says why the file
	// was not scanned (NotScanned).
	Signature string
	Why       string
}

func (r Result) String() string {
	switch r.Verdict {
	case Infected:
		return fmt.Sprintf("%s: infected: %s", r.Engine, r.Signature)
	case NotScanned:
		return fmt.Sprintf("%s: not scanned: %s", r.Engine, r.Why)
	}
	return r.Engine + ": clean"
}

// Engine scans one file at a time.
type Engine interface {
	// Name names the engine in records.
	Name() string
	// Version says the engine's and its signatures' versions, for the
	// custody record of every scan; an error means the engine cannot scan.
	Version(ctx context.Context) (string, error)
	// Scan scans f, open on the file at path.
	Scan(ctx context.Context, path string, f *os.File) Result
}

// MaxClamAV is the largest file ClamAV can scan: "technical design
// limitations prevent … files greater than 2 GB" (clamd.conf(5)); past
// it ClamAV skips a file and, before 1.0.2, said OK.
const MaxClamAV = 2<<30 - 1

func notScanned(engine, format string, args ...any) Result {
	return Result{Engine: engine, Verdict: NotScanned, Why: fmt.Sprintf(format, args...)}
}
