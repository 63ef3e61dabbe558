package inspect

import (
	"bytes"
	"path"
	"strings"
	"sync"

	"github.com/gabriel-vasile/mimetype"
)

// Type families, the names a policy's allow and block lists use.
const (
	FamilyDocument   = "document"   // PDF, Office, OpenDocument, RTF, e-books
	FamilyImage      = "image"      // raster and vector images (SVG is markup)
	FamilyText       = "text"       // plain text, CSV, JSON, XML and the like
	FamilyMarkup     = "markup"     // HTML, XHTML, SVG: text a browser can run scripts in
	FamilyArchive    = "archive"    // zip, tar, gzip, 7z, rar, …
	FamilyAudio      = "audio"      //
	FamilyVideo      = "video"      //
	FamilyFont       = "font"       //
	FamilyExecutable = "executable" // ELF, PE, Mach-O, MSI, Java, WebAssembly, Flash, compiled Python, CHM
	FamilyScript     = "script"     // shell, PowerShell, batch, VBScript, JScript, HTA, Python, Perl, …
	FamilyShortcut   = "shortcut"   // .lnk, .url, .desktop, .scf
	FamilyDiskImage  = "disk-image" // ISO 9660, VHD, VHDX, VMDK, QCOW2, DMG
	FamilyData       = "data"       // anything else: a type Sluice does not know
)

// Families lists every family, for policy validation and messages.
var Families = []string{FamilyDocument, FamilyImage, FamilyText, FamilyMarkup, FamilyArchive, FamilyAudio, FamilyVideo,
	FamilyFont, FamilyExecutable, FamilyScript, FamilyShortcut, FamilyDiskImage, FamilyData}

// DefaultBlock is the families a new policy holds: what runs, or mounts,
// when opened (the defaults of the kiosk policy issue, after CIRCLean's
// list of dangerous types).
var DefaultBlock = []string{FamilyExecutable, FamilyScript, FamilyShortcut, FamilyDiskImage}

// mimeFamilies maps a MIME type (or an ancestor in mimetype's tree) to its
// family; the nearest match wins.
var mimeFamilies = map[string]string{
	"application/vnd.microsoft.portable-executable": FamilyExecutable,
	"application/x-elf":                             FamilyExecutable,
	"application/x-mach-binary":                     FamilyExecutable,
	"application/x-ms-installer":                    FamilyExecutable,
	"application/java-archive":                      FamilyExecutable,
	"application/vnd.android.package-archive":       FamilyExecutable,
	"application/x-java-applet":                     FamilyExecutable,
	"application/wasm":                              FamilyExecutable,
	"application/x-shockwave-flash":                 FamilyExecutable,
	"application/x-bytecode.python":                 FamilyExecutable,
	"application/vnd.ms-htmlhelp":                   FamilyExecutable,
	"application/x-chrome-extension":                FamilyExecutable,
	"application/vnd.debian.binary-package":         FamilyExecutable,
	"application/x-rpm":                             FamilyExecutable,
	"application/x-installshield":                   FamilyExecutable,
	"application/x-ms-shortcut":                     FamilyShortcut,
	"text/x-php":                                    FamilyScript,
	"text/javascript":                               FamilyScript,
	"text/x-lua":                                    FamilyScript,
	"text/x-perl":                                   FamilyScript,
	"text/x-python":                                 FamilyScript,
	"text/x-ruby":                                   FamilyScript,
	"text/x-tcl":                                    FamilyScript,
	"text/html":                                     FamilyMarkup,
	"application/xhtml+xml":                         FamilyMarkup,
	"image/svg+xml":                                 FamilyMarkup,
	"application/pdf":                               FamilyDocument,
	"application/vnd.fdf":                           FamilyDocument,
	"application/postscript":                        FamilyDocument,
	"text/rtf":                                      FamilyDocument,
	"application/msword":                            FamilyDocument,
	"application/vnd.ms-excel":                      FamilyDocument,
	"application/vnd.ms-powerpoint":                 FamilyDocument,
	"application/vnd.ms-publisher":                  FamilyDocument,
	"application/vnd.ms-outlook":                    FamilyDocument,
	"application/x-ole-storage":                     FamilyDocument,
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document":   FamilyDocument,
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":         FamilyDocument,
	"application/vnd.openxmlformats-officedocument.presentationml.presentation": FamilyDocument,
	"application/vnd.ms-visio.drawing.main+xml":                                 FamilyDocument,
	"application/vnd.oasis.opendocument.text":                                   FamilyDocument,
	"application/vnd.oasis.opendocument.text-template":                          FamilyDocument,
	"application/vnd.oasis.opendocument.spreadsheet":                            FamilyDocument,
	"application/vnd.oasis.opendocument.spreadsheet-template":                   FamilyDocument,
	"application/vnd.oasis.opendocument.presentation":                           FamilyDocument,
	"application/vnd.oasis.opendocument.presentation-template":                  FamilyDocument,
	"application/vnd.oasis.opendocument.graphics":                               FamilyDocument,
	"application/vnd.oasis.opendocument.graphics-template":                      FamilyDocument,
	"application/vnd.oasis.opendocument.formula":                                FamilyDocument,
	"application/vnd.oasis.opendocument.chart":                                  FamilyDocument,
	"application/vnd.sun.xml.calc":                                              FamilyDocument,
	"application/epub+zip":                                                      FamilyDocument,
	"application/x-mobipocket-ebook":                                            FamilyDocument,
	"application/vnd.wordperfect":                                               FamilyDocument,
	"application/onenote":                                                       FamilyDocument,
	"application/x-msaccess":                                                    FamilyDocument,
	"application/vnd.lotus-1-2-3":                                               FamilyDocument,
	"image/vnd.djvu":                                                            FamilyDocument,
	"application/zip":                                                           FamilyArchive,
	"application/x-tar":                                                         FamilyArchive,
	"application/gzip":                                                          FamilyArchive,
	"application/x-bzip2":                                                       FamilyArchive,
	"application/x-xz":                                                          FamilyArchive,
	"application/zstd":                                                          FamilyArchive,
	"application/lzip":                                                          FamilyArchive,
	"application/x-7z-compressed":                                               FamilyArchive,
	"application/vnd.rar":                                                       FamilyArchive,
	"application/vnd.ms-cab-compressed":                                         FamilyArchive,
	"application/x-archive":                                                     FamilyArchive,
	"application/x-cpio":                                                        FamilyArchive,
	"application/x-xar":                                                         FamilyArchive,
	"application/zlib":                                                          FamilyArchive,
	"text/plain":                                                                FamilyText,
}

