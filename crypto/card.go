package crypto

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"

	"filippo.io/age"
	"golang.org/x/crypto/ssh"

	"sluice/internal/textfile"
)

// A Card is a station's public identity: what other stations need to seal
// bundles for it and to check what it signs. Cards are exchanged as small
// text files (or QR codes of the same text).
//
// The text form is:
//
//	# Sluice station card
//	sluice-card: v1
//	name: kiosk-a
//	age: age1…
//	ssh: ssh-ed25519 AAAA…
//
// A release key's card adds "role: release" (RoleRelease): a station that
// trusts it takes updates of Sluice and of its scanner's signatures
// signed by it, and nothing else; a station card (no role line) is
// trusted for data bundles only. One key, one role.
type Card struct {
	Name       string
	Recipient  string
	SigningKey ssh.PublicKey
	// Role is "" for a station, RoleRelease for a release key.
	Role string
}

// RoleRelease is the role of a release key's card: it signs updates.
const RoleRelease = "release"

// RoleName says what a card's role is for, in messages.
func RoleName(role string) string {
	if role == RoleRelease {
		return "release key (updates only)"
	}
	return "station (data bundles)"
}

// MaxCardSize bounds a card file before it is parsed. A hybrid post-quantum
// recipient is about two kilobytes, so this leaves ample room.
const MaxCardSize = 16 << 10

const cardVersion = "v1"

// ValidName checks a station name: 1 to 64 characters of letters, digits,
// '.', '_' or '-', not starting with '.' or '-'. Names appear in file names,
// custody records and allowed_signers files, so they stay this plain.
func ValidName(name string) error {
	if len(name) == 0 || len(name) > 64 {
		return fmt.Errorf("station name must be 1 to 64 characters")
	}
	for i, c := range name {
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' ||
			(i > 0 && (c == '.' || c == '-'))
		if !ok {
			return fmt.Errorf("station name %q may hold only letters, digits, '.', '_' and '-', and must start with a letter, digit or '_'", name)
		}
	}
	return nil
}

// ParseCard parses and checks the text form of a card. A card saved on
// Windows (CRLF line ends, a UTF-8 byte-order mark) reads as the original;
// one that is not UTF-8 text is an error wrapping textfile.ErrNotText, which
// says nothing about the card itself.
func ParseCard(b []byte) (Card, error) {
	var c Card
	if len(b) > MaxCardSize {
		return c, fmt.Errorf("card is larger than %d bytes", MaxCardSize)
	}
	b, err := textfile.Normalize("card", b)
	if err != nil {
		return c, err
	}
	fields := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), MaxCardSize)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			return c, fmt.Errorf("not a Sluice station card: line %q is not \"key: value\"", truncate(line))
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		switch key {
		case "sluice-card", "name", "age", "ssh", "role":
		default:
			return c, fmt.Errorf("card has unknown field %q", truncate(key))
		}
		if _, dup := fields[key]; dup {
			return c, fmt.Errorf("card has field %q twice", key)
		}
		fields[key] = value
	}
	if err := sc.Err(); err != nil {
		return c, fmt.Errorf("read card: %w", err)
	}
	if v := fields["sluice-card"]; v != cardVersion {
		if v == "" {
			return c, fmt.Errorf("not a Sluice station card (no \"sluice-card: %s\" line)", cardVersion)
		}
		return c, fmt.Errorf("card version %q is not supported (want %s)", truncate(v), cardVersion)
	}
	for _, k := range []string{"name", "age", "ssh"} {
		if fields[k] == "" {
			return c, fmt.Errorf("card has no %q field", k)
		}
	}
	c.Name = fields["name"]
	if err := ValidName(c.Name); err != nil {
		return c, fmt.Errorf("card: %w", err)
	}
	c.Recipient = fields["age"]
	if _, err := c.AgeRecipient(); err != nil {
		return c, fmt.Errorf("card: %w", err)
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(fields["ssh"]))
	if err != nil {
		return c, fmt.Errorf("card: bad ssh signing key: %w", err)
	}
	if pub.Type() != ssh.KeyAlgoED25519 {
		return c, fmt.Errorf("card: signing key must be ssh-ed25519, not %s", pub.Type())
	}
	c.SigningKey = pub
	if r, ok := fields["role"]; ok {
		if r != RoleRelease {
			return c, fmt.Errorf("card: unknown role %q (a release key's card says \"role: %s\"; a station's has no role line)", truncate(r), RoleRelease)
		}
		c.Role = r
	}
	return c, nil
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// Marshal returns the card's text form.
func (c Card) Marshal() []byte {
	if c.Role != "" {
		return fmt.Appendf(nil, "# Sluice release key card: trust it with sluice trust add --role %s\nsluice-card: %s\nname: %s\nrole: %s\nage: %s\nssh: %s\n",
			c.Role, cardVersion, c.Name, c.Role, c.Recipient, c.SigningKeyString())
	}
	return fmt.Appendf(nil, "# Sluice station card\nsluice-card: %s\nname: %s\nage: %s\nssh: %s\n",
		cardVersion, c.Name, c.Recipient, c.SigningKeyString())
}

// SigningKeyString returns the signing key in authorized_keys form, without a comment.
func (c Card) SigningKeyString() string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(c.SigningKey)))
}

// AgeRecipient parses the card's age recipient (X25519 or hybrid post-quantum).
func (c Card) AgeRecipient() (age.Recipient, error) {
	switch {
	case strings.HasPrefix(c.Recipient, "age1pq1"):
		r, err := age.ParseHybridRecipient(c.Recipient)
		if err != nil {
			return nil, fmt.Errorf("bad age recipient: %w", err)
		}
		return r, nil
	default:
		r, err := age.ParseX25519Recipient(c.Recipient)
		if err != nil {
			return nil, fmt.Errorf("bad age recipient: %w", err)
		}
		return r, nil
	}
}

// SigningFingerprint is the OpenSSH SHA256 fingerprint of the signing key,
// as ssh-keygen -l prints it.
func (c Card) SigningFingerprint() string { return ssh.FingerprintSHA256(c.SigningKey) }

// RecipientFingerprint identifies the age recipient compactly:
// "age-sha256:" and the unpadded base64 SHA-256 of the recipient string.
func (c Card) RecipientFingerprint() string { return RecipientFingerprint(c.Recipient) }

// RecipientFingerprint is [Card.RecipientFingerprint] for a bare recipient string.
func RecipientFingerprint(recipient string) string {
	d := HashBytes([]byte(recipient))
	return "age-sha256:" + base64.RawStdEncoding.EncodeToString(d[:])
}

// SameKeys reports whether c and o hold the same keys (names aside).
func (c Card) SameKeys(o Card) bool {
	return c.Recipient == o.Recipient && bytes.Equal(c.SigningKey.Marshal(), o.SigningKey.Marshal())
}
