package inspect

import (
	"bytes"
	"context"
	"testing"
)

// FuzzInspect feeds hostile content under names of every kind: inspection
// never panics, always names the file, and every finding has a reason and
// a path inside the file it reports on.
func FuzzInspect(f *testing.F) {
	f.Add("a.pdf", pdfWith("/OpenAction << /S /JavaScript /JS (x) >>"))
	f.Add("a.docx", []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00"))
	f.Add("a.doc", append([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, make([]byte, 600)...))
	f.Add("a.tar.gz", []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff})
	f.Add("a.zip", []byte("PK\x05\x06\x00\x00\x00\x00\x01\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Add("a.rtf", []byte(`{\rtf1 {\object}}`))
	f.Add("a.txt", []byte("#!/bin/sh\n"))
	ru := defaultRules()
	ru.Archives.MaxExpanded = 64 << 20
	f.Fuzz(func(t *testing.T, name string, b []byte) {
		if name == "" || len(b) > 1<<20 {
			return
		}
		rep := ru.Inspect(context.Background(), name, bytes.NewReader(b), int64(len(b)))
		if rep.Path != name || rep.Family == "" {
			t.Fatalf("report %+v", rep)
		}
		for _, fd := range rep.Findings {
			if fd.Reason == "" || len(fd.Path) < len(name) || fd.Path[:len(name)] != name {
				t.Fatalf("finding %+v", fd)
			}
		}
	})
}
