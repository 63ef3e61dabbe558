package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sluice/internal/clamtest"
	"sluice/transfer/bundle"
	"sluice/transfer/custody"
	"sluice/transfer/scan"
)

// TestClamAVUpdateOverAnInstalledDaily: the station's database folder
// already has a daily (as after freshclam or an earlier update); the
// update's daily replaces it, and clamd, told to reload, reports the new
// version with only the new signatures in force.
func TestClamAVUpdateOverAnInstalledDaily(t *testing.T) {
	dbDir := t.TempDir()
	if err := clamtest.WriteDatabase(dbDir); err != nil {
		t.Fatal(err)
	}
	const oldMarker = "a file only the old signatures know, 2026-11-30\n"
	buildCUD(t, dbDir, 27100, oldMarker, "Sluice.Test.Old")
	d := clamtest.Start(t, false, "DatabaseDirectory "+dbDir)
	rel, kiosk := releasePair(t)
	kiosk.Policy.Scan = ScanPolicy{Required: true, Clamd: d.Address, Database: dbDir, Timeout: time.Minute}
	old := clamReloadTime
	clamReloadTime = 20 * time.Second
	defer func() { clamReloadTime = old }()
	ctx := context.Background()
	c := &scan.Clamd{Network: d.Network, Address: d.Address}
	v, _ := c.Version(ctx)
	t.Logf("before: %s", v)
	carried := filepath.Join(t.TempDir(), "freshclam")
	buildCUD(t, carried, 27101, "a file only the new signatures know\n", "Sluice.Test.New")
	_, err := kiosk.ApplyUpdate(ctx, UpdateRequest{BundleDir: releasePack(t, rel, ReleasePackRequest{ClamAVDB: carried}).Dir})
	ents, _ := os.ReadDir(dbDir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	v, _ = c.Version(ctx)
	t.Logf("after: %s; folder: %s", v, strings.Join(names, " "))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(v, "/27101/") {
		t.Fatalf("clamd reports %q after the update, want daily 27101", v)
	}
	f := filepath.Join(t.TempDir(), "old.txt")
	os.WriteFile(f, []byte(oldMarker), 0o644)
	fh, _ := os.Open(f)
	defer fh.Close()
	if r := c.Scan(ctx, f, fh); r.Verdict != scan.Clean {
		t.Fatalf("the replaced daily's signature is still in force: %+v", r)
	}
}

// TestUpdateOrderIsDpkgs: a version newer by semver but older to dpkg
// (a Debian revision reads as a semver pre-release) is not newer: the
// package 1.3.0, replayed after 1.3.0-2 was installed, is refused.
func TestUpdateOrderIsDpkgs(t *testing.T) {
	needTool(t, "dpkg", "dpkg")
	for _, c := range [][2]string{{"1.3.0", "1.3.0-2"}, {"1.3.0", "1.3.0-rc.1"}} {
		if newerThan(c[0], c[1]) {
			t.Errorf("%s taken as newer than %s, which dpkg orders after it", c[0], c[1])
		}
	}
	for _, c := range [][2]string{{"1.3.0-3", "1.3.0-2"}, {"1.10.0", "1.9.0"}, {"2.0.0", "1.99.99"}} {
		if !newerThan(c[0], c[1]) {
			t.Errorf("%s not taken as newer than %s", c[0], c[1])
		}
	}
}

// The update state removed (by hand, or lost), the rollback protection
// does not start again from nothing while the custody log says updates
// were installed: applying one is refused, saying to restore the state.
func TestUpdateStateLost(t *testing.T) {
	rel, kiosk := releasePair(t)
	_, dpkg := dpkgRoot(t)
	ctx := context.Background()
	if _, err := kiosk.ApplyUpdate(ctx, UpdateRequest{BundleDir: releasePack(t, rel, ReleasePackRequest{Deb: makeDeb(t, "1.3.0")}).Dir, Dpkg: dpkg}); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(kiosk.Home, updatesDir, updateStateFile)); err != nil {
		t.Fatal(err)
	}
	_, err := kiosk.ApplyUpdate(ctx, UpdateRequest{BundleDir: releasePack(t, rel, ReleasePackRequest{Deb: makeDeb(t, "1.2.0")}).Dir, Dpkg: dpkg})
	if err == nil || !strings.Contains(err.Error(), "update state") || !strings.Contains(err.Error(), "is missing, yet its custody log records updates") {
		t.Fatalf("an older release with the state gone: %v", err)
	}
	if _, err := kiosk.UpdateStatus(); err == nil {
		t.Errorf("the status reads as a station never updated")
	}
}

