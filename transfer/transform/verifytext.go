package transform

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// maxContent bounds a page's content stream with a text layer, inflated:
// a page of small print is about 60 KiB.
const maxContent = 8 << 20

// sharedKinds are the kinds of object every page with a text layer
// refers to, written once: the fonts and the parts of /F2.
var sharedKinds = map[string]bool{"font": true, "wide font": true, "wide font's CID font": true,
	"wide font's descriptor": true, "wide font's ToUnicode": true}

// verifyFonts checks a page's /Font resources: written in the page,
// exactly /F1, or /F1 and /F2. /F1 is a separate object (the one font
// object all pages share, marked "font"), the standard Type1 Helvetica
// in WinAnsiEncoding with nothing that could embed a font program or
// describe glyphs (no /FontDescriptor, /FontFile, /Widths, /CharProcs…);
// /F2 is exactly the glyphless Type 0 font of widefont.go (verifyWideFont).
// wide says /F2 is there.
func verifyFonts(x *model.XRefTable, o types.Object, mark func(types.Object, string) (int, error)) (wide bool, err error) {
	fonts, ok := o.(types.Dict)
	if !ok {
		return false, errors.New("fonts that are not written in the page")
	}
	f1, ok := fonts["F1"]
	_, wide = fonts["F2"]
	if !ok || len(fonts) > 2 || len(fonts) == 2 && !wide {
		return false, errors.New("fonts other than exactly /F1, or /F1 and /F2")
	}
	if wide {
		if err := verifyWideFont(x, fonts["F2"], mark); err != nil {
			return false, err
		}
	}
	return wide, verifyHelvetica(x, f1, mark)
}

// verifyHelvetica checks the font /F1 (verifyFonts).
func verifyHelvetica(x *model.XRefTable, f1 types.Object, mark func(types.Object, string) (int, error)) error {
	if _, ok := f1.(types.IndirectRef); !ok {
		return errors.New("a font /F1 that is not a separate object (written in the page)")
	}
	if _, err := mark(f1, "font"); err != nil {
		return err
	}
	f, err := x.DereferenceDict(f1)
	if err != nil || f == nil {
		return errors.New("a font /F1 that is not a font dictionary")
	}
	if st := f["Subtype"]; st != types.Name("Type1") {
		return fmt.Errorf("a font of subtype %v: only the standard Type1 Helvetica is allowed", st)
	}
	for _, k := range []string{"FontDescriptor", "FontFile", "FontFile2", "FontFile3", "CharProcs", "DescendantFonts", "ToUnicode"} {
		if f[k] != nil {
			return fmt.Errorf("a font with /%s (an embedded or custom font): only the standard Helvetica, not embedded, is allowed", k)
		}
	}
	if err := onlyKeys(f, "font", "Type", "Subtype", "BaseFont", "Encoding"); err != nil {
		return err
	}
	if f["Type"] != types.Name("Font") || f["BaseFont"] != types.Name("Helvetica") || f["Encoding"] != types.Name("WinAnsiEncoding") {
		return errors.New("a font other than the standard Type1 Helvetica in WinAnsiEncoding")
	}
	return nil
}

