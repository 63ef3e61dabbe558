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
	"errors"
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
	// was not scanned (NotScanned), and Cause names that reason among
	// Causes, so a policy can let some of them pass.
	Signature string
	Why       string
	Cause     string
}

// Why a file was not scanned (Result.Cause).
const (
	// CauseOverLimit: past a size, depth or count limit of the engine
	// (ClamAV's Heuristics.Limits.Exceeded, its 2 GB hard limit,
	// StreamMaxLength).
	CauseOverLimit = "over-limit"
	// CauseEncrypted: encrypted content the engine cannot read.
	CauseEncrypted = "encrypted"
	// CauseTimeout: no verdict within the policy's time.
	CauseTimeout = "timeout"
	// CauseOutdated: the engine's signatures are older than the policy's
	// max_signature_age.
	CauseOutdated = "outdated-signatures"
	// CauseEngineError: the engine could not be reached, failed, or
	// answered something that is not a verdict.
	CauseEngineError = "engine-error"
	// CauseUnsupported: the file cannot be given to the engine (a name
	// clamscan's file list cannot carry).
	CauseUnsupported = "unsupported"
)

// Causes are the reasons a file can be not-scanned, in policy order.
var Causes = []string{CauseOverLimit, CauseEncrypted, CauseTimeout, CauseOutdated, CauseEngineError, CauseUnsupported}

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

func notScanned(engine, cause, format string, args ...any) Result {
	return Result{Engine: engine, Verdict: NotScanned, Cause: cause, Why: fmt.Sprintf(format, args...)}
}

// failed is the verdict on a file whose scan failed with err: a timeout
// when a deadline passed, else an engine error.
func failed(engine string, err error, format string, args ...any) Result {
	cause := CauseEngineError
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		cause = CauseTimeout
	}
	return notScanned(engine, cause, format, args...)
}
