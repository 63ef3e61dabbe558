// Package transform disarms documents and images by rebuilding them in a
// simple form (issue 14, "Transform, then verify"): a PDF or an office
// document becomes a PDF that holds only one image per page (and, with
// Config.OCR, an invisible text layer of the words tesseract reads in
// it, so the PDF stays searchable); an image is
// decoded and encoded afresh; a text file is checked as UTF-8 and cleaned
// of control, bidirectional formatting and tag characters. What a sender could hide in the original (scripts,
// actions, embedded files, metadata, a polyglot tail) does not survive,
// because nothing of the original is copied: only its pixels or its text.
//
// # Isolation
//
// Every parser of the original runs outside the station's process, in a
// child bounded in memory (RLIMIT_DATA), CPU time (RLIMIT_CPU) and wall
// time (Config.Timeout), killed with its parent: the renderers (mutool
// draw, pdftoppm as the fallback), LibreOffice, and Sluice's own image
// decoders and PDF link reader, which run in the station's executable
// started again as a worker (Serve). Unless Config.NoSandbox, each child
// also runs under bubblewrap with no network, a read-only view
// of /usr and its input, no other file of the station's, and an empty
// writable folder for its output. A crash, a timeout or an output that
// fails Verify means the file was not transformed: Transform returns an
// error and leaves nothing in the output folder, and the caller holds the
// original.
//
// # Verification
//
// Verify is the receiving side's check that a file claimed as transformed
// is in its simple form, with parsers independent of the renderers that
// made it (pdfcpu and Go's image decoders). Transform runs it on its own
// output before it keeps it (without decoding again the page images it has
// just encoded from pixels).
//
// # Programs that use this package
//
// A program whose Transformer runs Sluice's own workers must call Serve
// first in main (and in TestMain), as it does for internal/pdfcheck.
package transform

import (
	"errors"
	"sync"
	"time"
)

// Action is what Transform does, or would do, with one file.
type Action string

const (
	// ActionKeep is a policy's choice to pass a file as it is. Plan and
	// Transform never return it; it is named here so that policies and
	// custody records use one vocabulary.
	ActionKeep Action = "keep"
	// ActionPDFOfImages renders a PDF (or an office document, through
	// LibreOffice) page by page and rebuilds a PDF of one image per page.
	ActionPDFOfImages Action = "pdf-of-images"
	// ActionReencodeImage decodes an image and encodes its pixels afresh.
	ActionReencodeImage Action = "re-encode-image"
	// ActionCleanText checks text as UTF-8 and removes control characters.
	ActionCleanText Action = "clean-text"
	// ActionHold: the file cannot be transformed (a type with no
	// transformation, or its tool is missing); the caller holds it.
	ActionHold Action = "hold"
)

// Errors Transform wraps, so a caller can tell why a file was held.
var (
	// ErrUnsupported: no transformation exists for the file's type.
	ErrUnsupported = errors.New("no transformation for this type of file")
	// ErrNoTool: the transformation needs a program that is not installed
	// (the error names its Debian package).
	ErrNoTool = errors.New("the program that transforms this type is not installed")
	// ErrNotSimple is wrapped by Verify's errors: the file is not in the
	// simple form Transform writes.
	ErrNotSimple = errors.New("not in the simple form of a transformed file")
)

