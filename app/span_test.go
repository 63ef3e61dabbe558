//go:build linux

package app

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sluice/transfer/bundle"
	"sluice/transfer/custody"
)

// TestSpanTwoSmallDrives seals 30 MiB for two 24 MiB drives, exFAT and
// ext4 on real loop devices. The officer first offers the first drive
// again and then a drive that is too small; both are refused with a reason
// and asked for again. Each drive gets its share, a label, a read-back and
// its own written and verified records. The kiosk, given the second drive
// first, asks for the first by number, then releases, then wipes both.
func TestSpanTwoSmallDrives(t *testing.T) {
	needRoot(t, "losetup", "truncate", "mkfs.exfat", "mount.exfat-fuse", "mkfs.ext4", "mount", "umount")
	d1, d2 := mountLoopSize(t, "exfat", "24M"), mountLoopSize(t, "ext4", "24M")
	tiny := mountTmpfs(t, "2m")

	sender, kiosk := pair(t, false)
	src := stage(t, map[string]string{"readme.txt": "two drives"})
	writeRandom(t, filepath.Join(src, "survey.bin"), 30<<20, 3)
	srcs, _ := StagePaths([]string{src})

	// Without a way to ask for more drives, the pack is refused up front.
	_, err := sender.Pack(context.Background(), PackRequest{To: []string{"kiosk-1"}, OutDir: d1, Sources: srcs})
	if err == nil || !strings.Contains(err.Error(), "--span") {
		t.Fatalf("pack too large for one drive without spanning: %v", err)
	}

	offers := []string{d1, tiny, d2}
	var asks []DriveAsk
	var phases []string
	sealed, err := sender.Pack(context.Background(), PackRequest{To: []string{"kiosk-1"}, OutDir: d1, Sources: srcs, ReadBack: ReadBackAlways,
		Phase: func(p string) { phases = append(phases, p) },
		NextDrive: func(ctx context.Context, ask DriveAsk) (string, error) {
			asks = append(asks, ask)
			if len(offers) == 0 {
				return "", context.Canceled
			}
			next := offers[0]
			offers = offers[1:]
			return next, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	e := sealed.Envelope
	if e.Span == nil || e.Span.Drives != 2 || len(sealed.Parts) != 2 {
		t.Fatalf("span %+v, parts %v", e.Span, sealed.Parts)
	}
	if len(asks) != 3 || asks[0].Drive != 2 || asks[0].Drives != 2 || asks[0].Problem != "" || asks[0].Previous != "drive 1 of 2 written and verified" ||
		!strings.Contains(asks[1].Problem, "already holds bundle") || !strings.Contains(asks[2].Problem, "free; drive 2 of 2 needs") {
		t.Fatalf("asks: %+v", asks)
	}
	if strings.Join(phases, "|") != PhaseSealSpool+"|Writing drive 1 of 2|"+PhaseReadBack+"|Writing drive 2 of 2|"+PhaseReadBack {
		t.Errorf("phases: %q", phases)
	}
	for k, part := range sealed.Parts {
		if _, err := os.Stat(filepath.Join(part, bundle.LabelName(k, 2))); err != nil {
			t.Errorf("drive %d has no label: %v", k+1, err)
		}
	}
	if ents, _ := os.ReadDir(tiny); len(ents) != 0 {
		t.Errorf("the refused drive was written to: %v", ents)
	}
	if ents, _ := os.ReadDir(filepath.Join(sender.Home, "spool", "out")); len(ents) != 0 {
		t.Errorf("the outgoing spool was not emptied: %v", ents)
	}
	var written, verified []custody.Record
	for _, r := range events(t, sender) {
		switch r.Event {
		case custody.EventWritten:
			written = append(written, r)
		case custody.EventVerified:
			verified = append(verified, r)
		}
	}
	if len(written) != 2 || len(verified) != 2 || written[0].Media == nil || !strings.Contains(written[0].Media.Filesystem, "exfat") ||
		written[1].Media == nil || written[1].Media.Filesystem != "ext4" || !strings.HasPrefix(verified[1].Reason, "drive 2 of 2: volume") ||
		written[0].Bytes+written[1].Bytes != e.Payload.Size {
		t.Fatalf("custody: written %+v (%+v, %+v) verified %+v", written, written[0].Media, written[1].Media, verified)
	}

	// The kiosk gets drive 2 first.
	out := t.TempDir()
	_, err = kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Parts[1], OutDir: out})
	var md *MissingDrivesError
	if !errors.As(err, &md) || errors.Is(err, ErrRejected) || len(md.Missing) != 1 || md.Missing[0].Drive != 1 ||
		!strings.Contains(err.Error(), "insert drive 1 of 2 (volume") {
		t.Fatalf("receive drive 2 alone: %v", err)
	}
	if ents, _ := os.ReadDir(out); len(ents) != 0 {
		t.Fatalf("something was released from one drive: %v", ents)
	}
	// The release fails for want of a destination (not a rejection): the
	// gathered volumes wait for the next try, so the drives need not come
	// back.
	_, err = kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Parts[0], OutDir: "/dev/null/inbox"})
	if err == nil || errors.Is(err, ErrRejected) {
		t.Fatalf("release into an impossible folder: %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(kiosk.Home, "spool", "in")); len(ents) != 1 {
		t.Fatalf("spool after a failed release: %v (%v)", ents, err)
	}
	r, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Parts[0], OutDir: out})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(filepath.Join(src, "survey.bin"))
	got, _ := os.ReadFile(filepath.Join(r.Dir, "outbox", "survey.bin"))
	if !bytes.Equal(got, want) {
		t.Fatal("released content differs")
	}
	if rec := lastEvent(t, kiosk); rec.Event != custody.EventReleased {
		t.Fatalf("last kiosk record %+v", rec)
	}
	if ents, _ := os.ReadDir(filepath.Join(kiosk.Home, "spool", "in")); len(ents) != 0 {
		t.Errorf("the incoming spool was not emptied: %v", ents)
	}
	// Both logs verify, and the bundle reconciles across the gap.
	sv, _ := kiosk.Verifier("sender-1")
	rc, err := custody.Reconcile(sender.CustodyPath, kiosk.CustodyPath, sv, custody.Origin("sender-1"))
	if err != nil || len(rc.Bundles) != 1 || !rc.OK() {
		t.Fatalf("reconcile: %v %+v", err, rc)
	}
	for _, s := range []*Station{sender, kiosk} {
		v, _ := s.Verifier(s.Name)
		if rep, err := VerifyLog(LogRef{Path: s.CustodyPath, Station: s.Name, Verifier: v}, nil); err != nil || !rep.OK() {
			t.Fatalf("%s log: %v %+v", s.Name, err, rep)
		}
	}
	for _, part := range sealed.Parts {
		if err := kiosk.Wipe(part, ""); err != nil {
			t.Fatal(err)
		}
	}
	// Drive 1 again, after release: a replay.
	if _, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Parts[0], OutDir: out}); err == nil {
		t.Fatal("a wiped drive was received")
	}
}

