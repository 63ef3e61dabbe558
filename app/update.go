package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"filippo.io/age"
	"golang.org/x/mod/semver"

	"sluice/crypto"
	"sluice/internal/durable"
	"sluice/internal/lockfile"
	"sluice/internal/regfile"
	"sluice/internal/safetext"
	"sluice/transfer/bundle"
	"sluice/transfer/custody"
	"sluice/transfer/inspect"
	"sluice/transfer/scan"
)

// Updates come across the gap as ordinary bundles signed by a release key
// (ReleaseKeygen, kept off the stations) whose card a station trusts in
// the release role (TrustAddRelease). The envelope says it is an update
// and of what version (bundle.Update); the station receives it like any
// bundle (so both custody logs carry it), checks what it holds, refuses a
// version not newer than the highest it ever installed (rollback
// protection without a clock: ../shared/ANCHORS.md 4.3), installs it and
// records "updated". A release key's signature is never accepted on data,
// nor a station's on an update.

// Files under a station's home for updates.
const (
	updatesDir      = "updates"    // HOME/updates/
	updateStateFile = "state.json" // what is installed and the highest versions ever installed
	updateLock      = "lock"       // one update at a time
	receivedDir     = "received"   // HOME/updates/received/<bundle-id>/: released update payloads
	installedDir    = "installed"  // HOME/updates/installed/: the packages installed, kept for rollback
	debPattern      = `^sluice_([0-9][0-9A-Za-z.+~-]*)_([a-z0-9]+)\.deb$`
	maxKeptDebs     = 3 // packages kept for rollback, newest first
)

var debName = regexp.MustCompile(debPattern)

// ReleaseKeygen creates a release key's home in home: an Ed25519 signing
// key and an age identity, a card with "role: release" (crypto.RoleRelease)
// for stations to trust with sluice trust add --role release, a trust
// store for the stations updates are sealed for, and a custody log of
// what it signed. A release home seals updates only (ReleasePack).
func ReleaseKeygen(home, name string) (*Station, error) {
	return initStation(home, name, false, crypto.RoleRelease)
}

// ReleasePackRequest is an update to seal with a release key.
type ReleasePackRequest struct {
	// To names the trusted stations to seal for.
	To []string
	// OutDir is where the bundle is written.
	OutDir string
	// Version is the update's version: the package's ("1.4.0"), which
	// must match the package's own control field, or, for signatures,
	// "" to take daily's version from its header.
	Version string
	// Deb is a Debian package of Sluice (sluice_VERSION_ARCH.deb); or
	// ClamAVDB is a folder of ClamAV databases (main, daily, bytecode;
	// .cvd, .cld or .cud), as freshclam leaves them on a connected machine.
	Deb, ClamAVDB string
	Progress      func(done, total int64)
}

// ReleasePack seals an update for req.To with this release key: one
// package of Sluice, or the scanner's signature databases, checked here
// first as the station will check them.
func (s *Station) ReleasePack(ctx context.Context, req ReleasePackRequest) (*bundle.Sealed, error) {
	if s.Role != crypto.RoleRelease {
		return nil, fmt.Errorf("%s is a station's home, not a release key's: updates are sealed with a release key (sluice release keygen --home DIR --name NAME)", s.Home)
	}
	var paths []string
	up := &bundle.Update{Version: req.Version}
	note := ""
	switch {
	case (req.Deb == "") == (req.ClamAVDB == ""):
		return nil, errors.New("give either a Sluice package (sluice_VERSION_ARCH.deb) or --clamav-db DIR")
	case req.Deb != "":
		up.Kind = bundle.UpdateSluice
		v, err := checkDeb(ctx, req.Deb)
		if err != nil {
			return nil, err
		}
		if req.Version != "" && req.Version != v {
			return nil, fmt.Errorf("%s is version %s, not %s", filepath.Base(req.Deb), v, req.Version)
		}
		up.Version, paths = v, []string{req.Deb}
	default:
		up.Kind = bundle.UpdateClamAVDB
		dbs, files, err := readClamAVDir(ctx, req.ClamAVDB)
		if err != nil {
			return nil, err
		}
		v := strconv.Itoa(dbVersion(dbs))
		if req.Version != "" && req.Version != v {
			return nil, fmt.Errorf("the databases in %s are version %s (daily's), not %s", req.ClamAVDB, v, req.Version)
		}
		up.Version, paths = v, files
		note = updateNote(up, dbs)
	}
	if err := up.Check(); err != nil {
		return nil, err
	}
	if note == "" {
		note = fmt.Sprintf("update: %s %s", up.Kind, up.Version)
	}
	srcs, err := StagePaths(paths)
	if err != nil {
		return nil, err
	}
	return s.Pack(ctx, PackRequest{To: req.To, OutDir: req.OutDir, Sources: srcs, Progress: req.Progress,
		Note: note, update: up})
}

// checkDeb checks that path is a Debian package of Sluice named as such
// and returns its version (dpkg-deb reads its control file).
func checkDeb(ctx context.Context, path string) (string, error) {
	f, err := regfile.Open(path)
	if err != nil {
		return "", fmt.Errorf("read the package: %w", err)
	}
	defer f.Close()
	return checkDebFile(ctx, filepath.Base(path), f)
}

// checkDebFile is checkDeb of the package called name open as f (a file
// or a sealedFile), which dpkg-deb reads as its standard input.
func checkDebFile(ctx context.Context, name string, f *os.File) (string, error) {
	m := debName.FindStringSubmatch(name)
	if m == nil {
		return "", fmt.Errorf("%s is not named as a Sluice package (sluice_VERSION_ARCH.deb)", safetext.Line(name))
	}
	if !semver.IsValid("v" + m[1]) {
		return "", fmt.Errorf("%s: version %s is not a semantic version (like 1.4.0), which updates need to be ordered", name, m[1])
	}
	head := make([]byte, 21)
	if _, err := f.ReadAt(head, 0); err != nil || string(head) != "!<arch>\ndebian-binary" {
		return "", fmt.Errorf("%s is not a Debian package (no ar archive starting with debian-binary)", name)
	}
	dpkgDeb, err := exec.LookPath("dpkg-deb")
	if err != nil {
		return "", errors.New("dpkg-deb is not installed: Sluice's packages are read with it (Debian's dpkg)")
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", fmt.Errorf("read the package: %w", err)
	}
	cmd := exec.CommandContext(ctx, dpkgDeb, "--field", "/dev/stdin", "Package", "Version")
	cmd.Stdin = f
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s is not a valid Debian package: dpkg-deb: %v", name, exitText(err))
	}
	fields := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			fields[k] = strings.TrimSpace(v)
		}
	}
	if fields["Package"] != "sluice" {
		return "", fmt.Errorf("%s is the package %q, not sluice", name, safetext.Line(fields["Package"]))
	}
	if fields["Version"] != m[1] {
		return "", fmt.Errorf("%s says version %s inside and %s in its name", name, safetext.Line(fields["Version"]), m[1])
	}
	return m[1], nil
}

