package app

import (
	"context"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"time"
)

// Change says what changed in a station since Watch last looked.
type Change struct {
	// Trust: a card was imported or removed (by any process).
	Trust bool
	// Log: records were appended to the custody log.
	Log bool
	// Settings: the release folders or the policy file changed.
	Settings bool
}

// Watch looks at the station's trust store, custody log and settings every
// interval and calls fn with what changed, until ctx ends. It reads only
// file metadata (a stat per file), so every screen of the desktop app can
// stay current — cards imported on the Station screen or by the CLI,
// records appended by another process — without a restart or a Reload
// button.
func (s *Station) Watch(ctx context.Context, every time.Duration, fn func(Change)) {
	last := s.snapshot()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := s.snapshot()
		c := Change{Trust: now.trust != last.trust, Log: now.log != last.log, Settings: now.settings != last.settings}
		last = now
		if c.Trust || c.Log || c.Settings {
			fn(c)
		}
	}
}

type snapshot struct{ trust, log, settings uint64 }

func (s *Station) snapshot() snapshot {
	var sn snapshot
	h := fnv.New64a()
	if ents, err := os.ReadDir(filepath.Join(s.Home, trustDir)); err == nil {
		for _, e := range ents {
			if info, err := e.Info(); err == nil {
				fmt.Fprintf(h, "%s %d %d\n", e.Name(), info.Size(), info.ModTime().UnixNano())
			}
		}
	}
	sn.trust = h.Sum64()
	sn.log = statKey(s.CustodyPath)
	sn.settings = statKey(filepath.Join(s.Home, desktopFile))*31 + statKey(filepath.Join(s.Home, policyFile))
	return sn
}

func statKey(path string) uint64 {
	info, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return uint64(info.Size())*1_000_003 + uint64(info.ModTime().UnixNano())
}
