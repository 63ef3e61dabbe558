package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"encoding/base64"

	"sluice/crypto"
	"sluice/internal/durable"
	"sluice/internal/regfile"
	"sluice/internal/safetext"
	"sluice/transfer/bundle"
	"sluice/transfer/custody"
	"sluice/transfer/inspect"
)

// reviewDir holds, in a station's home, the bundles held for review: one
// HOME/review/<id>.json each, and their content in HOME/review/<id>/ (or,
// when the home is on another filesystem than the release folder, in
// OUT/.sluice-quarantine/<id>/), readable by the station's user only.
const reviewDir = "review"

// Held is a bundle held for an officer's review: every file was verified
// against the signed manifest, and at least one was held by the policy's
// content checks. Nothing of it is released until an officer decides.
type Held struct {
	ID             string             `json:"id"`
	Sender         string             `json:"sender"`
	Created        time.Time          `json:"created"`
	HeldAt         time.Time          `json:"held_at"`
	Note           string             `json:"note,omitempty"`
	ManifestSHA256 string             `json:"manifest_sha256"`
	Files          int64              `json:"files"`
	Dirs           int64              `json:"dirs"`
	Bytes          int64              `json:"bytes"`
	Out            string             `json:"out"`     // the release folder it was received for
	Content        string             `json:"content"` // where its verified content waits
	Source         string             `json:"source"`  // the folder it was read from
	Media          *custody.Media     `json:"media,omitempty"`
	Summary        string             `json:"summary"`
	Reports        []inspect.Report   `json:"held"`
	Seal           *custody.SealProof `json:"seal,omitempty"`
	// Approvals are officers' signed approvals of a decision on it.
	Approvals []Approval `json:"approvals,omitempty"`
}

// HeldError says a bundle was held for review rather than released.
type HeldError struct{ Held *Held }

func (e *HeldError) Error() string {
	h := e.Held
	first := h.Reports[0].Findings[0]
	return fmt.Sprintf("bundle %s from %s held for review: %d of %d file(s) held (first: %s: %s); nothing was released: see sluice review show %s",
		h.ID, h.Sender, len(h.Reports), h.Files, first.Path, first.Detail, h.ID)
}

// maxHeldRecords bounds the per-file "held" custody records of one bundle;
// past it one record says how many more were held (the review lists all).
const maxHeldRecords = 1000

