// Package custody is the chain-of-custody log: an append-only file of JSON
// records, one per line, whose lines are the leaves of an RFC 6962 Merkle
// tree (golang.org/x/mod/sumdb/tlog) with signed checkpoints (C2SP
// tlog-checkpoint in a C2SP signed note). An auditor holding any checkpoint
// can prove later that the log was not edited, truncated or reordered.
//
// # Files
//
//	custody.log               one record per line; the leaf hash is over the line's exact bytes
//	custody.log.checkpoints/  latest: the newest signed checkpoint, replaced in one step;
//	                          NNNNNNNNNNNN: the history, one per CheckpointEvery records, named by tree size
//	custody.log.state         cache of the tree's frontier, rebuilt when it does not match
//	custody.log.lock          held by the one process writing
//
// Each record carries its sequence number and the previous leaf's hash, so a
// deleted, reordered or edited line is named by the first line that no longer
// chains; the checkpoints catch the rest (an edited last line, truncation).
package custody

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"sluice/internal/strictjson"
)

// Events.
const (
	EventStationCreated = "station-created"
	EventTrustAdded     = "trust-added"
	EventTrustRemoved   = "trust-removed"
	EventStaged         = "staged"
	EventSealed         = "sealed"
	EventSealFailed     = "seal-failed"
	EventWritten        = "written"
	EventWriteFailed    = "write-failed"
	EventVerified       = "verified"
	EventEjected        = "ejected"
	EventReceived       = "received"
	EventRejected       = "rejected"
	EventApproved       = "approved"
	EventReleased       = "released"
	EventWiped          = "wiped"
	EventRecovered      = "recovered"
	// EventInspected: a kiosk checked a bundle's content against its
	// policy; outcome "held" when a file was held for review.
	EventInspected = "inspected"
	// EventHeld: one file a kiosk's content checks held, and why.
	EventHeld = "held"
	// EventSent: a sending station sent a sealed bundle through a data
	// diode (Path udp://HOST:PORT; Reason: session, passes, rate, parity,
	// packets refused).
	EventSent = "sent"
	// EventArrived: a kiosk's diode receiver has a bundle whole in its
	// inbox (not yet checked or released: that is "received").
	EventArrived = "arrived"
	// EventIncomplete: a diode session ended without all of a bundle;
	// Reason names exactly the blocks missing.
	EventIncomplete = "incomplete"
	// EventSettingsChanged: a technician changed a station setting (the
	// release folders).
	EventSettingsChanged = "settings-changed"
	// EventUpdated: a station installed an update signed by a trusted
	// release key (Bundle: the update's bundle; Peer: the release key;
	// Reason: what was installed, from which version to which).
	EventUpdated = "updated"
	// EventTransformed: a station rebuilt files into a simple form (issue
	// 14): a sender before sealing, a kiosk before release. Reason lists
	// each: original name, SHA-256 and size → output's, tool, version and
	// seconds; Files counts them (a bundle with more than a line holds
	// has several such records).
	EventTransformed = "transformed"
	// EventRolledBack: an officer put back the Sluice version installed
	// before the last update (Reason: from and to).
	EventRolledBack = "rolled-back"
	// EventBuildChanged: the station's log is being written by another
	// build of Sluice than the last one that wrote it (or by the first
	// build since the log began). Reason gives the version, the commit,
	// the Go toolchain and the build ID (the first 16 hex digits of the
	// executable's SHA-256), so an auditor can tell which build wrote
	// the records that follow.
	EventBuildChanged = "build-changed"
	// EventRefused: the station refused an officer's action its rules do
	// not allow (NIST 800-53 AU-2: unsuccessful attempts count too): a
	// sign-in with a wrong passphrase, a release, approval or rejection
	// after review the policy or the approvals do not allow. Bundle names
	// the held bundle, if any; Reason says what was tried and why not.
	EventRefused = "refused"
)

