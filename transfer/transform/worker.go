package transform

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"time"
)

// A worker is the station's own executable started again with
// SLUICE_TRANSFORM_WORKER=KIND, to parse one original in a child bounded
// and sandboxed like any other tool (internal/pdfcheck's pattern). It
// reads the original on stdin and writes one JSON line (workerReply)
// followed, for an image, by the new file's bytes.
const (
	envWorker = "SLUICE_TRANSFORM_WORKER"
	envOpts   = "SLUICE_TRANSFORM_OPTS"
	envLimit  = "SLUICE_TRANSFORM_LIMIT"
)

// workerOpts is what the parent tells a worker.
type workerOpts struct {
	MaxPixels int64  `json:"max_pixels"`
	MaxPages  int    `json:"max_pages,omitempty"`
	Name      string `json:"name,omitempty"` // for verify: the file's name
	// Names are verify-batch's files' names, the files themselves
	// descriptors 3, 4… in the same order.
	Names []string `json:"names,omitempty"`
}

// verifyReply is verify-batch's line for one file: its index in Names
// and why it is not simple ("" when it is).
type verifyReply struct {
	File  int    `json:"file"`
	Error string `json:"error,omitempty"`
}

// verifyHook, when set, is called by a verify worker before it checks each
// file. Only tests set it (in TestMain, before Serve), to crash or hang a
// worker on a file of theirs.
var verifyHook func(name string)

// workerReply is a worker's first line of output.
type workerReply struct {
	Error string `json:"error,omitempty"`
	// image: the format written ("png", "jpeg") and notes.
	Format string   `json:"format,omitempty"`
	Notes  []string `json:"notes,omitempty"`
	// pdfinfo: pages, links, whether the PDF was encrypted.
	Pages     int    `json:"pages,omitempty"`
	Links     []link `json:"links,omitempty"`
	LinkError string `json:"link_error,omitempty"`
	// ColourBlind: the PDF has something mutool's colour test (-s f)
	// does not see: a Type 3 font, whose glyphs may paint their own
	// colours (d0), or a ColorDodge or ColorBurn blend, which can make
	// a tint below its threshold strong (see colourTestBlind).
	ColourBlind bool `json:"colour_blind,omitempty"`
}

// Serve turns this process into a transformation worker when it was
// started as one (SLUICE_TRANSFORM_WORKER set), and then exits; otherwise
// it returns at once. main, and the TestMain of every test binary that
// transforms files, must call it first.
func Serve() {
	kind := os.Getenv(envWorker)
	if kind == "" {
		return
	}
	var o workerOpts
	if err := json.Unmarshal([]byte(os.Getenv(envOpts)), &o); err != nil {
		fmt.Fprintf(os.Stderr, "transform worker: bad options: %v\n", err)
		os.Exit(2)
	}
	if limit, _ := strconv.ParseInt(os.Getenv(envLimit), 10, 64); limit > 0 {
		// Collect early; the hard limit is the kernel's (RLIMIT_DATA,
		// set by prlimit).
		debug.SetMemoryLimit(limit / 2)
	}
	w := bufio.NewWriterSize(os.Stdout, 256<<10)
	if err := serveWorker(kind, o, os.Stdin, w); err != nil {
		// After a reply line that promised a body, this line makes the
		// body fail Verify; the exit status says it failed anyway.
		json.NewEncoder(w).Encode(workerReply{Error: err.Error()})
		w.Flush()
		os.Exit(1)
	}
	if w.Flush() != nil {
		os.Exit(1)
	}
	os.Exit(0)
}

func serveWorker(kind string, o workerOpts, in *os.File, out io.Writer) (err error) {
	defer func() {
		if p := recover(); p != nil { // a decoder's bug on hostile input is a file not transformed
			err = fmt.Errorf("the %s decoder failed on it: %v", kind, p)
		}
	}()
	switch kind {
	case "image":
		return reencodeImage(in, o.MaxPixels, out)
	case "pdfinfo":
		fi, err := in.Stat()
		if err != nil {
			return err
		}
		rep, err := pdfInfo(in, fi.Size(), o.MaxPages)
		if err != nil {
			return err
		}
		return json.NewEncoder(out).Encode(rep)
	case "verify":
		fi, err := in.Stat()
		if err != nil {
			return err
		}
		if verifyHook != nil {
			verifyHook(o.Name)
		}
		if err := Verify(o.Name, in, fi.Size()); err != nil {
			return err
		}
		return json.NewEncoder(out).Encode(workerReply{})
	case "verify-batch":
		return serveVerifyBatch(o.Names, out)
	}
	return fmt.Errorf("unknown worker %q", kind)
}

