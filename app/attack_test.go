//go:build linux

package app

// Faults found by attacking the kiosk (issue 9), one test per kind, each
// with the example seen and its neighbours.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"sluice/crypto"
	"sluice/transfer/bundle"
	"sluice/transfer/custody"
)

// receiveChild, when SLUICE_TEST_CHILD is set, is a second Sluice process:
// it loads the station in SLUICE_TEST_HOME and receives SLUICE_TEST_BUNDLE
// into SLUICE_TEST_OUT, then exits 0 (released), 1 (rejected) or 2.
func TestReceiveChild(t *testing.T) {
	if os.Getenv("SLUICE_TEST_CHILD") == "" {
		t.Skip("run as a child process by the tests below")
	}
	if at := os.Getenv("SLUICE_TEST_DIE_AT"); at != "" {
		testHookAt = func(point string) {
			if point == at {
				os.Exit(9) // as a power cut would
			}
		}
	}
	st, err := Load(os.Getenv("SLUICE_TEST_HOME"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if id := os.Getenv("SLUICE_TEST_RELEASE_HELD"); id != "" {
		_, err = st.ReleaseHeld(context.Background(), id, Decision{})
	} else {
		_, err = st.Receive(context.Background(), ReceiveRequest{BundleDir: os.Getenv("SLUICE_TEST_BUNDLE"), OutDir: os.Getenv("SLUICE_TEST_OUT"),
			Progress: func(done, total int64) {
				if done > 0 {
					fmt.Println("progress")
				}
			}})
	}
	switch {
	case err == nil:
		os.Exit(0)
	case errors.Is(err, ErrRejected):
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	default:
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}

func childReceive(st *Station, dir, out string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestReceiveChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "SLUICE_TEST_CHILD=1", "SLUICE_TEST_HOME="+st.Home, "SLUICE_TEST_BUNDLE="+dir, "SLUICE_TEST_OUT="+out)
	return cmd
}

// Kind 1: two receives of one bundle at once, in two processes, never
// release a partial bundle: exactly one releases every file, the other is
// refused with a clear message and a record. Run many times, with the
// second started at different moments of the first.
func TestTwoReceivesAtOnce(t *testing.T) {
	sender, kiosk := pair(t, false)
	files := map[string]string{}
	for i := range 300 {
		files[fmt.Sprintf("f%04d.bin", i)] = strings.Repeat(string(rune('a'+i%26)), 64<<10)
	}
	src := stage(t, files)
	for round, delay := range []time.Duration{0, 20 * time.Millisecond, 60 * time.Millisecond, 120 * time.Millisecond, 200 * time.Millisecond, 350 * time.Millisecond} {
		sealed := pack(t, sender, "kiosk-1", src)
		out := t.TempDir()
		before := len(events(t, kiosk))
		a := childReceive(kiosk, sealed.Dir, out)
		var aErr, bErr bytes.Buffer
		a.Stderr = &aErr
		if err := a.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		b := childReceive(kiosk, sealed.Dir, out)
		b.Stderr = &bErr
		bRunErr := b.Run()
		aRunErr := a.Wait()
		codes := []int{exitCode(aRunErr), exitCode(bRunErr)}
		if (codes[0] == 0) == (codes[1] == 0) {
			t.Fatalf("round %d: exit codes %v, want one 0 (stderr %q / %q)", round, codes, aErr.String(), bErr.String())
		}
		loser := bErr.String() + aErr.String()
		if !strings.Contains(loser, "another Sluice process on this station is receiving") && !strings.Contains(loser, "already received here") {
			t.Errorf("round %d: the refused receive says %q", round, loser)
		}
		ents, err := os.ReadDir(filepath.Join(out, sealed.Envelope.ID, "outbox"))
		if err != nil || len(ents) != len(files) {
			t.Fatalf("round %d: released %d files, want all %d (%v)", round, len(ents), len(files), err)
		}
		for _, e := range ents {
			b, _ := os.ReadFile(filepath.Join(out, sealed.Envelope.ID, "outbox", e.Name()))
			if string(b) != files[e.Name()] {
				t.Fatalf("round %d: %s differs", round, e.Name())
			}
		}
		if left, _ := os.ReadDir(out); len(left) != 1 {
			t.Errorf("round %d: the release folder holds %d entries, want just the bundle", round, len(left))
		}
		recs := events(t, kiosk)[before:]
		var released, refused int
		for _, r := range recs {
			switch {
			case r.Event == custody.EventReleased:
				released++
			case r.Event == custody.EventRejected && r.Bundle == sealed.Envelope.ID:
				refused++
			}
		}
		if released != 1 || refused != 1 {
			t.Errorf("round %d: %d released and %d refusal records, want 1 and 1: %+v", round, released, refused, recs)
		}
	}
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// Kind 3: a FIFO, a device, a socket or a link where a bundle's file should
// be never hangs the kiosk: each is refused at once, and on a drive the
// bundles after it are still read.
func TestSpecialFilesOnTheStick(t *testing.T) {
	sender, kiosk := pair(t, false)
	src := stage(t, map[string]string{"a.txt": "alpha"})
	cases := []struct {
		name, file, want string
		make             func(path string) error
	}{
		{"envelope FIFO", bundle.EnvelopeName, "is a FIFO", func(p string) error { return syscall.Mkfifo(p, 0o644) }},
		{"signature FIFO", bundle.EnvelopeSigName, "is a FIFO", func(p string) error { return syscall.Mkfifo(p, 0o644) }},
		{"volume FIFO", bundle.VolumeName(0), "is a FIFO", func(p string) error { return syscall.Mkfifo(p, 0o644) }},
		{"envelope link", bundle.EnvelopeName, "is a symbolic link", func(p string) error { return os.Symlink("/etc/hostname", p) }},
		{"volume link", bundle.VolumeName(0), "is a symbolic link", func(p string) error { return os.Symlink("/dev/zero", p) }},
		{"envelope device", bundle.EnvelopeName, "a device", func(p string) error { return os.Symlink("/dev/zero", p) }},
		{"envelope folder", bundle.EnvelopeName, "is a folder", func(p string) error { return os.Mkdir(p, 0o755) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sealed := pack(t, sender, "kiosk-1", src)
			p := filepath.Join(sealed.Dir, c.file)
			os.Remove(p)
			if err := c.make(p); err != nil {
				t.Fatal(err)
			}
			if c.name == "envelope device" {
				os.Remove(p)
				if err := syscall.Mknod(p, syscall.S_IFCHR|0o644, 0x105); err != nil { // 1:5 is /dev/zero
					t.Skipf("cannot make a device node here (needs root): %v", err)
				}
			}
			done := make(chan error, 2)
			go func() {
				_, err := Inspect(context.Background(), sealed.Dir, kiosk)
				done <- err
			}()
			go func() {
				_, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: t.TempDir()})
				done <- err
			}()
			for range 2 {
				select {
				case err := <-done:
					want := c.want
					if c.name == "envelope link" || c.name == "envelope device" || c.name == "envelope folder" {
						want = strings.TrimPrefix(want, "is ")
					}
					if err == nil || !strings.Contains(err.Error(), want) {
						t.Errorf("got %v, want an error saying %q", err, want)
					}
				case <-time.After(10 * time.Second):
					t.Fatal("the kiosk blocked on a special file")
				}
			}
		})
	}
	// A drive holding a FIFO bundle first and a good bundle after it: the
	// good one is found and released.
	drive := t.TempDir()
	bad := filepath.Join(drive, "00000000T000000Z-0000000000000000.sluice")
	os.Mkdir(bad, 0o755)
	syscall.Mkfifo(filepath.Join(bad, bundle.EnvelopeName), 0o644)
	good := pack(t, sender, "kiosk-1", src)
	moved := filepath.Join(drive, filepath.Base(good.Dir))
	if err := os.Rename(good.Dir, moved); err != nil {
		t.Fatal(err)
	}
	found := FindBundles(drive)
	ok, junk := kiosk.Screen(found)
	if len(found) != 1 || len(ok) != 1 || len(junk) != 0 {
		t.Fatalf("found %v, screened %v, junk %v", found, ok, junk)
	}
	if _, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: ok[0], OutDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
}

// Kind 5: once the envelope is known to be signed by its trusted sender,
// every record of a refusal names the bundle, the sender and the folder;
// before that, only the folder.
func TestRefusalsNameTheBundle(t *testing.T) {
	sender, kiosk := pair(t, false)
	src := stage(t, map[string]string{"a.txt": strings.Repeat("a", 3<<20)})
	cases := []struct {
		name  string
		spoil func(dir string)
		want  string
	}{
		{"volume cut short", func(d string) { os.Truncate(filepath.Join(d, bundle.VolumeName(1)), 1000) }, "is 1000 bytes"},
		{"volume missing", func(d string) { os.Remove(filepath.Join(d, bundle.VolumeName(2))) }, "is missing"},
		{"stray desktop.ini", func(d string) { os.WriteFile(filepath.Join(d, "desktop.ini"), []byte("x"), 0o644) }, `unexpected file "desktop.ini"`},
		{"volume corrupt", func(d string) {
			p := filepath.Join(d, bundle.VolumeName(0))
			b, _ := os.ReadFile(p)
			b[100] ^= 1
			os.WriteFile(p, b, 0o644)
		}, "is corrupt"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sealed := pack(t, sender, "kiosk-1", src)
			c.spoil(sealed.Dir)
			_, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: t.TempDir()})
			if !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want a rejection saying %q", err, c.want)
			}
			r := lastEvent(t, kiosk)
			if r.Event != custody.EventRejected || r.Bundle != sealed.Envelope.ID || r.Peer != "sender-1" || r.Path != sealed.Dir || r.Outcome != "rejected" {
				t.Fatalf("record does not name the bundle, sender and folder: %+v", r)
			}
		})
	}
	// An envelope whose signature fails names no bundle: its id could be
	// anyone's.
	sealed := pack(t, sender, "kiosk-1", src)
	p := filepath.Join(sealed.Dir, bundle.EnvelopeName)
	b, _ := os.ReadFile(p)
	os.WriteFile(p, bytes.Replace(b, []byte(`"files": 1`), []byte(`"files": 2`), 1), 0o644)
	if _, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: t.TempDir()}); !errors.Is(err, ErrRejected) {
		t.Fatal(err)
	}
	if r := lastEvent(t, kiosk); r.Bundle != "" || r.Path != sealed.Dir || r.Event != custody.EventRejected {
		t.Fatalf("forged envelope record: %+v", r)
	}
}

