package app

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"

	"sluice/internal/durable"
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
}

// Received describes a released bundle.
type Received struct {
	Envelope *bundle.Envelope
	Verified *bundle.Verified
	// Dir is where the content was released.
	Dir string
}

// Receive checks a bundle and releases it: the sender's signature against
// the trust store, this station among the recipients and the policy, all
// before decrypting; then decryption into a quarantine beside the
// destination, every entry checked against the signed manifest; then one
// rename releases everything at once. A bundle that fails any step releases
// nothing, its quarantine is removed, and a "rejected" custody record says
// why. Errors that reject the bundle wrap ErrRejected.
//
// One drive of a bundle that spans several is checked the same way, then
// its volumes are gathered into the station's spool; Receive returns a
// *MissingDrivesError until the last drive is in, and then releases.
func (s *Station) Receive(ctx context.Context, req ReceiveRequest) (_ *Received, err error) {
	b, err := bundle.OpenPart(req.BundleDir)
	if err == nil && !b.Complete() && b.Envelope.Span == nil {
		b, err = bundle.Open(req.BundleDir) // names the missing volume
	}
	if err != nil {
		return nil, s.rejected("", "", err)
	}
	env := b.Envelope
	if err := s.admit(b, req); err != nil {
		return nil, s.rejected(env.ID, env.Sender.Name, err)
	}
	if !b.Complete() {
		g, gerr := s.gather(ctx, b, req) // not err: the deferred check reads the result
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
	if err := os.MkdirAll(req.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("create output folder: %w", err)
	}
	if err := checkReleaseDir(req.OutDir); err != nil {
		return nil, err
	}
	final := filepath.Join(req.OutDir, env.ID)
	if _, err := os.Lstat(final); err == nil {
		return nil, s.rejected(env.ID, env.Sender.Name, fmt.Errorf("%w: %s already exists: this bundle was released before", ErrRejected, final))
	}
	q := filepath.Join(req.OutDir, ".sluice-quarantine-"+env.ID)
	os.RemoveAll(q) // left by a crash while receiving this same bundle
	if err := os.Mkdir(q, 0o700); err != nil {
		return nil, fmt.Errorf("create quarantine: %w", err)
	}
	released := false
	defer func() {
		if !released {
			os.RemoveAll(q)
		}
	}()
	root, err := os.OpenRoot(q)
	if err != nil {
		return nil, fmt.Errorf("open quarantine: %w", err)
	}
	v, err := b.Extract(ctx, []age.Identity{s.Keys.Identity}, root, req.Progress)
	root.Close()
	if err != nil {
		return nil, s.rejected(env.ID, env.Sender.Name, err)
	}
	seal, err := s.checkSeal(env, v)
	if err != nil {
		return nil, s.rejected(env.ID, env.Sender.Name, err)
	}
	reason := "signature, every file and the sender's seal record verified"
	if env.Span != nil {
		reason += fmt.Sprintf("; gathered from %d drives", env.Span.Drives)
	}
	if err := s.record(custody.Record{Event: custody.EventReceived, Bundle: env.ID, Peer: env.Sender.Name,
		ManifestSHA256: v.ManifestSHA256.String(), Files: v.Files, Bytes: v.ContentBytes, Path: b.Dir, Outcome: "ok",
		Reason: reason, Seal: seal}); err != nil {
		return nil, err
	}
	if err := durable.SyncTree(q); err != nil {
		return nil, s.rejected(env.ID, env.Sender.Name, fmt.Errorf("make quarantine durable: %w", err))
	}
	if err := ctx.Err(); err != nil {
		return nil, s.rejected(env.ID, env.Sender.Name, err)
	}
	if err := s.markSeen(env.ID); err != nil {
		return nil, s.rejected(env.ID, env.Sender.Name, err)
	}
	if err := os.Rename(q, final); err != nil {
		return nil, s.rejected(env.ID, env.Sender.Name, fmt.Errorf("release: %w", err))
	}
	released = true
	if err := durable.SyncDir(req.OutDir); err != nil {
		return nil, err
	}
	err = s.record(custody.Record{Event: custody.EventReleased, Bundle: env.ID, Peer: env.Sender.Name,
		ManifestSHA256: v.ManifestSHA256.String(), Files: v.Files, Bytes: v.ContentBytes, Path: final, Outcome: "ok"})
	return &Received{Envelope: env, Verified: v, Dir: final}, err
}

// gather copies one drive's share of a spanning bundle into the spool and
// returns the spool's bundle once every drive has been read.
func (s *Station) gather(ctx context.Context, part *bundle.Bundle, req ReceiveRequest) (*bundle.Bundle, error) {
	env := part.Envelope
	spool := filepath.Join(s.Home, "spool", "in")
	if err := os.MkdirAll(spool, 0o700); err != nil {
		return nil, fmt.Errorf("create the incoming spool: %w", err)
	}
	s.dropStale(spool)
	g, err := bundle.Gather(ctx, part, spool, req.Progress)
	if err != nil {
		if errors.Is(err, ErrRejected) {
			return nil, s.rejected(env.ID, env.Sender.Name, err)
		}
		return nil, fmt.Errorf("gather drive of bundle %s: %w", env.ID, err)
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
	case env.ContentBytes > p.MaxBytes:
		return fmt.Errorf("%w: policy: bundle holds %d bytes, more than the %d allowed", ErrRejected, env.ContentBytes, p.MaxBytes)
	case env.Created.After(now.Add(p.MaxClockSkew)):
		return fmt.Errorf("%w: policy: bundle is dated %s, in the future; check both stations' clocks", ErrRejected, env.Created.Format(time.RFC3339))
	case env.Created.Before(now.Add(-p.MaxAge)):
		return fmt.Errorf("%w: policy: bundle is stale: sealed %s, more than %s ago", ErrRejected, env.Created.Format(time.RFC3339), p.MaxAge)
	}
	seen, err := s.seen(env.ID)
	if err != nil {
		return err
	}
	if seen {
		return fmt.Errorf("%w: bundle %s was already received here (replay)", ErrRejected, env.ID)
	}
	return nil
}

func (s *Station) seen(id string) (bool, error) {
	f, err := os.Open(filepath.Join(s.Home, seenFile))
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

func (s *Station) markSeen(id string) error {
	f, err := os.OpenFile(filepath.Join(s.Home, seenFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("replay record: %w", err)
	}
	_, err = f.WriteString(id + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("replay record: %w", err)
	}
	return nil
}

// rejected records a rejection and returns err. A cancelled receive is
// recorded too, as the officer's decision.
func (s *Station) rejected(id, peer string, err error) error {
	reason := err.Error()
	if errors.Is(err, context.Canceled) {
		reason = "cancelled by the officer"
	}
	if lerr := s.record(custody.Record{Event: custody.EventRejected, Bundle: id, Peer: peer, Outcome: "rejected", Reason: reason}); lerr != nil {
		return errors.Join(err, lerr)
	}
	return err
}

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
	return &p, nil
}
