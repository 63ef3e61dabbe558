package cli

import (
	"fmt"
	"io"
	"text/tabwriter"

	"sluice/app"
	"sluice/crypto"
	"sluice/internal/safetext"
	"sluice/internal/textfile"
)

func runInit(e *env, args []string) error {
	fs := e.flags("init")
	name := fs.String("name", "", "this station's `NAME` (letters, digits, '.', '_', '-')")
	pq := fs.Bool("pq", false, "use a post-quantum hybrid (ML-KEM-768 + X25519) age identity")
	pos, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	if *name == "" || len(pos) > 0 {
		return usagef("usage: sluice init --name NAME [--pq]")
	}
	home, err := e.homeDir()
	if err != nil {
		return err
	}
	st, err := app.Init(home, *name, *pq)
	if err != nil {
		return err
	}
	c := st.Card()
	fmt.Fprintf(e.stdout, "Created station %s in %s\n  signing key %s\n  recipient   %s\nGive other stations its card: sluice id > %s.card\n",
		st.Name, st.Home, c.SigningFingerprint(), c.RecipientFingerprint(), st.Name)
	if st.InitNote != "" {
		fmt.Fprintf(e.stderr, "sluice: note: %s\n", st.InitNote)
	}
	return nil
}

func runID(e *env, args []string) error {
	fs := e.flags("id")
	pos, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("usage: sluice id")
	}
	st, err := e.station()
	if err != nil {
		return err
	}
	_, err = e.stdout.Write(st.Card().Marshal())
	return err
}

func runTrust(e *env, args []string) error {
	if len(args) == 0 {
		return usagef("usage: sluice trust add FILE|- · trust list · trust remove NAME")
	}
	sub, args := args[0], args[1:]
	fs := e.flags("trust " + sub)
	var role *string
	if sub == "add" {
		role = fs.String("role", "", "\"release\" to trust a release key's card for updates (and nothing else); none for a station's")
	}
	pos, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	switch sub {
	case "add":
		if len(pos) != 1 || (*role != "" && *role != crypto.RoleRelease) {
			return usagef("usage: sluice trust add [--role release] FILE (or - for standard input)")
		}
		st, err := e.station()
		if err != nil {
			return err
		}
		var text []byte
		if pos[0] == "-" {
			text, err = io.ReadAll(io.LimitReader(e.stdin, crypto.MaxCardSize+1))
		} else {
			text, err = textfile.ReadFile(pos[0], crypto.MaxCardSize)
		}
		if err != nil {
			return fmt.Errorf("read card: %w", err)
		}
		add := st.TrustAdd
		if *role == crypto.RoleRelease {
			add = st.TrustAddRelease
		}
		c, err := add(text)
		if err != nil {
			return err
		}
		if c.Role == crypto.RoleRelease {
			fmt.Fprintf(e.stdout, "Trusted release key %s for updates only\n  signing key %s\n", c.Name, c.SigningFingerprint())
			return nil
		}
		fmt.Fprintf(e.stdout, "Trusted %s\n  signing key %s\n  recipient   %s\n", c.Name, c.SigningFingerprint(), c.RecipientFingerprint())
	case "list":
		if len(pos) != 0 {
			return usagef("usage: sluice trust list")
		}
		st, err := e.station()
		if err != nil {
			return err
		}
		cards, err := st.TrustList()
		if err != nil {
			return err
		}
		if len(cards) == 0 {
			fmt.Fprintln(e.stdout, "No trusted stations. Add one with: sluice trust add CARD")
			return nil
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLE\tSIGNING KEY\tENCRYPTION")
		for _, c := range cards {
			kind := "X25519"
			if crypto.IsPostQuantum(c.Recipient) {
				kind = "ML-KEM-768+X25519"
			}
			role := "station"
			if c.Role == crypto.RoleRelease {
				role = "release (updates only)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Name, role, c.SigningFingerprint(), kind)
		}
		return tw.Flush()
	case "remove":
		if len(pos) != 1 {
			return usagef("usage: sluice trust remove NAME")
		}
		st, err := e.station()
		if err != nil {
			return err
		}
		if err := st.TrustRemove(pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "No longer trusting %s\n", safetext.Line(pos[0]))
	default:
		return usagef("unknown trust command %q: use add, list or remove", sub)
	}
	return nil
}
