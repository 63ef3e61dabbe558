package cli

import (
	"fmt"
	"strings"

	"github.com/dustin/go-humanize"

	"sluice/app"
	"sluice/internal/regfile"
	"sluice/internal/safetext"
)

// maxHeldShown bounds the held files printed by receive and review show
// without --all.
const maxHeldShown = 20

func runReview(e *env, args []string) error {
	fs := e.flags("review")
	partial := fs.Bool("partial", false, "release only the files that passed; the held ones stay in this station's review folder (the policy must allow it)")
	note := fs.String("note", "", "why the officer decided so, for the custody log")
	reason := fs.String("reason", "", "why the bundle is rejected, for the custody log (review reject)")
	all := fs.Bool("all", false, "show every held file (review show)")
	officer := fs.String("officer", "", "the officer approving, releasing or rejecting, signed in with their passphrase (asked on the terminal); needed once officers are enrolled")
	fd := fs.Int("passphrase-fd", -1, "read the officer's passphrase from file descriptor `N` (for scripts)")
	pos, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	usage := usagef("usage: sluice review list · review show ID · review approve ID --officer NAME [--partial] [--passphrase-fd N] · review release ID [--partial] [--note TEXT] [--officer NAME] · review reject ID --reason TEXT [--officer NAME]")
	if len(pos) == 0 {
		return usage
	}
	st, err := e.station()
	if err != nil {
		return err
	}
	switch {
	case pos[0] == "list" && len(pos) == 1:
		hs, err := st.Reviews()
		if err != nil {
			return err
		}
		if len(hs) == 0 {
			fmt.Fprintln(e.stdout, "No bundle is held for review.")
			return nil
		}
		for _, h := range hs {
			fmt.Fprintf(e.stdout, "%s  from %s  held %s  %d of %d file(s) held\n", h.ID, safetext.Line(h.Sender),
				h.HeldAt.Local().Format("2006-01-02 15:04"), len(h.Reports), h.Files)
		}
		return nil
	case pos[0] == "show" && len(pos) == 2:
		h, err := st.Review(pos[1])
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Bundle %s from %s, sealed %s, held %s\n", h.ID, safetext.Line(h.Sender),
			h.Created.Local().Format("2006-01-02 15:04"), h.HeldAt.Local().Format("2006-01-02 15:04"))
		if h.Note != "" {
			fmt.Fprintf(e.stdout, "  note: %s\n", safetext.Line(h.Note))
		}
		fmt.Fprintf(e.stdout, "  %d files, %d folders, %s, every file matching the signed manifest %s\n  %s\n  for %s\n",
			h.Files, h.Dirs, humanize.IBytes(uint64(h.Bytes)), h.ManifestSHA256, safetext.Line(h.Summary), safetext.Line(h.Out))
		printHeldFiles(e, h, *all)
		for _, a := range h.Approvals {
			fmt.Fprintf(e.stdout, "  approved by %s: %s\n", safetext.Line(a.Officer), safetext.Line(a.Message))
		}
		fmt.Fprintf(e.stdout, "Decide: sluice review release %s [--partial]  ·  sluice review reject %s --reason TEXT\n", h.ID, h.ID)
		return nil
	case pos[0] == "approve" && len(pos) == 2:
		if *officer == "" {
			return usagef("review approve needs --officer NAME")
		}
		pass, err := e.passphrase(*fd, "Passphrase of officer "+*officer, false)
		if err != nil {
			return err
		}
		o, err := st.SignIn(*officer, pass)
		if err != nil {
			return err
		}
		who, err := st.ApproveHeld(e.ctx, pos[1], app.Decision{Partial: *partial, Note: *note}, o)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Officer %s approved; approvals of this decision: %s (the policy needs %d)\n", o.Name, strings.Join(who, ", "), st.Policy.RequireApprovals)
		return nil
	case pos[0] == "release" && len(pos) == 2:
		if *officer != "" {
			if st, err = e.signIn(st, *officer, *fd); err != nil {
				return err
			}
		}
		r, err := st.ReleaseHeld(e.ctx, pos[1], app.Decision{Partial: *partial, Note: *note})
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Released bundle %s after review, recorded in the custody log\n%s\n", pos[1], r.Dir)
		return nil
	case pos[0] == "reject" && len(pos) == 2:
		if *officer != "" && strings.TrimSpace(*reason) != "" {
			if st, err = e.signIn(st, *officer, *fd); err != nil {
				return err
			}
		}
		if err := st.RejectHeld(e.ctx, pos[1], *reason); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Rejected bundle %s; its content was removed and the rejection recorded\n", pos[1])
		return nil
	}
	return usage
}

// printHeld says, after a receive, why a bundle was held.
func printHeld(e *env, h *app.Held) {
	fmt.Fprintf(e.stdout, "Held bundle %s from %s for review: nothing was released\n  %s\n", h.ID, safetext.Line(h.Sender), safetext.Line(h.Summary))
	printHeldFiles(e, h, false)
	fmt.Fprintf(e.stdout, "See sluice review show %s; an officer releases or rejects it there.\n", h.ID)
}

func printHeldFiles(e *env, h *app.Held, all bool) {
	for i, r := range h.Reports {
		if i == maxHeldShown && !all {
			fmt.Fprintf(e.stdout, "  and %d more held file(s) (--all lists them)\n", len(h.Reports)-i)
			break
		}
		fmt.Fprintf(e.stdout, "  HELD %s  (%s, %s)\n", safetext.Line(r.Path), safetext.Line(r.MIME), r.Family)
		for _, f := range r.Findings {
			fmt.Fprintf(e.stdout, "       %s\n", safetext.Line(f.Text(r.Path)))
		}
	}
}

func runPolicy(e *env, args []string) error {
	fs := e.flags("policy")
	acting, approvers := officerFlags(fs)
	fd := fs.Int("passphrase-fd", -1, "read passphrases from file descriptor `N` (for scripts), one line each: --officer's, then each --approver's")
	pos, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 1 && pos[0] == "show":
		st, err := e.station()
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "# The receive policy in force on %s, every setting filled in.\n%s", safetext.Line(st.Name), st.Policy.Text())
		return nil
	case len(pos) == 3 && pos[0] == "import":
		st, err := e.station()
		if err != nil {
			return err
		}
		if err := st.ImportPolicy(pos[1], pos[2]); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Installed a copy of %s's policy: pack now says which staged files it would hold\n", safetext.Line(pos[1]))
		return nil
	case len(pos) == 2 && pos[0] == "install":
		st, err := e.station()
		if err != nil {
			return err
		}
		b, err := regfile.ReadFile(pos[1], 1<<20)
		if err != nil {
			return fmt.Errorf("install policy: %w", err)
		}
		st, others, err := e.signInAll(st, *acting, *approvers, *fd)
		if err != nil {
			return err
		}
		if err := st.InstallPolicy(b, others...); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Installed %s as this station's policy; the change is recorded in the custody log\n", safetext.Line(pos[1]))
		return nil
	case len(pos) == 2 && pos[0] == "check":
		if _, err := app.CheckPolicy(pos[1]); err != nil {
			return fmt.Errorf("%w: %v", app.ErrRejected, err)
		}
		fmt.Fprintf(e.stdout, "%s is a valid policy; sluice policy install %s puts it in force\n", safetext.Line(pos[1]), safetext.Line(pos[1]))
		return nil
	}
	return usagef("usage: sluice policy show · policy check FILE · policy install FILE · policy import STATION FILE")
}
