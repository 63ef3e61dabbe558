package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/dustin/go-humanize"

	"sluice/crypto"
	"sluice/internal/lockfile"
	"sluice/internal/safetext"
	"sluice/transfer/bundle"
	"sluice/transfer/custody"
)

// PackRequest is what an officer asks to seal.
type PackRequest struct {
	// To names the trusted stations to seal for.
	To []string
	// OutDir is the folder (or mounted medium) the bundle is written into.
	OutDir string
	// Sources are the staged files; see StagePaths.
	Sources []bundle.Source
	// VolumeSize cuts the payload into volumes of at most this many bytes; 0
	// means one volume.
	VolumeSize int64
	Note       string
	Progress   func(done, total int64)
	// ReadBack says when the bundle is read back from the device after
	// writing; the default reads back from removable drives only.
	ReadBack ReadBack
	// NextDrive, if set, lets a bundle too large for the drive at OutDir
	// span several drives: it is called for each drive after the first
	// (and again, with a Problem, when a drive is refused or fails) and
	// returns the folder to write that drive's share into, usually the
	// drive's mount point. An error (context.Canceled when the officer
	// gives up) abandons the bundle.
	NextDrive func(ctx context.Context, ask DriveAsk) (string, error)
	// Phase, if set, is told what the job does next ("Writing drive 2 of
	// 3"); Progress calls after it count that phase's bytes.
	Phase func(what string)
	// Approvers are officers signed in at this station who approve the
	// staged files when the policy requires it (review.require_seal_approvals);
	// none may be the officer sealing (Station.Officer).
	Approvers []*SignedIn
	// update, set by ReleasePack, marks the bundle as an update.
	update *bundle.Update
	// Transforms, if set, are the staged files' transformations made
	// already (TransformStaged, as the desktop does to show them before
	// sealing); else Pack makes them. Pack does not close them.
	Transforms *Transforms
}

// DriveAsk is what Pack needs from the officer when a bundle spans drives.
type DriveAsk struct {
	BundleID string
	// Drive (from 1) of Drives is the drive wanted.
	Drive, Drives int
	// Need is the free space the drive must have; Volumes says which of
	// the bundle's volumes it will hold ("volumes 21 to 40 of 55").
	Need    int64
	Volumes string
	// Problem, when set, is why the last drive offered was not used.
	Problem string
	// Previous says what became of the drive written before this one
	// ("drive 1 of 3 written, verified and ejected: remove it").
	Previous string
}

// ReadBack chooses when Pack reads a bundle back from the device.
type ReadBack int

// ReadBack choices.
const (
	// ReadBackRemovable reads back when the destination is a removable
	// drive, the case the check exists for; a local folder is trusted to
	// the filesystem, as tar and age are.
	ReadBackRemovable ReadBack = iota
	// ReadBackAlways reads back wherever the bundle was written.
	ReadBackAlways
	// ReadBackNever does not read back.
	ReadBackNever
)

// StagePaths collects files and folders into sources to seal.
func StagePaths(paths []string) ([]bundle.Source, error) {
	if len(paths) == 0 {
		return nil, errors.New("nothing to seal: name at least one file or folder")
	}
	return bundle.Collect(paths)
}

// Recipients resolves station names to trusted cards.
func (s *Station) Recipients(names []string) ([]crypto.Card, error) {
	if len(names) == 0 {
		return nil, errors.New("no receiving station named: pass --to NAME")
	}
	var cards []crypto.Card
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			continue
		}
		seen[n] = true
		c, ok, err := s.Trusted(n)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("station %q is not trusted here: add its card with sluice trust add CARD (see sluice trust list)", n)
		}
		if c.Role == crypto.RoleRelease {
			return nil, fmt.Errorf("%s is a release key, not a station: bundles are sealed for stations", n)
		}
		cards = append(cards, c)
	}
	return cards, nil
}

