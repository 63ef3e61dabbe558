//go:build linux

package app

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"sluice/transfer/media"
)

// TestLongFAT32Over4GiB packs a bundle of more than 4 GiB onto a real
// FAT32 filesystem with the real limits, reads it back from the medium,
// and receives it. This kernel has no vfat, so the filesystem is driven by
// fusefat, which stops files at 2 GiB (checked first, so a fixed driver is
// noticed): the bundle must be cut to that. FUSE FAT writes slowly, so
// this runs only from make test-long (SLUICE_TEST_LONG=1); make test
// covers the same logic on a small image with the limit lowered.
func TestLongFAT32Over4GiB(t *testing.T) {
	if os.Getenv("SLUICE_TEST_LONG") == "" {
		t.Skip("long test: run make test-long (SLUICE_TEST_LONG=1) to write a 4.2 GiB bundle through fusefat")
	}
	needRoot(t, "fusefat", "mkfs.vfat", "fusermount", "truncate")
	if media.FATLimit != media.FAT32MaxFile {
		t.Fatal("the FAT limit is lowered; this test needs the real one")
	}
	// The driver's own limit, which MaxFileSize reports for it, probed on
	// an image of its own: a write refused past 2 GiB leaves fusefat's
	// FAT damaged (new folders then cannot take files; fsck.vfat agrees).
	probe := filepath.Join(mountFAT32(t, "3G"), "probe.bin")
	pf, err := os.Create(probe)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 8<<20)
	var wrote int64
	for wrote < media.FusefatMaxFile+int64(len(chunk)) {
		n, err := pf.Write(chunk)
		wrote += int64(n)
		if err != nil {
			break
		}
	}
	pf.Close()
	os.Remove(probe)
	if wrote != media.FusefatMaxFile {
		t.Fatalf("fusefat let a file grow to %d bytes; MaxFileSize says %d: update FusefatMaxFile", wrote, media.FusefatMaxFile)
	}
	mnt := mountFAT32(t, "6G")
	sender, kiosk := pair(t, false)
	src := stage(t, map[string]string{"readme.txt": "over four gibibytes"})
	// A sparse file reads as zeros quickly; what reaches the medium is
	// ciphertext all the same.
	big := filepath.Join(src, "image.raw")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(4<<30 + 200<<20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	srcs, _ := StagePaths([]string{src})
	sealed, err := sender.Pack(context.Background(), PackRequest{To: []string{"kiosk-1"}, OutDir: mnt, Sources: srcs, ReadBack: ReadBackAlways})
	if err != nil {
		t.Fatal(err)
	}
	vols := sealed.Envelope.Payload.Volumes
	if len(vols) != 3 || vols[0].Size != media.FusefatMaxFile || vols[1].Size != media.FusefatMaxFile {
		t.Fatalf("volumes %+v: want them cut at fusefat's 2 GiB", vols)
	}
	out := t.TempDir()
	r, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: out})
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(r.Dir, "outbox", "image.raw"))
	if err != nil || info.Size() != 4<<30+200<<20 {
		t.Fatalf("released image: %v %v", info, err)
	}
}
