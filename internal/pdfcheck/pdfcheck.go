// Package pdfcheck runs the kiosk's PDF check (inspect.CheckPDF, pdfcpu) in
// child processes with bounded memory and time. A PDF is a program for its
// parser: a few kilobytes of compressed object stream can expand to
// gigabytes, and a damaged cross-reference table can keep a parser busy.
// Run in the station's own process, either would take the kiosk down in
// the middle of a receive. In a child, the worst a PDF can do is kill the
// child: the file is then "not-checked" (held), and the next PDF gets a
// fresh child.
//
// The child is the running executable itself, started with SLUICE_PDF_WORKER=1:
// main (and every test binary that receives PDFs, in TestMain) calls Serve
// first, which never returns in a child. On Linux the child's data segment
// (RLIMIT_DATA, which holds Go's heap) is capped at MemoryLimit; every
// request has a deadline that grows with the file's size. A child serves
// one request at a time and is reused until it fails.
package pdfcheck

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"sluice/internal/headbuf"
	"sluice/internal/regfile"
	"sluice/transfer/inspect"
)

const (
	envWorker = "SLUICE_PDF_WORKER"
	envLimit  = "SLUICE_PDF_WORKER_LIMIT"
	// maxInline is the most a request carries in its body; larger
	// content not in a file is not checked.
	maxInline = 64 << 20
)

// DefaultMemoryLimit bounds one child's heap (New's MemoryLimit): ten
// times the largest PDF most sites move, and far below a kiosk's memory.
// Tests lower it.
var DefaultMemoryLimit int64 = 1 << 30

// Serve turns this process into a PDF-checking child when it was started
// as one (SLUICE_PDF_WORKER=1), and then exits; otherwise it returns at once.
func Serve() {
	if os.Getenv(envWorker) != "1" {
		return
	}
	limit, _ := strconv.ParseInt(os.Getenv(envLimit), 10, 64)
	if limit <= 0 {
		limit = DefaultMemoryLimit
	}
	if err := limitMemory(limit); err != nil {
		fmt.Fprintf(os.Stderr, "pdfcheck: cannot bound memory: %v\n", err)
		os.Exit(3)
	}
	debug.SetMemoryLimit(limit / 2) // collect early; the hard limit is the kernel's
	os.Exit(serve(os.Stdin, os.Stdout))
}

// request is one PDF to check: a file to open, or Inline bytes after the
// request's line.
type request struct {
	Path   string `json:"path,omitempty"`
	Inline int64  `json:"inline,omitempty"`
}

type reply struct {
	Findings []inspect.Finding `json:"findings"`
	Error    string            `json:"error,omitempty"`
}

// hello is the child's first line: a program that does not print it
// (one that does not call Serve first) is not a PDF checker.
const hello = "sluice-pdf-worker 1\n"

func serve(in io.Reader, out io.Writer) int {
	r := bufio.NewReader(in)
	w := bufio.NewWriter(out)
	enc := json.NewEncoder(w)
	if _, err := w.WriteString(hello); err != nil || w.Flush() != nil {
		return 1
	}
	for {
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) && len(line) == 0 {
			return 0
		}
		if err != nil {
			return 1
		}
		var req request
		if err := json.Unmarshal(line, &req); err != nil {
			return 1
		}
		var rep reply
		switch {
		case req.Path != "":
			f, err := regfile.Open(req.Path)
			if err != nil {
				rep.Error = err.Error()
				break
			}
			info, err := f.Stat()
			if err == nil {
				rep.Findings = inspect.CheckPDF(f, info.Size())
			} else {
				rep.Error = err.Error()
			}
			f.Close()
		case req.Inline > 0 && req.Inline <= maxInline:
			b := make([]byte, req.Inline)
			if _, err := io.ReadFull(r, b); err != nil {
				return 1
			}
			rep.Findings = inspect.CheckPDF(inspect.Memory(b), int64(len(b)))
		default:
			return 1
		}
		if rep.Findings == nil {
			rep.Findings = []inspect.Finding{}
		}
		if err := enc.Encode(rep); err != nil {
			return 1
		}
		if err := w.Flush(); err != nil {
			return 1
		}
	}
}

// Pool starts children as PDFs arrive, at most one per concurrent caller,
// and keeps them for the next PDF. The zero value is not usable: see New.
type Pool struct {
	// MemoryLimit caps one child's data segment, in bytes.
	MemoryLimit int64
	// Timeout is how long a PDF of size bytes may take.
	Timeout func(size int64) time.Duration

	mu     sync.Mutex
	idle   []*child
	closed bool
	// running bounds the children at work at once (MaxChildren), so a
	// bundle of PDF bombs costs at most that many times MemoryLimit.
	running chan struct{}
}

// MaxChildren is how many PDFs a pool checks at once.
const MaxChildren = 2

// New returns a pool with the default limits: DefaultMemoryLimit, and
// 30 s plus 1 s per 2 MiB.
func New() *Pool {
	return &Pool{MemoryLimit: DefaultMemoryLimit, Timeout: func(size int64) time.Duration {
		return 30*time.Second + time.Duration(size/(2<<20))*time.Second
	}, running: make(chan struct{}, MaxChildren)}
}

