// Package inspect judges a file by its content against a site's rules,
// for the receiving kiosk (before release) and the sending station (before
// sealing): its type family, sniffed from its bytes and never taken from
// its name; its name against that content; active content in documents
// (macros, scripts, embedded objects, PDF actions, encryption); and
// archives member by member, within limits checked before anything is
// expanded. It only reads.
//
// A file passes, or is held with findings, each with a reason a policy
// can name (Reason*). A check that cannot be completed (a PDF that does
// not parse, an encrypted archive, an archive over a limit or of a format
// Sluice cannot open) is ReasonNotChecked: never clean. The rules follow
// NIST SP 800-53 AC-4 and the UK NCSC's import guidance; the lists of
// dangerous types and constructs follow CIRCLean's filecheck and ClamAV's
// heuristics (../shared/ANCHORS.md, section 1).
package inspect

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"slices"

	"github.com/gabriel-vasile/mimetype"
)

// Reasons a file is held; a policy names them to let an officer override.
const (
	ReasonBlockedType    = "blocked-type"     // its family is on the block list
	ReasonTypeNotAllowed = "type-not-allowed" // an allow list is set and its family is not on it
	ReasonTypeMismatch   = "type-mismatch"    // name and content disagree, or content of two types
	ReasonDeceptiveName  = "deceptive-name"   // double extension, spaces hiding the extension
	ReasonActiveContent  = "active-content"   // macros, scripts, embedded objects or programs, PDF actions
	ReasonNotChecked     = "not-checked"      // a check could not be completed
	ReasonInfected       = "infected"         // a malware scanner found a signature
	ReasonNotScanned     = "not-scanned"      // a malware scanner could not scan it fully
	// Transformation into a simple form (issue 14; transfer/transform).
	ReasonNotTransformed  = "not-transformed"  // the policy has the sender transform its kind, and it came as it was
	ReasonNotSimple       = "not-simple"       // marked transformed, but not in the simple form a transformation writes
	ReasonTransformFailed = "transform-failed" // the kiosk could not transform it (a crash, a timeout, a missing tool)
)

// Reasons lists every reason, for policy validation.
var Reasons = []string{ReasonBlockedType, ReasonTypeNotAllowed, ReasonTypeMismatch, ReasonDeceptiveName,
	ReasonActiveContent, ReasonNotChecked, ReasonInfected, ReasonNotScanned,
	ReasonNotTransformed, ReasonNotSimple, ReasonTransformFailed}

// Rules are the checks to run.
type Rules struct {
	Block []string // families held
	Allow []string // when not empty, only these families pass
	// Extensions holds a file whose name and content disagree.
	Extensions bool
	// Names holds deceptive names (double extensions, hidden extensions).
	Names bool
	// ActiveContent holds documents with macros, scripts, embedded objects
	// or actions, and encrypted documents (which cannot be checked).
	ActiveContent bool
	Archives      ArchiveLimits
	// TempDir is where archive members too large for memory are expanded
	// to be inspected ("" for the system's temporary folder); a kiosk
	// points it into its quarantine, readable by its user only.
	TempDir string
	// PDF checks a PDF for active content and returns the findings
	// (Reason and Detail); nil runs CheckPDF in this process. A kiosk runs
	// it in a confined child process instead (internal/pdfcheck): a
	// hostile PDF can make the parser use unbounded memory or time.
	PDF func(ctx context.Context, r io.ReaderAt, size int64) []Finding
}

// ArchiveLimits bound how far archives are opened. A limit of 0 opens
// nothing (the archive is not-checked).
type ArchiveLimits struct {
	MaxDepth    int     // archives inside archives: 1 opens only the outer one
	MaxEntries  int     // members of one archive, counted before expanding
	MaxExpanded int64   // bytes of all members of one archive, expanded
	MaxRatio    float64 // expanded bytes per stored byte, of one archive
}

// Finding is one reason a file, or a member of an archive, is held.
type Finding struct {
	// Path is the file's path in the bundle; a member of an archive is
	// named after it: "outer.zip!inner/file.doc".
	Path   string
	Reason string
	Detail string // one line for the officer
}

func (f Finding) String() string { return fmt.Sprintf("%s: %s: %s", f.Path, f.Reason, f.Detail) }

// Text is the finding as a line under its file's name: "reason: detail",
// naming the archive member when it is about one ("reason: member: detail").
func (f Finding) Text(file string) string {
	if f.Path != file {
		return f.Reason + ": " + f.Path + ": " + f.Detail
	}
	return f.Reason + ": " + f.Detail
}

