package scan

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"
)

// Clamd talks to ClamAV's daemon. On a Unix socket it passes each file's
// descriptor (FILDES: no copy, and clamd need not be able to open the
// file itself); over TCP it streams the content (INSTREAM).
//
// clamd must alert rather than pass what it cannot scan: Sluice requires
// AlertExceedsMax, AlertEncrypted, AlertEncryptedArchive,
// AlertEncryptedDoc, AlertOLE2Macros and AlertBrokenExecutables set to
// yes. clamd does not report its settings; Check proves the one it can
// (an encrypted ZIP must alert), and a detection named
// Heuristics.Limits.Exceeded or Heuristics.Encrypted is not-scanned.
type Clamd struct {
	Network string // "unix" or "tcp"
	Address string
	// Timeout bounds one file's scan (connection, transfer and verdict).
	Timeout time.Duration
}

// Name implements Engine.
func (c *Clamd) Name() string { return "clamd" }

func (c *Clamd) dial(ctx context.Context) (net.Conn, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	conn, err := d.DialContext(ctx, c.Network, c.Address)
	if err != nil {
		return nil, fmt.Errorf("clamd at %s is not answering (%v); start it (systemctl start clamav-daemon) or fix the policy's scan settings", c.Address, err)
	}
	dl := time.Now().Add(c.timeout())
	if d, ok := ctx.Deadline(); ok && d.Before(dl) {
		dl = d
	}
	conn.SetDeadline(dl)
	return conn, nil
}

func (c *Clamd) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return 120 * time.Second
}

// command sends a z-command and returns the reply without its NUL.
func (c *Clamd) command(ctx context.Context, cmd string) (string, error) {
	conn, err := c.dial(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("z" + cmd + "\x00")); err != nil {
		return "", fmt.Errorf("clamd: %w", err)
	}
	return readReply(conn)
}

func readReply(conn net.Conn) (string, error) {
	b, err := bufio.NewReader(io.LimitReader(conn, 64<<10)).ReadString(0)
	if err != nil && !(errors.Is(err, io.EOF) && b != "") {
		return "", fmt.Errorf("clamd did not answer: %w", err)
	}
	return strings.TrimRight(b, "\x00\n"), nil
}

// Version implements Engine: "ClamAV 1.4.6/27100/Sun Nov 29 09:00:00 2026"
// (engine/daily database/its date), as clamd says it.
func (c *Clamd) Version(ctx context.Context) (string, error) {
	v, err := c.command(ctx, "VERSION")
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(v, "ClamAV ") {
		return "", fmt.Errorf("%s does not answer as clamd does (%q)", c.Address, truncate(v))
	}
	return v, nil
}

// Reload tells clamd to load its signature databases again (RELOAD,
// clamd(8)); clamd answers at once and loads in the background, so a
// caller that needs the new databases in force polls Version.
func (c *Clamd) Reload(ctx context.Context) error {
	v, err := c.command(ctx, "RELOAD")
	if err != nil {
		return err
	}
	if v != "RELOADING" {
		return fmt.Errorf("clamd answered RELOAD with %q", truncate(v))
	}
	return nil
}

// Scan implements Engine.
func (c *Clamd) Scan(ctx context.Context, path string, f *os.File) Result {
	info, err := f.Stat()
	if err != nil {
		return failed("clamd", err, "%v", err)
	}
	if info.Size() > MaxClamAV {
		return notScanned("clamd", CauseOverLimit, "larger than ClamAV's 2 GB limit")
	}
	conn, err := c.dial(ctx)
	if err != nil {
		return failed("clamd", err, "%v", err)
	}
	defer conn.Close()
	if uc, ok := conn.(*net.UnixConn); ok {
		err = sendFD(uc, f)
	} else {
		err = sendStream(conn, f)
	}
	if err != nil {
		return failed("clamd", err, "sending the file to clamd failed: %v", err)
	}
	reply, err := readReply(conn)
	if err != nil {
		return failed("clamd", err, "%v", err)
	}
	return clamVerdict("clamd", reply)
}

func sendStream(conn net.Conn, f *os.File) error {
	if _, err := conn.Write([]byte("zINSTREAM\x00")); err != nil {
		return err
	}
	buf := make([]byte, 4+256<<10)
	for {
		n, err := f.Read(buf[4:])
		if n > 0 {
			binary.BigEndian.PutUint32(buf, uint32(n))
			if _, werr := conn.Write(buf[:4+n]); werr != nil {
				return werr // clamd closes the connection past StreamMaxLength; its reply says so
			}
		}
		if errors.Is(err, io.EOF) {
			_, err := conn.Write([]byte{0, 0, 0, 0})
			return err
		}
		if err != nil {
			return err
		}
	}
}

