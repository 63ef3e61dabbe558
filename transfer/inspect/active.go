package inspect

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/gabriel-vasile/mimetype"
	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
	"github.com/richardlehane/mscfb"
)

type finding struct{ reason, detail string }

func active(detail string, args ...any) finding {
	return finding{ReasonActiveContent, fmt.Sprintf(detail, args...)}
}

func notChecked(detail string, args ...any) finding {
	return finding{ReasonNotChecked, fmt.Sprintf(detail, args...)}
}

// activeContent finds what runs, or hides, inside a document: macros,
// ActiveX and embedded objects in Office files, scripts and objects in
// OpenDocument, JavaScript, actions, launches, embedded files, rich media
// and XFA forms in PDFs, objects in RTF, scripts and event handlers in
// HTML and SVG. An encrypted document is not-checked: what it holds
// cannot be seen.
func activeContent(ctx context.Context, r io.ReaderAt, size int64, head []byte, m *mimetype.MIME, fam string) []finding {
	switch {
	case isA(m, "application/pdf"):
		return pdfActive(r, size)
	case isA(m, "application/x-ole-storage"):
		return oleActive(r)
	case fam == FamilyDocument && isA(m, "application/zip"):
		return zipDocActive(r, size)
	case isA(m, "text/rtf"):
		if w := scanFor(ctx, r, size, rtfActive); w != "" {
			return []finding{active("an RTF document with an embedded object (%s)", w)}
		}
	case fam == FamilyMarkup:
		return markupActive(r, size)
	}
	return nil
}

var rtfActive = []string{`\object`, `\objdata`, `\objupdate`, `\objemb`, `\objlink`, `\objautlink`}

// maxMarkup is the largest HTML or SVG file read whole to be checked for
// script; a larger one is not checked.
const maxMarkup = 16 << 20

// markupScript finds, in lower-cased markup whose character references are
// decoded, what a browser runs: script elements under any namespace
// prefix, frames and plug-ins, any on* event handler however spaced, an
// animation that sets one, script URLs, XSLT and old IE expressions.
var markupScript = regexp.MustCompile(`<\s*([a-z0-9_.-]+:)?(script|iframe|frame|object|embed|applet|foreignobject|handler|listener)\b` +
	`|[\s"'/]on[a-z]+\s*=|attributename\s*=\s*["']?\s*on|<\?xml-stylesheet|expression\s*\(`)

// scriptURL is a script URL once tabs and line breaks are dropped.
var scriptURL = regexp.MustCompile(`(java|vb)script:`)

// charRef is a numeric character reference (the semicolon is optional in
// HTML) or one of the named ones used to hide a script URL.
var charRef = regexp.MustCompile(`&#(x[0-9a-f]+|[0-9]+);?|&(colon|tab|newline);`)

// markupActive says whether HTML or SVG can run script. Browsers decode
// character references in attributes and drop tabs and line breaks from
// URLs ("jav&#x61;script:", "java\tscript:"), so the check does too.
func markupActive(r io.ReaderAt, size int64) []finding {
	if size > maxMarkup {
		return []finding{notChecked("markup larger than %d bytes: not checked for script", maxMarkup)}
	}
	b := make([]byte, size)
	if _, err := r.ReadAt(b, 0); err != nil && err != io.EOF {
		return []finding{notChecked("cannot read it: %v", err)}
	}
	low := bytes.ToLower(b)
	low = charRef.ReplaceAllFunc(low, func(m []byte) []byte {
		switch string(m) {
		case "&colon;":
			return []byte(":")
		case "&tab;", "&newline;":
			return []byte("\t")
		}
		t := strings.TrimSuffix(strings.TrimPrefix(string(m), "&#"), ";")
		base := 10
		if strings.HasPrefix(t, "x") {
			t, base = t[1:], 16
		}
		n, err := strconv.ParseUint(t, base, 32)
		if err != nil || n > unicode.MaxRune {
			return m
		}
		return []byte(strings.ToLower(string(rune(n))))
	})
	if loc := markupScript.FindIndex(low); loc != nil {
		return []finding{active("markup that can run script (%s)", strings.Join(strings.Fields(string(low[loc[0]:loc[1]])), " "))}
	}
	low = bytes.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' || r == 0 {
			return -1
		}
		return r
	}, low)
	if loc := scriptURL.FindIndex(low); loc != nil {
		return []finding{active("markup that can run script (%s)", low[loc[0]:loc[1]])}
	}
	return nil
}

