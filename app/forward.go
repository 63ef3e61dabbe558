package app

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"path/filepath"
	"time"

	"sluice/internal/durable"
	"sluice/internal/lockfile"
	"sluice/internal/regfile"
	"sluice/transfer/custody"
)

// forwardFile keeps, per collector, where forwarding the custody log to
// it stands (custody.ForwardCursor).
const forwardFile = "custody.log.forwarded"

// forwardTimeout bounds connecting to a collector and its silence while
// records are written: a collector that is down or stuck never holds a
// station up longer.
var forwardTimeout = 10 * time.Second

// Forwarded is what ForwardLog did.
type Forwarded struct {
	To      string
	Records int64 // sent this time
	Next    int64 // the next record to send: all before it have been sent
}

// ForwardLog sends this station's custody records that collector to has
// not had yet to it, as RFC 5424 syslog messages over TCP (tcp://HOST:PORT)
// or TLS (tls://HOST:PORT, the collector's certificate checked against the
// system's roots), framed by octet counting (custody.Forward): the SIEM of
// the site's protected network gets its own copy of every record, which
// the station can no longer change; the latest signed checkpoint follows
// the records. Where it stands is kept per collector in
// HOME/custody.log.forwarded and moved only once the collector has closed
// the connection after reading everything (confirmed), so a collector
// that is down, stalls or dies misses nothing: the next run sends it
// again. A record longer than maxMessage bytes (0: 8 KiB) is sent as its
// seq, event and hash (custody.Forward). A record already sent that is no
// longer in the log as it was is an error (custody.ErrForwardedChanged),
// and nothing more is sent.
func (s *Station) ForwardLog(ctx context.Context, to string, maxMessage int) (*Forwarded, error) {
	if maxMessage == 0 {
		maxMessage = custody.DefaultMaxMessage
	}
	if maxMessage < 1024 {
		return nil, fmt.Errorf("a collector's largest message must be at least 1024 bytes (RFC 5424 asks collectors to take 2048), not %d", maxMessage)
	}
	u, err := url.Parse(to)
	if err != nil || (u.Scheme != "tcp" && u.Scheme != "tls") || u.Host == "" || u.Port() == "" || u.Path != "" {
		return nil, fmt.Errorf("collector %q: give tcp://HOST:PORT or tls://HOST:PORT (syslog over TCP, RFC 6587; TLS, RFC 5425: usually port 6514)", to)
	}
	lock, err := lockfile.LockWithin(filepath.Join(s.Home, forwardFile+".lock"), forwardTimeout)
	if err != nil {
		return nil, fmt.Errorf("another forward of this station's custody log is running: %w", err)
	}
	defer lock.Unlock()
	cursors, err := s.forwardCursors()
	if err != nil {
		return nil, err
	}
	c := cursors[to]
	d := net.Dialer{Timeout: forwardTimeout}
	var conn net.Conn
	if u.Scheme == "tls" {
		conn, err = (&tls.Dialer{NetDialer: &d, Config: &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}}).DialContext(ctx, "tcp", u.Host)
	} else {
		conn, err = d.DialContext(ctx, "tcp", u.Host)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot reach the collector %s: %w; nothing was sent, and the next forward sends everything from record %d", to, err, c.Next)
	}
	defer conn.Close()
	w := &deadlineWriter{conn: conn}
	after, ferr := custody.Forward(ctx, s.CustodyPath, c, w, maxMessage)
	if ferr == nil && after.Next > c.Next {
		// The signed checkpoint too: the SIEM then holds the station's
		// signature over what it was sent, outside the station.
		if cp, err := custody.LatestCheckpoint(s.CustodyPath); err == nil {
			msg := custody.SyslogCheckpoint(s.Name, cp, time.Now())
			_, ferr = fmt.Fprintf(w, "%d %s", len(msg), msg)
		}
	}
	if ferr == nil {
		ferr = confirmed(conn)
	}
	out := &Forwarded{To: to, Next: c.Next}
	if ferr != nil {
		if errors.Is(ferr, custody.ErrForwardedChanged) {
			return out, fmt.Errorf("%w: %v", ErrRejected, ferr)
		}
		return out, fmt.Errorf("forward to %s: %w; nothing is counted as sent, and the next forward sends everything from record %d again", to, ferr, c.Next)
	}
	if after.Next > c.Next {
		cursors[to] = after
		if err := s.saveForwardCursors(cursors); err != nil {
			return out, err
		}
	}
	out.Records, out.Next = after.Next-c.Next, after.Next
	return out, nil
}

// confirmed ends what was sent on conn and waits for the collector to
// close its side: a collector closes only once it has read all the
// client sent, so a write the kernel took but a collector that died,
// stalled or reset never read is not counted as sent (plain syslog has
// no acknowledgements of its own).
func confirmed(conn net.Conn) error {
	type closeWriter interface{ CloseWrite() error }
	cw, ok := conn.(closeWriter)
	if !ok {
		return errors.New("the connection cannot be half-closed")
	}
	if err := cw.CloseWrite(); err != nil {
		return err
	}
	conn.SetReadDeadline(time.Now().Add(forwardTimeout))
	if _, err := io.Copy(io.Discard, conn); err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return fmt.Errorf("the collector did not close the connection within %s of the last record, so it is not known to have read them", forwardTimeout)
		}
		return fmt.Errorf("the collector did not confirm it read everything: %w", err)
	}
	return nil
}

// deadlineWriter gives every write to the collector forwardTimeout.
type deadlineWriter struct{ conn net.Conn }

func (w *deadlineWriter) Write(p []byte) (int, error) {
	w.conn.SetWriteDeadline(time.Now().Add(forwardTimeout))
	return w.conn.Write(p)
}

func (s *Station) forwardCursors() (map[string]custody.ForwardCursor, error) {
	m := map[string]custody.ForwardCursor{}
	b, err := regfile.ReadFile(filepath.Join(s.Home, forwardFile), 1<<20)
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil
	}
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil {
		return nil, fmt.Errorf("%s is damaged (%v): remove it to forward every record again", filepath.Join(s.Home, forwardFile), err)
	}
	return m, nil
}

func (s *Station) saveForwardCursors(m map[string]custody.ForwardCursor) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := durable.ReplaceFile(filepath.Join(s.Home, forwardFile), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("keep where forwarding stands: %w", err)
	}
	return nil
}