// sealedPackage copies the package at path into a sealed file
// (sealedFile), checking on the way, unless want is nil, that its SHA-256
// is want: the hash the release key's signed manifest gives it, or the
// one kept when it was installed. What dpkg then installs cannot differ
// from what was checked.
func sealedPackage(path string, want *crypto.Digest) (*os.File, error) {
	src, err := regfile.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read the package: %w", err)
	}
	defer src.Close()
	f, seal, err := sealedFile(filepath.Base(path))
	if err != nil {
		return nil, fmt.Errorf("hold the package in memory: %w", err)
	}
	got, _, err := crypto.HashReader(io.TeeReader(src, f))
	if err == nil {
		if want != nil && got != *want {
			err = fmt.Errorf("%s is not the package the release key signed (its SHA-256 is %s, the signed one's %s): something changed it in %s after it was checked; apply the update again from its bundle",
				filepath.Base(path), got, *want, filepath.Dir(path))
		}
	}
	if err == nil {
		err = seal()
	}
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// exitText is a failed command's error with the last line it printed.
func exitText(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if lines := strings.Split(strings.TrimSpace(string(ee.Stderr)), "\n"); len(ee.Stderr) > 0 {
			return safetext.Line(lines[len(lines)-1])
		}
	}
	return err.Error()
}

// readClamAVDir reads and checks every ClamAV database in dir.
func readClamAVDir(ctx context.Context, dir string) ([]scan.CVD, []string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("read the databases: %w", err)
	}
	var dbs []scan.CVD
	var files []string
	for _, e := range ents {
		if _, _, err := scan.ParseCVDName(e.Name()); err != nil {
			continue // freshclam's other files (freshclam.dat, mirrors)
		}
		c, err := checkCVD(ctx, filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, nil, err
		}
		dbs, files = append(dbs, c), append(files, filepath.Join(dir, e.Name()))
	}
	if len(dbs) == 0 {
		return nil, nil, fmt.Errorf("%s holds no ClamAV database (main, daily or bytecode; .cvd, .cld or .cud)", dir)
	}
	if err := oneOfEach(dbs); err != nil {
		return nil, nil, err
	}
	return dbs, files, nil
}

// oneOfEach refuses two files of one database (daily.cvd and daily.cld):
// ClamAV would load either.
func oneOfEach(dbs []scan.CVD) error {
	seen := map[string]bool{}
	for _, c := range dbs {
		if seen[c.Name] {
			return fmt.Errorf("two files of the %s database: keep only the newest", c.Name)
		}
		seen[c.Name] = true
	}
	return nil
}

// dbVersion is an update's version: daily's, else the highest.
func dbVersion(dbs []scan.CVD) int {
	v := 0
	for _, c := range dbs {
		if c.Name == "daily" {
			return c.Version
		}
		v = max(v, c.Version)
	}
	return v
}

// checkCVD checks one database file: its header and, for a .cvd, its MD5
// (scan.ParseCVD); then sigtool, ClamAV's own tool, checks its digital
// signature (a .cud is unsigned by design: the release key's signature on
// the bundle is then all that vouches for it).
func checkCVD(ctx context.Context, path string) (scan.CVD, error) {
	f, err := regfile.Open(path)
	if err != nil {
		return scan.CVD{}, fmt.Errorf("read %s: %w", filepath.Base(path), err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return scan.CVD{}, err
	}
	c, err := scan.ParseCVD(filepath.Base(path), f, info.Size())
	if err != nil {
		return c, err
	}
	sigtool, err := exec.LookPath("sigtool")
	if err != nil {
		return c, errors.New("sigtool is not installed; it checks the databases' signatures (Debian clamav)")
	}
	out, _ := exec.CommandContext(ctx, sigtool, "--info="+path).CombinedOutput()
	verdict := ""
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "Verification") {
			verdict = strings.TrimSpace(line)
		}
	}
	switch {
	case strings.Contains(verdict, "Verification OK"):
	case c.Kind == "cud" && strings.Contains(verdict, "Unsigned container"):
	default:
		if verdict == "" {
			verdict = "sigtool said nothing about it"
		}
		return c, fmt.Errorf("%s: %w (%s)", filepath.Base(path), scan.ErrDSig, safetext.Line(verdict))
	}
	return c, nil
}

// UpdateRequest is an update to apply.
type UpdateRequest struct {
	// BundleDir is the update's bundle (on a drive, or copied).
	BundleDir string
	// Bundle, if set, is the id of the update the officer was shown
	// (ReadUpdate): another one found at BundleDir (the drive swapped
	// since) is refused.
	Bundle string
	// Dpkg is the command that installs a package, "dpkg" by default;
	// an image builder or a test gives its --root, --admindir or
	// --instdir (dpkg(1)) to install elsewhere.
	Dpkg []string
	// AgeOverride, if set, is an officer's reason to apply an update
	// sealed longer ago than the policy's max_age allows; it is recorded.
	AgeOverride string
	Progress    func(done, total int64)
	// Now, if set, replaces time.Now (tests).
	Now func() time.Time
	// Others are the officers approving besides the one acting, once
	// officers are enrolled: installing software answers to the same
	// two-person rules as installing a policy (quorum).
	Others []*SignedIn
}

// Applied says what an update changed.
type Applied struct {
	Kind   string // bundle.UpdateSluice or bundle.UpdateClamAVDB
	Bundle string
	// From and To are the versions before and after ("" before the
	// first update of this station: the version it was installed with).
	From, To string
	// What lists what was installed, for people.
	What []string
}

// updateState is HOME/updates/state.json.
type updateState struct {
	// Sluice: the versions installed through updates, oldest first (the
	// last is in use), and the highest ever installed.
	Sluice struct {
		Highest   string         `json:"highest"`
		Installed []installedDeb `json:"installed"`
	} `json:"sluice"`
	// ClamAVDB: the highest version of each database ever installed;
	// ClamAVUpdate: the version of the last signature update applied.
	ClamAVDB     map[string]int `json:"clamav_db"`
	ClamAVUpdate int            `json:"clamav_update"`
}

type installedDeb struct {
	Version string `json:"version"`
	Deb     string `json:"deb"` // under HOME/updates/installed/
	Bundle  string `json:"bundle"`
	// SHA256 is the package's, from the signed manifest it came in;
	// a rollback installs the kept copy only if it still has it.
	SHA256 *crypto.Digest `json:"sha256,omitempty"`
}

