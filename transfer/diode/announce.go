package diode

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/ssh"

	"sluice/crypto"
	"sluice/internal/strictjson"
	"sluice/transfer/bundle"
)

// Namespace is the SSHSIG namespace of announcements, so that a signature
// made for a diode announcement can serve no other purpose.
const Namespace = "sluice-diode@sluice"

// AnnouncementFormat names version 1 of the announcement body.
const AnnouncementFormat = "sluice-diode-announcement/1"

// MaxAnnouncement bounds an announcement's bytes (body, hash list and
// signature): 32 MiB holds the hashes of a million blocks, about 190 GB of
// payload at the 1500-byte MTU.
const MaxAnnouncement = 32 << 20

// maxBody bounds the JSON body: an envelope (1 MiB, bundle.MaxEnvelopeSize)
// and its signature, base64 encoded, and 10,000 volume names and sizes.
const maxBody = 2 << 20

var annMagic = [4]byte{'S', 'L', 'D', 'A'}

// annFile is one file a bundle sends: a payload volume and its size.
type annFile struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
}

// annBody is the JSON part of an announcement.
type annBody struct {
	Format      string    `json:"format"`
	Session     string    `json:"session"`
	Bundle      int       `json:"bundle"`
	Bundles     int       `json:"bundles"`
	Station     string    `json:"station"`
	SigningKey  string    `json:"signing_key"`
	MACKey      string    `json:"mac_key"`
	Started     time.Time `json:"started"`
	ID          string    `json:"id"`
	Envelope    []byte    `json:"envelope"`
	EnvelopeSig []byte    `json:"envelope_sig"`
	Files       []annFile `json:"files"`
	Bytes       int64     `json:"bytes"`
	PacketSize  int       `json:"packet_size"`
	BlockShards int       `json:"block_shards"`
	Blocks      int       `json:"blocks"`
}

// announcement is a parsed (and, once verified, trusted) announcement.
type announcement struct {
	annBody
	session  [8]byte
	macKey   []byte
	hashes   []byte // Blocks × 32 bytes
	signer   ssh.PublicKey
	envelope *bundle.Envelope
	raw      []byte // the whole announcement as sent
}

// blockHash returns the signed SHA-256 of block i.
func (a *announcement) blockHash(i int) []byte { return a.hashes[32*i : 32*i+32] }

// layoutDigest identifies what a receiver writes for this announcement,
// whichever session sent it: the bundle, its files, the block cut and
// every block's hash. A checkpoint is resumed only for the same digest.
func (a *announcement) layoutDigest() [32]byte {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00%d\x00%d\x00", a.ID, a.PacketSize, a.BlockShards, a.Bytes)
	for _, f := range a.Files {
		fmt.Fprintf(h, "%s\x00%d\x00", f.Name, f.Size)
	}
	h.Write(a.hashes)
	return [32]byte(h.Sum(nil))
}

// marshalAnnouncement lays out and signs an announcement:
//
//	"SLDA" | u32 body length | body (JSON) | u32 hashes length | hashes |
//	u32 signature length | signature (armored SSHSIG over all before it)
func marshalAnnouncement(body *annBody, hashes []byte, signer ssh.Signer) ([]byte, error) {
	js, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("announcement: %w", err)
	}
	var b bytes.Buffer
	b.Write(annMagic[:])
	binary.Write(&b, binary.BigEndian, uint32(len(js)))
	b.Write(js)
	binary.Write(&b, binary.BigEndian, uint32(len(hashes)))
	b.Write(hashes)
	sig, err := crypto.SignSSH(signer, Namespace, b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("sign announcement: %w", err)
	}
	binary.Write(&b, binary.BigEndian, uint32(len(sig)))
	b.Write(sig)
	if b.Len() > MaxAnnouncement {
		return nil, fmt.Errorf("announcement of %d bytes is larger than %d: the bundle has too many blocks for this MTU", b.Len(), MaxAnnouncement)
	}
	return b.Bytes(), nil
}

// errUntrusted is wrapped when an announcement's key is not trusted.
var errUntrusted = errors.New("announcement signed by an untrusted key")

// parseAnnouncement checks an announcement's form and every bound, without
// its signature: what a receiver reads from its own disk. Names in it are
// checked (bundle id, volume names) since they become paths.
func parseAnnouncement(raw []byte) (*announcement, error) {
	if len(raw) > MaxAnnouncement {
		return nil, fmt.Errorf("announcement larger than %d bytes", MaxAnnouncement)
	}
	r := raw
	next := func(what string, limit int) ([]byte, error) {
		if len(r) < 4 {
			return nil, fmt.Errorf("announcement: truncated before %s", what)
		}
		n := binary.BigEndian.Uint32(r)
		if int64(n) > int64(len(r)-4) || int64(n) > int64(limit) {
			return nil, fmt.Errorf("announcement: %s of %d bytes does not fit", what, n)
		}
		v := r[4 : 4+n]
		r = r[4+n:]
		return v, nil
	}
	if len(r) < 4 || [4]byte(r[:4]) != annMagic {
		return nil, errors.New("announcement: bad magic")
	}
	r = r[4:]
	js, err := next("body", maxBody)
	if err != nil {
		return nil, err
	}
	hashes, err := next("hash list", MaxAnnouncement)
	if err != nil {
		return nil, err
	}
	if _, err := next("signature", crypto.MaxSignatureSize); err != nil {
		return nil, err
	}
	if len(r) != 0 {
		return nil, errors.New("announcement: data after the signature")
	}
	a := &announcement{hashes: hashes, raw: raw}
	if err := strictjson.Decode(js, &a.annBody); err != nil {
		return nil, fmt.Errorf("announcement: %w", err)
	}
	if err := a.check(); err != nil {
		return nil, fmt.Errorf("announcement: %w", err)
	}
	return a, nil
}