// Names a desktop runs or opens as a program whatever their content: a
// text file is a script or a shortcut by the name Windows or a desktop
// gives it, so those families are also judged by name.
var scriptExts = set(".sh", ".bash", ".zsh", ".ksh", ".csh", ".ps1", ".psm1", ".psd1", ".ps1xml", ".bat", ".cmd", ".vbs", ".vbe",
	".js", ".jse", ".mjs", ".wsf", ".wsh", ".wsc", ".hta", ".py", ".pyw", ".pl", ".rb", ".php", ".lua", ".tcl", ".applescript",
	".scpt", ".command", ".reg", ".inf", ".sct", ".msc", ".jnlp", ".xbap", ".xll", ".cpl", ".scr", ".pif", ".com", ".gadget",
	".settingcontent-ms", ".appref-ms")
var shortcutExts = set(".lnk", ".url", ".desktop", ".scf", ".website", ".webloc", ".library-ms", ".searchconnector-ms")
var diskImageExts = set(".iso", ".img", ".vhd", ".vhdx", ".vmdk", ".dmg")
var runnableExts = union(scriptExts, shortcutExts, set(".exe", ".dll", ".sys", ".msi", ".msp", ".jar", ".apk", ".app", ".elf",
	".bin", ".run", ".so", ".dylib", ".iso", ".img", ".vhd", ".vhdx", ".vmdk", ".dmg", ".chm", ".swf", ".wasm", ".class"))

