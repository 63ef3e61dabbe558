package main

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/dustin/go-humanize"

	"sluice/internal/pdfcheck/pdftest"
)

var transformBench = flag.Bool("transform", true, "measure sluice transform (issue 14) against a bare mutool draw")

// transformSection measures `sluice transform` (issue 14): PDF pages per
// second at 150 DPI against a bare `mutool draw -r 150` of the same file in
// the same run (the bar: ≥ 0.8× of the bare renderer, PRODUCT.md), the
// output's size against the input's for a text document (≤ 1.5×) and a
// scanned one, and images re-encoded per second. The text document is made
// by LibreOffice from plain text when it is installed (fonts embedded, as
// office documents are), else written here with an unembedded Helvetica
// (the smallest a text PDF can be: the hardest case for size).
func (b *bench) transformSection() bool {
	mutool, err := exec.LookPath("mutool")
	if err != nil {
		fatalf("mutool is not installed; run packaging/deps.sh bench, or -transform=false")
	}
	dir := filepath.Join(b.root, "transform")
	os.MkdirAll(dir, 0o755)
	text, textKind := b.textDocument(dir, 200)
	scan := filepath.Join(dir, "scan.pdf")
	os.WriteFile(scan, scanPDF(10), 0o644)
	photos := filepath.Join(dir, "photos")
	os.MkdirAll(photos, 0o755)
	var photoBytes int64
	for i := range 10 {
		p := filepath.Join(photos, fmt.Sprintf("IMG_%04d.jpg", i))
		var buf bytes.Buffer
		jpeg.Encode(&buf, photo(3000, 2000, uint64(i)), &jpeg.Options{Quality: 88})
		os.WriteFile(p, buf.Bytes(), 0o644)
		photoBytes += int64(buf.Len())
	}
	out := filepath.Join(dir, "out")
	transform := func(files ...string) run {
		reset(out)
		return timed(b.bin, append(append([]string{"transform"}, files...), "--out", out)...)
	}
	pages := pdfPages(text)
	var sl, bare []run
	for i := range *reps {
		if i%2 == 0 {
			sl, bare = append(sl, transform(text)), append(bare, timed(mutool, "draw", "-q", "-r", "150", text))
		} else {
			bare, sl = append(bare, timed(mutool, "draw", "-q", "-r", "150", text)), append(sl, transform(text))
		}
	}
	textOut := size(filepath.Join(out, strings.TrimSuffix(filepath.Base(text), ".pdf")+".pdf"))
	// For scale: the bare renderer writing every page as a PNG, as a
	// pixels-only converter without its own encoder would.
	pngs := filepath.Join(dir, "png")
	var toPNG []run
	for range *reps {
		reset(pngs)
		toPNG = append(toPNG, timed(mutool, "draw", "-q", "-r", "150", "-o", filepath.Join(pngs, "p%d.png"), text))
	}
	var scans, imgs []run
	for range *reps {
		scans = append(scans, transform(scan))
	}
	scanOut := size(filepath.Join(out, "scan.pdf"))
	files, _ := filepath.Glob(filepath.Join(photos, "*.jpg"))
	for range *reps {
		imgs = append(imgs, transform(files...))
	}
	s, m := median(sl), median(bare)
	speed := m.wall.Seconds() / s.wall.Seconds()
	textRatio := float64(textOut) / float64(size(text))
	scanRatio := float64(scanOut) / float64(size(scan))
	img := median(imgs)
	speedOK, sizeOK := speed >= 0.8, textRatio <= 1.5
	fmt.Println("Transform (issue 14), 150 DPI:")
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "measure\tresult\tbound\tverdict\t")
	fmt.Fprintf(tw, "%d-page text PDF (%s): pages/s\tsluice %.1f (%.2f s, peak RSS %s), bare mutool draw %.1f (%.2f s): %.2f×\t≥ 0.8×\t%s\t\n",
		pages, textKind, float64(pages)/s.wall.Seconds(), s.wall.Seconds(), humanize.IBytes(uint64(s.maxRS)),
		float64(pages)/m.wall.Seconds(), m.wall.Seconds(), speed, verdictOf(speedOK))
	fmt.Fprintf(tw, "  for scale: mutool draw to PNG files\t%.1f pages/s (%.2f s): sluice %.2f× as fast\t–\t–\t\n",
		float64(pages)/median(toPNG).wall.Seconds(), median(toPNG).wall.Seconds(), median(toPNG).wall.Seconds()/s.wall.Seconds())
	fmt.Fprintf(tw, "its size\t%s → %s: %.2f×\t≤ 1.5×\t%s\t\n", humanize.IBytes(uint64(size(text))), humanize.IBytes(uint64(textOut)), textRatio, verdictOf(sizeOK))
	fmt.Fprintf(tw, "10-page scanned PDF: size\t%s → %s: %.2f× (%.2f s)\t–\t–\t\n", humanize.IBytes(uint64(size(scan))), humanize.IBytes(uint64(scanOut)), scanRatio, median(scans).wall.Seconds())
	fmt.Fprintf(tw, "10 photos, 3000 × 2000 JPEG: re-encoded\t%.1f MB/s (%s in %.2f s)\t–\t–\t\n", float64(photoBytes)/1e6/img.wall.Seconds(), humanize.IBytes(uint64(photoBytes)), img.wall.Seconds())
	b.ocrRow(tw, dir, out)
	tw.Flush()
	return speedOK && sizeOK
}