// verifyWideFont checks /F2 and the objects it refers to, each a
// separate object shared by the pages: the Type 0 font, its one CID font,
// that font's descriptor, each the dictionary the writer writes (values
// and keys, the references aside), and the ToUnicode stream, unfiltered,
// byte for byte the writer's. No font program can hide in it: the
// dictionaries have no /FontFile key, and no other key.
func verifyWideFont(x *model.XRefTable, f2 types.Object, mark func(types.Object, string) (int, error)) error {
	same := func(ref types.Object, kind, want string) (types.Dict, error) {
		if _, ok := ref.(types.IndirectRef); !ok {
			return nil, fmt.Errorf("a %s that is not a separate object", kind)
		}
		if _, err := mark(ref, kind); err != nil {
			return nil, err
		}
		d, err := x.DereferenceDict(ref)
		if err != nil || d == nil || !sameObject(d, want) {
			return nil, fmt.Errorf("a %s (/F2) other than the one of the text layer's glyphless font", kind)
		}
		return d, nil
	}
	f, err := same(f2, "wide font", fmt.Sprintf(wideType0, 0, 0))
	if err != nil {
		return err
	}
	desc, ok := f["DescendantFonts"].(types.Array)
	if !ok || len(desc) != 1 {
		return errors.New("a font /F2 without one descendant font") // sameObject held it to one: a bug
	}
	cid, err := same(desc[0], "wide font's CID font", fmt.Sprintf(wideCIDFont, 0))
	if err != nil {
		return err
	}
	if _, err := same(cid["FontDescriptor"], "wide font's descriptor", wideDescriptor); err != nil {
		return err
	}
	tu := f["ToUnicode"]
	if _, err := mark(tu, "wide font's ToUnicode"); err != nil {
		return err
	}
	sd, _, err := x.DereferenceStreamDict(tu)
	if err != nil || sd == nil {
		return errors.New("a ToUnicode of /F2 that is not a stream")
	}
	if err := onlyKeys(sd.Dict, "ToUnicode of /F2", "Length"); err != nil {
		return err
	}
	if !bytes.Equal(sd.Raw, wideToUnicode) {
		return errors.New("a ToUnicode of /F2 other than the identity map the text layer's glyphless font has")
	}
	return nil
}

// sameObject says whether o is the object text (one the writer writes)
// parses to, every reference in either taken as the same.
func sameObject(o types.Object, text string) bool {
	want, err := model.ParseObject(&text)
	if err != nil {
		return false // a bug: the writer's own text
	}
	return anyRefs(o).PDFString() == anyRefs(want).PDFString()
}

// anyRefs is o with every reference in it made 0 0 R.
func anyRefs(o types.Object) types.Object {
	switch v := o.(type) {
	case types.IndirectRef:
		return *types.NewIndirectRef(0, 0)
	case types.Dict:
		d := types.Dict{}
		for k, e := range v {
			d[k] = anyRefs(e)
		}
		return d
	case types.Array:
		a := make(types.Array, len(v))
		for i, e := range v {
			a[i] = anyRefs(e)
		}
		return a
	}
	return o
}

// verifyContent checks a page's content stream: without fonts, only its
// image drawn (contentRE); with the text layer's fonts, deflated, its
// image drawn, then only the invisible text layer (verifyTextLayer),
// /F2 used only when the page has it (wide).
func verifyContent(cs *types.StreamDict, hasFont, wide bool) error {
	if !hasFont {
		if err := onlyKeys(cs.Dict, "content stream", "Length"); err != nil {
			return err
		}
		if !contentRE.Match(cs.Raw) {
			return errors.New("its content does more than draw its image")
		}
		return nil
	}
	if err := onlyKeys(cs.Dict, "content stream", "Length", "Filter"); err != nil {
		return err
	}
	if cs.Dict["Filter"] != types.Name("FlateDecode") {
		return errors.New("a content stream with a text layer that is not deflated (/FlateDecode)")
	}
	var buf bytes.Buffer
	if _, err := inflateExact(bytes.NewReader(cs.Raw), int64(len(cs.Raw)), maxContent, &buf); err != nil {
		return fmt.Errorf("its content stream does not inflate: %v", err)
	}
	content := buf.Bytes()
	m := imageDrawRE.Find(content)
	if m == nil {
		return errors.New("its content does more than draw its image")
	}
	if err := verifyTextLayer(content[len(m):], wide); err != nil {
		return fmt.Errorf("its content does more than draw its image and an invisible text layer: %v", err)
	}
	return nil
}

