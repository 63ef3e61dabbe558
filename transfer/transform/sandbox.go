package transform

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"sluice/internal/headbuf"
)

// bind is one path a sandboxed child sees: the host's src at dst.
type bind struct {
	src, dst string
	rw       bool
}

// job is one run of a tool in a child process.
type job struct {
	// name is the tool's name, for messages ("mutool", "soffice").
	name string
	// argv[0] is the program's host path; sandbox paths in the arguments
	// are written with at (see Transformer.at).
	argv  []string
	binds []bind
	env   []string
	// dir is the working directory (a sandbox path).
	dir    string
	stdin  io.Reader
	stdout io.Writer
	// files are open files the child inherits as descriptors 3, 4…
	// (prlimit and bwrap pass them on).
	files   []*os.File
	timeout time.Duration
	// filter, if set, reads the child's stderr first and passes on, to
	// the error message, what it does not take for itself.
	filter stderrFilter
}

// stderrFilter takes what it understands from a child's stderr.
type stderrFilter interface {
	io.Writer
	// passOn says where the rest goes; flush passes on what is held
	// back, once the child has exited.
	passOn(io.Writer)
	flush()
}

// sandboxUID is the user the child runs as in its namespace (nobody).
const sandboxUID = "65534"

// bwrapArgs returns bubblewrap's arguments for a child that sees /usr and
// the few files of /etc a renderer reads, read-only, its binds, a private
// /tmp, /proc and /dev, and nothing else: no network, no other process, no
// capability, a new session (so it cannot push input into the station's
// terminal), killed when its parent dies.
func (t *Transformer) bwrapArgs(binds []bind, dir string) []string {
	a := []string{"--unshare-all", "--unshare-user", "--uid", sandboxUID, "--gid", sandboxUID, "--cap-drop", "ALL",
		"--die-with-parent", "--new-session", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
		"--ro-bind", "/usr", "/usr"}
	// Merged /usr (Debian 12): /bin, /lib… are links into /usr.
	for _, d := range []string{"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"} {
		if l, err := os.Readlink(d); err == nil {
			a = append(a, "--symlink", l, d)
		} else if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			a = append(a, "--ro-bind", d, d)
		}
	}
	for _, e := range []string{"/etc/fonts", "/etc/ld.so.cache", "/etc/alternatives", "/etc/libreoffice", "/etc/mime.types"} {
		a = append(a, "--ro-bind-try", e, e)
	}
	for _, b := range binds {
		if b.rw {
			a = append(a, "--bind", b.src, b.dst)
		} else {
			a = append(a, "--ro-bind", b.src, b.dst)
		}
	}
	if dir != "" {
		a = append(a, "--chdir", dir)
	}
	return a
}

// at returns the path a child sees for the host path src that a job binds
// at dst: dst in the sandbox, src itself without one.
func (t *Transformer) at(src, dst string) string {
	if t.cfg.NoSandbox {
		return src
	}
	return dst
}

// run runs j under prlimit (RLIMIT_DATA at Config.MemoryLimit, RLIMIT_CPU
// at twice the timeout, no core dumps) and, unless Config.NoSandbox, in
// bubblewrap; it kills the child at j.timeout or when ctx is done. The
// error says how the child failed, with the first line it wrote on stderr.
func (t *Transformer) run(ctx context.Context, j job) error {
	cpu := int64(2*j.timeout/time.Second) + 1
	argv := []string{t.paths["prlimit"], "--data=" + strconv.FormatInt(t.cfg.MemoryLimit, 10),
		"--cpu=" + strconv.FormatInt(cpu, 10), "--core=0", "--"}
	dir := ""
	if !t.cfg.NoSandbox {
		argv = append(argv, t.paths["bwrap"])
		argv = append(argv, t.bwrapArgs(j.binds, j.dir)...)
		argv = append(argv, "--")
	} else {
		dir = j.dir
	}
	argv = append(argv, j.argv...)
	ctx, cancel := context.WithTimeoutCause(ctx, j.timeout, errTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	// Only what the tool needs: none of the station's environment.
	cmd.Env = append([]string{"PATH=/usr/bin:/bin", "HOME=/tmp", "LANG=C.UTF-8", "TMPDIR=/tmp"}, j.env...)
	if t.cfg.NoSandbox {
		cmd.Env[1] = "HOME=" + t.cfg.TempDir
		cmd.Env[3] = "TMPDIR=" + t.cfg.TempDir
	}
	cmd.Stdin, cmd.Stdout = j.stdin, j.stdout
	cmd.ExtraFiles = j.files
	stderr := &tail{}
	cmd.Stderr = stderr
	if j.filter != nil {
		j.filter.passOn(stderr)
		cmd.Stderr = j.filter
	}
	isolate(cmd)
	cmd.WaitDelay = 2 * time.Second
	err := cmd.Run()
	if j.filter != nil {
		j.filter.flush()
	}
	if err == nil {
		return nil
	}
	if errors.Is(context.Cause(ctx), errTimeout) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		limit := j.timeout
		if o := (*overTime)(nil); errors.As(context.Cause(ctx), &o) {
			limit = o.budget // the document's, where the job's own was a bound
		}
		return fmt.Errorf("%s took longer than %s (a damaged or hostile file?)", j.name, limit.Round(time.Second))
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%s stopped: %w", j.name, context.Cause(ctx))
	}
	why := "failed"
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		sig, ok := signalled(ee)
		if code := ee.ExitCode(); !ok && !t.cfg.NoSandbox && code > 128 && code < 128+65 {
			// bwrap waits for the child and exits 128 + the signal that
			// killed it: the child was signalled, not bwrap.
			sig, ok = signalName(code-128), true
		}
		if ok {
			why = fmt.Sprintf("crashed (%s)", sig)
			if sig == "killed" || sig == "CPU time limit exceeded" {
				why = fmt.Sprintf("was killed (%s): more than %d s of CPU time or a sandbox failure", sig, cpu)
			}
		} else {
			why = fmt.Sprintf("failed (exit status %d)", ee.ExitCode())
		}
	} else {
		why = fmt.Sprintf("failed: %v", err)
	}
	if stderr.OutOfMemory() {
		return fmt.Errorf("%s %s: it needed more than %d MiB of memory (a compression bomb or an outsized page?)", j.name, why, t.cfg.MemoryLimit>>20)
	}
	if line := stderr.firstLine(); line != "" {
		return fmt.Errorf("%s %s: %s", j.name, why, line)
	}
	return fmt.Errorf("%s %s", j.name, why)
}

var errTimeout = errors.New("timeout")

// tail keeps the first bytes a tool writes to stderr, where it says why
// it failed.
type tail struct{ headbuf.Buffer }

// firstLine returns the first line that says something, skipping the
// warnings renderers print about damaged files they could repair.
func (t *tail) firstLine() string {
	var first string
	for _, l := range strings.Split(t.String(), "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		if first == "" {
			first = l
		}
		if strings.Contains(strings.ToLower(l), "error") {
			return trimLine(l)
		}
	}
	return trimLine(first)
}

func trimLine(s string) string {
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// realPath resolves a tool's links (Debian's /etc/alternatives), so the
// sandbox runs the program itself.
func realPath(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return p
}
