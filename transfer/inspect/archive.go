package inspect

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"cmp"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/gabriel-vasile/mimetype"
)

// memberInMemory is the largest archive member held in memory to be
// inspected; larger ones are expanded into a file under Rules.TempDir.
const memberInMemory = 8 << 20

// archive inspects an archive's members, each as a file of its own named
// "archive!member", within the limits: entry count, expanded bytes and
// expansion ratio are checked before expanding where the format says them
// (ZIP's central directory), and while expanding where it does not (tar,
// gzip, bzip2). An archive over a limit, encrypted, damaged or of a format
// Sluice cannot open is not-checked.
func (ru *Rules) archive(ctx context.Context, rep *Report, name string, r io.ReaderAt, size int64, m *mimetype.MIME, depth int) {
	hold := func(format string, args ...any) {
		rep.Findings = append(rep.Findings, Finding{Path: name, Reason: ReasonNotChecked, Detail: fmt.Sprintf(format, args...)})
	}
	lim := ru.Archives
	if depth >= lim.MaxDepth {
		hold("an archive nested %d deep, past the policy's max_depth of %d: its members are not checked", depth+1, lim.MaxDepth)
		return
	}
	x := &expansion{ru: ru, rep: rep, name: name, size: size, depth: depth, hold: hold}
	switch {
	case isA(m, "application/zip"):
		x.zip(ctx, r)
	case isA(m, "application/x-tar"):
		x.tar(ctx, io.NewSectionReader(r, 0, size))
	case isA(m, "application/gzip"):
		zr, err := gzip.NewReader(io.NewSectionReader(r, 0, size))
		if err != nil {
			hold("a gzip stream that cannot be read: %v", err)
			return
		}
		zr.Multistream(true)
		inner := zr.Name
		if inner == "" {
			inner = strings.TrimSuffix(strings.TrimSuffix(path.Base(name), ".gz"), ".tgz")
			if strings.HasSuffix(name, ".tgz") {
				inner += ".tar"
			}
		}
		x.stream(ctx, zr, path.Base(inner))
	case isA(m, "application/x-bzip2"):
		x.stream(ctx, bzip2.NewReader(io.NewSectionReader(r, 0, size)), strings.TrimSuffix(path.Base(name), ".bz2"))
	default:
		hold("a %s archive, which Sluice cannot open: its members are not checked", m.String())
	}
}

// expansion is one archive being opened.
type expansion struct {
	ru       *Rules
	rep      *Report
	name     string
	size     int64
	depth    int
	entries  int
	expanded int64
	hold     func(string, ...any)
}

func (x *expansion) limitErr() string {
	lim := x.ru.Archives
	switch {
	case x.entries > lim.MaxEntries:
		return fmt.Sprintf("more than the policy's max_entries of %d members", lim.MaxEntries)
	case x.expanded > lim.MaxExpanded:
		return fmt.Sprintf("more than the policy's max_expanded of %d bytes expanded", lim.MaxExpanded)
	case x.size > 0 && float64(x.expanded) > lim.MaxRatio*float64(x.size) && x.expanded > 1<<20:
		return fmt.Sprintf("expands more than the policy's max_ratio of %g:1 (a compression bomb?)", lim.MaxRatio)
	}
	return ""
}

func (x *expansion) zip(ctx context.Context, r io.ReaderAt) {
	z, err := zip.NewReader(r, x.size)
	if err != nil {
		x.hold("a ZIP archive that cannot be read: %v", err)
		return
	}
	// Declared before anything is expanded; each member is then held to
	// its declared size by archive/zip.
	x.entries = len(z.File)
	for _, f := range z.File {
		x.expanded += int64(min(f.UncompressedSize64, 1<<62))
	}
	if why := x.limitErr(); why != "" {
		x.hold("a ZIP archive with %s: its members are not checked", why)
		return
	}
	if why := zipLayout(r, z.File); why != "" {
		x.hold("a ZIP archive whose local headers disagree with its central directory (%s): unpackers that read one or the other see different files; its members are not checked", why)
		return
	}
	for _, f := range z.File {
		if ctx.Err() != nil {
			x.hold("inspection stopped: %v", ctx.Err())
			return
		}
		if isFolder(f) {
			continue
		}
		member := x.name + "!" + f.Name
		if f.Flags&1 != 0 {
			x.rep.Findings = append(x.rep.Findings, Finding{Path: member, Reason: ReasonNotChecked, Detail: "an encrypted member: its content cannot be checked"})
			continue
		}
		rc, err := f.Open()
		if err != nil {
			x.rep.Findings = append(x.rep.Findings, Finding{Path: member, Reason: ReasonNotChecked, Detail: fmt.Sprintf("a member that cannot be read: %v", err)})
			continue
		}
		x.member(ctx, member, f.Name, rc, int64(min(f.UncompressedSize64, 1<<62)))
		rc.Close()
	}
}

