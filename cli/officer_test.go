package cli

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"sluice/crypto"
)

// passFD returns a descriptor number from which the passphrase reads.
func passFD(t *testing.T, pass string) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	w.WriteString(pass + "\n")
	w.Close()
	t.Cleanup(func() { r.Close() })
	return strconv.Itoa(int(r.Fd()))
}

// Two-person release: with officers enrolled and require_approvals = 2, one
// approval is not enough, the same officer twice is refused, a wrong
// passphrase is refused, two officers release; the log carries both signed
// approvals, which ssh-keygen -Y verify checks.
func TestTwoPersonRelease(t *testing.T) {
	crypto.OfficerWorkFactor = 10
	dir := t.TempDir()
	sender, kiosk := twoStations(t, dir)
	policy := filepath.Join(kiosk, "policy.toml")
	p, _ := os.ReadFile(policy)
	os.WriteFile(policy, []byte(strings.Replace(string(p), "require_approvals = 1", "require_approvals = 2", 1)), 0o644)
	oneLineError(t, run(t, "", "--home", kiosk, "officer", "add", "alice", "--passphrase-fd", passFD(t, "short")), ExitUsage, "at least 12")
	mustRun(t, "", "--home", kiosk, "officer", "add", "alice", "--passphrase-fd", passFD(t, "alice's long passphrase"))
	// Once one officer is enrolled, the next is enrolled by an officer.
	oneLineError(t, run(t, "", "--home", kiosk, "officer", "add", "bob", "--passphrase-fd", passFD(t, "bob's long passphrase!")), ExitUsage, "an officer signs in to enroll an officer")
	mustRun(t, "", "--home", kiosk, "officer", "add", "bob", "--officer", "alice", "--passphrase-fd", passFD(t, "bob's long passphrase!\nalice's long passphrase"))
	if l := mustRun(t, "", "--home", kiosk, "officer", "list"); !strings.Contains(l.stdout, "alice  SHA256:") || !strings.Contains(l.stdout, "bob  SHA256:") {
		t.Fatalf("officer list: %s", l.stdout)
	}
	src := filepath.Join(dir, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "scan.jpg"), []byte("%PDF-1.7\nnot a photo\n"), 0o644)
	out, rel := filepath.Join(dir, "out"), filepath.Join(dir, "released")
	os.Mkdir(out, 0o755)
	b := mustRun(t, "", "--home", sender, "pack", "--to", "kiosk-1", "--out", out, src).lastLine()
	if r := run(t, "", "--home", kiosk, "receive", "--out", rel, b); r.code != ExitHeld {
		t.Fatalf("receive: exit %d %s", r.code, r.stderr)
	}
	id := strings.TrimSuffix(filepath.Base(b), ".sluice")
	oneLineError(t, run(t, "", "--home", kiosk, "review", "release", id), ExitUsage, "an officer signs in to release")
	aliceFD := func() string { return passFD(t, "alice's long passphrase") }
	oneLineError(t, run(t, "", "--home", kiosk, "review", "release", id, "--officer", "alice", "--passphrase-fd", aliceFD()), ExitUsage, "needs signed approvals from 2 different officer(s)")
	oneLineError(t, run(t, "", "--home", kiosk, "review", "approve", id, "--officer", "alice", "--passphrase-fd", passFD(t, "not alice's passphrase")), ExitRejected, "wrong passphrase")
	oneLineError(t, run(t, "", "--home", kiosk, "review", "approve", id, "--officer", "mallory", "--passphrase-fd", passFD(t, "whatever long enough")), ExitUsage, "no officer mallory")
	mustRun(t, "", "--home", kiosk, "review", "approve", id, "--officer", "alice", "--passphrase-fd", passFD(t, "alice's long passphrase"))
	oneLineError(t, run(t, "", "--home", kiosk, "review", "approve", id, "--officer", "alice", "--passphrase-fd", passFD(t, "alice's long passphrase")), ExitUsage, "already approved")
	oneLineError(t, run(t, "", "--home", kiosk, "review", "release", id, "--officer", "alice", "--passphrase-fd", aliceFD()), ExitUsage, "it has alice")
	mustRun(t, "", "--home", kiosk, "review", "approve", id, "--officer", "bob", "--passphrase-fd", passFD(t, "bob's long passphrase!"))
	mustRun(t, "", "--home", kiosk, "review", "release", id, "--officer", "alice", "--passphrase-fd", aliceFD())
	if _, err := os.Stat(filepath.Join(rel, id, "src", "scan.jpg")); err != nil {
		t.Fatalf("not released: %v", err)
	}
	recs := mustRun(t, "", "--home", kiosk, "log", "show", "--json").stdout
	var approvals []map[string]any
	released := ""
	for _, line := range strings.Split(strings.TrimSpace(recs), "\n") {
		var r map[string]any
		json.Unmarshal([]byte(line), &r)
		switch r["event"] {
		case "approved":
			approvals = append(approvals, r)
		case "released":
			released = r["reason"].(string) + " / " + r["officer"].(string)
		}
	}
	if len(approvals) != 2 || approvals[0]["officer"] != "alice" || approvals[1]["officer"] != "bob" {
		t.Fatalf("approved records: %v", approvals)
	}
	if !strings.Contains(released, "alice+bob") {
		t.Fatalf("released record: %s", released)
	}
	mustRun(t, "", "--home", kiosk, "log", "verify")

	// An auditor checks an approval with the stock tool.
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("ssh-keygen is not installed (packaging/deps.sh test installs openssh-client): the approval signature is not checked with it")
	}
	checkApprovalSignature(t, kiosk, "bob", crypto.NamespaceApproval, approvals[1]["reason"].(string))
}

