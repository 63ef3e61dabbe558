package bundle

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"

	"sluice/crypto"
	"sluice/internal/safetext"
)

// Folders are listed concurrently, yet a tree gives the same answer every
// time: the same entries in the same order, and, when two things in it
// are refused, always the first in bundle order, named by its path.
func TestCollectConcurrentWalk(t *testing.T) {
	src := t.TempDir()
	files := map[string]string{}
	for d := range 300 {
		for f := range 5 {
			files[fmt.Sprintf("top/d%03d/sub/f%d", d, f)] = "x"
		}
	}
	writeTree(t, src, files)
	top := filepath.Join(src, "top")
	first, err := Collect([]string{top})
	if err != nil {
		t.Fatal(err)
	}
	if want := 1 + 300*2 + 300*5; len(first) != want {
		t.Fatalf("collected %d entries, want %d", len(first), want)
	}
	for i := 1; i < len(first); i++ {
		if first[i-1].Path >= first[i].Path {
			t.Fatalf("entries out of order: %s before %s", first[i-1].Path, first[i].Path)
		}
	}
	for range 5 {
		again, err := Collect([]string{top})
		if err != nil || len(again) != len(first) {
			t.Fatalf("second walk: %d entries, %v", len(again), err)
		}
		for i := range again {
			if again[i].Path != first[i].Path || again[i].OSPath != first[i].OSPath || again[i].Size != first[i].Size {
				t.Fatalf("entry %d: %+v, then %+v", i, first[i], again[i])
			}
		}
	}

	fifo := filepath.Join(top, "d150", "sub", "f2x")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	os.Symlink("f1", filepath.Join(top, "d200", "sub", "link"))
	for range 20 {
		_, err := Collect([]string{top})
		if err == nil || !strings.Contains(err.Error(), fifo) || !strings.Contains(err.Error(), "FIFO") {
			t.Fatalf("got %v, want the FIFO %s refused", err, fifo)
		}
	}
	os.Remove(fifo)
	if _, err := Collect([]string{top}); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("link deep in the tree: got %v", err)
	}
	os.Remove(filepath.Join(top, "d200", "sub", "link"))

	if os.Geteuid() == 0 {
		t.Log("running as root: an unreadable folder cannot be tested (root reads it)")
		return
	}
	locked := filepath.Join(top, "d100", "sub")
	os.Chmod(locked, 0)
	defer os.Chmod(locked, 0o755)
	if _, err := Collect([]string{top}); err == nil || !strings.Contains(err.Error(), locked) || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("unreadable folder: got %v", err)
	}
}

// The walker checks a folder's names where it lists them (checkChild), not
// through one tree: on random trees of hostile names (case and look-alike
// collisions, reserved and hidden characters, bytes that are not UTF-8,
// paths too long and too deep) it must give exactly the verdict, and the
// first error, of every entry going through tree.add in bundle order.
func TestCollectNamesAsTree(t *testing.T) {
	names := []string{"a", "A", "b", "file", "ﬁle", "cope.pdf", "соре.pdf", "Ünï", "ünï", "CON.txt", "x\u202ey", "dot.",
		"ok", "\xff\xfe", strings.Repeat("n", 250), strings.Repeat("N", 250), "Пример", "пример", "p\u0430ypal", "d"}
	r := rand.New(rand.NewPCG(11, 14))
	kinds := map[string]int{}
	for trial := range 300 {
		src := t.TempDir()
		top := filepath.Join(src, "top")
		if err := os.Mkdir(top, 0o755); err != nil {
			t.Fatal(err)
		}
		for range 1 + r.IntN(6) {
			p := top
			for range 1 + r.IntN(5) {
				p = filepath.Join(p, names[r.IntN(len(names))])
			}
			if len(p) > 3000 {
				continue
			}
			if r.IntN(2) == 0 {
				os.MkdirAll(p, 0o755)
			} else if os.MkdirAll(filepath.Dir(p), 0o755) == nil {
				os.WriteFile(p, nil, 0o644)
			}
		}
		switch trial % 50 {
		case 0: // one deeper than a bundle may go
			deep := top
			for range MaxDepth {
				deep = filepath.Join(deep, "d")
			}
			os.MkdirAll(deep, 0o755)
		case 25: // a path longer than a bundle may hold
			os.MkdirAll(filepath.Join(top, "ok", names[14], names[14], names[14], names[15], names[14]), 0o755)
		}
		_, got := Collect([]string{top})
		want := collectManyByTree([]string{top})
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("trial %d:\n got  %v\n want %v", trial, got, want)
		}
		kind := "accepted"
		for _, k := range []string{"differ only in case", "not valid UTF-8", "longer than", "levels deep", "reserved Windows", "holds", "ends with a dot", "mixes"} {
			if got != nil && strings.Contains(got.Error(), k) {
				kind = k
			}
		}
		kinds[kind]++
	}
	// The trees must have met every verdict (the eight refusals and
	// acceptance), or the comparison proves little.
	t.Logf("verdicts: %v", kinds)
	if len(kinds) < 9 || kinds["accepted"] == 0 {
		t.Errorf("too few kinds of verdict: %v", kinds)
	}
}

