package app

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"sluice/crypto"
	"sluice/internal/safetext"
	"sluice/transfer/bundle"
	"sluice/transfer/custody"
)

// sealApprovalMessage is what an officer signs to approve sealing staged
// files (SSHSIG, namespace sluice-seal-approval@sluice): the station, the
// recipients, and the exact files with their SHA-256, so the approval
// holds for that content only. Sealing aborts if a file changes after it.
type sealApprovalMessage struct {
	Format  string   `json:"format"` // "sluice-seal-approval/1"
	Station string   `json:"station"`
	To      []string `json:"to"` // sorted
	Files   int      `json:"files"`
	Bytes   int64    `json:"bytes"`
	// FilesSHA256 is the SHA-256 of the staged files listed as sha256sum
	// prints them ("HEX  PATH\n"), sorted by path.
	FilesSHA256 string `json:"files_sha256"`
	// Originals, OriginalBytes and OriginalsSHA256 are the same of the
	// originals sealed beside the transformed files (bundle.SealOptions
	// .Originals), when any are: they cross too, so they are approved too.
	Originals       int    `json:"originals,omitempty"`
	OriginalBytes   int64  `json:"original_bytes,omitempty"`
	OriginalsSHA256 string `json:"originals_sha256,omitempty"`
}

// sealMessage is the approval message for sealing srcs and originals,
// every file of which must carry its SHA-256 (HashSources).
func sealMessage(station string, to []string, srcs, originals []bundle.Source) ([]byte, *sealApprovalMessage, error) {
	to = slices.Clone(to)
	sort.Strings(to)
	m := &sealApprovalMessage{Format: "sluice-seal-approval/1", Station: station, To: to}
	var err error
	if m.Files, m.Bytes, m.FilesSHA256, err = fileList(srcs); err != nil {
		return nil, nil, err
	}
	if len(originals) > 0 {
		if m.Originals, m.OriginalBytes, m.OriginalsSHA256, err = fileList(originals); err != nil {
			return nil, nil, err
		}
	}
	b, err := json.Marshal(m)
	return b, m, err
}

// fileList counts the files of srcs and their bytes, and hashes their
// list as sha256sum prints it, sorted by path.
func fileList(srcs []bundle.Source) (files int, size int64, sum string, err error) {
	var lines []string
	for _, src := range srcs {
		if src.Type != bundle.TypeFile {
			continue
		}
		if src.SHA256 == nil {
			return 0, 0, "", fmt.Errorf("approve sealing: %s is not hashed yet", src.Path)
		}
		lines = append(lines, src.SHA256.String()+"  "+src.Path+"\n")
		size += src.Size
	}
	slices.SortFunc(lines, func(a, b string) int { return strings.Compare(a[66:], b[66:]) })
	h := sha256.New()
	for _, l := range lines {
		h.Write([]byte(l))
	}
	return len(lines), size, hex.EncodeToString(h.Sum(nil)), nil
}

// approveSeal enforces review.require_seal_approvals before a seal: the
// staged files are hashed (if the officer's review has not hashed them
// already), and each approver, a different enrolled officer who is not the
// one sealing (s.Officer), signs the message naming them and the
// originals sealed beside them (originals); each approval
// becomes an "approved" record. It returns the approvers' names and the
// files_sha256 they signed (which the "sealed" record repeats: the
// approvals are recorded before the bundle has an id), or an error saying
// what is missing; the refusal is recorded.
func (s *Station) approveSeal(ctx context.Context, req PackRequest, originals []bundle.Source, peers string) (names []string, filesSHA256 string, err error) {
	need := s.Policy.RequireSealApprovals
	if need == 0 {
		return nil, "", nil
	}
	refuse := func(format string, args ...any) ([]string, string, error) {
		err := fmt.Errorf(format, args...)
		if _, lerr := s.appendRecord(custody.Record{Event: custody.EventSealFailed, Peer: peers, Outcome: "rejected",
			Reason: "not sealed: " + err.Error()}); lerr != nil {
			return nil, "", lerr
		}
		return nil, "", err
	}
	enrolled, err := s.Officers()
	if err != nil {
		return nil, "", err
	}
	if len(enrolled) == 0 {
		return refuse("the policy requires %d officer approval(s) to seal, but no officer is enrolled on this station; a technician enrolls them (sluice officer add)", need)
	}
	if s.signedIn == nil {
		return refuse("the policy requires %d officer approval(s) to seal: the officer sealing signs in first (--officer NAME), so another can approve", need)
	}
	if err := s.needOfficer("seal"); err != nil { // signed in, since removed
		return refuse("%v", err)
	}
	var who []string
	keys := map[string]bool{s.signedIn.Fingerprint: true}
	for _, a := range req.Approvers {
		if o, err := s.officer(a.Name); err != nil || string(o.Key.Marshal()) != string(a.Key.Marshal()) {
			return refuse("officer %s is not enrolled on this station with that key", safetext.Line(a.Name))
		}
		switch {
		case a.Fingerprint == s.signedIn.Fingerprint:
			return refuse("officer %s is sealing and cannot also approve; another officer must approve", a.Name)
		case keys[a.Fingerprint]:
			return refuse("officer %s approved twice; each approval must come from a different officer", a.Name)
		}
		keys[a.Fingerprint] = true
		who = append(who, a.Name)
	}
	if len(who) < need {
		return refuse("the policy requires %d approval(s) from officers other than the one sealing (%s); %d given: add --approver NAME", need, s.Officer, len(who))
	}
	if err := HashSources(ctx, req.Sources, nil, nil); err != nil {
		return nil, "", err
	}
	msg, m, err := sealMessage(s.Name, req.To, req.Sources, originals)
	if err != nil {
		return nil, "", err
	}
	var recs []custody.Record
	for _, a := range req.Approvers {
		sig, err := crypto.SignSSH(a.signer, crypto.NamespaceSealApproval, msg)
		if err != nil {
			return nil, "", fmt.Errorf("officer %s's approval: %w", a.Name, err)
		}
		recs = append(recs, custody.Record{Event: custody.EventApproved, Peer: peers, Officer: a.Name, Outcome: "ok",
			Reason: fmt.Sprintf("sealing approved by %s (%s): %s; signature %s", a.Name, a.Fingerprint, msg, base64.StdEncoding.EncodeToString(sig))})
	}
	if err := s.recordAll(recs...); err != nil {
		return nil, "", err
	}
	return who, m.FilesSHA256, nil
}