// Events lists every event name, for filters and help.
var Events = []string{EventStationCreated, EventTrustAdded, EventTrustRemoved, EventStaged, EventSealed, EventSealFailed,
	EventWritten, EventWriteFailed, EventVerified, EventEjected, EventReceived, EventRejected, EventApproved, EventReleased,
	EventWiped, EventRecovered, EventSettingsChanged, EventInspected, EventHeld, EventSent, EventArrived, EventIncomplete,
	EventUpdated, EventRolledBack, EventTransformed, EventBuildChanged, EventRefused}

// Record is one custody event. Fields are written in this order, always.
type Record struct {
	Seq            int64      `json:"seq"`
	Prev           string     `json:"prev"`
	Time           time.Time  `json:"time"`
	Event          string     `json:"event"`
	Station        string     `json:"station"`
	Officer        string     `json:"officer"`
	Bundle         string     `json:"bundle"`
	Peer           string     `json:"peer"`
	ManifestSHA256 string     `json:"manifest_sha256"`
	Files          int64      `json:"files"`
	Bytes          int64      `json:"bytes"`
	Media          *Media     `json:"media"`
	Path           string     `json:"path"`
	Outcome        string     `json:"outcome"`
	Reason         string     `json:"reason"`
	Seal           *SealProof `json:"seal,omitempty"`
}

// Media identifies the removable medium an event concerns.
type Media struct {
	Vendor     string `json:"vendor"`
	Model      string `json:"model"`
	Serial     string `json:"serial"`
	Filesystem string `json:"filesystem"`
	FSID       string `json:"fs_id"`
}

// SealProof carries a sender's "sealed" record across the gap: the exact log
// line, its index, an inclusion proof and the signed checkpoint it proves
// against. A kiosk embeds it in its "received" record, so one log proves
// both ends.
type SealProof struct {
	Record     string   `json:"record"`
	Index      int64    `json:"index"`
	Proof      []string `json:"proof"`
	Checkpoint string   `json:"checkpoint"`
}

// MaxLine bounds one record line.
const MaxLine = 64 << 10

// ParseRecord parses one line (without its newline) strictly.
func ParseRecord(line []byte) (Record, error) {
	var r Record
	if len(line) > MaxLine {
		return r, fmt.Errorf("record longer than %d bytes", MaxLine)
	}
	if len(bytes.TrimSpace(line)) == 0 {
		return r, errors.New("not a record: the line is empty")
	}
	if !decodeCanonical(line, &r) {
		r = Record{}
		if err := strictjson.Decode(line, &r); err != nil {
			return r, fmt.Errorf("not a record: %v", err)
		}
	}
	if r.Event == "" || r.Time.IsZero() {
		return r, fmt.Errorf("not a record: no event or time")
	}
	return r, nil
}

// decodeCanonical decodes line into r if line is exactly what marshal
// writes for what it decodes to, as every record the log appends is: each
// key once, spelled as its field, nothing unknown, nothing after. The
// strict decoder would then accept it and read the same, so this reaches
// its verdict for a fraction of the cost (its token walk was most of
// verifying a log). Anything else returns false, and the caller decodes
// strictly.
func decodeCanonical(line []byte, r *Record) bool {
	if json.Unmarshal(line, r) != nil {
		return false
	}
	b, err := json.Marshal(r)
	return err == nil && bytes.Equal(b, line)
}

// marshal writes r on one line, in the fixed field order.
func (r *Record) marshal() ([]byte, error) {
	r.Time = r.Time.UTC().Truncate(time.Millisecond)
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("custody: %w", err)
	}
	if len(b) > MaxLine {
		return nil, fmt.Errorf("custody: record longer than %d bytes", MaxLine)
	}
	return b, nil
}

// Fits reports whether r, once the log fills in its fields, can be
// appended with margin bytes to spare: an error says it is too long, so a
// caller can refuse what it was about to record before acting on it.
func Fits(r Record, margin int) error {
	b, err := r.marshal()
	if err != nil {
		return err
	}
	if len(b)+margin > MaxLine {
		return fmt.Errorf("custody: record of %d bytes leaves less than %d of the %d a line may hold", len(b), margin, MaxLine)
	}
	return nil
}
