package app

import (
	"context"
	"crypto/md5"
	"encoding/hex"
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
	"sluice/internal/clamtest"
	"sluice/transfer/bundle"
	"sluice/transfer/custody"
	"sluice/transfer/scan"
)

// releasePair makes a release key and a kiosk that trusts it for updates.
func releasePair(t *testing.T) (rel, kiosk *Station) {
	t.Helper()
	root := t.TempDir()
	rel, err := ReleaseKeygen(filepath.Join(root, "release"), "release-2026")
	if err != nil {
		t.Fatal(err)
	}
	if kiosk, err = Init(filepath.Join(root, "kiosk"), "kiosk-1", false); err != nil {
		t.Fatal(err)
	}
	if _, err := rel.TrustAdd(kiosk.Card().Marshal()); err != nil {
		t.Fatal(err)
	}
	if _, err := kiosk.TrustAddRelease(rel.Card().Marshal()); err != nil {
		t.Fatal(err)
	}
	return rel, kiosk
}

// makeDeb builds a real Debian package of "sluice" at version v whose one
// file, usr/share/sluice/marker, holds v.
func makeDeb(t *testing.T, v string) string {
	t.Helper()
	return makeDebWith(t, "sluice", v, v)
}

// makeDebWith is a package named pkg at version v, named as Sluice's
// (sluice_V_all.deb) whatever pkg is, whose one file, usr/share/PKG/marker,
// holds marker: what dpkg installed shows there.
func makeDebWith(t *testing.T, pkg, v, marker string) string {
	t.Helper()
	dpkgDeb := needTool(t, "dpkg-deb", "dpkg")
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "DEBIAN"), 0o755)
	os.MkdirAll(filepath.Join(root, "usr/share", pkg), 0o755)
	control := fmt.Sprintf("Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: Sluice tests <tests@sluice.invalid>\nDescription: test package\n", pkg, v)
	os.WriteFile(filepath.Join(root, "DEBIAN/control"), []byte(control), 0o644)
	os.WriteFile(filepath.Join(root, "usr/share", pkg, "marker"), []byte(marker), 0o644)
	deb := filepath.Join(t.TempDir(), "sluice_"+v+"_all.deb")
	if out, err := exec.Command(dpkgDeb, "--root-owner-group", "--build", root, deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb: %v\n%s", err, out)
	}
	return deb
}

func needTool(t *testing.T, prog, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(prog)
	if err != nil {
		t.Skipf("%s is not installed: install Debian's %s to run this test", prog, pkg)
	}
	return p
}

