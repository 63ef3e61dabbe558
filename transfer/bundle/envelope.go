package bundle

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	"golang.org/x/crypto/ssh"

	"sluice/crypto"
	"sluice/internal/strictjson"
)

// File names inside a bundle directory.
const (
	EnvelopeName    = "envelope.json"
	EnvelopeSigName = "envelope.json.sig"
	volumePrefix    = "payload.age."
	// DirSuffix ends every bundle directory's name.
	DirSuffix = ".sluice"
)

// Format identifiers, checked exactly.
const (
	EnvelopeFormat = "sluice-envelope/1"
	ManifestFormat = "sluice-manifest/1"
)

// Bounds checked before anything larger is read.
const (
	MaxEnvelopeSize = 1 << 20
	MaxVolumes      = 10000
	MaxNoteLen      = 4096
	MaxRecipients   = 64
	// MaxEntries bounds an envelope's file and folder counts, and
	// MaxContentBytes its content, so that no arithmetic on them can
	// overflow; a kiosk's policy bounds them far lower.
	MaxEntries      = 1 << 32
	MaxContentBytes = 1 << 56
)

// Envelope is the signed cleartext description of a bundle: everything a
// kiosk checks before it decrypts anything. It holds no file names.
type Envelope struct {
	Format     string      `json:"format"`
	ID         string      `json:"id"`
	Created    time.Time   `json:"created"`
	Sender     Sender      `json:"sender"`
	Recipients []Recipient `json:"recipients"`
	// Note is shown to the receiving officer before decryption, so it is
	// cleartext: it must not hold secrets.
	Note string `json:"note,omitempty"`
	// Files and Dirs count the entries of the payload; ContentBytes is the
	// sum of the files' sizes. A kiosk checks them against its policy before
	// decrypting, and the stream against them while extracting.
	Files        int64   `json:"files"`
	Dirs         int64   `json:"dirs"`
	ContentBytes int64   `json:"content_bytes"`
	Payload      Payload `json:"payload"`
	// Span, when set, says the volumes are spread over several drives.
	Span *Span `json:"span,omitempty"`
	// Update, when set, says the payload is an update signed by a release
	// key: of Sluice itself or of the scanner's signatures. A station
	// applies it (sluice update apply) and never releases it as data.
	Update *Update `json:"update,omitempty"`
	// Originals, when set, says the payload also holds the originals of
	// the files the sender transformed (issue 14), in a part of their
	// own (originals/ in the tar stream) that a kiosk keeps and never
	// releases. Files, Dirs and ContentBytes do not count them.
	Originals *Originals `json:"originals,omitempty"`
}

// Originals counts a bundle's sealed originals: files and the sum of
// their sizes in bytes. Each is the original of a file the manifest marks
// transformed (ManifestEntry.Transformed names its hash and size).
type Originals struct {
	Files int64 `json:"files"`
	Bytes int64 `json:"bytes"`
}

// Update kinds (Envelope.Update.Kind).
const (
	UpdateSluice   = "sluice"    // one Debian package, sluice_VERSION_ARCH.deb
	UpdateClamAVDB = "clamav-db" // ClamAV signature databases (.cvd, .cld)
)

// Update marks a bundle as an update and names its version: the package's
// version for UpdateSluice ("1.4.0", semantic versioning), the highest
// database version for UpdateClamAVDB ("27100", daily's).
type Update struct {
	Kind    string `json:"kind"`
	Version string `json:"version"`
}

// MaxUpdateVersionLen bounds Update.Version.
const MaxUpdateVersionLen = 64

var updateVersion = regexp.MustCompile(`^[0-9][0-9A-Za-z.+~-]*$`)

// Check says whether u names a known kind and a plausible version.
func (u *Update) Check() error {
	if u.Kind != UpdateSluice && u.Kind != UpdateClamAVDB {
		return fmt.Errorf("update of unknown kind %q", truncate(u.Kind))
	}
	if len(u.Version) > MaxUpdateVersionLen || !updateVersion.MatchString(u.Version) {
		return fmt.Errorf("update version %q is not a version", truncate(u.Version))
	}
	return nil
}

// Sender names the signing station and its key (authorized_keys form).
type Sender struct {
	Name       string `json:"name"`
	SigningKey string `json:"signing_key"`
}

