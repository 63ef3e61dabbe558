package pdftest

import (
	"bytes"
	"fmt"
)

// A Doc is a PDF written for a test object by object, each object's
// offset kept, and ended by a cross-reference table (Table) or stream
// (XRefStream) that points at every object, so readers find them without
// repairing the file. Objects may be numbered in any order and with gaps
// (the gaps are free entries).
type Doc struct {
	b    bytes.Buffer
	offs map[int]int
	in   map[int][2]int // objects kept in object streams: the stream's number, the index in it
}

// NewDoc starts a PDF whose header names version ("1.4"), with the
// comment of high bytes that marks it binary.
func NewDoc(version string) *Doc {
	d := &Doc{offs: map[int]int{}, in: map[int][2]int{}}
	fmt.Fprintf(&d.b, "%%PDF-%s\n%%\xe2\xe3\xcf\xd3\n", version)
	return d
}

// Obj writes object n: body (a dictionary, an array, any object).
func (d *Doc) Obj(n int, body string) {
	d.offs[n] = d.b.Len()
	fmt.Fprintf(&d.b, "%d 0 obj\n%s\nendobj\n", n, body)
}

// Stream writes object n as a stream: its dictionary's entries (without
// /Length, which Stream adds), then data.
func (d *Doc) Stream(n int, entries string, data []byte) {
	d.offs[n] = d.b.Len()
	fmt.Fprintf(&d.b, "%d 0 obj\n<<%s /Length %d >>\nstream\n", n, spaced(entries), len(data))
	d.b.Write(data)
	d.b.WriteString("\nendstream\nendobj\n")
}

// InStream says object n is the index-th object of object stream s, for
// XRefStream's entries.
func (d *Doc) InStream(n, s, index int) { d.in[n] = [2]int{s, index} }

// Table ends the PDF with a cross-reference table of size entries (object
// numbers 0 to size-1, those not written free) and a trailer of /Size,
// /Root 1 0 R and trailer's entries, and returns it.
func (d *Doc) Table(size int, trailer string) []byte {
	at := d.b.Len()
	fmt.Fprintf(&d.b, "xref\n0 %d\n0000000000 65535 f\r\n", size)
	for n := 1; n < size; n++ {
		if o, ok := d.offs[n]; ok {
			fmt.Fprintf(&d.b, "%010d 00000 n\r\n", o)
		} else {
			d.b.WriteString("0000000000 65535 f\r\n")
		}
	}
	fmt.Fprintf(&d.b, "trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%d\n%%%%EOF\n", size, spaced(trailer), at)
	return d.b.Bytes()
}

// XRefStream ends the PDF with a cross-reference stream, object n, of
// size entries (W [1 4 2]: objects written, objects in object streams,
// the rest free) and the trailer's entries /Size, /Root 1 0 R and
// trailer's, and returns it.
func (d *Doc) XRefStream(n, size int, trailer string) []byte {
	at := d.b.Len()
	d.offs[n] = at
	var rows bytes.Buffer
	for num := range size {
		o, written := d.offs[num]
		s, compressed := d.in[num]
		switch {
		case compressed:
			rows.Write([]byte{2, byte(s[0] >> 24), byte(s[0] >> 16), byte(s[0] >> 8), byte(s[0]), byte(s[1] >> 8), byte(s[1])})
		case written:
			rows.Write([]byte{1, byte(o >> 24), byte(o >> 16), byte(o >> 8), byte(o), 0, 0})
		default:
			rows.Write([]byte{0, 0, 0, 0, 0, 0xff, 0xff})
		}
	}
	d.Stream(n, fmt.Sprintf("/Type /XRef /Size %d /W [1 4 2] /Root 1 0 R%s", size, spaced(trailer)), rows.Bytes())
	fmt.Fprintf(&d.b, "startxref\n%d\n%%%%EOF\n", at)
	return d.b.Bytes()
}

// spaced is s after a space, or nothing if s is empty.
func spaced(s string) string {
	if s == "" {
		return ""
	}
	return " " + s
}
