package transform

import (
	"bytes"
	"path/filepath"
	"strings"
)

// KindOf says which transformation a file's kind of content takes, from
// its name and first bytes (HeadSize of them), whatever tools are
// installed: ActionPDFOfImages for a PDF or an office document,
// ActionReencodeImage for an image, ActionCleanText for text, or
// ActionHold for content no transformation handles. A kiosk uses it to
// know which files its policy wants transformed, even where it has no
// renderer itself; it decides as Plan does, in the same order.
func KindOf(name string, head []byte) Action {
	ext := strings.ToLower(filepath.Ext(name))
	switch {
	case imageFormat(head) != "":
		return ActionReencodeImage
	case bytes.Contains(head[:min(len(head), 1024)], []byte("%PDF-")), ext == ".pdf":
		// Named .pdf, it is a document whatever its first bytes: readers
		// find a header past the first KiB, or repair a file without one.
		return ActionPDFOfImages
	case officeExts[ext] && (bytes.HasPrefix(head, []byte("PK\x03\x04")) || bytes.HasPrefix(head, []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")) ||
		ext == ".rtf" && bytes.HasPrefix(head, []byte("{\\rtf"))):
		return ActionPDFOfImages
	case textExts[ext] && looksText(head):
		return ActionCleanText
	}
	return ActionHold
}