// hold keeps a verified bundle whose content the policy holds: its
// quarantine becomes a review item, the bundle is marked seen (it cannot
// be received again while, or after, it is reviewed), and the log gets an
// "inspected" record (outcome held, with the sender's seal proof) and one
// "held" record per held file, all or none. On any failure nothing is
// kept and the bundle is rejected as "failed".
func (s *Station) hold(ctx context.Context, subj subject, env *bundle.Envelope, v *bundle.Verified, seal *custody.SealProof,
	q, out string, content *ContentReport) error {
	if err := durable.SyncTree(q); err != nil {
		return s.rejected(ctx, subj, fmt.Errorf("make quarantine durable: %w", err))
	}
	rdir := filepath.Join(s.Home, reviewDir)
	if err := os.MkdirAll(rdir, 0o700); err != nil {
		return s.rejected(ctx, subj, fmt.Errorf("hold for review: %w", err))
	}
	where := q
	if filepath.Dir(q) == filepath.Join(s.Home, receivingDir) {
		where = filepath.Join(rdir, env.ID)
		// Content without its review item was left by a hold killed
		// before it wrote the item: the bundle was not marked seen, no
		// one can decide on it, and it would block this hold for good.
		if _, err := os.Lstat(filepath.Join(rdir, env.ID+".json")); errors.Is(err, fs.ErrNotExist) {
			if err := os.RemoveAll(where); err != nil {
				return s.rejected(ctx, subj, fmt.Errorf("hold for review: remove what a killed hold left: %w", err))
			}
		}
		if err := durable.RenameNoReplace(q, where); err != nil {
			return s.rejected(ctx, subj, fmt.Errorf("hold for review: %w", err))
		}
	}
	h := &Held{ID: env.ID, Sender: env.Sender.Name, Created: env.Created, HeldAt: time.Now().UTC().Truncate(time.Second), Note: env.Note,
		ManifestSHA256: v.ManifestSHA256.String(), Files: v.Files, Dirs: v.Dirs, Bytes: v.ContentBytes, Out: out, Content: where,
		Source: subj.path, Media: subj.media, Summary: content.Summary(), Reports: content.Held, Seal: seal}
	undo := func(err error) error {
		os.Remove(filepath.Join(rdir, env.ID+".json"))
		if where != q {
			os.Rename(where, q) // back where the deferred clean-up removes it
		}
		return s.rejected(ctx, subj, err)
	}
	// The log first: whatever happens next, it accounts for the hold
	// before any officer could act on it. A hold killed after the records
	// leaves content without a review item, which the next receive of the
	// bundle clears (above) and holds again.
	recs := []custody.Record{{Event: custody.EventInspected, Bundle: env.ID, Peer: env.Sender.Name, ManifestSHA256: h.ManifestSHA256,
		Files: v.Files, Bytes: v.ContentBytes, Media: subj.media, Path: subj.path, Outcome: "held", Seal: seal,
		Reason: h.Summary + "; held for review, nothing released"}}
	for i, r := range content.Held {
		if i == maxHeldRecords {
			recs = append(recs, custody.Record{Event: custody.EventHeld, Bundle: env.ID, Peer: env.Sender.Name, Outcome: "held",
				Reason: fmt.Sprintf("and %d more file(s) held; sluice review show %s lists them", len(content.Held)-i, env.ID)})
			break
		}
		recs = append(recs, custody.Record{Event: custody.EventHeld, Bundle: env.ID, Peer: env.Sender.Name, Path: r.Path,
			Outcome: "held", Reason: findingsText(r, 2000)})
	}
	if err := s.recordAll(recs...); err != nil {
		return undo(err)
	}
	b, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return undo(err)
	}
	if err := durable.WriteFile(filepath.Join(rdir, env.ID+".json"), b, 0o600); err != nil {
		return undo(fmt.Errorf("the hold could not be kept (%w); nothing was released", err))
	}
	if err := durable.SyncDir(rdir); err != nil {
		return undo(fmt.Errorf("the hold could not be kept (%w); nothing was released", err))
	}
	// A quarantine beside the release folder is now a review item's
	// content: no clean-up may take it (cleanQuarantines also checks).
	if where == q {
		os.Remove(filepath.Join(s.Home, receivingDir, env.ID+".where"))
	}
	if err := s.markSeen(env.ID); err != nil {
		return undo(err)
	}
	return &HeldError{Held: h}
}

// findingsText is a file's findings on one line, at most n bytes.
func findingsText(r inspect.Report, n int) string {
	parts := make([]string, 0, len(r.Findings))
	for _, f := range r.Findings {
		parts = append(parts, f.Text(r.Path))
	}
	t := fmt.Sprintf("%s (%s): %s", r.MIME, r.Family, strings.Join(parts, "; "))
	if len(t) > n {
		t = t[:n] + "…"
	}
	return t
}

// Reviews lists the bundles held for review, oldest first, after
// finishing what an interrupted release left (see CleanQuarantines).
func (s *Station) Reviews() ([]*Held, error) {
	if err := s.CleanQuarantines(); err != nil {
		return nil, err
	}
	paths, err := filepath.Glob(filepath.Join(s.Home, reviewDir, "*.json"))
	if err != nil {
		return nil, err
	}
	var out []*Held
	for _, p := range paths {
		h, err := s.loadHeld(strings.TrimSuffix(filepath.Base(p), ".json"))
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].HeldAt.Before(out[j].HeldAt) || out[i].HeldAt.Equal(out[j].HeldAt) && out[i].ID < out[j].ID
	})
	return out, nil
}

// Review returns the bundle id held for review.
func (s *Station) Review(id string) (*Held, error) { return s.loadHeld(id) }

