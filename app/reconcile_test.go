package app

import (
	"context"
	"encoding/json"
	"strconv"
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
	rec, err := custody.Reconcile(sender.CustodyPath, kiosk.CustodyPath, sv, custody.Origin("sender-1"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range rec.Bundles {
		got[m.Bundle] = m.Outcome
	}
	want := map[string]string{
		delivered.Envelope.ID: custody.Matched,
		lost.Envelope.ID:      custody.NeverReceived,
		forgedFor.Envelope.ID: custody.ForgedReceipt,
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s: %q, want %q", id, got[id], w)
		}
	}
	if len(rec.Bundles) != len(want) {
		b, _ := json.Marshal(rec.Bundles)
		t.Errorf("reconcile gave %d matches: %s", len(rec.Bundles), b)
	}
	// The receipt for a bundle the sender never sealed is listed, with why.
	if len(rec.Unmatched) != 1 || rec.Unmatched[0].Bundle != "20260101T000000Z-0000000000000000" ||
		rec.Unmatched[0].Reason != "sender-1's log holds no sealed record for this bundle, and the receipt carries no seal record" {
		t.Errorf("unmatched receipts: %+v", rec.Unmatched)
	}
	if rec.OK() {
		t.Error("reconciliation with a forged receipt is OK")
	}
}

// receivedRecords returns st's received records.
func receivedRecords(st *Station) []custody.Record {
	var out []custody.Record
	custody.Each(st.CustodyPath, func(_ []byte, r custody.Record) error {
		if r.Event == custody.EventReceived {
			out = append(out, r)
		}
		return nil
	})
	return out
}

// TestReconcileListsEveryUnmatchedReceipt runs three real stations: sender-1
// seals one bundle for kiosk-1 and one for kiosk-2. Both are received where
// they were sent; then kiosk-1's log gains receipts that match nothing in
// sender-1's log: kiosk-2's genuine receipt (its seal record names kiosk-2),
// a receipt for a bundle sender-1 never sealed, a second receipt for the
// delivered bundle, and one naming no bundle. Each is listed with its reason
// and the reconciliation fails; a receipt from another sender is not
// sender-1's to reconcile. Before, all of these were dropped or folded into
// "0 bundles: 0 reconciled".
func TestReconcileListsEveryUnmatchedReceipt(t *testing.T) {
	sender, kiosk := pair(t, false)
	kiosk2, err := Init(t.TempDir()+"/kiosk2", "kiosk-2", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sender.TrustAdd(kiosk2.Card().Marshal()); err != nil {
		t.Fatal(err)
	}
	if _, err := kiosk2.TrustAdd(sender.Card().Marshal()); err != nil {
		t.Fatal(err)
	}
	src := stage(t, map[string]string{"a.txt": "alpha"})
	delivered := pack(t, sender, "kiosk-1", src)
	elsewhere := pack(t, sender, "kiosk-2", src)
	for st, b := range map[*Station]string{kiosk: delivered.Dir, kiosk2: elsewhere.Dir} {
		if _, err := st.Receive(context.Background(), ReceiveRequest{BundleDir: b, OutDir: t.TempDir()}); err != nil {
			t.Fatal(err)
		}
	}
	sv, _ := kiosk.Verifier("sender-1")
	kv, _ := kiosk.Verifier("kiosk-1")
	senderRef, kioskRef := LogRef{sender.CustodyPath, "sender-1", sv}, LogRef{kiosk.CustodyPath, "kiosk-1", kv}
	if rec, err := ReconcileLogs(senderRef, kioskRef); err != nil || !rec.OK() || len(rec.Bundles) != 1 {
		t.Fatalf("before the forged receipts: %v %+v", err, rec)
	}

	genuine := receivedRecords(kiosk)[0]
	other := receivedRecords(kiosk2)[0]
	forge := func(r custody.Record) {
		t.Helper()
		if err := kiosk.record(r); err != nil {
			t.Fatal(err)
		}
	}
	forge(custody.Record{Event: custody.EventReceived, Bundle: other.Bundle, Peer: "sender-1", ManifestSHA256: other.ManifestSHA256, Outcome: "ok", Seal: other.Seal})
	forge(custody.Record{Event: custody.EventReceived, Bundle: "20260101T000000Z-1111111111111111", Peer: "sender-1", Outcome: "ok", Seal: genuine.Seal})
	forge(custody.Record{Event: custody.EventReceived, Bundle: genuine.Bundle, Peer: "sender-1", ManifestSHA256: genuine.ManifestSHA256, Outcome: "ok", Seal: genuine.Seal})
	forge(custody.Record{Event: custody.EventReceived, Peer: "sender-1", Outcome: "ok"})
	forge(custody.Record{Event: custody.EventReceived, Bundle: "20260101T000000Z-2222222222222222", Peer: "sender-2", Outcome: "ok"})

	rec, err := ReconcileLogs(senderRef, kioskRef)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Bundles) != 1 || !rec.Bundles[0].OK() || rec.Bundles[0].Bundle != delivered.Envelope.ID {
		t.Fatalf("bundles: %+v", rec.Bundles)
	}
	want := []struct{ bundle, reason string }{
		{elsewhere.Envelope.ID, "sender-1 sealed this bundle for kiosk-2, not for kiosk-1"},
		{"20260101T000000Z-1111111111111111", "sender-1's log holds no sealed record for this bundle"},
		{delivered.Envelope.ID, "a second receipt for a bundle already reconciled with record " + strconv.FormatInt(genuine.Seq, 10) + "; a bundle is received once"},
		{"", "the receipt names no bundle, and the receipt carries no seal record"},
	}
	if len(rec.Unmatched) != len(want) {
		t.Fatalf("%d unmatched receipts, want %d: %+v", len(rec.Unmatched), len(want), rec.Unmatched)
	}
	for i, w := range want {
		if u := rec.Unmatched[i]; u.Bundle != w.bundle || u.Reason != w.reason || u.Seq <= genuine.Seq {
			t.Errorf("unmatched %d: %+v, want %+v", i, u, w)
		}
	}
	if b, u := rec.Failed(); rec.OK() || b != 0 || u != 4 {
		t.Fatalf("failed: %d bundles, %d receipts", b, u)
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
