package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/dustin/go-humanize"

	"sluice/transfer/bundle"
	"sluice/transfer/custody"
	"sluice/transfer/media"
)

// outboxSpool returns an empty folder in the station's home where a bundle
// that spans drives is sealed before its shares are written out. It holds
// only ciphertext.
func (s *Station) outboxSpool() (string, error) {
	dir := filepath.Join(s.Home, "spool", "out")
	if err := os.RemoveAll(dir); err != nil {
		return "", fmt.Errorf("clear the outgoing spool: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create the outgoing spool: %w", err)
	}
	return dir, nil
}

// spread writes each drive's share of the sealed bundle, the first into
// the request's OutDir and the others where NextDrive says, reading each
// back and recording it before asking for the next.
func (w writeJob) spread(ctx context.Context, dest Destination) (*bundle.Sealed, error) {
	e := w.sealed.Envelope
	whole, err := bundle.Open(w.sealed.Dir)
	if err != nil {
		return nil, fmt.Errorf("reopen the sealed bundle: %w", err)
	}
	n, total := e.Drives(), len(e.Payload.Volumes)
	var parts []string
	var fsids []string
	dir := w.req.OutDir
	problem, previous := "", ""
	for k := 0; k < n; k++ {
		first, end := e.DriveVolumes(k)
		var share int64
		for _, v := range e.Payload.Volumes[first:end] {
			share += v.Size
		}
		vols := volumeRange(first, end, total)
		what := ""
		if n > 1 {
			what = fmt.Sprintf("drive %d of %d: %s", k+1, n, vols)
		}
		for asked := k > 0; ; asked = true {
			if asked {
				if w.req.NextDrive == nil {
					return nil, w.abandon(ctx, parts, k, n, errors.New("no way to ask for the next drive"))
				}
				next, err := w.req.NextDrive(ctx, DriveAsk{BundleID: e.ID, Drive: k + 1, Drives: n, Need: freeFor(share),
					Volumes: vols, Problem: problem, Previous: previous})
				if err == nil {
					err = ctx.Err()
				}
				if err != nil {
					return nil, w.abandon(ctx, parts, k, n, err)
				}
				dir = next
				if dest, err = checkDrive(dir, e.ID, share, e.Payload.Volumes[first].Size, fsids, k, n); err != nil {
					problem = err.Error()
					continue
				}
			}
			if w.req.Phase != nil {
				w.req.Phase(fmt.Sprintf("Writing drive %d of %d", k+1, n))
			}
			pdir, err := bundle.WritePart(ctx, whole, dir, k, w.req.Progress)
			note := ""
			if err == nil {
				note, err = w.settle(ctx, dest, pdir, what)
			} else if errors.Is(err, bundle.ErrWrite) {
				reason := strings.TrimPrefix(what+"; ", "; ") + err.Error()
				if _, lerr := w.s.appendRecord(custody.Record{Event: custody.EventWriteFailed, Bundle: e.ID, Peer: w.peers,
					Media: dest.Media, Path: dir, Outcome: "failed", Reason: reason}); lerr != nil {
					return nil, errors.Join(err, lerr)
				}
			}
			if err == nil {
				parts = append(parts, pdir)
				if dest.Mount.FSID != "" {
					fsids = append(fsids, dest.Mount.FSID)
				}
				problem, previous = "", w.finishDrive(dest, k, n, note)
				break
			}
			if ctx.Err() != nil {
				return nil, w.abandon(ctx, parts, k, n, ctx.Err())
			}
			if !errors.Is(err, bundle.ErrWrite) && !errors.Is(err, errReadBack) {
				// Not the drive's fault (the custody log, the station's
				// own copy): another drive would not help.
				return nil, w.abandon(ctx, parts, k, n, err)
			}
			problem = fmt.Sprintf("drive %d of %d could not be written (%v)", k+1, n, err)
		}
	}
	sealed := *w.sealed
	sealed.Dir, sealed.Parts = parts[0], parts
	return &sealed, nil
}

