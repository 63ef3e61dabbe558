package app

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"filippo.io/age"

	"sluice/internal/durable"
	"sluice/internal/pdfcheck"
	"sluice/internal/regfile"
	"sluice/internal/safetext"
	"sluice/internal/strictjson"
	"sluice/transfer/bundle"
	"sluice/transfer/custody"
)

// ReceiveRequest names a bundle and where to release it.
type ReceiveRequest struct {
	BundleDir string
	// OutDir receives the bundle's content as OutDir/<bundle-id>/.
	OutDir   string
	Progress func(done, total int64)
	// Now, if set, replaces time.Now for the policy's age checks (tests).
	Now func() time.Time
	// update is set by ApplyUpdate: the bundle must be an update, which
	// is checked as one (checkUpdatePayload) instead of as data.
	update bool
	// ageOverride, set by ApplyUpdate, is an officer's recorded reason to
	// accept an update older than the policy's max_age.
	ageOverride string
}

// Received describes a released bundle.
type Received struct {
	Envelope *bundle.Envelope
	Verified *bundle.Verified
	// Dir is where the content was released.
	Dir string
	// Source is the bundle folder it was read from, links resolved: the
	// one folder a wipe may remove.
	Source string
	// Content is what the policy's content checks found (nothing held).
	Content *ContentReport
}

