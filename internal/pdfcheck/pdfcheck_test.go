package pdfcheck

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sluice/internal/pdfcheck/pdftest"
	"sluice/transfer/inspect"
)

func TestMain(m *testing.M) {
	Serve() // the pool's children are this test binary
	os.Exit(m.Run())
}

func reasons(fs []inspect.Finding) string {
	var s []string
	for _, f := range fs {
		s = append(s, f.Reason+": "+f.Detail)
	}
	return strings.Join(s, "; ")
}

// A child finds what the in-process check finds, from a file and from
// memory, and is kept for the next PDF.
func TestChildChecksLikeTheProcess(t *testing.T) {
	p := New()
	defer p.Close()
	js := pdftest.ObjStm("<< /S /JavaScript /JS (app.alert\\(1\\)) >>", 0)
	path := filepath.Join(t.TempDir(), "a.pdf")
	os.WriteFile(path, js, 0o600)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := reasons(inspect.CheckPDF(inspect.Memory(js), int64(len(js))))
	if !strings.Contains(want, "JavaScript") {
		t.Fatalf("in process: %s", want)
	}
	for _, r := range []interface {
		ReadAt([]byte, int64) (int, error)
	}{f, inspect.Memory(js), bytes.NewReader(js)} {
		if got := reasons(p.Check(context.Background(), r, int64(len(js)))); got != want {
			t.Errorf("%T: %s, want %s", r, got, want)
		}
	}
	if len(p.idle) != 1 {
		t.Fatalf("%d idle children after three checks in a row, want 1", len(p.idle))
	}
	clean := pdftest.ObjStm("<< /S /URI /URI (https://example.org/) >>", 0)
	if got := p.Check(context.Background(), inspect.Memory(clean), int64(len(clean))); len(got) != 0 {
		t.Fatalf("a plain PDF: %s", reasons(got))
	}
}

// A compression bomb kills its child, not the station: the PDF is
// not-checked, naming the memory limit, and the next PDF gets a new child.
func TestCompressionBombIsContained(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the bomb takes seconds to build")
	}
	if raceEnabled {
		t.Skip("-race: the race detector's own memory counts against the child's limit; make unit runs this package again without -race")
	}
	p := New()
	p.MemoryLimit = 256 << 20
	defer p.Close()
	bomb := pdftest.ObjStm("<< /S /URI /URI (https://example.org/) >>", 1<<30)
	t.Logf("bomb: %d bytes on disk, 1 GiB inflated", len(bomb))
	got := p.Check(context.Background(), inspect.Memory(bomb), int64(len(bomb)))
	if len(got) != 1 || got[0].Reason != inspect.ReasonNotChecked || !strings.Contains(got[0].Detail, "more than 256 MiB") {
		t.Fatalf("bomb: %s", reasons(got))
	}
	js := pdftest.ObjStm("<< /S /JavaScript /JS (x) >>", 0)
	if got := reasons(p.Check(context.Background(), inspect.Memory(js), int64(len(js)))); !strings.Contains(got, "JavaScript") {
		t.Fatalf("after the bomb: %s", got)
	}
}

// A check past its time is stopped and the PDF is not-checked.
func TestSlowCheckIsStopped(t *testing.T) {
	p := New()
	p.Timeout = func(int64) time.Duration { return time.Millisecond }
	defer p.Close()
	slow := pdftest.ObjStm("<< /S /JavaScript /JS (x) >>", 32<<20) // inflating takes a while
	got := p.Check(context.Background(), inspect.Memory(slow), int64(len(slow)))
	if len(got) != 1 || !strings.Contains(got[0].Detail, "took longer than 1ms") {
		t.Fatalf("%s", reasons(got))
	}
}