// Report is what Inspect found in one file.
type Report struct {
	Path   string
	MIME   string // sniffed from content
	Family string
	// Members counts archive members inspected, at every depth.
	Members  int
	Findings []Finding // none: the file passed every check
	// Passed are findings the policy lets pass (a file not scanned for a
	// reason scan.pass_not_scanned names): recorded, never holding.
	Passed []Finding
}

// Held says whether any check holds the file.
func (r *Report) Held() bool { return len(r.Findings) > 0 }

// sniffLen is how much of a file mimetype reads (its default limit).
const sniffLen = 3072

// Inspect checks the file called name (its path in the bundle), whose
// content is r (size bytes). Errors reading it are findings
// (ReasonNotChecked), never a pass; ctx stops it early, with a finding too.
func (ru *Rules) Inspect(ctx context.Context, name string, r io.ReaderAt, size int64) Report {
	rep := Report{Path: name}
	ru.inspect(ctx, &rep, name, r, size, 0)
	return rep
}

func (ru *Rules) inspect(ctx context.Context, rep *Report, name string, r io.ReaderAt, size int64, depth int) {
	hold := func(reason, format string, args ...any) {
		rep.Findings = append(rep.Findings, Finding{Path: name, Reason: reason, Detail: fmt.Sprintf(format, args...)})
	}
	if err := ctx.Err(); err != nil {
		hold(ReasonNotChecked, "inspection stopped: %v", err)
		return
	}
	head, err := window(r, 0, min(size, sniffLen))
	if err != nil {
		hold(ReasonNotChecked, "cannot read it: %v", err)
		return
	}
	m := confirm(mimetype.Detect(head), r, size, head)
	fam := family(m, name, head)
	if di := diskImage(r, size, head); di != "" {
		m, fam = mimetype.Lookup("application/octet-stream"), FamilyDiskImage
		if depth == 0 {
			rep.MIME = di
		}
	}
	if depth == 0 {
		if rep.MIME == "" {
			rep.MIME = m.String()
		}
		rep.Family = fam
	}
	if slices.Contains(ru.Block, fam) {
		hold(ReasonBlockedType, "its content is %s, a blocked type", describe(m, fam))
	} else if len(ru.Allow) > 0 && !slices.Contains(ru.Allow, fam) {
		hold(ReasonTypeNotAllowed, "its content is %s, not an allowed type", describe(m, fam))
	}
	if ru.Names {
		if why, ok := checkName(name); !ok {
			hold(ReasonDeceptiveName, "%s", why)
		}
	}
	if ru.Extensions {
		if why, ok := checkExtension(name, m, fam); !ok {
			hold(ReasonTypeMismatch, "%s", why)
		}
		if why := polyglot(r, size, head, m); why != "" {
			hold(ReasonTypeMismatch, "%s", why)
		}
	}
	if ru.ActiveContent {
		if isA(m, "application/pdf") && ru.PDF != nil {
			for _, f := range ru.PDF(ctx, r, size) {
				hold(f.Reason, "%s", f.Detail)
			}
		} else {
			for _, f := range activeContent(ctx, r, size, head, m, fam) {
				hold(f.reason, "%s", f.detail)
			}
		}
	}
	if fam == FamilyArchive {
		ru.archive(ctx, rep, name, r, size, m, depth)
	}
}

// diskImage names a disk image format found in r, which mimetype does not
// know: ISO 9660 ("CD001" in the first volume descriptor), VHD ("conectix"
// footer or header), VHDX, VMDK, QCOW2, Apple DMG ("koly" trailer).
func diskImage(r io.ReaderAt, size int64, head []byte) string {
	at := func(off int64, sig string) bool {
		if off < 0 || off+int64(len(sig)) > size {
			return false
		}
		b := make([]byte, len(sig))
		_, err := r.ReadAt(b, off)
		return err == nil && string(b) == sig
	}
	switch {
	case at(0x8001, "CD001") || at(0x8801, "CD001") || at(0x9001, "CD001"):
		return "application/x-iso9660-image"
	case bytes.HasPrefix(head, []byte("conectix")) || at(size-512, "conectix") || at(size-511, "conectix"):
		return "application/x-vhd"
	case bytes.HasPrefix(head, []byte("vhdxfile")):
		return "application/x-vhdx"
	case bytes.HasPrefix(head, []byte("KDMV")) || bytes.HasPrefix(head, []byte("# Disk DescriptorFile")):
		return "application/x-vmdk"
	case bytes.HasPrefix(head, []byte("QFI\xfb")):
		return "application/x-qcow2"
	case at(size-512, "koly"):
		return "application/x-apple-diskimage"
	}
	return ""
}

