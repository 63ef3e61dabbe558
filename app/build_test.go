package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sluice/internal/buildinfo"
	"sluice/transfer/custody"
)

// fakeBuild plays a build of Sluice: a stamp and an executable file whose
// bytes are its build ID. It counts how often the executable is hashed.
type fakeBuild struct {
	exe    string
	info   buildinfo.Info
	hashed int
}

func playBuilds(t *testing.T) *fakeBuild {
	t.Helper()
	fb := &fakeBuild{exe: filepath.Join(t.TempDir(), "sluice")}
	saved := []any{readBuild, executable, executeID, recordBuilds}
	t.Cleanup(func() {
		readBuild, executable, executeID, recordBuilds = saved[0].(func() buildinfo.Info), saved[1].(func() string),
			saved[2].(func() (string, error)), saved[3].(bool)
	})
	readBuild = func() buildinfo.Info { return fb.info }
	executable = func() string { return fb.exe }
	executeID = func() (string, error) { fb.hashed++; return buildinfo.FileID(fb.exe) }
	recordBuilds = true
	return fb
}

// install puts a build in place, as a new binary would be.
func (fb *fakeBuild) install(t *testing.T, version, commit, bytes string, mtime time.Time) {
	t.Helper()
	fb.info = buildinfo.Info{Version: version, Commit: commit, Stamped: true, GoVersion: "go1.26.8"}
	if err := os.WriteFile(fb.exe, []byte(bytes), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(fb.exe, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

// TestBuildChanged: one build-changed record each time another build
// writes the log, none while the same one does, and the log verifies.
func TestBuildChanged(t *testing.T) {
	fb := playBuilds(t)
	day := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	fb.install(t, "0.1.0", "aaaa", "build one", day)
	s, err := Init(filepath.Join(t.TempDir(), "st"), "alpha", false)
	if err != nil {
		t.Fatal(err)
	}
	builds := func() []custody.Record {
		var out []custody.Record
		for _, r := range events(t, s) {
			if r.Event == custody.EventBuildChanged {
				out = append(out, r)
			}
		}
		return out
	}
	write := func() { // any command that writes the log
		t.Helper()
		if err := s.record(custody.Record{Event: custody.EventSettingsChanged, Outcome: "ok", Reason: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	recs := events(t, s)
	if len(recs) != 2 || recs[0].Event != custody.EventStationCreated || recs[1].Event != custody.EventBuildChanged {
		t.Fatalf("a new station's log: %+v", recs)
	}
	id1, _ := buildinfo.FileID(fb.exe)
	if want := "sluice 0.1.0, commit aaaa, go1.26.8, build id " + id1; recs[1].Reason != want {
		t.Fatalf("build-changed says %q, want %q", recs[1].Reason, want)
	}

	// The same build again and again: no record, and no hashing.
	hashed := fb.hashed
	write()
	write()
	if n := len(builds()); n != 1 {
		t.Fatalf("%d build-changed records after writes by the same build, want 1", n)
	}
	if fb.hashed != hashed {
		t.Errorf("the unchanged executable was hashed %d more times", fb.hashed-hashed)
	}

	// The same bytes reinstalled (a new date): hashed once, not recorded.
	fb.install(t, "0.1.0", "aaaa", "build one", day.Add(time.Hour))
	write()
	if n := len(builds()); n != 1 {
		t.Fatalf("a reinstall of the same build was recorded as a change")
	}

	// A new version: one record, naming the one before.
	fb.install(t, "0.2.0", "bbbb", "build two", day.Add(2*time.Hour))
	write()
	write()
	b := builds()
	if len(b) != 2 || !strings.Contains(b[1].Reason, "sluice 0.2.0, commit bbbb") || !strings.Contains(b[1].Reason, "before: sluice 0.1.0, commit aaaa") {
		t.Fatalf("after an upgrade: %+v", b)
	}

	// Same stamp, other bytes (a rebuild with local changes): recorded.
	fb.install(t, "0.2.0", "bbbb", "build two, patched", day.Add(2*time.Hour))
	write()
	if n := len(builds()); n != 3 {
		t.Fatalf("a different executable with the same stamp: %d build-changed records, want 3", n)
	}

	// A lost state file costs one repeated record, never a missing one.
	os.Remove(filepath.Join(s.Home, buildFile))
	write()
	if n := len(builds()); n != 4 {
		t.Fatalf("after losing %s: %d build-changed records, want 4", buildFile, n)
	}
	write()
	if n := len(builds()); n != 4 {
		t.Fatalf("%d build-changed records, want 4", n)
	}

	v, err := s.Verifier(s.Name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyLog(LogRef{Path: s.CustodyPath, Station: s.Name, Verifier: v}, nil); err != nil {
		t.Fatal(err)
	}
}
