package app

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"sluice/transfer/custody"
)

// TestReconcileAcrossTheGap runs two real stations exchanging real bundles:
// one received, one lost on the way, and a receipt the kiosk forged for a
// bundle whose seal it never got. Reconcile must tell each apart.
func TestReconcileAcrossTheGap(t *testing.T) {
	sender, kiosk := pair(t, false)
	src := stage(t, map[string]string{"a.txt": "alpha"})
	delivered := pack(t, sender, "kiosk-1", src)
	lost := pack(t, sender, "kiosk-1", src)
	forgedFor := pack(t, sender, "kiosk-1", src)
	if _, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: delivered.Dir, OutDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	// The kiosk claims to have received forgedFor, carrying the seal of the
	// delivered bundle with its bundle id rewritten.
	var real *custody.SealProof
	custody.Each(kiosk.CustodyPath, func(_ []byte, r custody.Record) error {
		if r.Event == custody.EventReceived {
			real = r.Seal
		}
		return nil
	})
	fake := *real
	fake.Record = strings.Replace(real.Record, delivered.Envelope.ID, forgedFor.Envelope.ID, 1)
	if err := kiosk.record(custody.Record{Event: custody.EventReceived, Bundle: forgedFor.Envelope.ID, Peer: "sender-1",
		ManifestSHA256: forgedFor.ManifestSHA256.String(), Outcome: "ok", Seal: &fake}); err != nil {
		t.Fatal(err)
	}
	// And a receipt for a bundle the sender never sealed at all.
	if err := kiosk.record(custody.Record{Event: custody.EventReceived, Bundle: "20260101T000000Z-0000000000000000", Peer: "sender-1", Outcome: "ok"}); err != nil {
		t.Fatal(err)
	}
	sv, _ := kiosk.Verifier("sender-1")
	ms, err := custody.Reconcile(sender.CustodyPath, kiosk.CustodyPath, sv, custody.Origin("sender-1"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range ms {
		got[m.Bundle] = m.Outcome
	}
	want := map[string]string{
		delivered.Envelope.ID:               custody.Matched,
		lost.Envelope.ID:                    custody.NeverReceived,
		forgedFor.Envelope.ID:               custody.ForgedReceipt,
		"20260101T000000Z-0000000000000000": custody.NoSealRecord,
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s: %q, want %q", id, got[id], w)
		}
	}
	if len(ms) != len(want) {
		b, _ := json.Marshal(ms)
		t.Errorf("reconcile gave %d matches: %s", len(ms), b)
	}
}

// TestReceiveChecksTheSealRecord refuses a bundle whose envelope and
// manifest are signed by the trusted sender but whose travelling custody
// record is proved against a checkpoint signed by another key.
func TestReceiveChecksTheSealRecord(t *testing.T) {
	sender, kiosk := pair(t, false)
	src := stage(t, map[string]string{"a.txt": "alpha"})
	other, _ := Init(t.TempDir()+"/other", "sender-1", false)
	other.Keys.Signer = sender.Keys.Signer // same envelope signer, other checkpoint key
	if _, err := other.TrustAdd(kiosk.Card().Marshal()); err != nil {
		t.Fatal(err)
	}
	srcs, _ := StagePaths([]string{src})
	sealed, err := other.Pack(context.Background(), PackRequest{To: []string{"kiosk-1"}, OutDir: t.TempDir(), Sources: srcs})
	if err != nil {
		t.Fatal(err)
	}
	_, err = kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "checkpoint signature does not verify") {
		t.Fatalf("bundle with a seal record signed by another key: %v", err)
	}
}
