package custody

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"sluice/internal/durable"
	"sluice/internal/lockfile"
	"sluice/internal/regfile"
)

// CheckpointEvery is the most records appended between two checkpoints, and
// the fewest between two checkpoints kept in the history.
const CheckpointEvery = 100

// Origin is the checkpoint origin (and note key name) of a station's log.
func Origin(station string) string { return "sluice-custody/" + station }

// Log is a custody log open for appending. Only one process holds it at a
// time; open it, append, close.
type Log struct {
	path   string
	f      *os.File
	lock   *lockfile.Lock
	signer note.Signer
	origin string

	front    frontier
	prev     tlog.Hash // leaf hash of the last record
	size     int64     // bytes in the log file
	uncommit int       // records since the last checkpoint
	history  int64     // tree size of the newest checkpoint kept in the history
	nosync   bool

	tornFile  string // where Open moved a torn last line, if it did
	tornBytes int64
}

// DisableSyncForBulkLoad stops Append from calling fsync, so a benchmark can
// build a million-record log in seconds. A station must never call it: a
// record whose Append returned must survive a crash.
func (l *Log) DisableSyncForBulkLoad() { l.nosync = true }

// LockWait is how long Open waits for another process that is appending
// (a CLI command while the desktop app records a receive): appends take
// milliseconds, but a pack holds the log for the whole seal.
var LockWait = 10 * time.Second

// ErrLocked is returned when another process is writing the log.
var ErrLocked = errors.New("the custody log is in use by another Sluice process; wait for it to finish and try again")

// Open opens (or creates) the log at path for appending, signing its
// checkpoints with signer under origin. A torn last line, left by a crash in
// the middle of an append, is moved to a recovery file and a "recovered"
// record says so; station and officer name who recovered it.
func Open(path string, signer note.Signer, origin, station, officer string) (*Log, error) {
	lock, err := lockfile.LockWithin(path+".lock", LockWait)
	if errors.Is(err, lockfile.ErrHeld) {
		return nil, ErrLocked
	}
	if err != nil {
		return nil, fmt.Errorf("custody log: %w", err)
	}
	l := &Log{path: path, lock: lock, signer: signer, origin: origin}
	ok := false
	defer func() {
		if !ok {
			l.Close()
		}
	}()
	created := false
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		created = true
	}
	l.f, err = os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("custody log: %w", err)
	}
	if created {
		if err := durable.SyncDir(filepath.Dir(path)); err != nil {
			return nil, fmt.Errorf("custody log: %w", err)
		}
	}
	torn, err := l.cutTornTail()
	if err != nil {
		return nil, err
	}
	if err := l.load(); err != nil {
		return nil, err
	}
	if torn != "" {
		if _, err := l.Append(Record{Event: EventRecovered, Station: station, Officer: officer, Outcome: "recovered",
			Reason: "a torn last line from an interrupted append was kept in " + torn}, true); err != nil {
			return nil, err
		}
	}
	ok = true
	return l, nil
}

// Len returns the number of records.
func (l *Log) Len() int64 { return l.front.n }

// cutTornTail moves bytes after the last newline into a recovery file and
// truncates the log there. It returns the recovery file's name, or "".
func (l *Log) cutTornTail() (string, error) {
	info, err := l.f.Stat()
	if err != nil {
		return "", fmt.Errorf("custody log: %w", err)
	}
	end := info.Size()
	cut, err := afterLastNewline(l.f, end)
	if err != nil {
		return "", fmt.Errorf("custody log: %w", err)
	}
	if cut == end {
		return "", nil
	}
	tail := make([]byte, end-cut)
	if _, err := l.f.ReadAt(tail, cut); err != nil {
		return "", fmt.Errorf("custody log: %w", err)
	}
	name := fmt.Sprintf("%s.torn-%d", l.path, time.Now().UnixNano())
	if err := durable.WriteFile(name, tail, 0o600); err != nil {
		return "", fmt.Errorf("custody log: keep torn line: %w", err)
	}
	l.tornFile, l.tornBytes = name, int64(len(tail))
	if err := l.f.Truncate(cut); err != nil {
		return "", fmt.Errorf("custody log: cut torn line: %w", err)
	}
	if err := l.f.Sync(); err != nil {
		return "", fmt.Errorf("custody log: %w", err)
	}
	return filepath.Base(name), nil
}