type child struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
	stderr *headbuf.Buffer
	done   chan struct{} // closed when the process has exited
}

// Check checks the PDF in r (size bytes) in a child, with inspect.Rules.PDF's
// signature. A child that dies, runs out of memory or time, or cannot
// start makes the PDF not-checked, saying which.
func (p *Pool) Check(ctx context.Context, r io.ReaderAt, size int64) []inspect.Finding {
	notChecked := func(format string, args ...any) []inspect.Finding {
		return []inspect.Finding{{Reason: inspect.ReasonNotChecked, Detail: fmt.Sprintf(format, args...)}}
	}
	var req request
	var body []byte
	switch v := r.(type) {
	case *os.File:
		req.Path = v.Name()
	case inspect.Memory:
		req.Inline, body = int64(len(v)), v
	default:
		if size > maxInline {
			return notChecked("a PDF of %d bytes inside an archive, too large to check apart from this process", size)
		}
		body = make([]byte, size)
		if _, err := r.ReadAt(body, 0); err != nil && !errors.Is(err, io.EOF) {
			return notChecked("the PDF cannot be read: %v", err)
		}
		req.Inline = size
	}
	select {
	case p.running <- struct{}{}:
		defer func() { <-p.running }()
	case <-ctx.Done():
		return notChecked("inspection stopped: %v", context.Cause(ctx))
	}
	c, err := p.get()
	if err != nil {
		return notChecked("the PDF checker cannot start: %v", err)
	}
	line, _ := json.Marshal(req)
	timeout := p.Timeout(size)
	type answer struct {
		rep reply
		err error
	}
	got := make(chan answer, 1)
	go func() {
		var a answer
		if _, a.err = c.in.Write(append(line, '\n')); a.err == nil && len(body) > 0 {
			_, a.err = c.in.Write(body)
		}
		if a.err == nil {
			var b []byte
			if b, a.err = c.out.ReadBytes('\n'); a.err == nil {
				a.err = json.Unmarshal(b, &a.rep)
			}
		}
		got <- a
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case a := <-got:
		if a.err != nil {
			c.kill()
			return notChecked("the PDF checker failed on it (%s)", c.why(p.MemoryLimit))
		}
		if a.rep.Error != "" {
			p.put(c)
			return notChecked("the PDF checker could not open it: %s", a.rep.Error)
		}
		p.put(c)
		return a.rep.Findings
	case <-timer.C:
		c.kill()
		return notChecked("the PDF checker took longer than %s on it (a damaged or hostile PDF?)", timeout)
	case <-ctx.Done():
		c.kill()
		return notChecked("inspection stopped: %v", context.Cause(ctx))
	}
}

// Close stops the idle children; children in use stop when their check
// ends.
func (p *Pool) Close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, c := range idle {
		c.in.Close() // the child exits at the end of its input
		select {
		case <-c.done:
		case <-time.After(2 * time.Second):
			c.kill()
		}
	}
}

func (p *Pool) get() (*child, error) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		c := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return c, nil
	}
	p.mu.Unlock()
	if os.Getenv(envWorker) == "1" {
		// A program started as a checker that did not call Serve (a test
		// binary without the TestMain): it must not start checkers of
		// its own, each of which would do the same.
		return nil, errors.New("this program was started as a PDF checker but does not serve as one")
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	// GOTRACEBACK=none: a child that dies says why in one line, not with
	// every goroutine's stack.
	cmd.Env = append(os.Environ(), envWorker+"=1", envLimit+"="+strconv.FormatInt(p.MemoryLimit, 10), "GOMAXPROCS=1", "GOTRACEBACK=none")
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, in: in, out: bufio.NewReader(outPipe), stderr: &headbuf.Buffer{}, done: make(chan struct{})}
	cmd.Stderr = c.stderr
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { cmd.Wait(); close(c.done) }()
	ready := make(chan error, 1)
	go func() {
		line, err := c.out.ReadString('\n')
		if err == nil && line != hello {
			err = fmt.Errorf("%s does not serve as a PDF checker (it said %.40q)", exe, line)
		}
		ready <- err
	}()
	select {
	case err = <-ready:
	case <-time.After(10 * time.Second):
		err = fmt.Errorf("%s did not start as a PDF checker within 10 s", exe)
	}
	if err != nil {
		c.kill()
		return nil, err
	}
	return c, nil
}

func (p *Pool) put(c *child) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		go c.in.Close()
		return
	}
	p.idle = append(p.idle, c)
}

func (c *child) kill() {
	c.cmd.Process.Kill()
	<-c.done
}

// why says how a child ended, from its exit and the end of its stderr.
func (c *child) why(limit int64) string {
	<-c.done
	msg := c.stderr.String()
	switch {
	case c.stderr.OutOfMemory():
		return fmt.Sprintf("it needed more than %d MiB of memory: a compression bomb?", limit>>20)
	case c.cmd.ProcessState != nil:
		if line, _, _ := strings.Cut(strings.TrimSpace(msg), "\n"); line != "" {
			return "the checker " + c.cmd.ProcessState.String() + ": " + line
		}
		return "the checker " + c.cmd.ProcessState.String()
	}
	return "the checker ended"
}
