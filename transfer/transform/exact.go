package transform

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
)

// Decoders stop where their data ends and skip, or never read, what
// follows: a ZIP archive put after a zlib stream's end, in a last IDAT
// chunk, or after a Group 4 image's last row went through Verify unseen,
// while unzip found it (a hostile-input review). These checks hold each
// coded stream to end exactly where its container says.

// errTrailing: bytes follow a coded stream's end inside its container.
var errTrailing = errors.New("data goes on after its end (a place to hide another file)")

// countingReader counts the bytes taken from it, by Read or ReadByte.
// Being an io.ByteReader, flate takes its input a byte at a time and so
// reads nothing past the stream's end.
type countingReader struct {
	r *bufio.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countingReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}

// inflateExact inflates the zlib stream that is all of r (size bytes)
// into w, at most limit bytes, checking its checksum: it fails if the
// stream ends before r does (errTrailing) or inflates past limit.
func inflateExact(r io.Reader, size, limit int64, w io.Writer) (int64, error) {
	cr := &countingReader{r: bufio.NewReader(r)}
	z, err := zlib.NewReader(cr)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(w, io.LimitReader(z, limit+1))
	if err != nil {
		return n, err
	}
	if n > limit {
		if limit%(1<<20) == 0 {
			return n, fmt.Errorf("it inflates to more than %d MiB", limit>>20)
		}
		return n, fmt.Errorf("it inflates to more than %d bytes", limit)
	}
	if cr.n != size {
		return n, errTrailing
	}
	return n, nil
}

// g4Exact reads the Group 4 image raw of w × h pixels (g4Reader) and
// checks that it is coded exactly as Transform codes those pixels
// (g4Writer): every row, then the end-of-block code and the padding to a
// byte, nothing more, so no other file rides after its last row. Work: in
// proportion to len(raw). Memory: two rows' changing elements.
func g4Exact(raw []byte, w, h int) error {
	dec := newG4Reader(raw, w)
	same := &prefixOf{want: raw}
	g := newG4Writer(same, w)
	for y := 0; y < h; y++ {
		changes, err := dec.row()
		if err != nil {
			return fmt.Errorf("its fax image does not decode: row %d: %v", y+1, err)
		}
		g.row(changes)
	}
	if err := g.close(); err != nil || same.off != len(raw) {
		return errors.New("its fax image is not coded as Sluice codes those pixels (bytes after its last row, or another coder's choices)")
	}
	return nil
}

// prefixOf compares what is written to it with want, keeping nothing:
// off is how much matched, and a write that differs fails.
type prefixOf struct {
	want []byte
	off  int
}

func (p *prefixOf) Write(b []byte) (int, error) {
	if len(b) > len(p.want)-p.off || !bytes.Equal(b, p.want[p.off:p.off+len(b)]) {
		return 0, errTrailing
	}
	p.off += len(b)
	return len(b), nil
}
