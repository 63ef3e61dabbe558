package transform

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"

	_ "golang.org/x/image/bmp" // registers BMP, TIFF and WebP with image.Decode
	_ "golang.org/x/image/tiff"
	_ "golang.org/x/image/webp"
)

// jpegQuality is the quality of re-encoded JPEGs: high enough that a
// photograph's second generation shows no new artefacts (libjpeg's own
// "high quality" range starts at 90).
const jpegQuality = 90

// imageFormat says what an image's header is, from its first bytes: the
// format name image.Decode would register, or "".
func imageFormat(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("\xff\xd8\xff")):
		return "jpeg"
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case bytes.HasPrefix(head, []byte("GIF87a")), bytes.HasPrefix(head, []byte("GIF89a")):
		return "gif"
	case bytes.HasPrefix(head, []byte("BM")) && bmpHeader(head):
		return "bmp"
	case bytes.HasPrefix(head, []byte("II*\x00")), bytes.HasPrefix(head, []byte("MM\x00*")):
		return "tiff"
	case len(head) >= 12 && bytes.Equal(head[:4], []byte("RIFF")) && bytes.Equal(head[8:12], []byte("WEBP")):
		return "webp"
	}
	return ""
}

// bmpHeader says whether head, after "BM", goes on as some BMP reader
// reads a BMP: "BM" alone starts one random file in 65,536. Readers do
// not agree on the second header's size (Microsoft lists 12, 40, 52, 56,
// 108 and 124; ImageMagick reads any from 40 to 124, Firefox any from 16
// to 64, Chromium's Skia any from 12), so any size from 12 is taken, up to
// 16 MiB; but every reader needs the bits per pixel that header gives,
// and they are one of a few.
func bmpHeader(head []byte) bool {
	if len(head) < 18 {
		return false
	}
	size := binary.LittleEndian.Uint32(head[14:18])
	at := 28 // BITMAPINFOHEADER and the rest: biBitCount
	if size < 16 {
		at = 24 // BITMAPCOREHEADER: bcBitCount
	}
	if size < 12 || size > 16<<20 || len(head) < at+2 {
		return false
	}
	switch binary.LittleEndian.Uint16(head[at:]) {
	case 0, 1, 2, 4, 8, 16, 24, 32, 48, 64: // 0: the pixels are a JPEG or PNG
		return true
	}
	return false
}

// outputFormat is the format an image of format in is re-encoded to:
// JPEG stays JPEG and a lossy WebP becomes one (encoding a photograph
// losslessly would multiply its size); everything else becomes PNG,
// which keeps every pixel.
func outputFormat(in string, head []byte) string {
	switch in {
	case "jpeg":
		return "jpeg"
	case "webp":
		// A lossy WebP's first chunk is "VP8 " (or "VP8X" then "VP8 "
		// further on: taken as lossy too unless it says VP8L).
		if len(head) >= 16 && string(head[12:16]) == "VP8L" {
			return "png"
		}
		return "jpeg"
	}
	return "png"
}

// reencodeImage is the image worker: it checks the image's dimensions
// against maxPixels before decoding it, decodes it, and writes a reply
// line then the pixels encoded afresh (no metadata, no trailing data, no
// second frame).
func reencodeImage(in *os.File, maxPixels int64, out io.Writer) error {
	br := bufio.NewReaderSize(in, 64<<10)
	head, _ := br.Peek(32)
	in0 := imageFormat(head)
	if in0 == "" {
		return fmt.Errorf("not an image Sluice can read (JPEG, PNG, GIF, BMP, TIFF or WebP)")
	}
	cfg, format, err := image.DecodeConfig(br)
	if err != nil {
		return fmt.Errorf("the %s image does not decode: %v", in0, err)
	}
	if format != in0 {
		return fmt.Errorf("the image says it is %s but decodes as %s", in0, format)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return fmt.Errorf("the image has no pixels (%d × %d)", cfg.Width, cfg.Height)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > maxPixels {
		return fmt.Errorf("the image is %d × %d pixels, more than the %d million allowed (a decompression bomb?)", cfg.Width, cfg.Height, maxPixels/1e6)
	}
	if _, err := in.Seek(0, io.SeekStart); err != nil {
		return err
	}
	br.Reset(in)
	var notes []string
	var img image.Image
	if format == "gif" {
		g, err := gif.DecodeAll(br)
		if err != nil {
			return fmt.Errorf("the gif image does not decode: %v", err)
		}
		if len(g.Image) == 0 {
			return fmt.Errorf("the gif image has no frame")
		}
		if len(g.Image) > 1 {
			notes = append(notes, fmt.Sprintf("an animated GIF: only the first of its %d frames is kept", len(g.Image)))
		}
		img = g.Image[0]
		if b := img.Bounds(); b.Dx() != g.Config.Width || b.Dy() != g.Config.Height || b.Min != (image.Point{}) {
			// A frame smaller than the screen: draw it where it stands.
			full := image.NewPaletted(image.Rect(0, 0, g.Config.Width, g.Config.Height), g.Image[0].Palette)
			for y := b.Min.Y; y < b.Max.Y; y++ {
				for x := b.Min.X; x < b.Max.X; x++ {
					full.SetColorIndex(x, y, g.Image[0].ColorIndexAt(x, y))
				}
			}
			img = full
		}
	} else {
		img, _, err = image.Decode(br)
		if err != nil {
			return fmt.Errorf("the %s image does not decode: %v", format, err)
		}
	}
	if format == "jpeg" {
		if _, err := in.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if o := exifOrientation(in); o != 1 {
			img = orient(img, o)
			notes = append(notes, fmt.Sprintf("turned upright as its EXIF orientation (%d) said, since EXIF is dropped", o))
		}
	}
	to := outputFormat(format, head)
	if err := json.NewEncoder(out).Encode(workerReply{Format: to, Notes: notes}); err != nil {
		return err
	}
	switch to {
	case "jpeg":
		return jpeg.Encode(out, img, &jpeg.Options{Quality: jpegQuality})
	default:
		return (&png.Encoder{CompressionLevel: png.DefaultCompression}).Encode(out, img)
	}
}

// transformImage re-encodes an image in the image worker.
func (t *Transformer) transformImage(ctx context.Context, f *os.File, size int64, name string, o *outputs, res *Result) error {
	head := make([]byte, 32)
	n, _ := f.ReadAt(head, 0)
	to := outputFormat(imageFormat(head[:n]), head[:n])
	outName := stem(name) + ".png"
	if to == "jpeg" {
		outName = stem(name) + ".jpg"
		if e := strings.ToLower(filepath.Ext(name)); e == ".jpeg" || e == ".jpg" || e == ".jpe" {
			outName = name
		}
	} else if strings.EqualFold(filepath.Ext(name), ".png") {
		outName = name
	}
	out, err := o.create(outName)
	if err != nil {
		return err
	}
	out.ownPixels = true
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	rep, err := t.worker(ctx, "image", workerOpts{MaxPixels: t.cfg.MaxPixels}, f, size, out)
	if err != nil {
		return err
	}
	if rep.Format != to {
		return fmt.Errorf("the image worker wrote %s, not %s", rep.Format, to)
	}
	res.Tool, res.ToolVersion = "sluice", t.version("sluice")
	res.Notes = append(res.Notes, rep.Notes...)
	return nil
}
