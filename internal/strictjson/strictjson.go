// Package strictjson decodes JSON documents that are signed, so that they
// mean to Sluice exactly what they mean to any other reader (jq, Python, a
// person). encoding/json matches object keys to struct fields regardless of
// case and keeps the last of two equal keys, so {"path":"a","PATH":"b"} is
// "b" to Go and "a" to jq. Decode refuses what could be read two ways: a
// key repeated in one object (also when the two differ only in case), a
// key not spelled exactly as the field it fills, an unknown key, and data
// after the document.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// MaxDepth bounds nesting, so a hostile document cannot recurse deeply.
const MaxDepth = 32

// Decode checks b as described in the package comment, then decodes it into
// v (a pointer to a struct). Errors say which key is at fault.
func Decode(b []byte, v any) error {
	t := reflect.TypeOf(v)
	if t == nil || t.Kind() != reflect.Pointer {
		return errors.New("strictjson: Decode needs a pointer")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := walk(dec, t.Elem(), 0); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON document")
	}
	dec = json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

var textUnmarshaler = reflect.TypeFor[interface{ UnmarshalText([]byte) error }]()
var jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()

// walk reads one value from dec, checking every object's keys against t.
func walk(dec *json.Decoder, t reflect.Type, depth int) error {
	if depth > MaxDepth {
		return fmt.Errorf("nested more than %d levels deep", MaxDepth)
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil // a scalar: its type is checked by the real decode
	}
	opaque := t == nil || t.Kind() == reflect.Interface ||
		reflect.PointerTo(t).Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler)
	switch d {
	case '[':
		var elem reflect.Type
		if !opaque && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for dec.More() {
			if err := walk(dec, elem, depth+1); err != nil {
				return err
			}
		}
	case '{':
		fields := map[string]reflect.Type{}
		isStruct := !opaque && t.Kind() == reflect.Struct
		if isStruct {
			for i := range t.NumField() {
				f := t.Field(i)
				name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
				if name == "-" || !f.IsExported() {
					continue
				}
				if name == "" {
					name = f.Name
				}
				fields[name] = f.Type
			}
		}
		seen := map[string]string{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return err
			}
			key := kt.(string)
			folded := strings.ToLower(key)
			if prev, dup := seen[folded]; dup {
				if prev == key {
					return fmt.Errorf("key %q appears twice in one object", clip(key))
				}
				return fmt.Errorf("keys %q and %q differ only in case", clip(prev), clip(key))
			}
			seen[folded] = key
			var ft reflect.Type
			if isStruct {
				var known bool
				if ft, known = fields[key]; !known {
					return fmt.Errorf("unknown key %q (keys are case-sensitive)", clip(key))
				}
			} else if !opaque && t.Kind() == reflect.Map {
				ft = t.Elem()
			}
			if err := walk(dec, ft, depth+1); err != nil {
				return err
			}
		}
	}
	_, err = dec.Token() // the closing delimiter
	return err
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