// dpkgRoot makes an empty dpkg database under a new folder and returns
// the dpkg command that installs there.
func dpkgRoot(t *testing.T) (string, []string) {
	t.Helper()
	needTool(t, "dpkg", "dpkg")
	root := t.TempDir()
	for _, d := range []string{"var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	os.WriteFile(filepath.Join(root, "var/lib/dpkg/status"), nil, 0o644)
	cmd := []string{"dpkg", "--root=" + root, "--log=" + filepath.Join(root, "dpkg.log")}
	if os.Geteuid() != 0 {
		cmd = append(cmd, "--force-not-root")
	}
	return root, cmd
}

func releasePack(t *testing.T, rel *Station, req ReleasePackRequest) *bundle.Sealed {
	t.Helper()
	req.To, req.OutDir = []string{"kiosk-1"}, t.TempDir()
	sealed, err := rel.ReleasePack(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return sealed
}

func countEvents(t *testing.T, s *Station, event, outcome string) int {
	n := 0
	for _, r := range events(t, s) {
		if r.Event == event && (outcome == "" || r.Outcome == outcome) {
			n++
		}
	}
	return n
}

// TestSluiceUpdateApplyAndRollback: an update of Sluice sealed by a
// release key is received (recorded), installed with the real dpkg into
// a dpkg root, kept for rollback; an older or equal version is refused,
// also after a rollback; an update is never released as data.
func TestSluiceUpdateApplyAndRollback(t *testing.T) {
	rel, kiosk := releasePair(t)
	root, dpkg := dpkgRoot(t)
	marker := func() string {
		b, _ := os.ReadFile(filepath.Join(root, "usr/share/sluice/marker"))
		return string(b)
	}
	ctx := context.Background()
	apply := func(v string) (*Applied, error) {
		sealed := releasePack(t, rel, ReleasePackRequest{Deb: makeDeb(t, v), Version: v})
		return kiosk.ApplyUpdate(ctx, UpdateRequest{BundleDir: sealed.Dir, Dpkg: dpkg})
	}

	// An update given to receive is refused, saying how to apply it.
	sealed := releasePack(t, rel, ReleasePackRequest{Deb: makeDeb(t, "1.1.0")})
	if sealed.Envelope.Update == nil || sealed.Envelope.Update.Version != "1.1.0" || sealed.Envelope.Update.Kind != bundle.UpdateSluice {
		t.Fatalf("envelope update: %+v", sealed.Envelope.Update)
	}
	if _, err := kiosk.Receive(ctx, ReceiveRequest{BundleDir: sealed.Dir, OutDir: t.TempDir()}); !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "sluice update apply") {
		t.Fatalf("receive of an update: %v", err)
	}

	a, err := kiosk.ApplyUpdate(ctx, UpdateRequest{BundleDir: sealed.Dir, Dpkg: dpkg})
	if err != nil {
		t.Fatal(err)
	}
	if a.To != "1.1.0" || marker() != "1.1.0" {
		t.Fatalf("applied %+v, marker %q", a, marker())
	}
	if _, err := apply("1.2.0"); err != nil {
		t.Fatal(err)
	}
	if marker() != "1.2.0" {
		t.Fatalf("marker after 1.2.0: %q", marker())
	}
	rec := lastEvent(t, kiosk)
	if rec.Event != custody.EventUpdated || rec.Peer != "release-2026" || !strings.Contains(rec.Reason, "sluice 1.2.0 installed (was 1.1.0)") {
		t.Fatalf("updated record: %+v", rec)
	}
	if countEvents(t, kiosk, custody.EventReceived, "ok") != 2 {
		t.Fatal("the updates' bundles are not recorded as received")
	}

	// Rollback protection: older and equal versions are refused, and
	// recorded as refused.
	for _, v := range []string{"1.1.5", "1.2.0"} {
		if _, err := apply(v); !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "not newer than version 1.2.0") {
			t.Fatalf("update to %s: %v", v, err)
		}
	}
	if n := countEvents(t, kiosk, custody.EventRejected, "rejected"); n != 3 { // and the receive above
		t.Fatalf("%d rejected records, want 3", n)
	}

	// Rollback goes back one step and is recorded; 1.2.0 stays refused.
	b, err := kiosk.RollbackUpdate(ctx, RollbackRequest{Dpkg: dpkg})
	if err != nil {
		t.Fatal(err)
	}
	if b.From != "1.2.0" || b.To != "1.1.0" || marker() != "1.1.0" {
		t.Fatalf("rollback %+v, marker %q", b, marker())
	}
	if rec := lastEvent(t, kiosk); rec.Event != custody.EventRolledBack || !strings.Contains(rec.Reason, "1.1.0 put back in place of 1.2.0") {
		t.Fatalf("rolled-back record: %+v", rec)
	}
	if _, err := kiosk.RollbackUpdate(ctx, RollbackRequest{Dpkg: dpkg}); err == nil || !strings.Contains(err.Error(), "no earlier version") {
		t.Fatalf("second rollback: %v", err)
	}
	if _, err := apply("1.2.0"); !errors.Is(err, ErrRejected) {
		t.Fatalf("1.2.0 again after the rollback: %v", err)
	}
	if _, err := apply("1.3.0"); err != nil || marker() != "1.3.0" {
		t.Fatalf("1.3.0: %v, marker %q", err, marker())
	}
	st, err := kiosk.UpdateStatus()
	if err != nil {
		t.Fatal(err)
	}
	if st.Highest != "1.3.0" || strings.Join(st.Installed, ",") != "1.1.0,1.3.0" || strings.Join(st.ReleaseKeys, ",") != "release-2026" {
		t.Fatalf("status: %+v", st)
	}
	for _, st := range []*Station{kiosk, rel} {
		v, _ := st.Verifier(st.Name)
		if rep, err := custody.Verify(st.CustodyPath, v, st.Origin(), nil); err != nil || !rep.OK() {
			t.Fatalf("%s's log: %v %+v", st.Name, err, rep)
		}
	}
}

