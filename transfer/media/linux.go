//go:build linux

package media

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// System is where the kernel's views live; tests point it at a tree they
// build.
type System struct {
	Sys       string // /sys
	MountInfo string // /proc/self/mountinfo
	UdevData  string // /run/udev/data
}

// Host is the running system.
var Host = System{Sys: "/sys", MountInfo: "/proc/self/mountinfo", UdevData: "/run/udev/data"}

func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// Drives lists block devices. With all false, only removable drives (the
// removable flag, or a USB or MMC bus on the device's sysfs path) are
// listed; with all true, every disk and loop device with a mounted
// filesystem too.
func (s System) Drives(all bool) ([]Drive, error) {
	mounts, err := s.Mounts()
	if err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(filepath.Join(s.Sys, "block"))
	if err != nil {
		return nil, fmt.Errorf("list drives: %w", err)
	}
	var out []Drive
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, "ram") || strings.HasPrefix(name, "zram") {
			continue
		}
		dir := filepath.Join(s.Sys, "block", name)
		link, _ := os.Readlink(dir)
		d := Drive{Device: "/dev/" + name, Vendor: readTrim(filepath.Join(dir, "device", "vendor")), Model: readTrim(filepath.Join(dir, "device", "model"))}
		switch {
		case strings.Contains(link, "/usb"):
			d.Bus = "usb"
		case strings.Contains(link, "/mmc"):
			d.Bus = "mmc"
		case strings.HasPrefix(name, "loop"):
			d.Bus = "loop"
		}
		d.Removable = readTrim(filepath.Join(dir, "removable")) == "1" || d.Bus == "usb" || d.Bus == "mmc"
		if n, err := strconv.ParseInt(readTrim(filepath.Join(dir, "size")), 10, 64); err == nil {
			d.Capacity = n * 512
		}
		dev := readTrim(filepath.Join(dir, "dev"))
		udev := s.udev(dev)
		d.Serial = udev["ID_SERIAL_SHORT"]
		if d.Serial == "" {
			d.Serial = readTrim(filepath.Join(dir, "device", "serial"))
		}
		// The disk itself and its partitions.
		parts := []string{name}
		if sub, err := os.ReadDir(dir); err == nil {
			for _, p := range sub {
				if strings.HasPrefix(p.Name(), name) {
					parts = append(parts, p.Name())
				}
			}
		}
		for _, p := range parts {
			pdev := readTrim(filepath.Join(dir, p, "dev"))
			if p == name {
				pdev = dev
			}
			pu := s.udev(pdev)
			for _, m := range mounts {
				if m.Device == "/dev/"+p {
					m.Label, m.FSID = pu["ID_FS_LABEL"], pu["ID_FS_UUID"]
					if m.FSType == "fuseblk" && pu["ID_FS_TYPE"] != "" {
						m.FSType = pu["ID_FS_TYPE"]
					}
					if m.FSType == "fuseblk" || m.FSID == "" {
						// No udev here (a container, a minimal kiosk):
						// read the boot sector, as blkid would.
						fsType, fsid := probe(m.Device)
						if m.FSType == "fuseblk" && fsType != "" {
							m.FSType = fsType
						}
						if m.FSID == "" {
							m.FSID = fsid
						}
					}
					d.Mounts = append(d.Mounts, m)
				}
			}
		}
		if d.Removable || (all && len(d.Mounts) > 0) {
			out = append(out, d)
		}
	}
	return out, nil
}

// udev reads udev's properties for a device number "major:minor".
func (s System) udev(dev string) map[string]string {
	props := map[string]string{}
	if dev == "" {
		return props
	}
	f, err := os.Open(filepath.Join(s.UdevData, "b"+dev))
	if err != nil {
		return props
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if kv, ok := strings.CutPrefix(sc.Text(), "E:"); ok {
			if k, v, ok := strings.Cut(kv, "="); ok {
				props[k] = v
			}
		}
	}
	return props
}

// Mounts parses mountinfo: every mounted filesystem whose source is a
// device.
func (s System) Mounts() ([]Mount, error) {
	f, err := os.Open(s.MountInfo)
	if err != nil {
		return nil, fmt.Errorf("list mounts: %w", err)
	}
	defer f.Close()
	var out []Mount
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		m, ok := parseMountInfo(sc.Text())
		if ok {
			out = append(out, m)
		}
	}
	return out, sc.Err()
}

// parseMountInfo parses one line of /proc/self/mountinfo:
// id parent major:minor root point options [optional…] - fstype source superoptions
func parseMountInfo(line string) (Mount, bool) {
	pre, post, ok := strings.Cut(line, " - ")
	if !ok {
		return Mount{}, false
	}
	f, g := strings.Fields(pre), strings.Fields(post)
	if len(f) < 6 || len(g) < 2 {
		return Mount{}, false
	}
	m := Mount{Point: unescape(f[4]), FSType: g[0], Device: unescape(g[1])}
	for _, o := range strings.Split(f[5], ",") {
		if o == "ro" {
			m.ReadOnly = true
		}
	}
	if m.FSType == "fuseblk" || strings.HasPrefix(m.FSType, "fuse.") {
		m.FUSE = true
		// FUSE filesystems (exfat-fuse, fusefat) name the real type in
		// the source or subtype.
		if strings.HasPrefix(m.FSType, "fuse.") {
			m.FSType = strings.TrimPrefix(m.FSType, "fuse.")
		}
	}
	return m, strings.HasPrefix(m.Device, "/dev/") || strings.HasPrefix(m.FSType, "fusefat") || m.FSType == "exfat"
}