// Kind 5: a folder that appears at OUT/<id> while the bundle is being
// checked is never replaced, and the bundle is neither recorded as
// received nor marked as seen: once the folder is moved away, it is
// received.
func TestStrayFolderDuringExtraction(t *testing.T) {
	sender, kiosk := pair(t, false)
	sealed := pack(t, sender, "kiosk-1", stage(t, map[string]string{"a.bin": strings.Repeat("x", 4<<20)}))
	out := t.TempDir()
	final := filepath.Join(out, sealed.Envelope.ID)
	_, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: out, Progress: func(done, total int64) {
		os.Mkdir(final, 0o755) // empty: a plain rename would replace it
	}})
	if err == nil || errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "appeared while the bundle was being checked") {
		t.Fatalf("got %v, want a failure that is not the bundle's", err)
	}
	if r := lastEvent(t, kiosk); r.Outcome != "failed" {
		t.Fatalf("outcome %q, want failed", r.Outcome)
	}
	if ents, _ := os.ReadDir(final); len(ents) != 0 {
		t.Fatal("the stray folder was replaced or filled")
	}
	for _, r := range events(t, kiosk) {
		if r.Event == custody.EventReceived || r.Event == custody.EventReleased {
			t.Fatalf("a %s record for a bundle that was not released", r.Event)
		}
	}
	if seen, _ := kiosk.seen(sealed.Envelope.ID); seen {
		t.Fatal("marked as seen although not released")
	}
	os.Remove(final)
	if _, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: out}); err != nil {
		t.Fatalf("after the stray folder was moved away: %v", err)
	}
}

