package app

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"golang.org/x/crypto/ssh"

	"sluice/crypto"
	"sluice/internal/durable"
	"sluice/internal/regfile"
	"sluice/internal/safetext"
	"sluice/transfer/custody"
)

// officersDir holds, in a station's home, its officers' keys: NAME.key
// (an OpenSSH Ed25519 private key, encrypted to the officer's passphrase
// with age's scrypt) and NAME.pub (its public key, authorized_keys form).
const officersDir = "officers"

// Officer is an enrolled officer.
type Officer struct {
	Name        string
	Key         ssh.PublicKey
	Fingerprint string // SHA256:…, as ssh-keygen -l prints it
}

// Officers lists the enrolled officers by name.
func (s *Station) Officers() ([]Officer, error) {
	paths, err := filepath.Glob(filepath.Join(s.Home, officersDir, "*.pub"))
	if err != nil {
		return nil, err
	}
	var out []Officer
	for _, p := range paths {
		o, err := s.officer(strings.TrimSuffix(filepath.Base(p), ".pub"))
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// officer is the enrolled officer called name, spelled exactly as
// enrolled: a name that is not one (./alice, ../elsewhere/key) or that
// differs only in case (ALICE, where the filesystem ignores case) would
// otherwise read another file, or the same officer under a second name.
func (s *Station) officer(name string) (Officer, error) {
	if crypto.ValidName(name) != nil {
		return Officer{}, fmt.Errorf("no officer %s is enrolled on this station; sluice officer list shows who is", safetext.Line(name))
	}
	ents, err := os.ReadDir(filepath.Join(s.Home, officersDir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return Officer{}, err
	}
	if !slices.ContainsFunc(ents, func(e fs.DirEntry) bool { return e.Name() == name+".pub" }) {
		return Officer{}, fmt.Errorf("no officer %s is enrolled on this station; sluice officer list shows who is", name)
	}
	b, err := regfile.ReadFile(filepath.Join(s.Home, officersDir, name+".pub"), 16<<10)
	if errors.Is(err, fs.ErrNotExist) {
		return Officer{}, fmt.Errorf("no officer %s is enrolled on this station; sluice officer list shows who is", name)
	}
	if err != nil {
		return Officer{}, err
	}
	k, _, _, _, err := ssh.ParseAuthorizedKey(b)
	if err != nil {
		return Officer{}, fmt.Errorf("officer %s: damaged public key: %w", name, err)
	}
	return Officer{Name: name, Key: k, Fingerprint: ssh.FingerprintSHA256(k)}, nil
}

// RuleChange is a kind of change to the station's officers or policy, which
// the two-person rules judge (see quorum).
type RuleChange int

// Changes.
const (
	ChangeEnroll RuleChange = iota
	ChangeRemove
	ChangePolicy
)

// quorum checks a change to the station's officers or policy against its
// two-person rules: before any officer is enrolled a technician sets the
// station up alone; after, the change needs an officer signed in to act
// (AsOfficer) and enough other officers signed in (others) that one
// officer alone can never lower the rules: max(require_approvals,
// require_seal_approvals+1) officers in all. Until that many are
// enrolled, the officer acting enrolls the next alone (a site sets its
// officers up); a removal that would leave fewer is refused, since the
// rules could then never be met. It returns who approved.
func (s *Station) quorum(what string, kind RuleChange, others []*SignedIn) ([]string, error) {
	list, err := s.Officers()
	if err != nil || len(list) == 0 {
		return nil, err
	}
	if err := s.needOfficer(what); err != nil {
		return nil, err
	}
	need := s.OthersNeeded(kind)
	if kind == ChangeRemove && len(list)-1 < need+1 {
		return nil, fmt.Errorf("cannot %s: %d officer(s) would be left, and the policy's two-person rules need %d (review.require_approvals %d, require_seal_approvals %d); enroll another officer first",
			what, len(list)-1, need+1, s.Policy.RequireApprovals, s.Policy.RequireSealApprovals)
	}
	var who []string
	keys := map[string]bool{s.signedIn.Fingerprint: true}
	for _, o := range others {
		if e, err := s.officer(o.Name); err != nil || string(e.Key.Marshal()) != string(o.Key.Marshal()) {
			return nil, fmt.Errorf("officer %s is not enrolled on this station with that key", safetext.Line(o.Name))
		}
		if keys[o.Fingerprint] {
			continue // the same officer (the same key) counts once
		}
		keys[o.Fingerprint] = true
		who = append(who, o.Name)
	}
	if len(who) < need {
		return nil, fmt.Errorf("to %s, %d officer(s) besides %s must sign in too (the policy's two-person rules: review.require_approvals %d, require_seal_approvals %d); %d did: add --approver NAME",
			what, need, s.signedIn.Name, s.Policy.RequireApprovals, s.Policy.RequireSealApprovals, len(who))
	}
	return who, nil
}

// OthersNeeded is how many officers besides the one acting must sign in
// for a change of this kind (see quorum): 0 before any officer is
// enrolled, while the first officers are enrolled, or where one officer
// may act alone.
func (s *Station) OthersNeeded(kind RuleChange) int {
	list, err := s.Officers()
	if err != nil || len(list) == 0 {
		return 0
	}
	need := max(s.Policy.RequireApprovals, s.Policy.RequireSealApprovals+1) - 1
	if kind == ChangeEnroll && len(list) <= need {
		return 0
	}
	return need
}

// approvedText names who acted and who approved, for a record.
func (s *Station) approvedText(who []string) string {
	if s.signedIn == nil {
		return ""
	}
	t := "; by officer " + s.signedIn.Name
	if len(who) > 0 {
		t += ", with " + strings.Join(who, ", ")
	}
	return t
}

// AddOfficer enrolls an officer with a new signing key protected by
// passphrase, and records it. Once officers are enrolled, it needs the
// two-person rules' quorum (see quorum): others are the officers, besides
// the one acting, who approve.
func (s *Station) AddOfficer(name string, passphrase []byte, others ...*SignedIn) (Officer, error) {
	if err := crypto.ValidName(name); err != nil {
		return Officer{}, err
	}
	who, err := s.quorum("enroll an officer", ChangeEnroll, others)
	if err != nil {
		return Officer{}, err
	}
	dir := filepath.Join(s.Home, officersDir)
	if _, err := os.Lstat(filepath.Join(dir, name+".pub")); err == nil {
		return Officer{}, fmt.Errorf("officer %s is already enrolled; remove them first to give them a new key", name)
	}
	key, pub, err := crypto.NewOfficerKey(name, passphrase)
	if err != nil {
		return Officer{}, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Officer{}, err
	}
	if err := durable.WriteFile(filepath.Join(dir, name+".key"), key, 0o600); err != nil {
		return Officer{}, err
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))) + " " + name + "\n"
	if err := durable.WriteFile(filepath.Join(dir, name+".pub"), []byte(line), 0o644); err != nil {
		os.Remove(filepath.Join(dir, name+".key"))
		return Officer{}, err
	}
	o := Officer{Name: name, Key: pub, Fingerprint: ssh.FingerprintSHA256(pub)}
	if err := s.record(custody.Record{Event: custody.EventSettingsChanged, Outcome: "ok",
		Reason: fmt.Sprintf("officer %s enrolled, signing key %s%s", name, o.Fingerprint, s.approvedText(who))}); err != nil {
		// Not recorded, not enrolled.
		os.Remove(filepath.Join(dir, name+".pub"))
		os.Remove(filepath.Join(dir, name+".key"))
		return Officer{}, fmt.Errorf("officer %s not enrolled: the custody log refused the record: %w", name, err)
	}
	return o, nil
}

// RemoveOfficer withdraws an officer: their key file goes and their
// approvals stop counting. It needs the two-person rules' quorum (see
// quorum), so officers cannot be removed until the rules stop holding.
// Recorded first: a removal the log refuses does not happen.
func (s *Station) RemoveOfficer(name string, others ...*SignedIn) error {
	o, err := s.officer(name)
	if err != nil {
		return err
	}
	who, err := s.quorum("remove an officer", ChangeRemove, others)
	if err != nil {
		return err
	}
	if err := s.record(custody.Record{Event: custody.EventSettingsChanged, Outcome: "ok",
		Reason: fmt.Sprintf("officer %s removed (signing key %s)%s", name, o.Fingerprint, s.approvedText(who))}); err != nil {
		return fmt.Errorf("officer %s not removed: the custody log refused the record: %w", name, err)
	}
	os.Remove(filepath.Join(s.Home, officersDir, name+".key"))
	return os.Remove(filepath.Join(s.Home, officersDir, name+".pub"))
}

// SignedIn is an officer whose key is unlocked.
type SignedIn struct {
	Officer
	signer ssh.Signer
}

// SignIn unlocks officer name's key with passphrase.
func (s *Station) SignIn(name string, passphrase []byte) (*SignedIn, error) {
	o, err := s.officer(name)
	if err != nil {
		return nil, err
	}
	b, err := regfile.ReadFile(filepath.Join(s.Home, officersDir, name+".key"), 64<<10)
	if err != nil {
		return nil, fmt.Errorf("officer %s: %w", name, err)
	}
	signer, err := crypto.UnlockOfficerKey(b, passphrase)
	if errors.Is(err, crypto.ErrPassphrase) {
		return nil, s.refused(nil, "sign-in as officer "+name, fmt.Errorf("%w: wrong passphrase for officer %s", ErrRejected, name))
	}
	if err != nil {
		return nil, err
	}
	if string(signer.PublicKey().Marshal()) != string(o.Key.Marshal()) {
		return nil, fmt.Errorf("officer %s's key file does not match their public key; enroll them again", name)
	}
	return &SignedIn{Officer: o, signer: signer}, nil
}

// Approval is one officer's signed approval of a decision on a held
// bundle. The signature (SSHSIG, namespace sluice-approval@sluice) is over
// Message, which names the bundle, its manifest, the decision and the
// SHA-256 of the exact files it releases, with their content's.
type Approval struct {
	Officer   string `json:"officer"`
	Message   string `json:"message"`
	Signature string `json:"signature"` // the armored SSHSIG, base64 on one line
}

// approvalMessage is what an officer signs.
type approvalMessage struct {
	Format         string `json:"format"`
	Bundle         string `json:"bundle"`
	ManifestSHA256 string `json:"manifest_sha256"`
	Decision       string `json:"decision"` // "release" or "partial"
	Files          int    `json:"files"`
	// FilesSHA256 is the SHA-256 of the files released listed as
	// sha256sum prints them ("HEX  PATH\n", sorted by path): the
	// approval holds for that content only (format sluice-approval/2;
	// /1 hashed the paths alone, and no longer counts).
	FilesSHA256 string `json:"files_sha256"`
}

func decisionName(d Decision) string {
	if d.Partial {
		return "partial"
	}
	return "release"
}

// releaseList is the sorted list of files a decision on h releases.
func releaseList(h *Held, d Decision) ([]string, error) {
	held := map[string]bool{}
	for _, r := range h.Reports {
		held[r.Path] = true
	}
	var files []string
	err := filepath.WalkDir(h.Content, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.Type().IsRegular() {
			rel, _ := filepath.Rel(h.Content, p)
			rel = filepath.ToSlash(rel)
			if !d.Partial || !held[rel] {
				files = append(files, rel)
			}
		}
		return nil
	})
	sort.Strings(files)
	return files, err
}