// zipLayout checks that a ZIP reads the same from the front as from its
// central directory (APPNOTE.TXT 4.3.6): local headers start at byte 0,
// follow one another with no gap and no overlap, each names the member its
// directory entry names with the same method, encryption and compressed
// size, and the last is followed by the central directory. A streaming
// unpacker (local headers) and a seeking one (central directory) then see
// the same members; a concatenated or prefixed archive, hidden members, or
// entries sharing their data (overlapping "zip bombs") are refused. It
// returns why not, or "".
func zipLayout(r io.ReaderAt, files []*zip.File) string {
	const (
		localSig      = 0x04034b50
		descriptorSig = 0x08074b50
		directorySig  = 0x02014b50
	)
	type entry struct {
		f    *zip.File
		data int64
	}
	entries := make([]entry, 0, len(files))
	for _, f := range files {
		off, err := f.DataOffset()
		if err != nil {
			return fmt.Sprintf("%q: %v", f.Name, err)
		}
		entries = append(entries, entry{f, off})
	}
	slices.SortFunc(entries, func(a, b entry) int { return cmp.Compare(a.data, b.data) })
	var hdr [30]byte
	pos := int64(0)
	for _, e := range entries {
		f := e.f
		if _, err := r.ReadAt(hdr[:], pos); err != nil {
			return fmt.Sprintf("no local header at byte %d for %q", pos, f.Name)
		}
		le := binary.LittleEndian
		if le.Uint32(hdr[0:]) != localSig {
			return fmt.Sprintf("byte %d is not the local header of %q", pos, f.Name)
		}
		flags, method := le.Uint16(hdr[6:]), le.Uint16(hdr[8:])
		csize := le.Uint32(hdr[18:])
		nameLen, extraLen := int64(le.Uint16(hdr[26:])), int64(le.Uint16(hdr[28:]))
		name := make([]byte, nameLen)
		if _, err := r.ReadAt(name, pos+30); err != nil || string(name) != f.Name {
			return fmt.Sprintf("the local header at byte %d names %q, the directory %q", pos, name, f.Name)
		}
		switch {
		case pos+30+nameLen+extraLen != e.data:
			return fmt.Sprintf("%q: its data is not where its local header says", f.Name)
		case method != f.Method || flags&1 != f.Flags&1:
			return fmt.Sprintf("%q: method or encryption differ", f.Name)
		case flags&8 == 0 && csize != 0xFFFFFFFF && int64(csize) != int64(f.CompressedSize64):
			return fmt.Sprintf("%q: compressed sizes differ", f.Name)
		}
		pos = e.data + int64(min(f.CompressedSize64, 1<<62))
		if f.Flags&8 != 0 {
			// A data descriptor: optional signature, CRC, then 4- or
			// 8-byte sizes (ZIP64).
			var d [4]byte
			if _, err := r.ReadAt(d[:], pos); err == nil && le.Uint32(d[:]) == descriptorSig {
				pos += 4
			}
			pos += 12
			if f.CompressedSize64 >= 0xFFFFFFFF || f.UncompressedSize64 >= 0xFFFFFFFF {
				pos += 8
			}
		}
	}
	var sig [4]byte
	if len(entries) > 0 {
		if _, err := r.ReadAt(sig[:], pos); err != nil || binary.LittleEndian.Uint32(sig[:]) != directorySig {
			return fmt.Sprintf("byte %d, after the last member, is not the central directory", pos)
		}
	}
	return ""
}

