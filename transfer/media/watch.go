package media

import (
	"context"
	"sort"
	"strings"
	"time"
)

// lister is what Watch polls: System, or a fake in tests.
type lister interface {
	Drives(all bool) ([]Drive, error)
}

// key identifies a set of drives and their mounts, to notice changes.
func key(ds []Drive) string {
	var parts []string
	for _, d := range ds {
		p := d.Device
		for _, m := range d.Mounts {
			p += "|" + m.Point
		}
		parts = append(parts, p)
	}
	sort.Strings(parts)
	return strings.Join(parts, ";")
}

// Watch polls the removable drives every interval (a second is what
// officers expect) and calls fn with the new list whenever a drive or a
// mount comes or goes, and once at the start. It returns when ctx is done.
// fn runs on Watch's goroutine.
func Watch(ctx context.Context, s lister, interval time.Duration, fn func([]Drive)) {
	last := "\x00"
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if ds, err := s.Drives(false); err == nil {
			if k := key(ds); k != last {
				last = k
				fn(ds)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Changes compares two drive lists: the drives inserted and removed.
func Changes(before, after []Drive) (inserted, removed []Drive) {
	had := map[string]bool{}
	for _, d := range before {
		had[d.Device] = true
	}
	has := map[string]bool{}
	for _, d := range after {
		has[d.Device] = true
		if !had[d.Device] {
			inserted = append(inserted, d)
		}
	}
	for _, d := range before {
		if !has[d.Device] {
			removed = append(removed, d)
		}
	}
	return inserted, removed
}
