package diode

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
)

// Wire constants. docs/DIODE.md ("Packet") lays them out byte by byte.
const (
	// HeaderSize is the fixed header at the start of every packet.
	HeaderSize = 32
	// TagSize is the HMAC-SHA256 tag, truncated to 16 bytes, that ends
	// every packet.
	TagSize = 16
	// Overhead is what every packet carries besides shard bytes.
	packetOverhead = HeaderSize + TagSize

	// MaxShards bounds a block's data shards; every block is coded with
	// as many parity shards as data shards, so a block has at most 256
	// shards, the most Reed-Solomon over GF(2^8) allows.
	MaxShards = 128

	// MinPacketSize and MaxPacketSize bound the UDP payload: 548 bytes is
	// what the IPv4 minimum MTU (576, RFC 791) leaves after IPv4 and UDP
	// headers; 65,507 is the largest UDP payload over IPv4.
	MinPacketSize = 548
	MaxPacketSize = 65507

	ipv4Headers = 20 + 8 // IPv4 header without options + UDP header
	ipv6Headers = 40 + 8 // IPv6 header without extensions + UDP header
)

var magic = [4]byte{'S', 'L', 'D', 1} // "SLD" and wire version 1

// Packet kinds.
const (
	kindAnnounce = 1 // a shard of a bundle's signed announcement
	kindData     = 2 // a shard of a block of a bundle's payload
	kindEnd      = 3 // the session is ending; carries the packets sent
)

// header is the decoded fixed header of a packet.
type header struct {
	Session [8]byte
	Seq     uint32 // packet number in the session, from 0
	Kind    uint8
	Bundle  uint16 // bundle index in the session
	Block   uint32 // block index in the bundle (or the announcement)
	Shard   uint8  // shard index in the block, 0..N-1
	K       int    // data shards of the block, 1..128
	N       int    // all shards of the block (data + parity), K..256
	Length  uint32 // data: the block's bytes; announcement: its total bytes; end: 0
}

// errMalformed marks a packet whose form is wrong (size, magic, fields).
var errMalformed = errors.New("malformed packet")

// putHeader writes h into p[:HeaderSize].
func putHeader(p []byte, h *header) {
	copy(p[0:4], magic[:])
	copy(p[4:12], h.Session[:])
	binary.BigEndian.PutUint32(p[12:16], h.Seq)
	p[16] = h.Kind
	p[17] = 0
	binary.BigEndian.PutUint16(p[18:20], h.Bundle)
	binary.BigEndian.PutUint32(p[20:24], h.Block)
	p[24] = h.Shard
	p[25] = byte(h.K - 1)
	p[26] = byte(h.N - 1)
	p[27] = 0
	binary.BigEndian.PutUint32(p[28:32], h.Length)
}

// parseHeader decodes and checks the header of packet p. It does not check
// the tag (that needs the session's key).
func parseHeader(p []byte, h *header) error {
	if len(p) < MinPacketSize || len(p) > MaxPacketSize {
		return fmt.Errorf("%w: %d bytes", errMalformed, len(p))
	}
	if [4]byte(p[0:4]) != magic {
		return fmt.Errorf("%w: bad magic or version", errMalformed)
	}
	copy(h.Session[:], p[4:12])
	h.Seq = binary.BigEndian.Uint32(p[12:16])
	h.Kind = p[16]
	h.Bundle = binary.BigEndian.Uint16(p[18:20])
	h.Block = binary.BigEndian.Uint32(p[20:24])
	h.Shard = p[24]
	h.K = int(p[25]) + 1
	h.N = int(p[26]) + 1
	h.Length = binary.BigEndian.Uint32(p[28:32])
	if p[17] != 0 || p[27] != 0 {
		return fmt.Errorf("%w: reserved bytes set", errMalformed)
	}
	switch h.Kind {
	case kindAnnounce, kindData:
		if h.K > MaxShards || h.N != 2*h.K || int(h.Shard) >= h.N || h.Length == 0 {
			return fmt.Errorf("%w: bad shard fields", errMalformed)
		}
	case kindEnd:
		if h.Bundle != 0 || h.Block != 0 || h.Shard != 0 || h.K != 1 || h.N != 1 || h.Length != 0 {
			return fmt.Errorf("%w: bad end fields", errMalformed)
		}
	default:
		return fmt.Errorf("%w: unknown kind %d", errMalformed, h.Kind)
	}
	return nil
}

// shardSize is the shard bytes a packet of size p carries.
func shardSize(p int) int { return p - packetOverhead }

// PacketSize returns the UDP payload size for a link MTU: the MTU less the
// IPv4 (20 bytes) or IPv6 (40 bytes) header and the UDP header (8 bytes),
// so that no packet is fragmented. An MTU of 1500 gives 1472 bytes over
// IPv4. The result is clamped to [MinPacketSize, MaxPacketSize].
func PacketSize(mtu int, ipv6 bool) int {
	p := mtu - ipv4Headers
	if ipv6 {
		p = mtu - ipv6Headers
	}
	return min(max(p, MinPacketSize), MaxPacketSize)
}

// mac computes and checks packet tags: HMAC-SHA256 over everything before
// the tag, truncated to TagSize bytes. One mac is used by one goroutine.
type mac struct {
	h   hash.Hash
	sum [sha256.Size]byte
}

func newMAC(key []byte) *mac { return &mac{h: hmac.New(sha256.New, key)} }

// seal writes the tag into the last TagSize bytes of p.
func (m *mac) seal(p []byte) {
	m.h.Reset()
	m.h.Write(p[:len(p)-TagSize])
	copy(p[len(p)-TagSize:], m.h.Sum(m.sum[:0]))
}

// check reports whether p's tag is right.
func (m *mac) check(p []byte) bool {
	m.h.Reset()
	m.h.Write(p[:len(p)-TagSize])
	s := m.h.Sum(m.sum[:0])
	return subtle.ConstantTimeCompare(s[:TagSize], p[len(p)-TagSize:]) == 1
}

// announceKey is the tag key of announcement packets: anyone can compute
// it from the session id, so it only catches corruption and strays; the
// announcement's signature is what makes it trustworthy.
func announceKey(session [8]byte) []byte {
	h := sha256.New()
	h.Write([]byte("sluice-diode announcement tag key\x00"))
	h.Write(session[:])
	return h.Sum(nil)
}

// blockGeometry gives the bytes, data shards and all shards of block i of
// an object of size total cut into blocks of k shards of s bytes each: the
// last block may be shorter and have fewer shards. Every block has as many
// parity shards as data shards (N = 2K).
func blockGeometry(total int64, k, s, i int) (length, kb, nb int) {
	full := int64(k) * int64(s)
	rest := total - int64(i)*full
	if rest > full {
		rest = full
	}
	length = int(rest)
	kb = (length + s - 1) / s
	return length, kb, 2 * kb
}

// blockCount is how many blocks of k shards of s bytes hold total bytes.
func blockCount(total int64, k, s int) int {
	full := int64(k) * int64(s)
	return int((total + full - 1) / full)
}

// perPass is how many of a block's n = 2k shards one pass sends: the k
// data shards' worth plus ⌈k × overhead⌉ more, at most n.
func perPass(k int, overhead float64) int {
	m := int(float64(k)*overhead + 0.999999)
	return min(k+m, 2*k)
}

// shardAt is the shard that slot j of pass p sends, for a block of n
// shards sending c per pass: passes rotate through all n shards, so
// successive passes send shards a receiver has not seen yet.
func shardAt(p, j, c, n int) int { return (p*c + j) % n }
