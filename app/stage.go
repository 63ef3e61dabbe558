package app

import (
	"context"
	"fmt"
	"sync/atomic"

	"sluice/internal/progress"
	"sluice/transfer/bundle"
	"sluice/transfer/custody"
)

// HashSources computes the SHA-256 of every staged file, for the officer to
// review, and stores it in the source: sealing then aborts if a file no
// longer has the hash that was reviewed. report, if set, is called about
// ten times a second from one goroutine with the bytes hashed so far, and
// fileDone, if set, after each file from the calling goroutine.
func HashSources(ctx context.Context, srcs []bundle.Source, report func(done, total int64), fileDone func(i int)) error {
	var total int64
	for _, s := range srcs {
		total += s.Size
	}
	var done atomic.Int64
	stop := progress.Tick(report, &done, total)
	defer stop()
	buf := make([]byte, 1<<20)
	for i := range srcs {
		if srcs[i].Type != bundle.TypeFile {
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
// reason they gave. Nothing is decrypted or released.
func (s *Station) Reject(bundleDir, reason string) error {
	if reason == "" {
		return fmt.Errorf("give a reason for rejecting the bundle")
	}
	b, err := bundle.Open(bundleDir)
	id, peer := "", ""
	if b != nil {
		id, peer = b.Envelope.ID, b.Envelope.Sender.Name
	}
	if err != nil && b == nil {
		reason += " (the bundle could not be opened: " + err.Error() + ")"
	}
	return s.record(custody.Record{Event: custody.EventRejected, Bundle: id, Peer: peer, Path: bundleDir, Outcome: "rejected",
		Reason: "by the officer: " + reason})
}