func (s *Station) loadHeld(id string) (*Held, error) {
	if !bundle.ValidID(id) {
		return nil, fmt.Errorf("%q is not a bundle id; sluice review list shows the bundles held", id)
	}
	b, err := regfile.ReadFile(filepath.Join(s.Home, reviewDir, id+".json"), 64<<20)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no bundle %s is held for review on this station; sluice review list shows the bundles held", id)
	}
	if err != nil {
		return nil, fmt.Errorf("review %s: %w", id, err)
	}
	var h Held
	if err := json.Unmarshal(b, &h); err != nil || h.ID != id {
		return nil, fmt.Errorf("review %s: its record in %s is damaged", id, filepath.Join(s.Home, reviewDir))
	}
	return &h, nil
}

// lockHeld takes the station's receive lock, then reads the held bundle
// id: a decision is made on the item as it is under the lock, so two
// officers approving one after the other from two processes both count.
func (s *Station) lockHeld(id string) (*Held, *receiveLock, error) {
	if _, err := s.loadHeld(id); err != nil {
		return nil, nil, err // a bad or unknown id, said before any lock
	}
	lock, err := s.lockReceive(id)
	if err != nil {
		return nil, nil, err
	}
	h, err := s.undecided(id)
	if err != nil {
		lock.unlock()
		return nil, nil, err
	}
	return h, lock, nil
}

// Decision is an officer's decision on a held bundle.
type Decision struct {
	// Partial releases only the files that passed; the held ones stay in
	// the station's review folder. The policy must allow it.
	Partial bool
	// Note is why, for the record.
	Note string
}