// finishDrive ejects a removable drive whose share is written and
// verified, when another drive is to follow, so the officer can pull it
// safely, and says what became of it. note is settle's: why the read-back
// could not reach the drive.
func (w writeJob) finishDrive(dest Destination, k, n int, note string) string {
	done := fmt.Sprintf("drive %d of %d written", k+1, n)
	if note != "" {
		done += " but not verified (" + note + ")"
	} else if w.req.ReadBack == ReadBackAlways || w.req.ReadBack == ReadBackRemovable && dest.Removable {
		done += " and verified"
	}
	if k == n-1 || !dest.Removable || dest.Mount.Point == "" {
		return done
	}
	how, err := media.Eject(dest.Mount.Point)
	if err != nil {
		return done + "; it could not be ejected (" + err.Error() + "): eject it before pulling it"
	}
	w.s.appendRecord(custody.Record{Event: custody.EventEjected, Bundle: w.sealed.Envelope.ID, Media: dest.Media, Path: dest.Mount.Point, Outcome: "ok", Reason: how})
	return done + " and ejected: remove it"
}

// volumeRange says which volumes [first, end) of total a drive holds.
func volumeRange(first, end, total int) string {
	if end-first == 1 {
		return fmt.Sprintf("volume %d of %d", first+1, total)
	}
	return fmt.Sprintf("volumes %d to %d of %d", first+1, end, total)
}

// checkDrive refuses a drive offered for share k of n that cannot take it:
// read-only, too little free space, a file-size limit below the volumes,
// or a drive already written for this bundle.
func checkDrive(dir, id string, share, volume int64, fsids []string, k, n int) (Destination, error) {
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		return Destination{}, fmt.Errorf("%s is not a folder; give the mount point of drive %d of %d", dir, k+1, n)
	}
	if _, err := os.Stat(filepath.Join(dir, id+bundle.DirSuffix)); err == nil {
		return Destination{}, fmt.Errorf("%s already holds bundle %s: it is an earlier drive of this bundle; insert another drive for drive %d of %d", dir, id, k+1, n)
	}
	d, err := inspectDestination(dir)
	if err != nil || d.Mount.Point == "" {
		return d, err
	}
	for i, id := range fsids {
		if id == d.Mount.FSID {
			return d, fmt.Errorf("%s is drive %d of this bundle again (same filesystem id %s); insert another drive for drive %d of %d", d.Mount.Point, i+1, id, k+1, n)
		}
	}
	sp := d.Space
	if sp.MaxFile > 0 && volume > sp.MaxFile {
		return d, fmt.Errorf("%s (%s) cannot hold files of %s, the size of this bundle's volumes; use a drive formatted exFAT or ext4", d.Mount.Point, d.Mount.FSType, humanize.IBytes(uint64(volume)))
	}
	if sp.Size > 0 && sp.Free < freeFor(share) {
		return d, fmt.Errorf("%s has %s free; drive %d of %d needs %s: insert a larger drive or free space on it",
			d.Mount.Point, humanize.IBytes(uint64(sp.Free)), k+1, n, humanize.IBytes(uint64(freeFor(share))))
	}
	return d, nil
}

// abandon records that a spanning bundle was given up after done of its
// drives, and says which drives now hold an incomplete bundle.
func (w writeJob) abandon(ctx context.Context, parts []string, k, n int, cause error) error {
	e := w.sealed.Envelope
	reason := cause.Error()
	if errors.Is(cause, context.Canceled) {
		reason = CancelReason(ctx)
	}
	left := "no drive was written"
	if len(parts) > 0 {
		left = "the drives already written hold an incomplete bundle and should be wiped: " + strings.Join(parts, ", ")
	}
	msg := fmt.Sprintf("bundle abandoned at drive %d of %d (%s); %s", k+1, n, reason, left)
	if _, lerr := w.s.appendRecord(custody.Record{Event: custody.EventWriteFailed, Bundle: e.ID, Peer: w.peers,
		Outcome: "failed", Reason: msg}); lerr != nil {
		return errors.Join(cause, lerr)
	}
	return fmt.Errorf("bundle %s abandoned at drive %d of %d; %s: %w", e.ID, k+1, n, left, cause)
}
