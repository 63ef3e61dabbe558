package app

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"

	"golang.org/x/mod/sumdb/note"

	"sluice/crypto"
	"sluice/internal/textfile"
	"sluice/transfer/custody"
)

// bundleEvents are checkpointed as soon as they are appended, so an auditor's
// checkpoint always covers the latest bundle.
var bundleEvents = map[string]bool{
	custody.EventSealed: true, custody.EventSealFailed: true, custody.EventWritten: true, custody.EventWriteFailed: true,
	custody.EventVerified: true, custody.EventEjected: true, custody.EventReceived: true, custody.EventRejected: true,
	custody.EventApproved: true, custody.EventReleased: true, custody.EventWiped: true,
	custody.EventSent: true, custody.EventArrived: true, custody.EventIncomplete: true,
	// Changes to whom the station trusts and where it releases are
	// checkpointed at once too: cutting them off the log must show.
	custody.EventTrustAdded: true, custody.EventTrustRemoved: true, custody.EventSettingsChanged: true,
	// So is a change of the program writing the log.
	custody.EventBuildChanged: true,
	// And every event an auditor must not lose to a cut: refused
	// actions (AU-2), installs and rollbacks, what the content checks
	// held and transformed, a recovery, the station's creation.
	custody.EventRefused: true, custody.EventUpdated: true, custody.EventRolledBack: true,
	custody.EventInspected: true, custody.EventHeld: true, custody.EventTransformed: true,
	custody.EventRecovered: true, custody.EventStationCreated: true,
}

// Origin is this station's custody log origin.
func (s *Station) Origin() string { return custody.Origin(s.Name) }

// OpenCustody opens this station's custody log for appending. Close it soon:
// it holds the log's lock.
// Before handing it over it records build-changed if another build of
// Sluice wrote the log last (app/build.go).
func (s *Station) OpenCustody() (*custody.Log, error) {
	l, err := custody.Open(s.CustodyPath, s.Keys.NoteSigner(s.Origin()), s.Origin(), s.Name, s.Officer)
	if err != nil {
		return nil, err
	}
	if err := s.noteBuild(l); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// record appends one custody record with the station's name and officer.
func (s *Station) record(r custody.Record) error {
	l, err := s.OpenCustody()
	if err != nil {
		return err
	}
	defer l.Close()
	_, err = s.appendTo(l, r)
	return committed(err)
}

// committed drops a checkpoint failure after records that were written
// and made durable: they are in the log, and acting as if they were not
// (taking back a release they account for) would make the log wrong.
func committed(err error) error {
	var cpe *custody.CheckpointError
	if errors.As(err, &cpe) {
		return nil
	}
	return err
}

// appendRecord opens the log, appends r (checkpointed if it is a bundle
// event) and closes the log, returning what was appended (the sealed
// record's inclusion proof travels in the bundle).
func (s *Station) appendRecord(r custody.Record) (*custody.Appended, error) {
	l, err := s.OpenCustody()
	if err != nil {
		return nil, err
	}
	defer l.Close()
	return s.appendTo(l, r)
}

// recordAll appends records that belong together, all or none.
func (s *Station) recordAll(rs ...custody.Record) error {
	l, err := s.OpenCustody()
	if err != nil {
		return err
	}
	defer l.Close()
	for i := range rs {
		rs[i].Station = s.Name
		if rs[i].Officer == "" {
			rs[i].Officer = s.Officer
		}
	}
	_, err = l.AppendAll(rs, true)
	return committed(err)
}

func (s *Station) appendTo(l *custody.Log, r custody.Record) (*custody.Appended, error) {
	r.Station = s.Name
	if r.Officer == "" { // an approval names its approver
		r.Officer = s.Officer
	}
	return l.Append(r, bundleEvents[r.Event])
}

// Verifier returns the checkpoint verifier for a station's log: this
// station's own, or a trusted station's.
func (s *Station) Verifier(station string) (note.Verifier, error) {
	if station == s.Name {
		return crypto.NoteVerifier(s.Origin(), s.Card().SigningKey)
	}
	c, ok, err := s.Trusted(station)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("the log belongs to station %q, which is not trusted here; pass its card with --card FILE", station)
	}
	return crypto.NoteVerifier(custody.Origin(station), c.SigningKey)
}

// LogStation returns the station that wrote a custody log: the station
// field of its first record. A first line that is not a record (edited,
// blanked) is skipped here, so that verifying the log reports it as the
// tampering it is; a file with no record in its first lines is not a log.
func LogStation(path string) (string, error) {
	name, err := custody.LogWriter(path)
	if errors.Is(err, custody.ErrNotALog) {
		if fi, serr := os.Stat(path); serr == nil && fi.Size() == 0 {
			return "", fmt.Errorf("%s holds no records", path)
		}
		return "", fmt.Errorf("%s is not a Sluice custody log (%v); choose the other station's custody.log file", path, err)
	}
	return name, err
}

// VerifierFromCard builds a verifier from a station card file, for an
// auditor checking a log on a machine with no station.
func VerifierFromCard(cardText []byte) (note.Verifier, string, error) {
	c, err := crypto.ParseCard(cardText)
	if err != nil {
		return nil, "", err
	}
	v, err := crypto.NoteVerifier(custody.Origin(c.Name), c.SigningKey)
	return v, c.Name, err
}

// LogRef names a custody log, the station that wrote it, and the verifier
// of that station's checkpoints.
type LogRef struct {
	Path     string
	Station  string
	Verifier note.Verifier
}