// TestUpdateAgeRule: an update older than max_age is refused unless an
// officer gives a reason, which the received record keeps.
func TestUpdateAgeRule(t *testing.T) {
	rel, kiosk := releasePair(t)
	_, dpkg := dpkgRoot(t)
	sealed := releasePack(t, rel, ReleasePackRequest{Deb: makeDeb(t, "2.0.0")})
	later := func() time.Time { return time.Now().Add(kiosk.Policy.MaxAge + time.Hour) }
	ctx := context.Background()
	if _, err := kiosk.ApplyUpdate(ctx, UpdateRequest{BundleDir: sealed.Dir, Dpkg: dpkg, Now: later}); !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "stale") {
		t.Fatalf("stale update: %v", err)
	}
	if _, err := kiosk.ApplyUpdate(ctx, UpdateRequest{BundleDir: sealed.Dir, Dpkg: dpkg, Now: later, AgeOverride: "courier held it three weeks at the border"}); err != nil {
		t.Fatal(err)
	}
	if countEvents(t, kiosk, custody.EventReceived, "ok") != 1 {
		t.Fatal("no received record")
	}
	for _, r := range events(t, kiosk) {
		if r.Event == custody.EventReceived && !strings.Contains(r.Reason, "accepted by the officer: courier held it three weeks at the border") {
			t.Fatalf("received record does not keep the reason: %s", r.Reason)
		}
	}
}

// TestOneKeyOneRole: a release key's card is trusted only as one, a
// station's only as a station; a release key's signature on data and a
// station's on an update are refused.
func TestOneKeyOneRole(t *testing.T) {
	rel, kiosk := releasePair(t)
	sender, err := Init(filepath.Join(t.TempDir(), "sender"), "sender-1", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kiosk.TrustAdd(rel.Card().Marshal()); !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "--role release") {
		t.Fatalf("release card trusted as a station: %v", err)
	}
	if _, err := kiosk.TrustAddRelease(sender.Card().Marshal()); !errors.Is(err, ErrRejected) {
		t.Fatalf("station card trusted as a release key: %v", err)
	}
	if _, err := kiosk.TrustAdd(sender.Card().Marshal()); err != nil {
		t.Fatal(err)
	}
	if _, err := sender.TrustAdd(kiosk.Card().Marshal()); err != nil {
		t.Fatal(err)
	}
	// A release home seals no data, and no station seals for a release key.
	if _, err := rel.Pack(context.Background(), PackRequest{To: []string{"kiosk-1"}, OutDir: t.TempDir(), Sources: mustStage(t, stage(t, map[string]string{"a": "b"}))}); err == nil || !strings.Contains(err.Error(), "updates only") {
		t.Fatalf("release home packed data: %v", err)
	}
	if _, err := kiosk.TrustAddRelease(rel.Card().Marshal()); err != nil { // already: harmless
		t.Fatal(err)
	}
	// Forged with the bundle package directly: data signed by the release
	// key, and an update signed by a station.
	seal := func(signer *Station, up *bundle.Update, file string) string {
		srcs := mustStage(t, file)
		s, err := bundle.Seal(context.Background(), t.TempDir(), srcs, bundle.SealOptions{SenderName: signer.Name, Signer: signer.Keys.Signer,
			Recipients: []crypto.Card{kiosk.Card()}, Update: up,
			SealRecord: func(id string, manifest crypto.Digest, files, bytes int64) ([]byte, error) {
				a, err := signer.appendRecord(custody.Record{Event: custody.EventSealed, Bundle: id, Peer: "kiosk-1",
					ManifestSHA256: manifest.String(), Files: files, Bytes: bytes, Outcome: "ok"})
				if err != nil {
					return nil, err
				}
				return json.Marshal(custody.NewSealProof(a))
			}})
		if err != nil {
			t.Fatal(err)
		}
		return s.Dir
	}
	data := stage(t, map[string]string{"report.txt": "words\n"})
	if _, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: seal(rel, nil, data), OutDir: t.TempDir()}); !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "for updates only") {
		t.Fatalf("data signed by the release key: %v", err)
	}
	deb := makeDeb(t, "9.0.0")
	if _, err := kiosk.ApplyUpdate(context.Background(), UpdateRequest{BundleDir: seal(sender, &bundle.Update{Kind: bundle.UpdateSluice, Version: "9.0.0"}, deb)}); !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "signed by sender-1, a station") {
		t.Fatalf("update signed by a station: %v", err)
	}
	// An update whose envelope and package disagree is refused.
	if _, err := kiosk.ApplyUpdate(context.Background(), UpdateRequest{BundleDir: seal(rel, &bundle.Update{Kind: bundle.UpdateSluice, Version: "9.1.0"}, deb)}); !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "the envelope says version 9.1.0") {
		t.Fatalf("envelope and package disagree: %v", err)
	}
	// ... and so is data dressed as an update.
	if _, err := kiosk.ApplyUpdate(context.Background(), UpdateRequest{BundleDir: seal(rel, &bundle.Update{Kind: bundle.UpdateSluice, Version: "9.2.0"}, data)}); !errors.Is(err, ErrRejected) {
		t.Fatalf("data as an update: %v", err)
	}
}