// TestSpanAbandoned gives up at the second drive: the first drive's share
// is named as incomplete in the error and the custody log.
func TestSpanAbandoned(t *testing.T) {
	needRoot(t, "mount", "umount")
	d1 := mountTmpfs(t, "4m")
	sender, _ := pair(t, false)
	src := stage(t, map[string]string{"readme.txt": "x"})
	writeRandom(t, filepath.Join(src, "big.bin"), 6<<20, 4)
	srcs, _ := StagePaths([]string{src})
	_, err := sender.Pack(context.Background(), PackRequest{To: []string{"kiosk-1"}, OutDir: d1, Sources: srcs,
		NextDrive: func(ctx context.Context, ask DriveAsk) (string, error) { return "", context.Canceled }})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "abandoned at drive 2 of") || !strings.Contains(err.Error(), d1) {
		t.Fatalf("abandoned span: %v", err)
	}
	if r := lastEvent(t, sender); r.Event != custody.EventWriteFailed || !strings.Contains(r.Reason, "cancelled by the officer") {
		t.Fatalf("custody: %+v", r)
	}
}

// TestStaleSpoolDropped: a drive gathered long ago, whose others never
// came, is cleared from the spool when another drive is read.
func TestStaleSpoolDropped(t *testing.T) {
	_, kiosk := pair(t, false)
	spool := filepath.Join(kiosk.Home, "spool", "in")
	old := filepath.Join(spool, "20200101T000000Z-0000000000000000.sluice")
	os.MkdirAll(old, 0o700)
	long := time.Now().Add(-kiosk.Policy.MaxAge - time.Hour)
	os.Chtimes(old, long, long)
	kiosk.dropStale(spool)
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Fatal("stale spool entry kept")
	}
}

// TestFreeForIsWhatIsChecked: a drive with exactly the free space the
// officer is told to bring has room for its share, and 64 bytes less does
// not, so the number asked for and the check agree.
func TestFreeForIsWhatIsChecked(t *testing.T) {
	for _, share := range []int64{1, 64 << 10, 3<<20 + 17, 4<<30 - 1, 29 << 30} {
		if f := freeFor(share); shareRoom(f) < share || shareRoom(f-64) >= share {
			t.Errorf("share %d: freeFor %d gives room %d (and %d with 64 bytes less)", share, f, shareRoom(f), shareRoom(f-64))
		}
	}
}
