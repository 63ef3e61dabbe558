package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dustin/go-humanize"

	"sluice/app"
	"sluice/internal/safetext"
	"sluice/transfer/bundle"
)

// minVolumeSize keeps volume counts sane: below it a bundle becomes
// thousands of files on the media.
const minVolumeSize = 64 << 10

func runPack(e *env, args []string) error {
	fs := e.flags("pack")
	to := fs.String("to", "", "comma-separated `NAMES` of the trusted stations to seal for")
	out := fs.String("out", "", "`DIR` to write the bundle into (a folder or mounted medium)")
	volSize := fs.String("volume-size", "", "cut the payload into volumes of at most `SIZE` (e.g. 4GiB, 650MB)")
	note := fs.String("note", "", "`TEXT` shown to the receiving officer before decryption (not encrypted)")
	verify := fs.Bool("verify", false, "read the bundle back from the device and check it even when the destination is not a removable drive (removable drives are always read back)")
	span := fs.Bool("span", false, "if the bundle does not fit on the drive at --out, spread it over several drives, asking on stderr for each next one; answer with its mount point on stdin")
	officer := fs.String("officer", "", "the officer sealing, signed in with their passphrase; records name them")
	var approvers multiFlag
	fs.Var(&approvers, "approver", "an officer approving the staged files, when the policy requires it (review.require_seal_approvals); repeat for each")
	fd := fs.Int("passphrase-fd", -1, "read passphrases from file descriptor `N`, one line each: --officer's first, then each --approver's in order")
	paths, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	if *to == "" || *out == "" || len(paths) == 0 {
		return usagef("usage: sluice pack --to NAME[,NAME] --out DIR [--volume-size SIZE] [--note TEXT] [--verify] [--span] [--officer NAME [--approver NAME]... [--passphrase-fd N]] PATH...")
	}
	var vol int64
	if *volSize != "" {
		n, err := humanize.ParseBytes(*volSize)
		if err != nil || n < minVolumeSize || n > 1<<62 {
			return usagef("--volume-size %q: give a size of at least 64KiB, like 4GiB or 650MB", *volSize)
		}
		vol = int64(n)
	}
	st, err := e.station()
	if err != nil {
		return err
	}
	st, signedIn, err := e.signInAll(st, *officer, approvers, *fd)
	if err != nil {
		return err
	}
	srcs, err := app.StagePaths(paths)
	if err != nil {
		return err
	}
	req := app.PackRequest{To: strings.Split(*to, ","), OutDir: *out, Sources: srcs, VolumeSize: vol, Note: *note, Approvers: signedIn}
	// What a kiosk's policy would hold is said before anything is sealed.
	held, err := st.Foresee(e.ctx, srcs, req.To)
	if err != nil {
		return err
	}
	for i, f := range held {
		if i == maxHeldShown {
			fmt.Fprintf(e.stderr, "sluice: warning: and %d more file(s) a receiving station's policy would hold\n", len(held)-i)
			break
		}
		fmt.Fprintf(e.stderr, "sluice: warning: %s\n", safetext.Line(f.String()))
	}
	// What a kiosk's policy has this station transform is transformed
	// first, and said, before anything is sealed.
	xf, err := st.TransformStaged(e.ctx, srcs, req.To, nil)
	if err != nil {
		return err
	}
	defer xf.Close()
	for _, f := range xf.Files {
		if f.Err != nil {
			fmt.Fprintf(e.stderr, "sluice: cannot transform %s as %s's policy asks: %s\n", safetext.Line(f.Path), strings.Join(f.For, ", "), safetext.Line(f.Err.Error()))
			continue
		}
		r := f.Result
		fmt.Fprintf(e.stderr, "sluice: transformed %s → %s (%s by %s %s, %s → %s, %.1f s)\n", safetext.Line(f.Path), safetext.Line(filepath.Base(r.Output)),
			r.Action, r.Tool, r.ToolVersion, humanize.IBytes(uint64(r.OriginalSize)), humanize.IBytes(uint64(r.OutputSize)), r.Duration.Seconds())
	}
	req.Transforms = xf
	if *verify {
		req.ReadBack = app.ReadBackAlways
	}
	if *span {
		req.NextDrive = e.askDrive
	}
	sealed, err := st.Pack(e.ctx, req)
	if err != nil {
		return err
	}
	env := sealed.Envelope
	fmt.Fprintf(e.stdout, "Sealed bundle %s for %s\n  %d files, %d folders, %s; payload %s in %d volume(s)\n  manifest %s\n",
		env.ID, env.RecipientNames(), env.Files, env.Dirs,
		humanize.IBytes(uint64(env.ContentBytes)), humanize.IBytes(uint64(env.Payload.Size)), len(env.Payload.Volumes),
		sealed.ManifestSHA256)
	if o := env.Originals; o != nil {
		fmt.Fprintf(e.stdout, "  and the %d original(s) of the transformed files, %s, sealed apart: every recipient's policy accepts them\n", o.Files, humanize.IBytes(uint64(o.Bytes)))
	}
	if len(sealed.Parts) > 1 {
		for k, p := range sealed.Parts[:len(sealed.Parts)-1] {
			fmt.Fprintf(e.stdout, "  drive %d of %d: %s\n", k+1, len(sealed.Parts), p)
		}
	}
	fmt.Fprintln(e.stdout, sealed.Dir)
	return nil
}