// Receive checks a bundle and releases it: the sender's signature against
// the trust store, this station among the recipients and the policy, all
// before decrypting; then decryption into a quarantine readable only by the
// station's user, every entry checked against the signed manifest; then one
// rename, which never replaces anything, releases everything at once. A
// bundle that fails any step releases nothing, its quarantine is removed,
// and a "rejected" custody record says why (outcome "rejected" for the
// bundle's fault, "failed" for the station's). Errors that reject the
// bundle wrap ErrRejected.
//
// One receive runs at a time on a station, across processes; a second is
// refused with a *ReceiveBusyError, and recorded. Records name the bundle
// and its sender once the envelope is known to be signed by that trusted
// sender, and always the folder and drive it came from. "received" and
// "released" are written together, after the release, so a log never says
// received for a bundle that was not released.
//
// One drive of a bundle that spans several is checked the same way, then
// its volumes are gathered into the station's spool; Receive returns a
// *MissingDrivesError until the last drive is in, and then releases.
func (s *Station) Receive(ctx context.Context, req ReceiveRequest) (_ *Received, err error) {
	subj := subject{path: req.BundleDir}
	dir, err := ResolveMediaPath(req.BundleDir)
	if err != nil {
		return nil, s.rejected(ctx, subj, fmt.Errorf("open bundle: %w", err))
	}
	subj.path, subj.media = dir, mediaOf(dir)
	b, err := bundle.OpenPart(dir)
	if err == nil && !b.Complete() && b.Envelope.Span == nil {
		b, err = bundle.Open(dir) // names the missing volume
	}
	s.attribute(&subj, b)
	if err != nil {
		return nil, s.rejected(ctx, subj, err)
	}
	env := b.Envelope
	lock, err := s.lockReceive(env.ID)
	if err != nil {
		return nil, s.rejected(ctx, subj, err)
	}
	defer lock.unlock()
	if err := s.admit(b, req); err != nil {
		return nil, s.rejected(ctx, subj, err)
	}
	if !b.Complete() {
		g, gerr := s.gather(ctx, b, req, subj) // not err: the deferred check reads the result
		if gerr != nil {
			return nil, gerr
		}
		b = g
		defer func() {
			// Released or rejected, the spool's copy is done with; after
			// a full disk or a cancel it waits for another try.
			if err == nil || errors.Is(err, ErrRejected) {
				os.RemoveAll(g.Dir)
			}
		}()
	}
	// Resolved once (links followed as far as it exists) and used as such
	// from here on; checked before it is created: a release folder inside
	// the bundle would itself spoil the bundle.
	if out, err := resolveExisting(req.OutDir); err == nil {
		req.OutDir = out
	}
	if err := checkReleaseDir(req.OutDir, dir); err != nil {
		return nil, s.rejected(ctx, subj, err)
	}
	if err := os.MkdirAll(req.OutDir, 0o755); err != nil {
		return nil, s.rejected(ctx, subj, fmt.Errorf("create the release folder: %w", err))
	}
	if info, err := os.Stat(req.OutDir); err != nil || !info.IsDir() {
		return nil, s.rejected(ctx, subj, fmt.Errorf("the release folder %s is not a folder; choose another", safetext.Line(req.OutDir)))
	}
	final := filepath.Join(req.OutDir, env.ID)
	if _, err := os.Lstat(final); err == nil {
		// Not the bundle's fault: outcome "failed", and a gathered
		// spanning bundle stays in the spool for the next try.
		return nil, s.rejected(ctx, subj, fmt.Errorf("%s already exists: this bundle was released before, or something else has its name; move it away to receive again", final))
	}
	q, err := s.quarantine(req.OutDir, env.ID)
	if err != nil {
		return nil, s.rejected(ctx, subj, err)
	}
	released, kept := false, false
	defer func() {
		if !released && !kept {
			s.dropQuarantine(q, env.ID)
		}
	}()
	root, err := os.OpenRoot(q)
	if err != nil {
		return nil, s.rejected(ctx, subj, fmt.Errorf("open quarantine: %w", err))
	}
	pdf := pdfcheck.New()
	defer pdf.Close()
	var early *earlyChecks
	if !skipContentChecks {
		early = s.newEarlyChecks(ctx, q, pdf)
	}
	b.OnFile = early.onFile()
	// Each entry is held to the policy's limits as its header is read,
	// before anything of it is written (checkEntries checks the manifest
	// again after).
	b.MaxFileSize, b.MaxPathDepth = s.Policy.MaxFileSize, s.Policy.MaxPathDepth
	// Originals the sender sealed (checkPolicy let them in) go beside
	// the quarantine, and are kept once the bundle is released or held.
	var originals *sealedOriginals
	if env.Originals != nil {
		if originals, err = s.newSealedOriginals(env.ID); err != nil {
			return nil, s.rejected(ctx, subj, err)
		}
		defer func() {
			if errors.As(err, new(*NotTakenBackError)) {
				originals.settle() // its content stays released: so do they
			}
			originals.drop()
		}()
		b.Originals = originals.root
	}
	v, err := b.Extract(ctx, []age.Identity{s.Keys.Identity}, root, req.Progress)
	root.Close()
	if err != nil {
		return nil, s.rejected(ctx, subj, err)
	}
	seal, err := s.checkSeal(env, v)
	if err != nil {
		return nil, s.rejected(ctx, subj, err)
	}
	if err := s.Policy.checkEntries(v.Manifest.Entries); err != nil {
		return nil, s.rejected(ctx, subj, err)
	}
	content := &ContentReport{Files: v.Files, Families: map[string]int64{"unchecked (bench build)": v.Files}}
	var kioskDone []KioskTransformed
	if env.Update != nil {
		if content, err = s.checkUpdatePayload(ctx, q, env, v.Manifest.Entries, false); err != nil {
			return nil, s.rejected(ctx, subj, err)
		}
	} else if !skipContentChecks {
		if content, err = s.inspectContent(ctx, q, v.Manifest.Entries, early, pdf); err != nil {
			return nil, s.rejected(ctx, subj, err)
		}
		reinspect := s.reinspector(ctx, q, pdf)
		kt, err := s.checkTransforms(ctx, q, v.Manifest.Entries, early.kindsIfComplete(v.Manifest.Entries), content, reinspect)
		if err != nil {
			return nil, s.rejected(ctx, subj, err)
		}
		// Transformed even when another file is held: what an officer
		// may release after review is then the transformed content.
		if kioskDone, err = s.transformInQuarantine(ctx, q, env.ID, kt, content, reinspect); err != nil {
			return nil, s.rejected(ctx, subj, err)
		}
	}
	if originals != nil {
		content.SealedOriginals, content.SealedOriginalsDir = v.Originals, originals.dir
	}
	if len(content.Held) > 0 {
		if err := s.recordTransformed(env.ID, env.Sender.Name, kioskTransformedLines(kioskDone)); err != nil {
			return nil, s.rejected(ctx, subj, err)
		}
		if err := originals.keep(); err != nil {
			return nil, s.rejected(ctx, subj, err)
		}
		err := s.hold(ctx, subj, env, v, seal, q, req.OutDir, content)
		kept = errors.As(err, new(*HeldError))
		if kept {
			originals.settle()
		}
		return nil, err
	}
	reason := "signature, every file and the sender's seal record verified; " + content.Summary()
	if env.Update != nil {
		reason = fmt.Sprintf("update %s %s: release signature, every file and the release key's seal record verified", env.Update.Kind, env.Update.Version)
		if len(content.Scanners) > 0 {
			reason += "; scanned clean by " + strings.Join(content.Scanners, ", ")
		}
		now := time.Now()
		if req.Now != nil {
			now = req.Now()
		}
		if req.ageOverride != "" && env.Created.Before(now.Add(-s.Policy.MaxAge)) {
			reason += fmt.Sprintf("; sealed %s, older than max_age %s, accepted by the officer: %s", env.Created.Format(time.RFC3339), s.Policy.MaxAge, req.ageOverride)
		}
	}
	if env.Span != nil {
		reason += fmt.Sprintf("; gathered from %d drives", env.Span.Drives)
	}
	receivedRec := custody.Record{Event: custody.EventReceived, Bundle: env.ID, Peer: env.Sender.Name, ManifestSHA256: v.ManifestSHA256.String(),
		Files: v.Files, Bytes: v.ContentBytes, Media: subj.media, Path: subj.path, Outcome: "ok", Reason: reason, Seal: seal}
	if err := custody.Fits(receivedRec, recordMargin); err != nil {
		return nil, s.rejected(ctx, subj, fmt.Errorf("%w: the sender's custody record cannot be kept in this station's log (%v); the bundle cannot be accounted for", ErrRejected, err))
	}
	if err := durable.SyncTree(q); err != nil {
		return nil, s.rejected(ctx, subj, fmt.Errorf("make quarantine durable: %w", err))
	}
	if err := ctx.Err(); err != nil {
		return nil, s.rejected(ctx, subj, err)
	}
	released2 := "released"
	if v.DatesNotKept > 0 {
		released2 = fmt.Sprintf("released; %d file date(s) could not be kept by the release folder's filesystem, e.g. %s", v.DatesNotKept, v.DateExample)
	}
	if len(kioskDone) > 0 {
		released2 += fmt.Sprintf("; %d file(s) transformed into a simple form before release, the originals kept in %s",
			len(kioskDone), filepath.Join(s.Home, originalsDir, env.ID))
	}
	releasedRec := custody.Record{Event: custody.EventReleased, Bundle: env.ID, Peer: env.Sender.Name, ManifestSHA256: v.ManifestSHA256.String(),
		Files: v.Files, Bytes: v.ContentBytes, Path: final, Outcome: "ok", Reason: released2}
	if err := originals.keep(); err != nil {
		return nil, s.rejected(ctx, subj, err)
	}
	// The journal lets the next receive record this release if the
	// process dies between the rename and the records (see recoverReleases).
	journal, err := s.writeJournal(q, final, receivedRec, releasedRec)
	if err != nil {
		return nil, s.rejected(ctx, subj, err)
	}
	defer os.Remove(journal) // unrelease removes it first
	// The quarantine was the station user's alone (0700); what is released
	// is readable like any folder the officer makes.
	if err := os.Chmod(q, 0o755); err != nil {
		return nil, s.rejected(ctx, subj, fmt.Errorf("release: %w", err))
	}
	testHook("before-rename")
	if err := durable.RenameNoReplace(q, final); err != nil {
		if errors.Is(err, fs.ErrExist) {
			err = fmt.Errorf("%s appeared while the bundle was being checked; nothing was released: move it away and receive again", final)
		}
		return nil, s.rejected(ctx, subj, fmt.Errorf("release: %w", err))
	}
	released = true
	testHook("after-rename")
	os.Remove(filepath.Join(s.Home, receivingDir, env.ID+".where"))
	if p := filepath.Dir(q); filepath.Base(p) == quarantineLocal {
		os.Remove(p)
	}
	if err := durable.SyncDir(req.OutDir); err != nil {
		return nil, s.unrelease(ctx, subj, final, q, fmt.Errorf("release: %w", err))
	}
	// Marked seen first, so the records never say released for a bundle a
	// second copy of could be released again; both are taken back if the
	// log cannot take the records.
	if err := s.markSeen(env.ID); err != nil {
		return nil, s.unrelease(ctx, subj, final, q, err)
	}
	recs := append([]custody.Record{receivedRec}, transformedRecords(env.ID, env.Sender.Name, kioskTransformedLines(kioskDone))...)
	if err := s.recordAll(append(recs, releasedRec)...); err != nil {
		s.unmarkSeen(env.ID)
		return nil, s.unrelease(ctx, subj, final, q, err)
	}
	originals.settle()
	testHook("after-records")
	return &Received{Envelope: env, Verified: v, Dir: final, Source: dir, Content: content}, nil
}