// ReleaseHeld releases a bundle held for review into the release folder it
// was received for, as one rename that never replaces anything, and
// records who overrode which holds. The policy must let an officer
// override every reason a file was held (review.may_override), or, for a
// partial release, allow partial releases (review.partial_release); the
// held files then stay in the station's review folder, and are recorded.
func (s *Station) ReleaseHeld(ctx context.Context, id string, d Decision) (*Received, error) {
	if err := s.needOfficer("release a bundle after review"); err != nil {
		return nil, err
	}
	h, lock, err := s.lockHeld(id)
	if err != nil {
		return nil, err
	}
	defer lock.unlock()
	overridden, err := s.allowed(h, d)
	if err != nil {
		return nil, s.refused(h, "release ("+decisionName(d)+")", err)
	}
	officers, err := s.Officers()
	if err != nil {
		return nil, err
	}
	approvedBy := ""
	if len(officers) > 0 {
		// Officers are enrolled: the decision needs their signatures.
		msg, err := messageFor(h, d)
		if err != nil {
			return nil, err
		}
		who := s.checkApprovals(h, msg)
		if need := s.Policy.RequireApprovals; len(who) < need {
			have := "none yet"
			if len(who) > 0 {
				have = strings.Join(who, ", ")
			}
			return nil, s.refused(h, "release ("+decisionName(d)+")", fmt.Errorf("releasing bundle %s (%s) needs signed approvals from %d different officer(s) (review.require_approvals); it has %s: each approves with sluice review approve %s --officer NAME%s",
				id, decisionName(d), need, have, id, map[bool]string{true: " --partial", false: ""}[d.Partial]))
		}
		approvedBy = ", on the signed approvals of " + strings.Join(who, "+")
	}
	final := filepath.Join(h.Out, id)
	if _, err := os.Lstat(final); err == nil {
		return nil, fmt.Errorf("%s already exists; move it away, then release again", final)
	}
	if _, err := os.Stat(h.Out); err != nil {
		return nil, fmt.Errorf("the release folder %s is gone (%v); restore it, then release again", h.Out, err)
	}
	// Checked again: it may have changed since the bundle was held (made
	// writable by others, or now a removable drive's mount point).
	if err := checkReleaseDir(h.Out, ""); err != nil {
		return nil, err
	}
	files := h.Files
	reason := fmt.Sprintf("released after review by %s%s, overriding %s", s.Officer, approvedBy, strings.Join(overridden, ", "))
	// putBack returns the held files a partial release set aside, when
	// the release does not happen: the bundle stays whole under review.
	var setAside [][2]string
	putBack := func() {
		for _, m := range setAside {
			os.Rename(m[1], m[0])
		}
	}
	if d.Partial {
		kept := h.Content + ".held"
		for _, r := range h.Reports {
			src := filepath.Join(h.Content, filepath.FromSlash(r.Path))
			dst := filepath.Join(kept, filepath.FromSlash(r.Path))
			if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
				putBack()
				return nil, fmt.Errorf("partial release: %w", err)
			}
			if err := os.Rename(src, dst); err != nil && !errors.Is(err, fs.ErrNotExist) {
				putBack()
				return nil, fmt.Errorf("partial release: set aside %s: %w", r.Path, err)
			}
			setAside = append(setAside, [2]string{src, dst})
		}
		files -= int64(len(h.Reports))
		reason = fmt.Sprintf("partly released after review by %s%s: %d held file(s) kept in %s", s.Officer, approvedBy, len(h.Reports), kept)
	}
	if d.Note != "" {
		reason += "; " + d.Note
	}
	receivedRec := custody.Record{Event: custody.EventReceived, Bundle: id, Peer: h.Sender, ManifestSHA256: h.ManifestSHA256,
		Files: h.Files, Bytes: h.Bytes, Media: h.Media, Path: h.Source, Outcome: "ok", Seal: h.Seal,
		Reason: "signature, every file and the sender's seal record verified; " + h.Summary}
	releasedRec := custody.Record{Event: custody.EventReleased, Bundle: id, Peer: h.Sender, ManifestSHA256: h.ManifestSHA256,
		Files: files, Bytes: h.Bytes, Path: final, Outcome: "ok", Reason: reason}
	if err := custody.Fits(receivedRec, recordMargin); err != nil {
		receivedRec.Reason = "signature, every file and the sender's seal record verified; checked by content and held"
	}
	journal, err := s.writeJournal(h.Content, final, receivedRec, releasedRec)
	if err != nil {
		putBack()
		return nil, err
	}
	keepJournal := false
	defer func() {
		if !keepJournal {
			os.Remove(journal)
		}
	}()
	if err := os.Chmod(h.Content, 0o755); err != nil {
		putBack()
		return nil, fmt.Errorf("release: %w", err)
	}
	testHook("before-rename")
	if err := durable.RenameNoReplace(h.Content, final); err != nil {
		os.Chmod(h.Content, 0o700)
		putBack()
		return nil, fmt.Errorf("release: %w; nothing was released", err)
	}
	testHook("after-rename")
	durable.SyncDir(h.Out)
	if err := s.recordAll(receivedRec, releasedRec); err != nil {
		if rerr := os.Rename(final, h.Content); rerr != nil {
			// Released and not recorded: the journal stays, and the next
			// receive records the release from it (recoverReleases).
			keepJournal = true
			return nil, &NotTakenBackError{Dir: final, Err: fmt.Errorf("the release could not be recorded (%v), nor taken back from %s (%v): it stays released, and the next receive records it", err, final, rerr)}
		}
		os.Chmod(h.Content, 0o700)
		putBack()
		return nil, fmt.Errorf("the release could not be recorded (%w), so it was taken back; free space in %s, then release again", err, s.Home)
	}
	os.Remove(filepath.Join(s.Home, reviewDir, id+".json"))
	durable.SyncDir(filepath.Join(s.Home, reviewDir))
	return &Received{Dir: final, Source: h.Source}, nil
}

// allowed says whether the policy lets an officer make decision d on h,
// and what it overrides ("type-mismatch 2", …).
func (s *Station) allowed(h *Held, d Decision) ([]string, error) {
	reasons := map[string]int{}
	for _, r := range h.Reports {
		for _, f := range r.Findings {
			reasons[f.Reason]++
		}
	}
	var overridden []string
	for _, r := range slices.Sorted(maps.Keys(reasons)) { // the same reason named first every time
		overridden = append(overridden, fmt.Sprintf("%s %d", r, reasons[r]))
		if !d.Partial && !slices.Contains(s.Policy.MayOverride, r) {
			return nil, fmt.Errorf("this station's policy does not let an officer release a file held as %s (review.may_override); release the files that passed only, if the policy allows it, or reject the bundle", r)
		}
	}
	if d.Partial && !s.Policy.PartialRelease {
		return nil, errors.New("this station's policy does not allow partial releases (review.partial_release); release the whole bundle or reject it")
	}
	return overridden, nil
}

