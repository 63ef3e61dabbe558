package strictjson

import (
	"strings"
	"testing"
)

type inner struct {
	Path string `json:"path"`
	N    int    `json:"n,omitempty"`
}

type doc struct {
	Name    string            `json:"name"`
	Entries []inner           `json:"entries"`
	One     *inner            `json:"one"`
	Tags    map[string]string `json:"tags"`
}

func TestDecode(t *testing.T) {
	cases := []struct{ in, want string }{
		{`{"name":"a","entries":[{"path":"x"}],"one":{"path":"y"}}`, ""},
		{`{"name":"a","NAME":"b"}`, `keys "name" and "NAME" differ only in case`},
		{`{"name":"a","name":"b"}`, `key "name" appears twice`},
		{`{"Name":"a"}`, `unknown key "Name"`},
		{`{"entries":[{"path":"a.txt","PATH":"b.txt"}]}`, `differ only in case`},
		{`{"entries":[{"PATH":"b.txt"}]}`, `unknown key "PATH"`},
		{`{"one":{"path":"a","path":"b"}}`, `appears twice`},
		{`{"other":1}`, `unknown key "other"`},
		{`{"name":"a"} {}`, "data after"},
		{`{"name":"a"`, "EOF"},
		{`{"tags":{"k":"1","K":"2"}}`, "differ only in case"},
		{`{"name":1}`, "cannot unmarshal"},
		{`{"entries":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, "nested more than"},
	}
	for _, c := range cases {
		var d doc
		err := Decode([]byte(c.in), &d)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.in, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: got %v, want %q", c.in, err, c.want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"name":"a","entries":[{"path":"x","n":1}],"one":{"path":"y"},"tags":{"a":"b"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var d doc
		Decode(b, &d)
	})
}
