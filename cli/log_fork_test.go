package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"sluice/app"
	"sluice/transfer/custody"
)

// An auditor holding several checkpoints passes each (--checkpoint is
// repeated): the log must match every one, and two of one size that
// differ (the station's signatures on two different logs: a fork) are
// said to be that.
func TestLogVerifyEveryCheckpoint(t *testing.T) {
	dir := t.TempDir()
	sender, _, _ := sealedPair(t, dir)
	good := filepath.Join(dir, "good.checkpoint")
	os.WriteFile(good, []byte(mustRun(t, "", "--home", sender, "log", "checkpoint").stdout), 0o644)
	st, err := app.Load(sender)
	if err != nil {
		t.Fatal(err)
	}
	v, err := st.Verifier(st.Name)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := custody.OpenCheckpoint([]byte(mustRun(t, "", "--home", sender, "log", "checkpoint").stdout), v)
	if err != nil {
		t.Fatal(err)
	}
	forkHash := cp.Hash
	forkHash[0] ^= 1
	forked, err := note.Sign(&note.Note{Text: custody.FormatCheckpoint(st.Origin(), cp.Size, forkHash)}, st.Keys.NoteSigner(st.Origin()))
	if err != nil {
		t.Fatal(err)
	}
	fork := filepath.Join(dir, "fork.checkpoint")
	os.WriteFile(fork, forked, 0o644)
	if r := run(t, "", "--home", sender, "log", "verify", "--checkpoint", good, "--checkpoint", good); r.code != ExitOK {
		t.Fatalf("the same good checkpoint twice: exit %d %s", r.code, r.stderr)
	}
	r := run(t, "", "--home", sender, "log", "verify", "--checkpoint", fork, "--checkpoint", good)
	if r.code != ExitRejected || !strings.Contains(r.stderr, "the station signed two different logs of that size") {
		t.Fatalf("a fork's checkpoint beside a good one: exit %d %s%s", r.code, r.stdout, r.stderr)
	}
}