// family returns the family of content m, by the nearest ancestor with
// one, then by name for text.
func family(m *mimetype.MIME, name string, head []byte) string {
	f := FamilyData
	for p := m; p != nil; p = p.Parent() {
		if v, ok := mimeFamilies[bareMIME(p)]; ok {
			f = v
			break
		}
	}
	if f == FamilyData && is(m, "application/octet-stream") {
		// Content of no known type is judged by the name a desktop runs
		// it by: a batch file or a DOS .com program need no signature.
		ext := strings.ToLower(path.Ext(name))
		switch {
		case shebang(head), scriptExts[ext]:
			return FamilyScript
		case shortcutExts[ext]:
			return FamilyShortcut
		case diskImageExts[ext]:
			return FamilyDiskImage
		case runnableExts[ext] && ext != ".bin":
			return FamilyExecutable
		}
	}
	if f != FamilyText {
		if f == FamilyData {
			switch {
			case strings.HasPrefix(m.String(), "image/"):
				f = FamilyImage
			case strings.HasPrefix(m.String(), "audio/"):
				f = FamilyAudio
			case strings.HasPrefix(m.String(), "video/"):
				f = FamilyVideo
			case strings.HasPrefix(m.String(), "font/"), is(m, "application/vnd.ms-fontobject"):
				f = FamilyFont
			}
		}
		return f
	}
	ext := strings.ToLower(path.Ext(name))
	switch {
	case shebang(head):
		return FamilyScript
	case scriptExts[ext]:
		return FamilyScript
	case shortcutExts[ext]:
		return FamilyShortcut
	case bytes.Contains(head, []byte("[Desktop Entry]")), bytes.Contains(head, []byte("[InternetShortcut]")),
		bytes.Contains(head, []byte("[Shell]")) && bytes.Contains(head, []byte("Command=")):
		return FamilyShortcut
	}
	return FamilyText
}

func set(xs ...string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

func union(ms ...map[string]bool) map[string]bool {
	u := map[string]bool{}
	for _, m := range ms {
		for k := range m {
			u[k] = true
		}
	}
	return u
}

// bareMIME is m's type without parameters ("; charset=utf-8").
func bareMIME(m *mimetype.MIME) string {
	s, _, _ := strings.Cut(m.String(), ";")
	return s
}

// is says whether m is x (a bare type, as Sluice's own constants are) or
// has it for an alias: m.Is(x), remembered. mimetype's Is parses both
// types with mime.ParseMediaType on every call, which was a tenth of the
// CPU of receiving 50,000 small files (isA asks it of every ancestor).
// Its answer depends on m's type string, parameters included (Is reads a
// repeated parameter as no type at all), and on m's aliases, which the
// string names (a type cloned to carry a charset keeps the original's
// aliases; where two of mimetype's types share a string, neither has
// aliases). The string is the key, so only types whose parameters come
// from mimetype's own fixed set (fixedParams) are remembered: a charset
// an HTML or XML file declares is the content's to choose, and such a
// type is asked afresh, so that it neither grows the memo nor answers for
// another file. (A map under a read lock: 35 ns a call here, sync.Map's
// 59; inspection asks 11 times a file.)
func is(m *mimetype.MIME, x string) bool {
	t := m.String()
	if _, params, ok := strings.Cut(t, ";"); ok && !fixedParams[params] {
		return m.Is(x)
	}
	k := isKey{t, x}
	isMu.RLock()
	v, ok := isMemo[k]
	isMu.RUnlock()
	if !ok {
		v = m.Is(x)
		isMu.Lock()
		isMemo[k] = v
		isMu.Unlock()
	}
	return v
}

// fixedParams are the parameters mimetype gives a type from its own list
// (mimetype 1.4: a byte-order mark's charset, or FromPlain's guess), not
// from the content's words.
var fixedParams = map[string]bool{
	" charset=utf-8": true, " charset=utf-16le": true, " charset=utf-16be": true, " charset=utf-32le": true,
	" charset=utf-32be": true, " charset=iso-8859-1": true, " charset=windows-1252": true,
}

type isKey struct{ mime, x string }

var (
	isMu   sync.RWMutex
	isMemo = map[isKey]bool{}
)

// shebang says whether head starts with an interpreter line, "#!" and a
// path of printable ASCII up to a line break within 256 bytes, as a
// kernel or shell would run it; two bytes "#!" alone are as likely noise.
func shebang(head []byte) bool {
	rest, ok := bytes.CutPrefix(head, []byte("#!"))
	if !ok {
		return false
	}
	rest = bytes.TrimLeft(rest, " \t")
	end := bytes.IndexByte(rest[:min(len(rest), 256)], '\n')
	if len(rest) == 0 || rest[0] != '/' || end < 2 && len(rest) > 256 {
		return false
	}
	if end < 0 {
		end = len(rest) // the whole file is the line
		if end > 256 {
			return false
		}
	}
	for _, c := range bytes.TrimRight(rest[:end], "\r") {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}
