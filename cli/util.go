package cli

import (
	"bufio"
	"context"
	"errors"
	"strings"

	"golang.org/x/crypto/ssh"
)

func fingerprint(authorizedKey string) string {
	k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(authorizedKey))
	if err != nil {
		return "unparsable key"
	}
	return ssh.FingerprintSHA256(k)
}

// readLine returns the next line of stdin without its newline, or an error
// at the end of input or when ctx is done. Lines are read by one goroutine
// started on first use, so a cancelled command does not hang on stdin.
func (e *env) readLine(ctx context.Context) (string, error) {
	e.linesOnce.Do(func() {
		e.lines = make(chan string)
		go func() {
			defer close(e.lines)
			sc := bufio.NewScanner(e.stdin)
			for sc.Scan() {
				e.lines <- strings.TrimSpace(sc.Text())
			}
		}()
	})
	select {
	case <-ctx.Done():
		return "", ctx.Err()
	case l, ok := <-e.lines:
		if !ok {
			return "", errors.New("no answer: end of input")
		}
		return l, nil
	}
}

// multiFlag is a flag given once per value (--approver alice --approver bob).
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