// Kind 5: a release folder that is a file, or inside the bundle, or a
// leftover quarantine that cannot be removed: the station's own failures
// are recorded too, as "failed", and exit 2 (not rejections).
func TestReleaseFolderFailuresAreRecorded(t *testing.T) {
	sender, kiosk := pair(t, false)
	sealed := pack(t, sender, "kiosk-1", stage(t, map[string]string{"a.txt": "alpha"}))
	file := filepath.Join(t.TempDir(), "out")
	os.WriteFile(file, []byte("x"), 0o644)
	for _, c := range []struct{ out, want string }{
		{file, "create the release folder"},
		{filepath.Join(file, "sub"), "create the release folder"},
		{sealed.Dir, "the bundle's own folder"},
		{filepath.Join(sealed.Dir, "new"), "the bundle's own folder"}, // not created: it would spoil the bundle
		{filepath.Dir(sealed.Dir), "the folder it is read from"},
	} {
		_, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: c.out})
		if err == nil || errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("release into %s: %v, want an environment error saying %q", c.out, err, c.want)
		}
		if r := lastEvent(t, kiosk); r.Event != custody.EventRejected || r.Outcome != "failed" || r.Bundle != sealed.Envelope.ID {
			t.Errorf("release into %s: record %+v", c.out, r)
		}
	}
	if _, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: t.TempDir()}); err != nil {
		t.Fatalf("after the failures: %v", err)
	}
}

// Kind 9: decrypted, unchecked content never sits in the release folder,
// and what a killed receive leaves in the station is removed at the next
// start.
func TestKilledReceiveLeavesNothingInTheReleaseFolder(t *testing.T) {
	sender, kiosk := pair(t, false)
	files := map[string]string{}
	for i := range 200 {
		files[fmt.Sprintf("f%03d.bin", i)] = strings.Repeat(string(rune('a'+i%26)), 128<<10)
	}
	sealed := pack(t, sender, "kiosk-1", stage(t, files))
	out := t.TempDir()
	cmd := childReceive(kiosk, sealed.Dir, out)
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	stdout.Read(buf) // the first progress: decryption has started
	q := filepath.Join(kiosk.Home, receivingDir, sealed.Envelope.ID)
	for deadline := time.Now().Add(10 * time.Second); ; {
		if ents, _ := os.ReadDir(filepath.Join(q, "outbox")); len(ents) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if ents, _ := os.ReadDir(out); len(ents) != 0 {
		t.Fatalf("the release folder holds %d entries after a killed receive", len(ents))
	}
	info, err := os.Stat(q)
	if err != nil {
		t.Skipf("the receive finished before it could be killed (%v)", err)
	}
	if info.Mode().Perm() != 0o700 {
		t.Errorf("quarantine mode %o, want 0700", info.Mode().Perm())
	}
	if err := kiosk.CleanQuarantines(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(q); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the killed receive's quarantine is still there: %v", err)
	}
	if _, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: out}); err != nil {
		t.Fatal(err)
	}
}

