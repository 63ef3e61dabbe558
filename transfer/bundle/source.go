package bundle

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"sluice/internal/safetext"

	"sluice/crypto"
	"sluice/internal/regfile"
)

// Source is one file or directory to seal.
type Source struct {
	// Path is the entry's name in the bundle: relative, slash-separated.
	Path string
	// OSPath is where it is read from.
	OSPath  string
	Type    string // TypeFile or TypeDir
	Mode    fs.FileMode
	Size    int64
	ModTime time.Time
	// SHA256, when set, is the hash the officer reviewed. Sealing aborts if
	// the file no longer has it.
	SHA256 *crypto.Digest
	// Transformed, when set, says the file is the transformation of an
	// original; it goes into the manifest (ManifestEntry.Transformed).
	Transformed *Transformed
}

// CheckSources checks srcs as Collect checks what it collects: safe names,
// none colliding with another (also once case-folded), no file used as a
// folder. For sources changed after they were collected, such as files
// transformed and renamed (report.docx → report.pdf).
func CheckSources(srcs []Source) error {
	t := newTree()
	for _, s := range srcs {
		if err := t.add(s.Path, s.Type); err != nil {
			return nameError(s.OSPath, err)
		}
	}
	return nil
}

// nameError says that the file or folder at osPath cannot be staged under
// its name (err: unsafe, or colliding with another), and what to do.
func nameError(osPath string, err error) error {
	return fmt.Errorf("%s: %w; rename it or leave it out, then stage again", safetext.Line(osPath), err)
}

// Collect walks paths (files and folders, recursively) into the sources to
// seal, each folder or file named in the bundle by its base name. It refuses
// what a bundle cannot carry (symbolic links, devices, sockets, pipes) and
// names that are unsafe or collide, naming the offending path, so nothing is
// silently left out.
func Collect(paths []string) ([]Source, error) {
	out, err := collect(paths, false)
	if foldsAcross(out) {
		// A name folds to a key holding "/" ("a／b" as "a/b"), so it can
		// collide with a name in another folder, which the per-folder
		// check does not see: walk again with every entry through one
		// tree, in bundle order, for tree.add's verdict and first error.
		out, err = collect(paths, true)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// collect is Collect; with whole, every entry goes through one tree, else
// the walker checks each folder's names against their siblings' only.
// On an error it returns the entries kept before it, for foldsAcross.
func collect(paths []string, whole bool) ([]Source, error) {
	// Entries come a folder at a time; they are kept as the walker's
	// slices and copied once into a slice of the right size, since growing
	// one slice of 50,000 entries as they come cost a fifth of staging.
	var chunks [][]Source
	n := 0
	keep := func(ss []Source) { chunks, n = append(chunks, ss), n+len(ss) }
	t := newTree()
	add := func(s Source) error {
		if err := t.add(s.Path, s.Type); err != nil {
			return nameError(s.OSPath, err)
		}
		keep([]Source{s})
		return nil
	}
	walkKeep := keep
	if whole {
		walkKeep = nil
	}
	err := func() error {
		for _, p := range paths {
			p = filepath.Clean(p)
			info, err := os.Lstat(p)
			if err != nil {
				return fmt.Errorf("stage: %w", err)
			}
			base := filepath.Base(p)
			if base == "/" || base == "." || base == ".." {
				abs, err := filepath.Abs(p)
				if err != nil {
					return fmt.Errorf("stage %s: %w", p, err)
				}
				base = filepath.Base(abs)
			}
			if !info.IsDir() {
				s, err := sourceOf(p, base, info)
				if err != nil {
					return err
				}
				if err := add(s); err != nil {
					return err
				}
				continue
			}
			if err := walkFolder(p, base, info, add, walkKeep); err != nil {
				return err
			}
		}
		return nil
	}()
	out := make([]Source, 0, n)
	for _, c := range chunks {
		out = append(out, c...)
	}
	if err != nil {
		return out, err
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// foldsAcross says whether the name of any of srcs folds (foldComponent)
// to a key holding "/": then two names in different folders can collide
// ("a／b" beside "a/b"), as tree.add sees and a check of each folder's
// names against their siblings' does not.
func foldsAcross(srcs []Source) bool {
	for i := range srcs {
		p := srcs[i].Path
		name := p[strings.LastIndexByte(p, '/')+1:]
		if !isASCII(name) && strings.ContainsRune(foldComponent(name), '/') {
			return true
		}
	}
	return false
}

func sourceOf(osPath, name string, info fs.FileInfo) (Source, error) {
	s := Source{Path: name, OSPath: osPath, Mode: info.Mode().Perm(), ModTime: info.ModTime()}
	switch m := info.Mode(); {
	case m.IsRegular():
		s.Type, s.Size = TypeFile, info.Size()
	case m.IsDir():
		s.Type = TypeDir
	case m&fs.ModeSymlink != 0:
		return s, fmt.Errorf("%s is a symbolic link; bundles carry only regular files and folders: stage its target instead", safetext.Line(osPath))
	default:
		return s, fmt.Errorf("%s is %s; bundles carry only regular files and folders", safetext.Line(osPath), regfile.KindOf(m))
	}
	return s, nil
}

// HashFile returns the SHA-256 of the file at path, read through buf and
// counted in done, for the officer's review before sealing. It opens the
// file as sealing does (no symbolic links followed) and stops when ctx is
// done.
func HashFile(ctx context.Context, path string, buf []byte, done *atomic.Int64) (crypto.Digest, error) {
	f, err := regfile.Open(path)
	if err != nil {
		return crypto.Digest{}, fmt.Errorf("hash: %w", err)
	}
	defer f.Close()
	h := crypto.NewHash()
	for {
		if err := ctx.Err(); err != nil {
			return crypto.Digest{}, err
		}
		n, err := f.Read(buf)
		h.Write(buf[:n])
		done.Add(int64(n))
		if err == io.EOF || n == 0 && err == nil {
			return crypto.SumOf(h), nil
		}
		if err != nil {
			return crypto.Digest{}, fmt.Errorf("hash %s: %w", path, err)
		}
	}
}