// signedPart splits a parsed-good raw announcement into signed bytes and
// signature.
func signedPart(raw []byte) (msg, sig []byte) {
	n := binary.BigEndian.Uint32(raw[4:])
	off := 8 + int(n)
	m := binary.BigEndian.Uint32(raw[off:])
	off += 4 + int(m)
	return raw[:off], raw[off+4:]
}

// verifyAnnouncement parses raw, asks trusted about its signing key and
// checks the signature. It returns the station name trusted gave. An
// untrusted key gives an error wrapping errUntrusted (and the parsed
// announcement, for reporting).
func verifyAnnouncement(raw []byte, trusted func(ssh.PublicKey) (string, bool)) (*announcement, string, error) {
	a, err := parseAnnouncement(raw)
	if err != nil {
		return nil, "", err
	}
	if trusted == nil {
		return a, "", errUntrusted
	}
	station, ok := trusted(a.signer)
	if !ok {
		return a, "", fmt.Errorf("%w (%s, station %q)", errUntrusted, ssh.FingerprintSHA256(a.signer), a.Station)
	}
	msg, sig := signedPart(raw)
	if err := crypto.VerifySSH(a.signer, Namespace, msg, sig); err != nil {
		return a, "", fmt.Errorf("announcement: %w", err)
	}
	return a, station, nil
}

// check holds the body to its bounds and to the envelope it carries.
func (a *announcement) check() error {
	b := &a.annBody
	if b.Format != AnnouncementFormat {
		return fmt.Errorf("format %q, want %q", truncate(b.Format), AnnouncementFormat)
	}
	s, err := hex.DecodeString(b.Session)
	if err != nil || len(s) != 8 {
		return errors.New("bad session id")
	}
	a.session = [8]byte(s)
	a.macKey, err = hex.DecodeString(b.MACKey)
	if err != nil || len(a.macKey) != 32 {
		return errors.New("bad tag key")
	}
	if b.Bundles < 1 || b.Bundles > 1<<16 || b.Bundle < 0 || b.Bundle >= b.Bundles {
		return fmt.Errorf("bundle %d of %d", b.Bundle, b.Bundles)
	}
	if err := crypto.ValidName(b.Station); err != nil {
		return fmt.Errorf("station name: %w", err)
	}
	a.signer, _, _, _, err = ssh.ParseAuthorizedKey([]byte(b.SigningKey))
	if err != nil {
		return fmt.Errorf("bad signing key: %w", err)
	}
	if !bundle.ValidID(b.ID) {
		return fmt.Errorf("bundle id %q is not of the form YYYYMMDDTHHMMSSZ-<16 hex digits>", truncate(b.ID))
	}
	if len(b.EnvelopeSig) == 0 || len(b.EnvelopeSig) > crypto.MaxSignatureSize {
		return errors.New("envelope signature missing or too large")
	}
	env, err := bundle.ParseEnvelope(b.Envelope)
	if err != nil {
		return err
	}
	if env.ID != b.ID {
		return fmt.Errorf("envelope is of bundle %s, announcement of %s", env.ID, b.ID)
	}
	a.envelope = env
	// Only a bundle's sender announces it: else a trusted station could
	// announce another's bundle (altered, so that the kiosk rejects it)
	// and take its place in the inbox before the real one arrives.
	if sk, err := env.SenderKey(); err != nil || !bytes.Equal(sk.Marshal(), a.signer.Marshal()) {
		return fmt.Errorf("bundle %s was sealed by %q, not by the station announcing it (%q)", b.ID, truncate(env.Sender.Name), truncate(b.Station))
	}
	if len(b.Files) != len(env.Payload.Volumes) {
		return fmt.Errorf("%d files announced, envelope lists %d volumes", len(b.Files), len(env.Payload.Volumes))
	}
	var total int64
	for i, f := range b.Files {
		v := env.Payload.Volumes[i]
		if f.Name != v.Name || f.Size != v.Size {
			return fmt.Errorf("file %d (%q, %d bytes) is not the envelope's volume %s of %d bytes", i, truncate(f.Name), f.Size, v.Name, v.Size)
		}
		total += f.Size
	}
	if total != b.Bytes || total != env.Payload.Size {
		return fmt.Errorf("files add up to %d bytes, announcement says %d", total, b.Bytes)
	}
	if b.PacketSize < MinPacketSize || b.PacketSize > MaxPacketSize {
		return fmt.Errorf("packet size %d out of range", b.PacketSize)
	}
	if b.BlockShards < 1 || b.BlockShards > MaxShards {
		return fmt.Errorf("block of %d shards out of range", b.BlockShards)
	}
	if b.Blocks != blockCount(b.Bytes, b.BlockShards, shardSize(b.PacketSize)) {
		return fmt.Errorf("%d blocks announced for %d bytes", b.Blocks, b.Bytes)
	}
	if len(a.hashes) != 32*b.Blocks {
		return fmt.Errorf("hash list of %d bytes for %d blocks", len(a.hashes), b.Blocks)
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