// ocrPages is the length of the document the OCR row reads: tesseract
// takes two to three seconds of CPU a page of dense text.
const ocrPages = 20

// ocrRow measures transform with OCR on (transform.ocr, --ocr eng) on a
// text document of ocrPages pages, once, against the same without OCR:
// pages per second and the output's size. Informational: no bound. It
// says so and is left out when tesseract or its English is missing.
func (b *bench) ocrRow(tw *tabwriter.Writer, dir, out string) {
	eng, _ := filepath.Glob("/usr/share/tesseract-ocr/*/tessdata/eng.traineddata")
	if _, err := exec.LookPath("tesseract"); err != nil || len(eng) == 0 {
		fmt.Fprintf(tw, "OCR\tnot measured: tesseract-ocr and tesseract-ocr-eng are not installed (packaging/deps.sh bench)\t–\t–\t\n")
		return
	}
	odir := filepath.Join(dir, "ocr")
	os.MkdirAll(odir, 0o755)
	doc, _ := b.textDocument(odir, ocrPages)
	pages := pdfPages(doc)
	outName := filepath.Join(out, strings.TrimSuffix(filepath.Base(doc), ".pdf")+".pdf")
	reset(out)
	plain := timed(b.bin, "transform", doc, "--out", out)
	plainSize := size(outName)
	reset(out)
	ocr := timed(b.bin, "transform", doc, "--ocr", "eng", "--out", out)
	ocrSize := size(outName)
	fmt.Fprintf(tw, "%d-page text PDF with OCR (eng): pages/s\t%.2f (%.2f s, %.2f s a page; without OCR %.2f s), size %s → %s (+%.0f%%)\t–\t–\t\n",
		pages, float64(pages)/ocr.wall.Seconds(), ocr.wall.Seconds(), ocr.wall.Seconds()/float64(pages), plain.wall.Seconds(),
		humanize.IBytes(uint64(plainSize)), humanize.IBytes(uint64(ocrSize)), 100*(float64(ocrSize)/float64(plainSize)-1))
}

