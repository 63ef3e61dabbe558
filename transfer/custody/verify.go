package custody

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"sluice/internal/regfile"
	"sluice/internal/textfile"
)

// Report is the verdict on a log.
type Report struct {
	Records     int64
	Checkpoints int
	// Latest is the newest checkpoint that verified, if any.
	Latest *Checkpoint
	// Problem is empty when the log verifies; otherwise it says what is
	// wrong, and Line names the first bad line (1-based; 0 when no one line
	// is to blame).
	Problem string
	Line    int64
	// TornTail is the number of bytes after the log's last newline, and
	// TornLine the line they start: a last line cut short by a crash in the
	// middle of an append (Open moves it aside). It is not tampering: the
	// Records before it are verified as usual, and the log still verifies
	// if nothing else is wrong. A checkpoint can never cover a torn line, so
	// one that does still makes the log fail as truncated.
	TornTail int64
	TornLine int64
	// Unsigned counts the records after the newest checkpoint (stored or
	// given): no signature covers them yet, so they could be cut off
	// without a trace. A station signs a checkpoint at every bundle
	// event, so an honest log's unsigned tail is short.
	Unsigned int64
}

// OK reports whether the log verified: nothing in it was edited, reordered
// or truncated. A torn last line alone (TornTail) does not make it fail.
func (r *Report) OK() bool { return r.Problem == "" }

// ErrTampered is wrapped by verification failures.
var ErrTampered = errors.New("custody log does not verify")

func (r *Report) fail(line int64, format string, args ...any) *Report {
	r.Line, r.Problem = line, fmt.Sprintf(format, args...)
	return r
}

// want is a checkpoint the log must match: the first size records have the
// tree hash hash.
type want struct {
	size int64
	hash tlog.Hash
	name string
}

// insertWant inserts w in order of size, before any of the same size (an
// equal size must agree with both; a truncation is blamed on the stored one).
func insertWant(wants []want, w want) []want {
	i := 0
	for i < len(wants) && wants[i].size < w.size {
		i++
	}
	return append(wants[:i], append([]want{w}, wants[i:]...)...)
}

// maxCheckpoint bounds a checkpoint file: a signed note of three lines and
// a signature or two is a few hundred bytes.
const maxCheckpoint = 64 << 10