// A signature update's note names each database's version, signed with
// the envelope; an update whose note is not what it holds is refused once
// it is open.
func TestUpdateDatabasesAsTheNoteSays(t *testing.T) {
	dbDir := t.TempDir()
	rel, kiosk := releasePair(t)
	kiosk.Policy.Scan = ScanPolicy{Database: dbDir}
	d := filepath.Join(t.TempDir(), "carried")
	buildDB(t, d, "daily", 27300, "x\n", "Sluice.Test.Carried")
	buildDB(t, d, "main", 64, "y\n", "Sluice.Test.Main")
	if sealed := releasePack(t, rel, ReleasePackRequest{ClamAVDB: d}); sealed.Envelope.Note != "update: clamav-db 27300 (main 64, daily 27300)" {
		t.Fatalf("note %q", sealed.Envelope.Note)
	}
	srcs, err := StagePaths([]string{filepath.Join(d, "daily.cud"), filepath.Join(d, "main.cud")})
	if err != nil {
		t.Fatal(err)
	}
	up := &bundle.Update{Kind: bundle.UpdateClamAVDB, Version: "27300"}
	sealed, err := rel.Pack(context.Background(), PackRequest{To: []string{"kiosk-1"}, OutDir: t.TempDir(), Sources: srcs, update: up,
		Note: "update: clamav-db 27300 (main 70, daily 27300)"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = kiosk.ApplyUpdate(context.Background(), UpdateRequest{BundleDir: sealed.Dir})
	if !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "the envelope's note names the databases") {
		t.Fatalf("a note naming another main: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dbDir, "daily.cud")); err == nil {
		t.Errorf("the daily was installed")
	}
}

// The desktop shows an update, then applies it: a drive swapped in
// between holds another update, which is refused (and recorded), not
// installed in place of the one the officer read.
func TestUpdateIsTheOneShown(t *testing.T) {
	rel, kiosk := releasePair(t)
	root, dpkg := dpkgRoot(t)
	shown := releasePack(t, rel, ReleasePackRequest{Deb: makeDeb(t, "1.5.0")})
	info, err := kiosk.ReadUpdate(shown.Dir)
	if err != nil {
		t.Fatal(err)
	}
	other := releasePack(t, rel, ReleasePackRequest{Deb: makeDeb(t, "1.6.0")})
	_, err = kiosk.ApplyUpdate(context.Background(), UpdateRequest{BundleDir: other.Dir, Bundle: info.Bundle, Dpkg: dpkg})
	if !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "not "+info.Bundle+", the one shown") {
		t.Fatalf("another update than the one shown: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "usr/share/sluice/marker")); err == nil {
		t.Errorf("something was installed")
	}
	if rec := lastEvent(t, kiosk); rec.Event != custody.EventRejected {
		t.Errorf("the refusal's record: %+v", rec)
	}
	if _, err := kiosk.ApplyUpdate(context.Background(), UpdateRequest{BundleDir: shown.Dir, Bundle: info.Bundle, Dpkg: dpkg}); err != nil {
		t.Fatalf("the update shown: %v", err)
	}
}

// noteDatabases reads only the note updateNote writes, naming each of the
// three databases at most once, with the envelope's version.
func TestNoteDatabases(t *testing.T) {
	for note, want := range map[string]string{
		"update: clamav-db 27101 (main 62, daily 27101, bytecode 335)": "main 62 daily 27101 bytecode 335",
		"update: clamav-db 27101 (daily 27101)":                        "daily 27101",
		"update: clamav-db 27101":                                      "",
		"update: clamav-db 27102 (daily 27102)":                        "", // not the envelope's version
		"update: clamav-db 27101 (daily 27101, daily 27102)":           "",
		"update: clamav-db 27101 (safebrowsing 1, daily 27101)":        "",
		"update: clamav-db 27101 (daily 0)":                            "",
		"update: clamav-db 27101 (daily 27101) and more":               "",
		"weekly reports": "",
	} {
		env := &bundle.Envelope{Note: note, Update: &bundle.Update{Kind: bundle.UpdateClamAVDB, Version: "27101"}}
		var got []string
		for _, c := range noteDatabases(env) {
			got = append(got, fmt.Sprintf("%s %d", c.Name, c.Version))
		}
		if strings.Join(got, " ") != want {
			t.Errorf("%q: %v, want %q", note, got, want)
		}
	}
}
