package crypto

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"

	"filippo.io/age"
	agearmor "filippo.io/age/armor"
	"golang.org/x/crypto/ssh"
)

// NamespaceApproval is the SSHSIG namespace of an officer's approval of a
// release, so an approval can never pass for a station's signature and
// back (ssh-keygen -Y verify -n sluice-approval@sluice checks one).
const NamespaceApproval = "sluice-approval@sluice"

// NamespaceSealApproval is the SSHSIG namespace of an officer's approval
// of sealing staged files on a sending station (require_seal_approvals):
// a signature for one purpose is never valid for the other.
const NamespaceSealApproval = "sluice-seal-approval@sluice"

// OfficerWorkFactor is the scrypt work factor (log2 N) protecting officer
// keys: 18, age's default, takes about a second to unlock, which is the
// point. Tests lower it.
var OfficerWorkFactor = 18

// MinPassphrase is the shortest officer passphrase accepted.
const MinPassphrase = 12

// NewOfficerKey makes an officer's Ed25519 signing key and returns it as
// an OpenSSH private key file encrypted to passphrase with age's scrypt
// recipient (ASCII-armored), and its public key.
func NewOfficerKey(name string, passphrase []byte) ([]byte, ssh.PublicKey, error) {
	if len(passphrase) < MinPassphrase {
		return nil, nil, fmt.Errorf("the passphrase must be at least %d characters", MinPassphrase)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, name)
	if err != nil {
		return nil, nil, err
	}
	r, err := age.NewScryptRecipient(string(passphrase))
	if err != nil {
		return nil, nil, err
	}
	r.SetWorkFactor(OfficerWorkFactor)
	var out bytes.Buffer
	aw := agearmor.NewWriter(&out)
	w, err := age.Encrypt(aw, r)
	if err != nil {
		return nil, nil, err
	}
	if _, err := w.Write(pem.EncodeToMemory(block)); err != nil {
		return nil, nil, err
	}
	if err := w.Close(); err != nil {
		return nil, nil, err
	}
	if err := aw.Close(); err != nil {
		return nil, nil, err
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, nil, err
	}
	return out.Bytes(), sp, nil
}

// ErrPassphrase is returned for a wrong officer passphrase.
var ErrPassphrase = errors.New("wrong passphrase")

// UnlockOfficerKey decrypts an officer's key file with passphrase.
func UnlockOfficerKey(file, passphrase []byte) (ssh.Signer, error) {
	id, err := age.NewScryptIdentity(string(passphrase))
	if err != nil {
		return nil, err
	}
	r, err := age.Decrypt(agearmor.NewReader(bytes.NewReader(file)), id)
	if err != nil {
		var nm *age.NoIdentityMatchError
		if errors.As(err, &nm) {
			return nil, ErrPassphrase
		}
		return nil, fmt.Errorf("officer key: %w", err)
	}
	pemBytes, err := io.ReadAll(io.LimitReader(r, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("officer key: %w", err)
	}
	return ssh.ParsePrivateKey(pemBytes)
}