func (s *Station) loadUpdateState() (*updateState, error) {
	st := &updateState{ClamAVDB: map[string]int{}}
	b, err := regfile.ReadFile(filepath.Join(s.Home, updatesDir, updateStateFile), 1<<20)
	if errors.Is(err, fs.ErrNotExist) {
		// A station that never applied an update has none; one whose
		// custody log says it did has lost it, and with it the highest
		// versions the rollback protection holds to: never start again
		// from nothing.
		if s.loggedUpdates() {
			return nil, fmt.Errorf("the station's update state %s is missing, yet its custody log records updates installed here: without it older releases could be installed again; restore it from a backup of the station's home (sluice log show lists the updated records)",
				filepath.Join(s.Home, updatesDir, updateStateFile))
		}
		return st, nil
	}
	if err == nil {
		err = json.Unmarshal(b, st)
	}
	if err != nil {
		return nil, fmt.Errorf("the station's update state %s is damaged (%v); the custody log's updated records say what was installed", filepath.Join(s.Home, updatesDir, updateStateFile), err)
	}
	if st.ClamAVDB == nil {
		st.ClamAVDB = map[string]int{}
	}
	return st, nil
}

// loggedUpdates says whether the custody log records an update installed
// or rolled back here (read to its end: only a station without an update
// state asks).
func (s *Station) loggedUpdates() bool {
	found := false
	err := custody.Each(s.CustodyPath, func(_ []byte, r custody.Record) error {
		if (r.Event == custody.EventUpdated || r.Event == custody.EventRolledBack) && r.Outcome == "ok" {
			found = true
			return errStopEach
		}
		return nil
	})
	// A log that cannot be read to its end cannot say there were none.
	return found || err != nil && !errors.Is(err, errStopEach) && !errors.Is(err, fs.ErrNotExist)
}

// errStopEach ends a custody.Each early.
var errStopEach = errors.New("stop")

func (s *Station) saveUpdateState(st *updateState) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return durable.ReplaceFile(filepath.Join(s.Home, updatesDir, updateStateFile), append(b, '\n'), 0o600)
}

// RunningVersion is the version of the running build ("1.4.0", the
// VERSION file stamped by the Makefile: internal/buildinfo), or "" for a
// development build; an update must be newer than it too.
var RunningVersion = func() string {
	if in := readBuild(); in.Stamped && semver.IsValid("v"+in.Version) {
		return in.Version
	}
	return ""
}

// newerThan says whether version v is newer than every one in olds: by
// semantic versioning and, where dpkg is installed, by Debian's order
// too, which is the one dpkg installs by. They differ on a hyphen: to
// semver 1.3.0-2 is a pre-release before 1.3.0, to dpkg a revision after
// it; so an older package replayed must be older by both.
func newerThan(v string, olds ...string) bool {
	dpkg, _ := exec.LookPath("dpkg")
	for _, o := range olds {
		if o == "" {
			continue
		}
		if semver.Compare("v"+v, "v"+o) <= 0 {
			return false
		}
		if dpkg != "" && exec.Command(dpkg, "--compare-versions", v, "gt", o).Run() != nil {
			return false
		}
	}
	return true
}

// checkRole refuses a bundle signed by a key outside its role: a release
// key's on data, a station's on an update. An update given to receive
// (not to ApplyUpdate) is refused too, saying how to apply it, and data
// given to ApplyUpdate, saying how to receive it; so is an update not
// newer than what this station has installed.
func (s *Station) checkRole(c crypto.Card, env *bundle.Envelope, req ReceiveRequest) error {
	switch {
	case c.Role == crypto.RoleRelease && env.Update == nil:
		return fmt.Errorf("%w: bundle is signed by %s, a release key, which this station trusts for updates only; data from it is refused", ErrRejected, c.Name)
	case c.Role != crypto.RoleRelease && env.Update != nil:
		return fmt.Errorf("%w: bundle says it is an update, but it is signed by %s, a station; updates are trusted only from release keys (sluice trust add --role release CARD)", ErrRejected, c.Name)
	case env.Update == nil && req.update:
		return fmt.Errorf("%w: bundle %s is data from %s, not an update: receive it with sluice receive (or on the Receive screen); nothing was released", ErrRejected, env.ID, c.Name)
	case env.Update != nil && !req.update:
		return fmt.Errorf("%w: bundle %s is an update (%s %s) signed by %s, not data: apply it with sluice update apply BUNDLE", ErrRejected, env.ID, env.Update.Kind, env.Update.Version, c.Name)
	case env.Update != nil:
		return s.checkUpdateVersion(env, false)
	}
	return nil
}

// checkUpdateVersion refuses an update that is not newer than what this
// station has: for Sluice, than the highest version ever installed here
// and the running one; for the databases, as checkDatabaseVersions. An
// update applied again after its install failed or was cut short (again)
// may be the version already there: the install may have gone through
// before the station stopped; it is refused only if older.
func (s *Station) checkUpdateVersion(env *bundle.Envelope, again bool) error {
	u := env.Update
	st, err := s.loadUpdateState()
	if err != nil {
		return err
	}
	switch u.Kind {
	case bundle.UpdateSluice:
		if !semver.IsValid("v" + u.Version) {
			return fmt.Errorf("%w: update version %s is not a semantic version", ErrRejected, u.Version)
		}
		ok := newerThan(u.Version, st.Sluice.Highest, RunningVersion())
		if again && !ok {
			ok = !newerThan(st.Sluice.Highest, u.Version) && !newerThan(RunningVersion(), u.Version)
		}
		if !ok {
			return fmt.Errorf("%w: update to Sluice %s is not newer than version %s, the highest this station has run; an older release is never installed again (rollback protection); to go back one step, use sluice update rollback",
				ErrRejected, u.Version, cmp(st.Sluice.Highest, RunningVersion()))
		}
	case bundle.UpdateClamAVDB:
		if _, err := strconv.Atoi(u.Version); err != nil {
			return fmt.Errorf("%w: signature update version %q is not a number", ErrRejected, u.Version)
		}
		// Each database is compared here when the envelope's note names
		// them, and in any case once the update is open.
		if dbs := noteDatabases(env); dbs != nil {
			return checkDatabaseVersions(dbs, st.ClamAVDB, databasesInPlace(s.databaseDir()), again)
		}
	}
	return nil
}

// updateNote is the note of a signature update: its kind and version, then
// each database's version, "update: clamav-db 27101 (main 62, daily 27101,
// bytecode 335)". The envelope signs it, and a station reads the versions
// from it before decrypting (noteDatabases). It is the note, not a field
// of the envelope's update, because stations refuse an envelope with a key
// they do not know (strictjson), and an update must reach stations that
// run an older Sluice.
func updateNote(u *bundle.Update, dbs []scan.CVD) string {
	var each []string
	for _, name := range scan.DatabaseNames {
		for _, c := range dbs {
			if c.Name == name {
				each = append(each, fmt.Sprintf("%s %d", c.Name, c.Version))
			}
		}
	}
	return fmt.Sprintf("update: %s %s (%s)", u.Kind, u.Version, strings.Join(each, ", "))
}

