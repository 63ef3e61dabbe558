package transform

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"

	"sluice/internal/safetext"
)

// link is one /URI action of a document, found before it was rendered.
type link struct {
	Page int    `json:"page"`
	URI  string `json:"uri"`
}

// maxLinks bounds the links kept from one document; the rest are counted
// in a note.
const maxLinks = 10000

// pdfInfo is the pdfinfo worker: it reads a PDF with pdfcpu for its page
// count and its links (every page's link annotations whose action is a
// URI). A PDF pdfcpu cannot read is an error; a link that cannot be read
// is a LinkError, not a failure (the pages still render).
func pdfInfo(r io.ReaderAt, size int64, maxPages int) (*workerReply, error) {
	conf := model.NewDefaultConfiguration()
	conf.ValidationMode = model.ValidationRelaxed
	ctx, err := api.ReadContext(io.NewSectionReader(r, 0, size), conf)
	if err != nil {
		if strings.Contains(err.Error(), "password") {
			return nil, errors.New("the PDF is encrypted with a password: it cannot be rendered")
		}
		return nil, fmt.Errorf("the PDF does not parse: %v", err)
	}
	if err := ctx.EnsurePageCount(); err != nil {
		return nil, fmt.Errorf("the PDF's pages cannot be counted: %v", err)
	}
	rep := &workerReply{Pages: ctx.PageCount, ColourBlind: colourTestBlind(ctx.XRefTable)}
	if rep.Pages < 1 {
		return nil, errors.New("the PDF has no page")
	}
	if rep.Pages > maxPages {
		return nil, fmt.Errorf("the PDF has %d pages, more than the %d allowed", rep.Pages, maxPages)
	}
	for p := 1; p <= ctx.PageCount; p++ {
		links, err := pageLinks(ctx, p)
		if err != nil {
			rep.LinkError = fmt.Sprintf("page %d: %v", p, err)
			break
		}
		for _, u := range links {
			if len(rep.Links) == maxLinks {
				rep.LinkError = fmt.Sprintf("more than %d links: the rest are not listed", maxLinks)
				return rep, nil
			}
			rep.Links = append(rep.Links, link{Page: p, URI: u})
		}
	}
	return rep, nil
}

// colourTestBlind reports whether the document holds anything mutool's
// colour test does not see, in any object, in any dictionary written
// inside one (fonts may be written directly into a page's resources), or
// in any object decoded from an object stream (one that cannot be decoded
// counts: the answer only chooses the slower, exact path):
//   - a Type 3 font: mupdf takes any font with /CharProcs for one, whatever
//     its /Subtype says, and a Type 3 glyph may paint its own colours (d0);
//   - a ColorDodge or ColorBurn blend mode, which divides by a tint and
//     can make one below the test's 2% threshold strong.
func colourTestBlind(x *model.XRefTable) bool {
	for _, e := range x.Table {
		if e == nil || e.Free || e.Object == nil {
			continue
		}
		o := e.Object
		if l, ok := o.(types.LazyObjectStreamObject); ok {
			d, err := l.DecodedObject(context.Background())
			if err != nil {
				return true
			}
			o = d
		}
		if blindIn(o, 0) {
			return true
		}
	}
	return false
}

// blindIn looks for what colourTestBlind looks for in o, through
// dictionaries and arrays written inside it (not through references:
// every object is looked at on its own), at most 64 deep.
func blindIn(o types.Object, depth int) bool {
	if depth > 64 {
		return true // deeper than any real document: assume the worst
	}
	switch v := o.(type) {
	case types.StreamDict:
		return blindIn(v.Dict, depth+1)
	case *types.StreamDict:
		return blindIn(v.Dict, depth+1)
	case types.Dict:
		if _, ok := v["CharProcs"]; ok {
			return true
		}
		if n, ok := v["Subtype"].(types.Name); ok && n == "Type3" {
			return true
		}
		if dividingBlend(v["BM"]) {
			return true
		}
		for _, w := range v {
			if blindIn(w, depth+1) {
				return true
			}
		}
	case types.Array:
		for _, w := range v {
			if blindIn(w, depth+1) {
				return true
			}
		}
	}
	return false
}

// dividingBlend: a /BM value (a name, or an array of names) that names
// ColorDodge or ColorBurn.
func dividingBlend(o types.Object) bool {
	switch v := o.(type) {
	case types.Name:
		return v == "ColorDodge" || v == "ColorBurn"
	case types.Array:
		for _, w := range v {
			if dividingBlend(w) {
				return true
			}
		}
	}
	return false
}

func pageLinks(ctx *model.Context, page int) (uris []string, err error) {
	x := ctx.XRefTable
	d, _, _, err := x.PageDict(page, false)
	if err != nil {
		return nil, err
	}
	annots, err := x.DereferenceArray(d["Annots"])
	if err != nil {
		return nil, err
	}
	for _, a := range annots {
		ad, err := x.DereferenceDict(a)
		if err != nil || ad == nil {
			continue
		}
		if st, _ := x.Dereference(ad["Subtype"]); st != types.Name("Link") {
			continue
		}
		act, err := x.DereferenceDict(ad["A"])
		if err != nil || act == nil {
			continue
		}
		if s, _ := x.Dereference(act["S"]); s != types.Name("URI") {
			continue
		}
		o, err := x.Dereference(act["URI"])
		if err != nil || o == nil {
			continue
		}
		u, err := model.Text(o)
		if err != nil {
			continue
		}
		if len(u) > 4096 {
			u = u[:4096] + "…"
		}
		uris = append(uris, u)
	}
	return uris, nil
}

// linksText is the sidecar's content: a header line, then one link per
// line, "page N: URI", with every control, bidi and invisible character
// escaped (internal/safetext), so a link cannot hide what it points to
// or break the list's lines.
func linksText(name string, links []link) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# Links found in %s before it was rendered to images (not checked; open with care)\n", safetext.Line(name))
	for _, l := range links {
		fmt.Fprintf(&b, "page %d: %s\n", l.Page, safetext.Line(l.URI))
	}
	return []byte(b.String())
}

func init() {
	api.DisableConfigDir() // pdfcpu must not write a configuration folder in the station user's home
}
