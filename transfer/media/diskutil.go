package media

import (
	"fmt"
	"strings"

	"howett.net/plist"
)

// macOS describes disks through diskutil's property lists ("diskutil list
// -plist", "diskutil info -plist"). Their parsing lives here, outside the
// darwin build, so it is tested everywhere.

// diskutilList is the part of "diskutil list -plist" Sluice reads.
type diskutilList struct {
	WholeDisks            []string
	AllDisksAndPartitions []struct {
		DeviceIdentifier string
		MountPoint       string
		Partitions       []struct {
			DeviceIdentifier string
			MountPoint       string
		}
		APFSVolumes []struct {
			DeviceIdentifier string
			MountPoint       string
		}
	}
}

// diskutilInfo is the part of "diskutil info -plist DISK" Sluice reads.
type diskutilInfo struct {
	DeviceIdentifier    string
	DeviceNode          string
	MediaName           string
	IORegistryEntryName string
	TotalSize           int64
	Size                int64
	Internal            bool
	Removable           bool
	RemovableMedia      bool
	Ejectable           bool
	BusProtocol         string
	MountPoint          string
	FilesystemType      string
	VolumeName          string
	VolumeUUID          string
	WritableVolume      bool
}

// parseDiskutilList returns, for each whole disk, the identifiers of the
// disk itself and of its partitions and volumes that are mounted.
func parseDiskutilList(b []byte) (map[string][]string, []string, error) {
	var l diskutilList
	if _, err := plist.Unmarshal(b, &l); err != nil {
		return nil, nil, fmt.Errorf("read diskutil list: %w", err)
	}
	mounted := map[string][]string{}
	for _, d := range l.AllDisksAndPartitions {
		if d.MountPoint != "" {
			mounted[d.DeviceIdentifier] = append(mounted[d.DeviceIdentifier], d.DeviceIdentifier)
		}
		for _, p := range d.Partitions {
			if p.MountPoint != "" {
				mounted[d.DeviceIdentifier] = append(mounted[d.DeviceIdentifier], p.DeviceIdentifier)
			}
		}
		for _, v := range d.APFSVolumes {
			if v.MountPoint != "" {
				mounted[d.DeviceIdentifier] = append(mounted[d.DeviceIdentifier], v.DeviceIdentifier)
			}
		}
	}
	return mounted, l.WholeDisks, nil
}

// parseDiskutilInfo parses "diskutil info -plist".
func parseDiskutilInfo(b []byte) (diskutilInfo, error) {
	var i diskutilInfo
	if _, err := plist.Unmarshal(b, &i); err != nil {
		return i, fmt.Errorf("read diskutil info: %w", err)
	}
	return i, nil
}

// drive turns a whole disk's info into a Drive (without mounts).
func (i diskutilInfo) drive() Drive {
	d := Drive{Device: "/dev/" + i.DeviceIdentifier, Model: strings.TrimSpace(i.MediaName), Capacity: i.TotalSize,
		Bus: strings.ToLower(i.BusProtocol)}
	if d.Model == "" {
		d.Model = strings.TrimSpace(i.IORegistryEntryName)
	}
	if d.Capacity == 0 {
		d.Capacity = i.Size
	}
	d.Removable = i.Removable || i.RemovableMedia || i.Ejectable || !i.Internal
	return d
}

// mount turns a mounted volume's info into a Mount.
func (i diskutilInfo) mount() Mount {
	return Mount{Device: "/dev/" + i.DeviceIdentifier, Point: i.MountPoint, FSType: i.FilesystemType,
		Label: i.VolumeName, FSID: i.VolumeUUID, ReadOnly: !i.WritableVolume}
}
