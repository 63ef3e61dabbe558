package transform

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image/jpeg"
	"image/png"
	"io"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
	"golang.org/x/sync/errgroup"

	"sluice/internal/regfile"
)

// Verify checks that the file named name (r, size bytes) is in the simple
// form Transform writes for its type, by its extension:
//
//   - .pdf: a PDF that pdfcpu validates, not encrypted, with no
//     information dictionary, whose every object is the catalog (/Type,
//     /Pages), the page tree, a page (/MediaBox, /Resources of one image,
//     /Contents), a content stream that only draws that image, or an
//     image (DeviceGray or DeviceRGB, 1 or 8 bits, DCTDecode,
//     FlateDecode or CCITTFaxDecode) whose data decodes to its declared
//     size; a page may also carry OCR's invisible text layer: its
//     resources then name one font, /F1, the one font object of the file,
//     the standard Type1 Helvetica in WinAnsiEncoding with nothing
//     embedded, and its content stream, deflated, draws the image then
//     only text objects of Tr Tf Tz Tm Td Tj TJ, every word shown in
//     render mode 3 (invisible; verifytext.go);
//   - .png, .jpg, .jpeg: an image Go decodes whole, within 100 million
//     pixels, with no chunk or marker beyond pixels (no metadata, no
//     comment) and nothing after its end;
//   - .txt, .csv, .json, .xml, .md… (and a .links.txt sidecar): UTF-8 with
//     no control character other than tab, newline and carriage return.
//
// Its parsers (pdfcpu, Go's image decoders) are not the renderers that
// made the pixels. It runs in this process: for files from elsewhere,
// prefer Transformer.VerifyFile, which runs it in a bounded worker.
// Errors wrap ErrNotSimple.
func Verify(name string, r io.ReaderAt, size int64) (err error) {
	return verify(name, r, size, true)
}

// verify is Verify; with decodePages false, images (a PDF's pages, a PNG or
// a JPEG) are checked in every respect but their data's decoding.
// Transform checks its own outputs so: their pixels were encoded here, by
// encoders the round-trip tests hold to the decoders, and decoding them
// again costs a quarter of a photo's re-encoding. The receiving side's Verify decodes
// every image.
func verify(name string, r io.ReaderAt, size int64, decodePages bool) (err error) {
	defer func() {
		if p := recover(); p != nil { // a parser bug on hostile input is a file that does not verify
			err = fmt.Errorf("%w: its parser failed on it: %v", ErrNotSimple, p)
		}
	}()
	notSimple := func(e error) error {
		if e == nil {
			return nil
		}
		return fmt.Errorf("%w: %v", ErrNotSimple, e)
	}
	sr := io.NewSectionReader(r, 0, size)
	ext := strings.ToLower(filepath.Ext(name))
	switch {
	case ext == ".pdf":
		return notSimple(verifyPDF(sr, decodePages))
	case ext == ".png":
		return notSimple(verifyPNG(sr, size, decodePages))
	case ext == ".jpg" || ext == ".jpeg" || ext == ".jpe":
		return notSimple(verifyJPEG(sr, size, decodePages))
	case textExts[ext]:
		_, err := cleanTextCheck(sr)
		return notSimple(err)
	}
	return fmt.Errorf("%w: %s is not a type Transform writes", ErrNotSimple, ext)
}

// VerifyFile runs Verify on the file at path in a worker child, bounded
// in memory and time like the transformations (and sandboxed unless
// Config.NoSandbox): for files that came from elsewhere, whose parsing is
// a risk of its own. Every failure, a worker that could not run or died
// included, wraps ErrNotSimple: the file is not shown to be simple.
func (t *Transformer) VerifyFile(ctx context.Context, path string) error {
	f, err := regfile.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	_, err = t.worker(ctx, "verify", workerOpts{Name: filepath.Base(path)}, f, fi.Size(), nil)
	if err != nil {
		// Verify's message came back as text: ErrNotSimple once, not twice.
		return replyError(err.Error())
	}
	return nil
}

