package inspect

import (
	"fmt"
	"path"
	"strings"

	"github.com/gabriel-vasile/mimetype"
)

// extTypes maps a file name's extension to the MIME types its content may
// have (each one or a descendant in mimetype's tree). An extension not
// listed is judged by the other direction only: content of a known type
// must carry one of that type's extensions.
var extTypes = map[string][]string{
	".pdf":    {"application/pdf"},
	".doc":    {"application/msword", "application/x-ole-storage"},
	".dot":    {"application/msword", "application/x-ole-storage"},
	".xls":    {"application/vnd.ms-excel", "application/x-ole-storage"},
	".ppt":    {"application/vnd.ms-powerpoint", "application/x-ole-storage"},
	".msg":    {"application/vnd.ms-outlook", "application/x-ole-storage"},
	".docx":   {"application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
	".docm":   {"application/vnd.openxmlformats-officedocument.wordprocessingml.document", "application/zip"},
	".dotx":   {"application/vnd.openxmlformats-officedocument.wordprocessingml.document", "application/zip"},
	".xlsx":   {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
	".xlsm":   {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/zip"},
	".pptx":   {"application/vnd.openxmlformats-officedocument.presentationml.presentation"},
	".pptm":   {"application/vnd.openxmlformats-officedocument.presentationml.presentation", "application/zip"},
	".odt":    {"application/vnd.oasis.opendocument.text"},
	".ods":    {"application/vnd.oasis.opendocument.spreadsheet"},
	".odp":    {"application/vnd.oasis.opendocument.presentation"},
	".odg":    {"application/vnd.oasis.opendocument.graphics"},
	".epub":   {"application/epub+zip"},
	".rtf":    {"text/rtf"},
	".zip":    {"application/zip"},
	".tar":    {"application/x-tar"},
	".gz":     {"application/gzip"},
	".tgz":    {"application/gzip"},
	".bz2":    {"application/x-bzip2"},
	".xz":     {"application/x-xz"},
	".zst":    {"application/zstd"},
	".7z":     {"application/x-7z-compressed"},
	".rar":    {"application/vnd.rar"},
	".png":    {"image/png"},
	".jpg":    {"image/jpeg"},
	".jpeg":   {"image/jpeg"},
	".jfif":   {"image/jpeg"},
	".gif":    {"image/gif"},
	".bmp":    {"image/bmp"},
	".tif":    {"image/tiff"},
	".tiff":   {"image/tiff"},
	".webp":   {"image/webp"},
	".ico":    {"image/x-icon"},
	".svg":    {"image/svg+xml"},
	".heic":   {"image/heic", "image/heif"},
	".mp3":    {"audio/mpeg"},
	".wav":    {"audio/wav"},
	".flac":   {"audio/flac"},
	".ogg":    {"application/ogg"},
	".mp4":    {"video/mp4", "audio/mp4"},
	".m4a":    {"audio/x-m4a", "audio/mp4"},
	".mov":    {"video/quicktime"},
	".mkv":    {"video/matroska"},
	".webm":   {"video/webm"},
	".avi":    {"video/x-msvideo"},
	".html":   {"text/html", "application/xhtml+xml"},
	".htm":    {"text/html", "application/xhtml+xml"},
	".xml":    {"text/xml"},
	".json":   {"application/json"},
	".exe":    {"application/vnd.microsoft.portable-executable"},
	".dll":    {"application/vnd.microsoft.portable-executable"},
	".msi":    {"application/x-ms-installer"},
	".lnk":    {"application/x-ms-shortcut"},
	".sqlite": {"application/vnd.sqlite3"},
}

// textExts name text: any text content may carry one (a CSV named .txt is
// not a disguise), and only text may.
var textExts = set(".txt", ".text", ".csv", ".tsv", ".log", ".md", ".markdown", ".rst", ".adoc", ".ini", ".cfg", ".conf",
	".toml", ".yaml", ".yml", ".json", ".xml", ".ndjson", ".jsonl", ".sql", ".c", ".h", ".cc", ".cpp", ".hpp", ".go", ".rs",
	".java", ".cs", ".kt", ".swift", ".ts", ".css", ".tex", ".bib", ".srt", ".vtt", ".ics", ".vcf", ".properties", ".gitignore",
	".diff", ".patch", ".asc", ".pem", ".crt", ".pub", ".sig", ".sha256", ".md5", ".nfo", ".readme")

// isA says whether m is x or descends from it.
func isA(m *mimetype.MIME, x string) bool {
	for p := m; p != nil; p = p.Parent() {
		if is(p, x) {
			return true
		}
	}
	return false
}

// checkExtension holds a file whose name and content disagree, in both
// directions: a name promising a type its content is not (a PE named
// report.pdf, a ZIP named .pdf), and content of a known type under a name
// that hides it (a PDF named notes.dat, or with no extension at all).
func checkExtension(name string, m *mimetype.MIME, fam string) (string, bool) {
	ext := strings.ToLower(path.Ext(name))
	if strings.Contains(ext, " ") {
		ext = ""
	}
	isText := isA(m, "text/plain")
	if want, ok := extTypes[ext]; ok {
		for _, w := range want {
			if isA(m, w) {
				return "", true
			}
		}
		if textExts[ext] && isText {
			return "", true
		}
		return fmt.Sprintf("named %s but its content is %s", ext, describe(m, fam)), false
	}
	if textExts[ext] {
		if isText {
			return "", true
		}
		return fmt.Sprintf("named %s (text) but its content is %s", ext, describe(m, fam)), false
	}
	if isText || is(m, "application/octet-stream") {
		return "", true // text, or a type Sluice cannot tell: no claim to check
	}
	if !hidingFamilies[fam] {
		// An image, a sound or a font under a name that does not say so
		// opens in nothing dangerous; only what runs, opens other files
		// or hides them must say what it is.
		return "", true
	}
	if ext != "" && (ext == m.Extension() || extMatches(ext, m)) {
		return "", true
	}
	if ext == "" {
		return fmt.Sprintf("has no extension but its content is %s", describe(m, fam)), false
	}
	return fmt.Sprintf("named %s but its content is %s, whose extension is %s", ext, describe(m, fam), m.Extension()), false
}

// extMatches says whether ext is one of the known extensions of m or of
// an ancestor that is not a generic container.
func extMatches(ext string, m *mimetype.MIME) bool {
	for p := m; p != nil && !is(p, "application/octet-stream"); p = p.Parent() {
		if p.Extension() == ext {
			return true
		}
	}
	return false
}

func describe(m *mimetype.MIME, fam string) string {
	return fmt.Sprintf("%s (%s)", m.String(), fam)
}

// checkName holds names made to mislead: a document's extension followed
// by a program's ("invoice.pdf.exe"), or runs of spaces that push the real
// extension out of sight ("invoice.pdf          .exe"). The bundle format
// already refuses bidirectional controls, invisible characters, trailing
// dots and spaces, and names that differ only by case or look-alikes.
func checkName(name string) (string, bool) {
	base := path.Base(name)
	last := strings.ToLower(path.Ext(base))
	if runnableExts[last] {
		inner := strings.ToLower(path.Ext(strings.TrimSuffix(base, path.Ext(base))))
		inner = strings.TrimRight(inner, " ")
		if _, doc := extTypes[inner]; (doc || textExts[inner]) && !runnableExts[inner] {
			return fmt.Sprintf("a %s hides behind %s: a double extension", last, inner), false
		}
	}
	if strings.Contains(base, "   ") {
		return "runs of spaces in the name can push its real extension out of sight", false
	}
	return "", true
}

// hidingFamilies are the families whose content must carry its own
// extension: what runs, what a reader acts on, what holds other files.
var hidingFamilies = map[string]bool{FamilyExecutable: true, FamilyScript: true, FamilyShortcut: true, FamilyDiskImage: true,
	FamilyDocument: true, FamilyArchive: true, FamilyMarkup: true}
