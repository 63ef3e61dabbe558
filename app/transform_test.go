package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sluice/transfer/transform"
)

// Standalone transformation runs files at once but reports them in the
// order given; of two files whose outputs take the same name, the first
// given keeps it even when it finishes last, and the other is refused
// with nothing left of it; a file that cannot be transformed is reported
// in its place.
func TestTransformOrderAndCollisions(t *testing.T) {
	needTransformer(t)
	in, out := t.TempDir(), t.TempDir()
	// chart.png is large enough to take longer than chart.gif, which
	// becomes chart.png as well.
	big := image.NewRGBA(image.Rect(0, 0, 1600, 1200))
	for y := range 1200 {
		for x := range 1600 {
			big.Set(x, y, color.RGBA{uint8(x*7 + y), uint8(y * 3), uint8(x ^ y), 255})
		}
	}
	var b bytes.Buffer
	png.Encode(&b, big)
	write := func(name string, data []byte) string {
		p := filepath.Join(in, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var small bytes.Buffer
	gif.Encode(&small, image.NewPaletted(image.Rect(0, 0, 8, 8), color.Palette{color.Black, color.White}), nil)
	var paths []string
	paths = append(paths, write("chart.png", b.Bytes()), write("chart.gif", small.Bytes()))
	for i := range 6 {
		paths = append(paths, write(fmt.Sprintf("note-%d.txt", i), []byte(fmt.Sprintf("note %d\x07\n", i))))
	}
	paths = append(paths, write("setup.exe", []byte("MZ\x90\x00")))
	var order []string
	all, err := Transform(context.Background(), paths, out, transform.Config{}, func(r Transformed) {
		order = append(order, filepath.Base(r.Path))
	})
	if !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "2 of 9 files not transformed") {
		t.Fatalf("err = %v, want 2 of 9 not transformed", err)
	}
	var want []string
	for _, p := range paths {
		want = append(want, filepath.Base(p))
	}
	if strings.Join(order, " ") != strings.Join(want, " ") {
		t.Errorf("reported %v, want the order given %v", order, want)
	}
	if len(all) != len(paths) {
		t.Fatalf("%d results for %d files", len(all), len(paths))
	}
	for i, r := range all {
		if r.Path != paths[i] {
			t.Errorf("result %d is %s, want %s", i, r.Path, paths[i])
		}
		name := filepath.Base(r.Path)
		switch {
		case name == "chart.gif":
			if r.Err == nil || !strings.Contains(r.Err.Error(), "chart.png exists already") {
				t.Errorf("chart.gif: %v, want chart.png exists already", r.Err)
			}
		case name == "setup.exe":
			if r.Err == nil || !errors.Is(r.Err, transform.ErrUnsupported) {
				t.Errorf("setup.exe: %v, want unsupported", r.Err)
			}
		case r.Err != nil:
			t.Errorf("%s: %v", name, r.Err)
		}
	}
	got, err := os.ReadFile(filepath.Join(out, "chart.png"))
	if err != nil {
		t.Fatal(err)
	}
	if img, err := png.Decode(bytes.NewReader(got)); err != nil || img.Bounds().Dx() != 1600 {
		t.Errorf("chart.png in the output is not the first file's (the 1600-pixel one): %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "note-3.txt")); string(b) != "note 3\n" {
		t.Errorf("note-3.txt = %q", b)
	}
}

// Once cancelled, no further file is started; every file is reported,
// in order, those transformed with their output (and only they have one)
// and the others as not transformed.
func TestTransformCancelled(t *testing.T) {
	needTransformer(t)
	in, out := t.TempDir(), t.TempDir()
	var paths []string
	for i := range 20 {
		p := filepath.Join(in, fmt.Sprintf("n%02d.txt", i))
		os.WriteFile(p, []byte("text\n"), 0o600)
		paths = append(paths, p)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var reported []string
	all, err := Transform(ctx, paths, out, transform.Config{}, func(r Transformed) {
		if reported = append(reported, filepath.Base(r.Path)); len(reported) == 3 {
			cancel()
		}
	})
	if err == nil || !strings.Contains(err.Error(), "cancel") {
		t.Fatalf("err = %v, want cancelled", err)
	}
	if len(all) != len(paths) || len(reported) != len(paths) {
		t.Fatalf("%d results and %d reported of %d", len(all), len(reported), len(paths))
	}
	made := 0
	for i, r := range all {
		if reported[i] != filepath.Base(paths[i]) || r.Path != paths[i] {
			t.Errorf("result %d is %s, reported %s", i, r.Path, reported[i])
		}
		_, statErr := os.Stat(filepath.Join(out, filepath.Base(r.Path)))
		switch {
		case r.Err == nil && statErr != nil:
			t.Errorf("%s reported transformed, not in the output", r.Path)
		case r.Err != nil && statErr == nil:
			t.Errorf("%s reported not transformed (%v), yet in the output", r.Path, r.Err)
		case r.Err == nil:
			made++
		}
	}
	if made == len(paths) {
		t.Errorf("all %d files were transformed after the cancel", made)
	}
	es, _ := os.ReadDir(out)
	if len(es) != made {
		t.Errorf("the output holds %d files, %d reported transformed", len(es), made)
	}
}
