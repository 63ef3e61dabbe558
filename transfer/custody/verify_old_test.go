package custody

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"sluice/internal/regfile"
	"sluice/internal/strictjson"
	"sluice/internal/textfile"
)

var _ = fmt.Sprint

func parseRecordOld(line []byte) (Record, error) {
	var r Record
	if len(line) > MaxLine {
		return r, fmt.Errorf("record longer than %d bytes", MaxLine)
	}
	if len(bytes.TrimSpace(line)) == 0 { // a verdict's wording, kept in step with ParseRecord
		return r, errors.New("not a record: the line is empty")
	}
	if err := strictjson.Decode(line, &r); err != nil {
		return r, fmt.Errorf("not a record: %v", err)
	}
	if r.Event == "" || r.Time.IsZero() {
		return r, fmt.Errorf("not a record: no event or time")
	}
	return r, nil
}
func verifyOld(path string, v note.Verifier, origin string, saved []byte) (*Report, error) {
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

	newest := int64(0)
	for _, w := range wants {
		newest = max(newest, w.size)
	}
	if crlf(f) {
		return rep.fail(1, "the log's lines end in CR LF: it was copied as text (by a Windows tool or a mail program), which changed every record; copy it again as a binary file"), nil
	}
	r := bufio.NewReaderSize(f, 1<<20)
	var front frontier
	var prev tlog.Hash
	next, err := readLine(r)
	for line := int64(1); ; line++ {
		if err == io.EOF {
			break
		}
		if err == io.ErrUnexpectedEOF {
			rep.TornTail, rep.TornLine = int64(len(next)), line
			break
		}
		if err != nil {
			return rep.fail(line, "line %d: %v", line, err), nil
		}
		cur := append([]byte(nil), next...)
		next, err = readLine(r)
		rec, perr := parseRecordOld(cur)
		expect := line - 1
		switch {
		case perr != nil:
			return rep.fail(line, "line %d was edited: %v", line, perr), nil
		case rec.Seq != expect:
			if nrec, nerr := parseRecordOld(next); err == nil && nerr == nil && nrec.Seq == expect {
				return rep.fail(line, "records were reordered: line %d holds record %d and line %d holds record %d", line, rec.Seq, line+1, nrec.Seq), nil
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
		prev = tlog.RecordHash(cur)
		front.add(prev)
		for len(wants) > 0 && wants[0].size <= front.n {
			w := wants[0]
			wants = wants[1:]
			if w.size == front.n && front.hash() != w.hash {
				return rep.fail(line, "the first %d records do not match %s: a record up to line %d was edited", w.size, w.name, line), nil
			}
		}
		rep.Records = front.n
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
