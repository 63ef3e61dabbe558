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
	"testing"
	"time"

	"sluice/internal/lockfile"
	"sluice/transfer/custody"
)

// rsyslog is a real rsyslogd listening on a loopback TCP port, writing
// each message it gets as "HOSTNAME MSGID MSG" to a file.
type rsyslog struct {
	addr, out, conf, dir string
	cmd                  *exec.Cmd
}

func startRsyslog(t *testing.T, port int) *rsyslog {
	t.Helper()
	bin, err := exec.LookPath("rsyslogd")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/rsyslogd"); serr != nil {
			t.Skip("rsyslogd is not installed: run packaging/deps.sh test (Debian's rsyslog) to test forwarding to a SIEM's collector")
		}
		bin = "/usr/sbin/rsyslogd"
	}
	r := &rsyslog{dir: t.TempDir()}
	if port == 0 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	r.addr = fmt.Sprintf("127.0.0.1:%d", port)
	r.out = filepath.Join(r.dir, "out.log")
	r.conf = filepath.Join(r.dir, "rsyslog.conf")
	// maxMessageSize: a record may be 64 KiB; rsyslog's default is 8 KiB.
	conf := fmt.Sprintf(`global(workDirectory=%q maxMessageSize="128k")
module(load="imtcp")
template(name="raw" type="string" string="%%hostname%% %%msgid%% %%msg%%\n")
ruleset(name="sluice") { action(type="omfile" file=%q template="raw") }
input(type="imtcp" port="%d" address="127.0.0.1" ruleset="sluice")
`, r.dir, r.out, port)
	if err := os.WriteFile(r.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	r.cmd = exec.Command(bin, "-n", "-f", r.conf, "-i", filepath.Join(r.dir, "pid"))
	r.cmd.Stderr = os.Stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.stop)
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.Dial("tcp", r.addr); err == nil {
			c.Close()
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("rsyslogd did not listen on %s within 10 s", r.addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (r *rsyslog) stop() {
	if r.cmd.Process != nil {
		r.cmd.Process.Kill()
		r.cmd.Wait()
	}
}

// lines waits until the collector has written n lines, and returns them.
func (r *rsyslog) lines(t *testing.T, n int) []string {
	t.Helper()
	var got []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		b, _ := os.ReadFile(r.out)
		got = strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		if len(b) == 0 {
			got = nil
		}
		if len(got) >= n {
			break
		}
	}
	if len(got) != n {
		t.Fatalf("the collector has %d lines, want %d", len(got), n)
	}
	return got
}

// The custody log forwarded to a real rsyslog: every record arrives once,
// as logged (the SIEM can hash it to the log's leaf), tagged with its
// station and event; a collector that is down misses nothing (the next
// forward sends it); a record changed after it was sent stops forwarding.
func TestForwardLogToRsyslog(t *testing.T) {
	sender, kiosk := pair(t, false)
	sealed := pack(t, sender, "kiosk-1", stage(t, map[string]string{"a.txt": "alpha"}))
	if _, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	r := startRsyslog(t, 0)
	to := "tcp://" + r.addr
	ctx := context.Background()
	f, err := kiosk.ForwardLog(ctx, to, 0)
	if err != nil {
		t.Fatal(err)
	}
	recs := readLogLines(t, kiosk)
	if f.Records != int64(len(recs)) || f.Next != int64(len(recs)) {
		t.Fatalf("forwarded %+v of %d records", f, len(recs))
	}
	got := r.lines(t, len(recs)+1)
	if cp := got[len(got)-1]; !strings.HasPrefix(cp, kiosk.Name+" checkpoint {\"checkpoint\":\"sluice-custody/kiosk-1\\n") {
		t.Fatalf("the last message is not the signed checkpoint: %s", cp)
	}
	got = got[:len(got)-1]
	for i, line := range got {
		rec, err := custody.ParseRecord([]byte(recs[i]))
		if err != nil {
			t.Fatal(err)
		}
		if want := rec.Station + " " + rec.Event + " " + recs[i]; line != want {
			t.Fatalf("collector line %d:\n%s\nwant\n%s", i, line, want)
		}
	}
	if f, err := kiosk.ForwardLog(ctx, to, 0); err != nil || f.Records != 0 {
		t.Fatalf("forwarding again: %+v, %v", f, err)
	}

	// The collector down: nothing is lost.
	r.stop()
	more := pack(t, sender, "kiosk-1", stage(t, map[string]string{"b.txt": "beta"}))
	if _, err := kiosk.Receive(ctx, ReceiveRequest{BundleDir: more.Dir, OutDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	if _, err := kiosk.ForwardLog(ctx, to, 0); err == nil || !strings.Contains(err.Error(), "cannot reach the collector") {
		t.Fatalf("forwarding to a collector that is down: %v", err)
	}
	port := r.addr[strings.LastIndex(r.addr, ":")+1:]
	var p int
	fmt.Sscan(port, &p)
	r2 := startRsyslog(t, p)
	f, err = kiosk.ForwardLog(ctx, to, 0)
	if err != nil {
		t.Fatal(err)
	}
	all := readLogLines(t, kiosk)
	if f.Records != int64(len(all)-len(recs)) {
		t.Fatalf("after the collector came back: %+v, want the %d records it missed", f, len(all)-len(recs))
	}
	got = r2.lines(t, len(all)-len(recs)+1)
	if !strings.HasSuffix(got[len(got)-2], all[len(all)-1]) {
		t.Fatalf("the last record the collector got is not the log's last")
	}

	// A record already sent, changed: forwarding stops, saying so.
	b, _ := os.ReadFile(kiosk.CustodyPath)
	last := all[len(all)-1]
	changed := strings.Replace(string(b), last, strings.Replace(last, `"outcome":"ok"`, `"outcome":"ko"`, 1), 1)
	os.WriteFile(kiosk.CustodyPath, []byte(changed), 0o600)
	if _, err := kiosk.ForwardLog(ctx, to, 0); !errors.Is(err, ErrRejected) || !errors.Is(err, custody.ErrForwardedChanged) && !strings.Contains(err.Error(), "changed under records already forwarded") {
		t.Fatalf("forwarding a log changed under sent records: %v", err)
	}
}

func readLogLines(t *testing.T, s *Station) []string {
	t.Helper()
	var out []string
	if err := custody.Each(s.CustodyPath, func(line []byte, _ custody.Record) error {
		out = append(out, string(line))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// A collector given other than tcp:// or tls://HOST:PORT is refused, saying
// what to give.
func TestForwardLogCollectorForm(t *testing.T) {
	_, kiosk := pair(t, false)
	for _, to := range []string{"udp://127.0.0.1:514", "127.0.0.1:514", "tcp://127.0.0.1", "tcp://:514/x"} {
		if _, err := kiosk.ForwardLog(context.Background(), to, 0); err == nil || !strings.Contains(err.Error(), "give tcp://HOST:PORT") {
			t.Errorf("%q: %v", to, err)
		}
	}
}

// A record longer than the collector takes is not sent whole (the
// collector would split it, and read what follows the split as a message
// of its own, from whatever host it names): a short record with its seq,
// event and leaf hash stands for it.
func TestForwardLogOversizeRecord(t *testing.T) {
	sender, kiosk := pair(t, false)
	sealed := pack(t, sender, "kiosk-1", stage(t, map[string]string{"a.txt": "alpha"}))
	if _, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	forged := strings.Repeat("x", 2000) + "Dec  1 06:10:20 evilhost forged: a line of its own"
	if err := kiosk.record(custody.Record{Event: custody.EventSettingsChanged, Outcome: "ok", Reason: forged}); err != nil {
		t.Fatal(err)
	}
	r := startRsyslog(t, 0)
	if _, err := kiosk.ForwardLog(context.Background(), "tcp://"+r.addr, 1024); err != nil {
		t.Fatal(err)
	}
	recs := readLogLines(t, kiosk)
	got := r.lines(t, len(recs)+1)
	for i, line := range got[:len(recs)] {
		if strings.Contains(line, "evilhost") {
			t.Fatalf("line %d carries the long record's text: %s", i, line)
		}
	}
	last := got[len(recs)-1]
	if !strings.Contains(last, `"leaf_sha256":`) || !strings.Contains(last, "longer than the 1024 bytes") {
		t.Fatalf("the long record's stand-in: %s", last)
	}
	if _, err := kiosk.ForwardLog(context.Background(), "tcp://"+r.addr, 100); err == nil {
		t.Errorf("a collector taking 100 bytes was accepted")
	}
}

// A collector that takes the bytes but never shows it read them (it
// stalls, or died with the data in its socket) does not count as having
// them: the cursor stays, and the next forward sends them again.
func TestForwardLogUnconfirmed(t *testing.T) {
	_, kiosk := pair(t, false)
	old := forwardTimeout
	forwardTimeout = 500 * time.Millisecond
	defer func() { forwardTimeout = old }()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	held := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held <- c // never read, never closed
		}
	}()
	to := "tcp://" + l.Addr().String()
	f, err := kiosk.ForwardLog(context.Background(), to, 0)
	if err == nil || !strings.Contains(err.Error(), "not known to have read them") || f.Records != 0 {
		t.Fatalf("a collector that never read: %+v, %v", f, err)
	}
	cursors, err := kiosk.forwardCursors()
	if err != nil || cursors[to].Next != 0 {
		t.Fatalf("the cursor moved: %+v %v", cursors, err)
	}
}

// Forwarding reads only what is durable: it waits for a writer's append
// (the log's lock) to end, as a second writer would, and says so if it
// cannot.
func TestForwardLogWaitsForTheWriter(t *testing.T) {
	_, kiosk := pair(t, false)
	r := startRsyslog(t, 0)
	l, err := lockfile.TryLock(kiosk.CustodyPath + ".lock")
	if err != nil {
		t.Fatal(err)
	}
	old := custody.LockWait
	custody.LockWait = 100 * time.Millisecond
	_, ferr := kiosk.ForwardLog(context.Background(), "tcp://"+r.addr, 0)
	custody.LockWait = old
	l.Unlock()
	if !errors.Is(ferr, custody.ErrLocked) {
		t.Fatalf("forwarding while a writer holds the log: %v", ferr)
	}
	if _, err := kiosk.ForwardLog(context.Background(), "tcp://"+r.addr, 0); err != nil {
		t.Fatalf("once it is done: %v", err)
	}
}