func mustStage(t *testing.T, paths ...string) []bundle.Source {
	t.Helper()
	srcs, err := StagePaths(paths)
	if err != nil {
		t.Fatal(err)
	}
	return srcs
}

// buildCUD builds daily.cud at version v with sigtool --unsigned (the
// way a site builds its own signatures), holding one signature: the MD5
// of content, named name.
func buildCUD(t *testing.T, dir string, v int, content, name string) string {
	t.Helper()
	return buildDB(t, dir, "daily", v, content, name)
}

// buildDB is buildCUD of database db (main, daily or bytecode).
func buildDB(t *testing.T, dir, db string, v int, content, name string) string {
	t.Helper()
	sigtool := clamtest.Need(t, "sigtool")
	work := t.TempDir()
	sum := md5.Sum([]byte(content))
	os.WriteFile(filepath.Join(work, db+".hdb"), fmt.Appendf(nil, "%s:%d:%s\n", hex.EncodeToString(sum[:]), len(content), name), 0o644)
	os.WriteFile(filepath.Join(work, "COPYING"), []byte("Sluice test signatures\n"), 0o644)
	cmd := exec.Command(sigtool, "--build="+db+".cud", "--unsigned", fmt.Sprintf("--cvd-version=%d", v), "--datadir="+work)
	cmd.Dir, cmd.Stdin = work, strings.NewReader("sluice-tests\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sigtool --build: %v\n%s", err, out)
	}
	os.MkdirAll(dir, 0o755)
	out := filepath.Join(dir, db+".cud")
	b, err := os.ReadFile(filepath.Join(work, db+".cud"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(out, b, 0o644)
	return out
}

// TestClamAVDatabaseUpdate: signatures carried by a release key are
// checked, installed beside a real clamd's, which reloads and then finds
// what the new signatures name; an older update is refused; a database
// whose signature does not verify is refused before it is sealed.
func TestClamAVDatabaseUpdate(t *testing.T) {
	dbDir := t.TempDir()
	if err := clamtest.WriteDatabase(dbDir); err != nil {
		t.Fatal(err)
	}
	// The daily in place, whose signature the carried one drops.
	const oldMarker = "a file only the replaced daily knows\n"
	buildCUD(t, dbDir, 27100, oldMarker, "Sluice.Test.Replaced")
	d := clamtest.Start(t, false, "DatabaseDirectory "+dbDir)
	rel, kiosk := releasePair(t)
	kiosk.Policy.Scan = ScanPolicy{Required: true, Clamd: d.Address, Database: dbDir, Timeout: time.Minute}
	const marker = "a file only the carried signatures know, 2026-11-30\n"
	carried := filepath.Join(t.TempDir(), "freshclam")
	buildCUD(t, carried, 27101, marker, "Sluice.Test.Carried")
	os.WriteFile(filepath.Join(carried, "freshclam.dat"), []byte("freshclam's own state, left out"), 0o644)
	sealed := releasePack(t, rel, ReleasePackRequest{ClamAVDB: carried})
	if u := sealed.Envelope.Update; u == nil || u.Kind != bundle.UpdateClamAVDB || u.Version != "27101" || sealed.Envelope.Files != 1 {
		t.Fatalf("sealed %+v, %d files", u, sealed.Envelope.Files)
	}
	ctx := context.Background()
	a, err := kiosk.ApplyUpdate(ctx, UpdateRequest{BundleDir: sealed.Dir})
	if err != nil {
		t.Fatal(err)
	}
	if a.To != "27101" || !strings.Contains(strings.Join(a.What, ";"), "daily 27101 (daily.cud, 1 signatures, unsigned (.cud), vouched for by the release key)") {
		t.Fatalf("applied: %+v", a)
	}
	c := &scan.Clamd{Network: d.Network, Address: d.Address}
	if v, err := c.Version(ctx); err != nil || !strings.Contains(v, "/27101/") {
		t.Fatalf("clamd version after the update: %q, %v", v, err)
	}
	f := filepath.Join(t.TempDir(), "carried.txt")
	os.WriteFile(f, []byte(marker), 0o644)
	fh, _ := os.Open(f)
	defer fh.Close()
	if r := c.Scan(ctx, f, fh); r.Verdict != scan.Infected || !strings.Contains(r.Signature, "Sluice.Test.Carried") {
		t.Fatalf("the carried signature is not in force: %+v", r)
	}
	if rec := lastEvent(t, kiosk); rec.Event != custody.EventUpdated || !strings.Contains(rec.Reason, "clamav-db 27101 installed") {
		t.Fatalf("updated record: %+v", rec)
	}
	// The replaced daily is out of force: nothing of it is left where
	// ClamAV loads databases (it loads hidden files too).
	fo := filepath.Join(t.TempDir(), "replaced.txt")
	os.WriteFile(fo, []byte(oldMarker), 0o644)
	fho, _ := os.Open(fo)
	defer fho.Close()
	if r := c.Scan(ctx, fo, fho); r.Verdict != scan.Clean {
		t.Fatalf("the replaced daily's signature is still in force: %+v", r)
	}
	es, _ := os.ReadDir(dbDir)
	for _, e := range es {
		if strings.Contains(e.Name(), "sluice-") {
			t.Errorf("%s is left in the database folder", e.Name())
		}
	}
	// The scan records now name the database in force.
	if st, _ := kiosk.UpdateStatus(); st.ClamAVUpdate != 27101 || st.Databases["daily"] != 27101 {
		t.Fatalf("status: %+v", st)
	}

	older := filepath.Join(t.TempDir(), "older")
	buildCUD(t, older, 27100, marker, "Sluice.Test.Older")
	if _, err := kiosk.ApplyUpdate(ctx, UpdateRequest{BundleDir: releasePack(t, rel, ReleasePackRequest{ClamAVDB: older}).Dir}); !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "daily is version 27100, older than version 27101 installed here") {
		t.Fatalf("older signatures: %v", err)
	}

	// A .cvd must carry Talos's signature: one with a valid MD5 but no
	// such signature is refused when the release key seals it.
	forged := filepath.Join(t.TempDir(), "forged")
	cud := buildCUD(t, forged, 27102, marker, "Sluice.Test.Forged")
	os.Rename(cud, filepath.Join(forged, "daily.cvd"))
	if _, err := rel.ReleasePack(ctx, ReleasePackRequest{To: []string{"kiosk-1"}, OutDir: t.TempDir(), ClamAVDB: forged}); !errors.Is(err, scan.ErrDSig) {
		t.Fatalf("a .cvd without Talos's signature: %v", err)
	}
	// A damaged one is refused by its MD5.
	b, _ := os.ReadFile(filepath.Join(forged, "daily.cvd"))
	b[len(b)-1] ^= 1
	os.WriteFile(filepath.Join(forged, "daily.cvd"), b, 0o644)
	if _, err := rel.ReleasePack(ctx, ReleasePackRequest{To: []string{"kiosk-1"}, OutDir: t.TempDir(), ClamAVDB: forged}); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("a damaged database: %v", err)
	}
}