// readCheckpoint reads a stored checkpoint file as text (see
// ReadCheckpointFile); errors name the file.
func readCheckpoint(path string) ([]byte, error) {
	b, err := textfile.ReadFile(path, maxCheckpoint)
	if err != nil && !errors.Is(err, os.ErrNotExist) && !errors.Is(err, textfile.ErrNotText) {
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	return b, err
}

// ReadCheckpointFile reads a checkpoint file someone carried (an auditor's
// saved copy): CRLF line ends and a UTF-8 byte-order mark are undone, and a
// file that is not UTF-8 text is an error wrapping textfile.ErrNotText that
// names it and says what to do, never a verdict on its signature.
func ReadCheckpointFile(path string) ([]byte, error) {
	return textfile.ReadFile(path, maxCheckpoint)
}

// Verify reads the log at path from start to end, in constant memory, and
// checks: every line is a record; sequence numbers run 0, 1, 2…; each record
// names the previous one's hash; every stored checkpoint (the history and
// the newest) is signed by v for the expected origin and matches the tree of
// that many records, and the newest covers no fewer than the history; and, if
// saved (an auditor's own copy of an older checkpoint) is given, that the log
// still begins with exactly the records it covered. The error is for I/O;
// the verdict is in the report.
func Verify(path string, v note.Verifier, origin string, saved []byte) (*Report, error) {
	rep := &Report{}
	f, err := regfile.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open custody log: %w", err)
	}
	defer f.Close()
	sizes, err := checkpointSizes(path)
	if err != nil {
		return nil, fmt.Errorf("read checkpoints: %w", err)
	}
	var wants []want
	for _, n := range sizes {
		b, err := readCheckpoint(filepath.Join(checkpointDir(path), checkpointName(n)))
		if err != nil {
			return nil, err
		}
		cp, err := OpenCheckpoint(b, v)
		if err != nil {
			return rep.fail(0, "checkpoint %s: bad signature: %v", checkpointName(n), err), nil
		}
		if cp.Origin != origin || cp.Size != n {
			return rep.fail(0, "checkpoint %s is inconsistent: it is for %q at size %d", checkpointName(n), cp.Origin, cp.Size), nil
		}
		wants = append(wants, want{n, cp.Hash, "checkpoint " + checkpointName(n)})
		rep.Checkpoints++
		rep.Latest = cp
	}
	// The newest checkpoint, rewritten after every bundle event.
	b, err := readCheckpoint(filepath.Join(checkpointDir(path), latestName))
	switch {
	case errors.Is(err, os.ErrNotExist): // a log from before latest existed, or with no checkpoint yet
	case err != nil:
		return nil, err
	default:
		cp, err := OpenCheckpoint(b, v)
		if err != nil {
			return rep.fail(0, "the newest checkpoint (%s): bad signature: %v", latestName, err), nil
		}
		if cp.Origin != origin {
			return rep.fail(0, "the newest checkpoint (%s) is inconsistent: it is for %q", latestName, cp.Origin), nil
		}
		if rep.Latest != nil && cp.Size < rep.Latest.Size {
			return rep.fail(0, "the newest checkpoint (%s) covers %d records but checkpoint %s covers %d: it was replaced with an older one",
				latestName, cp.Size, checkpointName(rep.Latest.Size), rep.Latest.Size), nil
		}
		wants = append(wants, want{cp.Size, cp.Hash, "checkpoint " + checkpointName(cp.Size)}) // the largest, checked above
		rep.Checkpoints++
		rep.Latest = cp
	}
	if saved != nil {
		if saved, err = textfile.Normalize("your saved checkpoint", saved); err != nil {
			return nil, err
		}
		cp, err := OpenCheckpoint(saved, v)
		if err != nil {
			return rep.fail(0, "your saved checkpoint: bad signature: %v", err), nil
		}
		if cp.Origin != origin {
			return rep.fail(0, "your saved checkpoint is for %q, not %q", cp.Origin, origin), nil
		}
		wants = insertWant(wants, want{cp.Size, cp.Hash, "your saved checkpoint"})
	}

	newest := int64(0) // the most records a checkpoint covers
	for _, w := range wants {
		newest = max(newest, w.size)
	}
	if crlf(f) {
		return rep.fail(1, "the log's lines end in CR LF: it was copied as text (by a Windows tool or a mail program), which changed every record; copy it again as a binary file"), nil
	}
	lines := parseLines(f)
	defer lines.stop()
	var front frontier
	var prev tlog.Hash
	cur, ok := lines.next()
	for line := int64(1); ok; line++ {
		if cur.err == io.ErrUnexpectedEOF {
			rep.TornTail, rep.TornLine = cur.size, line
			break
		}
		if cur.err != nil {
			return rep.fail(line, "line %d: %v", line, cur.err), nil
		}
		nxt, more := lines.next()
		rec, perr := cur.rec, cur.perr
		expect := line - 1
		switch {
		case perr != nil:
			return rep.fail(line, "line %d was edited: %v", line, perr), nil
		case rec.Seq != expect:
			if more && nxt.err == nil && nxt.perr == nil && nxt.rec.Seq == expect {
				return rep.fail(line, "records were reordered: line %d holds record %d and line %d holds record %d", line, rec.Seq, line+1, nxt.rec.Seq), nil
			}
			if rec.Seq > expect {
				return rep.fail(line, "records were deleted: line %d holds record %d, expected %d", line, rec.Seq, expect), nil
			}
			return rep.fail(line, "records were reordered or duplicated: line %d holds record %d, expected %d", line, rec.Seq, expect), nil
		case expect == 0 && rec.Prev != "":
			return rep.fail(line, "line 1 names a previous record: records before it were deleted"), nil
		case expect > 0 && rec.Prev != prev.String():
			return rep.fail(line-1, "line %d was edited: line %d names a different hash for it", line-1, line), nil
		}
		prev = cur.hash
		front.add(prev)
		for len(wants) > 0 && wants[0].size <= front.n {
			w := wants[0]
			wants = wants[1:]
			if w.size == front.n && front.hash() != w.hash {
				return rep.fail(line, "the first %d records do not match %s: a record up to line %d was edited", w.size, w.name, line), nil
			}
		}
		rep.Records = front.n
		cur, ok = nxt, more
	}
	for len(wants) > 0 && wants[0].size == 0 {
		wants = wants[1:]
	}
	if len(wants) > 0 {
		w := wants[len(wants)-1]
		return rep.fail(rep.Records+1, "the log was truncated: it holds %d records but %s covers %d", rep.Records, w.name, w.size), nil
	}
	if rep.Records > 0 && newest == 0 {
		return rep.fail(0, "no signed checkpoint covers any of its %d records: without one, anyone could have written or rewritten them (a station signs one at its first event); copy the log with its checkpoint folder (custody.log.checkpoints, beside it), or verify it against a checkpoint you hold (sluice log verify --checkpoint FILE)", rep.Records), nil
	}
	rep.Unsigned = rep.Records - newest
	return rep, nil
}