// askDrive asks the officer, on stderr, for the next drive of a bundle that
// spans several, and reads its mount point from stdin. An empty answer
// takes the one removable drive inserted that does not hold the bundle yet;
// the end of input abandons the bundle.
func (e *env) askDrive(ctx context.Context, ask app.DriveAsk) (string, error) {
	if ask.Previous != "" {
		fmt.Fprintf(e.stderr, "%s\n", safetext.Line(upperFirst(ask.Previous)))
	}
	if ask.Problem != "" {
		fmt.Fprintf(e.stderr, "sluice: that drive was not used: %s\n", safetext.Line(ask.Problem))
	}
	for {
		fmt.Fprintf(e.stderr, "Drive %d of %d of bundle %s: insert a drive with at least %s free (it will hold %s), then type its mount point and press Enter (Enter alone: the drive just inserted; end of input: give up)\n",
			ask.Drive, ask.Drives, ask.BundleID, humanize.IBytes(uint64(ask.Need)), ask.Volumes)
		line, err := e.readLine(ctx)
		if err != nil {
			return "", err
		}
		if line != "" {
			return line, nil
		}
		point, err := app.FreshDrive(ask.BundleID)
		if err == nil {
			fmt.Fprintf(e.stderr, "Using %s\n", safetext.Line(point))
			return point, nil
		}
		fmt.Fprintf(e.stderr, "sluice: %s\n", safetext.Line(err.Error()))
	}
}

