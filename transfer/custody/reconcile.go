package custody

import (
	"fmt"
	"sort"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// Reconciliation outcomes, one per bundle.
const (
	Matched          = "sent and received"
	NeverReceived    = "sent, never received"
	RejectedAtKiosk  = "sent, rejected by the kiosk"
	ManifestMismatch = "manifest hashes differ"
	ForgedReceipt    = "receipt carries a seal record the sender's log does not hold"
	// Through a diode: whole in the kiosk's inbox but not received yet,
	// or a session that ended without all of it.
	ArrivedNotReceived = "sent through the diode, arrived, not received yet"
	ArrivedIncomplete  = "sent through the diode, arrived incomplete"
)

// Match is the reconciliation of one bundle the sender sealed for the kiosk.
type Match struct {
	Bundle  string
	Outcome string
	Detail  string
}

// OK reports whether the bundle reconciled.
func (m Match) OK() bool { return m.Outcome == Matched }

// Receipt is a "received" record in the kiosk's log that matches no bundle
// the sender sealed for the kiosk: a bundle the sender's log does not hold,
// one it sealed for other stations, a second receipt for one bundle.
type Receipt struct {
	// Seq is the record's sequence number in the kiosk's log.
	Seq    int64
	Bundle string
	Reason string
}

// Reconciliation is what Reconcile found between one sender and one kiosk.
type Reconciliation struct {
	Sender, Kiosk string
	// Bundles has one Match for every bundle the sender sealed for the kiosk.
	Bundles []Match
	// Unmatched lists every receipt in the kiosk's log from this sender
	// (naming it as peer or carrying its seal record) that matches nothing
	// in the sender's log, in log order.
	Unmatched []Receipt
}

// Failed counts what does not reconcile: bundles and unmatched receipts.
func (r *Reconciliation) Failed() (bundles, receipts int) {
	for _, m := range r.Bundles {
		if !m.OK() {
			bundles++
		}
	}
	return bundles, len(r.Unmatched)
}

// OK reports whether every bundle reconciled and every receipt matched.
func (r *Reconciliation) OK() bool {
	b, u := r.Failed()
	return b == 0 && u == 0
}

// Reconcile matches a sending station's sealed records with a kiosk's
// received records: every bundle the sender sealed for the kiosk gets a
// Match, and every receipt in the kiosk's log from this sender that matches
// none of them is listed in Unmatched with the reason. senderV checks the
// seal proofs the kiosk embedded; senderOrigin names the sender. Verify
// both logs first: Reconcile trusts their chains.
func Reconcile(senderLog, kioskLog string, senderV note.Verifier, senderOrigin string) (*Reconciliation, error) {
	senderName := strings.TrimPrefix(senderOrigin, "sluice-custody/")
	type sealed struct{ line, manifest, peers string }
	sent := map[string]sealed{}
	diodeSent := map[string]Record{} // the last "sent" record of each bundle
	var order []string
	err := Each(senderLog, func(line []byte, r Record) error {
		if r.Event == EventSent && r.Bundle != "" {
			diodeSent[r.Bundle] = r
		}
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
	var receipts []Record // from this sender, in log order
	byBundle := map[string][]int{}
	rejected := map[string]Record{}
	arrived, incomplete := map[string]Record{}, map[string]Record{}
	err = Each(kioskLog, func(_ []byte, r Record) error {
		if kiosk == "" {
			kiosk = r.Station
		}
		switch r.Event {
		case EventReceived:
			if r.Peer == senderName || r.Peer == "" || sealedBy(r.Seal) == senderName {
				byBundle[r.Bundle] = append(byBundle[r.Bundle], len(receipts))
				receipts = append(receipts, r)
			}
		case EventRejected:
			// Only this sender's, as arrivals: another station's
			// rejection under the same id says nothing of this bundle.
			if r.Bundle != "" && (r.Peer == senderName || r.Peer == "") {
				rejected[r.Bundle] = r
			}
		case EventArrived, EventIncomplete:
			// Only this sender's: another station may use the same id.
			if r.Peer != senderName {
				break
			}
			if r.Event == EventArrived {
				arrived[r.Bundle] = r
			} else {
				incomplete[r.Bundle] = r
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := &Reconciliation{Sender: senderName, Kiosk: kiosk}
	judge := func(r Record, s sealed) Match {
		switch {
		case r.Seal == nil || r.Seal.Record != s.line:
			return Match{r.Bundle, ForgedReceipt, "the received record's seal is not the sender's sealed record"}
		case r.ManifestSHA256 != s.manifest:
			return Match{r.Bundle, ManifestMismatch, "sent " + s.manifest + ", received " + r.ManifestSHA256}
		}
		if _, err := CheckSeal(r.Seal, senderV, senderOrigin); err != nil {
			return Match{r.Bundle, ForgedReceipt, err.Error()}
		}
		return Match{r.Bundle, Matched, "manifest " + s.manifest}
	}
	used := make([]bool, len(receipts))
	firstFor := map[string]int64{} // bundle -> kiosk record that reconciled it
	for _, id := range order {
		s := sent[id]
		if kiosk != "" && !contains(strings.Split(s.peers, ","), kiosk) {
			continue
		}
		idx := byBundle[id]
		if len(idx) == 0 {
			a, hasArrived := arrived[id]
			inc, hasIncomplete := incomplete[id]
			ds, viaDiode := diodeSent[id]
			switch rej, ok := rejected[id]; {
			case ok:
				out.Bundles = append(out.Bundles, Match{id, RejectedAtKiosk, rej.Reason})
			case hasArrived:
				out.Bundles = append(out.Bundles, Match{id, ArrivedNotReceived, a.Reason})
			case hasIncomplete:
				out.Bundles = append(out.Bundles, Match{id, ArrivedIncomplete, inc.Reason})
			case viaDiode:
				out.Bundles = append(out.Bundles, Match{id, NeverReceived, "sealed for " + s.peers + "; sent " + ds.Reason + "; no arrival recorded"})
			default:
				out.Bundles = append(out.Bundles, Match{id, NeverReceived, "sealed for " + s.peers})
			}
			continue
		}
		// The receipt that matches, if one does; else the first, judged.
		pick := idx[0]
		for _, i := range idx {
			if judge(receipts[i], s).OK() {
				pick = i
				break
			}
		}
		used[pick] = true
		firstFor[id] = receipts[pick].Seq
		m := judge(receipts[pick], s)
		if a, ok := arrived[id]; ok && m.OK() {
			m.Detail += "; " + a.Reason
		}
		out.Bundles = append(out.Bundles, m)
	}
	for i, r := range receipts {
		if used[i] {
			continue
		}
		var reason string
		s, ok := sent[r.Bundle]
		switch {
		case r.Bundle == "":
			reason = "the receipt names no bundle"
		case !ok:
			reason = fmt.Sprintf("%s's log holds no sealed record for this bundle", senderName)
		case kiosk != "" && !contains(strings.Split(s.peers, ","), kiosk):
			reason = fmt.Sprintf("%s sealed this bundle for %s, not for %s", senderName, s.peers, kiosk)
		default:
			reason = fmt.Sprintf("a second receipt for a bundle already reconciled with record %d; a bundle is received once", firstFor[r.Bundle])
		}
		if r.Seal == nil {
			reason += ", and the receipt carries no seal record"
		} else if sealedBy(r.Seal) != senderName {
			reason += fmt.Sprintf(", and its seal record is not %s's", senderName)
		}
		out.Unmatched = append(out.Unmatched, Receipt{r.Seq, r.Bundle, reason})
	}
	sort.SliceStable(out.Bundles, func(i, j int) bool { return out.Bundles[i].Bundle < out.Bundles[j].Bundle })
	return out, nil
}

// sealedBy returns the station named in a seal proof's record, or "".
func sealedBy(p *SealProof) string {
	if p == nil {
		return ""
	}
	r, err := ParseRecord([]byte(p.Record))
	if err != nil {
		return ""
	}
	return r.Station
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