// afterLastNewline returns the offset just after the last newline in the
// first size bytes of r (0 if there is none), reading backwards in blocks.
func afterLastNewline(r io.ReaderAt, size int64) (int64, error) {
	buf := make([]byte, 64<<10)
	for off := size; off > 0; {
		n := min(off, int64(len(buf)))
		off -= n
		if _, err := r.ReadAt(buf[:n], off); err != nil {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return off + int64(i) + 1, nil
		}
	}
	return 0, nil
}

// TornTail returns the number of bytes after the last newline of the log at
// path: a last line cut short by a crash in the middle of an append, which
// Open moves aside. It is 0 for a log whose last line is whole.
func TornTail(path string) (int64, error) {
	f, err := regfile.Open(path)
	if err != nil {
		return 0, fmt.Errorf("open custody log: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("custody log: %w", err)
	}
	cut, err := afterLastNewline(f, info.Size())
	if err != nil {
		return 0, fmt.Errorf("custody log: %w", err)
	}
	return info.Size() - cut, nil
}

// Recovered returns what Open did with a torn last line: the recovery file
// it moved the bytes to and how many there were, or "" and 0.
func (l *Log) Recovered() (file string, bytes int64) { return l.tornFile, l.tornBytes }

// state is the cached frontier, valid only for a log of exactly Size bytes
// whose last leaf hash is Prev.
type state struct {
	Size    int64       `json:"size"`
	N       int64       `json:"n"`
	Prev    tlog.Hash   `json:"prev"`
	Roots   []tlog.Hash `json:"roots"`
	Since   int         `json:"since_checkpoint"`
	History *int64      `json:"history"`
	// Sig is the station's signature over the rest (sealState): without
	// the key, no one can write a cache whose roots are another log's.
	Sig []byte `json:"sig,omitempty"`
}

// sealState signs st's fields but Sig with the log's signer (Ed25519,
// deterministic: the same state always gets the same signature).
func (l *Log) sealState(st state) ([]byte, error) {
	st.Sig = nil
	b, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	return l.signer.Sign(append([]byte("sluice custody state cache\n"), b...))
}

func (l *Log) load() error {
	info, err := l.f.Stat()
	if err != nil {
		return fmt.Errorf("custody log: %w", err)
	}
	l.size = info.Size()
	// The newest checkpoint this station signed: the log must still hold
	// what it signed, or the station would sign over a rewritten log and
	// the next checkpoint would erase the proof.
	signedN, signedHash, haveSigned := int64(-1), tlog.Hash{}, false
	if b, err := LatestCheckpoint(l.path); err == nil {
		signedN, signedHash, haveSigned = checkpointSizeHash(b)
	}
	if b, err := os.ReadFile(l.path + ".state"); err == nil {
		var st state
		if json.Unmarshal(b, &st) == nil && st.Size == l.size && st.History != nil && st.N >= 0 &&
			len(st.Roots) == bits.OnesCount64(uint64(st.N)) && l.stateSealed(st) && l.lastLeafIs(st.Prev, st.N) {
			front := frontier{n: st.N, roots: st.Roots}
			if !haveSigned || st.N > signedN || st.N == signedN && front.hash() == signedHash {
				l.front = front
				l.prev, l.uncommit, l.history = st.Prev, st.Since, *st.History
				return nil
			}
		}
	}
	// Rebuild from the records themselves.
	l.front, l.prev, l.uncommit = frontier{}, tlog.Hash{}, 0
	if sizes, err := checkpointSizes(l.path); err == nil && len(sizes) > 0 {
		l.history = sizes[len(sizes)-1]
	}
	r := bufio.NewReaderSize(io.NewSectionReader(l.f, 0, l.size), 1<<20)
	for {
		line, err := readLine(r)
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("custody log: %w", err)
		}
		l.prev = tlog.RecordHash(line)
		l.front.add(l.prev)
		l.uncommit++
		if haveSigned && l.front.n == signedN && l.front.hash() != signedHash {
			return fmt.Errorf("%w: the log was changed after it was signed: its first %d records are not those its checkpoint signed (a record was changed, removed or reordered since); nothing more is written to it: keep it as evidence, and run sluice log verify to see where", ErrTampered, signedN)
		}
	}
	if haveSigned && l.front.n < signedN {
		return fmt.Errorf("%w: the log was changed after it was signed: it holds %d records, and its checkpoint signed %d (records were removed since); nothing more is written to it: keep it as evidence, and run sluice log verify to see where", ErrTampered, l.front.n, signedN)
	}
	if cp, err := newestCheckpointSize(l.path); err == nil && cp <= l.front.n {
		l.uncommit = int(l.front.n - cp)
	}
	return nil
}