// Kind 4: wipe removes only a folder that is verifiably the released
// bundle, found by its envelope and not its name.
func TestWipeOnlyWhatWasVerified(t *testing.T) {
	sender, kiosk := pair(t, false)
	src := stage(t, map[string]string{"a.txt": "alpha"})
	one, two := pack(t, sender, "kiosk-1", src), pack(t, sender, "kiosk-1", src)
	renamed := filepath.Join(filepath.Dir(one.Dir), "renamed.sluice")
	os.Rename(one.Dir, renamed)
	r, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: renamed, OutDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if BundleIDAt(renamed) != one.Envelope.ID || r.Source != renamed {
		t.Fatalf("the renamed bundle is not found by its envelope: %q, source %q", BundleIDAt(renamed), r.Source)
	}
	if err := kiosk.Wipe(two.Dir, one.Envelope.ID); err == nil || !strings.Contains(err.Error(), "not "+one.Envelope.ID) {
		t.Fatalf("wiping another bundle under the released one's id: %v", err)
	}
	if err := kiosk.Wipe(renamed, one.Envelope.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(renamed); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("the renamed bundle was not wiped")
	}
	if r := lastEvent(t, kiosk); r.Event != custody.EventWiped || r.Outcome != "ok" || r.Path != renamed {
		t.Fatalf("record: %+v", r)
	}
}

// Kind 4: a symbolic link on the stick that points at a folder of the
// station is never followed: receive, inspect and wipe refuse it and the
// station's folder is untouched. Needs two filesystems (a tmpfs as the
// stick), so root.
func TestNoLinksOffTheMedium(t *testing.T) {
	needRoot(t, "mount", "umount")
	sender, kiosk := pair(t, false)
	stick := mountTmpfs(t, "16m")
	src := stage(t, map[string]string{"a.txt": "alpha"})
	sealed := pack(t, sender, "kiosk-1", src)
	// The station's own folder, holding a released bundle.
	incoming := filepath.Join(t.TempDir(), "incoming")
	os.Mkdir(incoming, 0o755)
	inside := filepath.Join(incoming, filepath.Base(sealed.Dir))
	if err := os.Rename(sealed.Dir, inside); err != nil {
		t.Fatal(err)
	}
	if _, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: inside, OutDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	os.Symlink(incoming, filepath.Join(stick, "link"))
	os.Symlink(inside, filepath.Join(stick, "direct.sluice"))
	for _, p := range []string{filepath.Join(stick, "link", filepath.Base(inside)), filepath.Join(stick, "direct.sluice")} {
		if err := kiosk.Wipe(p, ""); err == nil || !strings.Contains(err.Error(), "points off it") {
			t.Errorf("wipe %s: %v", p, err)
		}
		if _, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: p, OutDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "points off it") {
			t.Errorf("receive %s: %v", p, err)
		}
	}
	if _, err := os.Stat(filepath.Join(inside, bundle.EnvelopeName)); err != nil {
		t.Fatalf("the station's folder was touched: %v", err)
	}
	if got := FindBundles(stick); len(got) != 0 {
		t.Errorf("links listed as bundles on the drive: %v", got)
	}
	// A link that stays on the stick is followed.
	onStick := pack(t, sender, "kiosk-1", src)
	moved := filepath.Join(stick, "real", filepath.Base(onStick.Dir))
	os.MkdirAll(filepath.Dir(moved), 0o755)
	run(t, "cp", "-r", onStick.Dir, moved)
	os.Symlink("real", filepath.Join(stick, "alias"))
	if _, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: filepath.Join(stick, "alias", filepath.Base(moved)), OutDir: t.TempDir()}); err != nil {
		t.Fatalf("a link within the stick: %v", err)
	}
}

// Kind 5: a compromised sender's seal record naming another recipient is
// refused; so is one that is not a "sealed" record.
func TestSealRecordMustNameThisKiosk(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(*custody.Record)
		want string
	}{
		{"another recipient", func(r *custody.Record) { r.Peer = "kiosk-2" }, "sealed for kiosk-2, not for this station"},
		{"not a seal", func(r *custody.Record) { r.Event = custody.EventWritten }, "is not a sealed record"},
	} {
		t.Run(c.name, func(t *testing.T) {
			sender, kiosk := pair(t, false)
			dir := craftSealed(t, sender, kiosk, stage(t, map[string]string{"a.txt": "alpha"}), c.edit)
			_, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: dir, OutDir: t.TempDir()})
			if !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
		})
	}
}

