package transform

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	// A verify worker (this test binary) dies, as under its memory
	// limit, on a file named crash-worker…, and hangs on hang-worker….
	verifyHook = func(name string) {
		switch {
		case strings.HasPrefix(name, "crash-worker"):
			// Counted where a test without the sandbox can see it.
			if f, err := os.OpenFile(filepath.Join(os.Getenv("HOME"), "crashes"), os.O_APPEND|os.O_WRONLY, 0); err == nil {
				f.WriteString(name + "\n")
				f.Close()
			}
			if p, err := os.FindProcess(os.Getpid()); err == nil {
				p.Kill() // SIGKILL
			}
		case strings.HasPrefix(name, "hang-worker"):
			time.Sleep(time.Hour)
		}
	}
	Serve() // the workers are this test binary
	os.Exit(m.Run())
}

// newT returns a Transformer with the sandbox on, or skips saying why it
// cannot run here.
func newT(t testing.TB, cfg Config) *Transformer {
	t.Helper()
	tr, err := New(cfg)
	if err != nil {
		if strings.Contains(err.Error(), "sandbox") || strings.Contains(err.Error(), "bubblewrap") {
			t.Skipf("the sandbox cannot run here: %v", err)
		}
		t.Fatal(err)
	}
	return tr
}

// need skips a test whose tool is missing, naming its Debian package.
func need(t testing.TB, tr *Transformer, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, ok := tr.paths[tool]; !ok {
			t.Skipf("%s (packaging/deps.sh test installs it)", tr.missing[tool])
		}
	}
}

func write(t testing.TB, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// listDir returns the names in dir.
func listDir(t testing.TB, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func TestSmoke(t *testing.T) {
	tr := newT(t, Config{})
	in, out := t.TempDir(), t.TempDir()
	for name, b := range map[string][]byte{
		"photo.jpeg": withEXIFGPS(jpegBytes(t, photo(300, 200))),
		"text.pdf":   textPDF(3, "", ""),
	} {
		res, err := tr.Transform(context.Background(), write(t, in, name, b), out)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%+v", res)
	}
	t.Log(listDir(t, out))
}
