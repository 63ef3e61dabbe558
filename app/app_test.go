package app

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sluice/crypto"
	"sluice/transfer/bundle"
	"sluice/transfer/custody"
)

// pair makes two stations that trust each other.
func pair(t *testing.T, pq bool) (sender, kiosk *Station) {
	t.Helper()
	root := t.TempDir()
	var err error
	if sender, err = Init(filepath.Join(root, "sender"), "sender-1", false); err != nil {
		t.Fatal(err)
	}
	if kiosk, err = Init(filepath.Join(root, "kiosk"), "kiosk-1", pq); err != nil {
		t.Fatal(err)
	}
	if _, err := sender.TrustAdd(kiosk.Card().Marshal()); err != nil {
		t.Fatal(err)
	}
	if _, err := kiosk.TrustAdd(sender.Card().Marshal()); err != nil {
		t.Fatal(err)
	}
	return sender, kiosk
}

func stage(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "outbox")
	for p, c := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func pack(t *testing.T, s *Station, to string, paths ...string) *bundle.Sealed {
	t.Helper()
	srcs, err := StagePaths(paths)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	sealed, err := s.Pack(context.Background(), PackRequest{To: []string{to}, OutDir: out, Sources: srcs, VolumeSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	return sealed
}

func events(t *testing.T, s *Station) []custody.Record {
	t.Helper()
	var recs []custody.Record
	if err := custody.Each(s.CustodyPath, func(_ []byte, r custody.Record) error {
		recs = append(recs, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return recs
}

func lastEvent(t *testing.T, s *Station) custody.Record {
	recs := events(t, s)
	if len(recs) == 0 {
		t.Fatal("no custody records")
	}
	return recs[len(recs)-1]
}

func TestInitRefusesToOverwriteAndProtectsKeys(t *testing.T) {
	home := filepath.Join(t.TempDir(), "st")
	s, err := Init(home, "alpha", false)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{identityFile, signingFile} {
		info, err := os.Stat(filepath.Join(home, f))
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, %v; want 0600", f, info.Mode(), err)
		}
	}
	if info, _ := os.Stat(home); info.Mode().Perm() != 0o700 {
		t.Errorf("home mode %v, want 0700", info.Mode().Perm())
	}
	before, _ := os.ReadFile(filepath.Join(home, identityFile))
	if _, err := Init(home, "beta", false); err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Fatalf("second init: %v", err)
	}
	after, _ := os.ReadFile(filepath.Join(home, identityFile))
	if !bytes.Equal(before, after) {
		t.Fatal("second init changed the identity")
	}
	l, err := Load(home)
	if err != nil || l.Name != "alpha" || !l.Card().SameKeys(s.Card()) {
		t.Fatalf("load: %v", err)
	}
	if r := events(t, s); len(r) != 1 || r[0].Event != custody.EventStationCreated {
		t.Fatalf("custody after init: %+v", r)
	}
	os.Chmod(filepath.Join(home, identityFile), 0o644)
	if _, err := Load(home); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("load with world-readable key: %v", err)
	}
	if _, err := Load(t.TempDir()); !errors.Is(err, ErrNoStation) {
		t.Fatalf("load empty home: %v", err)
	}
	if _, err := Init(filepath.Join(t.TempDir(), "x"), "bad name", false); err == nil {
		t.Fatal("invalid name accepted")
	}
}

func TestTrustStore(t *testing.T) {
	a, b := pair(t, false)
	other, _ := Init(filepath.Join(t.TempDir(), "o"), "kiosk-1", false) // same name as b, other keys
	if _, err := a.TrustAdd(other.Card().Marshal()); !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "already trusted with different keys") {
		t.Fatalf("name clash: %v", err)
	}
	if _, err := a.TrustAdd(b.Card().Marshal()); err != nil {
		t.Fatalf("adding the same card twice: %v", err)
	}
	if _, err := a.TrustAdd([]byte("not a card")); !errors.Is(err, ErrRejected) {
		t.Fatalf("garbage card: %v", err)
	}
	if _, err := a.TrustAdd(a.Card().Marshal()); err == nil {
		t.Fatal("own card accepted")
	}
	// Another station of this station's own name could not be told from
	// it (in its custody records, in a seal's proof): refused.
	twin, _ := Init(filepath.Join(t.TempDir(), "t"), a.Name, false)
	if _, err := a.TrustAdd(twin.Card().Marshal()); !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "as this station is") {
		t.Fatalf("a card of this station's name: %v", err)
	}
	list, _ := a.TrustList()
	if len(list) != 1 || list[0].Name != "kiosk-1" {
		t.Fatalf("list: %+v", list)
	}
	if err := a.TrustRemove("kiosk-1"); err != nil {
		t.Fatal(err)
	}
	if err := a.TrustRemove("kiosk-1"); err == nil {
		t.Fatal("removing twice succeeded")
	}
	if _, err := a.TrustAdd(other.Card().Marshal()); err != nil {
		t.Fatalf("re-adding after remove: %v", err)
	}
	got := []string{}
	for _, r := range events(t, a) {
		got = append(got, r.Event)
	}
	want := "station-created trust-added trust-removed trust-added"
	if strings.Join(got, " ") != want {
		t.Fatalf("custody events %q, want %q", got, want)
	}
}

