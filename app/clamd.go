package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"sluice/internal/durable"
	"sluice/internal/lockfile"
	"sluice/transfer/custody"
)

// ClamdStation is the value of scan.clamd that has the station run its
// own clamd, on a socket in its home (HOME/clamd/clamd.sock) that only its
// user can reach, with the settings Sluice requires written by Sluice.
// It is started by the first scan that finds it not running and keeps
// running for the next ones (its process id in HOME/clamd/clamd.pid).
const ClamdStation = "station"

// ClamdSettings are the clamd.conf settings Sluice requires (the bench's
// clamd uses them too): ClamAV must
// alert on what it cannot scan instead of saying OK (clamd.conf(5);
// ../shared/ANCHORS.md 1.3), so Sluice can call such a file not-scanned.
var ClamdSettings = []string{"AlertExceedsMax yes", "AlertEncrypted yes", "AlertEncryptedArchive yes",
	"AlertEncryptedDoc yes", "AlertOLE2Macros yes", "AlertBrokenExecutables yes"}

// clamdStartTime bounds how long a starting clamd may take to load its
// signatures (a full ClamAV database takes tens of seconds).
var clamdStartTime = 3 * time.Minute

// stationClamd returns the socket of the station's own clamd, starting it
// first when it does not answer.
func (s *Station) stationClamd(ctx context.Context) (string, error) {
	dir := filepath.Join(s.Home, "clamd")
	sock := filepath.Join(dir, "clamd.sock")
	if answers(sock) {
		return sock, nil
	}
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o700); err != nil {
		return "", fmt.Errorf("start the station's clamd: %w", err)
	}
	lock, err := lockfile.LockWithin(filepath.Join(dir, "start.lock"), clamdStartTime)
	if err != nil {
		return "", fmt.Errorf("start the station's clamd: %w", err)
	}
	defer lock.Unlock()
	if answers(sock) { // another process started it meanwhile
		return sock, nil
	}
	prog, err := exec.LookPath("clamd")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/clamd"); serr != nil {
			return "", errors.New("scan.clamd is \"station\" but clamd is not installed; install clamav-daemon")
		}
		prog = "/usr/sbin/clamd"
	}
	db := s.Policy.Scan.Database
	if db == "" {
		db = clamDatabases
	}
	logFile := filepath.Join(dir, "clamd.log")
	conf := append([]string{"# Written by Sluice for this station's own clamd; rewritten at each start.",
		"LocalSocket " + sock, "LocalSocketMode 600", "DatabaseDirectory " + db, "TemporaryDirectory " + filepath.Join(dir, "tmp"),
		"LogFile " + logFile, "PidFile " + filepath.Join(dir, "clamd.pid"), "Foreground yes"}, ClamdSettings...)
	if err := durable.ReplaceFile(filepath.Join(dir, "clamd.conf"), []byte(strings.Join(conf, "\n")+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("start the station's clamd: %w", err)
	}
	os.Remove(sock) // left by a clamd that was killed
	cmd := exec.Command(prog, "-c", filepath.Join(dir, "clamd.conf"))
	detach(cmd) // it outlives this process, for the next receive
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start the station's clamd: %w", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	deadline := time.NewTimer(clamdStartTime)
	defer deadline.Stop()
	for !answers(sock) {
		select {
		case <-exited:
			return "", fmt.Errorf("the station's clamd stopped while starting: %s (see %s)", lastLine(logFile), logFile)
		case <-deadline.C:
			cmd.Process.Kill()
			return "", fmt.Errorf("the station's clamd did not answer within %s: %s (see %s)", clamdStartTime, lastLine(logFile), logFile)
		case <-ctx.Done():
			cmd.Process.Kill()
			return "", context.Cause(ctx)
		case <-time.After(100 * time.Millisecond):
		}
	}
	if err := s.record(custody.Record{Event: custody.EventSettingsChanged, Outcome: "ok",
		Reason: fmt.Sprintf("the station started its own clamd (process %d) on %s, signatures from %s", cmd.Process.Pid, sock, db)}); err != nil {
		return "", err
	}
	return sock, nil
}

// answers says whether a clamd listens on the Unix socket sock.
func answers(sock string) bool {
	c, err := net.DialTimeout("unix", sock, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// lastLine is the last line of a log file, or "" when there is none.
func lastLine(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "no log"
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
