// Package clamtest starts a real ClamAV daemon for tests (and writes the
// databases make bench scans with), on signature
// databases written here (this machine cannot download ClamAV's): the
// EICAR test file by hash, and a pattern of Sluice's own. Tests that need
// it skip, saying so, where ClamAV is not installed (packaging/deps.sh
// test installs it).
package clamtest

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// EICAR is the anti-virus test file (www.eicar.org), which every scanner
// detects and which is harmless.
const EICAR = `X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`

// Pattern is found anywhere in a file by the test database's own body
// signature, Sluice.Test.Pattern.
const Pattern = "SLUICE-TEST-MALWARE-PATTERN"

// Signature names the test databases give.
const (
	EICARName   = "Sluice.Test.EICAR"
	PatternName = "Sluice.Test.Pattern"
)

// Database writes the test signature databases into a new folder.
func Database(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "db")
	if err := WriteDatabase(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// WriteDatabase writes the test signature databases into dir: EICAR by
// its MD5 (sluice.hdb) and Pattern anywhere in a file (sluice.ndb).
func WriteDatabase(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	sum := md5.Sum([]byte(EICAR))
	if err := os.WriteFile(filepath.Join(dir, "sluice.hdb"), []byte(fmt.Sprintf("%s:%d:%s\n", hex.EncodeToString(sum[:]), len(EICAR), EICARName)), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "sluice.ndb"), []byte(fmt.Sprintf("%s:0:*:%s\n", PatternName, hex.EncodeToString([]byte(Pattern)))), 0o644)
}

// Need skips t, saying why, when ClamAV's program is not installed.
func Need(t testing.TB, prog string) string {
	t.Helper()
	p, err := exec.LookPath(prog)
	if err != nil {
		for _, dir := range []string{"/usr/sbin", "/usr/bin"} {
			if _, err := os.Stat(filepath.Join(dir, prog)); err == nil {
				return filepath.Join(dir, prog)
			}
		}
		t.Skipf("%s is not installed: run packaging/deps.sh test (Debian's clamav and clamav-daemon) to run this test", prog)
	}
	return p
}

// Daemon is a running clamd.
type Daemon struct {
	Network, Address string
	// Database is the folder clamd reads its signatures from.
	Database string
	cmd      *exec.Cmd
}

// Stop stops the daemon (a test of a scanner that goes away).
func (d *Daemon) Stop() {
	if d.cmd.Process != nil {
		d.cmd.Process.Kill()
		d.cmd.Wait()
	}
}

// Start runs clamd on the test databases with the settings Sluice
// requires, plus extra clamd.conf lines (which may turn one off), on a
// Unix socket, or on loopback TCP when tcp is set. It stops with the test.
func Start(t testing.TB, tcp bool, extra ...string) *Daemon {
	t.Helper()
	prog := Need(t, "clamd")
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "tmp"), 0o700)
	settings := map[string]string{
		"DatabaseDirectory": Database(t), "Foreground": "yes", "LogFile": filepath.Join(dir, "clamd.log"),
		"TemporaryDirectory": filepath.Join(dir, "tmp"), "AlertExceedsMax": "yes", "AlertEncrypted": "yes",
		"AlertEncryptedArchive": "yes", "AlertEncryptedDoc": "yes", "AlertOLE2Macros": "yes", "AlertBrokenExecutables": "yes",
		"MaxFileSize": "4M", "MaxScanSize": "16M", "StreamMaxLength": "4M",
	}
	d := &Daemon{Network: "unix", Address: filepath.Join(dir, "clamd.sock")}
	if tcp {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		d.Network, d.Address = "tcp", fmt.Sprintf("127.0.0.1:%d", port)
		settings["TCPSocket"], settings["TCPAddr"] = fmt.Sprint(port), "127.0.0.1"
	} else {
		settings["LocalSocket"] = d.Address
	}
	for _, e := range extra {
		k, v, _ := strings.Cut(e, " ")
		settings[k] = v
	}
	d.Database = settings["DatabaseDirectory"]
	var conf strings.Builder
	for k, v := range settings {
		fmt.Fprintf(&conf, "%s %s\n", k, v)
	}
	cf := filepath.Join(dir, "clamd.conf")
	os.WriteFile(cf, []byte(conf.String()), 0o644)
	d.cmd = exec.Command(prog, "-c", cf)
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("start clamd: %v", err)
	}
	t.Cleanup(d.Stop)
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		c, err := net.Dial(d.Network, d.Address)
		if err == nil {
			c.Close()
			return d
		}
	}
	log, _ := os.ReadFile(filepath.Join(dir, "clamd.log"))
	t.Fatalf("clamd did not start within a minute:\n%s", log)
	return nil
}
