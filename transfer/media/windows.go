//go:build windows

package media

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"unsafe"

	"golang.org/x/sys/windows"
)

// System reads Windows's drive letters: their type, volume information and
// the disk's storage descriptor.
type System struct{}

// Host is the running system.
var Host = System{}

// Control codes from winioctl.h.
const (
	ioctlStorageQueryProperty = 0x002D1400
	ioctlStorageMediaRemoval  = 0x002D4804
	ioctlStorageEjectMedia    = 0x002D4808
	fsctlLockVolume           = 0x00090018
	fsctlDismountVolume       = 0x00090020
)

// Drives lists the drive letters on removable media or a USB or SD bus
// (with all, every drive letter with a filesystem).
func (s System) Drives(all bool) ([]Drive, error) {
	mask, err := windows.GetLogicalDrives()
	if err != nil {
		return nil, fmt.Errorf("list drives: %w", err)
	}
	var out []Drive
	for i := 0; i < 26; i++ {
		if mask&(1<<i) == 0 {
			continue
		}
		root := string(rune('A'+i)) + `:\`
		d, ok := s.drive(root)
		if ok && (d.Removable || all && len(d.Mounts) > 0) {
			out = append(out, d)
		}
	}
	return out, nil
}

func (System) drive(root string) (Drive, bool) {
	p, _ := windows.UTF16PtrFromString(root)
	typ := windows.GetDriveType(p)
	if typ != windows.DRIVE_REMOVABLE && typ != windows.DRIVE_FIXED {
		return Drive{}, false // network, CD, RAM disks
	}
	dev := `\\.\` + root[:2]
	d := Drive{Device: dev, Removable: typ == windows.DRIVE_REMOVABLE}
	if desc, err := queryStorage(dev); err == nil {
		d.Vendor, d.Model, d.Serial, d.Bus = desc.Vendor, desc.Product, desc.Serial, busName(desc.Bus)
		d.Removable = d.Removable || desc.Removable || d.Bus == "usb" || d.Bus == "mmc"
	}
	if m, err := mountOfRoot(root); err == nil {
		d.Mounts = []Mount{m}
		if sp, err := SpaceOf(root, m.FSType); err == nil {
			d.Capacity = sp.Size
		}
	}
	return d, true
}

// mountOfRoot describes the volume at a root such as E:\.
func mountOfRoot(root string) (Mount, error) {
	p, _ := windows.UTF16PtrFromString(root)
	var name, fs [windows.MAX_PATH + 1]uint16
	var serial, maxLen, flags uint32
	if err := windows.GetVolumeInformation(p, &name[0], uint32(len(name)), &serial, &maxLen, &flags, &fs[0], uint32(len(fs))); err != nil {
		return Mount{}, fmt.Errorf("volume %s: %w", root, err)
	}
	return Mount{Device: `\\.\` + root[:2], Point: root, FSType: strings.ToLower(windows.UTF16ToString(fs[:])),
		Label: windows.UTF16ToString(name[:]), FSID: volumeSerial(serial), ReadOnly: flags&windows.FILE_READ_ONLY_VOLUME != 0}, nil
}

// queryStorage asks the disk behind a volume for its storage descriptor.
func queryStorage(dev string) (storageDescriptor, error) {
	p, _ := windows.UTF16PtrFromString(dev)
	h, err := windows.CreateFile(p, 0, windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE, nil, windows.OPEN_EXISTING, 0, 0)
	if err != nil {
		return storageDescriptor{}, err
	}
	defer windows.CloseHandle(h)
	var query [12]byte // STORAGE_PROPERTY_QUERY{StorageDeviceProperty, PropertyStandardQuery}
	out := make([]byte, 1024)
	var n uint32
	if err := windows.DeviceIoControl(h, ioctlStorageQueryProperty, &query[0], uint32(len(query)), &out[0], uint32(len(out)), &n, nil); err != nil {
		return storageDescriptor{}, err
	}
	return parseStorageDescriptor(out[:n])
}

// Mounts lists the volumes on drive letters.
func (s System) Mounts() ([]Mount, error) {
	ds, err := s.Drives(true)
	if err != nil {
		return nil, err
	}
	var out []Mount
	for _, d := range ds {
		out = append(out, d.Mounts...)
	}
	return out, nil
}

// MountOf returns the volume holding path.
func (System) MountOf(path string) (Mount, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return Mount{}, err
	}
	p, _ := windows.UTF16PtrFromString(abs)
	var vol [windows.MAX_PATH + 1]uint16
	if err := windows.GetVolumePathName(p, &vol[0], uint32(len(vol))); err != nil {
		return Mount{}, fmt.Errorf("no volume holds %s: %w", path, err)
	}
	return mountOfRoot(windows.UTF16ToString(vol[:]))
}

// SpaceOf reports a volume's size, the space free to this user and the
// largest file its filesystem holds.
func SpaceOf(path, fsType string) (Space, error) {
	p, _ := windows.UTF16PtrFromString(path)
	var free, total, totalFree uint64
	if err := windows.GetDiskFreeSpaceEx(p, &free, &total, &totalFree); err != nil {
		return Space{}, fmt.Errorf("free space of %s: %w", path, err)
	}
	return Space{Size: int64(total), Free: int64(free), MaxFile: MaxFileSize(fsType)}, nil
}

// Eject flushes, locks and dismounts the volume at point (E:\) and ejects
// its medium, as "Safely Remove" does for the volume.
func Eject(point string) (string, error) {
	m, err := Host.MountOf(point)
	if err != nil {
		return "", err
	}
	p, _ := windows.UTF16PtrFromString(m.Device)
	h, err := windows.CreateFile(p, windows.GENERIC_READ|windows.GENERIC_WRITE, windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE, nil, windows.OPEN_EXISTING, 0, 0)
	if err != nil {
		return "", fmt.Errorf("eject %s: %w", point, err)
	}
	defer windows.CloseHandle(h)
	_ = windows.FlushFileBuffers(h)
	var n uint32
	if err := windows.DeviceIoControl(h, fsctlLockVolume, nil, 0, nil, 0, &n, nil); err != nil {
		return "", fmt.Errorf("eject %s: the drive is in use (%v); close any window or program using it and try again", point, err)
	}
	if err := windows.DeviceIoControl(h, fsctlDismountVolume, nil, 0, nil, 0, &n, nil); err != nil {
		return "", fmt.Errorf("eject %s: dismount: %w", point, err)
	}
	allow := byte(0) // PREVENT_MEDIA_REMOVAL{PreventMediaRemoval: FALSE}
	_ = windows.DeviceIoControl(h, ioctlStorageMediaRemoval, &allow, uint32(unsafe.Sizeof(allow)), nil, 0, &n, nil)
	if err := windows.DeviceIoControl(h, ioctlStorageEjectMedia, nil, 0, nil, 0, &n, nil); err != nil {
		return "dismounted (the medium could not be ejected: remove it now)", nil
	}
	return "dismounted and ejected", nil
}

// MountDevice is not needed on Windows, which mounts volumes itself.
func MountDevice(dev string) (string, error) {
	return "", errors.New("Windows mounts drives by itself: use the drive letter (sluice media list)")
}
