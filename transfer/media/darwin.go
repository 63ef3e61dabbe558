//go:build darwin

package media

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// System reads macOS's disks through diskutil and the mounted filesystems
// through getfsstat(2).
type System struct{}

// Host is the running system.
var Host = System{}

func diskutil(args ...string) ([]byte, error) {
	out, err := exec.Command("diskutil", args...).Output()
	if err != nil {
		return nil, fmt.Errorf("diskutil %s: %w", strings.Join(args, " "), err)
	}
	return out, nil
}

// Drives lists external physical disks (with all, every disk) with the
// volumes mounted from them.
func (System) Drives(all bool) ([]Drive, error) {
	args := []string{"list", "-plist", "external", "physical"}
	if all {
		args = []string{"list", "-plist"}
	}
	out, err := diskutil(args...)
	if err != nil {
		return nil, err
	}
	mounted, whole, err := parseDiskutilList(out)
	if err != nil {
		return nil, err
	}
	var drives []Drive
	for _, id := range whole {
		b, err := diskutil("info", "-plist", id)
		if err != nil {
			continue // the disk went away meanwhile
		}
		info, err := parseDiskutilInfo(b)
		if err != nil {
			return nil, err
		}
		d := info.drive()
		for _, vol := range mounted[id] {
			vb, err := diskutil("info", "-plist", vol)
			if err != nil {
				continue
			}
			vi, err := parseDiskutilInfo(vb)
			if err == nil && vi.MountPoint != "" {
				d.Mounts = append(d.Mounts, vi.mount())
			}
		}
		if d.Removable || all && len(d.Mounts) > 0 {
			drives = append(drives, d)
		}
	}
	return drives, nil
}

// Mounts lists the mounted filesystems.
func (System) Mounts() ([]Mount, error) {
	n, err := unix.Getfsstat(nil, unix.MNT_NOWAIT)
	if err != nil {
		return nil, fmt.Errorf("list mounts: %w", err)
	}
	buf := make([]unix.Statfs_t, n)
	if n, err = unix.Getfsstat(buf, unix.MNT_NOWAIT); err != nil {
		return nil, fmt.Errorf("list mounts: %w", err)
	}
	var out []Mount
	for _, st := range buf[:n] {
		out = append(out, mountFromStatfs(&st))
	}
	return out, nil
}

// MountOf returns the mounted filesystem holding path.
func (System) MountOf(path string) (Mount, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return Mount{}, fmt.Errorf("no mounted filesystem holds %s: %w", path, err)
	}
	return mountFromStatfs(&st), nil
}

func mountFromStatfs(st *unix.Statfs_t) Mount {
	return Mount{Device: unix.ByteSliceToString(st.Mntfromname[:]), Point: unix.ByteSliceToString(st.Mntonname[:]),
		FSType: unix.ByteSliceToString(st.Fstypename[:]), ReadOnly: st.Flags&unix.MNT_RDONLY != 0}
}

// Eject unmounts every volume of the disk mounted at point and ejects the
// disk with diskutil, as the Finder does, so it can be pulled.
func Eject(point string) (string, error) {
	unix.Sync()
	m, err := Host.MountOf(point)
	if err != nil {
		return "", err
	}
	if filepath.Clean(m.Point) != filepath.Clean(point) {
		return "", fmt.Errorf("eject %s: it is not a mount point; give the drive's folder under /Volumes", point)
	}
	if out, err := exec.Command("diskutil", "eject", m.Device).CombinedOutput(); err != nil {
		return "", fmt.Errorf("eject %s: %s; close any window or program using it and try again", point, strings.TrimSpace(string(out)))
	}
	return "ejected through diskutil", nil
}

// MountDevice mounts a volume (/dev/disk4s1) with diskutil and returns
// where (/Volumes/LABEL).
func MountDevice(dev string) (string, error) {
	if out, err := exec.Command("diskutil", "mount", dev).CombinedOutput(); err != nil {
		return "", fmt.Errorf("mount %s: %s", dev, strings.TrimSpace(string(out)))
	}
	b, err := diskutil("info", "-plist", dev)
	if err != nil {
		return "", err
	}
	info, err := parseDiskutilInfo(b)
	if err != nil {
		return "", err
	}
	return info.MountPoint, nil
}