func TestPackReceiveEndToEnd(t *testing.T) {
	for _, pq := range []bool{false, true} {
		sender, kiosk := pair(t, pq)
		src := stage(t, map[string]string{"a.txt": "alpha", "sub/b.txt": strings.Repeat("b", 3<<20)})
		sealed := pack(t, sender, "kiosk-1", src)
		out := t.TempDir()
		r, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: out})
		if err != nil {
			t.Fatalf("pq=%v: %v", pq, err)
		}
		got, err := os.ReadFile(filepath.Join(out, sealed.Envelope.ID, "outbox", "sub", "b.txt"))
		if err != nil || len(got) != 3<<20 {
			t.Fatalf("released file: %v", err)
		}
		ents, _ := os.ReadDir(out)
		if len(ents) != 1 {
			t.Fatalf("out holds %d entries, want only the bundle", len(ents))
		}
		if r.Verified.ManifestSHA256 != sealed.ManifestSHA256 {
			t.Fatal("the two ends disagree on the manifest")
		}
		if k := lastEvent(t, kiosk); k.Event != custody.EventReleased || k.ManifestSHA256 != sealed.ManifestSHA256.String() {
			t.Fatalf("kiosk's last record: %+v", k)
		}
		// Both logs verify, and they reconcile bundle by bundle.
		for _, st := range []*Station{sender, kiosk} {
			v, _ := st.Verifier(st.Name)
			if rep, err := custody.Verify(st.CustodyPath, v, st.Origin(), nil); err != nil || !rep.OK() {
				t.Fatalf("%s's log: %v %+v", st.Name, err, rep)
			}
		}
		sv, _ := kiosk.Verifier("sender-1")
		rec, err := custody.Reconcile(sender.CustodyPath, kiosk.CustodyPath, sv, custody.Origin("sender-1"))
		if err != nil || len(rec.Bundles) != 1 || !rec.OK() || rec.Bundles[0].Bundle != sealed.Envelope.ID {
			t.Fatalf("reconcile: %v %+v", err, rec)
		}
		// The same bundle again is a replay.
		_, err = kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: t.TempDir()})
		if !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "replay") {
			t.Fatalf("replay: %v", err)
		}
	}
}