// A hostile sender signs, with its own custody key, a checkpoint that
// claims 2^63-1 records, and carries it as its seal proof: the kiosk
// refuses it at once. (x/mod's tlog never returned from checking a proof
// against such a tree, so the receive hung with the station's receive
// lock held; FuzzCheckSeal found it.)
func TestSealProofOfAHugeTree(t *testing.T) {
	sender, kiosk := pair(t, false)
	srcs, err := StagePaths([]string{stage(t, map[string]string{"a.txt": "alpha"})})
	if err != nil {
		t.Fatal(err)
	}
	origin := custody.Origin(sender.Name)
	sealed, err := bundle.Seal(context.Background(), t.TempDir(), srcs, bundle.SealOptions{
		SenderName: sender.Name, Signer: sender.Keys.Signer, Recipients: []crypto.Card{kiosk.Card()},
		SealRecord: func(id string, manifest crypto.Digest, files, bytes int64) ([]byte, error) {
			text := fmt.Sprintf("%s\n%d\n%s=\n", origin, int64(1<<63-1), strings.Repeat("A", 43))
			cp, err := note.Sign(&note.Note{Text: text}, sender.Keys.NoteSigner(origin))
			if err != nil {
				return nil, err
			}
			hashes := make([]string, 62)
			for i := range hashes {
				hashes[i] = strings.Repeat("A", 43) + "="
			}
			return json.Marshal(custody.SealProof{Record: `{"seq":0}`, Index: 1<<63 - 2, Proof: hashes, Checkpoint: string(cp)})
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: t.TempDir()})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "bad tree size") {
			t.Fatalf("got %v, want a rejection naming the checkpoint's tree size", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the receive did not return in a minute")
	}
}

// craftSealed seals src for kiosk as Pack does, but lets edit change the
// sender's "sealed" record first: a trusted sender can sign anything.
func craftSealed(t *testing.T, sender, kiosk *Station, src string, edit func(*custody.Record)) string {
	t.Helper()
	srcs, err := StagePaths([]string{src})
	if err != nil {
		t.Fatal(err)
	}
	log, err := sender.OpenCustody()
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	sealed, err := bundle.Seal(context.Background(), t.TempDir(), srcs, bundle.SealOptions{
		SenderName: sender.Name, Signer: sender.Keys.Signer, Recipients: []crypto.Card{kiosk.Card()},
		SealRecord: func(id string, manifest crypto.Digest, files, bytes int64) ([]byte, error) {
			r := custody.Record{Event: custody.EventSealed, Bundle: id, Peer: kiosk.Name, ManifestSHA256: manifest.String(), Files: files, Bytes: bytes, Outcome: "ok"}
			edit(&r)
			a, err := sender.appendTo(log, r)
			if err != nil {
				return nil, err
			}
			return json.Marshal(custody.NewSealProof(a))
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return sealed.Dir
}

// Kind 5: a drive of 2,000 junk bundle folders is one custody record, and
// does not flood the station with checkpoint files.
func TestJunkOnADriveIsOneRecord(t *testing.T) {
	sender, kiosk := pair(t, false)
	drive := t.TempDir()
	for i := range 2000 {
		d := filepath.Join(drive, fmt.Sprintf("j%04d.sluice", i))
		os.Mkdir(d, 0o755)
		os.WriteFile(filepath.Join(d, bundle.EnvelopeName), []byte("{}"), 0o644)
	}
	good := pack(t, sender, "kiosk-1", stage(t, map[string]string{"a.txt": "alpha"}))
	os.Rename(good.Dir, filepath.Join(drive, filepath.Base(good.Dir)))
	before := len(events(t, kiosk))
	cps, _ := os.ReadDir(kiosk.CustodyPath + ".checkpoints")
	ok, junk := kiosk.Screen(FindBundles(drive))
	if len(ok) != 1 || len(junk) != 2000 {
		t.Fatalf("%d bundles and %d junk, want 1 and 2000", len(ok), len(junk))
	}
	if err := kiosk.RecordJunk(drive, junk); err != nil {
		t.Fatal(err)
	}
	recs := events(t, kiosk)[before:]
	if len(recs) != 1 || !strings.Contains(recs[0].Reason, "2000 folder(s) that are not bundles") || !strings.Contains(recs[0].Reason, "and 1990 more") {
		t.Fatalf("records: %+v", recs)
	}
	if after, _ := os.ReadDir(kiosk.CustodyPath + ".checkpoints"); len(after) > len(cps)+1 {
		t.Errorf("%d checkpoint files written for one drive", len(after)-len(cps))
	}
}

// Kind 5: a read-only release folder is the station's failure: recorded
// as "failed", nothing released. Needs root to mount it.
func TestReadOnlyReleaseFolder(t *testing.T) {
	needRoot(t, "mount", "umount")
	sender, kiosk := pair(t, false)
	sealed := pack(t, sender, "kiosk-1", stage(t, map[string]string{"a.txt": "alpha"}))
	out := mountTmpfs(t, "1m,ro")
	_, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: out})
	if err == nil || errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("got %v, want an environment error naming the read-only folder", err)
	}
	if r := lastEvent(t, kiosk); r.Event != custody.EventRejected || r.Outcome != "failed" || r.Bundle != sealed.Envelope.ID {
		t.Fatalf("record: %+v", r)
	}
}

// Kind 5: a custody log that cannot take the records at the end of a
// receive (a full station home; here, another writer holding it past the
// wait): nothing stays released, no lone "received" is left, the bundle is
// not marked seen, and it is received once the log can take records again.
func TestLogRefusesRecordsMidReceive(t *testing.T) {
	defer func(d time.Duration) { custody.LockWait = d }(custody.LockWait)
	custody.LockWait = 200 * time.Millisecond
	sender, kiosk := pair(t, false)
	sealed := pack(t, sender, "kiosk-1", stage(t, map[string]string{"a.bin": strings.Repeat("y", 3<<20)}))
	out := t.TempDir()
	before := len(events(t, kiosk))
	var held *custody.Log
	_, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: out, Progress: func(done, total int64) {
		if held == nil {
			held, _ = kiosk.OpenCustody()
		}
	}})
	if held == nil {
		t.Fatal("could not hold the log")
	}
	held.Close()
	if err == nil || !strings.Contains(err.Error(), "nothing was released") {
		t.Fatalf("got %v", err)
	}
	if ents, _ := os.ReadDir(out); len(ents) != 0 {
		t.Fatalf("the release folder holds %d entries although the records failed", len(ents))
	}
	for _, r := range events(t, kiosk)[before:] {
		if r.Event == custody.EventReceived || r.Event == custody.EventReleased {
			t.Fatalf("a lone %s record was left: %+v", r.Event, r)
		}
	}
	if seen, _ := kiosk.seen(sealed.Envelope.ID); seen {
		t.Fatal("marked seen")
	}
	if _, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: out}); err != nil {
		t.Fatalf("once the log takes records again: %v", err)
	}
}