// lastLeafIs checks the cache against the log's last line.
func (l *Log) lastLeafIs(h tlog.Hash, n int64) bool {
	if n == 0 {
		return l.size == 0
	}
	start := max(0, l.size-MaxLine-1)
	buf := make([]byte, l.size-start)
	if _, err := l.f.ReadAt(buf, start); err != nil {
		return false
	}
	buf = bytes.TrimSuffix(buf, []byte("\n"))
	if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
		buf = buf[i+1:]
	} else if start > 0 {
		return false
	}
	return tlog.RecordHash(buf) == h
}

func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if err == bufio.ErrBufferFull || len(line) > MaxLine+1 {
		// No record is longer (Fits): refused before it is copied, so a
		// log of long lines costs a reader no memory.
		return nil, fmt.Errorf("a line is longer than %d bytes", MaxLine)
	}
	if err == io.EOF && len(line) > 0 {
		return line, io.ErrUnexpectedEOF // a torn last line; the caller may want its length
	}
	if err != nil {
		return nil, err
	}
	return line[:len(line)-1], nil
}

// Appended is what Append wrote.
type Appended struct {
	Line  []byte
	Index int64
	// Proof proves the record's inclusion in the tree of Index+1 records.
	Proof []tlog.Hash
	// Checkpoint is the signed checkpoint written after this record, if one was.
	Checkpoint []byte
}

// Append writes r as the next record, with its sequence number and the
// previous record's hash, and makes it durable before returning. With
// checkpoint set (bundle events), or when CheckpointEvery records have
// passed since the last one, a signed checkpoint follows.
func (l *Log) Append(r Record, checkpoint bool) (*Appended, error) {
	as, err := l.AppendAll([]Record{r}, checkpoint)
	if len(as) == 0 {
		return nil, err
	}
	return as[0], err
}

// AppendAll appends records as Append does, all or none: they go to the
// file in one write and one fsync, and a failed write (a full disk) is cut
// back off the file, so a log never holds the first of two records that
// belong together (a kiosk's "received" without its "released").
func (l *Log) AppendAll(rs []Record, checkpoint bool) ([]*Appended, error) {
	if l.f == nil {
		return nil, errors.New("custody: log is closed")
	}
	front, prev := l.front.clone(), l.prev
	var buf []byte
	out := make([]*Appended, 0, len(rs))
	for _, r := range rs {
		r.Seq = front.n
		if front.n > 0 {
			r.Prev = prev.String()
		}
		if r.Time.IsZero() {
			r.Time = time.Now()
		}
		line, err := r.marshal()
		if err != nil {
			return nil, err
		}
		a := &Appended{Line: line, Index: r.Seq}
		prev = tlog.RecordHash(line)
		a.Proof = front.add(prev)
		out = append(out, a)
		buf = append(append(buf, line...), '\n')
	}
	if _, err := l.f.Write(buf); err != nil {
		l.f.Truncate(l.size) // best effort: a torn tail is cut at the next Open anyway
		return nil, fmt.Errorf("custody log: append: %w", err)
	}
	if !l.nosync {
		if err := l.f.Sync(); err != nil {
			l.f.Truncate(l.size)
			return nil, fmt.Errorf("custody log: append: %w", err)
		}
	}
	l.front, l.prev = front, prev
	l.size += int64(len(buf))
	l.uncommit += len(rs)
	if checkpoint || l.uncommit >= CheckpointEvery {
		cp, err := l.Checkpoint()
		if err != nil {
			// The records are durable: only the checkpoint is missing; a
			// later bundle event (or the next hundred records) makes one.
			return out, &CheckpointError{Err: err}
		}
		out[len(out)-1].Checkpoint = cp
	}
	return out, nil
}