// NotTakenBackError says content was released, could not be recorded, and
// could not be taken back either: a front end must say it is still there.
type NotTakenBackError struct {
	Dir string
	Err error
}

func (e *NotTakenBackError) Error() string { return e.Err.Error() }
func (e *NotTakenBackError) Unwrap() error { return e.Err }

// testHookAt, set only by tests, runs at named points of a release
// ("before-rename", "after-rename", "after-records"): a test kills the
// process there to prove recoverReleases.
var testHookAt func(point string)

func testHook(point string) {
	if testHookAt != nil {
		testHookAt(point)
	}
}

// unrelease takes back a release whose custody records could not be
// written (a full station home): content the log does not account for is
// never left released.
func (s *Station) unrelease(ctx context.Context, subj subject, final, q string, err error) error {
	// Back under the quarantine's name first, so the release folder loses
	// the whole bundle in one step (its hidden parent may be gone already);
	// only then is the journal dropped, so a crash in between leaves a
	// quarantine that recovery knows was not released.
	os.MkdirAll(filepath.Dir(q), 0o700)
	if rerr := os.Rename(final, q); rerr != nil {
		q = final
	}
	os.Remove(filepath.Join(s.Home, receivingDir, subj.id+journalSuffix))
	if rerr := os.RemoveAll(q); rerr != nil {
		return &NotTakenBackError{Dir: final, Err: fmt.Errorf("bundle %s was released to %s but could not be recorded (%w), and taking the release back failed: %v; remove %s by hand", subj.id, final, err, rerr, final)}
	}
	s.dropQuarantine(q, subj.id)
	durable.SyncDir(filepath.Dir(final))
	return s.rejected(ctx, subj, fmt.Errorf("nothing was released: %w", err))
}