// Recipient names a station the payload is encrypted to, by the fingerprint
// of its age recipient.
type Recipient struct {
	Name        string `json:"name"`
	Fingerprint string `json:"fingerprint"`
}

// Payload describes the encrypted age file and its volumes.
type Payload struct {
	Size    int64         `json:"size"`
	SHA256  crypto.Digest `json:"sha256"`
	Volumes []Volume      `json:"volumes"`
}

// Volume is one piece of the payload, a file of its own on the media.
type Volume struct {
	Name   string        `json:"name"`
	Size   int64         `json:"size"`
	SHA256 crypto.Digest `json:"sha256"`
}

var idPattern = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{16}$`)

// ValidID says whether id has the form of a bundle id.
func ValidID(id string) bool { return idPattern.MatchString(id) }

// NewID returns a fresh bundle id: the UTC creation time, then 64 random bits.
// Ids sort by time and name the bundle's directory.
func NewID(created time.Time) string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("bundle: crypto/rand failed: " + err.Error())
	}
	return created.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// VolumeName returns the file name of volume i.
func VolumeName(i int) string { return fmt.Sprintf("%s%04d", volumePrefix, i) }

// Marshal returns the envelope's canonical bytes, the ones that are signed.
func (e *Envelope) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("marshal envelope: %w", err)
	}
	return append(b, '\n'), nil
}

// SenderKey parses the sender's signing key.
func (e *Envelope) SenderKey() (ssh.PublicKey, error) {
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(e.Sender.SigningKey))
	if err != nil {
		return nil, fmt.Errorf("envelope: bad sender signing key: %w", err)
	}
	return pub, nil
}

// ParseEnvelope parses and checks envelope bytes. It checks form only: the
// signature is checked by the caller against a trusted key.
func ParseEnvelope(b []byte) (*Envelope, error) {
	if len(b) > MaxEnvelopeSize {
		return nil, fmt.Errorf("envelope is larger than %d bytes", MaxEnvelopeSize)
	}
	var e Envelope
	if err := strictjson.Decode(b, &e); err != nil {
		return nil, fmt.Errorf("envelope is not valid: %w", err)
	}
	if err := e.check(); err != nil {
		return nil, fmt.Errorf("envelope is not valid: %w", err)
	}
	return &e, nil
}

func (e *Envelope) check() error {
	if e.Format != EnvelopeFormat {
		return fmt.Errorf("format %q, want %q", truncate(e.Format), EnvelopeFormat)
	}
	if !idPattern.MatchString(e.ID) {
		return fmt.Errorf("bad bundle id %q", truncate(e.ID))
	}
	if e.Created.IsZero() || e.Created.Location() != time.UTC {
		return fmt.Errorf("created time must be UTC")
	}
	if err := crypto.ValidName(e.Sender.Name); err != nil {
		return fmt.Errorf("sender: %w", err)
	}
	if _, err := e.SenderKey(); err != nil {
		return err
	}
	if len(e.Recipients) == 0 || len(e.Recipients) > MaxRecipients {
		return fmt.Errorf("must name 1 to %d recipients", MaxRecipients)
	}
	for _, r := range e.Recipients {
		if err := crypto.ValidName(r.Name); err != nil {
			return fmt.Errorf("recipient: %w", err)
		}
		if len(r.Fingerprint) == 0 || len(r.Fingerprint) > 128 {
			return fmt.Errorf("recipient %s: bad fingerprint", r.Name)
		}
	}
	if e.Update != nil {
		if err := e.Update.Check(); err != nil {
			return err
		}
	}
	if len(e.Note) > MaxNoteLen {
		return fmt.Errorf("note longer than %d bytes", MaxNoteLen)
	}
	var oFiles, oBytes int64
	if o := e.Originals; o != nil {
		// Each original is that of a transformed file: never more of them
		// than files, and some, or the field would not be there.
		if o.Files < 1 || o.Files > e.Files || o.Bytes < 0 || o.Bytes > MaxContentBytes {
			return fmt.Errorf("declares %d originals of %d bytes for %d files", o.Files, o.Bytes, e.Files)
		}
		oFiles, oBytes = o.Files, o.Bytes
	}
	if e.Files < 0 || e.Dirs < 0 || e.ContentBytes < 0 {
		return fmt.Errorf("negative count")
	}
	if e.Files > MaxEntries || e.Dirs > MaxEntries || e.ContentBytes > MaxContentBytes {
		return fmt.Errorf("declares %d files, %d folders and %d bytes: more than a bundle may hold (%d entries of each kind, %d bytes)",
			e.Files, e.Dirs, e.ContentBytes, int64(MaxEntries), int64(MaxContentBytes))
	}
	if e.Files == 0 && e.ContentBytes != 0 {
		return fmt.Errorf("content bytes without files")
	}
	n := len(e.Payload.Volumes)
	if n == 0 || n > MaxVolumes {
		return fmt.Errorf("must list 1 to %d volumes", MaxVolumes)
	}
	var sum int64
	for i, v := range e.Payload.Volumes {
		if v.Name != VolumeName(i) {
			return fmt.Errorf("volume %d is named %q, want %q", i+1, truncate(v.Name), VolumeName(i))
		}
		if v.Size <= 0 || v.Size > e.Payload.Size-sum {
			return fmt.Errorf("volume %s has a bad size", v.Name)
		}
		sum += v.Size
	}
	if sum != e.Payload.Size {
		return fmt.Errorf("volume sizes add up to %d, payload size is %d", sum, e.Payload.Size)
	}
	if max := MaxPayloadSize(e.Files+oFiles, e.Dirs, e.ContentBytes+oBytes, len(e.Recipients)); e.Payload.Size > max {
		return fmt.Errorf("payload of %d bytes is larger than %d files, %d folders and %d bytes of content can make (at most %d)",
			e.Payload.Size, e.Files, e.Dirs, e.ContentBytes, max)
	}
	if sp := e.Span; sp != nil {
		if sp.VolumesPerDrive < 1 || sp.Drives < 2 || sp.Drives != (n+sp.VolumesPerDrive-1)/sp.VolumesPerDrive {
			return fmt.Errorf("span of %d drives of %d volumes does not fit %d volumes", sp.Drives, sp.VolumesPerDrive, n)
		}
	}
	return nil
}

// Upper bounds of what Seal writes, per entry and per recipient, used to
// bound a payload and a manifest by the counts an envelope declares before
// anything is copied or decrypted. A tar entry is a header, at most a PAX
// header and its records (a path of MaxPathLen bytes, a time, a size), and
// at most 511 bytes of padding; a manifest line is its JSON fields and a
// path that encoding/json may escape to six bytes a character; an age
// recipient stanza is at most a post-quantum hybrid one.
const (
	tarEntryMax      = 512 + 512 + 2048 + 512
	manifestEntryMax = 6*MaxPathLen + 256 + transformedMax
	manifestHeadMax  = 4096
	ageStanzaMax     = 4096
	ageChunk         = 64 << 10
	// transformedMax is a transformed file's "transformed" object: its
	// original's name (a path component, escaped), hash, size and three
	// short fields.
	transformedMax = 6*255 + 3*6*maxTransformField + 256
)

// MaxManifestLen is the largest manifest that can list files+dirs entries:
// a kiosk reads no more than this, so memory stays bounded by the counts
// its policy allows. It never exceeds MaxManifestSize.
func MaxManifestLen(files, dirs int64) int64 {
	n := files + dirs // both at most MaxEntries: no overflow
	if n > (MaxManifestSize-manifestHeadMax)/manifestEntryMax {
		return MaxManifestSize
	}
	return manifestHeadMax + n*manifestEntryMax
}

// MaxPayloadSize is the largest age payload Seal can make of files, dirs
// and content bytes for the given number of recipients (see the constants
// above). An envelope that declares a larger payload is refused before any
// volume is read or copied.
func MaxPayloadSize(files, dirs, content int64, recipients int) int64 {
	// Every operand is bounded by the envelope's checks, so no sum here
	// comes near overflowing int64.
	plain := content + (files+dirs)*tarEntryMax +
		MaxManifestLen(files, dirs) + 3*tarEntryMax + crypto.MaxSignatureSize + MaxSealRecord + 10240
	return plain + (plain/ageChunk+1)*16 + int64(recipients+1)*ageStanzaMax
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