// A staged file that becomes a FIFO, a link or a folder before sealing is
// opened without looking again (Dir.ReadSmallStaged) but never read: the
// seal stops at once, naming it, and leaves nothing behind. A FIFO with no
// writer would block an open without O_NONBLOCK for ever.
func TestSealRefusesFilesSwappedAfterStaging(t *testing.T) {
	alice, kiosk := newStation(t, "alice"), newStation(t, "kiosk")
	swaps := []struct {
		name string
		swap func(p string) error
		want string
	}{
		{"fifo", func(p string) error { return syscall.Mkfifo(p, 0o600) }, "FIFO"},
		{"link", func(p string) error { return os.Symlink("f000", p) }, "symbolic link"},
		{"folder", func(p string) error { return os.Mkdir(p, 0o755) }, "folder"},
		{"socket", func(p string) error { _, err := net.Listen("unix", p); return err }, "socket"},
	}
	for _, c := range swaps {
		src := t.TempDir()
		files := map[string]string{}
		for i := range 100 {
			files[fmt.Sprintf("d/f%03d", i)] = "small"
		}
		writeTree(t, src, files)
		srcs, err := Collect([]string{filepath.Join(src, "d")})
		if err != nil {
			t.Fatal(err)
		}
		victim := filepath.Join(src, "d", "f050")
		if err := os.Remove(victim); err != nil {
			t.Fatal(err)
		}
		if err := c.swap(victim); err != nil {
			t.Fatal(err)
		}
		out := t.TempDir()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		_, err = Seal(ctx, out, srcs, SealOptions{SenderName: "alice", Signer: alice.keys.Signer, Recipients: []crypto.Card{kiosk.card}})
		cancel()
		if err == nil || !strings.Contains(err.Error(), victim) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %s named as %s", c.name, err, victim, c.want)
		}
		if ents, _ := os.ReadDir(out); len(ents) != 0 {
			t.Errorf("%s: the refused seal left %d entries", c.name, len(ents))
		}
	}
}

// Small files are created with their mode at once and chmod-ed only when
// the umask would take bits from it: under umask 077 as under 022 every
// file keeps the mode and date its sender gave it.
func TestExtractModesUnderUmask(t *testing.T) {
	src := t.TempDir()
	modes := map[string]os.FileMode{"d/ro.txt": 0o644, "d/exe.sh": 0o755, "d/own.txt": 0o600, "d/grp.txt": 0o640}
	date := time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)
	for p, m := range modes {
		writeTree(t, src, map[string]string{p: "content of " + p})
		os.Chmod(filepath.Join(src, p), m)
		os.Chtimes(filepath.Join(src, p), date, date)
	}
	alice, kiosk := newStation(t, "alice"), newStation(t, "kiosk")
	s := seal(t, alice, []station{kiosk}, []string{filepath.Join(src, "d")}, 0)
	for _, umask := range []int{0o077, 0o022, 0o000} {
		old := syscall.Umask(umask)
		_, q, err := receive(t, s.Dir, alice, kiosk)
		syscall.Umask(old)
		if err != nil {
			t.Fatalf("umask %03o: %v", umask, err)
		}
		for p, m := range modes {
			info, err := os.Stat(filepath.Join(q, p))
			if err != nil {
				t.Fatalf("umask %03o: %v", umask, err)
			}
			if info.Mode().Perm() != m || !info.ModTime().Equal(date) {
				t.Errorf("umask %03o: %s is %v dated %v, want %v dated %v", umask, p, info.Mode().Perm(), info.ModTime().UTC(), m, date)
			}
		}
	}
}

// A name can fold to a key holding "/" (a full-width solidus: "a／b"
// folds as "a/b"), so its look-alike can sit in another folder ("a/b"),
// or under another staged path: the per-folder check must still give
// tree.add's verdict, and its first error, on every such tree. The kiosk
// parses the manifest through tree.add, so a tree staging accepts and it
// refuses is a bundle sealed for nothing.
func TestCollectFoldsAcrossFolders(t *testing.T) {
	for _, c := range []struct {
		name  string
		files map[string]string
		stage []string
	}{
		{"in one staged folder", map[string]string{"top/a/b": "x", "top/a\uff0fb": "y"}, []string{"top"}},
		{"before a later link", map[string]string{"top/a/b": "x", "top/a\uff0fb": "y", "top/z/f": "z"}, []string{"top"}},
		{"a staged file beside a staged folder", map[string]string{"x/a\uff0fb": "y", "y/a/b": "x"}, []string{"x/a\uff0fb", "y/a"}},
		{"a staged folder beside a staged file", map[string]string{"x/a\uff0fb": "y", "y/a/b": "x"}, []string{"y/a", "x/a\uff0fb"}},
		{"℀ folds to a/c", map[string]string{"top/a\u2100/k": "x", "top/aa/c/k": "y"}, []string{"top"}},
	} {
		src := t.TempDir()
		writeTree(t, src, c.files)
		if c.name == "before a later link" {
			os.Symlink("f", filepath.Join(src, "top", "z", "link"))
		}
		var paths []string
		for _, p := range c.stage {
			paths = append(paths, filepath.Join(src, filepath.FromSlash(p)))
		}
		_, got := Collect(paths)
		want := collectManyByTree(paths)
		if want == nil || !strings.Contains(want.Error(), "differ only in case") {
			t.Fatalf("%s: the whole tree says %v; the test expects a collision", c.name, want)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s:\n got  %v\n want %v", c.name, got, want)
		}
	}
}