func (x *expansion) tar(ctx context.Context, r io.Reader) {
	tr := tar.NewReader(r)
	for {
		if ctx.Err() != nil {
			x.hold("inspection stopped: %v", ctx.Err())
			return
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			x.hold("a tar archive that cannot be read: %v", err)
			return
		}
		x.entries++
		if h.Typeflag == tar.TypeReg {
			x.expanded += h.Size
		}
		if why := x.limitErr(); why != "" {
			x.hold("a tar archive with %s: the rest of its members are not checked", why)
			return
		}
		member := x.name + "!" + h.Name
		switch h.Typeflag {
		case tar.TypeReg:
			x.member(ctx, member, h.Name, tr, h.Size)
		case tar.TypeDir:
		case tar.TypeSymlink, tar.TypeLink:
			x.rep.Findings = append(x.rep.Findings, Finding{Path: member, Reason: ReasonTypeMismatch,
				Detail: fmt.Sprintf("a link to %q inside an archive: unpacked, it can point anywhere", h.Linkname)})
		default:
			x.rep.Findings = append(x.rep.Findings, Finding{Path: member, Reason: ReasonBlockedType,
				Detail: fmt.Sprintf("a special file (tar type %q) inside an archive", h.Typeflag)})
		}
	}
}

// stream inspects the one file a compressed stream holds (a .tar.gz is a
// tar archive inside it, opened as such).
func (x *expansion) stream(ctx context.Context, r io.Reader, inner string) {
	x.entries = 1
	br := &countingReader{r: r, x: x}
	head := make([]byte, 512)
	n, err := io.ReadFull(br, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		x.hold("a compressed stream that cannot be read: %v", err)
		return
	}
	head = head[:n]
	rest := io.MultiReader(bytes.NewReader(head), br)
	if isA(mimetype.Detect(head), "application/x-tar") {
		x.entries = 0
		x.tar(ctx, rest)
		if br.err != "" {
			x.hold("%s", br.err)
		}
		return
	}
	x.member(ctx, x.name+"!"+inner, inner, rest, -1)
	if br.err != "" {
		x.hold("%s", br.err)
	}
}

// countingReader counts expanded bytes against the limits and stops
// expanding when one is passed.
type countingReader struct {
	r   io.Reader
	x   *expansion
	err string
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.err != "" {
		return 0, io.EOF
	}
	n, err := c.r.Read(p)
	c.x.expanded += int64(n)
	if why := c.x.limitErr(); why != "" {
		c.err = fmt.Sprintf("a compressed stream with %s: not checked past that point", why)
		return n, io.EOF
	}
	return n, err
}

// member expands one member (of declared size, or -1 when unknown) and
// inspects it as a file of its own.
func (x *expansion) member(ctx context.Context, member, inner string, r io.Reader, size int64) {
	x.rep.Members++
	if bad := unsafeMemberName(inner); bad != "" {
		x.rep.Findings = append(x.rep.Findings, Finding{Path: member, Reason: ReasonDeceptiveName, Detail: bad})
	}
	notChecked := func(format string, args ...any) {
		x.rep.Findings = append(x.rep.Findings, Finding{Path: member, Reason: ReasonNotChecked, Detail: fmt.Sprintf(format, args...)})
	}
	if size >= 0 && size <= memberInMemory {
		b, err := io.ReadAll(io.LimitReader(r, size+1))
		if err != nil || int64(len(b)) != size {
			notChecked("a member that cannot be read whole: %v", err)
			return
		}
		x.ru.inspect(ctx, x.rep, member, Memory(b), size, x.depth+1)
		return
	}
	f, err := os.CreateTemp(x.ru.TempDir, ".sluice-inspect-*")
	if err != nil {
		notChecked("a large member that could not be expanded for inspection: %v", err)
		return
	}
	defer os.Remove(f.Name())
	defer f.Close()
	src := r
	if size >= 0 {
		src = io.LimitReader(r, size+1)
	}
	n, err := io.Copy(f, src)
	if err != nil || size >= 0 && n != size {
		notChecked("a member that cannot be read whole: %v", err)
		return
	}
	x.ru.inspect(ctx, x.rep, member, f, n, x.depth+1)
}

// unsafeMemberName says why a member's name would write outside the
// folder it is unpacked into, or "".
func unsafeMemberName(n string) string {
	n = strings.ReplaceAll(n, "\\", "/")
	if strings.HasPrefix(n, "/") || (len(n) > 1 && n[1] == ':') {
		return "an absolute path inside an archive: unpacked, it writes outside its folder"
	}
	for _, c := range strings.Split(n, "/") {
		if c == ".." {
			return "a path with .. inside an archive: unpacked, it writes outside its folder (zip slip)"
		}
	}
	return ""
}
