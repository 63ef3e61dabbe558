package cli

import (
	"fmt"
	"strings"

	"sluice/app"
	"sluice/internal/safetext"
)

// runRelease: the release key's commands, run on a connected machine kept
// apart from the stations.
func runRelease(e *env, args []string) error {
	const usage = "usage: sluice release keygen --name NAME · release pack --to NAME[,NAME] --out DIR [--version V] (PACKAGE.deb | --clamav-db DIR)"
	if len(args) == 0 {
		return usagef(usage)
	}
	sub, args := args[0], args[1:]
	fs := e.flags("release " + sub)
	switch sub {
	case "keygen":
		name := fs.String("name", "", "the release key's `NAME`, as stations will list it (letters, digits, '.', '_', '-')")
		pos, err := e.parse(fs, args)
		if err != nil {
			return err
		}
		if *name == "" || len(pos) > 0 {
			return usagef("usage: sluice --home DIR release keygen --name NAME")
		}
		home, err := e.homeDir()
		if err != nil {
			return err
		}
		st, err := app.ReleaseKeygen(home, *name)
		if err != nil {
			return err
		}
		c := st.Card()
		fmt.Fprintf(e.stdout, "Created release key %s in %s\n  signing key %s\nKeep this folder off the stations. Give each station its card (sluice --home %s id > %s.card),\nto trust with: sluice trust add --role release %s.card\n",
			st.Name, st.Home, c.SigningFingerprint(), st.Home, st.Name, st.Name)
		return nil
	case "pack":
		to := fs.String("to", "", "comma-separated `NAMES` of the trusted stations to seal the update for")
		out := fs.String("out", "", "`DIR` to write the bundle into")
		version := fs.String("version", "", "the update's `VERSION`; checked against the package (or daily's database version)")
		db := fs.String("clamav-db", "", "a `DIR` of ClamAV databases (main, daily, bytecode: .cvd, .cld or .cud) to carry instead of a package")
		pos, err := e.parse(fs, args)
		if err != nil {
			return err
		}
		if *to == "" || *out == "" || (len(pos) == 1) == (*db != "") || len(pos) > 1 {
			return usagef("usage: sluice release pack --to NAME[,NAME] --out DIR [--version V] (sluice_VERSION_ARCH.deb | --clamav-db DIR)")
		}
		st, err := e.station()
		if err != nil {
			return err
		}
		req := app.ReleasePackRequest{To: strings.Split(*to, ","), OutDir: *out, Version: *version, ClamAVDB: *db}
		if len(pos) == 1 {
			req.Deb = pos[0]
		}
		sealed, err := st.ReleasePack(e.ctx, req)
		if err != nil {
			return err
		}
		u := sealed.Envelope.Update
		fmt.Fprintf(e.stdout, "Sealed update %s %s for %s, signed by release key %s\n", u.Kind, u.Version, sealed.Envelope.RecipientNames(), st.Name)
		fmt.Fprintln(e.stdout, sealed.Dir)
		return nil
	}
	return usagef(usage)
}

// runUpdate: a station applies updates signed by a trusted release key.
func runUpdate(e *env, args []string) error {
	const usage = "usage: sluice update apply [--dpkg-root DIR] [--accept-old REASON] [--officer NAME [--approver NAME]...] BUNDLE · update rollback [--dpkg-root DIR] [--officer NAME ...] · update status"
	if len(args) == 0 {
		return usagef(usage)
	}
	sub, args := args[0], args[1:]
	fs := e.flags("update " + sub)
	var root, old, acting *string
	var approvers *multiFlag
	var fd *int
	if sub == "apply" || sub == "rollback" {
		root = fs.String("dpkg-root", "", "install into `DIR` instead of / (dpkg --root: an image being prepared)")
		acting, approvers = officerFlags(fs)
		fd = fs.Int("passphrase-fd", -1, "read passphrases from file descriptor `N` (for scripts), one line each: --officer's, then each --approver's")
	}
	if sub == "apply" {
		old = fs.String("accept-old", "", "apply an update sealed longer ago than the policy's max_age, for this `REASON` (recorded)")
	}
	pos, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	dpkg := func() []string {
		if *root == "" {
			return nil
		}
		return []string{"dpkg", "--root=" + *root}
	}
	// actingStation is the station acting for the officers signed in.
	actingStation := func() (*app.Station, []*app.SignedIn, error) {
		st, err := e.station()
		if err != nil {
			return nil, nil, err
		}
		return e.signInAll(st, *acting, *approvers, *fd)
	}
	switch sub {
	case "apply":
		if len(pos) != 1 {
			return usagef("usage: sluice update apply [--dpkg-root DIR] [--accept-old REASON] BUNDLE")
		}
		st, others, err := actingStation()
		if err != nil {
			return err
		}
		a, err := st.ApplyUpdate(e.ctx, app.UpdateRequest{BundleDir: pos[0], Dpkg: dpkg(), AgeOverride: *old, Others: others})
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Updated %s to %s (was %s), from bundle %s\n", a.Kind, a.To, orFirst(a.From), a.Bundle)
		for _, w := range a.What {
			fmt.Fprintf(e.stdout, "  %s\n", safetext.Line(w))
		}
		return nil
	case "rollback":
		if len(pos) != 0 {
			return usagef("usage: sluice update rollback [--dpkg-root DIR]")
		}
		st, others, err := actingStation()
		if err != nil {
			return err
		}
		a, err := st.RollbackUpdate(e.ctx, app.RollbackRequest{Dpkg: dpkg(), Others: others})
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Rolled Sluice back from %s to %s\n", a.From, a.To)
		return nil
	case "status":
		if len(pos) != 0 {
			return usagef("usage: sluice update status")
		}
		st, err := e.station()
		if err != nil {
			return err
		}
		u, err := st.UpdateStatus()
		if err != nil {
			return err
		}
		for _, l := range u.Lines() {
			fmt.Fprintln(e.stdout, l)
		}
		return nil
	}
	return usagef(usage)
}

func orFirst(v string) string {
	if v == "" {
		return "the version first installed"
	}
	return v
}
