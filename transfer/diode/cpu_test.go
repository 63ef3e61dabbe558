//go:build unix

package diode

import (
	"context"
	"syscall"
	"testing"
	"time"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// The sender's own cost at 1 Gbit/s, to a socket nobody reads. Long.
func TestSenderCPU(t *testing.T) {
	if !*long {
		t.Skip("long test: go test -long")
	}
	a, k := newStation(t, "alpha"), newStation(t, "kiosk")
	dir := sealBundle(t, a, k, 64<<20, 0, 40)
	to, _ := sink(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	c0 := cpuTime()
	rep, err := sendTo(t, ctx, to, []string{dir}, a, SendOptions{Rate: 1e9, Carousel: true})
	if err != nil {
		t.Fatal(err)
	}
	used := cpuTime() - c0
	wall := rep.Finished.Sub(rep.Started)
	t.Logf("%.0f Mbit/s for %s: %.2f cores (sink reader included), behind by %s", rep.Rate()/1e6, wall.Round(time.Millisecond), used.Seconds()/wall.Seconds(), rep.Behind)
}
