package diode

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"sluice/internal/durable"
	"sluice/internal/regfile"
	"sluice/transfer/bundle"
)

// On-disk layout of a receiver's inbox (docs/DIODE.md, "Receiver state"):
//
//	INBOX/ID.sluice/                 finished bundles (envelope.json last)
//	INBOX/.partial/ID/announcement   the signed announcement being received
//	INBOX/.partial/ID/state          checkpoint: which blocks are written
//	INBOX/.partial/ID/needs.json     what the missing blocks needed when a session ended
//	INBOX/.partial/ID/bundle/        the volumes, written in place
const (
	partialDir   = ".partial"
	annFileName  = "announcement"
	stateName    = "state"
	bundleSubdir = "bundle"
)

var stateMagic = [4]byte{'S', 'L', 'D', 'S'}

// state is a bundle's checkpoint: the blocks written and made durable.
type state struct {
	layout  [32]byte
	station string // the name Trusted gave the announcement's key
	done    []byte // bit i set: block i is written and fsynced
	blocks  int
}

func (s *state) has(i int) bool { return s.done[i/8]&(1<<(i%8)) != 0 }
func (s *state) set(i int)      { s.done[i/8] |= 1 << (i % 8) }

func (s *state) count() int {
	n := 0
	for i := range s.blocks {
		if s.has(i) {
			n++
		}
	}
	return n
}