// worker runs Sluice's own executable as a worker of kind on in, and
// returns its reply; the bytes after the reply's line go to body (nil:
// none expected).
func (t *Transformer) worker(ctx context.Context, kind string, o workerOpts, in *os.File, size int64, body io.Writer) (*workerReply, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer pr.Close()
	j, err := t.workerJob(kind, o, pw, t.cfg.Timeout(0, size))
	if err != nil {
		pw.Close()
		return nil, err
	}
	j.stdin = in
	type answer struct {
		rep *workerReply
		err error
	}
	got := make(chan answer, 1)
	go func() {
		br := bufio.NewReaderSize(pr, 64<<10)
		line, err := br.ReadBytes('\n')
		if err != nil {
			io.Copy(io.Discard, br)
			got <- answer{err: errors.New("the worker ended without a reply")}
			return
		}
		var rep workerReply
		if err := json.Unmarshal(line, &rep); err != nil {
			io.Copy(io.Discard, br)
			got <- answer{err: fmt.Errorf("the worker's reply does not parse: %v", err)}
			return
		}
		if body != nil && rep.Error == "" {
			// An image's new encoding: at most 8 bytes a pixel (16-bit
			// RGBA), plus room for its chunks.
			limit := 8*o.MaxPixels + 1<<20
			var n int64
			n, err = io.Copy(body, io.LimitReader(br, limit+1))
			if err == nil && n > limit {
				err = fmt.Errorf("the worker wrote more than %d bytes", limit)
			}
			io.Copy(io.Discard, br)
		} else {
			io.Copy(io.Discard, br)
		}
		got <- answer{&rep, err}
	}()
	runErr := t.run(ctx, j)
	pw.Close()
	a := <-got
	if runErr != nil {
		if a.rep != nil && a.rep.Error != "" {
			return nil, errors.New(a.rep.Error)
		}
		return nil, runErr
	}
	if a.err != nil {
		return nil, a.err
	}
	if a.rep.Error != "" {
		return nil, errors.New(a.rep.Error)
	}
	return a.rep, nil
}

// workerJob is the job that runs Sluice's own executable, sandboxed, as a
// worker of kind with options o, writing to stdout, within timeout.
func (t *Transformer) workerJob(kind string, o workerOpts, stdout io.Writer, timeout time.Duration) (job, error) {
	if os.Getenv(envWorker) != "" {
		return job{}, errors.New("this program was started as a transform worker but does not serve as one (call transform.Serve first)")
	}
	exe, err := os.Executable()
	if err != nil {
		return job{}, fmt.Errorf("cannot find Sluice's own executable to start a worker: %w", err)
	}
	opts, _ := json.Marshal(o)
	return job{
		name:  "the " + kind + " worker",
		argv:  []string{t.at(exe, "/sluice")},
		binds: []bind{{src: exe, dst: "/sluice"}},
		env: []string{envWorker + "=" + kind, envOpts + "=" + string(opts), envLimit + "=" + strconv.FormatInt(t.cfg.MemoryLimit, 10),
			"GOMAXPROCS=1", "GOTRACEBACK=none"},
		stdout:  stdout,
		timeout: timeout,
	}, nil
}

// serveVerifyBatch verifies the files at descriptors 3, 4… in turn, named
// by names, and writes one verifyReply line for each as soon as it is
// known: the parent times each file from the line before it.
func serveVerifyBatch(names []string, out io.Writer) error {
	enc := json.NewEncoder(out)
	for i, name := range names {
		rep := verifyReply{File: i}
		f := os.NewFile(uintptr(3+i), name)
		if f == nil {
			return fmt.Errorf("file %d of the batch was not passed to the worker", i)
		}
		if verifyHook != nil {
			verifyHook(name)
		}
		err := func() error {
			fi, err := f.Stat()
			if err != nil {
				return err
			}
			if !fi.Mode().IsRegular() {
				return fmt.Errorf("%w: not a regular file", ErrNotSimple)
			}
			return Verify(name, f, fi.Size())
		}()
		f.Close()
		if err != nil {
			rep.Error = err.Error()
		}
		if err := enc.Encode(rep); err != nil {
			return err
		}
		if fl, ok := out.(interface{ Flush() error }); ok {
			if err := fl.Flush(); err != nil {
				return err
			}
		}
		// The next file starts from the heap this one left, collected.
		runtime.GC()
	}
	return nil
}
