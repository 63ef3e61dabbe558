package custody

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// rechain makes each line name the previous line's hash again, as anyone
// who edits the log without the station's key can.
func rechain(t *testing.T, lines []string) []string {
	t.Helper()
	var prev tlog.Hash
	for i, l := range lines {
		r, err := ParseRecord([]byte(l))
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			r.Prev = prev.String()
		}
		b, err := r.marshal()
		if err != nil {
			t.Fatal(err)
		}
		lines[i] = string(b)
		prev = tlog.RecordHash(b)
	}
	return lines
}

// A station never writes to (and so never signs a checkpoint over) a log
// that no longer holds what its own newest checkpoint signed: a record
// edited and the chain redone, or records cut off. Were it to, its next
// checkpoint would replace the one that proves the change.
func TestStationRefusesRewrittenLog(t *testing.T) {
	s := newStation(t, "st")
	for _, how := range []string{"edited", "cut"} {
		t.Run(how, func(t *testing.T) {
			path := filledLog(t, s, 150)
			lines := readLines(t, path)
			if how == "edited" {
				lines[119] = strings.Replace(lines[119], `"officer":"tester"`, `"officer":"someone-else"`, 1)
				lines = rechain(t, lines)
			} else {
				lines = lines[:140]
			}
			writeLines(t, path, lines)
			before := mustRead(t, filepath.Join(checkpointDir(path), latestName))
			_, err := Open(path, s.keys.NoteSigner(s.origin), s.origin, "st", "tester")
			if !errors.Is(err, ErrTampered) || !strings.Contains(err.Error(), "nothing more is written to it") {
				t.Fatalf("opening a %s log: %v", how, err)
			}
			if after := mustRead(t, filepath.Join(checkpointDir(path), latestName)); string(after) != string(before) {
				t.Errorf("the checkpoint that proves the change was replaced")
			}
			if r := verify(t, s, path, nil); r.OK() {
				t.Errorf("verify passes a %s log", how)
			}
		})
	}
}

// A frontier cache with too few roots for its size (damaged, or made by
// hand) is rebuilt from the log, not used: it panicked the next append.
func TestStateCacheWithoutRoots(t *testing.T) {
	s := newStation(t, "st")
	path := filledLog(t, s, 7)
	var st map[string]any
	json.Unmarshal(mustRead(t, path+".state"), &st)
	st["roots"] = []any{}
	b, _ := json.Marshal(st)
	os.WriteFile(path+".state", b, 0o600)
	l := s.open(t, path)
	if _, err := l.Append(Record{Event: EventSealed, Station: "st", Outcome: "ok"}, true); err != nil {
		t.Fatal(err)
	}
	l.Close()
	if r := verify(t, s, path, nil); !r.OK() {
		t.Errorf("after a rebuilt cache: %s", r.Problem)
	}
}

// A log no signed checkpoint covers does not verify: anyone can write one,
// chain and all. The records after the newest checkpoint are counted.
func TestVerifyNeedsACheckpoint(t *testing.T) {
	s := newStation(t, "st")
	path := filledLog(t, s, 25)
	if r := verify(t, s, path, nil); !r.OK() || r.Unsigned != 5 {
		t.Fatalf("an honest log: %+v", r)
	}
	lines := readLines(t, path)
	lines[5] = strings.Replace(lines[5], `"officer":"tester"`, `"officer":"someone-else"`, 1)
	writeLines(t, path, rechain(t, lines))
	os.RemoveAll(checkpointDir(path))
	if r := verify(t, s, path, nil); r.OK() || !strings.Contains(r.Problem, "no signed checkpoint covers any of its 25 records") {
		t.Fatalf("a rewritten log without its checkpoints: %+v", r)
	}
}

// Verify's memory does not grow with the length of a log's lines: a line
// longer than any record is refused before it is copied, and lines are
// read ahead in batches bounded in bytes, so a log of 3 GiB of 512 KiB
// lines (sparse zeros) is refused at line 2 holding little.
func TestVerifyMemoryBoundedByLines(t *testing.T) {
	s := newStation(t, "st")
	path := filledLog(t, s, 10)
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := f.Stat()
	off := st.Size()
	for range 6 * 1024 {
		off += 512 << 10
		f.WriteAt([]byte{'\n'}, off-1)
	}
	f.Close()
	runtime.GC()
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		var ms runtime.MemStats
		for {
			select {
			case <-done:
				return
			default:
			}
			runtime.ReadMemStats(&ms)
			peak.Store(max(peak.Load(), ms.HeapInuse))
			time.Sleep(2 * time.Millisecond)
		}
	}()
	r := verify(t, s, path, nil)
	close(done)
	if r.OK() || r.Line != 11 || !strings.Contains(r.Problem, "longer than") {
		t.Errorf("verdict %q at line %d, want line 11 refused as too long", r.Problem, r.Line)
	}
	if peak.Load() > 64<<20 {
		t.Errorf("verify held %d MiB of heap to refuse line 11", peak.Load()>>20)
	}
}

// A file in the checkpoint folder that is not a checkpoint's name (twelve
// digits) is not taken for one: verify gives its verdict rather than an
// error about a file that does not exist.
func TestOddNameInCheckpointFolder(t *testing.T) {
	s := newStation(t, "st")
	path := filledLog(t, s, 10)
	os.WriteFile(filepath.Join(checkpointDir(path), "+00000000005"), []byte("x"), 0o600)
	if r := verify(t, s, path, nil); !r.OK() {
		t.Fatalf("verdict: %s", r.Problem)
	}
}

// A log copied as text (CR LF line ends) is said to be that, not edited.
func TestCRLFLogSaidSo(t *testing.T) {
	s := newStation(t, "st")
	path := filledLog(t, s, 10)
	b := mustRead(t, path)
	os.WriteFile(path, []byte(strings.ReplaceAll(string(b), "\n", "\r\n")), 0o600)
	if r := verify(t, s, path, nil); r.OK() || !strings.Contains(r.Problem, "copied as text") {
		t.Fatalf("verdict: %q", r.Problem)
	}
}

// A cache of the tree written by hand for a rewritten log (its roots are
// the rewritten log's, one record more than the newest checkpoint, so the
// checkpoint is never compared) is not taken: the cache carries the
// station's signature, and without it the log is rebuilt and checked.
func TestForgedStateCacheRefused(t *testing.T) {
	s := newStation(t, "st")
	path := filledLog(t, s, 150)
	lines := readLines(t, path)
	lines[120] = strings.Replace(lines[120], `"officer":"tester"`, `"officer":"someone-else"`, 1)
	extra := strings.Replace(lines[len(lines)-1], `"seq":149`, `"seq":150`, 1)
	lines = rechain(t, append(lines, extra))
	writeLines(t, path, lines)
	var f frontier
	var prev tlog.Hash
	for _, line := range lines {
		prev = tlog.RecordHash([]byte(line))
		f.add(prev)
	}
	info, _ := os.Stat(path)
	history := int64(100)
	b, _ := json.Marshal(state{Size: info.Size(), N: f.n, Prev: prev, Roots: f.roots, History: &history})
	os.WriteFile(path+".state", b, 0o600)
	if _, err := Open(path, s.keys.NoteSigner(s.origin), s.origin, "st", "tester"); !errors.Is(err, ErrTampered) {
		t.Fatalf("opening a rewritten log with a forged cache: %v", err)
	}
}

// filledLog is a log of n records by station s (fill's: every tenth a
// sealed record, checkpointed), closed.
func filledLog(t *testing.T, s station, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "custody.log")
	l := s.open(t, path)
	fill(t, l, n)
	l.Close()
	return path
}
