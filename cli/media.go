package cli

import (
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/dustin/go-humanize"

	"sluice/app"
	"sluice/internal/safetext"
	"sluice/transfer/media"
)

func runMedia(e *env, args []string) error {
	if len(args) == 0 {
		return usagef("usage: sluice media list [--all] · media watch · media check MOUNT [--size SIZE] · media wipe BUNDLE · media mount DEVICE · media eject MOUNT")
	}
	sub, args := args[0], args[1:]
	fs := e.flags("media " + sub)
	all := fs.Bool("all", false, "with list: also fixed disks and loop devices that have a mounted filesystem")
	size := fs.String("size", "256MiB", "with check: how much to write and read back (`SIZE`)")
	pos, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	switch sub {
	case "list":
		if len(pos) != 0 {
			return usagef("usage: sluice media list [--all]")
		}
		drives, err := media.Host.Drives(*all)
		if err != nil {
			return err
		}
		if len(drives) == 0 {
			fmt.Fprintln(e.stdout, "No removable drives found. Insert a USB drive, or use --all to see every mounted disk.")
			return nil
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "DEVICE\tDRIVE\tSERIAL\tCAPACITY\tMOUNTED AT\tFS\tLABEL\tFS ID\tFREE\tLARGEST FILE")
		for _, d := range drives {
			if len(d.Mounts) == 0 {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t(not mounted)\t\t\t\t\t\n", dash(d.Device), dash(d.Describe()), dash(d.Serial), humanize.IBytes(uint64(d.Capacity)))
			}
			for _, m := range d.Mounts {
				free, largest := "-", "no limit"
				if sp, err := media.SpaceOf(m.Point, m.FSType); err == nil {
					free = humanize.IBytes(uint64(sp.Free))
					if sp.MaxFile > 0 {
						largest = humanize.IBytes(uint64(sp.MaxFile))
					}
				}
				ro := ""
				if m.ReadOnly {
					ro = " (read-only)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s%s\t%s\t%s\t%s\t%s\t%s\n", dash(m.Device), dash(d.Describe()), dash(d.Serial), humanize.IBytes(uint64(d.Capacity)),
					dash(m.Point), ro, dash(m.FSType), dash(m.Label), dash(m.FSID), free, largest)
			}
		}
		return tw.Flush()
	case "check":
		if len(pos) != 1 {
			return usagef("usage: sluice media check MOUNT [--size SIZE]")
		}
		n, err := humanize.ParseBytes(*size)
		if err != nil || n < 1<<20 || n > 1<<42 {
			return usagef("--size %q: give a size of at least 1MiB, like 256MiB", *size)
		}
		res, err := media.Check(e.ctx, pos[0], int64(n))
		if err != nil {
			if errors.Is(err, media.ErrBadDrive) {
				return fmt.Errorf("%w: %v", app.ErrRejected, err)
			}
			return err
		}
		if res.CacheOnly != "" {
			// Not a verdict on the drive: the check could not reach it.
			return fmt.Errorf("check of %s not conclusive, a drive that fakes its capacity would pass too: %s written and %s",
				pos[0], humanize.IBytes(uint64(res.Bytes)), res.CacheOnly)
		}
		fmt.Fprintf(e.stdout, "OK: %s written and read back from %s intact; write %s/s, read %s/s\n",
			humanize.IBytes(uint64(res.Bytes)), pos[0], humanize.IBytes(uint64(res.WriteSpeed)), humanize.IBytes(uint64(res.ReadSpeed)))
		return nil
	case "watch":
		if len(pos) != 0 {
			return usagef("usage: sluice media watch")
		}
		fmt.Fprintln(e.stdout, "Watching for removable drives; Ctrl-C to stop.")
		var last []media.Drive
		first := true
		media.Watch(e.ctx, media.Host, time.Second, func(ds []media.Drive) {
			in, out := media.Changes(last, ds)
			if first {
				in, first = ds, false
			}
			for _, d := range in {
				fmt.Fprintf(e.stdout, "%s present: %s, %s%s\n", time.Now().Format("15:04:05"), dash(d.Describe()), humanize.IBytes(uint64(d.Capacity)), mountsOf(d))
			}
			for _, d := range out {
				fmt.Fprintf(e.stdout, "%s removed: %s\n", time.Now().Format("15:04:05"), dash(d.Describe()))
			}
			last = ds
		})
		return nil
	case "wipe":
		if len(pos) != 1 {
			return usagef("usage: sluice media wipe BUNDLE  (a bundle folder, or a drive's share of one, already released here)")
		}
		st, err := e.station()
		if err != nil {
			return err
		}
		if err := st.Wipe(pos[0], ""); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Wiped %s from its medium\n", safetext.Line(pos[0]))
		return nil
	case "eject":
		if len(pos) != 1 {
			return usagef("usage: sluice media eject MOUNT")
		}
		// With a station, the eject is recorded in its custody log.
		var how string
		if st, serr := e.station(); serr == nil {
			how, err = st.Eject(pos[0])
		} else {
			how, err = media.Eject(pos[0])
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s %s: the drive can be removed\n", safetext.Line(pos[0]), how)
		return nil
	case "mount":
		if len(pos) != 1 {
			return usagef("usage: sluice media mount DEVICE  (a device node from media list, like /dev/sdb1)")
		}
		point, err := media.MountDevice(pos[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s mounted at\n%s\n", safetext.Line(pos[0]), safetext.Line(point))
		return nil
	}
	return usagef("unknown media command %q: use list, watch, check, wipe, mount or eject", sub)
}

func mountsOf(d media.Drive) string {
	var s string
	for _, m := range d.Mounts {
		s += fmt.Sprintf(", %s at %s", m.FSType, m.Point)
	}
	if s == "" {
		return ", not mounted"
	}
	return s
}
