// Package custody records what a station did with each bundle.
//
// This is the plain custody file: one JSON record per line, appended with
// O_APPEND and made durable with fsync before Append returns. The hash-chained,
// signed log described in PRODUCT.md replaces it (its own issue); the Record
// fields are the ones that log will carry.
package custody

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"
)

// Events a station records.
const (
	EventStationCreated = "station-created"
	EventTrustAdded     = "trust-added"
	EventTrustRemoved   = "trust-removed"
	EventSealed         = "sealed"
	EventSealFailed     = "seal-failed"
	EventReceived       = "received"
	EventRejected       = "rejected"
	EventReleased       = "released"
)

// Record is one custody event.
type Record struct {
	Time           time.Time `json:"time"`
	Event          string    `json:"event"`
	Station        string    `json:"station"`
	Officer        string    `json:"officer"`
	Bundle         string    `json:"bundle,omitempty"`
	Peer           string    `json:"peer,omitempty"`
	ManifestSHA256 string    `json:"manifest_sha256,omitempty"`
	Files          int64     `json:"files,omitempty"`
	Bytes          int64     `json:"bytes,omitempty"`
	Path           string    `json:"path,omitempty"`
	Outcome        string    `json:"outcome"`
	Reason         string    `json:"reason,omitempty"`
}

// File is an append-only custody file.
type File struct{ path string }

// Open returns the custody file at path; it is created on first append.
func Open(path string) *File { return &File{path: path} }

// Path returns where the records are kept.
func (f *File) Path() string { return f.path }

// Append writes r as one line and fsyncs before returning, so a record whose
// Append returned survives a crash.
func (f *File) Append(r Record) error {
	if r.Time.IsZero() {
		r.Time = time.Now()
	}
	r.Time = r.Time.UTC().Truncate(time.Millisecond)
	line, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("custody: %w", err)
	}
	fd, err := os.OpenFile(f.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("custody: %w", err)
	}
	_, err = fd.Write(append(line, '\n'))
	if err == nil {
		err = fd.Sync()
	}
	if cerr := fd.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("custody: append: %w", err)
	}
	return nil
}

// ReadAll returns every record in order. A torn last line (a crash mid-write)
// is skipped; any other bad line is an error naming it.
func (f *File) ReadAll() ([]Record, error) {
	fd, err := os.Open(f.path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("custody: %w", err)
	}
	defer fd.Close()
	return parse(fd)
}

func parse(r io.Reader) ([]Record, error) {
	var out []Record
	br := bufio.NewReader(r)
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if err == io.EOF {
			return out, nil // a line without its newline was torn by a crash
		}
		if err != nil {
			return out, fmt.Errorf("custody: %w", err)
		}
		var rec Record
		if err := json.Unmarshal(line, &rec); err != nil {
			return out, fmt.Errorf("custody: line %d is not a record: %w", n, err)
		}
		out = append(out, rec)
	}
}