// A name listed twice (a folder changing while it is listed can give
// one) is refused as tree.add refuses it.
func TestCheckChildTwice(t *testing.T) {
	tr := newTree()
	tr.add("top", TypeDir)
	tr.add("top/x", TypeFile)
	want := tr.add("top/x", TypeFile)
	sib := map[string]string{}
	checkChild("top/x", "x", 1, sib)
	got := checkChild("top/x", "x", 1, sib)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// collectManyByTree is Collect's walk of several staged paths, each named
// by its base name, with every entry through one tree.add in bundle order.
func collectManyByTree(paths []string) error {
	tr := newTree()
	add := func(osPath, name, typ string) error {
		if err := tr.add(name, typ); err != nil {
			return nameError(osPath, err)
		}
		return nil
	}
	var walk func(osPath, name string) error
	walk = func(osPath, name string) error {
		ents, err := os.ReadDir(osPath)
		if err != nil {
			return err
		}
		var dirs []string
		for _, e := range ents {
			p := osPath + "/" + e.Name()
			if e.Type()&os.ModeSymlink != 0 {
				return fmt.Errorf("%s is a symbolic link; bundles carry only regular files and folders: stage its target instead", safetext.Line(p))
			}
			typ := TypeFile
			if e.IsDir() {
				typ = TypeDir
				dirs = append(dirs, e.Name())
			}
			if err := add(p, name+"/"+e.Name(), typ); err != nil {
				return err
			}
		}
		for _, d := range dirs {
			if err := walk(osPath+"/"+d, name+"/"+d); err != nil {
				return err
			}
		}
		return nil
	}
	for _, p := range paths {
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if !info.IsDir() {
			if err := add(p, filepath.Base(p), TypeFile); err != nil {
				return err
			}
			continue
		}
		if err := add(p, filepath.Base(p), TypeDir); err != nil {
			return err
		}
		if err := walk(p, filepath.Base(p)); err != nil {
			return err
		}
	}
	return nil
}

// Where the quarantine's folder has a default ACL (a release folder set
// up with setfacl -d), a new file takes its mode from the ACL, not the
// umask: created with mode 0644 under a default ACL of u::rwx,g::r-x,o::---
// it is 0640 though the umask (022) takes nothing. Every small file must
// still keep the mode its sender gave it, as a chmod gives it.
func TestExtractModesUnderDefaultACL(t *testing.T) {
	src := t.TempDir()
	modes := map[string]os.FileMode{"d/ro.txt": 0o644, "d/exe.sh": 0o755, "d/own.txt": 0o600}
	for p, m := range modes {
		writeTree(t, src, map[string]string{p: "content of " + p})
		os.Chmod(filepath.Join(src, p), m)
	}
	alice, kiosk := newStation(t, "alice"), newStation(t, "kiosk")
	s := seal(t, alice, []station{kiosk}, []string{filepath.Join(src, "d")}, 0)
	b, err := Open(s.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.VerifySignature(alice.card.SigningKey); err != nil {
		t.Fatal(err)
	}
	q := t.TempDir()
	// system.posix_acl_default: version 2, then (tag, perm, id) entries:
	// user::rwx, group::r-x, other::---.
	acl := []byte{2, 0, 0, 0}
	for _, e := range [][2]uint16{{0x01, 7}, {0x04, 5}, {0x20, 0}} {
		acl = append(acl, byte(e[0]), byte(e[0]>>8), byte(e[1]), byte(e[1]>>8), 0xff, 0xff, 0xff, 0xff)
	}
	if err := syscall.Setxattr(q, "system.posix_acl_default", acl, 0); err != nil {
		t.Skipf("no POSIX ACLs here: %v", err)
	}
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	root, err := os.OpenRoot(q)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	if _, err := b.Extract(context.Background(), []age.Identity{kiosk.keys.Identity}, root, nil); err != nil {
		t.Fatal(err)
	}
	for p, m := range modes {
		info, err := os.Stat(filepath.Join(q, p))
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != m {
			t.Errorf("%s is %v, want %v", p, info.Mode().Perm(), m)
		}
	}
}