// Kind 9: with the release folder on another filesystem than the station's
// home, the quarantine is a hidden folder beside it that only the
// station's user can read, noted in the home so that a killed receive's is
// found; it is gone after a release and after a release taken back.
func TestQuarantineOnAnotherFilesystem(t *testing.T) {
	needRoot(t, "mount", "umount")
	defer func(d time.Duration) { custody.LockWait = d }(custody.LockWait)
	custody.LockWait = 200 * time.Millisecond
	sender, kiosk := pair(t, false)
	src := stage(t, map[string]string{"a.bin": strings.Repeat("z", 3<<20)})
	out := mountTmpfs(t, "32m")
	hidden := filepath.Join(out, quarantineLocal)
	for _, takeBack := range []bool{false, true} {
		sealed := pack(t, sender, "kiosk-1", src)
		var mode fs.FileMode
		var noted bool
		var held *custody.Log
		_, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: out, Progress: func(done, total int64) {
			if info, err := os.Stat(hidden); err == nil {
				mode = info.Mode().Perm()
			}
			if _, err := os.Stat(filepath.Join(kiosk.Home, receivingDir, sealed.Envelope.ID+".where")); err == nil {
				noted = true
			}
			if takeBack && held == nil {
				held, _ = kiosk.OpenCustody()
			}
		}})
		if held != nil {
			held.Close()
		}
		if takeBack != (err != nil) {
			t.Fatalf("take back %v: %v", takeBack, err)
		}
		if mode != 0o700 || !noted {
			t.Errorf("quarantine beside the release folder: mode %o, noted in the home %v", mode, noted)
		}
		if _, err := os.Stat(hidden); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("take back %v: %s left behind", takeBack, hidden)
		}
		_, err = os.Stat(filepath.Join(out, sealed.Envelope.ID))
		if takeBack != errors.Is(err, fs.ErrNotExist) {
			t.Errorf("take back %v: release folder holds the bundle: %v", takeBack, err)
		}
	}
}