// MayRelease says why the policy does not let an officer make decision d
// on h (nil if it does), so a front end can offer only what is allowed.
func (s *Station) MayRelease(h *Held, d Decision) error {
	_, err := s.allowed(h, d)
	return err
}

// ApproveHeld records officer o's signed approval of decision d on the
// bundle id held for review, and returns every officer whose approval of
// it now stands. An officer approves a decision once; the release itself
// (ReleaseHeld) needs review.require_approvals of them.
func (s *Station) ApproveHeld(ctx context.Context, id string, d Decision, o *SignedIn) ([]string, error) {
	h, lock, err := s.lockHeld(id)
	if err != nil {
		return nil, err
	}
	defer lock.unlock()
	as := *s
	as.Officer = o.Name
	if _, err := s.allowed(h, d); err != nil {
		return nil, as.refused(h, "approval ("+decisionName(d)+")", err)
	}
	if e, err := s.officer(o.Name); err != nil || e.Fingerprint != o.Fingerprint {
		return nil, as.refused(h, "approval ("+decisionName(d)+")",
			fmt.Errorf("officer %s is not enrolled on this station with the key they signed in with (removed since?); sluice officer list shows who is", safetext.Line(o.Name)))
	}
	msg, err := messageFor(h, d)
	if err != nil {
		return nil, err
	}
	who := s.checkApprovals(h, msg)
	if slices.Contains(who, o.Name) {
		return who, as.refused(h, "approval ("+decisionName(d)+")",
			fmt.Errorf("officer %s has already approved this decision on bundle %s; another officer must approve it", o.Name, id))
	}
	sig, err := crypto.SignSSH(o.signer, crypto.NamespaceApproval, msg)
	if err != nil {
		return nil, err
	}
	a := Approval{Officer: o.Name, Message: string(msg), Signature: base64.StdEncoding.EncodeToString(sig)}
	h.Approvals = append(h.Approvals, a)
	b, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return nil, err
	}
	// Recorded first: an approval the log did not take must not count.
	if err := as.record(custody.Record{Event: custody.EventApproved, Bundle: id, Peer: h.Sender, ManifestSHA256: h.ManifestSHA256,
		Outcome: "ok", Reason: fmt.Sprintf("approved by %s (%s): %s; signature %s", o.Name, o.Fingerprint, a.Message, a.Signature)}); err != nil {
		return nil, fmt.Errorf("not approved: the custody log refused the record: %w", err)
	}
	if err := durable.ReplaceFile(filepath.Join(s.Home, reviewDir, id+".json"), b, 0o600); err != nil {
		return nil, fmt.Errorf("approve: the approval is in the custody log but could not be kept with the bundle (%w); approve again once that is fixed", err)
	}
	return append(who, o.Name), nil
}

// RejectHeld rejects a bundle held for review: its content is removed, and
// with it the originals kept of it (those the sender sealed, those this
// station transformed), and a "rejected" record says who rejected it and
// why.
func (s *Station) RejectHeld(ctx context.Context, id, why string) error {
	if strings.TrimSpace(why) == "" {
		return errors.New("say why the bundle is rejected (--reason); it goes into the custody log")
	}
	if err := s.needOfficer("reject a bundle after review"); err != nil {
		return err
	}
	h, lock, err := s.lockHeld(id)
	if err != nil {
		return err
	}
	defer lock.unlock()
	if err := s.record(custody.Record{Event: custody.EventRejected, Bundle: id, Peer: h.Sender, ManifestSHA256: h.ManifestSHA256,
		Files: h.Files, Bytes: h.Bytes, Path: h.Source, Outcome: "rejected",
		Reason: fmt.Sprintf("rejected at review by %s: %s; %s; %s removed", s.Officer, why, h.Summary, s.keptOf(id))}); err != nil {
		return err
	}
	s.dropRejected(h)
	return nil
}