// checkApprovalSignature checks, with ssh-keygen -Y verify as an auditor
// would, the signature an "approved" record's reason carries ("…: MESSAGE;
// signature BASE64") against the officer's enrolled key on home.
func checkApprovalSignature(t *testing.T, home, officer, namespace, reason string) {
	t.Helper()
	msg := reason[strings.Index(reason, "{") : strings.LastIndex(reason, "}")+1]
	sigB64 := reason[strings.LastIndex(reason, "signature ")+len("signature "):]
	sig, err := base64.StdEncoding.DecodeString(sigB64)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pub, _ := os.ReadFile(filepath.Join(home, "officers", officer+".pub"))
	allowed := filepath.Join(dir, "allowed_signers")
	os.WriteFile(allowed, []byte(officer+" "+strings.Join(strings.Fields(string(pub))[:2], " ")+"\n"), 0o644)
	sigFile := filepath.Join(dir, "approval.sig")
	os.WriteFile(sigFile, sig, 0o644)
	cmd := exec.Command("ssh-keygen", "-Y", "verify", "-f", allowed, "-I", officer, "-n", namespace, "-s", sigFile)
	cmd.Stdin = strings.NewReader(msg)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen -Y verify: %v\n%s", err, out)
	}
}

// records returns home's custody records, decoded.
func records(t *testing.T, home string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(mustRun(t, "", "--home", home, "log", "show", "--json").stdout), "\n") {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("log show --json: %v: %s", err, line)
		}
		out = append(out, r)
	}
	return out
}

