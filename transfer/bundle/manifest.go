package bundle

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"

	"sluice/crypto"
	"sluice/internal/strictjson"
)

// Entry types in a manifest.
const (
	TypeFile = "file"
	TypeDir  = "dir"
)

// Trailer entries of the payload's tar stream, after all data/ entries.
const (
	dataPrefix = "data/"
	// originalsPrefix begins the names of the sealed originals, a part of
	// their own after every data/ entry (Envelope.Originals).
	originalsPrefix = "originals/"
	ManifestPath    = "sluice/manifest.json"
	ManifestSigPath = "sluice/manifest.json.sig"
	// SealRecordPath holds the sender's custody record of the seal, with its
	// inclusion proof, so the kiosk's log can prove both ends.
	SealRecordPath = "sluice/seal-record.json"
	// MaxSealRecord leaves room under the custody log's line limit
	// (64 KiB) for the kiosk's own "received" record that embeds it with a path
	// and a reason, even if every byte of those needs escaping.
	MaxSealRecord    = 16 << 10
	MaxManifestSize  = 64 << 20
	maxTrailerSigLen = crypto.MaxSignatureSize
)

// Manifest lists every entry of a bundle. It is signed by the sender and
// travels inside the encrypted payload.
type Manifest struct {
	Format   string          `json:"format"`
	BundleID string          `json:"bundle_id"`
	Sender   string          `json:"sender"`
	Entries  []ManifestEntry `json:"entries"`
}

// ManifestEntry is one file or directory. Path is relative, slash-separated,
// without the data/ prefix the tar stream gives it.
type ManifestEntry struct {
	Path   string         `json:"path"`
	Type   string         `json:"type"`
	Mode   Mode           `json:"mode"`
	Size   int64          `json:"size"`
	SHA256 *crypto.Digest `json:"sha256,omitempty"`
	// Transformed, on a file, says it is not what the officer staged but
	// its transformation into a simple form (issue 14: a PDF of images,
	// a re-encoded image, cleaned text), and from what.
	Transformed *Transformed `json:"transformed,omitempty"`
}

// Transformed names the original a file was transformed from and how: so
// a kiosk knows to verify the simple form, and an auditor can prove what
// was changed and by what. The original stays with the sender.
type Transformed struct {
	// From is the original's name in the same folder ("report.docx").
	From   string        `json:"from"`
	SHA256 crypto.Digest `json:"sha256"`
	Size   int64         `json:"size"`
	// Action is what was done ("pdf-of-images", "re-encode-image",
	// "clean-text"); Tool and Version the program that parsed the
	// original ("mutool" "1.21.1").
	Action  string `json:"action"`
	Tool    string `json:"tool"`
	Version string `json:"version"`
}

// Original is the content a transformed file's mark gives its original.
type Original struct {
	SHA256 crypto.Digest
	Size   int64
}

// OriginalsOf is the originals that entries' transformation marks name,
// by their path in the bundle (the transformed file's folder and the
// mark's From: "reports/plan.docx"). A file and its links sidecar name
// the same original; two marks that give one original different contents
// are refused.
func OriginalsOf(entries []ManifestEntry) (map[string]Original, error) {
	out := map[string]Original{}
	for _, e := range entries {
		m := e.Transformed
		if m == nil || e.Type != TypeFile {
			continue
		}
		p := path.Join(path.Dir(e.Path), m.From)
		o := Original{SHA256: m.SHA256, Size: m.Size}
		if prev, ok := out[p]; ok && prev != o {
			return nil, fmt.Errorf("two transformed files name the original %q with different contents", truncate(p))
		}
		out[p] = o
	}
	return out, nil
}

// maxTransformField bounds Transformed's Action, Tool and Version.
const maxTransformField = 64

func (t *Transformed) check() error {
	if err := checkPath(t.From); err != nil || strings.Contains(t.From, "/") {
		return fmt.Errorf("names its original %q, not a plain file name", truncate(t.From))
	}
	if t.Size < 0 {
		return fmt.Errorf("gives its original a negative size")
	}
	for _, f := range []string{t.Action, t.Tool, t.Version} {
		if f == "" || len(f) > maxTransformField || !plainJSON(f) {
			return fmt.Errorf("names its transformation %q %q %q; each must be 1 to %d plain characters", truncate(t.Action), truncate(t.Tool), truncate(t.Version), maxTransformField)
		}
	}
	return nil
}