// Result is what Transform did with one file. Sizes are in bytes; hashes
// are SHA-256 of the whole file.
type Result struct {
	Action Action
	// Output is the path of the new file in the output folder.
	Output         string
	OutputSHA256   [32]byte
	OutputSize     int64
	OriginalSHA256 [32]byte
	OriginalSize   int64
	// Tool and ToolVersion name the program that parsed the original:
	// "mutool" "1.21.1", "pdftoppm" "22.12.0", "soffice" "7.4.7.2" (then
	// mutool or pdftoppm rendered its PDF: see Notes), or "sluice" and
	// Go's version for images and text.
	Tool        string
	ToolVersion string
	Duration    time.Duration
	// Pages is the number of pages of a rebuilt PDF, else 0.
	Pages int
	// Sidecar is the path of STEM.links.txt, the links (/URI actions)
	// found in a document before it was rendered, one per line with its
	// page; "" when the document had none. Its hash and size are
	// SidecarSHA256 and SidecarSize.
	Sidecar       string
	SidecarSHA256 [32]byte
	SidecarSize   int64
	// Links is the number of links listed in Sidecar.
	Links int
	// TextPages is how many pages of a rebuilt PDF carry an invisible
	// text layer (Config.OCR): pages where tesseract read at least one
	// word. A page where it failed has none, and Notes say so.
	TextPages int
	// OCRFailed is how many pages tesseract failed on (kept without text).
	OCRFailed int
	// Notes say, one line each, what else a reviewer should know (pages
	// kept as JPEG, a fallback renderer, links that could not be read).
	Notes []string
}

// Config sets a Transformer's limits. The zero value of each field means
// its default.
type Config struct {
	// MaxPixels bounds one image or one rendered page, in pixels (width ×
	// height); larger ones are refused before they are decoded. Default
	// 100e6 (a 10,000 × 10,000 image, Dangerzone's per-dimension bound).
	MaxPixels int64
	// MaxPages bounds a document's pages. Default 10,000 (Dangerzone's
	// MAX_PAGES); at most 100,000 (New refuses more).
	MaxPages int
	// DPI is the rendering resolution of pages. Default 150 (Dangerzone's
	// DEFAULT_DPI): an A4 page is 1240 × 1754 pixels.
	DPI int
	// NoSandbox runs the children without bubblewrap (still with their
	// limits). Only for tests on machines where bwrap cannot run; a
	// Transformer with the sandbox on refuses to start without bwrap.
	NoSandbox bool
	// Workers is how many renderer processes share one PDF's pages.
	// Default: the number of CPUs. Each Transform call of a PDF starts its
	// own: a caller transforming files concurrently multiplies them (and
	// MemoryLimit) by its concurrency.
	Workers int
	// Timeout is how long one stage of a file may take (a worker, the
	// LibreOffice conversion, the rendering of all pages), given its
	// pages (0 when not known yet, as before rendering) and its size in
	// bytes. Default 60 s + 1 s per page + 10 s per MiB, after
	// Dangerzone's proportional timeouts (10 s per page or MiB, PR #332),
	// scaled to mutool's speed.
	Timeout func(pages int, size int64) time.Duration
	// MemoryLimit caps each child's data segment, in bytes. Default 1 GiB.
	MemoryLimit int64
	// TempDir holds intermediate files (a converted office document,
	// encoded pages waiting for their turn). Default os.TempDir().
	TempDir string
	// TextEncoding is the declared encoding of text files that are not
	// UTF-8 (an IANA or WHATWG name such as "windows-1252"); text is then
	// converted to UTF-8. Default: none; text that is not UTF-8 (nor
	// UTF-16 with a byte-order mark) is not transformed.
	TextEncoding string
	// OCR, when not "", is a tesseract language list ("eng", "eng+deu"):
	// every rendered page is also read by tesseract and the words it
	// finds are written into the page as an invisible text layer, so the
	// rebuilt PDF stays searchable (see ocr.go). Each language needs its
	// traineddata (Debian: tesseract-ocr-LANG; CheckOCR). Default "": off.
	OCR string
	// Tools overrides where a program is found: tool name ("mutool",
	// "pdftoppm", "soffice", "tesseract", "bwrap", "prlimit") → path; an empty path
	// switches the tool off (as if missing). Tests point a renderer at a
	// script that hangs or crashes, or switch mutool off to test pdftoppm.
	Tools map[string]string
}

// Transformer transforms files with the tools it found when it was made.
// Its methods may be called from several goroutines at once.
type Transformer struct {
	cfg   Config
	paths map[string]string // tool → absolute path, found ones only
	// vers: tool → version, each asked the first time it is needed
	// (LibreOffice takes a fifth of a second and a core to say its own).
	vmu  sync.Mutex
	vers map[string]string
	// missing says why each absent tool is absent (its Debian package).
	missing map[string]string
}