var noteRE = regexp.MustCompile(`^update: clamav-db ([0-9]+) \(((?:main|daily|bytecode) [0-9]{1,9}(?:, (?:main|daily|bytecode) [0-9]{1,9}){0,2})\)$`)

// noteDatabases is what a signature update's note (updateNote) says of its
// databases, or nil for a note of another form (an update sealed before
// notes named them).
func noteDatabases(env *bundle.Envelope) []scan.CVD {
	m := noteRE.FindStringSubmatch(env.Note)
	if m == nil || m[1] != env.Update.Version {
		return nil
	}
	var dbs []scan.CVD
	seen := map[string]bool{}
	for _, each := range strings.Split(m[2], ", ") {
		name, v, _ := strings.Cut(each, " ")
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || seen[name] {
			return nil
		}
		seen[name] = true
		dbs = append(dbs, scan.CVD{Name: name, Version: n})
	}
	return dbs
}

// cmp is the newer of two versions, either possibly "".
func cmp(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "" || semver.Compare("v"+a, "v"+b) >= 0:
		return a
	}
	return b
}

// checkUpdatePayload checks what an update bundle extracted into q holds,
// in place of the content policy (which judges data): exactly one package
// of Sluice of the version the envelope gives, or ClamAV databases newer
// than those installed, each checked as ReleasePack checked them; the
// policy's scanners scan a package as any file.
func (s *Station) checkUpdatePayload(ctx context.Context, q string, env *bundle.Envelope, entries []bundle.ManifestEntry, again bool) (*ContentReport, error) {
	u := env.Update
	var files []string
	for _, e := range entries {
		switch {
		case e.Type == bundle.TypeFile && !strings.Contains(e.Path, "/"):
			files = append(files, e.Path)
		case e.Type == bundle.TypeFile || e.Type == bundle.TypeDir:
			return nil, fmt.Errorf("%w: update holds %s; an update holds only its package or its databases", ErrRejected, safetext.Line(e.Path))
		}
	}
	rep := &ContentReport{Files: int64(len(files)), Families: map[string]int64{"update": int64(len(files))}}
	switch u.Kind {
	case bundle.UpdateSluice:
		if len(files) != 1 {
			return nil, fmt.Errorf("%w: a Sluice update holds one package, this one %d files", ErrRejected, len(files))
		}
		v, err := checkDeb(ctx, filepath.Join(q, files[0]))
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrRejected, err)
		}
		if v != u.Version {
			return nil, fmt.Errorf("%w: the envelope says version %s, the package is %s", ErrRejected, u.Version, v)
		}
		eng := s.scanEngines(ctx, filepath.Dir(q))
		rep.Scanners = eng.versions
		if err := scanUpdate(ctx, eng, q, files[0]); err != nil {
			return nil, err
		}
	case bundle.UpdateClamAVDB:
		dbs, _, err := readClamAVDir(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrRejected, err)
		}
		if len(dbs) != len(files) {
			return nil, fmt.Errorf("%w: a signature update holds only ClamAV databases, this one %d other file(s)", ErrRejected, len(files)-len(dbs))
		}
		if strconv.Itoa(dbVersion(dbs)) != u.Version {
			return nil, fmt.Errorf("%w: the envelope says version %s, the databases are %d", ErrRejected, u.Version, dbVersion(dbs))
		}
		if said := noteDatabases(env); said != nil {
			want, got := map[string]int{}, map[string]int{}
			for _, c := range said {
				want[c.Name] = c.Version
			}
			for _, c := range dbs {
				got[c.Name] = c.Version
			}
			if !maps.Equal(got, want) {
				return nil, fmt.Errorf("%w: the envelope's note names the databases %v, the update holds %v", ErrRejected, want, got)
			}
		}
		st, err := s.loadUpdateState()
		if err != nil {
			return nil, err
		}
		if err := checkDatabaseVersions(dbs, st.ClamAVDB, databasesInPlace(s.databaseDir()), again); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// checkDatabaseVersions refuses a signature update that would take any
// database back, or brings none forward: each of its databases must be at
// least the version installed through updates (installed) and the one in
// the scanner's folder now (inPlace, which freshclam or the station's
// image may have put there), and one of them newer. Each database is
// compared with its own kind: daily's numbers and main's are unrelated.
// Applied again after a failed or cut-short install (again), newer than
// the ones installed through updates is enough: the one in the folder may
// be this update's own, put there before the station stopped.
func checkDatabaseVersions(dbs []scan.CVD, installed, inPlace map[string]int, again bool) error {
	newer := false
	var have []string
	for _, c := range dbs {
		floor := max(installed[c.Name], inPlace[c.Name])
		if c.Version < floor {
			return fmt.Errorf("%w: %s is version %d, older than version %d installed here; an older database is never installed again", ErrRejected, c.Name, c.Version, floor)
		}
		if c.Version > floor || again && c.Version > installed[c.Name] {
			newer = true
		}
		have = append(have, fmt.Sprintf("%s %d", c.Name, floor))
	}
	if !newer {
		return fmt.Errorf("%w: the signature update brings nothing newer than what this station has (%s)", ErrRejected, strings.Join(have, ", "))
	}
	return nil
}

// databaseDir is the folder the policy's scanner reads its databases
// from (scan.database, else ClamAV's own).
func (s *Station) databaseDir() string {
	if d := s.Policy.Scan.Database; d != "" {
		return d
	}
	return clamDatabases
}

// databasesInPlace is the version of each database in dir, by its
// header (the highest where a database has files of several kinds); a
// file whose header does not read is left out (it is replaced, not
// compared).
func databasesInPlace(dir string) map[string]int {
	in := map[string]int{}
	for _, db := range scan.DatabaseNames {
		for _, kind := range []string{"cvd", "cld", "cud"} {
			name := db + "." + kind
			f, err := regfile.Open(filepath.Join(dir, name))
			if err != nil {
				continue
			}
			head := make([]byte, scan.CVDHeaderSize)
			_, err = io.ReadFull(f, head)
			f.Close()
			if err != nil {
				continue
			}
			if c, err := scan.ParseCVDHeader(name, head); err == nil {
				in[db] = max(in[db], c.Version)
			}
		}
	}
	return in
}

// scanUpdate has every scanner scan an update's package: anything but
// clean refuses it (an update is never held for review).
func scanUpdate(ctx context.Context, eng *engines, q, rel string) error {
	full := filepath.Join(q, rel)
	f, err := os.Open(full)
	if err != nil {
		return err
	}
	defer f.Close()
	r := inspect.Report{Path: rel}
	eng.scan(ctx, &r, full, f)
	if eng.batch != nil {
		verdicts, err := eng.batch.ScanAll(ctx, []string{full})
		if err != nil {
			return fmt.Errorf("%w: scan the update: %v", ErrRejected, err)
		}
		eng.add(&r, verdicts[full])
	}
	if len(r.Findings) > 0 {
		return fmt.Errorf("%w: update refused: %s", ErrRejected, r.Findings[0].Detail)
	}
	return nil
}

