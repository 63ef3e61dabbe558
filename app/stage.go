package app

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	"sluice/internal/progress"
	"sluice/internal/safetext"
	"sluice/transfer/bundle"
	"sluice/transfer/custody"
)

// HashSources computes the SHA-256 of every staged file not hashed yet, for
// the officer to review, and stores it in the source: sealing then aborts
// if a file no longer has the hash that was reviewed. Files that already
// carry a hash (staged and reviewed earlier) are not read again. report, if
// set, is called about ten times a second from one goroutine with the bytes
// hashed so far, and fileDone, if set, after each file from the calling
// goroutine.
func HashSources(ctx context.Context, srcs []bundle.Source, report func(done, total int64), fileDone func(i int)) error {
	var total int64
	for _, s := range srcs {
		if s.SHA256 == nil {
			total += s.Size
		}
	}
	var done atomic.Int64
	stop := progress.Tick(report, &done, total)
	defer stop()
	buf := make([]byte, 1<<20)
	for i := range srcs {
		if srcs[i].Type != bundle.TypeFile || srcs[i].SHA256 != nil {
			continue
		}
		d, err := bundle.HashFile(ctx, srcs[i].OSPath, buf, &done)
		if err != nil {
			return err
		}
		srcs[i].SHA256 = &d
		if fileDone != nil {
			fileDone(i)
		}
	}
	return nil
}

// Reject records the officer's decision not to release a bundle, with the
// reason they gave. Nothing is decrypted or released. The record names the
// bundle and its sender only if its envelope is signed by that trusted
// station; otherwise the reason says what the envelope claims.
func (s *Station) Reject(bundleDir, reason string) error {
	if strings.TrimSpace(reason) == "" {
		return fmt.Errorf("give a reason for rejecting the bundle")
	}
	b, err := bundle.OpenPart(bundleDir)
	if b == nil {
		return fmt.Errorf("%s is not a bundle whose envelope can be read (%v): there is nothing to reject", safetext.Line(bundleDir), err)
	}
	subj := subject{path: bundleDir, media: mediaOf(bundleDir)}
	s.attribute(&subj, b)
	if subj.id == "" {
		reason += fmt.Sprintf(" (its envelope is not signed by a trusted station; it claims to be bundle %s from %s)", b.Envelope.ID, b.Envelope.Sender.Name)
	}
	return s.record(custody.Record{Event: custody.EventRejected, Bundle: subj.id, Peer: subj.peer, Media: subj.media, Path: bundleDir, Outcome: "rejected",
		Reason: "by the officer: " + reason})
}