// VerifyLog verifies a custody log, and with saved (an auditor's earlier
// checkpoint) that it only grew since. A log that does not verify is an
// error wrapping ErrRejected that names the first bad line and why. A torn
// last line alone, left by a crash, is not: the report has TornTail set and
// TornTailNote says what it means.
func VerifyLog(l LogRef, saved []byte) (*custody.Report, error) {
	rep, err := custody.Verify(l.Path, l.Verifier, custody.Origin(l.Station), saved)
	if err != nil {
		return nil, err
	}
	if !rep.OK() {
		where := ""
		if rep.Line > 0 {
			where = fmt.Sprintf(" at line %d", rep.Line)
		}
		return rep, fmt.Errorf("%w: custody log of %s FAILED verification%s: %s", ErrRejected, l.Station, where, rep.Problem)
	}
	return rep, nil
}

// VerifyLogAgainst is VerifyLog against each of several checkpoints the
// auditor saved (none: VerifyLog alone). Two of them of the same size
// that differ are the station's signatures on two different logs
// (equivocation: a fork shown to two auditors), said as such before the
// log is read. It returns the report against the largest.
func VerifyLogAgainst(l LogRef, saved [][]byte) (*custody.Report, error) {
	if len(saved) == 0 {
		return VerifyLog(l, nil)
	}
	bySize := map[int64]*custody.Checkpoint{}
	for _, b := range saved {
		text, err := textfile.Normalize("your saved checkpoint", b)
		if err != nil {
			return nil, err
		}
		cp, err := custody.OpenCheckpoint(text, l.Verifier)
		if err != nil {
			return nil, fmt.Errorf("%w: custody log of %s FAILED verification: your saved checkpoint: bad signature: %v", ErrRejected, l.Station, err)
		}
		if o := bySize[cp.Size]; o != nil && o.Hash != cp.Hash {
			return nil, fmt.Errorf("%w: two checkpoints signed by %s for %d records differ: the station signed two different logs of that size (a fork shown to different auditors); keep both as evidence", ErrRejected, l.Station, cp.Size)
		}
		bySize[cp.Size] = cp
	}
	sizes := slices.Sorted(maps.Keys(bySize))
	var rep *custody.Report
	for _, n := range sizes {
		var err error
		if rep, err = VerifyLog(l, bySize[n].Signed); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// TornTailNote explains a log report's torn last line in one sentence: what
// it is, that the records before it verify, and the command that repairs
// it. It is "" when the last line is whole.
func TornTailNote(station string, rep *custody.Report) string {
	if rep == nil || rep.TornTail == 0 {
		return ""
	}
	why := "an append was cut short by a crash or power cut, as is expected after one, and this is not tampering (a signed checkpoint covers every record before it)"
	if rep.Unsigned > 0 {
		// What no signature covers could also have been cut by hand.
		why = fmt.Sprintf("an append was cut short by a crash or power cut, as is expected after one, or the line was cut by hand (the last %d records before it are after the newest signed checkpoint)", rep.Unsigned)
	}
	return fmt.Sprintf("the last line of %s's custody log (line %d, %d bytes) is torn: %s; the %d records before it verify. To repair it, run sluice log recover on station %s (it moves the torn bytes to a recovery file and records that it did)",
		station, rep.TornLine, rep.TornTail, why, rep.Records, station)
}

// Recovery is what RecoverLog did.
type Recovery struct {
	// TornFile is the file the torn last line was moved to, and TornBytes
	// its size; "" and 0 when the log had no torn line.
	TornFile  string
	TornBytes int64
	// Records is the number of records in the log afterwards, the last of
	// them the "recovered" record when a torn line was moved.
	Records int64
}

// RecoverLog opens this station's custody log, which moves a torn last line
// (left by a crash in the middle of an append) to a recovery file and
// appends a "recovered" record saying so, and reports what it did. A log
// with no torn line is left as it is.
func (s *Station) RecoverLog() (*Recovery, error) {
	l, err := s.OpenCustody()
	if err != nil {
		return nil, err
	}
	rec := &Recovery{Records: l.Len()}
	rec.TornFile, rec.TornBytes = l.Recovered()
	return rec, l.Close()
}

// ReconcileLogs verifies both logs, then matches the sender's sealed
// bundles with the kiosk's receipts, and lists the kiosk's receipts from
// the sender that match nothing; only verified logs are reconciled.
func ReconcileLogs(sender, kiosk LogRef) (*custody.Reconciliation, error) {
	rs, err := reconcile([][2]LogRef{{sender, kiosk}}, sender, kiosk)
	if err != nil {
		return nil, err
	}
	return rs[0], nil
}

// ReconcileBothWays verifies two stations' logs once and reconciles in both
// directions: what a sent to b, and what b sent to a.
func ReconcileBothWays(a, b LogRef) ([]*custody.Reconciliation, error) {
	return reconcile([][2]LogRef{{a, b}, {b, a}}, a, b)
}

func reconcile(pairs [][2]LogRef, logs ...LogRef) ([]*custody.Reconciliation, error) {
	for _, p := range pairs {
		if p[0].Station == p[1].Station {
			// Nothing a station sent can be among its own receipts: the
			// answer would be an empty, reassuring match.
			return nil, fmt.Errorf("both logs are %s's; reconcile it with the log of the station across the gap (the sender's with the kiosk's it sent to)", p[0].Station)
		}
	}
	for _, l := range logs {
		if _, err := VerifyLog(l, nil); err != nil {
			return nil, err
		}
	}
	var out []*custody.Reconciliation
	for _, p := range pairs {
		r, err := custody.Reconcile(p[0].Path, p[1].Path, p[0].Verifier, custody.Origin(p[0].Station))
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}
