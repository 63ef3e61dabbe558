package crypto

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"golang.org/x/crypto/ssh"
	"golang.org/x/mod/sumdb/note"
)

// The custody log's checkpoints are C2SP signed notes
// (https://c2sp.org/signed-note) signed with the station's Ed25519 signing
// key, so one key, the one on the station's card, vouches for everything the
// station signs.

// noteAlgEd25519 is the signed-note algorithm byte for Ed25519.
const noteAlgEd25519 = 1

type noteSigner struct {
	name string
	hash uint32
	key  ed25519.PrivateKey
}

func (s *noteSigner) Name() string                    { return s.name }
func (s *noteSigner) KeyHash() uint32                 { return s.hash }
func (s *noteSigner) Sign(msg []byte) ([]byte, error) { return ed25519.Sign(s.key, msg), nil }

func noteKeyHash(name string, pub ed25519.PublicKey) uint32 {
	h := sha256.New()
	h.Write([]byte(name + "\n"))
	h.Write(append([]byte{noteAlgEd25519}, pub...))
	return binary.BigEndian.Uint32(h.Sum(nil))
}

// NoteSigner returns a signed-note signer named name that signs with the
// station's Ed25519 key.
func (k *StationKeys) NoteSigner(name string) note.Signer {
	pub := k.signingKey.Public().(ed25519.PublicKey)
	return &noteSigner{name: name, hash: noteKeyHash(name, pub), key: k.signingKey}
}

// NoteVerifier returns a signed-note verifier named name for the Ed25519
// signing key on a station's card.
func NoteVerifier(name string, signingKey ssh.PublicKey) (note.Verifier, error) {
	ck, ok := signingKey.(ssh.CryptoPublicKey)
	if !ok {
		return nil, fmt.Errorf("signing key is not a usable public key")
	}
	pub, ok := ck.CryptoPublicKey().(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("signing key is not Ed25519")
	}
	vkey, err := note.NewEd25519VerifierKey(name, pub)
	if err != nil {
		return nil, fmt.Errorf("note verifier: %w", err)
	}
	return note.NewVerifier(vkey)
}