// Two-person sealing (review.require_seal_approvals = 1 on the sender):
// the officer sealing must say who they are and cannot approve their own
// files; the same approver twice, none, or a wrong passphrase are refused
// and recorded; another officer's approval seals, and the log carries it,
// signed over the exact files, checked by ssh-keygen.
func TestTwoPersonSeal(t *testing.T) {
	crypto.OfficerWorkFactor = 10
	dir := t.TempDir()
	sender, kiosk := twoStations(t, dir)
	policy := filepath.Join(sender, "policy.toml")
	p, _ := os.ReadFile(policy)
	os.WriteFile(policy, []byte(strings.Replace(string(p), "require_seal_approvals = 0", "require_seal_approvals = 1", 1)), 0o644)
	src := filepath.Join(dir, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "report.txt"), []byte("quarterly figures\n"), 0o644)
	out := filepath.Join(dir, "out")
	os.Mkdir(out, 0o755)
	pack := func(extra ...string) result {
		return run(t, "", append(append([]string{"--home", sender, "pack", "--to", "kiosk-1", "--out", out}, extra...), src)...)
	}
	oneLineError(t, pack(), ExitUsage, "no officer is enrolled on this station")
	oneLineError(t, pack("--officer", "alice", "--passphrase-fd", passFD(t, "alice's long passphrase")), ExitUsage, "no officer alice")
	mustRun(t, "", "--home", sender, "officer", "add", "alice", "--passphrase-fd", passFD(t, "alice's long passphrase"))
	mustRun(t, "", "--home", sender, "officer", "add", "bob", "--officer", "alice", "--passphrase-fd", passFD(t, "bob's long passphrase!\nalice's long passphrase"))
	oneLineError(t, pack("--officer", "alice", "--passphrase-fd", passFD(t, "alice's long passphrase")), ExitUsage, "requires 1 approval(s) from officers other than the one sealing (alice); 0 given")
	oneLineError(t, pack("--officer", "alice", "--approver", "alice", "--passphrase-fd", passFD(t, "alice's long passphrase\nalice's long passphrase")),
		ExitUsage, "officer alice is sealing and cannot also approve")
	oneLineError(t, pack("--officer", "alice", "--approver", "bob", "--approver", "bob", "--passphrase-fd", passFD(t, "alice's long passphrase\nbob's long passphrase!\nbob's long passphrase!")),
		ExitUsage, "officer bob approved twice")
	oneLineError(t, pack("--officer", "alice", "--approver", "bob", "--passphrase-fd", passFD(t, "alice's long passphrase\nnot bob's")), ExitRejected, "wrong passphrase for officer bob")
	oneLineError(t, pack("--officer", "alice", "--approver", "bob", "--passphrase-fd", passFD(t, "alice's long passphrase")), ExitUsage, "no line left")
	if m, _ := filepath.Glob(filepath.Join(out, "*.sluice")); len(m) != 0 {
		t.Fatalf("sealed without approval: %v", m)
	}
	b := pack("--officer", "alice", "--approver", "bob", "--passphrase-fd", passFD(t, "alice's long passphrase\nbob's long passphrase!"))
	if b.code != 0 {
		t.Fatalf("pack with bob's approval: exit %d: %s", b.code, b.stderr)
	}
	var approved, sealed map[string]any
	refused := 0
	for _, r := range records(t, sender) {
		switch r["event"] {
		case "approved":
			approved = r
		case "sealed":
			sealed = r
		case "seal-failed":
			refused++
		}
	}
	if refused != 4 {
		t.Errorf("want the 4 refusals recorded (no officer enrolled, no approver, the author approving, the same approver twice), got %d", refused)
	}
	if approved == nil || approved["officer"] != "bob" || !strings.Contains(approved["reason"].(string), `"files":1`) {
		t.Fatalf("approved record: %v", approved)
	}
	// The approval comes before the bundle has an id: the sealed record
	// names the files_sha256 the approval signed, so an auditor links them.
	signed := regexp.MustCompile(`"files_sha256":"([0-9a-f]{64})"`).FindStringSubmatch(approved["reason"].(string))
	if sealed == nil || sealed["officer"] != "alice" || len(signed) != 2 ||
		sealed["reason"] != "approved by bob (the approved records before this one, files_sha256 "+signed[1]+")" {
		t.Fatalf("sealed record: %v", sealed)
	}
	mustRun(t, "", "--home", sender, "log", "verify")
	mustRun(t, "", "--home", kiosk, "receive", "--out", filepath.Join(dir, "released"), b.lastLine())
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("ssh-keygen is not installed (packaging/deps.sh test installs openssh-client): the approval signature is not checked with it")
	}
	checkApprovalSignature(t, sender, "bob", crypto.NamespaceSealApproval, approved["reason"].(string))
}
