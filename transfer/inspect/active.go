package inspect

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

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
		if w := scanFor(ctx, r, size, markupActive); w != "" {
			return []finding{active("markup that can run script (%s)", w)}
		}
	}
	return nil
}

var rtfActive = []string{`\object`, `\objdata`, `\objupdate`, `\objemb`, `\objlink`, `\objautlink`}
var markupActive = []string{"<script", "javascript:", "vbscript:", "<iframe", "<object", "<embed", "<foreignobject",
	"onload=", "onerror=", "onclick=", "onmouseover=", "onfocus=", "onbegin=", "onactivate=", "onanimationstart="}

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
		case base == "[content_types].xml":
			if rc, err := f.Open(); err == nil {
				b, _ := io.ReadAll(io.LimitReader(rc, 1<<20))
				rc.Close()
				if bytes.Contains(bytes.ToLower(b), []byte("macroenabled")) {
					add(active("a macro-enabled Office document type"))
				}
			}
		}
	}
	return out
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
