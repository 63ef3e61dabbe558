package media

import (
	"encoding/binary"
	"os"
	"reflect"
	"testing"
)

// TestDiskutilPlists reads property lists in the form macOS's diskutil
// writes them and builds the drive an officer would see.
func TestDiskutilPlists(t *testing.T) {
	read := func(name string) []byte {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	mounted, whole, err := parseDiskutilList(read("diskutil-list.plist"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(whole, []string{"disk4", "disk5"}) || !reflect.DeepEqual(mounted, map[string][]string{"disk4": {"disk4s1"}}) {
		t.Fatalf("whole %v, mounted %v", whole, mounted)
	}
	di, err := parseDiskutilInfo(read("diskutil-info-disk4.plist"))
	if err != nil {
		t.Fatal(err)
	}
	d := di.drive()
	if d.Device != "/dev/disk4" || d.Model != "SanDisk Cruzer Blade" || d.Capacity != 16008609792 || !d.Removable || d.Bus != "usb" {
		t.Fatalf("drive %+v", d)
	}
	vi, err := parseDiskutilInfo(read("diskutil-info-disk4s1.plist"))
	if err != nil {
		t.Fatal(err)
	}
	m := vi.mount()
	want := Mount{Device: "/dev/disk4s1", Point: "/Volumes/TRANSFER", FSType: "msdos", Label: "TRANSFER", FSID: "0E2B8F7A-8C4B-3B0B-9D0B-6C2D3F1A1B2C"}
	if m != want {
		t.Fatalf("mount %+v, want %+v", m, want)
	}
	if MaxFileSize(m.FSType) != FAT32MaxFile {
		t.Errorf("a FAT32 volume on macOS (%s) is not limited to 4 GiB − 1 per file", m.FSType)
	}
	if _, _, err := parseDiskutilList([]byte("not a plist")); err == nil {
		t.Error("garbage parsed as a diskutil list")
	}
}

// TestStorageDescriptor parses a STORAGE_DEVICE_DESCRIPTOR laid out as
// Windows returns it for a USB stick, and survives short or lying ones.
func TestStorageDescriptor(t *testing.T) {
	b := make([]byte, 96)
	binary.LittleEndian.PutUint32(b[0:], 40)
	binary.LittleEndian.PutUint32(b[4:], 96)
	b[10] = 1                                 // RemovableMedia
	binary.LittleEndian.PutUint32(b[12:], 40) // VendorIdOffset
	binary.LittleEndian.PutUint32(b[16:], 49) // ProductIdOffset
	binary.LittleEndian.PutUint32(b[24:], 70) // SerialNumberOffset
	binary.LittleEndian.PutUint32(b[28:], 7)  // BusTypeUsb
	copy(b[40:], "SanDisk \x00Cruzer Blade        \x004C530001\x00")
	d, err := parseStorageDescriptor(b)
	if err != nil {
		t.Fatal(err)
	}
	if d.Vendor != "SanDisk" || d.Product != "Cruzer Blade" || d.Serial != "4C530001" || !d.Removable || busName(d.Bus) != "usb" {
		t.Fatalf("%+v", d)
	}
	if _, err := parseStorageDescriptor(b[:20]); err == nil {
		t.Error("a short descriptor parsed")
	}
	binary.LittleEndian.PutUint32(b[12:], 5000) // offset past the end
	if d, err := parseStorageDescriptor(b); err != nil || d.Vendor != "" {
		t.Errorf("offset past the end: %+v %v", d, err)
	}
	if volumeSerial(0x4C25DAAF) != "4C25-DAAF" {
		t.Error(volumeSerial(0x4C25DAAF))
	}
}
