package app

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"sluice/internal/buildinfo"
	"sluice/internal/durable"
	"sluice/internal/regfile"
	"sluice/transfer/custody"
)

// buildFile remembers, in the station home, the build that last wrote the
// custody log, with the executable's size and date: while those are
// unchanged the executable is not hashed again, so a command costs a
// stat, not a read of the 40 MB binary. The log, not this file, is the
// record: a lost buildFile costs one repeated build-changed record.
const buildFile = "build.json"

type buildState struct {
	Version  string    `json:"version"`
	Commit   string    `json:"commit"`
	Go       string    `json:"go"`
	BuildID  string    `json:"build_id"`
	ExeSize  int64     `json:"exe_size"`
	ExeMTime time.Time `json:"exe_mtime"`
}

// The running build, as variables so tests can play other builds.
var (
	readBuild  = buildinfo.Read
	executable = buildinfo.Executable
	executeID  = buildinfo.ExecutableID
	// recordBuilds is off in test binaries, whose builds change at every
	// compile, except where a test turns it on.
	recordBuilds = !testing.Testing()
)

// noteBuild appends build-changed to the log l (held open, so locked)
// when the running build is not the one that last wrote it. A new log is
// left alone until its first record (station-created) is in.
func (s *Station) noteBuild(l *custody.Log) error {
	if !recordBuilds || l.Len() == 0 {
		return nil
	}
	in := readBuild()
	cur := buildState{Version: in.Version, Commit: in.Commit, Go: in.GoVersion}
	if fi, err := os.Stat(executable()); err == nil {
		cur.ExeSize, cur.ExeMTime = fi.Size(), fi.ModTime().UTC()
	}
	statePath := filepath.Join(s.Home, buildFile)
	var prev buildState
	if b, err := regfile.ReadFile(statePath, 1<<16); err == nil {
		json.Unmarshal(b, &prev) // unreadable: as if absent
	}
	if prev.BuildID != "" && prev.Version == cur.Version && prev.Commit == cur.Commit && prev.Go == cur.Go &&
		prev.ExeSize == cur.ExeSize && prev.ExeMTime.Equal(cur.ExeMTime) {
		return nil
	}
	id, err := executeID()
	if err != nil {
		id = "unknown (" + err.Error() + ")"
	}
	cur.BuildID = id
	if prev.BuildID != cur.BuildID || prev.Version != cur.Version || prev.Commit != cur.Commit || prev.Go != cur.Go {
		reason := describeBuild(cur)
		if prev.BuildID != "" {
			reason += "; before: " + describeBuild(prev)
		}
		if _, err := s.appendTo(l, custody.Record{Event: custody.EventBuildChanged, Outcome: "ok", Reason: reason}); committed(err) != nil {
			return fmt.Errorf("record the build writing the custody log: %w", err)
		}
	}
	b, _ := json.Marshal(cur)
	// Not saved: the next command hashes and compares again, and the
	// log is not touched unless the build differs.
	durable.ReplaceFile(statePath, b, 0o600)
	return nil
}

func describeBuild(b buildState) string {
	commit := b.Commit
	if commit == "" {
		commit = "unknown"
	}
	return fmt.Sprintf("sluice %s, commit %s, %s, build id %s", b.Version, commit, b.Go, b.BuildID)
}