// subject is what custody records say about the bundle a receive concerns:
// as much as is known, and only what was verified.
type subject struct {
	id, peer string
	// path and media: the folder or drive the bundle was read from.
	path  string
	media *custody.Media
}

// attribute names the bundle and its sender in subj once b's envelope is
// known to be signed by the trusted station it names; an envelope that is
// not is only "a folder on this drive".
func (s *Station) attribute(subj *subject, b *bundle.Bundle) {
	if b == nil || b.Envelope == nil {
		return
	}
	c, ok, err := s.Trusted(b.Envelope.Sender.Name)
	if err == nil && ok && b.VerifySignature(c.SigningKey) == nil {
		subj.id, subj.peer = b.Envelope.ID, b.Envelope.Sender.Name
	}
}

// gather copies one drive's share of a spanning bundle into the spool and
// returns the spool's bundle once every drive has been read.
func (s *Station) gather(ctx context.Context, part *bundle.Bundle, req ReceiveRequest, subj subject) (*bundle.Bundle, error) {
	env := part.Envelope
	spool := filepath.Join(s.Home, "spool", "in")
	if err := os.MkdirAll(spool, 0o700); err != nil {
		return nil, s.rejected(ctx, subj, fmt.Errorf("create the incoming spool: %w", err))
	}
	s.dropStale(spool)
	g, err := bundle.Gather(ctx, part, spool, req.Progress)
	if err != nil {
		return nil, s.rejected(ctx, subj, fmt.Errorf("gather drive of bundle %s: %w", env.ID, err))
	}
	if g.Complete() {
		return g, nil
	}
	return nil, missingDrives(g)
}

