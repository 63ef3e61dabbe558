package custody

import (
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

// FuzzCheckSeal: the seal proof a bundle carries comes from its sender,
// who may be hostile and signs whatever checkpoint it likes with its own
// custody key. Whatever the checkpoint says (any tree size, any hash),
// the index, the proof's hashes and the record, CheckSeal answers without
// a panic, and what it accepts is a sealed record at the index proved.
func FuzzCheckSeal(f *testing.F) {
	sender := newStation(f, "sender-1")
	l := sender.open(f, filepath.Join(f.TempDir(), "custody.log"))
	fill(f, l, 13)
	a, err := l.Append(Record{Event: EventSealed, Bundle: "B", ManifestSHA256: "abc", Outcome: "ok"}, true)
	if err != nil {
		f.Fatal(err)
	}
	l.Close()
	p := NewSealProof(a)
	n, err := note.Open([]byte(p.Checkpoint), note.VerifierList(sender.v))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(n.Text, p.Index, strings.Join(p.Proof, " "), p.Record)
	f.Add(sender.origin+"\n9223372036854775807\n"+strings.Repeat("A", 43)+"=\n", int64(9223372036854775806), strings.Repeat(strings.Repeat("A", 43)+"= ", 63), p.Record)
	f.Add(sender.origin+"\n1\n"+strings.Repeat("A", 43)+"=\n", int64(0), "", p.Record)
	signer := sender.keys.NoteSigner(sender.origin)
	f.Fuzz(func(t *testing.T, text string, index int64, proof, record string) {
		signed, err := note.Sign(&note.Note{Text: text}, signer)
		if err != nil {
			return // not a note's text: no sender could sign it either
		}
		rec, err := CheckSeal(&SealProof{Record: record, Index: index, Proof: strings.Fields(proof), Checkpoint: string(signed)}, sender.v, sender.origin)
		if err != nil {
			return
		}
		if rec.Event != EventSealed || rec.Seq != index {
			t.Fatalf("accepted a %q record at %d for index %d", rec.Event, rec.Seq, index)
		}
	})
}
