package cli

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"

	"sluice/app"
	"sluice/internal/safetext"
)

func runOfficer(e *env, args []string) error {
	fs := e.flags("officer")
	fd := fs.Int("passphrase-fd", -1, "read passphrases from file descriptor `N` (for scripts), one line each: the new officer's (add), then --officer's, then each --approver's; else they are asked on the terminal")
	acting, approvers := officerFlags(fs)
	pos, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	st, err := e.station()
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 1 && pos[0] == "list":
		os, err := st.Officers()
		if err != nil {
			return err
		}
		if len(os) == 0 {
			fmt.Fprintln(e.stdout, "No officer is enrolled: decisions are recorded under the OS user, without signatures.")
		}
		for _, o := range os {
			fmt.Fprintf(e.stdout, "%s  %s\n", o.Name, o.Fingerprint)
		}
		return nil
	case len(pos) == 2 && pos[0] == "add":
		pass, err := e.passphrase(*fd, "New passphrase for officer "+pos[1], true)
		if err != nil {
			return err
		}
		st, others, err := e.signInAll(st, *acting, *approvers, *fd)
		if err != nil {
			return err
		}
		o, err := st.AddOfficer(pos[1], pass, others...)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Enrolled officer %s, signing key %s\n", o.Name, o.Fingerprint)
		return nil
	case len(pos) == 2 && pos[0] == "remove":
		st, others, err := e.signInAll(st, *acting, *approvers, *fd)
		if err != nil {
			return err
		}
		if err := st.RemoveOfficer(pos[1], others...); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Removed officer %s; their approvals no longer count\n", safetext.Line(pos[1]))
		return nil
	}
	return usagef("usage: sluice officer add NAME [--officer NAME [--approver NAME]...] [--passphrase-fd N] · officer list · officer remove NAME [--officer NAME [--approver NAME]...]")
}

// officerFlags are the flags of a change made under the two-person rules:
// the officer acting and the others approving.
func officerFlags(fs *flag.FlagSet) (acting *string, approvers *multiFlag) {
	acting = fs.String("officer", "", "the officer making the change, signed in with their passphrase; needed once officers are enrolled")
	approvers = &multiFlag{}
	fs.Var(approvers, "approver", "another officer approving, signed in with their passphrase, when the two-person rules need one; repeat for each")
	return acting, approvers
}

// signInAll signs in the officer acting (none: the station as it is) and
// the approvers, passphrases in that order, and returns the station
// acting for the first.
func (e *env) signInAll(st *app.Station, acting string, approvers []string, fd int) (*app.Station, []*app.SignedIn, error) {
	if acting == "" {
		if len(approvers) > 0 {
			return nil, nil, usagef("--approver without --officer: say who makes the change")
		}
		return st, nil, nil
	}
	st, err := e.signIn(st, acting, fd)
	if err != nil {
		return nil, nil, err
	}
	var others []*app.SignedIn
	for _, name := range approvers {
		pass, err := e.passphrase(fd, "Passphrase of approving officer "+name, false)
		if err != nil {
			return nil, nil, err
		}
		o, err := st.SignIn(name, pass)
		if err != nil {
			return nil, nil, err
		}
		others = append(others, o)
	}
	return st, others, nil
}

// passphrase reads an officer's passphrase from file descriptor fd, or
// from the terminal without echo (twice when confirm), never from an
// argument or the environment.
func (e *env) passphrase(fd int, prompt string, confirm bool) ([]byte, error) {
	if fd >= 0 {
		// One line per passphrase, in the order they are asked for.
		r := e.passFDs[fd]
		if r == nil {
			// A copy of the descriptor, closed when the command ends: the
			// caller's stays theirs (an *os.File on their number would
			// close it, or a number reused since, when collected).
			dup, err := dupFD(fd)
			if err != nil {
				return nil, usagef("--passphrase-fd %d is not an open file descriptor", fd)
			}
			f := os.NewFile(uintptr(dup), "passphrase")
			e.closers = append(e.closers, f)
			r = bufio.NewReader(io.LimitReader(f, 64<<10))
			if e.passFDs == nil {
				e.passFDs = map[int]*bufio.Reader{}
			}
			e.passFDs[fd] = r
		}
		line, err := r.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read the passphrase from descriptor %d: %w", fd, err)
		}
		if len(line) == 0 {
			return nil, usagef("descriptor %d has no line left for: %s (give one line per passphrase, in the order asked)", fd, prompt)
		}
		return bytes.TrimRight(line, "\r\n"), nil
	}
	in, ok := e.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(in.Fd())) {
		return nil, usagef("no terminal to ask the passphrase on: give it on a file descriptor with --passphrase-fd N (never as an argument or in the environment)")
	}
	fmt.Fprintf(e.stderr, "%s: ", prompt)
	p, err := term.ReadPassword(int(in.Fd()))
	fmt.Fprintln(e.stderr)
	if err != nil {
		return nil, err
	}
	if confirm {
		fmt.Fprint(e.stderr, "Again: ")
		again, err := term.ReadPassword(int(in.Fd()))
		fmt.Fprintln(e.stderr)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(p, again) {
			return nil, errors.New("the passphrases differ; try again")
		}
	}
	return p, nil
}

// signIn unlocks officer name's key (passphrase from fd or the terminal)
// and returns the station acting for them.
func (e *env) signIn(st *app.Station, name string, fd int) (*app.Station, error) {
	pass, err := e.passphrase(fd, "Passphrase of officer "+name, false)
	if err != nil {
		return nil, err
	}
	o, err := st.SignIn(name, pass)
	if err != nil {
		return nil, err
	}
	return st.AsOfficer(o), nil
}