// Mode is a permission mode, written as a 4-digit octal string ("0644").
// Only the permission bits travel; setuid, setgid and sticky never do.
type Mode fs.FileMode

// MarshalText writes the mode as 4-digit octal.
func (m Mode) MarshalText() ([]byte, error) { return fmt.Appendf(nil, "%04o", uint32(m)), nil }

// UnmarshalText parses 4-digit octal permission bits.
func (m *Mode) UnmarshalText(b []byte) error {
	if len(b) != 4 {
		return fmt.Errorf("mode %q must be 4 octal digits", b)
	}
	v, err := strconv.ParseUint(string(b), 8, 32)
	if err != nil || v > 0o777 {
		return fmt.Errorf("mode %q is not permission bits", b)
	}
	*m = Mode(v)
	return nil
}

// Marshal returns the manifest's canonical bytes, the ones that are signed.
func (m *Manifest) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	if err := m.Encode(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Encode writes the manifest's canonical bytes: one entry per line, so a
// person can read it with less and diff two of them.
func (m *Manifest) Encode(w io.Writer) error {
	var buf bytes.Buffer
	if err := appendManifestHead(&buf, m.Format, m.BundleID, m.Sender); err != nil {
		return err
	}
	for i := range m.Entries {
		if err := appendManifestEntry(&buf, i, &m.Entries[i]); err != nil {
			return err
		}
		if buf.Len() > 1<<16 {
			if _, err := w.Write(buf.Bytes()); err != nil {
				return err
			}
			buf.Reset()
		}
	}
	buf.WriteString(manifestTail)
	_, err := w.Write(buf.Bytes())
	return err
}

// The canonical encoding in three parts, which Seal also writes entry by
// entry as it archives, rather than keeping every entry until the end.
func appendManifestHead(buf *bytes.Buffer, format, id, sender string) error {
	head, err := json.Marshal(struct {
		Format   string `json:"format"`
		BundleID string `json:"bundle_id"`
		Sender   string `json:"sender"`
	}{format, id, sender})
	if err != nil {
		return fmt.Errorf("marshal manifest: %w", err)
	}
	buf.Write(head[:len(head)-1])
	buf.WriteString(",\"entries\":[")
	return nil
}

// appendManifestEntry writes e as encoding/json would (the canonical
// form decodeCanonical reads back), without its reflection or allocations:
// a path of plain printable ASCII is written as it is, anything else
// through encoding/json, which escapes it.
func appendManifestEntry(buf *bytes.Buffer, i int, e *ManifestEntry) error {
	if i > 0 {
		buf.WriteByte(',')
	}
	buf.WriteByte('\n')
	if !plainJSON(e.Type) || e.Mode > 0o777 || e.Transformed != nil {
		b, err := json.Marshal(e) // from Seal only for a transformed file
		if err != nil {
			return fmt.Errorf("marshal manifest: %w", err)
		}
		buf.Write(b)
		return nil
	}
	buf.WriteString("{\"path\":")
	if plainJSON(e.Path) {
		buf.WriteByte('"')
		buf.WriteString(e.Path)
		buf.WriteByte('"')
	} else {
		b, err := json.Marshal(e.Path)
		if err != nil {
			return fmt.Errorf("marshal manifest: %w", err)
		}
		buf.Write(b)
	}
	var scratch [80]byte
	b := append(scratch[:0], `,"type":"`...)
	b = append(b, e.Type...)
	b = append(b, `","mode":"`...)
	m := uint32(e.Mode)
	b = append(b, byte('0'+m>>9&7), byte('0'+m>>6&7), byte('0'+m>>3&7), byte('0'+m&7))
	b = append(b, `","size":`...)
	b = strconv.AppendInt(b, e.Size, 10)
	buf.Write(b)
	if e.SHA256 != nil {
		b = append(scratch[:0], `,"sha256":"`...)
		b = hex.AppendEncode(b, e.SHA256[:])
		b = append(b, '"')
		buf.Write(b)
	}
	buf.WriteByte('}')
	return nil
}

// plainJSON says whether s is printable ASCII that encoding/json writes
// unescaped: no quote, backslash, or the <, > and & it escapes for HTML.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

const manifestTail = "\n]}\n"

// ParseManifest parses and checks manifest bytes: known format, safe and
// unique paths, consistent types, sizes and hashes.
func ParseManifest(b []byte) (*Manifest, error) {
	if len(b) > MaxManifestSize {
		return nil, fmt.Errorf("manifest is larger than %d bytes", MaxManifestSize)
	}
	var m Manifest
	if !decodeCanonical(b, &m) {
		m = Manifest{}
		if err := strictjson.Decode(b, &m); err != nil {
			return nil, fmt.Errorf("manifest is not valid: %w", err)
		}
	}
	if m.Format != ManifestFormat {
		return nil, fmt.Errorf("manifest format %q, want %q", truncate(m.Format), ManifestFormat)
	}
	if !idPattern.MatchString(m.BundleID) {
		return nil, fmt.Errorf("manifest: bad bundle id")
	}
	t := newTree()
	folders := map[string]bool{}
	for _, e := range m.Entries {
		if err := t.add(e.Path, e.Type); err != nil {
			return nil, fmt.Errorf("manifest: %w", err)
		}
		if err := listedFolder(folders, e.Path); err != nil {
			return nil, fmt.Errorf("manifest: %w", err)
		}
		if e.Type == TypeDir {
			folders[e.Path] = true
		}
		switch e.Type {
		case TypeFile:
			if e.Size < 0 || e.SHA256 == nil {
				return nil, fmt.Errorf("manifest: file %q needs a size and a sha256", e.Path)
			}
		case TypeDir:
			if e.Size != 0 || e.SHA256 != nil || e.Transformed != nil {
				return nil, fmt.Errorf("manifest: directory %q has a size, hash or transformation", e.Path)
			}
		}
		if e.Transformed != nil {
			if err := e.Transformed.check(); err != nil {
				return nil, fmt.Errorf("manifest: file %q %w", e.Path, err)
			}
		}
	}
	return &m, nil
}

// listedFolder says whether the entry at bundle path p is in a folder
// listed before it (folders holds the folders listed so far), as Seal
// lists every folder before what it holds. A receive makes only listed
// folders, so each counts against the envelope's folders and the
// kiosk's max_files: a path 64 levels deep in a folder never listed
// would make 63 folders that nothing counts.
func listedFolder(folders map[string]bool, p string) error {
	if dir := path.Dir(p); dir != "." && !folders[dir] {
		return fmt.Errorf("%q comes before its folder %q, or its folder is not listed; a bundle lists every folder before what it holds", truncate(p), truncate(dir))
	}
	return nil
}

// decodeCanonical decodes b into m if b is exactly the canonical encoding
// (Encode) of what it decodes to, as every manifest Seal writes is. Such a
// document has every key of every object once, spelled as its field is,
// and nothing after it, so the strict decoder would accept it and read
// the same: this reaches strictjson's verdict at a third of its cost
// (Token by Token it is the slowest part of receiving many small files).
// Anything else (another spacing, an escape, a repeated or unknown key)
// returns false, and the caller decodes strictly.
func decodeCanonical(b []byte, m *Manifest) bool {
	if decodePlain(b, m) && encodesTo(m, b) {
		return true
	}
	*m = Manifest{}
	return json.Unmarshal(b, m) == nil && encodesTo(m, b)
}

// encodesTo says whether m's canonical encoding is b.
func encodesTo(m *Manifest, b []byte) bool {
	c := &sameAs{want: b, same: true}
	return m.Encode(c) == nil && c.same && c.off == len(b)
}

// decodePlain reads b as the canonical encoding of a manifest whose
// entries all take appendManifestEntry's plain form (a path of plain
// printable ASCII, no transformation): what Seal writes for nearly every
// bundle, read without encoding/json's reflection, whose Unmarshal took
// 0.15 CPU-seconds for 50,000 entries at the end of every receive. It
// says false, leaving m to be overwritten, on anything else; it may also
// read a string with an escape in it literally, which is why
// decodeCanonical keeps what it reads only if it encodes back to b.
func decodePlain(b []byte, m *Manifest) bool {
	const open = `,"entries":[`
	i := bytes.Index(b, []byte(open)) // never inside a string: its quotes would be escaped
	if i < 0 {
		return false
	}
	var head struct {
		Format   string `json:"format"`
		BundleID string `json:"bundle_id"`
		Sender   string `json:"sender"`
	}
	if json.Unmarshal(append(b[:i:i], '}'), &head) != nil {
		return false
	}
	rest := b[i+len(open):]
	// Room for the entries it seems to hold, up to a few thousand: past
	// that, room is made as entries are read, so that bytes which only
	// look like entries reserve nothing (review: 89 MB for 64 MiB of "\n{").
	entries := make([]ManifestEntry, 0, min(bytes.Count(rest, []byte("\n{")), len(rest)/len(shortestPlainEntry), 4096))
	for len(entries) == 0 || rest[0] == ',' {
		if len(entries) > 0 {
			rest = rest[1:]
		} else if string(rest) == manifestTail {
			break
		}
		e, ok := plainEntry(&rest)
		if !ok || len(rest) == 0 {
			return false
		}
		entries = append(entries, e)
	}
	if string(rest) != manifestTail {
		return false
	}
	*m = Manifest{Format: head.Format, BundleID: head.BundleID, Sender: head.Sender, Entries: entries}
	return true
}

// shortestPlainEntry is as short as an entry in the plain form can be.
const shortestPlainEntry = "\n{\"path\":\"a\",\"type\":\"\",\"mode\":\"0000\",\"size\":0}"

// plainEntry reads an entry in appendManifestEntry's plain form,
// "\n{"path":"…","type":"…","mode":"0644","size":5,"sha256":"…"}", from
// the start of *b and moves *b past it.
func plainEntry(b *[]byte) (e ManifestEntry, ok bool) {
	p := *b
	field := func(prefix string, end byte) ([]byte, bool) {
		if !bytes.HasPrefix(p, []byte(prefix)) {
			return nil, false
		}
		p = p[len(prefix):]
		j := bytes.IndexByte(p, end)
		if j < 0 {
			return nil, false
		}
		v := p[:j]
		p = p[j+1:]
		return v, true
	}
	path, ok := field("\n{\"path\":\"", '"')
	if !ok || bytes.IndexByte(path, '\\') >= 0 {
		return e, false
	}
	typ, ok := field(`,"type":"`, '"')
	if !ok {
		return e, false
	}
	mode, ok := field(`,"mode":"`, '"')
	if !ok || e.Mode.UnmarshalText(mode) != nil {
		return e, false
	}
	e.Path = string(path)
	switch string(typ) {
	case TypeFile:
		e.Type = TypeFile
	case TypeDir:
		e.Type = TypeDir
	default:
		e.Type = string(typ)
	}
	if !bytes.HasPrefix(p, []byte(`,"size":`)) {
		return e, false
	}
	p = p[len(`,"size":`):]
	j := 0
	for j < len(p) && (p[j] >= '0' && p[j] <= '9' || j == 0 && p[j] == '-') {
		j++
	}
	size, err := strconv.ParseInt(string(p[:j]), 10, 64)
	if err != nil {
		return e, false
	}
	e.Size, p = size, p[j:]
	if bytes.HasPrefix(p, []byte(`,"sha256":"`)) {
		sum, ok := field(`,"sha256":"`, '"')
		if !ok {
			return e, false
		}
		d, err := crypto.ParseDigest(string(sum))
		if err != nil {
			return e, false
		}
		e.SHA256 = &d
	}
	if len(p) == 0 || p[0] != '}' {
		return e, false
	}
	*b = p[1:]
	return e, true
}

// sameAs compares what is written to it with want, without keeping it.
type sameAs struct {
	want []byte
	off  int
	same bool
}

var errDiffers = fmt.Errorf("differs")

func (c *sameAs) Write(p []byte) (int, error) {
	if len(p) > len(c.want)-c.off || !bytes.Equal(p, c.want[c.off:c.off+len(p)]) {
		c.same = false
		return 0, errDiffers
	}
	c.off += len(p)
	return len(p), nil
}

// tree tracks the names of a bundle's entries to refuse duplicates, names
// that collide on a case-insensitive filesystem or to the eye (see
// foldComponent), two spellings of one folder ("A" beside "a/b"), and a file
// used as a directory.
type tree struct {
	nodes map[string]node // folded path → node
}

type node struct {
	kind  string // TypeFile, TypeDir, or "" for a folder implied by a path
	exact string // the path as first spelled
}

func newTree() *tree { return &tree{nodes: map[string]node{}} }

// checkChild is tree.add for the entry at bundle path p, called name, in a
// folder that is depth levels deep and already passed: the same checks,
// in the same order, with the same errors. The only names it can collide
// with are its siblings', whose folded keys (see foldComponent) siblings
// maps to their paths as spelled; folders can then be checked on several
// goroutines, each with a map of its own, instead of every entry going
// through one tree.
func checkChild(p, name string, depth int, siblings map[string]string) error {
	var err error
	switch {
	case len(p) > MaxPathLen:
		err = fmt.Errorf("name longer than %d bytes", MaxPathLen)
	case !utf8.ValidString(name):
		err = fmt.Errorf("name is not valid UTF-8")
	case depth+1 > MaxDepth:
		err = fmt.Errorf("more than %d levels deep", MaxDepth)
	default:
		err = checkComponent(name)
	}
	if err != nil {
		return fmt.Errorf("unsafe name %q: %w", truncate(p), err)
	}
	if siblings == nil {
		return nil
	}
	key := foldComponent(name)
	if prev, seen := siblings[key]; seen {
		if prev == p { // a folder that changed while it was listed
			return fmt.Errorf("name %q appears twice", truncate(p))
		}
		return fmt.Errorf("names %q and %q differ only in case or in look-alike characters", truncate(prev), truncate(p))
	}
	siblings[key] = p
	return nil
}

func (t *tree) add(p, typ string) error {
	if typ != TypeFile && typ != TypeDir {
		return fmt.Errorf("entry %q has type %q; bundles hold only files and directories", truncate(p), truncate(typ))
	}
	if err := checkPath(p); err != nil {
		return fmt.Errorf("unsafe name %q: %w", truncate(p), err)
	}
	// Each ancestor's exact spelling is a prefix of p; so is its folded
	// key when p is ASCII (folding is then lower-casing, byte for byte),
	// which saves building both strings anew for every level.
	ascii := isASCII(p)
	lower := p
	if ascii {
		lower = strings.ToLower(p)
	}
	key := ""
	for start := 0; start <= len(p); {
		end := strings.IndexByte(p[start:], '/')
		last := end < 0
		if last {
			end = len(p)
		} else {
			end += start
		}
		exact := p[:end]
		if ascii {
			key = lower[:end]
		} else {
			if start > 0 {
				key += "/"
			}
			key += foldComponent(p[start:end])
		}
		start = end + 1
		prev, seen := t.nodes[key]
		switch {
		case !seen:
			kind := ""
			if last {
				kind = typ
			}
			t.nodes[key] = node{kind: kind, exact: exact}
			continue
		case prev.kind == TypeFile && !last:
			return fmt.Errorf("entry %q is inside %q, which is a file", truncate(p), truncate(prev.exact))
		case prev.exact != exact:
			return fmt.Errorf("names %q and %q differ only in case or in look-alike characters", truncate(prev.exact), truncate(exact))
		case last && (prev.kind != "" || typ == TypeFile):
			return fmt.Errorf("name %q appears twice", truncate(p))
		case last:
			t.nodes[key] = node{kind: typ, exact: exact}
		}
	}
	return nil
}