func messageFor(h *Held, d Decision) ([]byte, error) {
	files, err := releaseList(h, d)
	if err != nil {
		return nil, fmt.Errorf("list the files to release: %w", err)
	}
	sum := sha256.New()
	for _, f := range files {
		d, err := hashFile(filepath.Join(h.Content, filepath.FromSlash(f)))
		if err != nil {
			return nil, fmt.Errorf("hash %s to release: %w", safetext.Line(f), err)
		}
		fmt.Fprintf(sum, "%s  %s\n", d, f)
	}
	return json.Marshal(approvalMessage{Format: "sluice-approval/2", Bundle: h.ID, ManifestSHA256: h.ManifestSHA256,
		Decision: decisionName(d), Files: len(files), FilesSHA256: hex.EncodeToString(sum.Sum(nil))})
}

// checkApprovals returns the distinct enrolled officers whose approvals of
// h verify against msg, the message of a decision on what would be
// released now (messageFor: hashing the content is the caller's, once).
func (s *Station) checkApprovals(h *Held, msg []byte) []string {
	seen := map[string]bool{} // by key: one officer counts once, whatever the name
	var who []string
	for _, a := range h.Approvals {
		if a.Message != string(msg) {
			continue
		}
		o, err := s.officer(a.Officer)
		if err != nil || seen[o.Fingerprint] {
			continue // withdrawn, or counted already
		}
		sig, err := base64.StdEncoding.DecodeString(a.Signature)
		if err != nil || crypto.VerifySSH(o.Key, crypto.NamespaceApproval, msg, sig) != nil {
			continue
		}
		seen[o.Fingerprint] = true
		who = append(who, a.Officer)
	}
	sort.Strings(who)
	return who
}

// hashFile is the SHA-256 of the regular file at path (a link or anything
// else in its place is an error).
func hashFile(path string) (crypto.Digest, error) {
	f, err := regfile.Open(path)
	if err != nil {
		return crypto.Digest{}, err
	}
	defer f.Close()
	d, _, err := crypto.HashReader(f)
	return d, err
}
