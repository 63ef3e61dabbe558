package bundle

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"sluice/crypto"
)

// sealSpanning seals a 3 MiB file into 64 KiB volumes, 20 to a drive.
func sealSpanning(t *testing.T) (alice, kiosk station, s *Sealed, content []byte) {
	t.Helper()
	src := t.TempDir()
	content = randomBytes(3<<20, 7)
	writeTree(t, src, map[string]string{"data.bin": string(content)})
	alice, kiosk = newStation(t, "alice"), newStation(t, "kiosk")
	srcs, err := Collect([]string{filepath.Join(src, "data.bin")})
	if err != nil {
		t.Fatal(err)
	}
	s, err = Seal(context.Background(), t.TempDir(), srcs, SealOptions{SenderName: "alice", Signer: alice.keys.Signer,
		Recipients: []crypto.Card{kiosk.card}, VolumeSize: 64 << 10, VolumesPerDrive: 20})
	if err != nil {
		t.Fatal(err)
	}
	return
}

func TestSpanAcrossDrives(t *testing.T) {
	alice, kiosk, s, content := sealSpanning(t)
	e := s.Envelope
	n := len(e.Payload.Volumes)
	if e.Span == nil || e.Span.Drives != (n+19)/20 || e.Span.Drives < 3 {
		t.Fatalf("span = %+v for %d volumes", e.Span, n)
	}
	whole, err := Open(s.Dir)
	if err != nil {
		t.Fatal(err)
	}
	// Write each drive's part into its own "drive" folder.
	var parts []string
	for k := 0; k < e.Drives(); k++ {
		drive := t.TempDir()
		dir, err := WritePart(context.Background(), whole, drive, k, nil)
		if err != nil {
			t.Fatalf("drive %d: %v", k+1, err)
		}
		parts = append(parts, dir)
		lab, err := os.ReadFile(filepath.Join(dir, LabelName(k, e.Drives())))
		if err != nil {
			t.Fatalf("drive %d has no label: %v", k+1, err)
		}
		if want := "volume " + strconv.Itoa(k+1) + " of " + strconv.Itoa(e.Drives()) + " of bundle " + e.ID; !strings.Contains(string(lab), want) {
			t.Errorf("label of drive %d does not say %q:\n%s", k+1, want, lab)
		}
		p, err := OpenPart(dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.VerifySignature(alice.card.SigningKey); err != nil {
			t.Fatal(err)
		}
		if err := p.ReadBack(context.Background()); err != nil {
			t.Fatalf("read back drive %d: %v", k+1, err)
		}
		first, end := e.DriveVolumes(k)
		if got := len(e.Payload.Volumes) - len(p.Missing()); got != end-first {
			t.Errorf("drive %d holds %d volumes, want %d", k+1, got, end-first)
		}
		// Open (not OpenPart) names the first missing volume and its drive.
		if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "is missing: it is on drive") {
			t.Errorf("Open of one drive: %v", err)
		}
	}
	// Gather in the order drive 3, 1, 2 (the officer's pile is not sorted).
	spool := t.TempDir()
	order := []int{2, 0, 1}
	var g *Bundle
	for i, k := range order {
		p, _ := OpenPart(parts[k])
		g, err = Gather(context.Background(), p, spool, nil)
		if err != nil {
			t.Fatal(err)
		}
		if complete := i == len(order)-1; g.Complete() != complete {
			t.Fatalf("after %d drives complete = %v", i+1, g.Complete())
		}
	}
	// Gathering the same drive again copies nothing and changes nothing.
	p, _ := OpenPart(parts[0])
	if _, err := Gather(context.Background(), p, spool, nil); err != nil {
		t.Fatal(err)
	}
	v, q, err := receive(t, g.Dir, alice, kiosk)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(q, "data.bin"))
	if !bytes.Equal(got, content) || v.Files != 1 {
		t.Fatal("gathered bundle did not release the content")
	}
}