// unescape undoes mountinfo's octal escapes (\040 for a space).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// MountOf returns the mounted filesystem holding path: the mount with the
// longest mount point that is a prefix of it.
func (s System) MountOf(path string) (Mount, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return Mount{}, err
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	}
	f, err := os.Open(s.MountInfo)
	if err != nil {
		return Mount{}, fmt.Errorf("list mounts: %w", err)
	}
	defer f.Close()
	var best Mount
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		fl, gl := strings.Fields(pre), strings.Fields(post)
		if !ok || len(fl) < 6 || len(gl) < 2 {
			continue
		}
		p := unescape(fl[4])
		if (abs == p || strings.HasPrefix(abs, strings.TrimSuffix(p, "/")+"/")) && len(p) >= len(best.Point) {
			m, _ := parseMountInfo(sc.Text())
			best = m
		}
	}
	if best.Point == "" {
		return best, fmt.Errorf("no mounted filesystem holds %s", path)
	}
	if best.FSType == "fuseblk" {
		if fsType, _ := probe(best.Device); fsType != "" {
			best.FSType = fsType
		}
	}
	return best, nil
}

// probe names the filesystem on a block device and its id, as blkid shows
// them, from the boot sector or superblock, when the device can be read:
// FUSE block mounts (exfat-fuse, ntfs-3g) show only as "fuseblk", and
// without udev nothing else knows the id. It returns "" for what it cannot
// tell.
func probe(dev string) (fsType, fsid string) {
	if !strings.HasPrefix(dev, "/dev/") {
		return "", ""
	}
	f, err := os.Open(dev)
	if err != nil {
		return "", ""
	}
	defer f.Close()
	var b [2048]byte
	if _, err := f.ReadAt(b[:], 0); err != nil {
		return "", ""
	}
	return probeBytes(b[:])
}

// probeBytes is probe on the first 2 KiB of a device.
func probeBytes(b []byte) (fsType, fsid string) {
	serial := func(off int) string { // a FAT or exFAT volume serial, as XXXX-XXXX
		v := binary.LittleEndian.Uint32(b[off:])
		return fmt.Sprintf("%04X-%04X", v>>16, v&0xffff)
	}
	switch {
	case string(b[3:11]) == "EXFAT   ":
		return "exfat", serial(100)
	case string(b[3:11]) == "NTFS    ":
		return "ntfs", fmt.Sprintf("%016X", binary.LittleEndian.Uint64(b[72:]))
	case string(b[82:90]) == "FAT32   ":
		return "vfat", serial(67)
	case string(b[54:62]) == "FAT16   ", string(b[54:62]) == "FAT12   ":
		return "vfat", serial(39)
	case binary.LittleEndian.Uint16(b[1024+0x38:]) == 0xEF53: // ext2/3/4 superblock magic
		u := b[1024+0x68 : 1024+0x78]
		return "", fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
	}
	return "", ""
}

// Eject unmounts the filesystem mounted at point, so the drive can be
// pulled: through udisks2 where it runs, which also powers the drive off,
// otherwise with umount(2). Pending writes are flushed first. It says what
// was done.
func Eject(point string) (string, error) {
	unix.Sync()
	if m, err := Host.MountOf(point); err == nil && strings.HasPrefix(m.Device, "/dev/") && samePath(m.Point, point) {
		if u, err := connectUdisks(); err == nil {
			how, err := u.unmount(m.Device)
			u.close()
			if err == nil {
				return how, nil
			}
			if !errors.Is(err, errNoUdisks) {
				return "", fmt.Errorf("eject %s: %w; close any window or program using it and try again", point, err)
			}
		}
	}
	if err := unix.Unmount(point, 0); err != nil {
		return "", fmt.Errorf("eject %s: %w; close any window or program using it and try again", point, err)
	}
	return "unmounted", nil
}

// MountDevice mounts the filesystem on a drive's device node (/dev/sdb1)
// and returns where: through udisks2 where it runs (/media/USER/LABEL),
// otherwise with mount(8) under /media/sluice/, which needs root. Either
// way the drive is mounted nodev and nosuid (udisks2 always does so; the
// fallback says so, and noexec too): a device node or a set-user-ID
// program on a stick must never work here (a device node put in a staged
// file's place would otherwise be opened by sealing).
func MountDevice(dev string) (string, error) {
	if u, err := udisksConnect(); err == nil {
		point, err := u.mount(dev)
		u.close()
		if err == nil || !errors.Is(err, errNoUdisks) {
			return point, err
		}
	}
	point := filepath.Join("/media/sluice", filepath.Base(dev))
	if err := os.MkdirAll(point, 0o755); err != nil {
		return "", fmt.Errorf("mount %s: %w (without udisks2, mounting needs root)", dev, err)
	}
	if out, err := exec.Command("mount", "-o", "nodev,nosuid,noexec", dev, point).CombinedOutput(); err != nil {
		os.Remove(point)
		return "", fmt.Errorf("mount %s: %s", dev, strings.TrimSpace(string(out)))
	}
	return point, nil
}

// udisksConnect is connectUdisks; tests replace it to take mount(8)'s way.
var udisksConnect = connectUdisks

func samePath(a, b string) bool {
	ra, err1 := filepath.EvalSymlinks(a)
	rb, err2 := filepath.EvalSymlinks(b)
	return err1 == nil && err2 == nil && filepath.Clean(ra) == filepath.Clean(rb)
}