// Pack seals the request's sources for its recipients into a new bundle
// under OutDir and records the outcome in the custody log. On failure or
// cancellation nothing is left in OutDir.
//
// A bundle larger than the drive at OutDir spans several drives when
// NextDrive is set: it is sealed into the station's spool, then each
// drive's share is written, read back and recorded in turn, NextDrive
// asking the officer for each drive after the first. The Sealed returned
// then lists every drive's folder in Parts.
func (s *Station) Pack(ctx context.Context, req PackRequest) (*bundle.Sealed, error) {
	if s.Role == crypto.RoleRelease && req.update == nil {
		return nil, fmt.Errorf("%s is a release key's home: it seals updates only (sluice release pack); seal data with a station", s.Home)
	}
	cards, err := s.Recipients(req.To)
	if err != nil {
		return nil, err
	}
	if len(req.Sources) == 0 {
		return nil, errors.New("nothing to seal: stage at least one file or folder")
	}
	// What a recipient's policy has this station transform is sealed in
	// place of the staged file; the staged files stay as they were.
	staged, xf := req.Sources, req.Transforms
	if xf == nil && req.update == nil {
		if xf, err = s.TransformStaged(ctx, req.Sources, req.To, nil); err != nil {
			return nil, err
		}
		defer xf.Close()
	}
	if xf != nil {
		if failed := xf.Failed(); len(failed) > 0 {
			return nil, fmt.Errorf("%d staged file(s) cannot be transformed as %s's policy asks of this station, and would be held there: %s: %v; unstage them, or install what is missing",
				len(failed), strings.Join(failed[0].For, ", "), safetext.Line(failed[0].Path), failed[0].Err)
		}
		req.Sources = xf.Sources
	}
	originals, err := s.originalsToSeal(req.To, staged, xf)
	if err != nil {
		return nil, err
	}
	if info, err := os.Stat(req.OutDir); err != nil || !info.IsDir() {
		return nil, fmt.Errorf("output folder %s does not exist; create it or choose another", req.OutDir)
	}
	plan, err := planDestination(req.OutDir, slices.Concat(req.Sources, originals), req.VolumeSize, req.NextDrive != nil)
	if err != nil {
		return nil, err
	}
	dest := plan.dest
	// One pack at a time on a station (its outgoing spool is shared). The
	// custody log is opened for each record, not held for the whole seal:
	// a pack that waits minutes for the next drive must not stop a receive
	// on the same station from recording what it does.
	plock, err := lockfile.TryLock(filepath.Join(s.Home, "packing.lock"))
	if errors.Is(err, lockfile.ErrHeld) {
		return nil, errors.New("another Sluice process on this station is sealing a bundle; wait for it to finish, then try again")
	}
	if err != nil {
		return nil, err
	}
	defer plock.Unlock()
	peers := joinNames(cards)
	var files, size int64
	for _, src := range req.Sources {
		if src.Type == bundle.TypeFile {
			files++
			size += src.Size
		}
	}
	if _, err := s.appendRecord(custody.Record{Event: custody.EventStaged, Peer: peers, Files: files, Bytes: size, Outcome: "ok",
		Reason: fmt.Sprintf("%d entries staged for sealing", len(req.Sources))}); err != nil {
		return nil, err
	}
	approvers, approved, err := s.approveSeal(ctx, req, originals, peers)
	if err != nil {
		return nil, err
	}
	var sealReasons []string
	if len(approvers) > 0 {
		sealReasons = append(sealReasons, fmt.Sprintf("approved by %s (the approved records before this one, files_sha256 %s)", strings.Join(approvers, ", "), approved))
	}
	if len(originals) > 0 {
		var n int64
		for _, o := range originals {
			n += o.Size
		}
		sealReasons = append(sealReasons, fmt.Sprintf("the %d original(s) of its transformed files (%s) sealed in its originals part, as every recipient's policy allows",
			len(originals), humanize.IBytes(uint64(n))))
	}
	sealReason := strings.Join(sealReasons, "; ")
	sealInto := req.OutDir
	if plan.perDrive > 0 {
		// The pack lock makes this the only pack running: whatever an
		// interrupted pack left in the spool can go.
		if sealInto, err = s.outboxSpool(); err != nil {
			return nil, err
		}
		defer os.RemoveAll(sealInto)
	}
	bundleID := ""
	if req.Phase != nil && plan.perDrive > 0 {
		req.Phase(PhaseSealSpool)
	} else if req.Phase != nil {
		req.Phase(PhaseSeal)
	}
	sealed, err := bundle.Seal(ctx, sealInto, req.Sources, bundle.SealOptions{
		SenderName: s.Name, Signer: s.Keys.Signer, Recipients: cards,
		VolumeSize: plan.volumeSize, VolumesPerDrive: plan.perDrive, Note: req.Note, Progress: req.Progress, Update: req.update,
		Originals: originals,
		SealRecord: func(id string, manifest crypto.Digest, files, bytes int64) ([]byte, error) {
			a, err := s.appendRecord(custody.Record{Event: custody.EventSealed, Bundle: id, Peer: peers,
				ManifestSHA256: manifest.String(), Files: files, Bytes: bytes, Outcome: "ok", Reason: sealReason})
			if err != nil {
				return nil, err
			}
			bundleID = id
			return json.Marshal(custody.NewSealProof(a))
		},
	})
	if err != nil {
		reason := err.Error()
		if errors.Is(err, context.Canceled) {
			reason = CancelReason(ctx)
		}
		event := custody.EventSealFailed
		if errors.Is(err, bundle.ErrWrite) && plan.perDrive == 0 {
			// The destination failed: name the drive.
			event = custody.EventWriteFailed
		} else if errors.Is(err, bundle.ErrWrite) {
			err = fmt.Errorf("a bundle that spans drives is sealed on this station first, in %s, which needs about %s free: %w",
				sealInto, humanize.IBytes(uint64(payloadEstimate(slices.Concat(req.Sources, originals)))), err)
			reason = err.Error()
		}
		if _, lerr := s.appendRecord(custody.Record{Event: event, Bundle: bundleID, Peer: peers, Media: dest.Media, Path: req.OutDir,
			Outcome: "failed", Reason: reason}); lerr != nil {
			return nil, errors.Join(err, lerr)
		}
		if event == custody.EventWriteFailed && dest.Media != nil {
			return nil, fmt.Errorf("writing to %s failed and nothing usable was left on it; check the drive (removed? full? failing?) and seal again: %w", describeMedia(dest), err)
		}
		return nil, err
	}
	if xf != nil && len(xf.Files) > 0 {
		var lines []string
		for _, f := range xf.Files {
			lines = append(lines, transformedText(f.Path, path.Join(path.Dir(f.Path), filepath.Base(f.Result.Output)), f.Result))
		}
		if err := errors.Join(s.keepOriginals(sealed.Envelope.ID, staged, xf), s.recordTransformed(sealed.Envelope.ID, peers, lines)); err != nil {
			return nil, fmt.Errorf("bundle %s is sealed, but its transformations could not be kept or recorded: %w", sealed.Envelope.ID, err)
		}
	}
	w := writeJob{s: s, req: req, sealed: sealed, peers: peers}
	if plan.perDrive > 0 {
		return w.spread(ctx, dest)
	}
	if _, err := w.settle(ctx, dest, sealed.Dir, ""); err != nil {
		return nil, err
	}
	return sealed, nil
}