// dropStale removes from the spool the drives gathered for bundles whose
// other drives never came within the policy's maximum age: the bundle
// would be refused as stale anyway.
func (s *Station) dropStale(spool string) {
	ents, _ := os.ReadDir(spool)
	for _, e := range ents {
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > s.Policy.MaxAge {
			os.RemoveAll(filepath.Join(spool, e.Name()))
		}
	}
}

// MissingDrivesError says which drives of a spanning bundle the kiosk has
// not read yet. It is not a rejection: the volumes read so far wait in the
// spool for the others.
type MissingDrivesError struct {
	BundleID string
	Drives   int
	// Missing lists each drive still needed (from 1) with its volumes.
	Missing []MissingDrive
}

// MissingDrive is one drive a kiosk still needs.
type MissingDrive struct {
	Drive int
	// Volumes are the numbers (from 1) of the volumes it must supply.
	Volumes []int
}

func (e *MissingDrivesError) Error() string {
	var ds []string
	for _, m := range e.Missing {
		ds = append(ds, fmt.Sprintf("drive %d of %d (volume%s %s)", m.Drive, e.Drives, plural(len(m.Volumes)), ranges(m.Volumes)))
	}
	return fmt.Sprintf("bundle %s is not complete yet: insert %s and receive it; the volumes read so far wait on this station",
		e.BundleID, strings.Join(ds, ", "))
}

func missingDrives(g *bundle.Bundle) *MissingDrivesError {
	e := g.Envelope
	me := &MissingDrivesError{BundleID: e.ID, Drives: e.Drives()}
	for _, i := range g.Missing() {
		d := e.DriveOf(i) + 1
		if n := len(me.Missing); n == 0 || me.Missing[n-1].Drive != d {
			me.Missing = append(me.Missing, MissingDrive{Drive: d})
		}
		last := &me.Missing[len(me.Missing)-1]
		last.Volumes = append(last.Volumes, i+1)
	}
	return me
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// ranges writes sorted numbers as "1-4, 7, 9-10".
func ranges(ns []int) string {
	var out []string
	for i := 0; i < len(ns); {
		j := i
		for j+1 < len(ns) && ns[j+1] == ns[j]+1 {
			j++
		}
		if j == i {
			out = append(out, fmt.Sprint(ns[i]))
		} else {
			out = append(out, fmt.Sprintf("%d-%d", ns[i], ns[j]))
		}
		i = j + 1
	}
	return strings.Join(out, ", ")
}

// admit runs every check that needs no decryption: trusted sender and valid
// signature, this station a recipient, policy, replay.
func (s *Station) admit(b *bundle.Bundle, req ReceiveRequest) error {
	env := b.Envelope
	c, ok, err := s.Trusted(env.Sender.Name)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: bundle is signed by %q, a station this kiosk does not trust; if it should, add its card with sluice trust add", ErrRejected, env.Sender.Name)
	}
	if err := b.VerifySignature(c.SigningKey); err != nil {
		return err
	}
	if !s.isRecipient(env) {
		return fmt.Errorf("%w: bundle was sealed for %s, not for this station (%s)", ErrRejected, env.RecipientNames(), s.Name)
	}
	if err := s.checkRole(c, env, req); err != nil {
		return err
	}
	return s.checkPolicy(env, req)
}

