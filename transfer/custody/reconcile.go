package custody

import (
	"sort"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// Reconciliation outcomes, one per bundle.
const (
	Matched          = "sent and received"
	NeverReceived    = "sent, never received"
	RejectedAtKiosk  = "sent, rejected by the kiosk"
	NoSealRecord     = "received with no matching seal record"
	ManifestMismatch = "manifest hashes differ"
	ForgedReceipt    = "receipt carries a seal record the sender's log does not hold"
)

// Match is the reconciliation of one bundle.
type Match struct {
	Bundle  string
	Outcome string
	Detail  string
}

// OK reports whether the bundle reconciled.
func (m Match) OK() bool { return m.Outcome == Matched }

// Reconcile matches a sending station's sealed records with a kiosk's
// received records, bundle by bundle. Only bundles sealed for the kiosk
// count. senderV checks the seal proofs the kiosk embedded. Verify both logs
// first: Reconcile trusts their chains.
func Reconcile(senderLog, kioskLog string, senderV note.Verifier, senderOrigin string) ([]Match, error) {
	type sealed struct{ line, manifest, peers string }
	sent := map[string]sealed{}
	var order []string
	err := Each(senderLog, func(line []byte, r Record) error {
		if r.Event == EventSealed && r.Bundle != "" {
			if _, dup := sent[r.Bundle]; !dup {
				order = append(order, r.Bundle)
			}
			sent[r.Bundle] = sealed{string(line), r.ManifestSHA256, r.Peer}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	kiosk := ""
	got := map[string]Record{}
	rejected := map[string]Record{}
	var gotOrder []string
	err = Each(kioskLog, func(_ []byte, r Record) error {
		if kiosk == "" {
			kiosk = r.Station
		}
		switch r.Event {
		case EventReceived:
			if _, dup := got[r.Bundle]; !dup {
				gotOrder = append(gotOrder, r.Bundle)
			}
			got[r.Bundle] = r
		case EventRejected:
			if r.Bundle != "" {
				rejected[r.Bundle] = r
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []Match
	for _, id := range order {
		s := sent[id]
		if kiosk != "" && !contains(strings.Split(s.peers, ","), kiosk) {
			continue
		}
		r, ok := got[id]
		switch {
		case !ok:
			if rej, ok := rejected[id]; ok {
				out = append(out, Match{id, RejectedAtKiosk, rej.Reason})
			} else {
				out = append(out, Match{id, NeverReceived, "sealed for " + s.peers})
			}
		case r.Seal == nil || r.Seal.Record != s.line:
			out = append(out, Match{id, ForgedReceipt, "the received record's seal is not the sender's sealed record"})
		case r.ManifestSHA256 != s.manifest:
			out = append(out, Match{id, ManifestMismatch, "sent " + s.manifest + ", received " + r.ManifestSHA256})
		default:
			if _, err := CheckSeal(r.Seal, senderV, senderOrigin); err != nil {
				out = append(out, Match{id, ForgedReceipt, err.Error()})
			} else {
				out = append(out, Match{id, Matched, "manifest " + s.manifest})
			}
		}
	}
	for _, id := range gotOrder {
		if _, ok := sent[id]; !ok {
			out = append(out, Match{id, NoSealRecord, "the sender's log has no sealed record for it"})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Bundle < out[j].Bundle })
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
