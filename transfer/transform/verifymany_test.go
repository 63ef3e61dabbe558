package transform

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// transformedSet makes n transformed outputs in a folder, as a bundle of
// many small files reaches a kiosk: PNGs and cleaned text made by
// Transform, and every 25th an image-PDF; each distinct output is made
// once and copied under new names.
func transformedSet(tb testing.TB, tr *Transformer, n int) []string {
	tb.Helper()
	in, made := tb.TempDir(), tb.TempDir()
	var outs []string
	for name, b := range map[string][]byte{
		"icon.png":  pngBytes(tb, photo(64, 48)),
		"notes.txt": []byte("plain words, cleaned\n"),
		"page.pdf":  textPDF(1, "", ""),
	} {
		res, err := tr.Transform(context.Background(), write(tb, in, name, b), made)
		if err != nil {
			tb.Fatal(err)
		}
		outs = append(outs, res.Output)
	}
	src := map[string][]byte{}
	for _, o := range outs {
		b, err := os.ReadFile(o)
		if err != nil {
			tb.Fatal(err)
		}
		src[filepath.Ext(o)] = b
	}
	dir := tb.TempDir()
	paths := make([]string, n)
	for i := range paths {
		ext := ".png"
		switch {
		case i%25 == 24:
			ext = ".pdf"
		case i%2 == 1:
			ext = ".txt"
		}
		paths[i] = write(tb, dir, fmt.Sprintf("f%04d%s", i, ext), src[ext])
	}
	return paths
}

// BenchmarkVerifyFiles times a kiosk's verification of 500 small
// transformed files (ms per file in the output).
func BenchmarkVerifyFiles(b *testing.B) {
	tr := newT(b, Config{})
	need(b, tr, "mutool")
	paths := transformedSet(b, tr, 500)
	b.Run("one-worker-per-file", func(b *testing.B) {
		for b.Loop() {
			for _, p := range paths {
				if err := tr.VerifyFile(context.Background(), p); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N*len(paths)), "ms/file")
	})
	b.Run("batched", func(b *testing.B) {
		for b.Loop() {
			for i, err := range tr.VerifyFiles(context.Background(), paths) {
				if err != nil {
					b.Fatalf("%s: %v", paths[i], err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N*len(paths)), "ms/file")
	})
	b.Run("in-process", func(b *testing.B) {
		for b.Loop() {
			for _, p := range paths {
				f, err := os.Open(p)
				if err != nil {
					b.Fatal(err)
				}
				fi, _ := f.Stat()
				err = Verify(p, f, fi.Size())
				f.Close()
				if err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N*len(paths)), "ms/file")
	})
}

// A batch of 70 transformed files with, among them, one not in its
// simple form, one that crashes its worker, one that hangs it and one
// that is gone: exactly those four fail, each saying why, and every
// other file is verified, by the worker it was in or a fresh one.
func TestVerifyFilesHostileInBatch(t *testing.T) {
	tr := newT(t, Config{Timeout: func(int, int64) time.Duration { return 5 * time.Second }})
	need(t, tr, "mutool")
	paths := transformedSet(t, tr, 70)
	dir := filepath.Dir(paths[0])
	good, _ := os.ReadFile(paths[0]) // a PNG
	rename := func(i int, name string) {
		p := filepath.Join(dir, name)
		if err := os.Rename(paths[i], p); err != nil {
			t.Fatal(err)
		}
		paths[i] = p
	}
	os.WriteFile(paths[5], append(good, "PK\x03\x04 a tail"...), 0o600)
	rename(5, "tail.png")
	rename(20, "crash-worker.png")
	rename(40, "hang-worker.txt")
	os.Remove(paths[50])
	os.WriteFile(paths[67], []byte("bell\a\n"), 0o600) // odd: a .txt
	want := map[int]string{5: "after the PNG image's end", 20: "the verify worker was killed (killed)", 40: "took longer than 5s", 50: "no such file", 67: "control character"}
	start := time.Now()
	errs := tr.VerifyFiles(context.Background(), paths)
	t.Logf("70 files, 3 workers killed or failing, in %s", time.Since(start).Round(time.Millisecond))
	if len(errs) != len(paths) {
		t.Fatalf("%d verdicts for %d files", len(errs), len(paths))
	}
	for i, err := range errs {
		w, bad := want[i]
		switch {
		case !bad && err != nil:
			t.Errorf("%s: %v", filepath.Base(paths[i]), err)
		case bad && (err == nil || !strings.Contains(err.Error(), w)):
			t.Errorf("%s: %v, want an error saying %q", filepath.Base(paths[i]), err, w)
		case bad && i != 50 && !errors.Is(err, ErrNotSimple):
			t.Errorf("%s: %v does not wrap ErrNotSimple", filepath.Base(paths[i]), err)
		}
	}
	// The single-file path agrees on the files both can check.
	for _, i := range []int{0, 5, 24, 67} {
		one := tr.VerifyFile(context.Background(), paths[i])
		if (one == nil) != (errs[i] == nil) {
			t.Errorf("%s: VerifyFile says %v, VerifyFiles %v", filepath.Base(paths[i]), one, errs[i])
		}
	}
	// Cancelled, nothing is verified unchecked.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for i, err := range tr.VerifyFiles(ctx, paths[:3]) {
		if !errors.Is(err, ErrNotSimple) {
			t.Errorf("file %d verified after a cancel: %v", i, err)
		}
	}
}

// A file that crashes a worker after it checked others is checked again
// alone (memory they left cannot be what failed it); one that crashes a
// fresh worker is not. The workers run unsandboxed here, to count the
// crashes in a file of the test's.
func TestVerifyFilesCrashCheckedAgainAlone(t *testing.T) {
	tmp := t.TempDir()
	tr := newT(t, Config{NoSandbox: true, TempDir: tmp})
	dir := t.TempDir()
	good := write(t, dir, "good.txt", []byte("words\n"))
	crash := write(t, dir, "crash-worker.txt", []byte("words\n"))
	for _, c := range []struct {
		paths   []string
		crashes int
	}{{[]string{good, crash, good}, 2}, {[]string{crash, good}, 1}} {
		count := write(t, tmp, "crashes", nil)
		errs := tr.VerifyFiles(context.Background(), c.paths)
		for i, err := range errs {
			if (c.paths[i] == crash) != (err != nil) {
				t.Errorf("%s: %v", filepath.Base(c.paths[i]), err)
			}
		}
		b, _ := os.ReadFile(count)
		if n := strings.Count(string(b), "\n"); n != c.crashes {
			t.Errorf("%d crashes for %d files, want %d", n, len(c.paths), c.crashes)
		}
	}
}