// cleanTextCheck fails on text that cleanText would change.
func cleanTextCheck(r io.Reader) (int64, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var off int64
	for {
		c, size, err := br.ReadRune()
		if err == io.EOF {
			return off, nil
		}
		if err != nil {
			return off, err
		}
		if c == 0xfffd && size == 1 {
			return off, fmt.Errorf("not UTF-8 (byte %d)", off)
		}
		if k := dropped(c); k != kept {
			return off, fmt.Errorf("%s U+%04X at byte %d", removalNames[k].one, c, off)
		}
		off += int64(size)
	}
}

// verifyPixels bounds a decoded image's pixels (Config.MaxPixels'
// default: Verify has no Transformer).
const verifyPixels = 100e6

func verifyPNG(r *io.SectionReader, size int64, decode bool) error {
	var sig [8]byte
	if _, err := r.ReadAt(sig[:], 0); err != nil || string(sig[:]) != "\x89PNG\r\n\x1a\n" {
		return errors.New("not a PNG image")
	}
	// Chunks as Go's encoder writes them: IHDR (not interlaced), PLTE
	// only for a palette image, tRNS, then the IDAT chunks one after
	// another, then IEND, and nothing after it.
	off := int64(8)
	var ihdr [13]byte
	var idat []*io.SectionReader
	var idatSize int64
	last := ""
	for {
		var hdr [8]byte
		if _, err := r.ReadAt(hdr[:], off); err != nil {
			return errors.New("a PNG image cut short")
		}
		n := int64(binary.BigEndian.Uint32(hdr[:4]))
		typ := string(hdr[4:])
		switch {
		case typ == "IHDR" && off == 8 && n == 13:
			if _, err := r.ReadAt(ihdr[:], off+8); err != nil {
				return errors.New("a PNG image cut short")
			}
			if ihdr[12] != 0 {
				return errors.New("an interlaced PNG image")
			}
		case off == 8:
			return errors.New("a PNG image that does not start with its header")
		case typ == "PLTE" && ihdr[9] != 3:
			return errors.New("a PNG image with a palette its colour type does not use (room for any data)")
		case typ == "PLTE", typ == "tRNS":
			if len(idat) > 0 {
				return fmt.Errorf("a PNG image with a %s chunk after its pixels", typ)
			}
		case typ == "IDAT":
			if len(idat) > 0 && last != "IDAT" {
				return errors.New("a PNG image whose pixel data is split by other chunks")
			}
			idat = append(idat, io.NewSectionReader(r, off+8, n))
			idatSize += n
		case typ == "IEND":
		default:
			return fmt.Errorf("a PNG image with a %q chunk (metadata or unknown data)", typ)
		}
		last = typ
		off += 12 + n
		if typ == "IEND" {
			break
		}
		if off > size {
			return errors.New("a PNG image cut short")
		}
	}
	if off != size {
		return fmt.Errorf("%d bytes after the PNG image's end", size-off)
	}
	cfg, err := png.DecodeConfig(io.NewSectionReader(r, 0, size))
	if err != nil {
		return err
	}
	if int64(cfg.Width)*int64(cfg.Height) > verifyPixels {
		return fmt.Errorf("a PNG image of %d × %d pixels", cfg.Width, cfg.Height)
	}
	if !decode {
		return nil
	}
	// The pixel data, inflated, is exactly the image's rows, each with
	// its filter byte, and the zlib stream ends where the last IDAT does.
	channels := map[byte]int64{0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[ihdr[9]]
	rowBytes := (int64(cfg.Width)*channels*int64(ihdr[8]) + 7) / 8
	want := int64(cfg.Height) * (1 + rowBytes)
	readers := make([]io.Reader, len(idat))
	for i, sr := range idat {
		readers[i] = sr
	}
	n, err := inflateExact(io.MultiReader(readers...), idatSize, want, io.Discard)
	if err != nil {
		return fmt.Errorf("its pixel data: %v", err)
	}
	if n != want {
		return fmt.Errorf("its pixel data is %d bytes, not the %d of its rows", n, want)
	}
	_, err = png.Decode(io.NewSectionReader(r, 0, size))
	return err
}

func verifyJPEG(r *io.SectionReader, size int64, decode bool) error {
	br := bufio.NewReader(io.NewSectionReader(r, 0, size))
	// Markers: SOI, then only tables, frame and scan headers (no APPn, no
	// COM), entropy-coded data, and EOI as the last two bytes.
	var b [4]byte
	if _, err := io.ReadFull(br, b[:2]); err != nil || b[0] != 0xff || b[1] != 0xd8 {
		return errors.New("not a JPEG image")
	}
	off := int64(2)
	for {
		if _, err := io.ReadFull(br, b[:2]); err != nil {
			return errors.New("a JPEG image cut short")
		}
		off += 2
		if b[0] != 0xff {
			return fmt.Errorf("a JPEG image with a broken marker at byte %d", off-2)
		}
		m := b[1]
		switch {
		case m == 0xdb, m == 0xc4, m == 0xdd, m >= 0xc0 && m <= 0xc2:
		case m == 0xda: // start of scan: its header, then data to EOI
		default:
			return fmt.Errorf("a JPEG image with marker 0x%02x (metadata, comment or an unusual coding)", m)
		}
		if _, err := io.ReadFull(br, b[:2]); err != nil {
			return errors.New("a JPEG image cut short")
		}
		n := int64(binary.BigEndian.Uint16(b[:2]))
		if n < 2 {
			return errors.New("a JPEG image with a broken segment")
		}
		if _, err := br.Discard(int(n - 2)); err != nil {
			return errors.New("a JPEG image cut short")
		}
		off += n
		if m == 0xda {
			break
		}
	}
	// Scan data: 0xFF is followed by 0x00 (stuffing) or RSTn within it;
	// anything else ends it, and it must be EOI at the very end.
	for {
		c, err := br.ReadByte()
		if err != nil {
			return errors.New("a JPEG image without its end")
		}
		off++
		if c != 0xff {
			continue
		}
		d, err := br.ReadByte()
		if err != nil {
			return errors.New("a JPEG image without its end")
		}
		off++
		switch {
		case d == 0x00, d >= 0xd0 && d <= 0xd7:
			continue
		case d == 0xd9:
			if off != size {
				return fmt.Errorf("%d bytes after the JPEG image's end", size-off)
			}
		default:
			return fmt.Errorf("a JPEG image with marker 0x%02x after its scan (a second scan or trailing data)", d)
		}
		break
	}
	cfg, err := jpeg.DecodeConfig(io.NewSectionReader(r, 0, size))
	if err != nil {
		return err
	}
	if int64(cfg.Width)*int64(cfg.Height) > verifyPixels {
		return fmt.Errorf("a JPEG image of %d × %d pixels", cfg.Width, cfg.Height)
	}
	if !decode {
		return nil
	}
	if err := jpegScanExact(io.NewSectionReader(r, 0, size), size); err != nil {
		return err
	}
	_, err = jpeg.Decode(io.NewSectionReader(r, 0, size))
	return err
}

var contentRE = regexp.MustCompile(`^q [0-9]+(\.[0-9]+)? 0 0 [0-9]+(\.[0-9]+)? 0 0 cm /Im0 Do Q\n?$`)

// imageDrawRE is the start of a content stream with a text layer: the
// image, drawn as contentRE draws it, then a newline.
var imageDrawRE = regexp.MustCompile(`^q [0-9]+(\.[0-9]+)? 0 0 [0-9]+(\.[0-9]+)? 0 0 cm /Im0 Do Q\n`)

// verifyPDF checks a PDF object by object against what writePDF writes:
// its bytes laid out as writePDF lays them (checkLayout), then pdfcpu's
// reading of them.
func verifyPDF(r *io.SectionReader, decodePages bool) error {
	if err := checkLayout(io.NewSectionReader(r, 0, r.Size())); err != nil {
		return fmt.Errorf("the PDF is not laid out as Sluice writes one: %v", err)
	}
	conf := model.NewDefaultConfiguration()
	conf.ValidationMode = model.ValidationRelaxed
	ctx, err := api.ReadContext(r, conf)
	if err != nil {
		return fmt.Errorf("the PDF does not parse: %v", err)
	}
	if err := api.ValidateContext(ctx); err != nil {
		return fmt.Errorf("the PDF does not validate: %v", err)
	}
	x := ctx.XRefTable
	if x.Encrypt != nil || x.E != nil {
		return errors.New("an encrypted PDF")
	}
	if x.Info != nil {
		return errors.New("a PDF with an information dictionary (metadata)")
	}
	root, err := x.Catalog()
	if err != nil {
		return err
	}
	if err := onlyKeys(root, "catalog", "Type", "Pages"); err != nil {
		return err
	}
	// Every object must be reached from the page tree, each as one kind.
	seen := map[int]string{}
	mark := func(o types.Object, kind string) (int, error) {
		ref, ok := o.(types.IndirectRef)
		if !ok {
			return 0, fmt.Errorf("a %s that is not a separate object", kind)
		}
		n := ref.ObjectNumber.Value()
		if sharedKinds[kind] && seen[n] == kind {
			return n, nil // the text layers' fonts, shared by the pages with text
		}
		if seen[n] != "" {
			return 0, fmt.Errorf("object %d used twice (as %s and %s)", n, seen[n], kind)
		}
		seen[n] = kind
		return n, nil
	}
	pagesRef, ok := root["Pages"]
	if !ok {
		return errors.New("a PDF with no page tree")
	}
	if _, err := mark(pagesRef, "page tree"); err != nil {
		return err
	}
	pages, err := x.DereferenceDict(pagesRef)
	if err != nil || pages == nil {
		return errors.New("a broken page tree")
	}
	if err := onlyKeys(pages, "page tree", "Type", "Kids", "Count"); err != nil {
		return err
	}
	kids, err := x.DereferenceArray(pages["Kids"])
	if err != nil || len(kids) == 0 {
		return errors.New("a page tree without pages")
	}
	images := make([]*types.StreamDict, len(kids))
	for i, k := range kids {
		im, err := verifyPage(x, k, mark)
		if err != nil {
			return fmt.Errorf("page %d: %v", i+1, err)
		}
		images[i] = im
	}
	if !decodePages {
		for i, im := range images {
			if err := verifyPageImage(im, false); err != nil {
				return fmt.Errorf("page %d: %v", i+1, err)
			}
		}
		return nil
	}
	// The images' data, decoded on every core: most of Verify's time.
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, im := range images {
		g.Go(func() (err error) {
			defer func() {
				if p := recover(); p != nil {
					err = fmt.Errorf("page %d: its image's decoder failed on it: %v", i+1, p)
				}
			}()
			if err := verifyPageImage(im, true); err != nil {
				return fmt.Errorf("page %d: %v", i+1, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for n, e := range x.Table {
		if n == 0 || e == nil || e.Free {
			continue
		}
		if seen[n] == "" && !isCatalog(x, n) {
			return fmt.Errorf("object %d is not part of any page", n)
		}
	}
	return nil
}

func isCatalog(x *model.XRefTable, n int) bool {
	return x.Root != nil && x.Root.ObjectNumber.Value() == n
}

func onlyKeys(d types.Dict, what string, keys ...string) error {
	for k := range d {
		ok := false
		for _, want := range keys {
			if k == want {
				ok = true
			}
		}
		if !ok {
			return fmt.Errorf("the %s has /%s", what, k)
		}
	}
	return nil
}

// verifyPage checks a page's objects and returns its image, whose data
// verifyPageImage checks.
func verifyPage(x *model.XRefTable, ref types.Object, mark func(types.Object, string) (int, error)) (*types.StreamDict, error) {
	if _, err := mark(ref, "page"); err != nil {
		return nil, err
	}
	d, err := x.DereferenceDict(ref)
	if err != nil || d == nil {
		return nil, errors.New("not a page")
	}
	if err := onlyKeys(d, "page", "Type", "Parent", "MediaBox", "Resources", "Contents"); err != nil {
		return nil, err
	}
	if t, _ := x.Dereference(d["Type"]); t != types.Name("Page") {
		return nil, errors.New("not a page")
	}
	res, ok := d["Resources"].(types.Dict)
	if !ok {
		return nil, errors.New("resources not inline")
	}
	if err := onlyKeys(res, "page's resources", "XObject", "Font"); err != nil {
		return nil, err
	}
	hasFont, hasWide := res["Font"] != nil, false
	if hasFont {
		var err error
		if hasWide, err = verifyFonts(x, res["Font"], mark); err != nil {
			return nil, err
		}
	}
	xo, ok := res["XObject"].(types.Dict)
	if !ok || len(xo) != 1 || xo["Im0"] == nil {
		return nil, errors.New("not exactly one image /Im0")
	}
	if _, err := mark(d["Contents"], "content stream"); err != nil {
		return nil, err
	}
	cs, _, err := x.DereferenceStreamDict(d["Contents"])
	if err != nil || cs == nil {
		return nil, errors.New("no content stream")
	}
	if err := verifyContent(cs, hasFont, hasWide); err != nil {
		return nil, err
	}
	if _, err := mark(xo["Im0"], "image"); err != nil {
		return nil, err
	}
	im, _, err := x.DereferenceStreamDict(xo["Im0"])
	if err != nil || im == nil {
		return nil, errors.New("no image")
	}
	return im, nil
}

// verifyPageImage checks an image XObject's dictionary and, with decode,
// that its data decodes to its declared size.
func verifyPageImage(im *types.StreamDict, decode bool) error {
	if err := onlyKeys(im.Dict, "image", "Type", "Subtype", "Width", "Height", "ColorSpace", "BitsPerComponent", "Filter", "DecodeParms", "Length"); err != nil {
		return err
	}
	if im.Dict["Subtype"] != types.Name("Image") {
		return errors.New("an XObject that is not an image")
	}
	w, _ := im.Dict["Width"].(types.Integer)
	h, _ := im.Dict["Height"].(types.Integer)
	bpc, _ := im.Dict["BitsPerComponent"].(types.Integer)
	if w < 1 || h < 1 || w > maxSide || h > maxSide {
		return fmt.Errorf("an image of %d × %d pixels", w, h)
	}
	colors := 0
	switch im.Dict["ColorSpace"] {
	case types.Name("DeviceGray"):
		colors = 1
	case types.Name("DeviceRGB"):
		colors = 3
	default:
		return errors.New("an image in a colour space other than DeviceGray or DeviceRGB")
	}
	if !(bpc == 8 || bpc == 1 && colors == 1) {
		return fmt.Errorf("an image of %d bits per component", bpc)
	}
	switch im.Dict["Filter"] {
	case types.Name("DCTDecode"):
		if im.Dict["DecodeParms"] != nil || bpc != 8 {
			return errors.New("a JPEG image with decoding parameters")
		}
		if !decode {
			return nil
		}
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(im.Raw))
		if err != nil {
			return fmt.Errorf("its JPEG image does not decode: %v", err)
		}
		if cfg.Width != int(w) || cfg.Height != int(h) {
			return errors.New("its JPEG image's size differs from the declared one")
		}
		// Its markers as for a .jpg of its own (no metadata, nothing after).
		return verifyJPEG(io.NewSectionReader(bytes.NewReader(im.Raw), 0, int64(len(im.Raw))), int64(len(im.Raw)), true)
	case types.Name("CCITTFaxDecode"):
		p, ok := im.Dict["DecodeParms"].(types.Dict)
		if !ok || bpc != 1 || colors != 1 {
			return errors.New("a fax image without its parameters")
		}
		if err := onlyKeys(p, "image's decoding parameters", "K", "Columns", "Rows"); err != nil {
			return err
		}
		if p["K"] != types.Integer(-1) || p["Columns"] != w || p["Rows"] != h {
			return errors.New("unexpected fax decoding parameters")
		}
		if !decode {
			return nil
		}
		return g4Exact(im.Raw, int(w), int(h))
	case types.Name("FlateDecode"):
		row := (int64(w)*int64(colors)*int64(bpc) + 7) / 8
		if im.Dict["DecodeParms"] != nil {
			return errors.New("unexpected decoding parameters")
		}
		if !decode {
			return nil
		}
		want := row * int64(h)
		n, err := inflateExact(bytes.NewReader(im.Raw), int64(len(im.Raw)), want, io.Discard)
		if err != nil {
			return fmt.Errorf("its image data does not inflate: %v", err)
		}
		if n != want {
			return fmt.Errorf("its image data is %d bytes, not the %d of its size", n, want)
		}
		return nil
	}
	return errors.New("an image with a filter other than DCTDecode, FlateDecode or CCITTFaxDecode")
}