// CheckpointError is returned by Append and AppendAll when the records were
// written and made durable but the checkpoint after them could not be
// (a full disk): callers must treat the records as appended.
type CheckpointError struct{ Err error }

func (e *CheckpointError) Error() string {
	return "records appended, but the checkpoint after them was not written: " + e.Err.Error()
}

func (e *CheckpointError) Unwrap() error { return e.Err }

// Checkpoint signs a checkpoint of the log as it is now and makes it the
// newest (custody.log.checkpoints/latest, replaced in one step). When at
// least CheckpointEvery records have been appended since the newest one kept
// in the history, it is also kept there under its tree size: a flood of
// bundle events costs one file rewritten, not one file each.
func (l *Log) Checkpoint() ([]byte, error) {
	text := FormatCheckpoint(l.origin, l.front.n, l.front.hash())
	signed, err := note.Sign(&note.Note{Text: text}, l.signer)
	if err != nil {
		return nil, fmt.Errorf("custody log: sign checkpoint: %w", err)
	}
	dir := checkpointDir(l.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("custody log: %w", err)
	}
	// The newest first: after a crash between the two writes, latest never
	// covers fewer records than the history (Verify checks that it does not).
	if err := durable.ReplaceFile(filepath.Join(dir, latestName), signed, 0o600); err != nil {
		return nil, fmt.Errorf("custody log: checkpoint: %w", err)
	}
	if l.front.n >= l.history+CheckpointEvery {
		if err := durable.ReplaceFile(filepath.Join(dir, checkpointName(l.front.n)), signed, 0o600); err != nil {
			return nil, fmt.Errorf("custody log: checkpoint: %w", err)
		}
		l.history = l.front.n
	}
	l.uncommit = 0
	return signed, nil
}

// stateSealed says whether st carries the station's signature (sealState).
func (l *Log) stateSealed(st state) bool {
	sig, err := l.sealState(st)
	return err == nil && len(st.Sig) > 0 && bytes.Equal(sig, st.Sig)
}

func (l *Log) saveState() {
	history := l.history
	st := state{Size: l.size, N: l.front.n, Prev: l.prev, Roots: l.front.roots, Since: l.uncommit, History: &history}
	sig, err := l.sealState(st)
	if err != nil {
		return
	}
	st.Sig = sig
	b, err := json.Marshal(st)
	if err != nil {
		return
	}
	// A cache: no fsync; load checks it against the log and rebuilds if stale.
	tmp := l.path + ".state.tmp"
	if os.WriteFile(tmp, b, 0o600) == nil {
		os.Rename(tmp, l.path+".state")
	}
}

// Close saves the frontier cache and releases the log and its lock.
func (l *Log) Close() error {
	var err error
	if l.f != nil {
		l.saveState()
		err = l.f.Close()
		l.f = nil
	}
	if l.lock != nil {
		l.lock.Unlock()
		l.lock = nil
	}
	return err
}

// FormatCheckpoint returns a C2SP tlog-checkpoint body.
func FormatCheckpoint(origin string, n int64, h tlog.Hash) string {
	return fmt.Sprintf("%s\n%d\n%s\n", origin, n, base64.StdEncoding.EncodeToString(h[:]))
}

// Checkpoint is a parsed, verified checkpoint.
type Checkpoint struct {
	Origin string
	Size   int64
	Hash   tlog.Hash
	// Signed is the whole signed note.
	Signed []byte
}

// MaxTreeSize is the most records a checkpoint may count: 2^40, far past
// any custody log (a million records verify in 6 s), and short of 2^62,
// past which golang.org/x/mod/sumdb/tlog's proof checks never return (its
// maxpow2 loops once 1<<(l+1) overflows). A checkpoint signed by a hostile
// sender, carried in a bundle's seal proof, claimed 2^63-1 records and
// held the kiosk's receive forever (FuzzCheckSeal).
const MaxTreeSize = 1 << 40