// verifyTextLayer checks what follows the image in a page's content: text
// objects (BT … ET) of only the operators the text layer uses (Tr Tf Tz
// Tm Td Tj TJ), with their operands, the font /F1 (or /F2 when the page
// has it: wide), and every word shown (Tj, TJ) while the text render mode
// is 3 (invisible): in /F1 as literal strings, in /F2 with Tj only, as one
// hexadecimal string of two-byte codes. Nothing else: no other operator,
// no comment, no dictionary, no drawing.
func verifyTextLayer(b []byte, wide bool) error {
	type operand struct {
		kind byte // 'n' number, '/' name, '(' string, '<' hex string, '[' array
		num  float64
		name string
	}
	var ops []operand
	inBT, font, mode := false, "", 0
	nums := func(n int) bool {
		if len(ops) != n {
			return false
		}
		for _, o := range ops {
			if o.kind != 'n' {
				return false
			}
		}
		return true
	}
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c == ' ' || c == '\n' || c == '\r' || c == '\t':
			i++
			continue
		case c == '(':
			n, err := literalString(b[i:])
			if err != nil {
				return err
			}
			ops = append(ops, operand{kind: '('})
			i += n
		case c == '<':
			// /F2's codes: hex digits in fours, nothing else.
			if i+1 < len(b) && b[i+1] == '<' {
				return fmt.Errorf("a dictionary %q", clip(b[i:]))
			}
			j := i + 1
			for j < len(b) && (b[j] >= '0' && b[j] <= '9' || b[j] >= 'A' && b[j] <= 'F' || b[j] >= 'a' && b[j] <= 'f') {
				j++
			}
			if j >= len(b) || b[j] != '>' || j == i+1 || (j-i-1)%4 != 0 {
				return fmt.Errorf("a hexadecimal string %q: only two-byte codes of /F2 may be shown so", clip(b[i:]))
			}
			ops = append(ops, operand{kind: '<'})
			i = j + 1
		case c == '[':
			// A TJ array: strings and numbers only.
			j := i + 1
			for {
				for j < len(b) && (b[j] == ' ' || b[j] == '\n' || b[j] == '\r' || b[j] == '\t') {
					j++
				}
				if j >= len(b) {
					return errors.New("an array not closed")
				}
				if b[j] == ']' {
					j++
					break
				}
				if b[j] == '(' {
					n, err := literalString(b[j:])
					if err != nil {
						return err
					}
					j += n
					continue
				}
				n := numberLen(b[j:])
				if n == 0 {
					return fmt.Errorf("an array holding %q: only strings and numbers may be shown", clip(b[j:]))
				}
				j += n
			}
			ops = append(ops, operand{kind: '['})
			i = j
		case c == '/':
			j := i + 1
			for j < len(b) && isAlnum(b[j]) {
				j++
			}
			if j == i+1 || j-i > 32 {
				return fmt.Errorf("a name %q", clip(b[i:]))
			}
			ops = append(ops, operand{kind: '/', name: string(b[i+1 : j])})
			i = j
		case c == '+' || c == '-' || c == '.' || c >= '0' && c <= '9':
			n := numberLen(b[i:])
			if n == 0 {
				return fmt.Errorf("a number %q", clip(b[i:]))
			}
			v, err := strconv.ParseFloat(string(b[i:i+n]), 64)
			if err != nil {
				return fmt.Errorf("a number %q", clip(b[i:]))
			}
			ops = append(ops, operand{kind: 'n', num: v})
			i += n
		case c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '\'' || c == '"' || c == '*':
			j := i
			for j < len(b) && (isAlnum(b[j]) || b[j] == '\'' || b[j] == '"' || b[j] == '*') {
				j++
			}
			op := string(b[i:j])
			i = j
			if op != "BT" && !inBT {
				switch op {
				case "Tj", "TJ", "'", "\"":
					return fmt.Errorf("text shown outside BT/ET (%s)", op)
				case "Tf", "Tr", "Tz", "Tm", "Td":
					return fmt.Errorf("%s outside BT/ET", op)
				}
			}
			ok := false
			switch op {
			case "BT":
				if inBT {
					return errors.New("BT inside a text object")
				}
				inBT, ok = true, len(ops) == 0
			case "ET":
				inBT, ok = false, len(ops) == 0
			case "Tr":
				ok = nums(1) && ops[0].num == float64(int(ops[0].num)) && ops[0].num >= 0 && ops[0].num <= 7
				if ok {
					mode = int(ops[0].num)
				}
			case "Tf":
				ok = len(ops) == 2 && ops[0].kind == '/' && ops[1].kind == 'n'
				if ok && ops[0].name != "F1" && (ops[0].name != "F2" || !wide) {
					if wide {
						return fmt.Errorf("the font /%s, not the page's /F1 or /F2", ops[0].name)
					}
					return fmt.Errorf("the font /%s, not the page's /F1", ops[0].name)
				}
				if ok {
					font = ops[0].name
				}
			case "Tz":
				ok = nums(1)
			case "Td":
				ok = nums(2)
			case "Tm":
				ok = nums(6)
			case "Tj", "TJ":
				want := byte('(')
				switch {
				case op == "TJ" && font == "F2":
					return errors.New("text shown in /F2 with TJ: only one hexadecimal string with Tj")
				case op == "TJ":
					want = '['
				case font == "F2":
					want = '<'
				}
				if len(ops) == 1 && ops[0].kind != want && (ops[0].kind == '<' || want == '<') {
					return fmt.Errorf("text shown (%s) as a %s string in the font /%s", op, map[byte]string{'(': "literal", '<': "hexadecimal", '[': "array of"}[ops[0].kind], font)
				}
				ok = len(ops) == 1 && ops[0].kind == want
				if ok && mode != 3 {
					return fmt.Errorf("text shown (%s) in render mode %d, which is visible: only invisible text (3 Tr) is allowed", op, mode)
				}
				if ok && font == "" {
					return fmt.Errorf("text shown (%s) before a font is set", op)
				}
			default:
				return fmt.Errorf("the operator %q, which a text layer does not use", clip([]byte(op)))
			}
			if !ok {
				return fmt.Errorf("the operator %s with unexpected operands", op)
			}
			ops = ops[:0]
		default:
			return fmt.Errorf("unexpected %q", clip(b[i:]))
		}
		if len(ops) > 6 {
			return errors.New("operands without their operator")
		}
	}
	if len(ops) > 0 {
		return errors.New("operands without their operator")
	}
	if inBT {
		return errors.New("a text object not closed (BT without ET)")
	}
	return nil
}

