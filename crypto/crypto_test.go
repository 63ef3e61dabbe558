package crypto

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

	"sluice/internal/textfile"
)

func mustKeys(t testing.TB, pq bool) *StationKeys {
	t.Helper()
	k, err := GenerateStationKeys(pq)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSignVerifyRoundTrip(t *testing.T) {
	k := mustKeys(t, false)
	msg := []byte("hello envelope")
	sig, err := SignSSH(k.Signer, NamespaceEnvelope, msg)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifySSH(k.Signer.PublicKey(), NamespaceEnvelope, msg, sig); err != nil {
		t.Fatalf("verify: %v", err)
	}
	if err := VerifySSH(k.Signer.PublicKey(), NamespaceEnvelope, []byte("hello envelopf"), sig); err != ErrBadSignature {
		t.Fatalf("edited message: got %v, want ErrBadSignature", err)
	}
	if err := VerifySSH(k.Signer.PublicKey(), NamespaceManifest, msg, sig); err == nil {
		t.Fatal("signature accepted in the wrong namespace")
	}
	other := mustKeys(t, false)
	if err := VerifySSH(other.Signer.PublicKey(), NamespaceEnvelope, msg, sig); err != ErrBadSignature {
		t.Fatalf("other key: got %v, want ErrBadSignature", err)
	}
}

// TestSignSSHHash: a message written piece by piece to NewSignHash signs
// to the same bytes as SignSSH of it whole (Ed25519 is deterministic).
func TestSignSSHHash(t *testing.T) {
	k := mustKeys(t, false)
	msg := bytes.Repeat([]byte("{\"path\":\"data/a\"},\n"), 10000)
	whole, err := SignSSH(k.Signer, NamespaceManifest, msg)
	if err != nil {
		t.Fatal(err)
	}
	h := NewSignHash()
	for p := msg; len(p) > 0; p = p[min(len(p), 777):] {
		h.Write(p[:min(len(p), 777)])
	}
	streamed, err := SignSSHHash(k.Signer, NamespaceManifest, h)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(whole, streamed) {
		t.Fatal("SignSSHHash gave other bytes than SignSSH for the same message")
	}
	if err := VerifySSH(k.Signer.PublicKey(), NamespaceManifest, msg, streamed); err != nil {
		t.Fatalf("verify: %v", err)
	}
}

// TestSSHKeygenInterop proves the documented promise: an auditor verifies our
// signatures with stock ssh-keygen, and ssh-keygen's signatures verify here.
func TestSSHKeygenInterop(t *testing.T) {
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("ssh-keygen not installed (Debian package openssh-client); make test installs it")
	}
	dir := t.TempDir()
	k := mustKeys(t, false)
	card := k.Card("sender-1")
	msg := []byte("{\"format\":\"test\"}\n")
	sig, err := SignSSH(k.Signer, NamespaceEnvelope, msg)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	msgPath := write("msg", msg, 0o644)
	sigPath := write("msg.sig", sig, 0o644)
	allowed := write("allowed_signers", []byte("sender-1 namespaces=\""+NamespaceEnvelope+"\" "+card.SigningKeyString()+"\n"), 0o644)
	verify := func(ns string) error {
		cmd := exec.Command("ssh-keygen", "-Y", "verify", "-f", allowed, "-I", "sender-1", "-n", ns, "-s", sigPath)
		in, _ := os.Open(msgPath)
		defer in.Close()
		cmd.Stdin = in
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Logf("ssh-keygen: %s", out)
		}
		return err
	}
	if err := verify(NamespaceEnvelope); err != nil {
		t.Fatalf("ssh-keygen rejected our signature: %v", err)
	}
	if err := verify(NamespaceManifest); err == nil {
		t.Fatal("ssh-keygen accepted our signature in the wrong namespace")
	}

	// And the other way: ssh-keygen signs with the station's key file.
	keyFile, err := k.MarshalSigningKey("sender-1")
	if err != nil {
		t.Fatal(err)
	}
	keyPath := write("signing.key", keyFile, 0o600)
	msgPath = write("msg2", msg, 0o644)
	cmd := exec.Command("ssh-keygen", "-Y", "sign", "-f", keyPath, "-n", NamespaceManifest, msgPath)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen sign: %v: %s", err, out)
	}
	theirs, err := os.ReadFile(msgPath + ".sig")
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifySSH(k.Signer.PublicKey(), NamespaceManifest, msg, theirs); err != nil {
		t.Fatalf("ssh-keygen's signature did not verify here: %v", err)
	}
}