// scanFor returns the first of needles (lower-case ASCII) found in r,
// ignoring ASCII case, reading 1 MiB at a time.
func scanFor(ctx context.Context, r io.ReaderAt, size int64, needles []string) string {
	longest := 0
	for _, n := range needles {
		longest = max(longest, len(n))
	}
	buf := make([]byte, 1<<20+longest)
	keep := 0
	for off := int64(0); off < size; {
		if ctx.Err() != nil {
			return ""
		}
		n, err := r.ReadAt(buf[keep:keep+int(min(1<<20, size-off))], off)
		if n == 0 && err != nil {
			return ""
		}
		off += int64(n)
		win := buf[:keep+n]
		low := bytes.ToLower(win)
		for _, nd := range needles {
			if bytes.Contains(low, []byte(nd)) {
				return nd
			}
		}
		keep = min(longest-1, len(win))
		copy(buf, win[len(win)-keep:])
	}
	return ""
}

// zipDocActive looks into an OOXML or OpenDocument package's member names
// and content types.
func zipDocActive(r io.ReaderAt, size int64) []finding {
	z, err := zip.NewReader(r, size)
	if err != nil {
		return []finding{notChecked("its package cannot be opened: %v", err)}
	}
	var out []finding
	seen := map[string]bool{}
	add := func(f finding) {
		if !seen[f.detail] {
			seen[f.detail] = true
			out = append(out, f)
		}
	}
	for _, f := range z.File {
		n := strings.ToLower(f.Name)
		base := path.Base(n)
		switch {
		case f.Flags&1 != 0:
			add(notChecked("its package holds an encrypted member (%s)", f.Name))
		case base == "vbaproject.bin" || base == "vbadata.xml":
			add(active("Office macros (%s)", f.Name))
		case strings.Contains(n, "activex/"):
			add(active("ActiveX controls (%s)", path.Dir(f.Name)))
		case strings.Contains(n, "/embeddings/"):
			add(active("embedded objects (%s)", path.Dir(f.Name)))
		case strings.HasPrefix(n, "basic/") && base != "basic/" && strings.HasSuffix(n, ".xml") && base != "script-lc.xml" && base != "dialog-lc.xml":
			add(active("OpenDocument macros (%s)", path.Dir(f.Name)))
		case strings.HasPrefix(n, "scripts/"):
			add(active("OpenDocument scripts (%s)", path.Dir(f.Name)))
		case strings.HasPrefix(n, "object ") && !strings.HasPrefix(n, "objectreplacements/"):
			add(active("embedded objects (%s)", strings.SplitN(f.Name, "/", 2)[0]))
		case base == "[content_types].xml" || strings.HasSuffix(base, ".rels"):
			// Read as XML, so character references ("macro&#69;nabled")
			// are decoded as Office decodes them; one too large or not
			// XML is not checked.
			for _, v := range xmlAttrs(f, "ContentType", "Type") {
				if v.err != nil {
					add(notChecked("its package part %s cannot be read: %v", f.Name, v.err))
					continue
				}
				switch lv := strings.ToLower(v.val); {
				case strings.Contains(lv, "macroenabled"):
					add(active("a macro-enabled Office document type"))
				case strings.Contains(lv, "vbaproject"):
					add(active("Office macros (%s)", f.Name))
				case strings.Contains(lv, "activex") || strings.HasSuffix(lv, "/control"):
					add(active("ActiveX controls (%s)", f.Name))
				case strings.Contains(lv, "oleobject") || strings.HasSuffix(lv, "/package"):
					add(active("embedded objects (%s)", f.Name))
				case strings.HasSuffix(lv, "/attachedtemplate") || strings.HasSuffix(lv, "/frame"):
					add(active("a link to a template or frame loaded when opened (%s)", f.Name))
				}
			}
		}
		// Whatever its name, an OLE2 compound file inside a package is a
		// VBA project, an ActiveX control or an embedded object, and a
		// program is a program: Office finds parts by relationship, not
		// by folder.
		if f.Flags&1 == 0 && !isFolder(f) {
			var head [8]byte
			if rc, err := f.Open(); err == nil {
				n, _ := io.ReadFull(rc, head[:])
				rc.Close()
				switch h := head[:n]; {
				case bytes.HasPrefix(h, []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}):
					add(active("an OLE2 object: macros, ActiveX or an embedded object (%s)", f.Name))
				case bytes.HasPrefix(h, []byte("MZ")) || bytes.HasPrefix(h, []byte("\x7fELF")):
					add(active("a program inside the document (%s)", f.Name))
				}
			} else {
				add(notChecked("its package part %s cannot be read: %v", f.Name, err))
			}
		}
	}
	return out
}

