package crypto

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"filippo.io/age"
	"golang.org/x/crypto/ssh"
)

// StationKeys is a station's secret key material: the age identity that
// bundles are encrypted to, and the Ed25519 key that signs what the station
// sends.
type StationKeys struct {
	// Identity decrypts bundles sealed for this station.
	Identity age.Identity
	// Recipient is Identity's public half, as the string that goes on the card.
	Recipient string
	// Signer signs envelopes and manifests.
	Signer ssh.Signer

	identityText string
	signingKey   ed25519.PrivateKey
}

// GenerateStationKeys makes new keys. With pq set, the age identity is the
// hybrid ML-KEM-768 + X25519 kind (age1pq1… recipients); otherwise X25519.
func GenerateStationKeys(pq bool) (*StationKeys, error) {
	var id age.Identity
	var text, recipient string
	if pq {
		h, err := age.GenerateHybridIdentity()
		if err != nil {
			return nil, fmt.Errorf("generate hybrid identity: %w", err)
		}
		id, text, recipient = h, h.String(), h.Recipient().String()
	} else {
		x, err := age.GenerateX25519Identity()
		if err != nil {
			return nil, fmt.Errorf("generate X25519 identity: %w", err)
		}
		id, text, recipient = x, x.String(), x.Recipient().String()
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	return &StationKeys{Identity: id, Recipient: recipient, Signer: signer, identityText: text, signingKey: priv}, nil
}

// MarshalIdentity returns the age identity file, in the format age-keygen
// writes, so the stock age tool can use it with -i.
func (k *StationKeys) MarshalIdentity() []byte {
	return fmt.Appendf(nil, "# created: %s\n# public key: %s\n%s\n",
		time.Now().UTC().Format(time.RFC3339), k.Recipient, k.identityText)
}

// MarshalSigningKey returns the signing key as an OpenSSH private key file,
// so ssh-keygen -Y sign can use it too.
func (k *StationKeys) MarshalSigningKey(comment string) ([]byte, error) {
	block, err := ssh.MarshalPrivateKey(k.signingKey, comment)
	if err != nil {
		return nil, fmt.Errorf("marshal signing key: %w", err)
	}
	return pem.EncodeToMemory(block), nil
}

// LoadStationKeys parses the files written by MarshalIdentity and
// MarshalSigningKey.
func LoadStationKeys(identityFile, signingKeyFile []byte) (*StationKeys, error) {
	ids, err := age.ParseIdentities(bytes.NewReader(identityFile))
	if err != nil {
		return nil, fmt.Errorf("parse age identity: %w", err)
	}
	if len(ids) != 1 {
		return nil, fmt.Errorf("identity file holds %d identities, want 1", len(ids))
	}
	k := &StationKeys{Identity: ids[0]}
	switch id := ids[0].(type) {
	case *age.X25519Identity:
		k.Recipient, k.identityText = id.Recipient().String(), id.String()
	case *age.HybridIdentity:
		k.Recipient, k.identityText = id.Recipient().String(), id.String()
	default:
		return nil, fmt.Errorf("unsupported age identity type %T", id)
	}
	raw, err := ssh.ParseRawPrivateKey(signingKeyFile)
	if err != nil {
		return nil, fmt.Errorf("parse signing key: %w", err)
	}
	priv, ok := raw.(*ed25519.PrivateKey)
	if !ok {
		return nil, errors.New("signing key is not an Ed25519 key")
	}
	k.signingKey = *priv
	if k.Signer, err = ssh.NewSignerFromKey(*priv); err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	return k, nil
}

// Card returns this station's public card under name.
func (k *StationKeys) Card(name string) Card {
	return Card{Name: name, Recipient: k.Recipient, SigningKey: k.Signer.PublicKey()}
}

// IsPostQuantum reports whether recipient is a hybrid post-quantum age recipient.
func IsPostQuantum(recipient string) bool { return strings.HasPrefix(recipient, "age1pq1") }