// TestReceiveRejectsAndReleasesNothing runs rejections through the kiosk's
// use-case: each exits with ErrRejected, leaves the destination empty,
// removes the quarantine and records why.
func TestReceiveRejectsAndReleasesNothing(t *testing.T) {
	sender, kiosk := pair(t, false)
	stranger, _ := Init(filepath.Join(t.TempDir(), "stranger"), "stranger", false)
	stranger.TrustAdd(kiosk.Card().Marshal())
	third, _ := Init(filepath.Join(t.TempDir(), "third"), "kiosk-2", false)
	sender.TrustAdd(third.Card().Marshal())
	src := stage(t, map[string]string{"a.txt": "alpha", "b.bin": strings.Repeat("x", 300000)})

	cases := []struct {
		name string
		make func() string
		now  time.Time
		want string
	}{
		{"untrusted sender", func() string { return pack(t, stranger, "kiosk-1", src).Dir }, time.Time{}, `"stranger", a station this kiosk does not trust`},
		{"for another kiosk", func() string { return pack(t, sender, "kiosk-2", src).Dir }, time.Time{}, "sealed for kiosk-2, not for this station (kiosk-1)"},
		{"stale", func() string { return pack(t, sender, "kiosk-1", src).Dir }, time.Now().Add(31 * 24 * time.Hour), "stale"},
		{"from the future", func() string { return pack(t, sender, "kiosk-1", src).Dir }, time.Now().Add(-time.Hour), "in the future"},
		{"payload corrupted", func() string {
			d := pack(t, sender, "kiosk-1", src).Dir
			p := filepath.Join(d, bundle.VolumeName(0))
			b, _ := os.ReadFile(p)
			b[len(b)-100] ^= 0xff
			os.WriteFile(p, b, 0o644)
			return d
		}, time.Time{}, "volume 1 of 1 (payload.age.0000) is corrupt"},
		{"not a bundle", func() string { return t.TempDir() }, time.Time{}, "no envelope.json"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := c.make()
			out := t.TempDir()
			req := ReceiveRequest{BundleDir: dir, OutDir: out}
			if !c.now.IsZero() {
				req.Now = func() time.Time { return c.now }
			}
			_, err := kiosk.Receive(context.Background(), req)
			if !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want rejection saying %q", err, c.want)
			}
			if ents, _ := os.ReadDir(out); len(ents) != 0 {
				t.Fatalf("rejected bundle left %d entries in the destination (quarantine not cleaned?)", len(ents))
			}
			if r := lastEvent(t, kiosk); r.Event != custody.EventRejected || !strings.Contains(r.Reason, c.want) {
				t.Fatalf("custody: %+v", r)
			}
		})
	}
}

func TestPolicyBoundsCheckedBeforeDecrypting(t *testing.T) {
	sender, kiosk := pair(t, false)
	src := stage(t, map[string]string{"a.txt": "alpha", "b.txt": "beta"})
	sealed := pack(t, sender, "kiosk-1", src)
	// The envelope's counts are refused by policy, so nothing is decrypted.
	kiosk.Policy.MaxFiles = 1
	_, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: t.TempDir()})
	if !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "policy: bundle holds 3 entries, more than the 1 allowed") {
		t.Fatalf("policy: %v", err)
	}
	kiosk.Policy = DefaultPolicy()
	kiosk.Policy.MaxBytes = 4
	sealed = pack(t, sender, "kiosk-1", src)
	if _, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "more than the 4 allowed") {
		t.Fatalf("byte policy: %v", err)
	}
}

