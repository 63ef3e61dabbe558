package bundle

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"sluice/internal/safetext"
)

// walkFolder adds the folder at osPath, named name in the bundle, and
// everything under it. Each folder is opened once; its entries are read by
// name and looked up relative to it (fstatat), so the kernel walks one name
// per entry instead of the whole path, find(1)'s way. Folders are listed on
// up to walkWorkers goroutines ahead of the one that adds their entries in
// a fixed order, so the same tree always gives the same first error.
// The folder itself goes through add; the entries under it are checked
// where they are listed (checkChild: a name can only collide with its
// siblings', unless one folds to a key holding "/", see foldsAcross) and
// handed to keep; with keep nil, every entry goes through add instead.
func walkFolder(osPath, name string, info fs.FileInfo, add func(Source) error, keep func([]Source)) error {
	s, err := sourceOf(osPath, name, info)
	if err != nil {
		return err
	}
	if err := add(s); err != nil {
		return err
	}
	w := &walker{sem: make(chan struct{}, walkWorkers), whole: keep == nil}
	defer w.stop()
	return w.addAll(w.list(osPath, name, strings.Count(name, "/")+1), add, keep)
}

const walkWorkers = 4 // more than the cores: a folder not in the cache waits for the disk

// walker lists folders concurrently; stop makes the rest finish early.
type walker struct {
	whole   bool // every entry through add (one tree), not checkChild and keep
	sem     chan struct{}
	stopped atomic.Bool
	wg      sync.WaitGroup
}

// listing is one folder's entries, filled in by list; done is closed
// when it is.
type listing struct {
	done chan struct{}
	srcs []Source
	subs []*listing // one per folder among srcs, in order
	err  error
}

// list starts listing the folder, depth levels deep in the bundle, on a
// goroutine of its own when one is free, else on this one.
func (w *walker) list(osPath, name string, depth int) *listing {
	l := &listing{done: make(chan struct{})}
	select {
	case w.sem <- struct{}{}:
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			w.fill(l, osPath, name, depth)
			<-w.sem
		}()
	default:
		w.fill(l, osPath, name, depth)
	}
	return l
}

func (w *walker) fill(l *listing, osPath, name string, depth int) {
	defer close(l.done)
	if w.stopped.Load() {
		l.err = errWalkStopped
		return
	}
	fd, err := unix.Open(osPath, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		l.err = fmt.Errorf("stage: %w", &os.PathError{Op: "open", Path: osPath, Err: err})
		return
	}
	f := os.NewFile(uintptr(fd), osPath)
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		l.err = fmt.Errorf("stage: %w", err)
		return
	}
	slices.Sort(names)
	l.srcs = make([]Source, 0, len(names))
	var siblings map[string]string
	if len(names) > 1 {
		siblings = make(map[string]string, len(names))
	}
	var st unix.Stat_t
	for _, n := range names {
		p, bn := osPath+string(os.PathSeparator)+n, name+"/"+n
		if err := unix.Fstatat(fd, n, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			l.err = fmt.Errorf("stage: %w", &os.PathError{Op: "lstat", Path: p, Err: err})
			return
		}
		s, err := sourceOfStat(p, bn, &st)
		if err == nil && !w.whole {
			err = checkChild(bn, n, depth, siblings)
			if err != nil {
				err = nameError(p, err)
			}
		}
		if err != nil {
			l.err = err
			return
		}
		l.srcs = append(l.srcs, s)
	}
	for i := range l.srcs {
		if l.srcs[i].Type == TypeDir {
			l.subs = append(l.subs, w.list(l.srcs[i].OSPath, l.srcs[i].Path, depth+1))
		}
	}
}

// addAll keeps (or with whole, adds) a listed folder's entries, then its
// folders', in order.
func (w *walker) addAll(l *listing, add func(Source) error, keep func([]Source)) error {
	<-l.done
	if w.whole {
		for _, s := range l.srcs {
			if err := add(s); err != nil {
				return err
			}
		}
	} else {
		keep(l.srcs)
	}
	if l.err != nil {
		return l.err
	}
	for _, sub := range l.subs {
		if err := w.addAll(sub, add, keep); err != nil {
			return err
		}
	}
	return nil
}

// stop ends the listing early (after an error) and waits for it.
func (w *walker) stop() {
	w.stopped.Store(true)
	w.wg.Wait()
}

var errWalkStopped = errors.New("stage: stopped")

// sourceOfStat is sourceOf for what fstatat found.
func sourceOfStat(osPath, name string, st *unix.Stat_t) (Source, error) {
	s := Source{Path: name, OSPath: osPath, Mode: fs.FileMode(st.Mode & 0o777), ModTime: time.Unix(st.Mtim.Unix())}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		s.Type, s.Size = TypeFile, st.Size
	case unix.S_IFDIR:
		s.Type = TypeDir
	case unix.S_IFLNK:
		return s, fmt.Errorf("%s is a symbolic link; bundles carry only regular files and folders: stage its target instead", safetext.Line(osPath))
	default:
		info, err := os.Lstat(osPath)
		if err != nil {
			return s, fmt.Errorf("stage: %w", err)
		}
		return sourceOf(osPath, name, info)
	}
	return s, nil
}
