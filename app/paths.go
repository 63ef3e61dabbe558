package app

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"sluice/internal/safetext"
)

// ResolveMediaPath returns the real path of p, a bundle folder or a drive
// named by an officer, without following a symbolic link off the medium it
// lives on: a link on a USB stick pointing at a folder of the station
// ("link -> /var/lib/kiosk/incoming") must never make Sluice read, receive
// or wipe that folder as if it were the stick's. A link is refused when it
// lives on another filesystem than "/" and points to a filesystem other than
// its own; links on the system disk (/media -> /run/media) are followed, as
// are links that stay on their own medium. The error names the link and
// where it points.
func ResolveMediaPath(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	rootDev, err := deviceOf("/")
	if err != nil {
		return "", err
	}
	cur := string(filepath.Separator)
	rest := strings.Split(strings.TrimPrefix(filepath.ToSlash(abs), "/"), "/")
	for hops := 0; len(rest) > 0; {
		c := rest[0]
		rest = rest[1:]
		if c == "" || c == "." {
			continue
		}
		if c == ".." {
			cur = filepath.Dir(cur)
			continue
		}
		next := filepath.Join(cur, c)
		info, err := os.Lstat(next)
		if err != nil {
			return "", err
		}
		if info.Mode()&os.ModeSymlink == 0 {
			cur = next
			continue
		}
		if hops++; hops > 40 {
			return "", fmt.Errorf("%s: too many levels of symbolic links", safetext.Line(p))
		}
		target, err := os.Readlink(next)
		if err != nil {
			return "", err
		}
		resolved, err := filepath.EvalSymlinks(next)
		if err != nil {
			return "", err
		}
		linkDev, err := deviceOf(cur)
		if err != nil {
			return "", err
		}
		targetDev, err := deviceOf(resolved)
		if err != nil {
			return "", err
		}
		if linkDev != rootDev && targetDev != linkDev {
			return "", fmt.Errorf("%w: %s is a symbolic link on the medium that points off it, to %s; Sluice does not follow links off a medium: give the real folder",
				ErrRejected, safetext.Line(next), safetext.Line(target))
		}
		// Walk the target's own components, so a link inside it is
		// checked too.
		if filepath.IsAbs(target) {
			cur = string(filepath.Separator)
		}
		rest = append(strings.Split(filepath.ToSlash(target), "/"), rest...)
	}
	return cur, nil
}