// ApplyUpdate receives an update bundle (recorded "received" and
// "released" into HOME/updates/received/ like any bundle, after every
// check a bundle passes and those of checkRole and checkUpdatePayload),
// then installs it and records "updated": a Sluice package with dpkg
// (each file replaced by a rename), kept in HOME/updates/installed/ for
// rollback; or ClamAV's databases, each written beside the one it
// replaces and renamed over it, then clamd told to reload and asked its
// version. A failed install is recorded ("updated", outcome "failed")
// and, for databases, the previous files are put back.
func (s *Station) ApplyUpdate(ctx context.Context, req UpdateRequest) (*Applied, error) {
	dir := filepath.Join(s.Home, updatesDir)
	if err := os.MkdirAll(filepath.Join(dir, receivedDir), 0o700); err != nil {
		return nil, fmt.Errorf("updates: %w", err)
	}
	lock, err := lockfile.LockWithin(filepath.Join(dir, updateLock), 10*time.Second)
	if err != nil {
		return nil, fmt.Errorf("another update is being applied on this station: %w", err)
	}
	defer lock.Unlock()
	approvers, err := s.quorum("install an update", ChangePolicy, req.Others)
	if err != nil {
		return nil, err
	}
	// What a station switched off during an update left: a bundle being
	// checked again, databases set aside.
	if stale, _ := filepath.Glob(filepath.Join(dir, ".again-*")); len(stale) > 0 {
		for _, p := range stale {
			os.RemoveAll(p)
		}
	}
	recoverDatabases(s.databaseDir())
	if req.Bundle != "" {
		if b, err := bundle.OpenPart(req.BundleDir); err == nil && b.Envelope.ID != req.Bundle {
			return nil, s.rejected(ctx, subject{path: req.BundleDir, media: mediaOf(req.BundleDir)},
				fmt.Errorf("%w: the update at %s is now bundle %s, not %s, the one shown: nothing was installed; choose the update again", ErrRejected, safetext.Line(req.BundleDir), safetext.Line(b.Envelope.ID), safetext.Line(req.Bundle)))
		}
	}
	env, payload, entries, retry, err := s.failedUpdate(ctx, req)
	if err != nil {
		return nil, err
	}
	if !retry {
		got, err := s.Receive(ctx, ReceiveRequest{BundleDir: req.BundleDir, OutDir: filepath.Join(dir, receivedDir),
			Progress: req.Progress, Now: req.Now, update: true, ageOverride: req.AgeOverride})
		if err != nil {
			return nil, err
		}
		env, payload, entries = got.Envelope, got.Dir, got.Verified.Manifest.Entries
	}
	// Marked failed until it is installed: should the station die during
	// the install, the same bundle can be applied again (failedUpdate)
	// rather than refused as a replay.
	failed := payload + failedMark
	if err := durable.ReplaceFile(failed, nil, 0o600); err != nil {
		return nil, fmt.Errorf("updates: %w", err)
	}
	testHook("update-released")
	a := &Applied{Kind: env.Update.Kind, Bundle: env.ID, To: env.Update.Version}
	st, err := s.loadUpdateState()
	if err != nil {
		return nil, err
	}
	rec := custody.Record{Event: custody.EventUpdated, Bundle: env.ID, Peer: env.Sender.Name, Outcome: "ok"}
	switch a.Kind {
	case bundle.UpdateSluice:
		err = s.installDeb(ctx, req, payload, entries, st, a)
	case bundle.UpdateClamAVDB:
		err = s.installDatabases(ctx, payload, st, a)
	}
	if err != nil {
		// Released but not installed: the same bundle may be applied
		// again (failedUpdate).
		rec.Outcome, rec.Reason = "failed", fmt.Sprintf("%s %s not installed: %v", a.Kind, a.To, err)
		if rerr := s.record(rec); rerr != nil {
			return nil, errors.Join(err, rerr)
		}
		return nil, err
	}
	if err := os.Remove(failed); err == nil {
		durable.SyncDir(filepath.Dir(failed))
	}
	rec.Reason = fmt.Sprintf("%s %s installed (was %s): %s", a.Kind, a.To, orUnknown(a.From), strings.Join(a.What, "; "))
	if retry {
		rec.Reason += "; applied again from the copy released when its first install failed"
	}
	if len(approvers) > 0 {
		rec.Reason += "; approved by " + strings.Join(approvers, ", ")
	}
	if err := s.record(rec); err != nil {
		return nil, err
	}
	return a, nil
}

// failedMark, beside a released update's folder, says its install failed.
const failedMark = ".failed"