// literalString returns the length of the literal string at the start of
// b, as the text layer writes them: printable ASCII, with only \( \) \\
// and octal escapes (\ddd); no unescaped parenthesis, no line break.
func literalString(b []byte) (int, error) {
	for i := 1; i < len(b); i++ {
		c := b[i]
		switch {
		case c == ')':
			return i + 1, nil
		case c == '(':
			return 0, errors.New("a string with an unescaped parenthesis")
		case c == '\\':
			if i+1 >= len(b) {
				return 0, errors.New("a string not closed")
			}
			switch d := b[i+1]; {
			case d == '(' || d == ')' || d == '\\':
				i++
			case d >= '0' && d <= '7':
				j := i + 1
				for j < len(b) && j < i+4 && b[j] >= '0' && b[j] <= '7' {
					j++
				}
				i = j - 1
			default:
				return 0, fmt.Errorf("a string with the escape \\%c", d)
			}
		case c < 0x20 || c >= 0x7f:
			return 0, fmt.Errorf("a string with the byte 0x%02x unescaped", c)
		}
	}
	return 0, errors.New("a string not closed")
}

// numberLen is the length of the PDF number at the start of b (0 if
// none): an optional sign, digits with at most one point.
func numberLen(b []byte) int {
	i, digits, point := 0, 0, false
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		i++
	}
	for ; i < len(b) && i < 32; i++ {
		switch c := b[i]; {
		case c >= '0' && c <= '9':
			digits++
			continue
		case c == '.' && !point:
			point = true
			continue
		}
		break
	}
	if digits == 0 || i < len(b) && !isDelim(b[i]) {
		return 0
	}
	return i
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isDelim(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '(' || c == ')' || c == '[' || c == ']' || c == '/'
}

// clip is the first bytes of b, for a message.
func clip(b []byte) string {
	if len(b) > 16 {
		b = b[:16]
	}
	return string(b)
}
