package inspect

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sluice/internal/pdfcheck/pdftest"
)

// pdfObjStm is a PDF whose page links to action, kept in an object
// stream (pdftest.ObjStm).
func pdfObjStm(action string) []byte { return pdftest.ObjStm(action, 0) }

// zipWithFolderAttrs holds a program in a member whose attributes say
// "folder" (Unix mode or MS-DOS attribute) though its name does not end
// with a slash: unzip, Python and Explorer write it out as a file.
func zipWithFolderAttrs(t *testing.T, creator uint16, attrs uint32, name string, content []byte) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	fh := &zip.FileHeader{Name: name, Method: zip.Deflate, CreatorVersion: creator << 8, ExternalAttrs: attrs}
	w, err := zw.CreateHeader(fh)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(content)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Files a hostile sender builds to get past the default rules; each must
// be held.
func TestHostileFiles(t *testing.T) {
	pe := append([]byte("MZ"), make([]byte, 200)...)
	ole := append([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, make([]byte, 600)...)
	cases := []struct {
		name    string
		content []byte
		want    string
	}{
		// Content of no known type under a name a desktop runs.
		{"run.bat", []byte("\x00\x01@echo off\r\ncalc.exe\r\n"), ReasonBlockedType},
		{"x.sh", []byte("#!/usr/bin/env -S bash\necho hi\n#\x00\x00\x01"), ReasonBlockedType},
		{"hello.com", []byte{0xb4, 0x09, 0xba, 0x0d, 0x01, 0xcd, 0x21, 0xcd, 0x20, 0x00}, ReasonBlockedType},
		// Script in markup, spelled as browsers accept it.
		{"a.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload ="alert(1)"></svg>`), ReasonActiveContent},
		{"b.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><s:script xmlns:s="http://www.w3.org/2000/svg">alert(1)</s:script></svg>`), ReasonActiveContent},
		{"c.html", []byte("<html><body><details open\nontoggle=alert(1)>x</details></body></html>"), ReasonActiveContent},
		{"d.html", []byte(`<html><body><a href="jav&#x61;scr&#0000105;pt&colon;alert(1)">x</a></body></html>`), ReasonActiveContent},
		{"e.html", []byte("<html><body><a href=\"java\tscript:alert(1)\">x</a></body></html>"), ReasonActiveContent},
		// Programs in ZIP members whose attributes say "folder".
		{"unixdir.zip", zipWithFolderAttrs(t, 3, 0o040755<<16, "evil.exe", pe), ReasonBlockedType},
		{"dosdir.zip", zipWithFolderAttrs(t, 0, 0x10, "evil.exe", pe), ReasonBlockedType},
		// Office parts found by relationship, not by folder or name.
		{"macro.docm", docx(t, map[string][]byte{"word/foo.bin": ole},
			strings.Replace(contentTypes, "document.main+xml", "document.macro&#69;nabled.main+xml", 1)), ReasonActiveContent},
		{"ole.docx", docx(t, map[string][]byte{"word/objs/oleObject1.bin": ole}, contentTypes), ReasonActiveContent},
		{"exe.docx", docx(t, map[string][]byte{"word/media/evil.exe": pe}, contentTypes), ReasonActiveContent},
		// A PDF action kept in an object stream.
		{"objstm.pdf", pdfObjStm("<< /S /JavaScript /JS (app.alert\\(1\\)) >>"), ReasonActiveContent},
		{"objstm-launch.pdf", pdfObjStm("<< /S /Launch /F (calc.exe) >>"), ReasonActiveContent},
	}
	ru := defaultRules()
	for _, c := range cases {
		rep := ru.Inspect(context.Background(), c.name, bytes.NewReader(c.content), int64(len(c.content)))
		found := false
		for _, f := range rep.Findings {
			found = found || f.Reason == c.want
		}
		if !found {
			t.Errorf("%s (%s, %s): want a %s finding, got %v", c.name, rep.MIME, rep.Family, c.want, rep.Findings)
		}
	}
}

// The stricter checks still pass ordinary files.
func TestOrdinaryFilesPass(t *testing.T) {
	cases := map[string][]byte{
		"page.html":  []byte(`<html><body><p>Based on the flag, see <a href="https://example.org/?online=1&amp;only=2">this</a>.</p></body></html>`),
		"data.bin":   {0x00, 0x01, 0x02, 0xff},
		"plain.pdf":  pdfObjStm("<< /S /URI /URI (https://example.org/) >>"),
		"folder.zip": zipOf(t, map[string][]byte{"docs/": nil, "docs/a.txt": []byte("a")}, "docs/", "docs/a.txt"),
	}
	ru := defaultRules()
	for name, c := range cases {
		rep := ru.Inspect(context.Background(), name, bytes.NewReader(c), int64(len(c)))
		if rep.Held() {
			t.Errorf("%s (%s, %s): held: %v", name, rep.MIME, rep.Family, rep.Findings)
		}
	}
}

// A ZIP must read the same from its local headers as from its central
// directory: unpackers that stream (local headers) and those that seek
// (central directory) would otherwise unpack different files, one of them
// never checked. Archives written by ordinary tools pass.
func TestZipLayout(t *testing.T) {
	pe := append([]byte("MZ"), make([]byte, 200)...)
	two := func() []byte {
		return zipOf(t, map[string][]byte{"a.txt": []byte("same words\n"), "b.txt": []byte("same words\n")}, "a.txt", "b.txt")
	}
	// Stored members with sizes in the local header (no data descriptor).
	var stored bytes.Buffer
	zw := zip.NewWriter(&stored)
	for _, n := range []string{"x.txt", "y/z.txt"} {
		w, err := zw.CreateRaw(&zip.FileHeader{Name: n, Method: zip.Store, CRC32: 0x3610a686, CompressedSize64: 5, UncompressedSize64: 5})
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("hello"))
	}
	zw.Close()
	ordinary := map[string][]byte{"go.zip": two(), "stored.zip": stored.Bytes()}
	if zipProg, err := exec.LookPath("zip"); err == nil {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "a.txt"), bytes.Repeat([]byte("words "), 1000), 0o644)
		os.WriteFile(filepath.Join(dir, "b.txt"), []byte("short"), 0o644)
		cmd := exec.Command(zipProg, "-q", "-r", "out.zip", "a.txt", "b.txt")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("zip: %v: %s", err, out)
		}
		b, _ := os.ReadFile(filepath.Join(dir, "out.zip"))
		ordinary["info-zip.zip"] = b
		cmd = exec.Command("sh", "-c", "printf 'piped words' | "+zipProg+" -q - - > piped.zip") // sizes in a data descriptor
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("zip: %v: %s", err, out)
		}
		b, _ = os.ReadFile(filepath.Join(dir, "piped.zip"))
		ordinary["piped.zip"] = b
	} else {
		t.Log("Info-ZIP's zip is not installed: archives written by it are not tried (packaging/deps.sh test installs it)")
	}
	ru := defaultRules()
	for name, c := range ordinary {
		if rep := ru.Inspect(context.Background(), name, bytes.NewReader(c), int64(len(c))); rep.Held() {
			t.Errorf("%s: held: %v", name, rep.Findings)
		}
	}

	prefixed := append([]byte("a prefix that is not a local header\n"), two()...)
	concatenated := append(zipOf(t, map[string][]byte{"hidden.exe": pe}, "hidden.exe"), two()...)
	renamed := two()
	copy(renamed[30:], "a.exe") // the first local header only
	overlap := two()
	cd := bytes.LastIndex(overlap, []byte("PK\x01\x02")) // b.txt's directory entry
	binary.LittleEndian.PutUint32(overlap[cd+42:], 0)    // its data is a.txt's
	for name, c := range map[string][]byte{"prefixed.zip": prefixed, "concatenated.zip": concatenated, "renamed.zip": renamed, "overlap.zip": overlap} {
		rep := ru.Inspect(context.Background(), name, bytes.NewReader(c), int64(len(c)))
		if name == "prefixed.zip" && rep.Held() {
			continue // already a polyglot: its head is not a ZIP's
		}
		if len(rep.Findings) == 0 || rep.Findings[0].Reason != ReasonNotChecked || !strings.Contains(rep.Findings[0].Detail, "local headers disagree") {
			t.Errorf("%s: want held as not-checked for its layout, got %v", name, rep.Findings)
		}
	}
}
