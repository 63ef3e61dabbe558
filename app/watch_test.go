package app

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// Watch reports a card imported and records appended by another process
// (here: another Station value on the same home), and settings changed.
func TestWatchSeesOtherProcesses(t *testing.T) {
	sender, kiosk := pair(t, false)
	other, err := Load(kiosk.Home)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan Change, 16)
	go kiosk.Watch(ctx, 20*time.Millisecond, func(c Change) { got <- c })
	wait := func(what string, ok func(Change) bool) {
		t.Helper()
		deadline := time.After(5 * time.Second)
		for {
			select {
			case c := <-got:
				if ok(c) {
					return
				}
			case <-deadline:
				t.Fatalf("no change seen for %s", what)
			}
		}
	}
	time.Sleep(50 * time.Millisecond)
	if err := other.TrustRemove("sender-1"); err != nil {
		t.Fatal(err)
	}
	wait("a card removed", func(c Change) bool { return c.Trust })
	if _, err := other.TrustAdd(sender.Card().Marshal()); err != nil {
		t.Fatal(err)
	}
	wait("a card imported", func(c Change) bool { return c.Trust })
	if err := other.SetReleaseFolders([]string{filepath.Join(t.TempDir())}); err != nil {
		t.Fatal(err)
	}
	wait("release folders set", func(c Change) bool { return c.Settings })
}