// isFolder says whether a ZIP member is a folder as unzip, Python and
// Explorer tell one: empty, with a name ending in a slash. Attributes that
// say "folder" on a member with content are not believed: those tools
// write the content out as a file.
func isFolder(f *zip.File) bool {
	return (strings.HasSuffix(f.Name, "/") || strings.HasSuffix(f.Name, "\\")) && f.UncompressedSize64 == 0
}

// xmlAttr is one attribute value read from a package part, or why the
// part could not be read.
type xmlAttr struct {
	val string
	err error
}

// maxPackageXML is the largest package part read as XML.
const maxPackageXML = 16 << 20

// xmlAttrs returns the values of the named attributes of every element of
// the XML part f.
func xmlAttrs(f *zip.File, names ...string) []xmlAttr {
	if f.UncompressedSize64 > maxPackageXML {
		return []xmlAttr{{err: fmt.Errorf("larger than %d bytes", maxPackageXML)}}
	}
	rc, err := f.Open()
	if err != nil {
		return []xmlAttr{{err: err}}
	}
	defer rc.Close()
	var out []xmlAttr
	d := xml.NewDecoder(io.LimitReader(rc, maxPackageXML))
	d.Strict = false
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			return append(out, xmlAttr{err: err})
		}
		if se, ok := tok.(xml.StartElement); ok {
			for _, a := range se.Attr {
				if slices.Contains(names, a.Name.Local) {
					out = append(out, xmlAttr{val: a.Value})
				}
			}
		}
	}
}

// oleActive looks at an OLE2 compound file's storage names: VBA projects,
// embedded objects and packages, and the streams of an encrypted OOXML
// document.
func oleActive(r io.ReaderAt) []finding {
	doc, err := mscfb.New(r)
	if err != nil {
		return []finding{notChecked("its OLE2 structure cannot be read: %v", err)}
	}
	var out []finding
	seen := map[string]bool{}
	for {
		f, err := doc.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return append(out, notChecked("its OLE2 structure is damaged: %v", err))
		}
		var fd finding
		switch n := strings.ToLower(f.Name); {
		case n == "vba" || n == "_vba_project" || n == "_vba_project_cur" || n == "macros" || n == "vba_project":
			fd = active("Office macros (VBA)")
		case n == "objectpool" || n == "\x01ole10native" || n == "mbd" || strings.HasPrefix(n, "mbd0"):
			fd = active("embedded objects (OLE)")
		case n == "encryptedpackage" || n == "encryptioninfo":
			fd = notChecked("an encrypted Office document: its content cannot be checked")
		default:
			continue
		}
		if !seen[fd.detail] {
			seen[fd.detail] = true
			out = append(out, fd)
		}
	}
	return out
}