func TestGatherRefusesBadDrives(t *testing.T) {
	_, _, s, _ := sealSpanning(t)
	whole, _ := Open(s.Dir)
	d1, err := WritePart(context.Background(), whole, t.TempDir(), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	d2, err := WritePart(context.Background(), whole, t.TempDir(), 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A corrupted volume on drive 2 is named with its drive, and nothing
	// of it is kept.
	v := s.Envelope.Payload.Volumes[21]
	f, _ := os.OpenFile(filepath.Join(d2, v.Name), os.O_WRONLY, 0)
	f.WriteAt([]byte{0xff, 0xee}, 100)
	f.Close()
	spool := t.TempDir()
	p1, _ := OpenPart(d1)
	if _, err := Gather(context.Background(), p1, spool, nil); err != nil {
		t.Fatal(err)
	}
	p2, _ := OpenPart(d2)
	_, err = Gather(context.Background(), p2, spool, nil)
	var ve *VolumeError
	if !errors.As(err, &ve) || !errors.Is(err, ErrRejected) || ve.Index != 21 || !strings.Contains(err.Error(), "volume 22 of") || !strings.Contains(err.Error(), "drive 2 of") {
		t.Fatalf("corrupted drive 2: %v", err)
	}
	g, _ := OpenPart(filepath.Join(spool, s.Envelope.ID+DirSuffix))
	if !g.present[20] || g.present[21] {
		t.Errorf("spool should keep the good volume 21 and not the bad 22")
	}
	// The same drive read back on the sending side names the bad volume.
	if err := p2.ReadBack(context.Background()); !errors.As(err, &ve) || ve.Index != 21 {
		t.Errorf("read-back of drive 2: %v", err)
	}
	// A drive whose envelope differs from the one gathered is refused.
	env := filepath.Join(d2, EnvelopeName)
	b, _ := os.ReadFile(env)
	os.WriteFile(env, bytes.Replace(b, []byte(`"files": 1`), []byte(`"files":  1`), 1), 0o644)
	p2, err = OpenPart(d2)
	if err == nil {
		_, err = Gather(context.Background(), p2, spool, nil)
	}
	if !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "different envelope") {
		t.Errorf("altered envelope on drive 2: %v", err)
	}
	// A drive already holding the bundle is not overwritten.
	if _, err := WritePart(context.Background(), whole, filepath.Dir(d1), 0, nil); !errors.Is(err, ErrWrite) || !strings.Contains(err.Error(), "already holds bundle") {
		t.Errorf("second write to the same drive: %v", err)
	}
}

func TestSpanEnvelopeChecked(t *testing.T) {
	_, _, s, _ := sealSpanning(t)
	for _, sp := range []Span{{Drives: 1, VolumesPerDrive: 100}, {Drives: 2, VolumesPerDrive: 0}, {Drives: 9, VolumesPerDrive: 20}} {
		e := *s.Envelope
		e.Span = &sp
		b, _ := e.Marshal()
		if _, err := ParseEnvelope(b); err == nil {
			t.Errorf("span %+v accepted", sp)
		}
	}
}

// TestHashFileRefusesSymlink: a staged file replaced by a symbolic link
// is not followed when hashed for review, as sealing does not follow it.
func TestHashFileRefusesSymlink(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "secret"), []byte("not staged"), 0o600)
	os.Symlink(filepath.Join(dir, "secret"), filepath.Join(dir, "report.txt"))
	var done atomic.Int64
	if _, err := HashFile(context.Background(), filepath.Join(dir, "report.txt"), make([]byte, 4096), &done); err == nil {
		t.Fatal("hashed through a symbolic link")
	}
	os.WriteFile(filepath.Join(dir, "plain.txt"), []byte("abc"), 0o644)
	d, err := HashFile(context.Background(), filepath.Join(dir, "plain.txt"), make([]byte, 2), &done)
	if err != nil || d.String() != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" || done.Load() != 3 {
		t.Fatalf("hash of abc: %s %v (counted %d)", d, err, done.Load())
	}
}