// clamVerdict reads one of clamd's or clamscan's verdict lines ("stream:
// OK", "fd[10]: Eicar FOUND", "/x: Heuristics.Limits.Exceeded.MaxFileSize
// FOUND", "INSTREAM size limit exceeded. ERROR", "… ERROR").
func clamVerdict(engine, reply string) Result {
	_, rest, ok := strings.Cut(reply, ": ")
	if !ok {
		rest = reply
	}
	switch {
	case rest == "OK":
		return Result{Engine: engine, Verdict: Clean}
	case strings.HasSuffix(rest, " FOUND"):
		sig := strings.TrimSuffix(rest, " FOUND")
		switch {
		case sig == "" || sig == "(null)":
			return notScanned(engine, CauseEngineError, "ClamAV reported a detection without a name")
		case strings.HasPrefix(sig, "Heuristics.Limits.Exceeded"):
			return notScanned(engine, CauseOverLimit, "over one of ClamAV's limits (%s)", sig)
		case strings.HasPrefix(sig, "Heuristics.Encrypted"):
			return notScanned(engine, CauseEncrypted, "encrypted content ClamAV cannot scan (%s)", sig)
		}
		return Result{Engine: engine, Verdict: Infected, Signature: sig}
	case strings.Contains(rest, "size limit exceeded"):
		return notScanned(engine, CauseOverLimit, "larger than clamd's StreamMaxLength")
	case strings.HasSuffix(rest, "ERROR"):
		return notScanned(engine, CauseEngineError, "ClamAV error: %s", truncate(strings.TrimSpace(strings.TrimSuffix(rest, "ERROR"))))
	}
	return notScanned(engine, CauseEngineError, "ClamAV's answer is not understood: %q", truncate(reply))
}

// Check proves clamd can scan and alerts on what it cannot: it answers
// VERSION, and an encrypted ZIP (built here) comes back as a
// Heuristics.Encrypted detection, not OK. A clamd that says OK to it has
// AlertEncryptedArchive off, and would say OK to what it skipped.
func (c *Clamd) Check(ctx context.Context, tmp string) (string, error) {
	v, err := c.Version(ctx)
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp(tmp, ".sluice-probe-*.zip")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if _, err := f.Write(encryptedZip()); err != nil {
		return "", err
	}
	f.Seek(0, io.SeekStart)
	r := c.Scan(ctx, f.Name(), f)
	if r.Verdict != NotScanned || !strings.Contains(r.Why, "Heuristics.Encrypted") {
		return "", fmt.Errorf("clamd at %s passes content it cannot scan (an encrypted ZIP came back %s); set AlertExceedsMax, AlertEncrypted, AlertEncryptedArchive, AlertEncryptedDoc, AlertOLE2Macros and AlertBrokenExecutables to yes in clamd.conf and restart it", c.Address, r)
	}
	return v, nil
}

// encryptedZip is a ZIP of one stored member flagged encrypted, with the
// 12-byte encryption header and CRC ClamAV expects to see.
func encryptedZip() []byte {
	var b bytes.Buffer
	data := []byte("0123456789ab" + "sluice probe")
	name := "probe.txt"
	le := binary.LittleEndian
	w16 := func(v uint16) { binary.Write(&b, le, v) }
	w32 := func(v uint32) { binary.Write(&b, le, v) }
	w32(0x04034b50)
	w16(20)
	w16(1) // encrypted
	w16(0)
	w16(0)
	w16(0)
	w32(0xdeadbeef)
	w32(uint32(len(data)))
	w32(uint32(len(data) - 12))
	w16(uint16(len(name)))
	w16(0)
	b.WriteString(name)
	b.Write(data)
	cd := b.Len()
	w32(0x02014b50)
	w16(20)
	w16(20)
	w16(1)
	w16(0)
	w16(0)
	w16(0)
	w32(0xdeadbeef)
	w32(uint32(len(data)))
	w32(uint32(len(data) - 12))
	w16(uint16(len(name)))
	w16(0)
	w16(0)
	w16(0)
	w16(0)
	w32(0)
	w32(0)
	b.WriteString(name)
	end := b.Len()
	w32(0x06054b50)
	w16(0)
	w16(0)
	w16(1)
	w16(1)
	w32(uint32(end - cd))
	w32(uint32(cd))
	w16(0)
	return b.Bytes()
}

func truncate(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}
