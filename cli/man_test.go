package cli

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// TestManual renders sluice(1) and has man(1) format it without warnings:
// every command in the table is there, with its flags.
func TestManual(t *testing.T) {
	var b bytes.Buffer
	if err := WriteManual(&b, "1.2.3", "2026-01-02"); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, c := range commands {
		if !strings.Contains(page, ".SS "+c.name+"\n") {
			t.Errorf("the manual has no section for %s", c.name)
		}
	}
	if !strings.Contains(page, `\-\-name NAME`) {
		t.Errorf("the manual lacks init's --name flag:\n%s", page)
	}
	groff, err := exec.LookPath("groff")
	if err != nil {
		t.Skip("groff not installed; the roff was not checked")
	}
	cmd := exec.Command(groff, "-man", "-Tutf8", "-ww", "-z")
	cmd.Stdin = strings.NewReader(page)
	out, err := cmd.CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Fatalf("groff: %v\n%s", err, out)
	}
}
