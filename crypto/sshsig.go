package crypto

import (
	"bytes"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strings"

	"golang.org/x/crypto/ssh"
)

// Signature namespaces. OpenSSH binds every SSHSIG signature to a namespace
// so a signature made for one purpose cannot be replayed for another; an
// auditor passes the same string to ssh-keygen -Y verify -n.
const (
	NamespaceEnvelope = "sluice-envelope@sluice"
	NamespaceManifest = "sluice-manifest@sluice"
)

// MaxSignatureSize bounds an armored signature before it is parsed.
const MaxSignatureSize = 16 << 10

// ErrBadSignature is returned when a signature does not verify. The message is
// fixed and says nothing about which part failed, as with any authentication
// failure.
var ErrBadSignature = errors.New("signature does not verify")

const (
	sshsigMagic   = "SSHSIG"
	sshsigVersion = 1
	sshsigHash    = "sha512"
	armorBegin    = "-----BEGIN SSH SIGNATURE-----"
	armorEnd      = "-----END SSH SIGNATURE-----"
)

// signedData is the blob that SSHSIG actually signs (PROTOCOL.sshsig).
type signedData struct {
	Namespace string
	Reserved  string
	HashAlg   string
	Hash      string
}

// sigBlob is the wire form of an SSHSIG signature after the magic preamble.
type sigBlob struct {
	Version   uint32
	PublicKey []byte
	Namespace string
	Reserved  string
	HashAlg   string
	Signature []byte
}

func messageToSign(namespace, hashAlg string, message []byte) ([]byte, error) {
	var digest []byte
	switch hashAlg {
	case "sha512":
		d := sha512.Sum512(message)
		digest = d[:]
	case "sha256":
		d := HashBytes(message)
		digest = d[:]
	default:
		return nil, fmt.Errorf("unsupported signature hash %q", hashAlg)
	}
	return digestToSign(namespace, hashAlg, digest), nil
}

func digestToSign(namespace, hashAlg string, digest []byte) []byte {
	return append([]byte(sshsigMagic), ssh.Marshal(signedData{
		Namespace: namespace, HashAlg: hashAlg, Hash: string(digest),
	})...)
}

// SignSSH signs message in namespace with signer and returns an armored
// OpenSSH signature, the same bytes ssh-keygen -Y sign writes.
func SignSSH(signer ssh.Signer, namespace string, message []byte) ([]byte, error) {
	d := sha512.Sum512(message)
	return signDigest(signer, namespace, d[:])
}

// SignHash is a message being written for SignSSHHash to sign: its
// SHA-512, the hash SSHSIG signatures made here name.
type SignHash struct{ h hash.Hash }

// NewSignHash returns an empty SignHash.
func NewSignHash() *SignHash { return &SignHash{sha512.New()} }

// Write adds p to the message; it never fails.
func (s *SignHash) Write(p []byte) (int, error) { return s.h.Write(p) }

// SignSSHHash is SignSSH for a message written to h rather than held
// whole, such as the manifest of 200,000 files. The signature is the same
// bytes SignSSH gives for that message.
func SignSSHHash(signer ssh.Signer, namespace string, h *SignHash) ([]byte, error) {
	return signDigest(signer, namespace, h.h.Sum(nil))
}

func signDigest(signer ssh.Signer, namespace string, digest []byte) ([]byte, error) {
	data := digestToSign(namespace, sshsigHash, digest)
	sig, err := signer.Sign(nil, data)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	blob := append([]byte(sshsigMagic), ssh.Marshal(sigBlob{
		Version:   sshsigVersion,
		PublicKey: signer.PublicKey().Marshal(),
		Namespace: namespace,
		HashAlg:   sshsigHash,
		Signature: ssh.Marshal(sig),
	})...)
	return armor(blob), nil
}

func armor(blob []byte) []byte {
	enc := base64.StdEncoding.EncodeToString(blob)
	var b bytes.Buffer
	b.WriteString(armorBegin + "\n")
	for len(enc) > 70 {
		b.WriteString(enc[:70] + "\n")
		enc = enc[70:]
	}
	b.WriteString(enc + "\n" + armorEnd + "\n")
	return b.Bytes()
}

// VerifySSH checks that armored is a valid OpenSSH signature of message in
// namespace by exactly the key want. Only Ed25519 keys are accepted.
func VerifySSH(want ssh.PublicKey, namespace string, message, armored []byte) error {
	blob, err := unarmor(armored)
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(blob, []byte(sshsigMagic)) {
		return fmt.Errorf("signature: not an SSHSIG signature")
	}
	var s sigBlob
	if err := ssh.Unmarshal(blob[len(sshsigMagic):], &s); err != nil {
		return fmt.Errorf("signature: malformed: %w", err)
	}
	if s.Version != sshsigVersion {
		return fmt.Errorf("signature: unsupported version %d", s.Version)
	}
	if s.Namespace != namespace {
		return fmt.Errorf("signature: made for namespace %q, not %q", s.Namespace, namespace)
	}
	if !bytes.Equal(s.PublicKey, want.Marshal()) {
		return ErrBadSignature
	}
	var sig ssh.Signature
	if err := ssh.Unmarshal(s.Signature, &sig); err != nil {
		return fmt.Errorf("signature: malformed: %w", err)
	}
	if want.Type() != ssh.KeyAlgoED25519 || sig.Format != ssh.KeyAlgoED25519 {
		return fmt.Errorf("signature: only ssh-ed25519 keys are accepted")
	}
	data, err := messageToSign(namespace, s.HashAlg, message)
	if err != nil {
		return fmt.Errorf("signature: %w", err)
	}
	if err := want.Verify(data, &sig); err != nil {
		return ErrBadSignature
	}
	return nil
}

func unarmor(armored []byte) ([]byte, error) {
	if len(armored) > MaxSignatureSize {
		return nil, fmt.Errorf("signature: larger than %d bytes", MaxSignatureSize)
	}
	text := strings.TrimSpace(string(armored))
	if !strings.HasPrefix(text, armorBegin) || !strings.HasSuffix(text, armorEnd) {
		return nil, fmt.Errorf("signature: missing %s armor", "SSH SIGNATURE")
	}
	body := strings.TrimSuffix(strings.TrimPrefix(text, armorBegin), armorEnd)
	body = strings.Join(strings.Fields(body), "")
	blob, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return nil, fmt.Errorf("signature: bad base64: %w", err)
	}
	return blob, nil
}