func runInspect(e *env, args []string) error {
	fs := e.flags("inspect")
	pos, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("usage: sluice inspect BUNDLE")
	}
	// A station is optional: inspect works on any machine, with no keys.
	st, err := e.station()
	if errors.Is(err, app.ErrNoStation) {
		st = nil
	} else if err != nil {
		return err
	}
	in, ierr := app.Inspect(e.ctx, pos[0], st)
	if in != nil {
		env := in.Bundle.Envelope
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "bundle\t%s\n", env.ID)
		fmt.Fprintf(tw, "sender\t%s (%s)\n", env.Sender.Name, fingerprint(env.Sender.SigningKey))
		fmt.Fprintf(tw, "signature\t%s\n", verdict(in.SignatureOK, "valid", "INVALID"))
		if in.Trust != "" {
			fmt.Fprintf(tw, "trust\t%s\n", in.Trust)
			fmt.Fprintf(tw, "for this station\t%s\n", verdict(in.ForThisStation, "yes", "no"))
			for _, c := range in.Checks {
				if c.Name == "Policy" && c.State != app.NotChecked {
					fmt.Fprintf(tw, "policy\t%s\n", verdict(c.State == app.Passed, "admits it", "REFUSES IT: "+safetext.Line(c.Detail)))
				}
			}
		}
		fmt.Fprintf(tw, "recipients\t%s\n", env.RecipientNames())
		fmt.Fprintf(tw, "created\t%s (%s)\n", env.Created.Format(time.RFC3339), humanize.Time(env.Created))
		fmt.Fprintf(tw, "content\t%d files, %d folders, %s\n", env.Files, env.Dirs, humanize.IBytes(uint64(env.ContentBytes)))
		if o := env.Originals; o != nil {
			fmt.Fprintf(tw, "originals\t%d files, %s: the originals of transformed files, sealed apart; a kiosk keeps them and never releases them\n", o.Files, humanize.IBytes(uint64(o.Bytes)))
		}
		fmt.Fprintf(tw, "payload\t%s, sha256 %s\n", humanize.IBytes(uint64(env.Payload.Size)), env.Payload.SHA256)
		if note := in.Note(); note != "" {
			fmt.Fprintf(tw, "note\t%s\n", note)
		}
		missing := len(in.Bundle.Missing())
		if env.Span != nil {
			fmt.Fprintf(tw, "drives\t%d, %d volume(s) each\n", env.Span.Drives, env.Span.VolumesPerDrive)
		}
		for i, v := range env.Payload.Volumes {
			where := ""
			if !in.Bundle.Holds(i) {
				where = fmt.Sprintf(" (not here: on drive %d)", env.DriveOf(i)+1)
			}
			fmt.Fprintf(tw, "volume %d/%d\t%s %s %s%s\n", i+1, len(env.Payload.Volumes), v.Name, humanize.IBytes(uint64(v.Size)), v.SHA256, where)
		}
		ok := "all intact"
		if missing > 0 {
			ok = fmt.Sprintf("the %d here intact; the other %d are on the bundle's other drives", len(env.Payload.Volumes)-missing, missing)
		}
		fmt.Fprintf(tw, "volumes\t%s\n", verdict(in.VolumesOK, ok, "NOT CHECKED OR DAMAGED"))
		tw.Flush()
	}
	return ierr
}

