//go:build linux

package app

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sluice/internal/fakestick"
	"sluice/transfer/custody"
)

// TestFakeStickFailsReadBack packs 120 MiB onto a stick that claims 256
// MiB but keeps 64 MiB (what is written past that wraps around onto the
// start), formatted exFAT and mounted with exfat-fuse, reading back
// always. The driver reads the device through the kernel's cache of it,
// which used to answer the read-back: the bundle was recorded verified on
// a drive that had overwritten it. Now the read-back must fail every time
// and nothing be recorded verified; the same stick with ext4 fails too,
// and an honest stick is verified from the medium.
func TestFakeStickFailsReadBack(t *testing.T) {
	needRoot(t, "mkfs.exfat", "mount.exfat-fuse", "mkfs.ext4", "mount", "umount", "losetup")
	const claim, keep = 256 << 20, 64 << 20
	fake := fakestick.New(t, claim, keep)
	sender, _ := pair(t, false)
	src := stage(t, map[string]string{"readme.txt": "survey"})
	writeRandom(t, filepath.Join(src, "survey.bin"), 120<<20, 9)
	srcs, _ := StagePaths([]string{src})
	pack := func(fs, dev string) (error, []custody.Record) {
		t.Helper()
		mnt, umount := fakestick.Format(t, dev, fs)
		defer umount()
		before := len(events(t, sender))
		start := time.Now()
		_, err := sender.Pack(context.Background(), PackRequest{To: []string{"kiosk-1"}, OutDir: mnt, Sources: srcs, ReadBack: ReadBackAlways})
		t.Logf("%s on %s after %v: %v", fs, dev, time.Since(start).Round(time.Millisecond), err)
		return err, events(t, sender)[before:]
	}
	for run := range 2 {
		err, recs := pack("exfat", fake)
		for _, r := range recs {
			if r.Event == custody.EventVerified {
				t.Fatalf("run %d: a bundle on a 64 MiB stick claiming 256 MiB was recorded verified: %+v", run+1, r)
			}
		}
		if !errors.Is(err, errReadBack) || !strings.Contains(err.Error(), "is corrupt") {
			t.Fatalf("run %d: pack onto the fake stick under exfat-fuse: %v", run+1, err)
		}
		if last := recs[len(recs)-1]; last.Event != custody.EventWriteFailed || !strings.Contains(last.Reason, "read-back failed") {
			t.Fatalf("run %d: last record %+v", run+1, last)
		}
	}

	err, recs := pack("ext4", fake)
	if err == nil || recs[len(recs)-1].Event == custody.EventVerified {
		t.Fatalf("pack onto the fake stick with ext4: %v, %+v", err, recs[len(recs)-1])
	}

	honest := fakestick.New(t, claim, claim)
	if err, recs = pack("exfat", honest); err != nil {
		t.Fatal(err)
	}
	if last := recs[len(recs)-1]; last.Event != custody.EventVerified || strings.Contains(last.Reason, "cache") {
		t.Fatalf("honest stick: last record %+v", last)
	}
}