// TestUpdateNeedsTheTwoPersonRules: once officers are enrolled, installing
// an update (or rolling one back) needs an officer signed in and as many
// others as installing a policy; the record names the approvers.
func TestUpdateNeedsTheTwoPersonRules(t *testing.T) {
	rel, kiosk := releasePair(t)
	_, dpkg := dpkgRoot(t)
	kiosk.Policy.RequireApprovals = 2
	enrollOfficers(t, kiosk, "alice", "bob")
	sealed := releasePack(t, rel, ReleasePackRequest{Deb: makeDeb(t, "3.0.0")})
	ctx := context.Background()
	if _, err := kiosk.ApplyUpdate(ctx, UpdateRequest{BundleDir: sealed.Dir, Dpkg: dpkg}); err == nil || !strings.Contains(err.Error(), "an officer signs in to install an update") {
		t.Fatalf("no officer: %v", err)
	}
	alice, _ := kiosk.SignIn("alice", []byte("alice passphrase, long"))
	bob, _ := kiosk.SignIn("bob", []byte("bob passphrase, long"))
	if _, err := kiosk.AsOfficer(alice).ApplyUpdate(ctx, UpdateRequest{BundleDir: sealed.Dir, Dpkg: dpkg}); err == nil || !strings.Contains(err.Error(), "besides alice must sign in too") {
		t.Fatalf("alice alone: %v", err)
	}
	if _, err := kiosk.AsOfficer(alice).ApplyUpdate(ctx, UpdateRequest{BundleDir: sealed.Dir, Dpkg: dpkg, Others: []*SignedIn{bob}}); err != nil {
		t.Fatal(err)
	}
	if rec := lastEvent(t, kiosk); rec.Event != custody.EventUpdated || rec.Officer != "alice" || !strings.Contains(rec.Reason, "approved by bob") {
		t.Fatalf("updated record: %+v", rec)
	}
}