// textDocument returns a text PDF of about n pages: LibreOffice's
// rendering of plain text when soffice is installed, else one written
// here.
func (b *bench) textDocument(dir string, n int) (path, kind string) {
	rng := rand.New(rand.NewPCG(1, 2))
	words := strings.Fields("the transfer station checks every file before it releases anything into the network and records what it did for the auditor")
	line := func() string {
		var l []string
		for range 12 {
			l = append(l, words[rng.IntN(len(words))])
		}
		return strings.Join(l, " ")
	}
	if soffice, err := exec.LookPath("soffice"); err == nil {
		txt := filepath.Join(dir, "report.txt")
		var t strings.Builder
		for p := range n {
			fmt.Fprintf(&t, "Section %d\n\n", p+1)
			for range 6 {
				for range 6 {
					t.WriteString(line() + " ")
				}
				t.WriteString("\n\n")
			}
		}
		os.WriteFile(txt, []byte(t.String()), 0o644)
		mustRun(soffice, "--headless", "-env:UserInstallation=file://"+filepath.Join(dir, "lo-profile"), "--convert-to", "pdf", "--outdir", dir, txt)
		return filepath.Join(dir, "report.pdf"), "LibreOffice, fonts embedded"
	}
	path = filepath.Join(dir, "report.pdf")
	var objs []string
	objs = append(objs, "<< /Type /Catalog /Pages 2 0 R >>", "", "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	var kids []string
	for range n {
		var c strings.Builder
		c.WriteString("BT /F1 10 Tf 12 TL 56 790 Td\n")
		for range 50 {
			fmt.Fprintf(&c, "(%s) Tj T*\n", line())
		}
		c.WriteString("ET\n")
		kids = append(kids, fmt.Sprintf("%d 0 R", len(objs)+1))
		objs = append(objs, fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>", len(objs)+2))
		objs = append(objs, fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", c.Len(), c.String()))
	}
	objs[1] = fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), n)
	os.WriteFile(path, writeObjects(objs, nil), 0o644)
	return path, "unembedded Helvetica"
}

// scanPDF is a PDF of n pages, each one full-page photograph (JPEG), as a
// scanner makes.
func scanPDF(n int) []byte {
	var buf bytes.Buffer
	jpeg.Encode(&buf, photo(1240, 1754, 99), &jpeg.Options{Quality: 80})
	objs := []string{"<< /Type /Catalog /Pages 2 0 R >>", ""}
	streams := map[int][]byte{}
	var kids []string
	for range n {
		page := len(objs) + 1
		kids = append(kids, fmt.Sprintf("%d 0 R", page))
		objs = append(objs, fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /S %d 0 R >> >> /Contents %d 0 R >>", page+2, page+1))
		c := "q 595 0 0 842 0 0 cm /S Do Q"
		objs = append(objs, fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(c), c))
		objs = append(objs, fmt.Sprintf("<< /Type /XObject /Subtype /Image /Width 1240 /Height 1754 /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode /Length %d >>", buf.Len()))
		streams[len(objs)] = buf.Bytes()
	}
	objs[1] = fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), n)
	return writeObjects(objs, streams)
}

// writeObjects writes a PDF of objects 1…len(objs); streams[num] is the
// data of object num's stream, after its dictionary.
func writeObjects(objs []string, streams map[int][]byte) []byte {
	d := pdftest.NewDoc("1.4")
	for i, o := range objs {
		if s, ok := streams[i+1]; ok {
			o += "\nstream\n" + string(s) + "\nendstream"
		}
		d.Obj(i+1, o)
	}
	return d.Table(len(objs)+1, "")
}

// photo is a w × h picture of smooth gradients and sensor-like noise.
func photo(w, h int, seed uint64) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(seed, 4))
	for y := range h {
		for x := range w {
			n := rng.IntN(24)
			img.SetRGBA(x, y, color.RGBA{uint8(x*255/w + n/2), uint8(y*255/h + n/3), uint8((x+y)*127/(w+h) + n), 255})
		}
	}
	return img
}

// pdfPages asks mutool how many pages a PDF has.
func pdfPages(path string) int {
	out := mustRun("mutool", "info", path)
	var n int
	for _, l := range strings.Split(out, "\n") {
		if _, err := fmt.Sscanf(l, "Pages: %d", &n); err == nil {
			return n
		}
	}
	fatalf("mutool info %s: no page count", path)
	return 0
}

func size(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		fatalf("%v", err)
	}
	return fi.Size()
}