// Kind 9: a receive killed between the release rename and its records
// leaves a journal; the next receive records the release (saying so) and
// marks it seen, so the log accounts for every release and reconcile does
// not call it rejected.
func TestReleaseRecordedAfterACrash(t *testing.T) {
	sender, kiosk := pair(t, false)
	sealed := pack(t, sender, "kiosk-1", stage(t, map[string]string{"a.txt": "alpha"}))
	out := t.TempDir()
	cmd := childReceive(kiosk, sealed.Dir, out)
	cmd.Env = append(cmd.Env, "SLUICE_TEST_DIE_AT=after-rename")
	if code := exitCode(cmd.Run()); code != 9 {
		t.Fatalf("the child exited %d, not at the hook", code)
	}
	if _, err := os.Stat(filepath.Join(out, sealed.Envelope.ID, "outbox", "a.txt")); err != nil {
		t.Fatalf("not released before the crash: %v", err)
	}
	for _, r := range events(t, kiosk) {
		if r.Event == custody.EventReleased {
			t.Fatal("released record written before the crash point")
		}
	}
	// The next receive, of anything, finishes the interrupted one first.
	if err := kiosk.CleanQuarantines(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range events(t, kiosk) {
		if r.Bundle == sealed.Envelope.ID && (r.Event == custody.EventReceived || r.Event == custody.EventReleased) {
			got = append(got, r.Event)
			if !strings.Contains(r.Reason, "recorded after the receive was interrupted") || r.Seal == nil && r.Event == custody.EventReceived {
				t.Errorf("recovered record: %+v", r)
			}
		}
	}
	if strings.Join(got, ",") != "received,released" {
		t.Fatalf("recovered records: %v", got)
	}
	if seen, _ := kiosk.seen(sealed.Envelope.ID); !seen {
		t.Fatal("not marked seen")
	}
	rec, err := ReconcileLogs(LogRef{Path: sender.CustodyPath, Station: "sender-1", Verifier: mustVerifier(t, kiosk, "sender-1")},
		LogRef{Path: kiosk.CustodyPath, Station: "kiosk-1", Verifier: mustVerifier(t, kiosk, "kiosk-1")})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range rec.Bundles {
		if m.Bundle == sealed.Envelope.ID {
			found = true
			if !m.OK() {
				t.Fatalf("reconcile after recovery: %+v", m)
			}
		}
	}
	if !found {
		t.Fatalf("reconcile does not list the bundle: %+v", rec)
	}
	// A second look finds nothing more to do.
	n := len(events(t, kiosk))
	kiosk.CleanQuarantines()
	if len(events(t, kiosk)) != n {
		t.Fatal("recovered twice")
	}
}

func mustVerifier(t *testing.T, st *Station, name string) note.Verifier {
	t.Helper()
	v, err := st.Verifier(name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Kind 1: a receive while the same station is sealing (for as long as it
// likes: here the seal waits inside its own progress callback) releases
// and records normally: a pack no longer holds the custody log.
func TestReceiveWhileSealing(t *testing.T) {
	sender, kiosk := pair(t, false)
	incoming := pack(t, sender, "kiosk-1", stage(t, map[string]string{"a.txt": "alpha"}))
	srcs, err := StagePaths([]string{stage(t, map[string]string{"big.bin": strings.Repeat("b", 8<<20)})})
	if err != nil {
		t.Fatal(err)
	}
	var recvErr error
	done := false
	_, err = kiosk.Pack(context.Background(), PackRequest{To: []string{"sender-1"}, OutDir: t.TempDir(), Sources: srcs,
		Progress: func(d, total int64) {
			if !done {
				done = true
				_, recvErr = kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: incoming.Dir, OutDir: t.TempDir()})
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if !done || recvErr != nil {
		t.Fatalf("receive during a seal: ran %v, %v", done, recvErr)
	}
	var released, sealed bool
	for _, r := range events(t, kiosk) {
		released = released || r.Event == custody.EventReleased && r.Bundle == incoming.Envelope.ID
		sealed = sealed || r.Event == custody.EventSealed
	}
	if !released || !sealed {
		t.Fatalf("records: released %v, sealed %v", released, sealed)
	}
}

// Kind 9, the neighbours of a crash around the release: killed before the
// rename (then a stray folder appears at OUT/<id>): nothing is recorded as
// released and the bundle can be received; killed after the rename and the
// released folder moved away before the next start: the release is still
// recorded (saying so) and the bundle stays seen; killed after the records
// but before the journal is dropped, folder moved: nothing is added and the
// bundle stays seen.
func TestCrashAroundTheRelease(t *testing.T) {
	for _, c := range []struct {
		at            string
		move          bool
		stray         bool
		wantRecords   int // received + released records after recovery
		wantSeen      bool
		wantReasonHas string
	}{
		{at: "before-rename", stray: true, wantRecords: 0, wantSeen: false},
		{at: "after-rename", move: true, wantRecords: 2, wantSeen: true, wantReasonHas: "has since been moved or removed"},
		{at: "after-records", move: true, wantRecords: 2, wantSeen: true},
	} {
		t.Run(c.at, func(t *testing.T) {
			sender, kiosk := pair(t, false)
			sealed := pack(t, sender, "kiosk-1", stage(t, map[string]string{"a.txt": "alpha"}))
			out := t.TempDir()
			cmd := childReceive(kiosk, sealed.Dir, out)
			cmd.Env = append(cmd.Env, "SLUICE_TEST_DIE_AT="+c.at)
			if code := exitCode(cmd.Run()); code != 9 {
				t.Fatalf("the child exited %d, not at %s", code, c.at)
			}
			final := filepath.Join(out, sealed.Envelope.ID)
			if c.move {
				if err := os.Rename(final, filepath.Join(t.TempDir(), "moved")); err != nil {
					t.Fatal(err)
				}
			}
			if c.stray {
				os.Mkdir(final, 0o755)
			}
			if err := kiosk.CleanQuarantines(); err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, r := range events(t, kiosk) {
				if r.Bundle == sealed.Envelope.ID && (r.Event == custody.EventReceived || r.Event == custody.EventReleased) {
					n++
					if c.wantReasonHas != "" && !strings.Contains(r.Reason, c.wantReasonHas) {
						t.Errorf("record %s: %q", r.Event, r.Reason)
					}
				}
			}
			if n != c.wantRecords {
				t.Fatalf("%d received/released records, want %d", n, c.wantRecords)
			}
			if seen, _ := kiosk.seen(sealed.Envelope.ID); seen != c.wantSeen {
				t.Fatalf("seen %v, want %v", seen, c.wantSeen)
			}
			if c.at == "before-rename" {
				os.Remove(final)
				if _, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: out}); err != nil {
					t.Fatalf("receive after a crash before the release: %v", err)
				}
			}
		})
	}
}

// A checkpoint that cannot be written after records that were (a full
// disk): the records stand, so the release stands, and the bundle is seen.
func TestCheckpointFailureKeepsTheRelease(t *testing.T) {
	sender, kiosk := pair(t, false)
	sealed := pack(t, sender, "kiosk-1", stage(t, map[string]string{"a.bin": strings.Repeat("c", 2<<20)}))
	out := t.TempDir()
	latest := filepath.Join(kiosk.CustodyPath+".checkpoints", "latest")
	broke := false
	_, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: out, Progress: func(d, total int64) {
		if !broke {
			broke = true
			os.Remove(latest)
			os.MkdirAll(filepath.Join(latest, "x"), 0o755) // a checkpoint can no longer replace it
		}
	}})
	if err != nil {
		t.Fatalf("release taken back over a checkpoint: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, sealed.Envelope.ID)); err != nil {
		t.Fatal("not released")
	}
	var got []string
	for _, r := range events(t, kiosk) {
		if r.Bundle == sealed.Envelope.ID {
			got = append(got, r.Event)
		}
	}
	if strings.Join(got, ",") != "received,released" {
		t.Fatalf("records: %v", got)
	}
	if seen, _ := kiosk.seen(sealed.Envelope.ID); !seen {
		t.Fatal("not marked seen")
	}
}

// A release after review killed between its rename and its records is
// recorded by the next receive (or listing), and the bundle leaves the
// review queue: the log accounts for it and it cannot be released twice.
func TestReleaseAfterReviewRecordedAfterACrash(t *testing.T) {
	sender, kiosk := pair(t, false)
	sealed := pack(t, sender, "kiosk-1", stage(t, map[string]string{"a.txt": "alpha", "b.pdf": "not a pdf"}))
	out := t.TempDir()
	_, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: out})
	if !errors.As(err, new(*HeldError)) {
		t.Fatalf("receive: %v, want held", err)
	}
	cmd := childReceive(kiosk, sealed.Dir, out)
	cmd.Env = append(cmd.Env, "SLUICE_TEST_DIE_AT=after-rename", "SLUICE_TEST_RELEASE_HELD="+sealed.Envelope.ID)
	if code := exitCode(cmd.Run()); code != 9 {
		t.Fatalf("the child exited %d, not at the hook", code)
	}
	if _, err := os.Stat(filepath.Join(out, sealed.Envelope.ID, "outbox", "b.pdf")); err != nil {
		t.Fatalf("not released before the crash: %v", err)
	}
	list, err := kiosk.Reviews()
	if err != nil || len(list) != 0 {
		t.Fatalf("after recovery the queue holds %d (%v)", len(list), err)
	}
	var got []string
	for _, r := range events(t, kiosk) {
		if r.Bundle == sealed.Envelope.ID && (r.Event == custody.EventReceived || r.Event == custody.EventReleased) {
			got = append(got, r.Event)
			if !strings.Contains(r.Reason, "recorded after the receive was interrupted") {
				t.Errorf("recovered record: %+v", r)
			}
		}
	}
	if strings.Join(got, ",") != "received,released" {
		t.Fatalf("recovered records: %v", got)
	}
	if _, err := kiosk.ReleaseHeld(context.Background(), sealed.Envelope.ID, Decision{}); err == nil {
		t.Fatal("released twice")
	}
}

// A bundle id already released from one trusted station, arriving in a
// bundle another trusted station signed, is refused naming both stations
// and what to do: not as a plain replay, which would blame the second.
// (Ids are the sender's to choose, so a trusted station that sees
// another's id can take it first.) Found by a hostile-input helper.
func TestBundleIDTakenByAnotherSender(t *testing.T) {
	sender, kiosk := pair(t, false)
	sealed := pack(t, sender, "kiosk-1", stage(t, map[string]string{"a.txt": "hello\n"}))
	if _, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	other, err := Init(filepath.Join(t.TempDir(), "other"), "sender-2", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kiosk.TrustAdd(other.Card().Marshal()); err != nil {
		t.Fatal(err)
	}
	// sender-2 signs an envelope with sender-1's bundle id.
	dir := filepath.Join(t.TempDir(), filepath.Base(sealed.Dir))
	if err := os.CopyFS(dir, os.DirFS(sealed.Dir)); err != nil {
		t.Fatal(err)
	}
	env := *sealed.Envelope
	env.Sender = bundle.Sender{Name: other.Name, SigningKey: other.Card().SigningKeyString()}
	eb, err := env.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	sig, err := crypto.SignSSH(other.Keys.Signer, crypto.NamespaceEnvelope, eb)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, bundle.EnvelopeName), eb, 0o644)
	os.WriteFile(filepath.Join(dir, bundle.EnvelopeSigName), sig, 0o644)
	_, err = kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: dir, OutDir: t.TempDir()})
	if !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "was already used here by sender-1, and this bundle is from sender-2") {
		t.Fatalf("got %v", err)
	}
	// The same bundle again from its own sender is a replay.
	_, err = kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: t.TempDir()})
	if !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "was already received here (replay)") {
		t.Fatalf("replay: %v", err)
	}
}
