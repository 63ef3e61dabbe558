package scan

import (
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

// cvd builds a database file: a header over body, MD5 and all.
func cvd(version int, body []byte) []byte {
	sum := md5.Sum(body)
	h := fmt.Sprintf("ClamAV-VDB:30 Nov 2026 08-07 +0000:%d:12:216:%s:X:sluice:1796026068", version, hex.EncodeToString(sum[:]))
	return append([]byte(h+strings.Repeat(" ", CVDHeaderSize-len(h))), body...)
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestParseCVD(t *testing.T) {
	good := cvd(27101, gz([]byte("tar")))
	c, err := ParseCVD("daily.cvd", bytes.NewReader(good), int64(len(good)))
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "daily" || c.Kind != "cvd" || c.Version != 27101 || c.Signatures != 12 || c.FLevel != 216 || c.Builder != "sluice" || c.Time.Unix() != 1796026068 {
		t.Fatalf("parsed %+v", c)
	}
	damaged := bytes.Clone(good)
	damaged[len(damaged)-1] ^= 1
	bad := map[string]struct {
		name string
		b    []byte
		want string
	}{
		"damaged":     {"daily.cvd", damaged, "damaged"},
		"short":       {"main.cvd", good[:100], "shorter"},
		"not clamav":  {"main.cvd", bytes.Repeat([]byte("x"), 600), "no ClamAV database header"},
		"bad version": {"main.cvd", bytes.Replace(good, []byte(":27101:"), []byte(":27x01:"), 1), "version"},
		"version 0":   {"main.cvd", cvd(0, nil), "version 0"},
		"few fields":  {"main.cvd", append([]byte("ClamAV-VDB:a:1"+strings.Repeat(" ", CVDHeaderSize-14)), 1), "fields"},
		"other name":  {"safebrowsing.cvd", good, "carries"},
		"other ext":   {"daily.hdb", good, "not a ClamAV database file"},
	}
	for what, c := range bad {
		if _, err := ParseCVD(c.name, bytes.NewReader(c.b), int64(len(c.b))); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", what, err, c.want)
		}
	}
	// A .cld is a plain tar under the header freshclam kept: no MD5 to match.
	if _, err := ParseCVD("daily.cld", bytes.NewReader(damaged), int64(len(damaged))); err != nil {
		t.Fatalf(".cld: %v", err)
	}
}

func FuzzParseCVD(f *testing.F) {
	f.Add("daily.cvd", cvd(27101, gz([]byte("tar"))))
	f.Add("main.cld", cvd(62, []byte("tar")))
	f.Add("bytecode.cud", []byte("ClamAV-VDB:::::::::"))
	f.Fuzz(func(t *testing.T, name string, b []byte) {
		c, err := ParseCVD(name, bytes.NewReader(b), int64(len(b)))
		if err == nil && (c.Version <= 0 || len(b) < CVDHeaderSize) {
			t.Fatalf("accepted %+v from %d bytes", c, len(b))
		}
	})
}
