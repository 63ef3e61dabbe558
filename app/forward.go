package app

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
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
// the station can no longer change. Where it stands is kept per collector
// in HOME/custody.log.forwarded and moved only past what the collector
// took, so a collector that is down misses nothing: the next run sends it
// all. A record already sent that is no longer in the log as it was is an
// error (custody.ErrForwardedChanged), and nothing more is sent.
func (s *Station) ForwardLog(ctx context.Context, to string) (*Forwarded, error) {
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
	w := &deadlineWriter{conn: conn}
	after, ferr := custody.Forward(ctx, s.CustodyPath, c, w)
	cerr := conn.Close()
	if ferr == nil && cerr != nil {
		ferr = fmt.Errorf("collector %s: %w", to, cerr)
	}
	if after.Next > c.Next {
		cursors[to] = after
		if err := s.saveForwardCursors(cursors); err != nil {
			return nil, errors.Join(ferr, err)
		}
	}
	out := &Forwarded{To: to, Records: after.Next - c.Next, Next: after.Next}
	if ferr != nil {
		if errors.Is(ferr, custody.ErrForwardedChanged) {
			return out, fmt.Errorf("%w: %v", ErrRejected, ferr)
		}
		return out, fmt.Errorf("forward to %s stopped after %d records: %w; the next forward goes on from record %d", to, out.Records, ferr, after.Next)
	}
	return out, nil
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