// polyglot says whether content of one type also carries another that a
// reader finds by looking elsewhere than the start: a ZIP directory at
// the end of a file that is not a ZIP (readers find ZIPs from their end),
// or a PDF header within the first KiB of a file that is not a PDF (PDF
// readers look that far).
func polyglot(r io.ReaderAt, size int64, head []byte, m *mimetype.MIME) string {
	if !isA(m, "application/zip") && !isA(m, "application/x-7z-compressed") {
		if off := zipDirectoryAt(r, size); off >= 0 {
			return fmt.Sprintf("its content is %s, yet it ends with a ZIP archive's directory (a polyglot)", m.String())
		}
	}
	if !isA(m, "application/pdf") {
		if i := bytes.Index(head[:min(len(head), 1024)], []byte("%PDF-")); i >= 0 {
			return fmt.Sprintf("its content is %s, yet a PDF header sits at byte %d (a polyglot)", m.String(), i)
		}
	}
	return ""
}

// zipDirectoryAt returns the offset of a ZIP end-of-central-directory
// record whose comment runs exactly to the end of r, or -1.
func zipDirectoryAt(r io.ReaderAt, size int64) int64 {
	const eocd = 22
	n := min(size, eocd+0xffff)
	if n < eocd {
		return -1
	}
	tail, err := window(r, size-n, n)
	if err != nil {
		return -1
	}
	// Every signature, the last that fits kept, as a reader finds it
	// from the end; bytes.Index (vectorised) is several times faster
	// than a byte loop on the 64 KiB every file is read for.
	sig := []byte("PK\x05\x06")
	found := int64(-1)
	for off := 0; off <= len(tail)-eocd; {
		i := bytes.Index(tail[off:len(tail)-eocd+len(sig)], sig)
		if i < 0 {
			break
		}
		i += off
		comment := int(tail[i+20]) | int(tail[i+21])<<8
		if i+eocd+comment == len(tail) {
			found = size - n + int64(i)
		}
		off = i + 1
	}
	if found >= 0 {
		return found
	}
	return -1
}

// confirm holds a sniffed type to its structure where mimetype decides by
// two or three bytes, which random or compressed data matches about once
// in tens of thousands of files: a PE must have its "PE" header where the
// DOS header points, gzip must use deflate, SWF must give a version and
// a length that fit, binary cpio and bare zlib streams are not told from
// noise at all. What does not hold up is octet-stream (a type Sluice
// cannot tell), which the name checks still judge.
func confirm(m *mimetype.MIME, r io.ReaderAt, size int64, head []byte) *mimetype.MIME {
	unknown := mimetype.Lookup("application/octet-stream")
	switch bareMIME(m) {
	case "application/vnd.microsoft.portable-executable":
		if len(head) < 0x40 {
			return unknown
		}
		off := int64(binary.LittleEndian.Uint32(head[0x3c:]))
		var sig [4]byte
		if off < 0x40 || off+4 > size {
			return unknown
		}
		if _, err := r.ReadAt(sig[:], off); err != nil || string(sig[:]) != "PE\x00\x00" {
			return unknown
		}
	case "application/gzip":
		if len(head) < 4 || head[2] != 8 || head[3]&0xe0 != 0 {
			return unknown
		}
	case "application/x-shockwave-flash":
		if len(head) < 8 || head[3] == 0 || head[3] > 50 {
			return unknown
		}
		n := int64(binary.LittleEndian.Uint32(head[4:]))
		if head[0] == 'F' && n != size || n < size {
			return unknown
		}
	case "application/zlib":
		return unknown
	case "application/x-cpio":
		if !bytes.HasPrefix(head, []byte("0707")) {
			return unknown
		}
	}
	return m
}

// Memory is content already in memory, checked without copies.
type Memory []byte

// ReadAt implements io.ReaderAt.
func (m Memory) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(m)) {
		return 0, io.EOF
	}
	n := copy(p, m[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// window returns n bytes of r from off: a slice of it when r is Memory,
// else a copy.
func window(r io.ReaderAt, off, n int64) ([]byte, error) {
	if m, ok := r.(Memory); ok {
		return m[off : off+n], nil
	}
	b := make([]byte, n)
	if _, err := r.ReadAt(b, off); err != nil && err != io.EOF {
		return nil, err
	}
	return b, nil
}