// OpenCheckpoint verifies a signed checkpoint with v and parses it: a tree
// size of at most MaxTreeSize and a root hash.
func OpenCheckpoint(signed []byte, v note.Verifier) (*Checkpoint, error) {
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		return nil, fmt.Errorf("checkpoint signature does not verify with %s's key: %v", strings.TrimPrefix(v.Name(), "sluice-custody/"), err)
	}
	cp := &Checkpoint{Signed: signed}
	if cp.Origin, cp.Size, cp.Hash, err = parseCheckpoint(n.Text); err != nil {
		return nil, err
	}
	if cp.Size > MaxTreeSize {
		return nil, errors.New("checkpoint has a bad tree size")
	}
	return cp, nil
}

// parseCheckpoint reads a checkpoint's body (FormatCheckpoint's three
// lines; a signed note's signature lines may follow): origin, tree size
// (not negative) and root hash. It checks no signature.
func parseCheckpoint(text string) (origin string, size int64, h tlog.Hash, err error) {
	lines := strings.SplitN(text, "\n", 4)
	if len(lines) < 4 {
		return "", 0, h, errors.New("checkpoint is malformed")
	}
	size, err = strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 {
		return "", 0, h, errors.New("checkpoint has a bad tree size")
	}
	hb, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(hb) != tlog.HashSize {
		return "", 0, h, errors.New("checkpoint has a bad root hash")
	}
	copy(h[:], hb)
	return lines[0], size, h, nil
}

func checkpointDir(logPath string) string { return logPath + ".checkpoints" }

// latestName is the newest checkpoint's file in the checkpoint folder; the
// history's files are named by tree size (checkpointName).
const latestName = "latest"

func checkpointName(n int64) string { return fmt.Sprintf("%012d", n) }

// checkpointSizes lists the stored checkpoints' sizes, ascending.
func checkpointSizes(logPath string) ([]int64, error) {
	ents, err := os.ReadDir(checkpointDir(logPath))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []int64
	for _, e := range ents {
		if len(e.Name()) != 12 || strings.Trim(e.Name(), "0123456789") != "" {
			continue // not a checkpoint's name (+00000000005 parses as 5)
		}
		n, err := strconv.ParseInt(e.Name(), 10, 64)
		if err == nil {
			out = append(out, n)
		}
	}
	return out, nil // ReadDir sorts by name; names are zero-padded
}

// checkpointSizeHash reads the tree size and root hash a stored checkpoint
// states, without checking its signature (the station's own: Verify checks
// signatures).
func checkpointSizeHash(b []byte) (int64, tlog.Hash, bool) {
	_, n, h, err := parseCheckpoint(string(b))
	return n, h, err == nil
}

// checkpointSize reads the tree size a stored checkpoint states, without
// checking its signature (Verify does that).
func checkpointSize(b []byte) (int64, error) {
	lines := strings.SplitN(string(b), "\n", 3)
	if len(lines) < 3 {
		return 0, errors.New("checkpoint is malformed")
	}
	return strconv.ParseInt(lines[1], 10, 64)
}

// newestCheckpointSize returns the tree size of the newest stored
// checkpoint: latest, or the history's largest (logs written before latest
// existed have only a history).
func newestCheckpointSize(logPath string) (int64, error) {
	n := int64(-1)
	if b, err := os.ReadFile(filepath.Join(checkpointDir(logPath), latestName)); err == nil {
		if m, err := checkpointSize(b); err == nil {
			n = m
		}
	}
	if s, err := checkpointSizes(logPath); err == nil && len(s) > 0 {
		n = max(n, s[len(s)-1])
	}
	if n < 0 {
		return 0, errors.New("no checkpoint")
	}
	return n, nil
}

// LatestCheckpoint returns the newest stored checkpoint's signed bytes.
func LatestCheckpoint(logPath string) ([]byte, error) {
	b, err := readCheckpoint(filepath.Join(checkpointDir(logPath), latestName))
	if !errors.Is(err, os.ErrNotExist) {
		return b, err
	}
	// A log from before latest existed: its history's largest.
	s, err := checkpointSizes(logPath)
	if err != nil {
		return nil, fmt.Errorf("read checkpoints: %w", err)
	}
	if len(s) == 0 {
		return nil, fmt.Errorf("the custody log has no checkpoint yet")
	}
	return readCheckpoint(filepath.Join(checkpointDir(logPath), checkpointName(s[len(s)-1])))
}
