package diode

import (
	"context"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"sluice/transfer/bundle"
)

// announce builds the announcement a session would send for dir.
func announce(t testing.TB, dir string, from station) *announcement {
	t.Helper()
	s := &sender{opt: SendOptions{Interleave: DefaultInterleave}, psize: 1472, ssize: shardSize(1472)}
	b, err := s.prepare(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.closeFiles()
	raw, err := marshalAnnouncement(&annBody{
		Format: AnnouncementFormat, Session: "0011223344556677", Bundle: 0, Bundles: 1, Station: from.name,
		SigningKey: strings.TrimSpace(string(sshAuthorized(from))), MACKey: hex.EncodeToString(make([]byte, 32)),
		Started: time.Now().UTC().Truncate(time.Second), ID: b.ID, Envelope: b.env, EnvelopeSig: b.envSig,
		Files: b.annFiles(), Bytes: b.Bytes, PacketSize: 1472, BlockShards: b.k, Blocks: b.Blocks,
	}, b.hashes, from.keys.Signer)
	if err != nil {
		t.Fatal(err)
	}
	a, _, err := verifyAnnouncement(raw, from.trusts())
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// A receiver that died between moving a finished bundle into the inbox
// and writing its envelope finishes it when the bundle is announced again.
func TestFinishAfterCrash(t *testing.T) {
	a, k := newStation(t, "alpha"), newStation(t, "kiosk")
	dir := sealBundle(t, a, k, 300<<10, 0, 50)
	ann := announce(t, dir, a)
	inbox := t.TempDir()
	final := filepath.Join(inbox, filepath.Base(dir))
	os.MkdirAll(final, 0o755)
	for _, name := range []string{bundle.EnvelopeSigName, bundle.VolumeName(0)} {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		os.WriteFile(filepath.Join(final, name), b, 0o644)
	}
	partial := filepath.Join(inbox, partialDir, ann.ID)
	os.MkdirAll(partial, 0o700)
	st := &state{layout: ann.layoutDigest(), blocks: ann.Blocks, done: make([]byte, (ann.Blocks+7)/8)}
	for i := range ann.Blocks {
		st.set(i)
	}
	if err := writeState(partial, st); err != nil {
		t.Fatal(err)
	}
	var events []Event
	r := fuzzReceiver(t, inbox, k, a)
	r.opt.OnEvent = func(e Event) { events = append(events, e) }
	if b, err := r.open(ann, "alpha"); b != nil || !errors.Is(err, errFinishedNow) {
		t.Fatalf("open = %v, %v", b, err)
	}
	sameBundle(t, dir, final)
	if _, err := os.Stat(partial); !errors.Is(err, os.ErrNotExist) {
		t.Error("partial folder left")
	}
	if len(events) != 1 || events[0].Kind != EventComplete {
		t.Errorf("events %+v", events)
	}
	// A folder of that name the receiver did not leave is not touched.
	os.Remove(filepath.Join(final, bundle.EnvelopeName))
	if _, err := r.open(ann, "alpha"); err == nil || !strings.Contains(err.Error(), "move it away") {
		t.Errorf("open over a stranger's folder: %v", err)
	}
}

// A bundle larger than the inbox's free space is refused at once, with
// the numbers.
func TestInboxTooSmall(t *testing.T) {
	if _, ok := freeSpace(t.TempDir()); !ok {
		t.Skip("free space not known here")
	}
	a, k := newStation(t, "alpha"), newStation(t, "kiosk")
	dir := sealBundle(t, a, k, 1000, 0, 51)
	ann := announce(t, dir, a)
	ann.Bytes = 1 << 60 // as if; open only reads the sizes
	ann.annBody.Blocks = 1
	r := fuzzReceiver(t, t.TempDir(), k, a)
	if _, err := r.open(ann, "alpha"); err == nil || !strings.Contains(err.Error(), "free") {
		t.Errorf("open of a huge bundle: %v", err)
	}
}

func sshAuthorized(s station) []byte { return ssh.MarshalAuthorizedKey(s.keys.Signer.PublicKey()) }
