package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"sluice/internal/durable"
	"sluice/internal/lockfile"
	"sluice/internal/regfile"
	"sluice/transfer/custody"
)

// receivingDir holds, in a station's home, the receive lock and the
// quarantines of bundles being received.
const receivingDir = "receiving"

// quarantineLocal is the folder, beside the release folder on its own
// filesystem, that holds a quarantine when the station's home is on
// another filesystem (a release is one rename, which cannot cross
// filesystems). It is readable by the station's user only.
const quarantineLocal = ".sluice-quarantine"

// ReceiveBusyError says another Sluice process on this station is
// receiving, and which bundle.
type ReceiveBusyError struct{ Holder string }

func (e *ReceiveBusyError) Error() string {
	return fmt.Sprintf("another Sluice process on this station is receiving (%s); wait for it to finish, then try again", e.Holder)
}

// receiveLock is held by one receive at a time on a station, across the
// CLI and the desktop app, from admission to release: two receives of one
// bundle at once released a partial bundle (one removed the quarantine the
// other was filling).
type receiveLock struct {
	s    *Station
	lock *lockfile.Lock
}

// lockReceive takes the station's receive lock for bundle id, and removes
// every quarantine a killed receive left behind (no one else can be using
// one while the lock is held).
func (s *Station) lockReceive(id string) (*receiveLock, error) {
	dir := filepath.Join(s.Home, receivingDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	l, err := lockfile.TryLock(filepath.Join(dir, "lock"))
	if errors.Is(err, lockfile.ErrHeld) {
		holder := "another bundle"
		if b, rerr := regfile.ReadFile(filepath.Join(dir, "holder"), 256); rerr == nil && len(b) > 0 {
			holder = strings.TrimSpace(string(b))
		}
		return nil, &ReceiveBusyError{Holder: holder}
	}
	if err != nil {
		return nil, fmt.Errorf("receive lock: %w", err)
	}
	// The holder's name is for the message a second receive shows; written
	// through a new file renamed into place, never into a FIFO.
	durable.ReplaceFile(filepath.Join(dir, "holder"), []byte("bundle "+id+", process "+strconv.Itoa(os.Getpid())+"\n"), 0o600)
	r := &receiveLock{s: s, lock: l}
	if err := s.cleanQuarantines(); err != nil {
		r.unlock()
		return nil, err
	}
	return r, nil
}

func (r *receiveLock) unlock() {
	os.Remove(filepath.Join(r.s.Home, receivingDir, "holder"))
	r.lock.Unlock()
}

// CleanQuarantines removes the quarantines (decrypted, unchecked content)
// that a receive killed mid-way left behind, if no receive is running. The
// desktop app calls it at start; every receive does too.
func (s *Station) CleanQuarantines() error {
	dir := filepath.Join(s.Home, receivingDir)
	if _, err := os.Stat(dir); err != nil {
		return nil
	}
	l, err := lockfile.TryLock(filepath.Join(dir, "lock"))
	if err != nil {
		return nil // a receive is running: it cleans up itself
	}
	defer l.Unlock()
	return s.cleanQuarantines()
}

// cleanQuarantines finishes what an interrupted receive left: it records a
// release that happened but was not recorded, and removes every
// quarantine. The caller holds the lock.
func (s *Station) cleanQuarantines() error {
	if err := s.recoverReleases(); err != nil {
		return err
	}
	s.dropStrayOriginals()
	dir := filepath.Join(s.Home, receivingDir)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("clean quarantines: %w", err)
	}
	for _, e := range ents {
		name := e.Name()
		switch {
		case strings.HasSuffix(name, journalSuffix):
			continue
		case strings.HasSuffix(name, ".where"):
			// A quarantine beside a release folder on another filesystem.
			b, err := regfile.ReadFile(filepath.Join(dir, name), 4096)
			q := strings.TrimSpace(string(b))
			id := strings.TrimSuffix(name, ".where")
			if _, herr := os.Lstat(filepath.Join(s.Home, reviewDir, id+".json")); herr == nil {
				// Held for review: a hold killed just before it dropped
				// this note. The content is the review item's.
				os.Remove(filepath.Join(dir, name))
				continue
			}
			if err == nil && filepath.Base(filepath.Dir(q)) == quarantineLocal && filepath.Base(q) == id {
				if err := os.RemoveAll(q); err != nil {
					return fmt.Errorf("remove the quarantine %s left by an interrupted receive: %w; remove it by hand", q, err)
				}
			}
			os.Remove(filepath.Join(dir, name))
		case e.IsDir():
			if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
				return fmt.Errorf("remove the quarantine %s left by an interrupted receive: %w; remove it by hand", filepath.Join(dir, name), err)
			}
		}
	}
	return nil
}

