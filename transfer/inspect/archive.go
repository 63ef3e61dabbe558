package inspect

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
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