func TestStationKeysRoundTrip(t *testing.T) {
	for _, pq := range []bool{false, true} {
		k := mustKeys(t, pq)
		sk, err := k.MarshalSigningKey("x")
		if err != nil {
			t.Fatal(err)
		}
		l, err := LoadStationKeys(k.MarshalIdentity(), sk)
		if err != nil {
			t.Fatalf("pq=%v: %v", pq, err)
		}
		if l.Recipient != k.Recipient || !bytes.Equal(l.Signer.PublicKey().Marshal(), k.Signer.PublicKey().Marshal()) {
			t.Fatalf("pq=%v: loaded keys differ", pq)
		}
		if IsPostQuantum(k.Recipient) != pq {
			t.Fatalf("pq=%v: recipient %q", pq, k.Recipient[:12])
		}
	}
}

func TestCardRoundTripAndRejects(t *testing.T) {
	for _, pq := range []bool{false, true} {
		c := mustKeys(t, pq).Card("kiosk-a")
		p, err := ParseCard(c.Marshal())
		if err != nil {
			t.Fatalf("pq=%v: %v", pq, err)
		}
		if p.Name != "kiosk-a" || !p.SameKeys(c) {
			t.Fatalf("pq=%v: round trip changed the card", pq)
		}
		if _, err := p.AgeRecipient(); err != nil {
			t.Fatal(err)
		}
	}
	good := string(mustKeys(t, false).Card("kiosk-a").Marshal())
	bad := map[string]string{
		"empty":        "",
		"no version":   strings.Replace(good, "sluice-card: v1\n", "", 1),
		"version 2":    strings.Replace(good, "sluice-card: v1", "sluice-card: v2", 1),
		"bad name":     strings.Replace(good, "name: kiosk-a", "name: ../etc", 1),
		"bad age":      strings.Replace(good, "age: age1", "age: age2", 1),
		"bad ssh":      strings.Replace(good, "ssh: ssh-ed25519 AAAA", "ssh: ssh-ed25519 BBBB", 1),
		"unknown":      good + "extra: 1\n",
		"duplicate":    good + "name: other\n",
		"not a card":   "hello world\n",
		"huge":         strings.Repeat("#", MaxCardSize+1),
		"rsa key type": strings.Replace(good, "ssh: ssh-ed25519", "ssh: ssh-rsa", 1),
		"other role":   good + "role: admin\n",
		"empty role":   good + "role:\n",
		"two roles":    good + "role: release\nrole: release\n",
	}
	for name, text := range bad {
		if _, err := ParseCard([]byte(text)); err == nil {
			t.Errorf("%s: card accepted", name)
		}
	}
}

