package app

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sluice/internal/pdfcheck/pdftest"
)

// A held document this station transforms keeps its links sidecar held
// with it: the links come from the held file, so a partial release sets
// both aside and releases only the rest.
func TestHeldDocumentsLinksHeldWithIt(t *testing.T) {
	needTransformer(t)
	sender, kiosk := pair(t, false)
	setPolicy(t, kiosk, strings.Replace(defaultPolicyText, "partial_release = false", "partial_release = true", 1))
	kiosk.Policy.Transform.Documents = TransformKiosk
	pdf := pdftest.TextLinked(1, "/OpenAction << /S /JavaScript /JS (app.alert(1)) >>", "https://evil.example/phish")
	sealed := pack(t, sender, "kiosk-1", stage(t, map[string]string{"plan.pdf": string(pdf), "notes.txt": "fine\n"}))
	_, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: t.TempDir()})
	var he *HeldError
	if !errors.As(err, &he) {
		t.Fatalf("receive: %v", err)
	}
	var held []string
	for _, r := range he.Held.Reports {
		held = append(held, r.Path)
	}
	if strings.Join(held, " ") != "outbox/plan.pdf outbox/plan.links.txt" {
		t.Fatalf("held %v, want the transformed plan.pdf and its links", held)
	}
	r, err := kiosk.ReleaseHeld(context.Background(), he.Held.ID, Decision{Partial: true})
	if err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(filepath.Join(r.Dir, "outbox"))
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "notes.txt" {
		t.Errorf("a partial release released %v, want notes.txt only", names)
	}
}
