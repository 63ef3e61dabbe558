package scan

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// CVDHeaderSize is the size of a ClamAV database file's header (.cvd,
// .cld): "ClamAV-VDB:" and eight more colon-separated fields, padded with
// spaces to 512 bytes (libclamav/cvd.c, cl_cvdparse).
const CVDHeaderSize = 512

// CVD is what a ClamAV database file's header says about it.
type CVD struct {
	// Name is the database ("main", "daily", "bytecode") and Kind the
	// container, from the file name: "cvd" (signed by Talos, a tar.gz
	// after the header), "cld" (the same header over a plain tar, as
	// freshclam leaves after applying incremental updates) or "cud" (a
	// tar.gz sigtool --unsigned built: a site's own signatures).
	Name       string
	Kind       string
	Built      string // the build time as written ("29 Nov 2026 09-00 +0000")
	Version    int
	Signatures int
	FLevel     int // the functionality level the database needs
	MD5        string
	DSig       string // the digital signature over MD5, checked by sigtool
	Builder    string
	Time       time.Time // the build time, seconds since the epoch in the header
}

// DatabaseNames are the ClamAV databases a signature update may carry.
var DatabaseNames = []string{"main", "daily", "bytecode"}

// ParseCVDName splits a database file name ("daily.cld") into the database
// and its container ("cvd", "cld", "cud"); an error names what is wrong.
func ParseCVDName(name string) (db, kind string, err error) {
	base, ext, _ := strings.Cut(name, ".")
	switch ext {
	case "cvd", "cld", "cud":
	default:
		return "", "", fmt.Errorf("%q is not a ClamAV database file (want main, daily or bytecode, .cvd, .cld or .cud)", name)
	}
	for _, n := range DatabaseNames {
		if base == n {
			return base, ext, nil
		}
	}
	return "", "", fmt.Errorf("%q is not a ClamAV database Sluice carries (want main, daily or bytecode, .cvd, .cld or .cud)", name)
}

// ParseCVD reads and checks the header of the database file name from r
// (size bytes): the nine fields, numbers where numbers belong, and, for a
// .cvd or .cud, that the MD5 in the header is that of everything after it (what
// libclamav checks before it looks at the digital signature). It reads
// the whole file once.
func ParseCVD(name string, r io.Reader, size int64) (CVD, error) {
	var c CVD
	db, kind, err := ParseCVDName(name)
	if err != nil {
		return c, err
	}
	c.Name, c.Kind = db, kind
	if size < CVDHeaderSize {
		return c, fmt.Errorf("%s is %d bytes, shorter than a ClamAV database header", name, size)
	}
	head := make([]byte, CVDHeaderSize)
	if _, err := io.ReadFull(r, head); err != nil {
		return c, fmt.Errorf("read %s: %w", name, err)
	}
	if c, err = ParseCVDHeader(name, head); err != nil {
		return c, err
	}
	h := md5.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return c, fmt.Errorf("read %s: %w", name, err)
	}
	if n != size-CVDHeaderSize {
		return c, fmt.Errorf("%s: read %d bytes after the header, want %d", name, n, size-CVDHeaderSize)
	}
	if kind != "cld" {
		if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, c.MD5) {
			return c, fmt.Errorf("%s is damaged: its content's MD5 is %s, its header says %s", name, got, truncate(c.MD5))
		}
	}
	return c, nil
}

// ParseCVDHeader reads the header of the database file called name (its
// first CVDHeaderSize bytes, head) and nothing else: no checksum, so it
// says what a file claims to be (the version of a database in place), not
// that it is sound.
func ParseCVDHeader(name string, head []byte) (CVD, error) {
	var c CVD
	db, kind, err := ParseCVDName(name)
	if err != nil {
		return c, err
	}
	c.Name, c.Kind = db, kind
	if !bytes.HasPrefix(head, []byte("ClamAV-VDB:")) {
		return c, fmt.Errorf("%s has no ClamAV database header (it does not start with ClamAV-VDB:)", name)
	}
	text := strings.TrimRight(string(head), " \x00")
	f := strings.Split(text, ":")
	if len(f) < 9 {
		return c, fmt.Errorf("%s: its header has %d fields, not 9", name, len(f))
	}
	num := func(i int, what string) (int, error) {
		n, err := strconv.Atoi(f[i])
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%s: its header's %s %q is not a number", name, what, truncate(f[i]))
		}
		return n, nil
	}
	c.Built = f[1]
	if c.Version, err = num(2, "version"); err != nil {
		return c, err
	}
	if c.Signatures, err = num(3, "signature count"); err != nil {
		return c, err
	}
	if c.FLevel, err = num(4, "functionality level"); err != nil {
		return c, err
	}
	c.MD5, c.DSig, c.Builder = f[5], f[6], f[7]
	if len(f) > 8 {
		if t, err := strconv.ParseInt(f[8], 10, 64); err == nil && t > 0 {
			c.Time = time.Unix(t, 0).UTC()
		}
	}
	if c.Version == 0 {
		return c, fmt.Errorf("%s: its header gives version 0", name)
	}
	return c, nil
}

// ErrDSig says sigtool could not verify a .cvd's digital signature.
var ErrDSig = errors.New("the database's digital signature does not verify")