// marshal lays the state out as
//
//	"SLDS" | u32 version (1) | layout digest (32) | u32 blocks |
//	u8 station name length | station name | bitmap (⌈blocks/8⌉ bytes,
//	block i in bit i%8 of byte i/8)
func (s *state) marshal() []byte {
	b := make([]byte, 0, 45+len(s.station)+len(s.done))
	b = append(b, stateMagic[:]...)
	b = binary.BigEndian.AppendUint32(b, 1)
	b = append(b, s.layout[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(s.blocks))
	b = append(b, byte(len(s.station)))
	b = append(b, s.station...)
	return append(b, s.done...)
}

func parseState(b []byte) (*state, error) {
	if len(b) < 45 || [4]byte(b[:4]) != stateMagic || binary.BigEndian.Uint32(b[4:]) != 1 {
		return nil, errors.New("not a diode state file of version 1")
	}
	s := &state{layout: [32]byte(b[8:40]), blocks: int(binary.BigEndian.Uint32(b[40:]))}
	n := int(b[44])
	b = b[45:]
	if len(b) < n || s.blocks < 0 || len(b)-n != (s.blocks+7)/8 {
		return nil, errors.New("diode state file is truncated or too long")
	}
	s.station, s.done = string(b[:n]), append([]byte(nil), b[n:]...)
	return s, nil
}

// Range is a run of block indices, First to Last inclusive.
type Range struct{ First, Last int }

func (r Range) String() string {
	if r.First == r.Last {
		return fmt.Sprint(r.First)
	}
	return fmt.Sprintf("%d-%d", r.First, r.Last)
}

// missingRanges lists the blocks s lacks as runs.
func (s *state) missing() []Range {
	var rs []Range
	for i := 0; i < s.blocks; i++ {
		if s.has(i) {
			continue
		}
		j := i
		for j+1 < s.blocks && !s.has(j+1) {
			j++
		}
		rs = append(rs, Range{i, j})
		i = j
	}
	return rs
}

// BundleState is what an inbox holds of one bundle.
type BundleState struct {
	ID       string
	Complete bool   // INBOX/ID.sluice/envelope.json exists
	Path     string // the bundle folder when complete, else its partial folder
	// The rest is known for a partial bundle from its announcement and
	// checkpoint.
	Station   string // sending station, as the trust store named it
	Bytes     int64  // payload bytes
	Blocks    int
	BlockSize int64 // bytes of every block but the last
	Have      int   // blocks written and made durable
	Missing   []Range
	// MissingBytes is the payload bytes of the missing blocks.
	MissingBytes int64
	Updated      time.Time // last checkpoint
	Err          error     // a partial folder that could not be read
	// Needs says how many more shards each missing block needed when
	// the last session ended (the first MaxNeeds blocks; none before a
	// session ended).
	Needs []BlockNeed
}

// BlockNeed is how many more shards a missing block needs.
type BlockNeed struct {
	Block  int `json:"block"`
	Shards int `json:"shards"`
}

// MaxNeeds bounds the blocks whose needs are kept and reported.
const MaxNeeds = 1000

// needsName, in a partial folder, lists what the missing blocks needed
// when the last session ended.
const needsName = "needs.json"

func writeNeeds(dir string, needs []BlockNeed) {
	if b, err := json.Marshal(needs); err == nil {
		os.WriteFile(filepath.Join(dir, needsName), b, 0o600)
	}
}

// BlockRange returns the payload byte offset and length of block i: the
// volumes taken end to end, in order.
func (s *BundleState) BlockRange(i int) (off, n int64) {
	off = int64(i) * s.BlockSize
	return off, min(s.BlockSize, s.Bytes-off)
}

// Status lists what the inbox holds: finished bundles, and bundles being
// received with exactly the blocks they lack (as of their last checkpoint,
// at most about a second behind a running receiver). It reads only.
func Status(inbox string) ([]BundleState, error) {
	ents, err := os.ReadDir(inbox)
	if err != nil {
		return nil, fmt.Errorf("diode status: %w", err)
	}
	var out []BundleState
	for _, e := range ents {
		id, ok := strings.CutSuffix(e.Name(), bundle.DirSuffix)
		if !ok || !e.IsDir() || !bundle.ValidID(id) {
			continue
		}
		dir := filepath.Join(inbox, e.Name())
		if _, err := regfile.Check(filepath.Join(dir, bundle.EnvelopeName)); err == nil {
			out = append(out, BundleState{ID: id, Complete: true, Path: dir})
		}
	}
	pents, err := os.ReadDir(filepath.Join(inbox, partialDir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("diode status: %w", err)
	}
	for _, e := range pents {
		if !e.IsDir() || !bundle.ValidID(e.Name()) {
			continue
		}
		out = append(out, partialState(filepath.Join(inbox, partialDir, e.Name()), e.Name()))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// partialState reads one partial folder's announcement and checkpoint.
func partialState(dir, id string) BundleState {
	bs := BundleState{ID: id, Path: dir}
	raw, err := regfile.ReadFile(filepath.Join(dir, annFileName), MaxAnnouncement)
	if err != nil {
		bs.Err = err
		return bs
	}
	a, err := parseAnnouncement(raw)
	if err != nil {
		bs.Err = err
		return bs
	}
	bs.Bytes, bs.Blocks = a.Bytes, a.Blocks
	bs.BlockSize = int64(a.BlockShards) * int64(shardSize(a.PacketSize))
	st := &state{blocks: a.Blocks, done: make([]byte, (a.Blocks+7)/8)}
	path := filepath.Join(dir, stateName)
	if b, err := regfile.ReadFile(path, 64<<20); err == nil {
		if s, err := parseState(b); err == nil && s.layout == a.layoutDigest() && s.blocks == a.Blocks {
			st = s
		}
		if info, err := os.Stat(path); err == nil {
			bs.Updated = info.ModTime()
		}
	}
	bs.Station, bs.Have, bs.Missing = st.station, st.count(), st.missing()
	if b, err := regfile.ReadFile(filepath.Join(dir, needsName), 1<<20); err == nil {
		var needs []BlockNeed
		if json.Unmarshal(b, &needs) == nil {
			for _, n := range needs { // only blocks still missing
				if n.Block >= 0 && n.Block < st.blocks && !st.has(n.Block) {
					bs.Needs = append(bs.Needs, n)
				}
			}
		}
	}
	for _, r := range bs.Missing {
		for i := r.First; i <= r.Last; i++ {
			_, n := bs.BlockRange(i)
			bs.MissingBytes += n
		}
	}
	return bs
}

// writeState makes a checkpoint durable (temporary file, fsync, rename).
func writeState(dir string, s *state) error {
	return durable.ReplaceFile(filepath.Join(dir, stateName), s.marshal(), 0o600)
}
