package inspect

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"image"
	"image/png"
	"os"
	"strings"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"

	"sluice/internal/pdfcheck/pdftest"
)

// DefaultRules are the rules of a new kiosk policy.
func defaultRules() *Rules {
	return &Rules{Block: DefaultBlock, Extensions: true, Names: true, ActiveContent: true,
		Archives: ArchiveLimits{MaxDepth: 2, MaxEntries: 10000, MaxExpanded: 2 << 30, MaxRatio: 100}}
}

// pdfWith builds a real PDF (header, objects, cross-reference table with
// true offsets, trailer) whose catalog carries extra.
func pdfWith(catalogExtra string, more ...string) []byte {
	d := pdftest.NewDoc("1.7")
	d.Obj(1, "<< /Type /Catalog /Pages 2 0 R "+catalogExtra+" >>")
	d.Obj(2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
	d.Obj(3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << >> >>")
	for i, o := range more {
		d.Obj(4+i, o)
	}
	return d.Table(4+len(more), "")
}

func zipOf(t *testing.T, files map[string][]byte, order ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	if len(order) == 0 {
		for n := range files {
			order = append(order, n)
		}
	}
	for _, n := range order {
		f, err := w.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		f.Write(files[n])
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func pngBytes(t *testing.T) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewRGBA(image.Rect(0, 0, 8, 8))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

const contentTypes = `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
	`<Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`

func docx(t *testing.T, extra map[string][]byte, types string) []byte {
	files := map[string][]byte{"[Content_Types].xml": []byte(types), "_rels/.rels": []byte("<Relationships/>"),
		"word/document.xml": []byte(`<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body/></w:document>`)}
	order := []string{"[Content_Types].xml", "_rels/.rels", "word/document.xml"}
	for n, c := range extra {
		files[n] = c
		order = append(order, n)
	}
	return zipOf(t, files, order...)
}

// pe is the smallest file with a PE header where its DOS header points.
func pe() []byte {
	b := make([]byte, 512)
	copy(b, "MZ")
	b[0x3c] = 0x40
	copy(b[0x40:], "PE\x00\x00")
	return b
}

// noise is n bytes of deterministic pseudo-random data.
func noise(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

func elf(t *testing.T) []byte {
	b, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Skip("no /bin/true to use as a real ELF executable")
	}
	return b
}

func tgz(t *testing.T, files map[string][]byte) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	tw := tar.NewWriter(zw)
	for n, c := range files {
		tw.WriteHeader(&tar.Header{Name: n, Mode: 0o755, Size: int64(len(c)), Typeflag: tar.TypeReg})
		tw.Write(c)
	}
	tw.Close()
	zw.Close()
	return b.Bytes()
}

func encryptedPDF(t *testing.T) []byte {
	conf := model.NewAESConfiguration("user", "owner", 256)
	var out bytes.Buffer
	if err := api.Encrypt(bytes.NewReader(pdfWith("")), &out, conf); err != nil {
		t.Fatalf("encrypt a PDF with pdfcpu: %v", err)
	}
	return out.Bytes()
}

// Every rule, with a real file that breaks it and one that passes.
func TestRules(t *testing.T) {
	zeros := make([]byte, 50<<20)
	bomb := zipOf(t, map[string][]byte{"zeros.bin": zeros})
	inner := zipOf(t, map[string][]byte{"deep.txt": []byte("three levels down")})
	middle := zipOf(t, map[string][]byte{"inner.zip": inner})
	outer := zipOf(t, map[string][]byte{"middle.zip": middle})
	var encZip bytes.Buffer
	zw := zip.NewWriter(&encZip)
	fw, _ := zw.CreateRaw(&zip.FileHeader{Name: "secret.txt", Method: zip.Store, Flags: 1, CompressedSize64: 5, UncompressedSize64: 5})
	fw.Write([]byte("xxxxx"))
	zw.Close()
	polyglot := append(pngBytes(t), zipOf(t, map[string][]byte{"payload.js": []byte("alert(1)")})...)

	cases := []struct {
		name    string
		content []byte
		want    []string // reasons, in any order; none: passes
		where   string   // a finding's path must contain this
	}{
		{"notes.txt", []byte("plain words\n"), nil, ""},
		{"table.txt", []byte("a,b,c\n1,2,3\n"), nil, ""},
		{"picture.png", pngBytes(t), nil, ""},
		{"report.pdf", pdfWith(""), nil, ""},
		{"letter.docx", docx(t, nil, contentTypes), nil, ""},
		{"docs.zip", zipOf(t, map[string][]byte{"a.txt": []byte("a"), "b/c.txt": []byte("c")}), nil, ""},
		{"README", []byte("no extension, but text\n"), nil, ""},

		{"report.txt", pe(), []string{ReasonBlockedType, ReasonTypeMismatch}, ""},
		// Noise that starts like a type mimetype tells by two bytes is not
		// that type: backup shards and encrypted blobs pass.
		{"shard-0001", append([]byte("MZ"), noise(4000)...), nil, ""},
		{"shard-0002", append([]byte{0x1f, 0x8b, 0x3c}, noise(4000)...), nil, ""},
		{"shard-0003", append([]byte{'x', 0x9c}, noise(4000)...), nil, ""},
		{"shard-0004", append([]byte{0xff, 0x0a}, noise(4000)...), nil, ""},
		{"shard-0005", append([]byte{0xc7, 0x71}, noise(4000)...), nil, ""},
		{"shard-0006", append([]byte("#!"), noise(4000)...), nil, ""},
		{"tool", []byte("#!/usr/bin/env node\nconsole.log(1)\x01\n"), []string{ReasonBlockedType}, ""},
		{"tool", elf(t), []string{ReasonBlockedType, ReasonTypeMismatch}, ""},
		{"notes.txt", []byte("#!/bin/sh\nrm -rf ~\n"), []string{ReasonBlockedType}, ""},
		{"run.ps1", []byte("Get-ChildItem\n"), []string{ReasonBlockedType}, ""},
		{"invoice.pdf.js", []byte("alert(1)\n"), []string{ReasonBlockedType, ReasonDeceptiveName}, ""},
		{"shortcut.lnk", append([]byte{0x4C, 0, 0, 0, 1, 0x14, 2, 0}, make([]byte, 100)...), []string{ReasonBlockedType}, ""},
		{"fake.pdf", zipOf(t, map[string][]byte{"a.txt": []byte("a")}), []string{ReasonTypeMismatch}, ""},
		{"notes.dat", pdfWith(""), []string{ReasonTypeMismatch}, ""},
		{"photo.png", polyglot, []string{ReasonTypeMismatch}, ""},
		{"macro.docm", docx(t, map[string][]byte{"word/vbaProject.bin": []byte("VBA")}, strings.Replace(contentTypes, "document.main+xml", "document.macroEnabled.main+xml", 1)), []string{ReasonActiveContent}, ""},
		{"activex.docx", docx(t, map[string][]byte{"word/activeX/activeX1.xml": []byte("<ax/>")}, contentTypes), []string{ReasonActiveContent}, ""},
		{"script.pdf", pdfWith("/OpenAction 4 0 R", "<< /S /JavaScript /JS (app.alert\\(1\\)) >>"), []string{ReasonActiveContent}, ""},
		{"launch.pdf", pdfWith("/OpenAction << /S /Launch /F (calc.exe) >>"), []string{ReasonActiveContent}, ""},
		{"locked.pdf", encryptedPDF(t), []string{ReasonNotChecked}, ""},
		{"broken.pdf", []byte("%PDF-1.7\nthis is not a PDF body\n"), []string{ReasonNotChecked}, ""},
		{"page.html", []byte("<html><body><script>alert(1)</script></body></html>"), []string{ReasonActiveContent}, ""},
		{"doc.rtf", []byte(`{\rtf1\ansi{\object\objemb{\*\objdata 0102}}}`), []string{ReasonActiveContent}, ""},
		{"bomb.zip", bomb, []string{ReasonNotChecked}, ""},
		{"nested.zip", outer, []string{ReasonNotChecked}, "nested.zip!middle.zip!inner.zip"},
		{"secret.zip", encZip.Bytes(), []string{ReasonNotChecked}, "secret.zip!secret.txt"},
		{"tools.tar.gz", tgz(t, map[string][]byte{"bin/tool": elf(t)}), []string{ReasonBlockedType, ReasonTypeMismatch}, "tools.tar.gz!bin/tool"},
		{"slip.tar.gz", tgz(t, map[string][]byte{"../../etc/cron.d/x": []byte("text\n")}), []string{ReasonDeceptiveName}, "slip.tar.gz!../../etc/cron.d/x"},
		{"disk.img", func() []byte { b := make([]byte, 0x9000); copy(b[0x8001:], "CD001"); return b }(), []string{ReasonBlockedType}, ""},
	}
	ru := defaultRules()
	for _, c := range cases {
		rep := ru.Inspect(context.Background(), c.name, bytes.NewReader(c.content), int64(len(c.content)))
		got := map[string]bool{}
		for _, f := range rep.Findings {
			got[f.Reason] = true
		}
		for _, w := range c.want {
			if !got[w] {
				t.Errorf("%s (%s, %s): want a %s finding, got %v", c.name, rep.MIME, rep.Family, w, rep.Findings)
			}
		}
		if len(c.want) == 0 && rep.Held() {
			t.Errorf("%s (%s, %s): held, want passed: %v", c.name, rep.MIME, rep.Family, rep.Findings)
		}
		if c.where != "" {
			found := false
			for _, f := range rep.Findings {
				found = found || strings.Contains(f.Path, c.where)
			}
			if !found {
				t.Errorf("%s: no finding names %s: %v", c.name, c.where, rep.Findings)
			}
		}
	}
}

// An allow list holds every family not on it; nothing else does.
func TestAllowList(t *testing.T) {
	ru := defaultRules()
	ru.Allow = []string{FamilyText, FamilyImage}
	for name, c := range map[string][]byte{"a.pdf": pdfWith(""), "b.zip": zipOf(t, map[string][]byte{"x.txt": []byte("x")})} {
		rep := ru.Inspect(context.Background(), name, bytes.NewReader(c), int64(len(c)))
		if len(rep.Findings) != 1 || rep.Findings[0].Reason != ReasonTypeNotAllowed {
			t.Errorf("%s: %v", name, rep.Findings)
		}
	}
	rep := ru.Inspect(context.Background(), "p.png", bytes.NewReader(pngBytes(t)), int64(len(pngBytes(t))))
	if rep.Held() {
		t.Errorf("png: %v", rep.Findings)
	}
}
