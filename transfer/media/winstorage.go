package media

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// Windows describes a disk in a STORAGE_DEVICE_DESCRIPTOR, the answer to
// IOCTL_STORAGE_QUERY_PROPERTY. Its parsing lives here, outside the
// windows build, so it is tested everywhere.

// storageBusUSB is STORAGE_BUS_TYPE's BusTypeUsb.
const storageBusUSB = 7

// storageDescriptor is what Sluice reads of a STORAGE_DEVICE_DESCRIPTOR.
type storageDescriptor struct {
	Vendor, Product, Serial string
	Removable               bool
	Bus                     uint32
}

// parseStorageDescriptor parses a STORAGE_DEVICE_DESCRIPTOR:
//
//	DWORD Version, Size; BYTE DeviceType, DeviceTypeModifier;
//	BOOLEAN RemovableMedia, CommandQueueing;
//	DWORD VendorIdOffset, ProductIdOffset, ProductRevisionOffset,
//	      SerialNumberOffset; STORAGE_BUS_TYPE BusType; DWORD RawPropertiesLength; …
//
// The strings are NUL-terminated ASCII at the given offsets (0: absent).
func parseStorageDescriptor(b []byte) (storageDescriptor, error) {
	var d storageDescriptor
	if len(b) < 36 {
		return d, fmt.Errorf("storage descriptor too short (%d bytes)", len(b))
	}
	size := int(binary.LittleEndian.Uint32(b[4:]))
	if size < 36 || size > len(b) {
		size = len(b)
	}
	b = b[:size]
	str := func(off uint32) string {
		if off == 0 || int(off) >= len(b) {
			return ""
		}
		s := b[off:]
		if i := strings.IndexByte(string(s), 0); i >= 0 {
			s = s[:i]
		}
		return strings.TrimSpace(string(s))
	}
	d.Removable = b[10] != 0
	d.Vendor = str(binary.LittleEndian.Uint32(b[12:]))
	d.Product = str(binary.LittleEndian.Uint32(b[16:]))
	d.Serial = str(binary.LittleEndian.Uint32(b[24:]))
	d.Bus = binary.LittleEndian.Uint32(b[28:])
	return d, nil
}

// busName names a STORAGE_BUS_TYPE the way Drive.Bus does.
func busName(bus uint32) string {
	switch bus {
	case storageBusUSB:
		return "usb"
	case 12: // BusTypeSd
		return "mmc"
	case 17: // BusTypeNvme
		return "nvme"
	case 11: // BusTypeSata
		return "sata"
	}
	return ""
}

// volumeSerial formats a volume serial number as Windows and blkid show a
// FAT or exFAT one: XXXX-XXXX.
func volumeSerial(v uint32) string { return fmt.Sprintf("%04X-%04X", v>>16, v&0xffff) }