func (s *Station) checkPolicy(env *bundle.Envelope, req ReceiveRequest) error {
	now := time.Now()
	if req.Now != nil {
		now = req.Now()
	}
	p := s.Policy
	switch {
	case env.Files+env.Dirs > p.MaxFiles:
		return fmt.Errorf("%w: policy: bundle holds %d entries, more than the %d allowed", ErrRejected, env.Files+env.Dirs, p.MaxFiles)
	case env.Originals != nil && env.Files+env.Dirs+env.Originals.Files > p.MaxFiles:
		return fmt.Errorf("%w: policy: bundle holds %d entries and %d sealed originals, more than the %d allowed", ErrRejected, env.Files+env.Dirs, env.Originals.Files, p.MaxFiles)
	case env.ContentBytes > p.MaxBytes:
		return fmt.Errorf("%w: policy: bundle holds %d bytes, more than the %d allowed", ErrRejected, env.ContentBytes, p.MaxBytes)
	case env.Originals != nil && env.Update != nil:
		return fmt.Errorf("%w: an update carries no originals, and this one declares %d; it was not made by sluice release pack", ErrRejected, env.Originals.Files)
	case env.Originals != nil && !p.Transform.SealOriginals:
		return fmt.Errorf("%w: policy: bundle carries the originals of %d transformed file(s), and this station does not accept sealed originals; the sender imports this station's policy again (sluice policy import), or the technician sets [transform] seal_originals = true",
			ErrRejected, env.Originals.Files)
	case env.Originals != nil && env.ContentBytes+env.Originals.Bytes > p.MaxBytes:
		return fmt.Errorf("%w: policy: bundle holds %d bytes and %d bytes of sealed originals, more than the %d allowed", ErrRejected, env.ContentBytes, env.Originals.Bytes, p.MaxBytes)
	case env.Created.After(now.Add(p.MaxClockSkew)):
		return fmt.Errorf("%w: policy: bundle is dated %s, in the future; check both stations' clocks", ErrRejected, env.Created.Format(time.RFC3339))
	case env.Created.Before(now.Add(-p.MaxAge)) && req.ageOverride == "":
		return fmt.Errorf("%w: policy: bundle is stale: sealed %s, more than %s ago", ErrRejected, env.Created.Format(time.RFC3339), p.MaxAge)
	}
	if err := p.senderMayRelease(env.Sender.Name, req.OutDir); err != nil {
		return err
	}
	if _, err := os.Lstat(filepath.Join(s.Home, reviewDir, env.ID+".json")); err == nil {
		return fmt.Errorf("%w: bundle %s is already held for review on this station: see sluice review show %s", ErrRejected, env.ID, env.ID)
	}
	seen, err := s.seen(env.ID)
	if err != nil {
		return err
	}
	if seen {
		if by := s.receivedFrom(env.ID); by != "" && by != env.Sender.Name {
			// Ids are the sender's to choose: another trusted station
			// used this one first, by chance or having seen it.
			return fmt.Errorf("%w: bundle id %s was already used here by %s, and this bundle is from %s: two stations cannot share a bundle id; ask %s to pack it again (a new id), and tell the security officer that %s sent this id first",
				ErrRejected, env.ID, by, env.Sender.Name, env.Sender.Name, by)
		}
		return fmt.Errorf("%w: bundle %s was already received here (replay)", ErrRejected, env.ID)
	}
	return nil
}

// receivedFrom is the sender of the bundle id that this station's custody
// log last says it released or held for review, or "".
func (s *Station) receivedFrom(id string) string {
	by := ""
	custody.Each(s.CustodyPath, func(_ []byte, r custody.Record) error {
		if r.Bundle == id && (r.Event == custody.EventReleased || r.Event == custody.EventHeld) && r.Peer != "" {
			by = r.Peer
		}
		return nil
	})
	return by
}

// Seen says whether bundle id was received here before (released,
// rejected after review, or held): a second copy is refused as a replay.
func (s *Station) Seen(id string) bool {
	ok, err := s.seen(id)
	return ok || err != nil
}

func (s *Station) seen(id string) (bool, error) {
	if _, err := os.Lstat(filepath.Join(s.Home, seenDir, id)); err == nil {
		return true, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("replay check: %w", err)
	}
	// Stations made before the seen folder kept a list.
	f, err := regfile.Open(filepath.Join(s.Home, seenFile))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("replay check: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == id {
			return true, nil
		}
	}
	return false, sc.Err()
}

