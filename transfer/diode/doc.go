// Package diode carries sealed bundles across a one-way link (a data diode)
// over UDP: the sender never reads its socket and the receiver never writes
// to its own. Everything a receiver needs travels in the stream itself:
//
//   - every packet has one constant size, chosen so it is never fragmented
//     at the link's MTU, and carries a 32-byte header describing itself and
//     a 16-byte HMAC-SHA256 tag, so a corrupted or foreign packet is dropped
//     and counted, never decoded;
//   - each bundle is announced by a signed announcement (SSHSIG in the
//     namespace [Namespace]) holding its envelope, its file list, the
//     transfer parameters and the SHA-256 of every block; the announcement
//     is repeated at the start, throughout and at the end of a session, so
//     a receiver that starts late still learns everything;
//   - payload bytes are cut into blocks of up to 128 shards, Reed-Solomon
//     coded (github.com/klauspost/reedsolomon, GF(2^8)) with as many parity
//     shards as data shards, and the shards of up to 32 blocks are
//     interleaved so a burst of lost packets costs each block only a few;
//   - each pass sends a different rotation of each block's shards, so a
//     receiver accumulates across passes (Passes > 1 or Carousel);
//   - a token bucket holds the configured wire rate from the first packet
//     to the last.
//
// A receiver writes into INBOX/.partial/ID/, checks every decoded block
// against the signed hash before writing it, keeps a checkpoint of written
// blocks so a restarted receiver resumes, and moves a finished bundle into
// INBOX/ID.sluice/ with envelope.json written last. [Status] says what an
// inbox holds and, for an unfinished bundle, exactly which blocks it lacks.
//
// docs/DIODE.md describes the wire format byte by byte.
package diode
