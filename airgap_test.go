package main

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"sluice/internal/clamtest"
)

// TestMain makes this test binary the sluice program itself when the
// air-gap test runs it (SLUICE_TEST_MAIN=1): main, as built, with
// nothing of the test harness in its path.
func TestMain(m *testing.M) {
	if os.Getenv("SLUICE_TEST_MAIN") == "1" {
		os.Args = append([]string{"sluice"}, os.Args[1:]...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// networkCall matches a system call strace reports that reaches, or could
// reach, a network: an Internet socket, or anything sent to port 53.
var networkCall = regexp.MustCompile(`socket\(AF_INET6?\b|AF_INET6?, |sin6?_port=htons\(53\)`)

// TestAirGapSelfCheck runs a station's whole life, as a technician and
// officers would type it, inside a network namespace with no interfaces
// (unshare -n) and under strace: init, trust, a release key, pack,
// receive with a real clamd scanning, a signature update applied, the
// custody logs verified and reconciled. Every command must pass, and none
// may open an Internet socket or look up a name: only the diode commands
// (not run here) use the network, and clamd is reached by its Unix socket.
func TestAirGapSelfCheck(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the air-gap self-check uses Linux namespaces and strace")
	}
	for _, p := range []string{"unshare", "strace", "sigtool", "dpkg-deb"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("%s is not installed: run packaging/deps.sh test to run the air-gap self-check", p)
		}
	}
	if err := exec.Command("unshare", "-n", "true").Run(); err != nil {
		t.Skipf("cannot make a network namespace here (unshare -n: %v); it needs root, as in CI", err)
	}
	d := clamtest.Start(t, false)
	dir := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	home := func(n string) string { return filepath.Join(dir, n) }
	step, unixCalls := 0, 0
	sluice := func(stdin string, args ...string) string {
		t.Helper()
		step++
		trace := filepath.Join(dir, fmt.Sprintf("trace-%02d", step))
		cmd := exec.Command("unshare", append([]string{"-n", "--", "strace", "-f", "-qq", "-e", "trace=network", "-o", trace, "--", self}, args...)...)
		cmd.Env = append(os.Environ(), "SLUICE_TEST_MAIN=1")
		cmd.Stdin = strings.NewReader(stdin)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("sluice %s: %v\n%s", strings.Join(args, " "), err, errb.String())
		}
		tr, err := os.ReadFile(trace)
		if err != nil {
			t.Fatal(err)
		}
		unixCalls += strings.Count(string(tr), "connect(") // clamd's socket: strace did trace
		for _, line := range strings.Split(string(tr), "\n") {
			if networkCall.MatchString(line) {
				t.Fatalf("sluice %s reached for the network: %s", strings.Join(args, " "), line)
			}
		}
		return out.String()
	}
	last := func(s string) string {
		lines := strings.Split(strings.TrimSpace(s), "\n")
		return lines[len(lines)-1]
	}

	// Stations, trust and a release key.
	sluice("", "--home", home("sender"), "init", "--name", "sender-1")
	sluice("", "--home", home("kiosk"), "init", "--name", "kiosk-1")
	sluice("", "--home", home("release"), "release", "keygen", "--name", "release-2026")
	sluice(sluice("", "--home", home("kiosk"), "id"), "--home", home("sender"), "trust", "add", "-")
	sluice(sluice("", "--home", home("kiosk"), "id"), "--home", home("release"), "trust", "add", "-")
	sluice(sluice("", "--home", home("sender"), "id"), "--home", home("kiosk"), "trust", "add", "-")
	sluice(sluice("", "--home", home("release"), "id"), "--home", home("kiosk"), "trust", "add", "--role", "release", "-")

	// The kiosk's policy: scanning required, by the clamd on its socket.
	policy := sluice("", "--home", home("kiosk"), "policy", "show")
	policy = strings.Replace(policy, `mode = "off"`, `mode = "required"`, 1)
	policy = strings.Replace(policy, `clamd = ""`, fmt.Sprintf("clamd = %q", d.Address), 1)
	pf := filepath.Join(dir, "policy.toml")
	os.WriteFile(pf, []byte(policy), 0o644)
	sluice("", "--home", home("kiosk"), "policy", "install", pf)

	// A bundle sealed, received, scanned, released.
	src := filepath.Join(dir, "reports")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "week-48.txt"), []byte("all quiet\n"), 0o644)
	out := filepath.Join(dir, "usb")
	os.Mkdir(out, 0o755)
	b := last(sluice("", "--home", home("sender"), "pack", "--to", "kiosk-1", "--out", out, src))
	sluice("", "inspect", b)
	r := sluice("", "--home", home("kiosk"), "receive", "--out", filepath.Join(dir, "inbox"), b)
	if !strings.Contains(r, "scanned by clamd") {
		t.Fatalf("receive did not scan: %s", r)
	}

	// The scanner's signatures updated through a release-key bundle.
	db := filepath.Join(dir, "freshclam")
	os.Mkdir(db, 0o755)
	sum := md5.Sum([]byte("carried\n"))
	os.WriteFile(filepath.Join(db, "daily.hdb"), fmt.Appendf(nil, "%s:8:Sluice.Test.AirGap\n", hex.EncodeToString(sum[:])), 0o644)
	os.WriteFile(filepath.Join(db, "COPYING"), []byte("test\n"), 0o644)
	build := exec.Command("sigtool", "--build=daily.cud", "--unsigned", "--cvd-version=30001", "--datadir="+db)
	build.Dir, build.Stdin = db, strings.NewReader("sluice-tests\n")
	if o, err := build.CombinedOutput(); err != nil {
		t.Fatalf("sigtool: %v\n%s", err, o)
	}
	carried := filepath.Join(dir, "carried")
	os.Mkdir(carried, 0o755)
	os.Rename(filepath.Join(db, "daily.cud"), filepath.Join(carried, "daily.cud"))
	u := last(sluice("", "--home", home("release"), "release", "pack", "--to", "kiosk-1", "--out", out, "--clamav-db", carried))
	// clamd reads the databases from its own folder: the kiosk's policy
	// names it, as a technician's would.
	policy = strings.Replace(policy, `database = ""`, fmt.Sprintf("database = %q", d.Database), 1)
	os.WriteFile(pf, []byte(policy), 0o644)
	sluice("", "--home", home("kiosk"), "policy", "install", pf)
	if r := sluice("", "--home", home("kiosk"), "update", "apply", u); !strings.Contains(r, "Updated clamav-db to 30001") {
		t.Fatalf("update apply: %s", r)
	}
	sluice("", "--home", home("kiosk"), "update", "status")

	if unixCalls == 0 {
		t.Fatal("strace saw no connect at all, not even to clamd's socket: the trace proves nothing")
	}

	// The auditor's part.
	for _, h := range []string{"sender", "kiosk", "release"} {
		sluice("", "--home", home(h), "log", "verify")
	}
	sluice("", "--home", home("kiosk"), "log", "checkpoint")
	sluice("", "--home", home("kiosk"), "log", "reconcile", filepath.Join(home("sender"), "custody.log"), filepath.Join(home("kiosk"), "custody.log"))
}

// TestNetworkCallPattern holds the air-gap check's pattern to what strace
// prints for the calls it must catch, and not for a Unix socket.
func TestNetworkCallPattern(t *testing.T) {
	for line, want := range map[string]bool{
		`1234 socket(AF_INET, SOCK_DGRAM|SOCK_CLOEXEC|SOCK_NONBLOCK, IPPROTO_IP) = 3`:                      true,
		`1234 socket(AF_INET6, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_TCP) = 3`:                                 true,
		`1234 connect(3, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("10.0.0.1")}, 16) = 0`: true,
		`1234 sendto(3, "..."..., 40, 0, {sa_family=AF_INET6, sin6_port=htons(53), ...}, 28) = 40`:         true,
		`1234 socket(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK, 0) = 3`:                              false,
		`1234 connect(3, {sa_family=AF_UNIX, sun_path="/tmp/clamd.sock"}, 18) = 0`:                         false,
		`1234 socketpair(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0, [3, 4]) = 0`:                                false,
	} {
		if got := networkCall.MatchString(line); got != want {
			t.Errorf("%q: matched %v, want %v", line, got, want)
		}
	}
}