// failedUpdate says whether the bundle req gives is an update this
// station received and released before, whose install then failed or was
// cut short (dpkg's lock held, a full disk, clamd down, the station
// switched off): it is applied again instead of refused as a replay. The
// released copy is in the station's home, which its user can write, so
// it is not trusted: the bundle is decrypted and checked again (its
// signature, every file against the signed manifest, the seal record, the
// version and the payload, as when it was received), and the fresh copy
// replaces the released one. It returns the envelope, the released copy
// and the manifest's entries; a refusal is recorded.
func (s *Station) failedUpdate(ctx context.Context, req UpdateRequest) (*bundle.Envelope, string, []bundle.ManifestEntry, bool, error) {
	dir, err := ResolveMediaPath(req.BundleDir)
	if err != nil {
		return nil, "", nil, false, nil // Receive says what is wrong
	}
	b, err := bundle.OpenPart(dir)
	if err != nil || b.Envelope.Update == nil || !bundle.ValidID(b.Envelope.ID) {
		return nil, "", nil, false, nil
	}
	env := b.Envelope
	payload := filepath.Join(s.Home, updatesDir, receivedDir, env.ID)
	if _, err := os.Lstat(payload + failedMark); err != nil {
		return nil, "", nil, false, nil
	}
	c, ok, err := s.Trusted(env.Sender.Name)
	if err != nil || !ok || c.Role != crypto.RoleRelease || b.VerifySignature(c.SigningKey) != nil || !s.isRecipient(env) {
		return nil, "", nil, false, nil // Receive refuses it, and records why
	}
	subj := subject{id: env.ID, peer: env.Sender.Name, path: dir, media: mediaOf(dir)}
	refuse := func(err error) (*bundle.Envelope, string, []bundle.ManifestEntry, bool, error) {
		return nil, "", nil, false, s.rejected(ctx, subj, err)
	}
	if err := s.checkUpdateVersion(env, true); err != nil {
		return refuse(err)
	}
	switch {
	case !b.Complete() && env.Span != nil:
		// A bundle over several drives: gathered again, drive by drive,
		// as Receive gathers one (a *MissingDrivesError until the last).
		g, err := s.gather(ctx, b, ReceiveRequest{BundleDir: dir, Progress: req.Progress}, subj)
		if err != nil {
			return nil, "", nil, false, err // gather recorded a refusal
		}
		defer os.RemoveAll(g.Dir)
		b = g
	case !b.Complete():
		if _, err := bundle.Open(dir); err != nil {
			return refuse(err) // names the missing volume
		}
	}
	fresh, err := os.MkdirTemp(filepath.Join(s.Home, updatesDir), ".again-")
	if err != nil {
		return refuse(fmt.Errorf("updates: %w", err))
	}
	defer os.RemoveAll(fresh) // renamed into place unless refused
	root, err := os.OpenRoot(fresh)
	if err != nil {
		return refuse(fmt.Errorf("updates: %w", err))
	}
	b.MaxFileSize, b.MaxPathDepth = s.Policy.MaxFileSize, s.Policy.MaxPathDepth
	v, err := b.Extract(ctx, []age.Identity{s.Keys.Identity}, root, req.Progress)
	root.Close()
	if err != nil {
		return refuse(err)
	}
	if _, err := s.checkSeal(env, v); err != nil {
		return refuse(err)
	}
	if _, err := s.checkUpdatePayload(ctx, fresh, env, v.Manifest.Entries, true); err != nil {
		return refuse(err)
	}
	if err := durable.SyncTree(fresh); err != nil {
		return refuse(fmt.Errorf("updates: %w", err))
	}
	if err := os.RemoveAll(payload); err != nil {
		return refuse(fmt.Errorf("updates: replace the released copy: %w", err))
	}
	if err := os.Rename(fresh, payload); err != nil {
		return refuse(fmt.Errorf("updates: replace the released copy: %w", err))
	}
	return env, payload, v.Manifest.Entries, true, nil
}

func orUnknown(v string) string {
	if v == "" {
		return "the version first installed"
	}
	return v
}

// installDeb installs the update's package with dpkg and keeps it for
// rollback. What dpkg installs is a sealed copy (sealedPackage) whose
// SHA-256 is the one entries (the signed manifest) give the package.
func (s *Station) installDeb(ctx context.Context, req UpdateRequest, dir string, entries []bundle.ManifestEntry, st *updateState, a *Applied) error {
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) != 1 {
		return fmt.Errorf("the released update in %s is not one package", dir)
	}
	name := ents[0].Name()
	var sum *crypto.Digest
	for _, e := range entries {
		if e.Path == name && e.Type == bundle.TypeFile {
			sum = e.SHA256
		}
	}
	if sum == nil {
		return fmt.Errorf("the released package %s is not in the update's signed manifest", safetext.Line(name))
	}
	keep := filepath.Join(s.Home, updatesDir, installedDir)
	if err := os.MkdirAll(keep, 0o700); err != nil {
		return err
	}
	kept := filepath.Join(keep, name)
	if err := copyFile(filepath.Join(dir, name), kept, 0o600); err != nil {
		return fmt.Errorf("keep the package for rollback: %w", err)
	}
	pkg, err := sealedPackage(kept, sum)
	if err != nil {
		return err
	}
	defer pkg.Close()
	a.From = cmp("", RunningVersion())
	if n := len(st.Sluice.Installed); n > 0 {
		a.From = st.Sluice.Installed[n-1].Version
	}
	if err := dpkgInstall(ctx, req.Dpkg, name, pkg); err != nil {
		return err
	}
	if n := len(st.Sluice.Installed); n == 0 || st.Sluice.Installed[n-1].Bundle != a.Bundle {
		// (Not twice: an install cut short after the state was saved.)
		st.Sluice.Installed = append(st.Sluice.Installed, installedDeb{Version: a.To, Deb: name, Bundle: a.Bundle, SHA256: sum})
	}
	st.Sluice.Highest = cmp(st.Sluice.Highest, a.To)
	// Keep the last few packages; older ones are never installed again.
	for len(st.Sluice.Installed) > maxKeptDebs {
		os.Remove(filepath.Join(keep, st.Sluice.Installed[0].Deb))
		st.Sluice.Installed = st.Sluice.Installed[1:]
	}
	a.What = []string{"package " + name}
	return s.saveUpdateState(st)
}

// dpkgInstall runs dpkg --install on the package called name, read from
// pkg (a sealed file) as dpkg's standard input, and returns its last line
// of error on failure. Installing needs root: a station run by another
// user (the desktop app) asks through pkexec (polkit), which prompts for
// an administrator and passes standard input on.
func dpkgInstall(ctx context.Context, dpkg []string, name string, pkg *os.File) error {
	if len(dpkg) == 0 {
		dpkg = []string{"dpkg"}
		if os.Geteuid() != 0 {
			if _, err := exec.LookPath("pkexec"); err == nil {
				dpkg = []string{"pkexec", "dpkg"}
			}
		}
	}
	if _, err := pkg.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("read the package: %w", err)
	}
	args := append(slices.Clone(dpkg[1:]), "--install", "/dev/stdin")
	cmd := exec.CommandContext(ctx, dpkg[0], args...)
	var out bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = pkg, &out, &out
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if err := cmd.Run(); err != nil {
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		return fmt.Errorf("dpkg could not install %s: %s", name, safetext.Line(lines[len(lines)-1]))
	}
	return nil
}

// RollbackRequest puts back the Sluice version installed before the last
// update.
type RollbackRequest struct {
	Dpkg   []string    // as UpdateRequest.Dpkg
	Others []*SignedIn // as UpdateRequest.Others
}

