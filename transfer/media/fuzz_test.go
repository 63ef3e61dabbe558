//go:build linux

package media

import (
	"encoding/binary"
	"strings"
	"testing"
)

// FuzzProbe feeds boot sectors and superblocks, which come from whatever
// stick is inserted, to the filesystem probe: it must never panic.
func FuzzProbe(f *testing.F) {
	exfat := make([]byte, 2048)
	copy(exfat[3:], "EXFAT   ")
	fat := make([]byte, 2048)
	copy(fat[82:], "FAT32   ")
	ext := make([]byte, 2048)
	binary.LittleEndian.PutUint16(ext[1024+0x38:], 0xEF53)
	for _, s := range [][]byte{exfat, fat, ext, nil} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		buf := make([]byte, 2048)
		copy(buf, b)
		fsType, _ := probeBytes(buf)
		switch fsType {
		case "", "exfat", "ntfs", "vfat":
		default:
			t.Fatalf("probe named %q", fsType)
		}
	})
}

// FuzzStorageDescriptor feeds storage descriptors, which a USB device's
// firmware writes, to their parser: it must never panic.
func FuzzStorageDescriptor(f *testing.F) {
	b := make([]byte, 64)
	binary.LittleEndian.PutUint32(b[4:], 64)
	binary.LittleEndian.PutUint32(b[12:], 40)
	copy(b[40:], "Vendor\x00")
	f.Add(b)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := parseStorageDescriptor(b)
		if err != nil {
			return
		}
		// The offsets may point anywhere, even at the same string, but
		// each string is a NUL-free piece of the descriptor.
		for _, s := range []string{d.Vendor, d.Product, d.Serial} {
			if len(s) > len(b) || strings.IndexByte(s, 0) >= 0 {
				t.Fatalf("string %q is not a piece of the descriptor", s)
			}
		}
	})
}