func runReceive(e *env, args []string) error {
	fs := e.flags("receive")
	out := fs.String("out", "", "`DIR` to release into; the content lands in DIR/<bundle-id>/")
	wipe := fs.Bool("wipe", false, "after release, remove the bundle from its medium (recorded in the custody log)")
	pos, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	if *out == "" || len(pos) == 0 {
		return usagef("usage: sluice receive --out DIR BUNDLE|DRIVE...  (a bundle folder, or a drive's mount point for the bundles on it; several: the drives of one bundle that spans drives)")
	}
	st, err := e.station()
	if err != nil {
		return err
	}
	// A drive's mount point stands for the bundles on it. Folders on it
	// that are not bundles from a trusted station get one record for the
	// drive, not one each.
	var dirs []string
	var junk int
	for _, p := range pos {
		if _, err := os.Lstat(filepath.Join(p, bundle.EnvelopeName)); err != nil {
			if found := app.FindBundles(p); len(found) > 0 {
				ok, bad := st.Screen(found)
				fmt.Fprintf(e.stdout, "Found %d bundle(s) on %s\n", len(ok), safetext.Line(p))
				if len(bad) > 0 {
					fmt.Fprintf(e.stdout, "Not bundles from a trusted station (%d, recorded once for the drive):\n", len(bad))
					for i, j := range bad {
						if i == 10 {
							fmt.Fprintf(e.stdout, "  and %d more\n", len(bad)-i)
							break
						}
						fmt.Fprintf(e.stdout, "  %s: %s\n", safetext.Line(filepath.Base(j.Dir)), safetext.Line(j.Why))
					}
					if err := st.RecordJunk(p, bad); err != nil {
						return err
					}
					junk += len(bad)
				}
				dirs = append(dirs, ok...)
				continue
			}
		}
		dirs = append(dirs, p)
	}
	if len(dirs) == 0 {
		return fmt.Errorf("%w: no bundle from a trusted station was found on %s", app.ErrRejected, strings.Join(pos, ", "))
	}
	pos = dirs
	// Each folder is one bundle, or one drive of a bundle that spans
	// drives: those are gathered on this station until the last is in.
	// One bad bundle does not hold back the others on the same drive.
	var failed []error
	for i, dir := range pos {
		r, err := st.Receive(e.ctx, app.ReceiveRequest{BundleDir: dir, OutDir: *out})
		var md *app.MissingDrivesError
		if errors.As(err, &md) && i < len(pos)-1 {
			fmt.Fprintf(e.stdout, "Read %s: a drive of bundle %s (%d drives)\n", safetext.Line(dir), md.BundleID, md.Drives)
			continue
		}
		var held *app.HeldError
		if errors.As(err, &held) {
			printHeld(e, held.Held)
		}
		if err != nil && (len(pos) == 1 || errors.Is(err, context.Canceled)) {
			return err
		}
		if err != nil {
			fmt.Fprintf(e.stdout, "Not released: %s: %s\n", safetext.Line(dir), safetext.Line(err.Error()))
			failed = append(failed, err)
			continue
		}
		fmt.Fprintf(e.stdout, "Released bundle %s from %s\n  %d files, %d folders, %s, every file matching the signed manifest\n  %s\n",
			r.Envelope.ID, r.Envelope.Sender.Name, r.Verified.Files, r.Verified.Dirs, humanize.IBytes(uint64(r.Verified.ContentBytes)), r.Content.Summary())
		if n := r.Verified.DatesNotKept; n > 0 {
			fmt.Fprintf(e.stdout, "  %d file date(s) could not be kept by this filesystem, e.g. %s\n", n, safetext.Line(r.Verified.DateExample))
		}
		fmt.Fprintf(e.stdout, "  manifest %s\n%s\n", r.Verified.ManifestSHA256, r.Dir)
		if *wipe {
			if err := wipeReleased(e, st, pos[:i+1], r.Envelope.ID); err != nil {
				return err
			}
		}
	}
	if len(failed) == 0 && junk > 0 {
		return fmt.Errorf("%w: %d folder(s) on the drive were not bundles from a trusted station (listed above)", app.ErrRejected, junk)
	}
	if len(failed) > 0 {
		// A rejection decides the exit status over an environment error.
		// A rejection decides the exit status over a hold, and a hold
		// over an environment error.
		worst := failed[0]
		for _, err := range failed {
			if errors.Is(err, app.ErrRejected) {
				worst = err
				break
			}
			if errors.As(err, new(*app.HeldError)) {
				worst = err
			}
		}
		return fmt.Errorf("%d of %d bundle folders were not released (listed above); %w", len(failed), len(pos), worst)
	}
	return nil
}

// wipeReleased wipes every folder among dirs that holds bundle id, whatever
// the folder is called: Station.Wipe checks each is that bundle.
func wipeReleased(e *env, st *app.Station, dirs []string, id string) error {
	for _, d := range dirs {
		if app.BundleIDAt(d) != id {
			continue
		}
		if err := st.Wipe(d, id); err != nil {
			return fmt.Errorf("released, but not wiped from its medium: %w", err)
		}
		fmt.Fprintf(e.stdout, "Wiped bundle %s from %s\n", id, safetext.Line(d))
	}
	return nil
}

func verdict(ok bool, yes, no string) string {
	if ok {
		return yes
	}
	return no
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
