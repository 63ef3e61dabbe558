package custody

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"sluice/internal/lockfile"
)

// Syslog facility and severities (RFC 5424 §6.2.1): facility 13, "log
// audit"; severity 5 (notice) for a record whose outcome is ok, 4
// (warning) for any other (rejected, refused, failed, held…).
const (
	syslogFacility = 13
	severityNotice = 5
	severityWarn   = 4
)

// SyslogMessage formats one record as an RFC 5424 syslog message:
//
//	<PRI>1 TIME STATION sluice - EVENT - LINE
//
// where TIME is the record's own (UTC, microseconds), STATION its
// station (the HOSTNAME field: station names are printable ASCII without
// spaces), EVENT its event (MSGID), and the message is line, the record
// exactly as logged: a SIEM that keeps it can hash it to the log's leaf.
// line is one line of JSON, without a newline.
func SyslogMessage(line []byte, r Record) []byte {
	sev := severityNotice
	if r.Outcome != "ok" {
		sev = severityWarn
	}
	host := r.Station
	if host == "" || len(host) > 255 {
		host = "-"
	}
	msgid := r.Event
	if msgid == "" || len(msgid) > 32 {
		msgid = "-"
	}
	head := fmt.Sprintf("<%d>1 %s %s sluice - %s - ", syslogFacility*8+sev, r.Time.UTC().Format("2006-01-02T15:04:05.000000Z"), host, msgid)
	return append([]byte(head), line...)
}

// ForwardCursor is where forwarding to one collector stands: the next
// record to send (Next, a sequence number) and the hash of the last one
// sent (Last, the leaf hash of record Next-1), so that a log changed under
// records already sent is noticed rather than sent again differently.
type ForwardCursor struct {
	Next int64  `json:"next"`
	Last string `json:"last,omitempty"`
}

// ErrForwardedChanged says a record already forwarded is no longer in the
// log as it was sent.
var ErrForwardedChanged = errors.New("the custody log changed under records already forwarded")

// DefaultMaxMessage is the longest message Forward sends whole unless told
// otherwise: 8 KiB, rsyslog's default maxMessageSize. A collector that
// takes less splits a longer message, and what follows the split is read
// as a message of its own, from whatever host it names.
const DefaultMaxMessage = 8 << 10

// oversize is what stands for a record whose message would be longer than
// the collector takes: its sequence number, event and leaf hash, so the
// SIEM still has every record in order and can check the full one against
// the station's log.
type oversize struct {
	Seq       int64  `json:"seq"`
	Event     string `json:"event"`
	Outcome   string `json:"outcome"`
	LeafHash  string `json:"leaf_sha256"`
	Bytes     int    `json:"bytes"`
	Truncated string `json:"truncated"`
}

// Forward writes the records of the log at path from c.Next on to w, each
// an RFC 5424 message (SyslogMessage) framed by octet counting ("LEN SP
// MSG", RFC 6587 §3.4.1, which rsyslog's and most SIEMs' TCP inputs read).
// A message longer than max bytes is not sent whole, which the collector
// would split into pieces read as messages of their own: a short JSON
// record stands for it (its seq, event, outcome, leaf hash and size). It
// first checks that record c.Next-1 is still the one sent
// (ErrForwardedChanged if not). It returns the cursor after the last
// record written; the caller moves its own only once the collector has
// confirmed them. A torn last line is not a record and is not sent.
func Forward(ctx context.Context, path string, c ForwardCursor, w io.Writer, max int) (ForwardCursor, error) {
	// Only what is durable: a writer holds the lock from before its
	// append until after its fsync, so the size seen under the lock
	// holds whole, durable records only. One sent, then lost to a power
	// cut, would make the next record of its number look like an edit.
	lock, err := lockfile.LockWithin(path+".lock", LockWait)
	if errors.Is(err, lockfile.ErrHeld) {
		return c, ErrLocked
	}
	if err != nil {
		return c, fmt.Errorf("custody log: %w", err)
	}
	info, err := os.Stat(path)
	lock.Unlock()
	if err != nil {
		return c, fmt.Errorf("custody log: %w", err)
	}
	durableBytes := info.Size()
	var seq, offset int64
	errDone := errors.New("done")
	err = Each(path, func(line []byte, r Record) error {
		if offset += int64(len(line)) + 1; offset > durableBytes {
			return errDone
		}
		defer func() { seq++ }()
		switch {
		case seq == c.Next-1:
			if h := tlog.RecordHash(line).String(); c.Last != "" && h != c.Last {
				return fmt.Errorf("%w: record %d is not the one forwarded (its hash was %s, now %s); the collector holds the record as it was: run sluice log verify", ErrForwardedChanged, seq, c.Last, h)
			}
			return nil
		case seq < c.Next:
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		msg := SyslogMessage(line, r)
		if len(msg) > max {
			stub, err := json.Marshal(oversize{Seq: r.Seq, Event: r.Event, Outcome: r.Outcome, LeafHash: tlog.RecordHash(line).String(), Bytes: len(line),
				Truncated: fmt.Sprintf("the record is longer than the %d bytes this collector takes; the station's log holds it whole", max)})
			if err != nil {
				return err
			}
			msg = SyslogMessage(stub, r)
		}
		if _, err := io.WriteString(w, strconv.Itoa(len(msg))+" "); err != nil {
			return err
		}
		if _, err := w.Write(msg); err != nil {
			return err
		}
		c = ForwardCursor{Next: seq + 1, Last: tlog.RecordHash(line).String()}
		return nil
	})
	if errors.Is(err, errDone) {
		err = nil
	}
	if err == nil && seq < c.Next {
		err = fmt.Errorf("%w: it holds %d records, and %d were forwarded; the collector holds them: run sluice log verify", ErrForwardedChanged, seq, c.Next)
	}
	return c, err
}

// SyslogCheckpoint formats a signed checkpoint of station's log as an RFC
// 5424 message (MSGID "checkpoint"): the signed note as one JSON string,
// so the SIEM holds the station's signatures outside the station, where
// no one at the station can take them back.
func SyslogCheckpoint(station string, signed []byte, now time.Time) []byte {
	body, _ := json.Marshal(struct {
		Checkpoint string `json:"checkpoint"`
	}{string(signed)})
	return SyslogMessage(body, Record{Time: now, Station: station, Event: "checkpoint", Outcome: "ok"})
}