// RollbackUpdate reinstalls the package in use before the last update
// (kept in HOME/updates/installed/) and records "rolled-back". The highest
// version ever installed stays: the version rolled back from can be
// installed again only by a newer release.
func (s *Station) RollbackUpdate(ctx context.Context, req RollbackRequest) (*Applied, error) {
	dir := filepath.Join(s.Home, updatesDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("updates: %w", err)
	}
	lock, err := lockfile.LockWithin(filepath.Join(dir, updateLock), 10*time.Second)
	if err != nil {
		return nil, fmt.Errorf("an update is being applied on this station: %w", err)
	}
	defer lock.Unlock()
	approvers, err := s.quorum("roll back an update", ChangePolicy, req.Others)
	if err != nil {
		return nil, err
	}
	st, err := s.loadUpdateState()
	if err != nil {
		return nil, err
	}
	n := len(st.Sluice.Installed)
	if n < 2 {
		return nil, errors.New("no earlier version of Sluice is kept on this station: rollback goes back to a version installed through sluice update apply; reinstall the one you want from its package")
	}
	cur, prev := st.Sluice.Installed[n-1], st.Sluice.Installed[n-2]
	a := &Applied{Kind: bundle.UpdateSluice, Bundle: prev.Bundle, From: cur.Version, To: prev.Version, What: []string{"package " + prev.Deb}}
	rec := custody.Record{Event: custody.EventRolledBack, Bundle: prev.Bundle, Outcome: "ok",
		Reason: fmt.Sprintf("Sluice %s put back in place of %s (package %s)", prev.Version, cur.Version, prev.Deb)}
	if len(approvers) > 0 {
		rec.Reason += "; approved by " + strings.Join(approvers, ", ")
	}
	err = s.reinstall(ctx, req, filepath.Join(dir, installedDir, prev.Deb), prev)
	if err != nil {
		rec.Outcome, rec.Reason = "failed", fmt.Sprintf("Sluice %s not put back: %v", prev.Version, err)
		return nil, errors.Join(err, s.record(rec))
	}
	os.Remove(filepath.Join(dir, installedDir, cur.Deb))
	st.Sluice.Installed = st.Sluice.Installed[:n-1]
	if err := s.saveUpdateState(st); err != nil {
		return nil, err
	}
	return a, s.record(rec)
}

// reinstall installs the kept package at path for a rollback to prev: a
// sealed copy, which must still have the SHA-256 its signed manifest gave
// it (kept packages from before that was noted are checked as a package
// of Sluice of prev's version only) and be that package.
func (s *Station) reinstall(ctx context.Context, req RollbackRequest, path string, prev installedDeb) error {
	pkg, err := sealedPackage(path, prev.SHA256)
	if err != nil {
		return err
	}
	defer pkg.Close()
	v, err := checkDebFile(ctx, prev.Deb, pkg)
	if err != nil {
		return err
	}
	if v != prev.Version {
		return fmt.Errorf("the kept package %s is version %s, not %s", prev.Deb, v, prev.Version)
	}
	return dpkgInstall(ctx, req.Dpkg, prev.Deb, pkg)
}

// copyFile copies src to dst durably (fsync, rename into place).
func copyFile(src, dst string, perm fs.FileMode) error {
	f, err := regfile.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	return durable.WriteWith(dst, perm, func(w io.Writer) error {
		_, err := io.Copy(w, f)
		return err
	})
}

// clamReloadTime bounds how long clamd may take to load new databases.
var clamReloadTime = 3 * time.Minute

// installDatabases puts the update's ClamAV databases in the folder the
// station's scanner reads (scan.database, else /var/lib/clamav): each
// copied beside its place under a temporary name, the files it replaces
// (any container of the same database) set aside, then renamed into
// place. A clamd the policy scans with is told to reload and must then
// report the new daily version, or the previous files are put back.
func (s *Station) installDatabases(ctx context.Context, dir string, st *updateState, a *Applied) error {
	dbs, files, err := readClamAVDir(ctx, dir)
	if err != nil {
		return err
	}
	target := s.databaseDir()
	a.From = strconv.Itoa(st.ClamAVUpdate)
	if st.ClamAVUpdate == 0 {
		a.From = ""
	}
	var placed, setAside [][2]string // {from, to} renames done, to undo
	undo := func() {
		for _, r := range slices.Backward(placed) {
			os.Remove(r[1])
		}
		for _, r := range slices.Backward(setAside) {
			os.Rename(r[1], r[0])
		}
		durable.SyncDir(target)
	}
	for i, c := range dbs {
		name := filepath.Base(files[i])
		tmp := filepath.Join(target, name+newSuffix)
		if err := copyFile(files[i], tmp, 0o644); err != nil {
			undo()
			return fmt.Errorf("write %s into %s: %w", name, target, err)
		}
		for _, kind := range []string{"cvd", "cld", "cud"} {
			old := filepath.Join(target, c.Name+"."+kind)
			if _, err := os.Lstat(old); err == nil {
				aside := old + oldSuffix
				if err := os.Rename(old, aside); err != nil {
					os.Remove(tmp)
					undo()
					return fmt.Errorf("set aside %s: %w", old, err)
				}
				setAside = append(setAside, [2]string{old, aside})
			}
		}
		final := filepath.Join(target, name)
		if err := os.Rename(tmp, final); err != nil {
			os.Remove(tmp)
			undo()
			return fmt.Errorf("install %s: %w", name, err)
		}
		placed = append(placed, [2]string{tmp, final})
		signed := "its signature verified by sigtool"
		switch c.Kind {
		case "cud":
			signed = "unsigned (.cud), vouched for by the release key"
		case "cld":
			// Talos signs a .cvd's header, whose MD5 covers the content;
			// freshclam's incremental updates change a .cld's content
			// under the same header, so nothing of Talos's covers it.
			signed = "its header signed by Talos, its content (changed by freshclam's incremental updates) vouched for by the release key"
		}
		a.What = append(a.What, fmt.Sprintf("%s %d (%s, %d signatures, %s)", c.Name, c.Version, name, c.Signatures, signed))
	}
	if err := durable.SyncDir(target); err != nil {
		undo()
		return err
	}
	if err := s.reloadClamd(ctx, dbs); err != nil {
		undo()
		if rerr := s.reloadClamd(ctx, nil); rerr != nil {
			err = errors.Join(err, fmt.Errorf("and clamd did not reload the previous databases either: %w", rerr))
		}
		return fmt.Errorf("clamd did not take the new databases, the previous ones are back in place: %w", err)
	}
	for _, r := range setAside {
		os.Remove(r[1])
	}
	for _, c := range dbs {
		st.ClamAVDB[c.Name] = max(st.ClamAVDB[c.Name], c.Version)
	}
	st.ClamAVUpdate = dbVersion(dbs)
	return s.saveUpdateState(st)
}

// newSuffix and oldSuffix end the names of a database being written and
// of one set aside while its replacement is renamed into place: names
// ClamAV does not load (it loads any file ending .cvd, .cld or .cud,
// hidden or not), so that a reload during an install, or after a crash
// in one, never has a database in force twice.
const (
	newSuffix = ".sluice-new"
	oldSuffix = ".sluice-old"
)