func TestPackFailuresAreRecorded(t *testing.T) {
	sender, _ := pair(t, false)
	src := stage(t, map[string]string{"a.txt": "alpha"})
	srcs, _ := StagePaths([]string{src})
	if _, err := sender.Pack(context.Background(), PackRequest{To: []string{"nobody"}, OutDir: t.TempDir(), Sources: srcs}); err == nil || !strings.Contains(err.Error(), "not trusted") {
		t.Fatalf("unknown recipient: %v", err)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(&Interrupted{By: "SIGTERM"})
	out := t.TempDir()
	if _, err := sender.Pack(ctx, PackRequest{To: []string{"kiosk-1"}, OutDir: out, Sources: srcs}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled pack: %v", err)
	}
	if ents, _ := os.ReadDir(out); len(ents) != 0 {
		t.Fatal("cancelled pack left files")
	}
	if r := lastEvent(t, sender); r.Event != custody.EventSealFailed || r.Reason != "interrupted by SIGTERM" {
		t.Fatalf("custody: %+v", r)
	}
}

// TestStockToolsOpenTheBundle proves the emergency path in docs/FORMAT.md:
// the envelope verifies with ssh-keygen, and cat + age + tar open the payload.
func TestStockToolsOpenTheBundle(t *testing.T) {
	for _, tool := range []string{"age", "tar", "ssh-keygen", "sh"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (make test installs it through packaging/deps.sh)", tool)
		}
	}
	sender, kiosk := pair(t, false)
	src := stage(t, map[string]string{"report.txt": "quarterly", "data/x.bin": strings.Repeat("z", 200000)})
	sealed := pack(t, sender, "kiosk-1", src)
	os.Remove(filepath.Join(sealed.Dir, "..", "ignored"))
	work := t.TempDir()
	allowed := filepath.Join(work, "allowed_signers")
	os.WriteFile(allowed, []byte("sender-1 namespaces=\""+crypto.NamespaceEnvelope+"\" "+sender.Card().SigningKeyString()+"\n"), 0o644)
	script := `set -e
cd "$BUNDLE"
ssh-keygen -Y verify -f "$ALLOWED" -I sender-1 -n sluice-envelope@sluice -s envelope.json.sig < envelope.json
cat payload.age.* | age -d -i "$IDENTITY" | tar -x -C "$OUT"
`
	cmd := exec.Command("sh", "-c", script)
	cmd.Env = append(os.Environ(), "BUNDLE="+sealed.Dir, "ALLOWED="+allowed, "IDENTITY="+filepath.Join(kiosk.Home, identityFile), "OUT="+work)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("stock tools failed: %v\n%s", err, out)
	}
	got, err := os.ReadFile(filepath.Join(work, "data", "outbox", "report.txt"))
	if err != nil || string(got) != "quarterly" {
		t.Fatalf("stock tar did not give the file back: %v", err)
	}
	if _, err := os.Stat(filepath.Join(work, "sluice", "manifest.json")); err != nil {
		t.Fatalf("manifest not in the stock extraction: %v", err)
	}
}

// TestCancelReceiveReleasesNothing cancels a receive while it decrypts: the
// destination stays empty, the quarantine is gone, and the custody log says
// the officer cancelled.
func TestCancelReceiveReleasesNothing(t *testing.T) {
	sender, kiosk := pair(t, false)
	src := stage(t, map[string]string{"readme.txt": "disk image"})
	big := make([]byte, 96<<20)
	for i := range big {
		big[i] = byte(i * 7)
	}
	os.WriteFile(filepath.Join(src, "disk.img"), big, 0o644)
	sealed := pack(t, sender, "kiosk-1", src)
	out := t.TempDir()
	ctx, cancel := context.WithCancelCause(context.Background())
	start := time.Time{}
	_, err := kiosk.Receive(ctx, ReceiveRequest{BundleDir: sealed.Dir, OutDir: out, Progress: func(done, total int64) {
		if done > 0 && start.IsZero() {
			start = time.Now()
			cancel(&Interrupted{By: "the officer (Cancel)"})
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled receive: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("cancel took %v", d)
	}
	if ents, _ := os.ReadDir(out); len(ents) != 0 {
		t.Fatalf("cancelled receive left %d entries in the destination", len(ents))
	}
	if r := lastEvent(t, kiosk); r.Event != custody.EventRejected || r.Outcome != "cancelled" ||
		!strings.Contains(r.Reason, "interrupted by the officer (Cancel); nothing was released") || r.Bundle != sealed.Envelope.ID {
		t.Fatalf("custody: %+v", r)
	}
}

func TestWipeAfterRelease(t *testing.T) {
	sender, kiosk := pair(t, false)
	src := stage(t, map[string]string{"a.txt": "alpha"})
	sealed := pack(t, sender, "kiosk-1", src)
	if err := kiosk.Wipe(sealed.Dir, ""); err == nil || !strings.Contains(err.Error(), "was not released here") {
		t.Fatalf("wipe before release: %v", err)
	}
	if _, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	if err := kiosk.Wipe(sealed.Dir, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(sealed.Dir); !os.IsNotExist(err) {
		t.Fatalf("bundle still on the medium: %v", err)
	}
	if r := lastEvent(t, kiosk); r.Event != custody.EventWiped || r.Bundle != sealed.Envelope.ID {
		t.Fatalf("custody: %+v", r)
	}
}