// pdfKeys are PDF dictionary keys and name values that run code, act on
// opening, launch programs, carry files or media, or hold XFA forms.
var pdfKeys = map[string]string{
	"JS": "JavaScript", "JavaScript": "JavaScript", "OpenAction": "an action on opening", "AA": "automatic actions",
	"Launch": "a program launch", "EmbeddedFile": "embedded files", "EmbeddedFiles": "embedded files",
	"RichMedia": "rich media (Flash or video)", "XFA": "an XFA form", "GoToR": "a link to another file",
	"ImportData": "an import of data", "SubmitForm": "a form that submits data", "URI": "",
}

// CheckPDF finds active content in a PDF as the policy's active-content
// check does (JavaScript, actions, launches, embedded files, rich media,
// XFA; encrypted or unparseable: not-checked). The findings carry Reason
// and Detail only. It parses with pdfcpu in this process, with no bound
// on the memory or time a hostile PDF can make it use: see Rules.PDF.
func CheckPDF(r io.ReaderAt, size int64) []Finding {
	var out []Finding
	for _, f := range pdfActive(r, size) {
		out = append(out, Finding{Reason: f.reason, Detail: f.detail})
	}
	return out
}

// pdfActive parses a PDF with pdfcpu and walks every object. A PDF it
// cannot parse is not checked; an encrypted one is not checked either.
func pdfActive(r io.ReaderAt, size int64) (out []finding) {
	defer func() {
		if p := recover(); p != nil { // a parser bug on hostile input is a file not checked, not a crash
			out = []finding{notChecked("the PDF parser failed on it: %v", p)}
		}
	}()
	conf := model.NewDefaultConfiguration()
	conf.ValidationMode = model.ValidationRelaxed
	ctx, err := api.ReadContext(io.NewSectionReader(r, 0, size), conf)
	if err != nil {
		if strings.Contains(err.Error(), "password") {
			return []finding{notChecked("an encrypted PDF: its content cannot be checked")}
		}
		return []finding{notChecked("the PDF does not parse: %v", err)}
	}
	if ctx.XRefTable.Encrypt != nil || ctx.XRefTable.E != nil {
		out = append(out, notChecked("an encrypted PDF: its content cannot be checked"))
	}
	found := map[string]bool{}
	var broken error
	var walk func(o types.Object, depth int)
	walk = func(o types.Object, depth int) {
		if depth > 64 {
			return
		}
		switch v := o.(type) {
		case types.Dict:
			for k, e := range v {
				if what := pdfKeys[k]; what != "" {
					found[what] = true
				}
				walk(e, depth+1)
			}
		case types.StreamDict:
			walk(v.Dict, depth+1)
		case types.ObjectStreamDict:
			walk(v.Dict, depth+1)
		case types.XRefStreamDict:
			walk(v.Dict, depth+1)
		case types.LazyObjectStreamObject:
			// An object kept in an object stream (most PDFs written
			// since PDF 1.5): pdfcpu parses it only when asked.
			d, err := v.DecodedObject(context.Background())
			if err != nil {
				broken = err
				return
			}
			walk(d, depth+1)
		case types.Array:
			for _, e := range v {
				walk(e, depth+1)
			}
		case types.Name:
			if what := pdfKeys[string(v)]; what != "" && (v == "JavaScript" || v == "Launch" || v == "ImportData" || v == "SubmitForm" || v == "GoToR") {
				found[what] = true
			}
		}
	}
	for _, e := range ctx.XRefTable.Table {
		if e != nil && !e.Free && e.Object != nil {
			walk(e.Object, 0)
		}
	}
	if broken != nil {
		out = append(out, notChecked("an object of the PDF does not parse: %v", broken))
	}
	for _, what := range []string{"JavaScript", "an action on opening", "automatic actions", "a program launch", "embedded files",
		"rich media (Flash or video)", "an XFA form", "a link to another file", "an import of data", "a form that submits data"} {
		if found[what] {
			out = append(out, active("a PDF with %s", what))
		}
	}
	return out
}

func init() {
	api.DisableConfigDir() // pdfcpu must not write a configuration folder in the station user's home
}