// recoverDatabases finishes, in the scanner's folder dir, an install of
// databases a crash interrupted: a database set aside whose replacement
// never got its name is put back; any other set-aside or half-written
// file is removed (so are those of earlier releases, named
// .sluice-old-NAME and .sluice-new-NAME).
func recoverDatabases(dir string) {
	for _, db := range scan.DatabaseNames {
		inPlace := false
		for _, kind := range []string{"cvd", "cld", "cud"} {
			if _, err := os.Lstat(filepath.Join(dir, db+"."+kind)); err == nil {
				inPlace = true
			}
		}
		// None in place: the install stopped between setting aside and
		// renaming the new one in; every file set aside is put back,
		// as the folder was before (ClamAV loads the newest of them).
		// Otherwise the new one is in place and they are done with.
		restore := !inPlace
		for _, kind := range []string{"cvd", "cld", "cud"} {
			name := db + "." + kind
			for _, aside := range []string{name + oldSuffix, ".sluice-old-" + name} {
				p := filepath.Join(dir, aside)
				if _, err := os.Lstat(p); err != nil {
					continue
				}
				if restore {
					if _, err := os.Lstat(filepath.Join(dir, name)); err != nil && os.Rename(p, filepath.Join(dir, name)) == nil {
						continue
					}
				}
				os.Remove(p)
			}
			os.Remove(filepath.Join(dir, name+newSuffix))
			os.Remove(filepath.Join(dir, ".sluice-new-"+name))
		}
	}
	durable.SyncDir(dir)
}

// reloadClamd tells the clamd the policy scans with, if any and running,
// to reload, and waits until it reports daily's version from dbs (when
// dbs has daily; any answer otherwise).
func (s *Station) reloadClamd(ctx context.Context, dbs []scan.CVD) error {
	c, err := s.policyClamd()
	if c == nil || err != nil {
		return err
	}
	if _, err := c.Version(ctx); err != nil {
		return nil // not running: it loads the new databases when it starts
	}
	if err := c.Reload(ctx); err != nil {
		return err
	}
	want := ""
	for _, d := range dbs {
		if d.Name == "daily" {
			want = fmt.Sprintf("/%d/", d.Version)
		}
	}
	deadline := time.Now().Add(clamReloadTime)
	for {
		v, err := c.Version(ctx)
		if err == nil && strings.Contains(v, want) {
			return nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("after %s it still reports %q", clamReloadTime, v)
			}
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// policyClamd is the clamd the policy scans with, or nil.
func (s *Station) policyClamd() (*scan.Clamd, error) {
	switch sc := s.Policy.Scan.Clamd; {
	case sc == "":
		return nil, nil
	case sc == ClamdStation:
		return &scan.Clamd{Network: "unix", Address: filepath.Join(s.Home, "clamd", "clamd.sock")}, nil
	case strings.HasPrefix(sc, "/"):
		return &scan.Clamd{Network: "unix", Address: sc}, nil
	default:
		return &scan.Clamd{Network: "tcp", Address: sc}, nil
	}
}

// UpdateStatus is what a station has installed through updates.
type UpdateStatus struct {
	Running string // this build's version, "" for a development build
	// Installed lists the Sluice versions installed through updates,
	// oldest first (the last is in use); Highest is the highest ever.
	Installed []string
	Highest   string
	// Databases gives each ClamAV database's highest version installed;
	// ClamAVUpdate the last signature update's version (0: none yet).
	Databases    map[string]int
	ClamAVUpdate int
	// ReleaseKeys names the release keys this station trusts.
	ReleaseKeys []string
}

// UpdateStatus reports what this station has installed through updates.
func (s *Station) UpdateStatus() (*UpdateStatus, error) {
	st, err := s.loadUpdateState()
	if err != nil {
		return nil, err
	}
	u := &UpdateStatus{Running: RunningVersion(), Highest: st.Sluice.Highest, Databases: st.ClamAVDB, ClamAVUpdate: st.ClamAVUpdate}
	for _, d := range st.Sluice.Installed {
		u.Installed = append(u.Installed, d.Version)
	}
	cards, err := s.TrustList()
	if err != nil {
		return nil, err
	}
	for _, c := range cards {
		if c.Role == crypto.RoleRelease {
			u.ReleaseKeys = append(u.ReleaseKeys, c.Name)
		}
	}
	return u, nil
}

// Lines says the status in a few lines for people.
func (u *UpdateStatus) Lines() []string {
	running := u.Running
	if running == "" {
		running = "a development build (no version)"
	}
	out := []string{"Sluice running: " + running}
	if len(u.Installed) > 0 {
		out = append(out, fmt.Sprintf("Installed by updates: %s (highest ever: %s; rollback goes back one step)", strings.Join(u.Installed, " → "), u.Highest))
	} else {
		out = append(out, "Installed by updates: none yet")
	}
	if u.ClamAVUpdate > 0 {
		var dbs []string
		for _, n := range scan.DatabaseNames {
			if v, ok := u.Databases[n]; ok {
				dbs = append(dbs, fmt.Sprintf("%s %d", n, v))
			}
		}
		out = append(out, fmt.Sprintf("ClamAV signatures: update %d (%s)", u.ClamAVUpdate, strings.Join(dbs, ", ")))
	} else {
		out = append(out, "ClamAV signatures: no update applied yet")
	}
	if len(u.ReleaseKeys) == 0 {
		out = append(out, "Release keys trusted: none (sluice trust add --role release CARD)")
	} else {
		out = append(out, "Release keys trusted: "+strings.Join(u.ReleaseKeys, ", "))
	}
	return out
}

// UpdateInfo is what an update bundle says it is, once its signature is
// checked against a release key this station trusts: for an officer to
// confirm before ApplyUpdate.
type UpdateInfo struct {
	Bundle, Kind, Version, Signer string
	Created                       time.Time
	// Newer is false when this station would refuse the version.
	Newer bool
	Why   string // why it would be refused, when not Newer
}

// ReadUpdate reads the update bundle in dir and checks its signature; an
// error says why it is not an update this station can apply.
func (s *Station) ReadUpdate(dir string) (*UpdateInfo, error) {
	b, err := bundle.OpenPart(dir)
	if err != nil {
		return nil, err
	}
	env := b.Envelope
	if env.Update == nil {
		return nil, fmt.Errorf("%s is a bundle of data from %s, not an update: receive it on the Receive screen", safetext.Line(dir), env.Sender.Name)
	}
	c, ok, err := s.Trusted(env.Sender.Name)
	if err != nil {
		return nil, err
	}
	if !ok || c.Role != crypto.RoleRelease {
		return nil, fmt.Errorf("%w: this update is signed by %q, which is not a release key this station trusts (sluice trust add --role release CARD)", ErrRejected, env.Sender.Name)
	}
	if err := b.VerifySignature(c.SigningKey); err != nil {
		return nil, err
	}
	u := &UpdateInfo{Bundle: env.ID, Kind: env.Update.Kind, Version: env.Update.Version, Signer: c.Name, Created: env.Created, Newer: true}
	_, failed := os.Lstat(filepath.Join(s.Home, updatesDir, receivedDir, env.ID+failedMark))
	if err := s.checkUpdateVersion(env, failed == nil); err != nil {
		u.Newer, u.Why = false, strings.TrimPrefix(err.Error(), ErrRejected.Error()+": ")
	}
	return u, nil
}
