package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sluice/crypto"
	"sluice/transfer/bundle"
	"sluice/transfer/custody"
)

// TestUpdateRetriedAfterAFailedInstall: dpkg fails for a reason of the
// station's (its lock held by another dpkg, a full disk); the same update
// bundle, applied again once that is fixed, installs.
func TestUpdateRetriedAfterAFailedInstall(t *testing.T) {
	rel, kiosk := releasePair(t)
	_, dpkg := dpkgRoot(t)
	sealed := releasePack(t, rel, ReleasePackRequest{Deb: makeDeb(t, "1.1.0")})
	ctx := context.Background()
	if _, err := kiosk.ApplyUpdate(ctx, UpdateRequest{BundleDir: sealed.Dir, Dpkg: []string{"false"}}); err == nil {
		t.Fatal("a failing dpkg installed")
	}
	if _, err := kiosk.ApplyUpdate(ctx, UpdateRequest{BundleDir: sealed.Dir, Dpkg: dpkg}); err != nil {
		t.Fatalf("the same update, once dpkg works: %v", err)
	}
	if rec := lastEvent(t, kiosk); rec.Event != custody.EventUpdated || rec.Outcome != "ok" || !strings.Contains(rec.Reason, "applied again") {
		t.Fatalf("updated record: %+v", rec)
	}
	if _, err := kiosk.ApplyUpdate(ctx, UpdateRequest{BundleDir: sealed.Dir, Dpkg: dpkg}); !errors.Is(err, ErrRejected) {
		t.Fatalf("once installed, the same update again: %v", err)
	}
	if n := countEvents(t, kiosk, custody.EventReleased, "ok"); n != 1 {
		t.Fatalf("%d released records for one update", n)
	}
}