// The phases Pack reports through PackRequest.Phase; a spanning bundle also
// reports "Writing drive K of N".
const (
	PhaseSeal      = "Sealing and writing"
	PhaseSealSpool = "Sealing into this station's spool"
	// PhaseReadBack reports no bytes: a front end shows it as under way.
	PhaseReadBack = "Reading back from the drive (bypassing the cache)"
)

// errReadBack is wrapped when what was written does not read back from
// the drive: the drive is at fault, so another may do.
var errReadBack = errors.New("the bundle did not read back correctly")

// writeJob is a sealed bundle being written out and accounted for.
type writeJob struct {
	s      *Station
	req    PackRequest
	sealed *bundle.Sealed
	peers  string
}

// settle records the bundle (or one drive's share, what says which) at dir
// as written, then, as the request asks, reads it back from the device and
// records it verified. A share that does not read back is removed and
// recorded as write-failed. When the read-back could only go through a
// cache in memory (see media.DropDeviceCache), the verified record and
// the returned note say so.
func (w writeJob) settle(ctx context.Context, dest Destination, dir, what string) (note string, err error) {
	e, s := w.sealed.Envelope, w.s
	b, err := bundle.OpenPart(dir)
	if err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("%w: the bundle written to %s cannot be opened (%v); it was removed: try another drive", errReadBack, dir, err)
	}
	vols := len(e.Payload.Volumes) - len(b.Missing())
	_, err = s.appendRecord(custody.Record{Event: custody.EventWritten, Bundle: e.ID, Peer: w.peers, ManifestSHA256: w.sealed.ManifestSHA256.String(),
		Files: e.Files, Bytes: b.PartBytes(), Media: dest.Media, Path: dir, Outcome: "ok", Reason: what})
	if err != nil {
		// The bundle exists but its custody record does not: do not hand out
		// a bundle the log cannot account for.
		os.RemoveAll(dir)
		return "", fmt.Errorf("bundle removed because its custody record could not be written: %w", err)
	}
	// Read every volume back from the device and check its hash: only then
	// is the bundle verified. A medium that does not give back what was
	// written must not carry a bundle that looks complete.
	if w.req.ReadBack == ReadBackNever || w.req.ReadBack == ReadBackRemovable && !dest.Removable {
		return "", nil
	}
	if w.req.Phase != nil {
		w.req.Phase(PhaseReadBack)
	}
	// The hash states kept while sealing let every core check a stretch.
	b.UseMarks(w.sealed)
	note, verr := b.ReadBackThrough(ctx, dropDeviceCache)
	if verr != nil {
		os.RemoveAll(dir)
		reason := strings.TrimPrefix(what+"; ", "; ") + "read-back failed: " + verr.Error() + "; the bundle was removed from the medium"
		if _, lerr := s.appendRecord(custody.Record{Event: custody.EventWriteFailed, Bundle: e.ID, Peer: w.peers, Media: dest.Media,
			Path: dir, Outcome: "failed", Reason: reason}); lerr != nil {
			return "", errors.Join(verr, lerr)
		}
		return "", fmt.Errorf("%w from %s (%v); it was removed: try another drive", errReadBack, filepath.Dir(dir), verr)
	}
	verdict := fmt.Sprintf("all %d volume(s) read back from the medium and match", vols)
	if note != "" {
		verdict = fmt.Sprintf("all %d volume(s) match, but %s; the medium itself was not verified", vols, note)
	}
	_, err = s.appendRecord(custody.Record{Event: custody.EventVerified, Bundle: e.ID, Peer: w.peers, ManifestSHA256: w.sealed.ManifestSHA256.String(),
		Files: e.Files, Bytes: b.PartBytes(), Media: dest.Media, Path: dir, Outcome: "ok",
		Reason: strings.TrimPrefix(what+"; ", "; ") + verdict})
	return note, err
}

func joinNames(cards []crypto.Card) string {
	s := ""
	for i, c := range cards {
		if i > 0 {
			s += ","
		}
		s += c.Name
	}
	return s
}

func describeMedia(d Destination) string {
	name := strings.TrimSpace(d.Media.Vendor + " " + d.Media.Model)
	if name == "" {
		return d.Mount.Point
	}
	return name + " at " + d.Mount.Point
}