// refused records that the officer's action what on held bundle h was
// refused, and why (err, returned; joined with the log's error if the
// record failed).
func (s *Station) refused(h *Held, what string, err error) error {
	r := custody.Record{Event: custody.EventRefused, Outcome: "refused", Reason: fmt.Sprintf("%s refused: %v", what, err)}
	if h != nil {
		r.Bundle, r.Peer, r.ManifestSHA256 = h.ID, h.Sender, h.ManifestSHA256
	}
	if len(r.Reason) > maxReason {
		r.Reason = r.Reason[:maxReason] + "…"
	}
	if lerr := s.record(r); lerr != nil {
		return errors.Join(err, fmt.Errorf("and the custody record of it failed: %w", lerr))
	}
	return err
}

// dropRejected removes what is kept of held bundle h once it is rejected:
// its content, what a partial release set aside, the originals kept of
// it, and its review item.
func (s *Station) dropRejected(h *Held) {
	os.RemoveAll(filepath.Join(s.Home, sealedOriginalsDir, h.ID))
	os.RemoveAll(filepath.Join(s.Home, originalsDir, h.ID))
	os.RemoveAll(h.Content)
	os.RemoveAll(h.Content + ".held")
	if p := filepath.Dir(h.Content); filepath.Base(p) == quarantineLocal {
		os.Remove(p)
	}
	os.Remove(filepath.Join(s.Home, reviewDir, h.ID+".json"))
	durable.SyncDir(filepath.Join(s.Home, reviewDir))
}

// putBackSetAside returns into h's content the held files a partial
// release set aside (HOLD.held) when that release never happened (the
// station stopped before it): the bundle is whole again under review.
func putBackSetAside(h *Held) error {
	kept := h.Content + ".held"
	if _, err := os.Lstat(kept); err != nil {
		return nil
	}
	if _, err := os.Lstat(h.Content); err != nil {
		// The rest went out (released, its records not written): the
		// files set aside must not become a bundle of their own.
		return fmt.Errorf("review %s: its content is no longer in %s, and the held files a partial release set aside are in %s: check the release folder %s and the custody log (sluice log verify) before deciding", h.ID, h.Content, kept, h.Out)
	}
	err := filepath.WalkDir(kept, func(p string, e fs.DirEntry, err error) error {
		if err != nil || !e.Type().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(kept, p)
		dst := filepath.Join(h.Content, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return err
		}
		return os.Rename(p, dst)
	})
	if err != nil {
		return fmt.Errorf("review %s: put back the files a partial release set aside in %s: %w", h.ID, kept, err)
	}
	return os.RemoveAll(kept)
}

// keptOf says what rejecting held bundle id removes: its content, and the
// originals kept of it when there are some.
func (s *Station) keptOf(id string) string {
	for _, d := range []string{sealedOriginalsDir, originalsDir} {
		if _, err := os.Lstat(filepath.Join(s.Home, d, id)); err == nil {
			return "its content and the originals kept of it"
		}
	}
	return "its content"
}

// undecided reads the review item of bundle id again, under the receive
// lock (another process may have decided on it since it was first read),
// and makes sure the custody log does not already record a decision: a
// release or rejection killed after its records but before it removed the
// item leaves the item behind, and a bundle is decided once. Such an item
// is removed.
func (s *Station) undecided(id string) (*Held, error) {
	h, err := s.loadHeld(id)
	if err != nil {
		return nil, err
	}
	decided := ""
	if err := custody.Each(s.CustodyPath, func(_ []byte, r custody.Record) error {
		switch {
		case r.Bundle != id:
		case r.Event == custody.EventInspected && r.Outcome == "held":
			decided = ""
		case r.Event == custody.EventReleased:
			decided = "released"
		case r.Event == custody.EventRejected && strings.HasPrefix(r.Reason, "rejected at review"):
			decided = "rejected"
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("review %s: %w", id, err)
	}
	switch decided {
	case "rejected":
		// A rejection stopped after its record: finish it.
		s.dropRejected(h)
	case "released":
		os.Remove(filepath.Join(s.Home, reviewDir, id+".json"))
		durable.SyncDir(filepath.Join(s.Home, reviewDir))
	default:
		// Undecided: a partial release that stopped before its records
		// may have set held files aside; the bundle is whole again.
		if err := putBackSetAside(h); err != nil {
			return nil, err
		}
		return h, nil
	}
	return nil, fmt.Errorf("bundle %s was already %s after review (the custody log records it); its leftover review item is removed", id, decided)
}
