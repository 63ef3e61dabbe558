package bundle

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"runtime"
	"testing"

	"sluice/crypto"
)

// The manifest Seal writes is read by decodePlain, without encoding/json,
// to the same Manifest encoding/json reads; what it cannot read (escaped
// paths, transformed entries, any other spelling) goes to encoding/json,
// with the same verdict.
func TestDecodePlain(t *testing.T) {
	plain := manifestFor(fuzzBundleID, "alice", []tarEntry{dirEntry("docs"), fileEntry("docs/a.txt", "alpha"), fileEntry("docs/b c.txt", "")})
	empty := &Manifest{Format: ManifestFormat, BundleID: fuzzBundleID, Sender: "bob \"the\" <sender>", Entries: []ManifestEntry{}}
	escaped := manifestFor(fuzzBundleID, "alice", []tarEntry{dirEntry("docs"), fileEntry("docs/café <1>.txt", "x")})
	transformed := manifestFor(fuzzBundleID, "alice", []tarEntry{dirEntry("docs"), fileEntry("docs/a.pdf", "x")})
	transformed.Entries[1].Transformed = &Transformed{From: "a.docx", Size: 9, Action: "pdf-of-images", Tool: "mutool", Version: "1.21.1"}
	for _, c := range []struct {
		name  string
		m     *Manifest
		plain bool
	}{{"plain", plain, true}, {"no entries", empty, true}, {"escaped path", escaped, false}, {"transformed", transformed, false}} {
		b, err := c.m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		var p, viaJSON, canon Manifest
		gotPlain := decodePlain(b, &p) && encodesTo(&p, b)
		if gotPlain != c.plain {
			t.Errorf("%s: read by decodePlain: %v, want %v", c.name, gotPlain, c.plain)
		}
		if err := json.Unmarshal(b, &viaJSON); err != nil {
			t.Fatal(err)
		}
		if gotPlain && !reflect.DeepEqual(p, viaJSON) {
			t.Errorf("%s: decodePlain read %+v, encoding/json %+v", c.name, p, viaJSON)
		}
		if !decodeCanonical(b, &canon) || !reflect.DeepEqual(canon, viaJSON) {
			t.Errorf("%s: decodeCanonical read %+v, encoding/json %+v", c.name, canon, viaJSON)
		}
	}

	// Spellings Seal never writes are refused by both paths alike.
	b, _ := plain.Marshal()
	for _, edit := range [][2]string{{`"mode":"0644"`, `"mode":"644"`}, {`"size":5`, `"size":05`}, {`"size":5`, `"size":5.0`},
		{`{"path"`, `{ "path"`}, {"\n]}\n", "\n]}"}, {`"type":"file"`, `"type":"file","type":"file"`}, {`"docs/a.txt"`, `"docs\/a.txt"`}} {
		e := bytes.Replace(b, []byte(edit[0]), []byte(edit[1]), 1)
		var m Manifest
		if decodeCanonical(e, &m) {
			t.Errorf("%q read as canonical", e)
		}
	}

	// A manifest of nothing but entry openings does not make room for
	// millions of entries before it fails.
	hostile := append([]byte(`{"format":"sluice-manifest/1","bundle_id":"x","sender":"s","entries":[`), bytes.Repeat([]byte("\n{"), 4<<20)...)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var m Manifest
	if decodePlain(hostile, &m) {
		t.Fatal("read a manifest of entry openings")
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("reading 8 MiB of entry openings allocated %d bytes", grew)
	}
}

func BenchmarkDecodeManifest(b *testing.B) {
	m := &Manifest{Format: ManifestFormat, BundleID: fuzzBundleID, Sender: "alice"}
	for i := range 50000 {
		if i%1000 == 0 {
			m.Entries = append(m.Entries, ManifestEntry{Path: fmt.Sprintf("d%02d", i/1000), Type: TypeDir, Mode: 0o755})
		}
		p := fmt.Sprintf("d%02d/f%04d", i/1000, i%1000)
		d := crypto.HashBytes([]byte(p))
		m.Entries = append(m.Entries, ManifestEntry{Path: p, Type: TypeFile, Mode: 0o644, Size: 4096, SHA256: &d})
	}
	mb, _ := m.Marshal()
	b.SetBytes(int64(len(mb)))
	for b.Loop() {
		if _, err := ParseManifest(mb); err != nil {
			b.Fatal(err)
		}
	}
}
