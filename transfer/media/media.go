// Package media finds removable drives and the filesystems mounted from
// them, and says what a filesystem can hold: free space and the largest
// file (FAT32 stops at 4 GiB − 1 byte), so a bundle can be cut to fit.
//
// Linux reads /sys/block and /proc/self/mountinfo, and udev's database for
// serial numbers, labels and filesystem ids where present. Every path is
// relative to a Root so tests can build a sysfs tree of their own.
package media

import (
	"fmt"
	"strings"
)

// Drive is a whole block device, with the filesystems mounted from it or
// from its partitions.
type Drive struct {
	Device    string // /dev/sdb
	Vendor    string
	Model     string
	Serial    string
	Capacity  int64
	Removable bool
	// Bus is "usb", "mmc", "loop", … as far as sysfs tells.
	Bus    string
	Mounts []Mount
}

// Mount is a mounted filesystem.
type Mount struct {
	Device   string // /dev/sdb1
	Point    string
	FSType   string
	Label    string
	FSID     string
	ReadOnly bool
	// FUSE: the filesystem is served by a FUSE driver (fuseblk, fuse.*),
	// which reads its device through the kernel's cache of the device.
	FUSE bool
}

// Space is what a mounted filesystem can take.
type Space struct {
	Size, Free int64
	// MaxFile is the largest file the filesystem holds; 0 means no limit
	// worth knowing.
	MaxFile int64
}

// FAT32MaxFile is the largest file FAT32 holds.
const FAT32MaxFile = 4<<30 - 1

// FATLimit is the largest file MaxFileSize reports for FAT filesystems. It
// is FAT32MaxFile; tests lower it to exercise splitting on a small image.
var FATLimit int64 = FAT32MaxFile

// FusefatMaxFile is the largest file the fusefat driver writes: it refuses
// to grow a file past 2 GiB ("operation not permitted"), although FAT32
// itself holds 4 GiB − 1 byte. make test-long checks it still does.
const FusefatMaxFile = 1 << 31

// MaxFileSize returns the largest file a filesystem type holds, or 0.
func MaxFileSize(fsType string) int64 {
	switch strings.ToLower(fsType) {
	case "vfat", "msdos", "fat", "fat32":
		return FATLimit
	case "fuseblk.fusefat", "fusefat":
		return min(FATLimit, FusefatMaxFile)
	}
	return 0
}

// Describe names a drive for an officer: vendor, model, size.
func (d Drive) Describe() string {
	name := strings.TrimSpace(d.Vendor + " " + d.Model)
	if name == "" {
		name = d.Device
	}
	return fmt.Sprintf("%s (%s)", name, d.Device)
}