// TestReleaseCard: a release key's card keeps its role through its text
// form, and a station's card has none.
func TestReleaseCard(t *testing.T) {
	c := mustKeys(t, false).Card("release-2026")
	c.Role = RoleRelease
	p, err := ParseCard(c.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if p.Role != RoleRelease || !p.SameKeys(c) {
		t.Fatalf("release card round trip: role %q", p.Role)
	}
	if !strings.Contains(string(c.Marshal()), "role: release\n") {
		t.Fatalf("release card text lacks its role:\n%s", c.Marshal())
	}
	if s, _ := ParseCard(mustKeys(t, false).Card("kiosk-a").Marshal()); s.Role != "" {
		t.Fatalf("station card has role %q", s.Role)
	}
}

// TestCardFromOtherMachines reads a real card as it arrives after a trip
// through Windows or another editor: line ends and a UTF-8 byte-order mark
// do not matter; text that is not UTF-8 is an error that says so
// (textfile.ErrNotText), not a verdict on the card.
func TestCardFromOtherMachines(t *testing.T) {
	c := mustKeys(t, true).Card("kiosk-a")
	good := string(c.Marshal())
	enc16 := func(s string, be bool) []byte {
		out := []byte{0xFF, 0xFE}
		if be {
			out = []byte{0xFE, 0xFF}
		}
		for _, u := range utf16.Encode([]rune(s)) {
			if be {
				out = append(out, byte(u>>8), byte(u))
			} else {
				out = append(out, byte(u), byte(u>>8))
			}
		}
		return out
	}
	for _, tc := range []struct {
		name string
		in   []byte
		says string
	}{
		{"LF", []byte(good), ""},
		{"CRLF", []byte(strings.ReplaceAll(good, "\n", "\r\n")), ""},
		{"UTF-8 BOM and CRLF", []byte("\xEF\xBB\xBF" + strings.ReplaceAll(good, "\n", "\r\n")), ""},
		{"no final newline", []byte(strings.TrimSuffix(good, "\n")), ""},
		{"UTF-16LE", enc16(good, false), "card is UTF-16 text; save it as UTF-8 and try again"},
		{"UTF-16BE", enc16(good, true), "card is UTF-16 text; save it as UTF-8 and try again"},
		{"binary", append([]byte{0x89, 'P', 'N', 'G', 0, 0, 0, 13}, good...), "card is not text"},
		{"Latin-1", []byte(strings.Replace(good, "# Sluice station card", "# Sluice station card \xe9t\xe9", 1)), "card is not UTF-8 text"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParseCard(tc.in)
			if tc.says == "" {
				if err != nil || !p.SameKeys(c) || p.Name != "kiosk-a" {
					t.Fatalf("card: %v", err)
				}
				return
			}
			if !errors.Is(err, textfile.ErrNotText) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("error %v; want one saying %q", err, tc.says)
			}
		})
	}
	// A card that is text but wrong is still refused for what it says.
	if _, err := ParseCard([]byte(strings.ReplaceAll(strings.Replace(good, "ssh: ssh-ed25519 AAAA", "ssh: ssh-ed25519 BBBB", 1), "\n", "\r\n"))); err == nil || errors.Is(err, textfile.ErrNotText) {
		t.Fatalf("bad key in a CRLF card: %v", err)
	}
}

func TestValidName(t *testing.T) {
	for _, ok := range []string{"a", "kiosk-1", "Site_B.gw", strings.Repeat("x", 64)} {
		if err := ValidName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".hidden", "-x", "a/b", "a b", "ü", strings.Repeat("x", 65), "a:b"} {
		if ValidName(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	// Every digit at every place, each way round.
	for i := range 256 {
		b := make([]byte, DigestSize)
		for j := range b {
			b[j] = byte(i + j)
		}
		var want Digest
		copy(want[:], b)
		if got, err := ParseDigest(want.String()); err != nil || got != want {
			t.Fatalf("%s read as %s (%v)", want, got, err)
		}
	}
}

func TestDigest(t *testing.T) {
	d := HashBytes([]byte("abc"))
	if d.String() != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Fatalf("sha256(abc) = %s", d)
	}
	p, err := ParseDigest(d.String())
	if err != nil || p != d {
		t.Fatalf("parse: %v", err)
	}
	for _, bad := range []string{"", "AB", strings.ToUpper(d.String()), d.String()[:63] + "g", d.String()[:63] + "F",
		d.String()[:62] + "é", "/" + d.String()[1:], ":" + d.String()[1:], "`" + d.String()[1:], d.String()[:63] + "\x00"} {
		if _, err := ParseDigest(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzParseCard(f *testing.F) {
	f.Add(mustKeys(f, false).Card("kiosk-a").Marshal())
	f.Add(mustKeys(f, true).Card("pq-1").Marshal())
	f.Add([]byte("sluice-card: v1\nname: x\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCard(b)
		if err != nil {
			return
		}
		again, err := ParseCard(c.Marshal())
		if err != nil || again.Name != c.Name || !again.SameKeys(c) {
			t.Fatalf("parse → marshal → parse changed the card: %v", err)
		}
	})
}

func FuzzVerifySSH(f *testing.F) {
	k := mustKeys(f, false)
	sig, _ := SignSSH(k.Signer, NamespaceEnvelope, []byte("m"))
	f.Add(sig)
	f.Add([]byte(armorBegin + "\n" + armorEnd))
	f.Fuzz(func(t *testing.T, b []byte) {
		err := VerifySSH(k.Signer.PublicKey(), NamespaceEnvelope, []byte("m"), b)
		if err == nil && !bytes.Equal(bytes.TrimSpace(b), bytes.TrimSpace(sig)) {
			// Another encoding of the same valid signature is fine; a
			// different signature that verifies is not possible with Ed25519.
			if _, uerr := unarmor(b); uerr != nil {
				t.Fatal("verified without parsing")
			}
		}
	})
}