// Each database is held to its own versions, installed through updates
// and in the scanner's folder (where freshclam or the station's image may
// have put a newer one): none may go back, and one must go forward.
func TestDatabaseVersionsEachTheirOwn(t *testing.T) {
	dbDir := t.TempDir()
	buildDB(t, dbDir, "daily", 27200, "in place\n", "Sluice.Test.InPlace")
	rel, kiosk := releasePair(t)
	kiosk.Policy.Scan = ScanPolicy{Database: dbDir}
	ctx := context.Background()
	apply := func(db string, v int) error {
		d := filepath.Join(t.TempDir(), "carried")
		buildDB(t, d, db, v, fmt.Sprintf("%s %d\n", db, v), "Sluice.Test.Carried")
		_, err := kiosk.ApplyUpdate(ctx, UpdateRequest{BundleDir: releasePack(t, rel, ReleasePackRequest{ClamAVDB: d}).Dir})
		return err
	}
	before := len(events(t, kiosk))
	if err := apply("daily", 27100); !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "daily is version 27100, older than version 27200 installed here") {
		t.Fatalf("a daily older than the folder's: %v", err)
	}
	if len(events(t, kiosk)) == before {
		t.Errorf("the refusal was not recorded")
	}
	if err := apply("daily", 27200); !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "nothing newer than what this station has (daily 27200)") {
		t.Fatalf("the folder's own daily again: %v", err)
	}
	if err := apply("daily", 27201); err != nil {
		t.Fatal(err)
	}
	// main's numbers are not daily's: 63 is new here.
	if err := apply("main", 63); err != nil {
		t.Fatalf("main 63 after daily 27201: %v", err)
	}
	if st, _ := kiosk.UpdateStatus(); st.Databases["daily"] != 27201 || st.Databases["main"] != 63 {
		t.Fatalf("status: %+v", st.Databases)
	}
}

// A crash in an install of databases leaves the folder as recoverDatabases
// finds it: a database set aside without its replacement in place is put
// back, one whose replacement is in place is removed, a half-written one
// is removed (so are those of the names earlier releases used).
func TestRecoverDatabases(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string]string{
		"daily.cud.sluice-old":    "old daily, never replaced",
		"main.cvd":                "new main",
		"main.cvd.sluice-old":     "old main",
		"bytecode.cld.sluice-new": "half written",
		".sluice-old-main.cld":    "an earlier release's set-aside main",
		"bytecode.cvd.sluice-old": "old bytecode",
		"bytecode.cld.sluice-old": "another old bytecode, both set aside",
		"freshclam.dat":           "not ours",
	} {
		os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644)
	}
	recoverDatabases(dir)
	es, _ := os.ReadDir(dir)
	var got []string
	for _, e := range es {
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		got = append(got, e.Name()+"="+string(b))
	}
	want := []string{"bytecode.cld=another old bytecode, both set aside", "bytecode.cvd=old bytecode",
		"daily.cud=old daily, never replaced", "freshclam.dat=not ours", "main.cvd=new main"}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("after recovery: %v, want %v", got, want)
	}
}