// quarantine creates the empty folder bundle id is decrypted into: in the
// station's home (readable only by its user) when that is on the release
// folder's filesystem, else in a hidden folder beside the release folder,
// also readable only by the station's user, whose place is noted in the
// home so a later receive can clean it if this one is killed. Decrypted,
// unchecked content never sits in the folder users read.
func (s *Station) quarantine(outDir, id string) (string, error) {
	home := filepath.Join(s.Home, receivingDir)
	hd, herr := deviceOf(home)
	od, oerr := deviceOf(outDir)
	if herr == nil && oerr == nil && hd == od {
		q := filepath.Join(home, id)
		if err := os.Mkdir(q, 0o700); err != nil {
			return "", fmt.Errorf("create quarantine: %w", err)
		}
		return q, nil
	}
	parent := filepath.Join(outDir, quarantineLocal)
	if err := os.Mkdir(parent, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return "", fmt.Errorf("create quarantine in %s: %w", outDir, err)
	}
	if info, err := os.Lstat(parent); err != nil || !info.IsDir() {
		return "", fmt.Errorf("create quarantine: %s is not a folder; remove it", parent)
	} else if !ownedByMe(info) {
		// In a shared release folder another user could have made it, and
		// could then swap what is released.
		return "", fmt.Errorf("create quarantine: %s belongs to another user; remove it, or release into a folder only this station's user can write", parent)
	}
	os.Chmod(parent, 0o700)
	q := filepath.Join(parent, id)
	if err := durable.WriteFile(filepath.Join(home, id+".where"), []byte(q+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("create quarantine: %w", err)
	}
	if err := os.RemoveAll(q); err != nil {
		return "", fmt.Errorf("remove an old quarantine %s: %w; remove it by hand", q, err)
	}
	if err := os.Mkdir(q, 0o700); err != nil {
		return "", fmt.Errorf("create quarantine: %w", err)
	}
	return q, nil
}

// dropQuarantine removes a quarantine and its note.
func (s *Station) dropQuarantine(q, id string) {
	os.RemoveAll(q)
	os.Remove(filepath.Join(s.Home, receivingDir, id+".where"))
	if p := filepath.Dir(q); filepath.Base(p) == quarantineLocal {
		os.Remove(p) // only if empty
	}
}

// Interrupted is the cause a front end gives when it cancels work, so the
// custody log and the message say what stopped it: "Ctrl-C", "SIGTERM",
// "the officer (Cancel)".
type Interrupted struct{ By string }

func (e *Interrupted) Error() string { return "interrupted by " + e.By }

// CancelReason says why ctx was cancelled, for messages and records:
// "interrupted by SIGTERM (…)", "interrupted by the officer (Cancel)".
func CancelReason(ctx context.Context) string {
	var in *Interrupted
	switch cause := context.Cause(ctx); {
	case errors.As(cause, &in):
		return in.Error()
	case ctx.Err() == nil:
		// The work was not cancelled from outside: the officer declined
		// something it asked for (the next drive).
		return "cancelled by the officer"
	case errors.Is(cause, context.DeadlineExceeded):
		return "stopped: it took too long"
	default:
		return "cancelled"
	}
}

// journalSuffix names a release journal in the receiving folder: written
// durably before the release rename, removed once the release is recorded
// (or taken back).
const journalSuffix = ".releasing"

type journal struct {
	Final string `json:"final"`
	// Quarantine is the folder renamed to Final; Dev and Ino identify it
	// (a rename keeps them), so recovery can tell the release happened.
	Quarantine string           `json:"quarantine"`
	Dev        uint64           `json:"dev"`
	Ino        uint64           `json:"ino"`
	Records    []custody.Record `json:"records"`
}

// writeJournal records, before a release, what the release will be and the
// records that account for it.
func (s *Station) writeJournal(q, final string, rs ...custody.Record) (string, error) {
	id := filepath.Base(final)
	j := journal{Final: final, Quarantine: q, Records: rs}
	j.Dev, j.Ino = fileID(q)
	b, err := json.Marshal(j)
	if err != nil {
		return "", err
	}
	path := filepath.Join(s.Home, receivingDir, id+journalSuffix)
	if err := durable.ReplaceFile(path, b, 0o600); err != nil {
		return "", fmt.Errorf("release journal: %w", err)
	}
	return path, nil
}

// recoverReleases finishes what a killed receive left in its journal. The
// log decides first: a release it records is done. Then the quarantine: if
// it is still there, nothing was released. Otherwise the release happened
// (the quarantine was renamed into place) and its records are written now,
// saying so, and whether the released folder is still where it was put;
// the bundle stays marked seen either way, so it cannot be released twice.
func (s *Station) recoverReleases() error {
	dir := filepath.Join(s.Home, receivingDir)
	paths, _ := filepath.Glob(filepath.Join(dir, "*"+journalSuffix))
	for _, p := range paths {
		b, err := regfile.ReadFile(p, 1<<20)
		var j journal
		if err == nil {
			err = json.Unmarshal(b, &j)
		}
		if err != nil || len(j.Records) == 0 || j.Quarantine == "" {
			os.Remove(p) // torn before it was complete: nothing was renamed yet
			continue
		}
		id := j.Records[0].Bundle
		// What of the journal the log holds already: a power cut can keep
		// the first of the records appended together (received) and cut
		// the rest, and a bundle is received once.
		type key struct{ event, reason string }
		have := map[key]bool{}
		logged := false
		if err := custody.Each(s.CustodyPath, func(_ []byte, r custody.Record) error {
			if r.Bundle == id {
				have[key{r.Event, r.Reason}] = true
				logged = logged || r.Event == custody.EventReleased
			}
			return nil
		}); err != nil {
			return fmt.Errorf("record the release of bundle %s that an interrupted receive made: %w", id, err)
		}
		if !logged {
			if _, err := os.Lstat(j.Quarantine); err == nil {
				os.Remove(p) // never renamed: nothing was released
				continue
			}
			note := "; recorded after the receive was interrupted between the release and its records"
			if dev, ino := fileID(j.Final); dev != j.Dev || ino != j.Ino {
				note += "; the released folder has since been moved or removed from " + j.Final
			}
			var missing []custody.Record
			for _, r := range j.Records {
				if have[key{r.Event, r.Reason}] {
					continue
				}
				r.Reason += note
				r.Time = time.Time{}
				missing = append(missing, r)
			}
			if err := s.recordAll(missing...); err != nil {
				return fmt.Errorf("record the release of bundle %s that an interrupted receive made: %w", id, err)
			}
		}
		if seen, _ := s.seen(id); !seen {
			if err := s.markSeen(id); err != nil {
				return err
			}
		}
		// A release after review: the bundle is decided, its review item
		// goes (it cannot be released or rejected again).
		os.Remove(filepath.Join(s.Home, reviewDir, id+".json"))
		os.Remove(p)
	}
	return nil
}
