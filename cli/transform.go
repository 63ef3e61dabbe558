package cli

import (
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/dustin/go-humanize"

	"sluice/app"
	"sluice/transfer/transform"
)

// runTransform: sluice transform FILE... --out DIR [--text-encoding NAME]
// [--ocr LANGS].
// Per file, what was done (action, tool and version, original → output
// SHA-256 and sizes, pages, seconds) or why it was not transformed.
func runTransform(e *env, args []string) error {
	fs := e.flags("transform")
	out := fs.String("out", "", "the `DIR` the new files are written into (made if missing; existing files are never replaced)")
	enc := fs.String("text-encoding", "", "the `NAME` of the encoding of text files that are not UTF-8, such as windows-1252")
	ocr := fs.String("ocr", "", "read the text of documents' pages with tesseract in `LANGS` (such as eng or eng+deu) and keep it as an invisible, searchable layer")
	pos, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	if *out == "" || len(pos) == 0 {
		return usagef("usage: sluice transform FILE... --out DIR")
	}
	_, err = app.Transform(e.ctx, pos, *out, transform.Config{TextEncoding: *enc, OCR: *ocr}, func(r app.Transformed) {
		name := filepath.Base(r.Path)
		if r.Err != nil {
			fmt.Fprintf(e.stdout, "%s: %s\n", name, strings.TrimPrefix(r.Err.Error(), "transform: "+name+": "))
			return
		}
		res := r.Result
		fmt.Fprintf(e.stdout, "%s: %s by %s %s", name, res.Action, res.Tool, res.ToolVersion)
		if res.Pages > 0 {
			fmt.Fprintf(e.stdout, ", %s", plural(res.Pages, "page"))
		}
		if res.TextPages > 0 {
			fmt.Fprintf(e.stdout, " (%d with text)", res.TextPages)
		}
		fmt.Fprintf(e.stdout, ", %.2f s\n", res.Duration.Seconds())
		fmt.Fprintf(e.stdout, "  original %s  %s (%s)\n", hex.EncodeToString(res.OriginalSHA256[:]), humanize.IBytes(uint64(res.OriginalSize)), name)
		fmt.Fprintf(e.stdout, "  output   %s  %s (%s)\n", hex.EncodeToString(res.OutputSHA256[:]), humanize.IBytes(uint64(res.OutputSize)), res.Output)
		if res.Sidecar != "" {
			fmt.Fprintf(e.stdout, "  links    %s listed in %s\n", plural(res.Links, "link"), res.Sidecar)
		}
		for _, n := range res.Notes {
			fmt.Fprintf(e.stdout, "  note     %s\n", n)
		}
	})
	return err
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