// The station's home is its user's: nothing dpkg installs is taken from
// it on trust. A released copy changed after a failed install is not what
// the retry installs (the bundle is decrypted and checked again); a kept
// package changed while pkexec waits for the administrator is not what
// dpkg reads (a sealed copy in memory is); a kept package changed before
// a rollback is refused.
func TestUpdateInstallsOnlyWhatWasSigned(t *testing.T) {
	rel, kiosk := releasePair(t)
	root, dpkg := dpkgRoot(t)
	ctx := context.Background()
	marker := func() string {
		b, _ := os.ReadFile(filepath.Join(root, "usr/share/sluice/marker"))
		return string(b)
	}
	forged := func(v string) []byte {
		b, err := os.ReadFile(makeDebWith(t, "sluice", v, "NOT SIGNED"))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	// A retry after a failed install, the released copy replaced.
	first := releasePack(t, rel, ReleasePackRequest{Deb: makeDeb(t, "1.1.0")})
	if _, err := kiosk.ApplyUpdate(ctx, UpdateRequest{BundleDir: first.Dir, Dpkg: []string{"false"}}); err == nil {
		t.Fatal("a failing dpkg installed")
	}
	released := filepath.Join(kiosk.Home, updatesDir, receivedDir, first.Envelope.ID, "sluice_1.1.0_all.deb")
	if err := os.WriteFile(released, forged("1.1.0"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := kiosk.ApplyUpdate(ctx, UpdateRequest{BundleDir: first.Dir, Dpkg: dpkg}); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if m := marker(); m != "1.1.0" {
		t.Fatalf("the retry installed %q, not the signed 1.1.0", m)
	}

	// The kept package swapped while "pkexec" waits for a password.
	second := releasePack(t, rel, ReleasePackRequest{Deb: makeDeb(t, "1.2.0")})
	kept := filepath.Join(kiosk.Home, updatesDir, installedDir, "sluice_1.2.0_all.deb")
	prompting := filepath.Join(t.TempDir(), "prompting")
	swapped := make(chan error, 1)
	go func() {
		for range 2000 {
			if _, err := os.Stat(prompting); err == nil {
				swapped <- os.WriteFile(kept, forged("1.2.0"), 0o600)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		swapped <- errors.New("dpkg never started")
	}()
	prompt := []string{"sh", "-c", "touch " + prompting + "; sleep 1; exec " + strings.Join(dpkg, " ") + ` "$@"`, "sh"}
	if _, err := kiosk.ApplyUpdate(ctx, UpdateRequest{BundleDir: second.Dir, Dpkg: prompt}); err != nil {
		t.Fatal(err)
	}
	if err := <-swapped; err != nil {
		t.Fatal(err)
	}
	if m := marker(); m != "1.2.0" {
		t.Fatalf("dpkg installed %q, not the signed 1.2.0", m)
	}

	// A rollback to a kept package that was replaced.
	if err := os.WriteFile(filepath.Join(kiosk.Home, updatesDir, installedDir, "sluice_1.1.0_all.deb"), forged("1.1.0"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := kiosk.RollbackUpdate(ctx, RollbackRequest{Dpkg: dpkg})
	if err == nil || !strings.Contains(err.Error(), "not the package the release key signed") {
		t.Fatalf("rollback to a replaced package: %v", err)
	}
	if m := marker(); m != "1.2.0" {
		t.Fatalf("after the refused rollback %q is installed", m)
	}
	if rec := lastEvent(t, kiosk); rec.Event != custody.EventRolledBack || rec.Outcome != "failed" {
		t.Fatalf("the refused rollback's record: %+v", rec)
	}
}

// A retry refused (an older version than one installed since) is
// recorded, as every refusal of a bundle is.
func TestUpdateRetryRefusalRecorded(t *testing.T) {
	rel, kiosk := releasePair(t)
	_, dpkg := dpkgRoot(t)
	ctx := context.Background()
	first := releasePack(t, rel, ReleasePackRequest{Deb: makeDeb(t, "1.1.0")})
	if _, err := kiosk.ApplyUpdate(ctx, UpdateRequest{BundleDir: first.Dir, Dpkg: []string{"false"}}); err == nil {
		t.Fatal("a failing dpkg installed")
	}
	if _, err := kiosk.ApplyUpdate(ctx, UpdateRequest{BundleDir: releasePack(t, rel, ReleasePackRequest{Deb: makeDeb(t, "1.2.0")}).Dir, Dpkg: dpkg}); err != nil {
		t.Fatal(err)
	}
	_, err := kiosk.ApplyUpdate(ctx, UpdateRequest{BundleDir: first.Dir, Dpkg: dpkg})
	if !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "not newer than version 1.2.0") {
		t.Fatalf("the failed 1.1.0 after 1.2.0: %v", err)
	}
	if rec := lastEvent(t, kiosk); rec.Event != custody.EventRejected || rec.Bundle != first.Envelope.ID || !strings.Contains(rec.Reason, "not newer") {
		t.Fatalf("the refusal's record: %+v", rec)
	}
}

// TestUpdateApplyChild is the station of TestUpdateCutShort, in a process
// of its own: it applies SLUICE_UPDATE_BUNDLE with the dpkg command in
// SLUICE_UPDATE_DPKG (its words split on '|'), which kills it.
func TestUpdateApplyChild(t *testing.T) {
	if os.Getenv("SLUICE_UPDATE_CHILD") == "" {
		t.Skip("the station of TestUpdateCutShort")
	}
	st, err := Load(os.Getenv("SLUICE_UPDATE_HOME"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.ApplyUpdate(context.Background(), UpdateRequest{BundleDir: os.Getenv("SLUICE_UPDATE_BUNDLE"), Dpkg: strings.Split(os.Getenv("SLUICE_UPDATE_DPKG"), "|")})
	t.Fatalf("the station was to die in dpkg; ApplyUpdate returned %v", err)
}

// The station dies just after dpkg installed the update (a power cut):
// the same bundle can be applied again, and is then recorded and known
// to the rollback protection, instead of being refused as a replay.
func TestUpdateCutShort(t *testing.T) {
	rel, kiosk := releasePair(t)
	root, dpkg := dpkgRoot(t)
	sealed := releasePack(t, rel, ReleasePackRequest{Deb: makeDeb(t, "2.0.0")})
	script := strings.Join(dpkg, " ") + ` "$@"; kill -KILL $PPID; sleep 5`
	cmd := exec.Command(os.Args[0], "-test.run=^TestUpdateApplyChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "SLUICE_UPDATE_CHILD=1", "SLUICE_UPDATE_HOME="+kiosk.Home, "SLUICE_UPDATE_BUNDLE="+sealed.Dir,
		"SLUICE_UPDATE_DPKG="+strings.Join([]string{"sh", "-c", script, "sh"}, "|"))
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != -1 {
		t.Fatalf("the station was not killed in dpkg: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "usr/share/sluice/marker")); string(b) != "2.0.0" {
		t.Fatalf("dpkg did not install before the cut: %q", b)
	}
	kiosk, err = Load(kiosk.Home)
	if err != nil {
		t.Fatal(err)
	}
	// The station starts again on what dpkg installed.
	saved := RunningVersion
	defer func() { RunningVersion = saved }()
	RunningVersion = func() string { return "2.0.0" }
	if _, err := kiosk.ApplyUpdate(context.Background(), UpdateRequest{BundleDir: sealed.Dir, Dpkg: dpkg}); err != nil {
		t.Fatalf("applied again after the cut: %v", err)
	}
	st, _ := kiosk.UpdateStatus()
	if st.Highest != "2.0.0" {
		t.Errorf("highest after the retry: %q", st.Highest)
	}
	if rec := lastEvent(t, kiosk); rec.Event != custody.EventUpdated || rec.Outcome != "ok" || !strings.Contains(rec.Reason, "applied again") {
		t.Errorf("updated record: %+v", rec)
	}
}

// Signatures whose install was cut short after the new daily got its
// name (the folder has it, the state does not) apply again, and are then
// recorded; an older one is still refused.
func TestDatabaseUpdateCutShort(t *testing.T) {
	dbDir := filepath.Join(t.TempDir(), "clamav")
	rel, kiosk := releasePair(t)
	kiosk.Policy.Scan = ScanPolicy{Database: dbDir}
	carried := filepath.Join(t.TempDir(), "carried")
	cud := buildDB(t, carried, "daily", 27500, "x\n", "Sluice.Test.Carried")
	sealed := releasePack(t, rel, ReleasePackRequest{ClamAVDB: carried})
	ctx := context.Background()
	// The first install fails: the scanner's folder is a file.
	os.WriteFile(dbDir, nil, 0o644)
	if _, err := kiosk.ApplyUpdate(ctx, UpdateRequest{BundleDir: sealed.Dir}); err == nil {
		t.Fatal("installed into a file")
	}
	os.Remove(dbDir)
	os.Mkdir(dbDir, 0o755)
	b, _ := os.ReadFile(cud)
	os.WriteFile(filepath.Join(dbDir, "daily.cud"), b, 0o644) // as a cut after the rename leaves it
	if _, err := kiosk.ApplyUpdate(ctx, UpdateRequest{BundleDir: sealed.Dir}); err != nil {
		t.Fatalf("applied again after the cut: %v", err)
	}
	if st, _ := kiosk.UpdateStatus(); st.Databases["daily"] != 27500 {
		t.Fatalf("status: %+v", st.Databases)
	}
	// Not a way around the versions: once recorded, it is not newer.
	older := filepath.Join(t.TempDir(), "older")
	buildDB(t, older, "daily", 27400, "y\n", "Sluice.Test.Older")
	if _, err := kiosk.ApplyUpdate(ctx, UpdateRequest{BundleDir: releasePack(t, rel, ReleasePackRequest{ClamAVDB: older}).Dir}); !errors.Is(err, ErrRejected) {
		t.Fatalf("an older daily after: %v", err)
	}
}

// An update over several drives whose install failed is applied again
// drive by drive, as it was received: gathered, decrypted and checked
// again, then installed.
func TestSpanningUpdateRetried(t *testing.T) {
	rel, kiosk := releasePair(t)
	root, dpkg := dpkgRoot(t)
	pad := make([]byte, 300<<10)
	rand.Read(pad)
	deb := makeDebWith(t, "sluice", "1.1.0", base64.StdEncoding.EncodeToString(pad))
	srcs, err := StagePaths([]string{deb})
	if err != nil {
		t.Fatal(err)
	}
	cards, err := rel.Recipients([]string{"kiosk-1"})
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := bundle.Seal(context.Background(), t.TempDir(), srcs, bundle.SealOptions{
		SenderName: rel.Name, Signer: rel.Keys.Signer, Recipients: cards, VolumeSize: 64 << 10, VolumesPerDrive: 2,
		Update: &bundle.Update{Kind: bundle.UpdateSluice, Version: "1.1.0"},
		SealRecord: func(id string, manifest crypto.Digest, files, bytes int64) ([]byte, error) {
			a, err := rel.appendRecord(custody.Record{Event: custody.EventSealed, Bundle: id, Peer: "kiosk-1",
				ManifestSHA256: manifest.String(), Files: files, Bytes: bytes, Outcome: "ok"})
			if err != nil {
				return nil, err
			}
			return json.Marshal(custody.NewSealProof(a))
		}})
	if err != nil {
		t.Fatal(err)
	}
	whole, err := bundle.Open(sealed.Dir)
	if err != nil {
		t.Fatal(err)
	}
	var drives []string
	for k := range sealed.Envelope.Drives() {
		d, err := bundle.WritePart(context.Background(), whole, t.TempDir(), k, nil)
		if err != nil {
			t.Fatal(err)
		}
		drives = append(drives, d)
	}
	if len(drives) < 2 {
		t.Fatalf("%d drives", len(drives))
	}
	ctx := context.Background()
	apply := func(dpkg []string) error {
		var err error
		for i, d := range drives {
			_, err = kiosk.ApplyUpdate(ctx, UpdateRequest{BundleDir: d, Dpkg: dpkg})
			if i < len(drives)-1 && !errors.As(err, new(*MissingDrivesError)) {
				t.Fatalf("drive %d of %d: %v, want the next drive asked for", i+1, len(drives), err)
			}
		}
		return err
	}
	if err := apply([]string{"false"}); err == nil || !strings.Contains(err.Error(), "dpkg could not install") {
		t.Fatalf("the first install: %v", err)
	}
	if err := apply(dpkg); err != nil {
		t.Fatalf("applied again: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "usr/share/sluice/marker")); err != nil {
		t.Fatalf("not installed: %v", err)
	}
	if rec := lastEvent(t, kiosk); rec.Event != custody.EventUpdated || !strings.Contains(rec.Reason, "applied again") {
		t.Fatalf("updated record: %+v", rec)
	}
}

// The package is checked against the signed manifest when it is
// installed, not only when it was received: one replaced in between
// (another process of the station's user) is refused, nothing installed.
func TestUpdatePackageReplacedAfterRelease(t *testing.T) {
	rel, kiosk := releasePair(t)
	root, dpkg := dpkgRoot(t)
	sealed := releasePack(t, rel, ReleasePackRequest{Deb: makeDeb(t, "1.7.0")})
	forged, err := os.ReadFile(makeDebWith(t, "sluice", "1.7.0", "NOT SIGNED"))
	if err != nil {
		t.Fatal(err)
	}
	testHookAt = func(point string) {
		if point == "update-released" {
			os.WriteFile(filepath.Join(kiosk.Home, updatesDir, receivedDir, sealed.Envelope.ID, "sluice_1.7.0_all.deb"), forged, 0o644)
		}
	}
	defer func() { testHookAt = nil }()
	_, err = kiosk.ApplyUpdate(context.Background(), UpdateRequest{BundleDir: sealed.Dir, Dpkg: dpkg})
	if err == nil || !strings.Contains(err.Error(), "is not the package the release key signed") {
		t.Fatalf("a package replaced after its release: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "usr/share/sluice/marker")); err == nil {
		t.Errorf("something was installed")
	}
}

// What dpkg reads cannot be written once sealed, by this process or
// through /proc by another of the same user.
func TestSealedFileCannotChange(t *testing.T) {
	f, seal, err := sealedFile("test")
	if err != nil {
		t.Skipf("no sealed memory files here: %v", err)
	}
	defer f.Close()
	f.WriteString("package")
	if err := seal(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("X"), 0); err == nil {
		t.Errorf("written after sealing")
	}
	if g, err := os.OpenFile(fmt.Sprintf("/proc/self/fd/%d", f.Fd()), os.O_WRONLY, 0); err == nil {
		_, werr := g.Write([]byte("X"))
		g.Close()
		if werr == nil {
			t.Errorf("written through /proc after sealing")
		}
	}
	if err := f.Truncate(1); err == nil {
		t.Errorf("truncated after sealing")
	}
	b := make([]byte, 7)
	f.ReadAt(b, 0)
	if string(b) != "package" {
		t.Errorf("holds %q", b)
	}
}
