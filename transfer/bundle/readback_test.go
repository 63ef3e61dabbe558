package bundle

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The read-back with the hash states kept while writing (UseMarks) checks
// each stretch of a volume on its own, yet gives the verdict of one
// SHA-256 over the volume: a byte changed anywhere, at a stretch's first
// or last byte, at a volume's end, a truncated or a longer volume, are all
// caught and the volume named, as the read-back without marks names it.
func TestReadBackMarked(t *testing.T) {
	was := readBackStretch
	readBackStretch = 64 << 10
	t.Cleanup(func() { readBackStretch = was })
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "big.bin"), randomBytes(900<<10, 3), 0o644)
	os.WriteFile(filepath.Join(src, "small.txt"), []byte("small"), 0o644)
	alice, kiosk := newStation(t, "alice"), newStation(t, "kiosk")
	// 256 KiB volumes: four stretches each, the last volume shorter.
	s := seal(t, alice, []station{kiosk}, []string{src}, 256<<10)
	vols := s.Envelope.Payload.Volumes
	if len(vols) < 3 {
		t.Fatalf("%d volumes, want at least 3", len(vols))
	}
	open := func(marked bool) *Bundle {
		b, err := OpenPart(s.Dir)
		if err != nil {
			t.Fatal(err)
		}
		if marked {
			b.UseMarks(s)
			if len(b.marks) != len(vols) {
				t.Fatalf("marks for %d of %d volumes", len(b.marks), len(vols))
			}
		}
		return b
	}
	if err := open(true).ReadBack(context.Background()); err != nil {
		t.Fatalf("a good bundle: %v", err)
	}
	verdict := func(marked bool) string {
		b, err := OpenPart(s.Dir)
		if err == nil {
			if marked {
				b.UseMarks(s)
			}
			err = b.ReadBack(context.Background())
		}
		var ve *VolumeError
		if !errors.As(err, &ve) {
			return "no volume error: " + errString(err)
		}
		return ve.Name + ": " + ve.Reason
	}
	flip := func(vol Volume, at int64) {
		p := filepath.Join(s.Dir, vol.Name)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b[at] ^= 0x40
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	st := readBackStretch
	r := rand.New(rand.NewPCG(5, 6))
	spots := []struct {
		vol int
		at  int64
	}{{0, 0}, {0, st - 1}, {0, st}, {1, 2*st + 17}, {1, vols[1].Size - 1}, {len(vols) - 1, vols[len(vols)-1].Size - 1}}
	for range 20 {
		v := r.IntN(len(vols))
		spots = append(spots, struct {
			vol int
			at  int64
		}{v, r.Int64N(vols[v].Size)})
	}
	for _, c := range spots {
		v := vols[c.vol]
		flip(v, c.at)
		got, plain := verdict(true), verdict(false)
		flip(v, c.at)
		want := v.Name + ": is corrupt: its SHA-256 does not match the envelope"
		if got != want || plain != want {
			t.Errorf("byte %d of %s changed: marked %q, one stream %q, want %q", c.at, v.Name, got, plain, want)
		}
	}
	last := vols[len(vols)-1]
	p := filepath.Join(s.Dir, last.Name)
	good, _ := os.ReadFile(p)
	// A volume that changes length after the bundle was opened (Open
	// checks lengths first).
	b := open(true)
	os.WriteFile(p, good[:len(good)-1], 0o644)
	var ve *VolumeError
	if err := b.ReadBack(context.Background()); !errors.As(err, &ve) || ve.Name != last.Name || !strings.Contains(ve.Reason, "truncated") {
		t.Errorf("a truncated volume: %v", err)
	}
	os.WriteFile(p, append(good, 'x'), 0o644)
	if err := b.ReadBack(context.Background()); !errors.As(err, &ve) || ve.Name != last.Name || !strings.Contains(ve.Reason, "longer") {
		t.Errorf("a longer volume: %v", err)
	}
	os.WriteFile(p, good, 0o644)
	if err := open(true).ReadBack(context.Background()); err != nil {
		t.Fatalf("restored: %v", err)
	}
	// Marks from another bundle are not used.
	other := seal(t, alice, []station{kiosk}, []string{src}, 256<<10)
	b = open(false)
	b.UseMarks(other)
	if len(b.marks) != 0 {
		t.Errorf("marks of bundle %s taken for %s", other.Envelope.ID, s.Envelope.ID)
	}
}

func errString(err error) string {
	if err == nil {
		return "nil"
	}
	return err.Error()
}
