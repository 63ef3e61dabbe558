package app

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUpdateApplyOnData: a bundle of data given to update apply is
// refused before anything is released: no panic, nothing in the
// station's updates, and the bundle can still be received as data.
func TestUpdateApplyOnData(t *testing.T) {
	sender, kiosk := pair(t, false)
	sealed := pack(t, sender, "kiosk-1", stage(t, map[string]string{"report.txt": "words\n"}))
	var err error
	func() {
		defer func() {
			if p := recover(); p != nil {
				t.Errorf("update apply on a data bundle panicked: %v", p)
			}
		}()
		_, err = kiosk.ApplyUpdate(context.Background(), UpdateRequest{BundleDir: sealed.Dir})
	}()
	if !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "not an update") {
		t.Errorf("update apply on data: %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(kiosk.Home, updatesDir, receivedDir)); len(ents) > 0 {
		t.Errorf("the data was released into the station's updates: %s", ents[0].Name())
	}
	if _, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: t.TempDir()}); err != nil {
		t.Errorf("the data bundle, received afterwards: %v", err)
	}
}
