package app

import (
	"errors"
	"testing"

	"sluice/crypto"
)

// TestOneSigningKeyOneRole: a release card that reuses a trusted
// station's signing key (with another age recipient and name) is refused:
// else whoever holds the station's key signs updates too.
func TestOneSigningKeyOneRole(t *testing.T) {
	sender, kiosk := pair(t, false)
	other, err := crypto.GenerateStationKeys(false)
	if err != nil {
		t.Fatal(err)
	}
	c := sender.Card()
	c.Name, c.Role, c.Recipient = "release-2026", crypto.RoleRelease, other.Recipient
	if _, err := kiosk.TrustAddRelease(c.Marshal()); !errors.Is(err, ErrRejected) {
		t.Fatalf("a release card with sender-1's signing key: %v", err)
	}
}