// Each reads the log at path and calls fn for every record in order, in
// constant memory. A line that does not parse stops it with an error naming
// the line.
func Each(path string, fn func(line []byte, r Record) error) error {
	f, err := regfile.Open(path)
	if err != nil {
		return fmt.Errorf("open custody log: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	for n := int64(1); ; n++ {
		line, err := readLine(br)
		if err == io.EOF {
			return nil
		}
		if err == io.ErrUnexpectedEOF {
			return nil // a torn last line is not a record
		}
		if err != nil {
			return fmt.Errorf("custody log line %d: %w", n, err)
		}
		rec, err := ParseRecord(line)
		if err != nil {
			return fmt.Errorf("custody log line %d: %w; run sluice log verify", n, err)
		}
		if err := fn(line, rec); err != nil {
			return err
		}
	}
}

// maxWriterScan bounds the lines LogWriter looks at for a record.
const maxWriterScan = 1000

// LogWriter returns the station named by the first record in the log at
// path: whose log it is. Lines before that record that do not parse (a
// first line edited or blanked) are skipped here, for Verify to report;
// ErrNotALog means none of the first lines is a record.
func LogWriter(path string) (string, error) {
	f, err := regfile.Open(path)
	if err != nil {
		return "", fmt.Errorf("open custody log: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	for n := 1; n <= maxWriterScan; n++ {
		line, err := readLine(br)
		if err == io.EOF {
			break
		}
		if err != nil && err != io.ErrUnexpectedEOF {
			return "", fmt.Errorf("%w: line %d: %v", ErrNotALog, n, err)
		}
		if rec, perr := ParseRecord(line); perr == nil && rec.Station != "" {
			return rec.Station, nil
		}
		if err != nil {
			break // a torn last line
		}
	}
	return "", ErrNotALog
}

// ErrNotALog: a file holds no custody record where one should be.
var ErrNotALog = errors.New("no custody record in its first lines")

// CheckSeal verifies a sender's seal proof with the sender's checkpoint
// verifier: the checkpoint's signature and origin, and the record's
// inclusion in it. It returns the sender's record.
func CheckSeal(p *SealProof, v note.Verifier, origin string) (Record, error) {
	var rec Record
	cp, err := OpenCheckpoint([]byte(p.Checkpoint), v)
	if err != nil {
		return rec, fmt.Errorf("seal record: %w", err)
	}
	if cp.Origin != origin {
		return rec, fmt.Errorf("seal record: checkpoint is for %q, not %q", cp.Origin, origin)
	}
	if p.Index < 0 || p.Index >= cp.Size || len(p.Proof) > 64 {
		return rec, fmt.Errorf("seal record: index %d is outside the checkpoint", p.Index)
	}
	proof := make(tlog.RecordProof, len(p.Proof))
	for i, s := range p.Proof {
		if proof[i], err = tlog.ParseHash(s); err != nil {
			return rec, fmt.Errorf("seal record: bad proof hash")
		}
	}
	if err := tlog.CheckRecord(proof, cp.Size, cp.Hash, p.Index, tlog.RecordHash([]byte(p.Record))); err != nil {
		return rec, fmt.Errorf("seal record is not in the sender's signed log: %v", err)
	}
	if rec, err = ParseRecord([]byte(p.Record)); err != nil {
		return rec, fmt.Errorf("seal record: %w", err)
	}
	if rec.Seq != p.Index || rec.Event != EventSealed {
		return rec, fmt.Errorf("seal record is not a sealed record at index %d", p.Index)
	}
	return rec, nil
}

// NewSealProof builds the proof that travels with a bundle from what Append
// returned for the "sealed" record (which must have been checkpointed).
func NewSealProof(a *Appended) *SealProof {
	p := &SealProof{Record: string(a.Line), Index: a.Index, Checkpoint: string(a.Checkpoint)}
	for _, h := range a.Proof {
		p.Proof = append(p.Proof, h.String())
	}
	return p
}

// parsed is one line of a log, parsed and hashed.
type parsed struct {
	rec  Record
	perr error     // the record does not parse
	hash tlog.Hash // its leaf hash
	err  error     // the line could not be read (io.ErrUnexpectedEOF: torn)
	size int64     // the torn line's length
}

// lineStream parses a log's lines on every core, in batches, and hands
// them back in order: parsing and hashing are most of verifying a log,
// and each line is independent of the others. At most a few batches are
// in flight, so memory stays flat however long the log.
type lineStream struct {
	batches chan chan []parsed
	cur     []parsed
	done    chan struct{}
	once    sync.Once
}

// parseBatch and parseBatchBytes bound a batch of lines, and
// maxParseWorkers the batches parsed at once: with the batches queued
// (twice the workers), what verify holds stays under about 25 MiB
// however long the lines (MaxLine at most) and however many the cores.
const (
	parseBatch      = 1024
	parseBatchBytes = 1 << 20
	maxParseWorkers = 8
)

func parseLines(f io.Reader) *lineStream {
	workers := min(max(1, runtime.NumCPU()), maxParseWorkers)
	ls := &lineStream{batches: make(chan chan []parsed, 2*workers), done: make(chan struct{})}
	sem := make(chan struct{}, workers)
	go func() {
		defer close(ls.batches)
		r := bufio.NewReaderSize(f, 1<<20)
		for last := false; !last; {
			var raw [][]byte
			var tail parsed
			for bytes := 0; len(raw) < parseBatch && bytes < parseBatchBytes; {
				line, err := readLine(r)
				if err == io.EOF {
					last = true
					break
				}
				if err != nil {
					tail, last = parsed{err: err, size: int64(len(line))}, true
					break
				}
				raw = append(raw, append([]byte(nil), line...))
				bytes += len(line)
			}
			// A worker's slot first, then the batch's place in line: a
			// batch handed to the reader is always filled.
			select {
			case sem <- struct{}{}:
			case <-ls.done:
				return
			}
			out := make(chan []parsed, 1)
			select {
			case ls.batches <- out:
			case <-ls.done:
				<-sem
				return
			}
			go func() {
				defer func() { <-sem }()
				ps := make([]parsed, len(raw), len(raw)+1)
				for i, b := range raw {
					ps[i].rec, ps[i].perr = ParseRecord(b)
					ps[i].hash = tlog.RecordHash(b)
				}
				if tail.err != nil {
					ps = append(ps, tail)
				}
				out <- ps
			}()
		}
	}()
	return ls
}

// next returns the next line, in order; false at the end of the log.
func (ls *lineStream) next() (parsed, bool) {
	for len(ls.cur) == 0 {
		b, ok := <-ls.batches
		if !ok {
			return parsed{}, false
		}
		ls.cur = <-b
	}
	p := ls.cur[0]
	ls.cur = ls.cur[1:]
	return p, true
}

// stop ends the stream early (a verdict reached before the end).
func (ls *lineStream) stop() {
	ls.once.Do(func() { close(ls.done) })
	for b := range ls.batches {
		<-b
	}
}

// crlf says whether the log's first line ends in CR LF: no record does
// (each ends with "}"), so the whole file was converted as text.
func crlf(f io.ReaderAt) bool {
	buf := make([]byte, MaxLine+2)
	n, _ := f.ReadAt(buf, 0)
	i := bytes.IndexByte(buf[:n], '\n')
	return i > 0 && buf[i-1] == '\r'
}