// markSeen marks bundle id as released here, for the replay check: an
// empty file named by the id, which needs no data block (a full disk can
// still take it) and can always be taken back by unmarkSeen.
func (s *Station) markSeen(id string) error {
	dir := filepath.Join(s.Home, seenDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("replay record: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, id), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("replay record: %w", err)
	}
	f.Close()
	if err := durable.SyncDir(dir); err != nil {
		os.Remove(filepath.Join(dir, id))
		return fmt.Errorf("replay record: %w", err)
	}
	return nil
}

func (s *Station) unmarkSeen(id string) {
	os.Remove(filepath.Join(s.Home, seenDir, id))
	durable.SyncDir(filepath.Join(s.Home, seenDir))
}

// rejected records that a bundle was not released, and why, and returns
// err. The outcome is "rejected" when the bundle is at fault (err wraps
// ErrRejected) and "failed" when the station is (a full disk, a release
// folder that is a file); a cancel says by whom or what. A reason too long
// for one record is cut, never dropped.
func (s *Station) rejected(ctx context.Context, subj subject, err error) error {
	reason, outcome := err.Error(), "failed"
	if errors.Is(err, ErrRejected) {
		outcome = "rejected"
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		what := "receive"
		if subj.id != "" {
			what += " of bundle " + subj.id
		}
		reason = what + " " + CancelReason(ctx) + "; nothing was released"
		outcome = "cancelled"
		err = fmt.Errorf("%s: %w", reason, err)
	}
	if len(reason) > maxReason {
		reason = reason[:maxReason] + "…"
	}
	r := custody.Record{Event: custody.EventRejected, Bundle: subj.id, Peer: subj.peer, Media: subj.media,
		Path: subj.path, Outcome: outcome, Reason: reason}
	if lerr := s.record(r); lerr != nil {
		return errors.Join(err, fmt.Errorf("and the custody record of it failed: %w", lerr))
	}
	return err
}

// recordMargin is room kept under the line limit when a received record
// is measured before the release: the fields the log fills in (station,
// officer, sequence, previous hash, time) and the note recovery may add.
const recordMargin = 1024

// maxReason bounds a record's reason, so that with its other fields (a
// path, a drive's identity, escaped if need be) it stays within the log's
// line limit.
const maxReason = 4096

// checkSeal checks the sender's custody record that travelled in the
// payload: signed by the sender's key, included in its log, and about this
// very bundle and manifest.
func (s *Station) checkSeal(env *bundle.Envelope, v *bundle.Verified) (*custody.SealProof, error) {
	if v.SealRecord == nil {
		return nil, fmt.Errorf("%w: bundle carries no custody record from its sender, so the two logs could not be reconciled", ErrRejected)
	}
	var p custody.SealProof
	if err := strictjson.Decode(v.SealRecord, &p); err != nil {
		return nil, fmt.Errorf("%w: the sender's custody record is malformed: %v", ErrRejected, err)
	}
	verifier, err := s.Verifier(env.Sender.Name)
	if err != nil {
		return nil, err
	}
	rec, err := custody.CheckSeal(&p, verifier, custody.Origin(env.Sender.Name))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRejected, err)
	}
	if rec.Bundle != env.ID || rec.ManifestSHA256 != v.ManifestSHA256.String() || rec.Station != env.Sender.Name {
		return nil, fmt.Errorf("%w: the sender's custody record is about another bundle or manifest", ErrRejected)
	}
	if rec.Event != custody.EventSealed {
		return nil, fmt.Errorf("%w: the sender's custody record is a %q record, not the seal of this bundle", ErrRejected, safetext.Line(rec.Event))
	}
	if !slices.Contains(strings.Split(rec.Peer, ","), s.Name) {
		return nil, fmt.Errorf("%w: the sender's custody record says the bundle was sealed for %s, not for this station (%s)", ErrRejected, safetext.Line(rec.Peer), s.Name)
	}
	return &p, nil
}
