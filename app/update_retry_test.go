package app

import (
	"context"
	"errors"
	"strings"
	"testing"

	"sluice/transfer/custody"
)

// TestUpdateRetriedAfterAFailedInstall: dpkg fails for a reason of the
// station's (its lock held by another dpkg, a full disk); the same update
// bundle, applied again once that is fixed, installs.
func TestUpdateRetriedAfterAFailedInstall(t *testing.T) {
	rel, kiosk := releasePair(t)
	_, dpkg := dpkgRoot(t)
	sealed := releasePack(t, rel, ReleasePackRequest{Deb: makeDeb(t, "1.1.0")})
	ctx := context.Background()
	if _, err := kiosk.ApplyUpdate(ctx, UpdateRequest{BundleDir: sealed.Dir, Dpkg: []string{"false"}}); err == nil {
		t.Fatal("a failing dpkg installed")
	}
	if _, err := kiosk.ApplyUpdate(ctx, UpdateRequest{BundleDir: sealed.Dir, Dpkg: dpkg}); err != nil {
		t.Fatalf("the same update, once dpkg works: %v", err)
	}
	if rec := lastEvent(t, kiosk); rec.Event != custody.EventUpdated || rec.Outcome != "ok" || !strings.Contains(rec.Reason, "applied again") {
		t.Fatalf("updated record: %+v", rec)
	}
	if _, err := kiosk.ApplyUpdate(ctx, UpdateRequest{BundleDir: sealed.Dir, Dpkg: dpkg}); !errors.Is(err, ErrRejected) {
		t.Fatalf("once installed, the same update again: %v", err)
	}
	if n := countEvents(t, kiosk, custody.EventReleased, "ok"); n != 1 {
		t.Fatalf("%d released records for one update", n)
	}
}
