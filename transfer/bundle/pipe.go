package bundle

import (
	"context"
	"io"
)

// chunkPipe carries a byte stream from one pipeline stage (goroutine) to the
// next in fixed-size chunks. It holds at most n chunks, so a pipeline's memory
// is bounded whatever the size of the bundle. The writing stage calls Write
// and closeWrite; the reading stage calls Read or WriteTo. Both give up when
// ctx is done, so a failed or cancelled stage never leaves the other blocked.
type chunkPipe struct {
	ctx  context.Context
	full chan []byte
	free chan []byte

	wbuf []byte // writer side: chunk being filled

	rbuf []byte // reader side: chunk being drained
	rpos int
}

const (
	pipeChunk  = 256 << 10
	pipeChunks = 8
)

func newChunkPipe(ctx context.Context) *chunkPipe {
	p := &chunkPipe{ctx: ctx, full: make(chan []byte, pipeChunks), free: make(chan []byte, pipeChunks+1)}
	for range pipeChunks + 1 {
		p.free <- make([]byte, 0, pipeChunk)
	}
	return p
}

func (p *chunkPipe) getFree() error {
	select {
	case p.wbuf = <-p.free:
		return nil
	case <-p.ctx.Done():
		return p.ctx.Err()
	}
}

func (p *chunkPipe) send() error {
	select {
	case p.full <- p.wbuf:
		p.wbuf = nil
		return nil
	case <-p.ctx.Done():
		return p.ctx.Err()
	}
}

// Write copies b into chunks, passing each on when full.
func (p *chunkPipe) Write(b []byte) (int, error) {
	n := 0
	for len(b) > 0 {
		if p.wbuf == nil {
			if err := p.getFree(); err != nil {
				return n, err
			}
		}
		c := copy(p.wbuf[len(p.wbuf):cap(p.wbuf)], b)
		p.wbuf = p.wbuf[:len(p.wbuf)+c]
		b, n = b[c:], n+c
		if len(p.wbuf) == cap(p.wbuf) {
			if err := p.send(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// closeWrite passes on the last partial chunk and tells the reader the
// stream ended.
func (p *chunkPipe) closeWrite() error {
	if len(p.wbuf) > 0 {
		if err := p.send(); err != nil {
			return err
		}
	}
	close(p.full)
	return nil
}

func (p *chunkPipe) next() error {
	if p.rbuf != nil {
		p.free <- p.rbuf[:0]
		p.rbuf = nil
	}
	select {
	case b, ok := <-p.full:
		if !ok {
			return io.EOF
		}
		p.rbuf, p.rpos = b, 0
		return nil
	case <-p.ctx.Done():
		return p.ctx.Err()
	}
}

// Read implements io.Reader for the reading stage.
func (p *chunkPipe) Read(b []byte) (int, error) {
	for p.rbuf == nil || p.rpos == len(p.rbuf) {
		if err := p.next(); err != nil {
			return 0, err
		}
	}
	n := copy(b, p.rbuf[p.rpos:])
	p.rpos += n
	return n, nil
}

// WriteTo hands whole chunks to w, saving a copy.
func (p *chunkPipe) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if p.rbuf != nil && p.rpos < len(p.rbuf) {
			n, err := w.Write(p.rbuf[p.rpos:])
			total += int64(n)
			p.rpos += n
			if err != nil {
				return total, err
			}
		}
		if err := p.next(); err == io.EOF {
			return total, nil
		} else if err != nil {
			return total, err
		}
	}
}

// ctxReader fails reads once ctx is done, so a long copy notices Cancel
// between chunks.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(b)
}
