package diode

import (
	"context"
	"time"
)

// pacer is a token bucket: it lets bytes through at rate bytes per second
// on average, and at most burst bytes at once after an idle spell. It keeps
// the time at which everything let through so far is paid for; a caller
// ahead of that time sleeps until it.
type pacer struct {
	rate  float64 // bytes per second
	burst time.Duration
	paid  time.Time
	lost  time.Duration // time the caller fell behind by more than burst
	now   func() time.Time
	sleep func(context.Context, time.Duration) error
}

func newPacer(bytesPerSecond float64, burst time.Duration) *pacer {
	return &pacer{rate: bytesPerSecond, burst: burst, now: time.Now, sleep: sleepCtx}
}

// wait blocks until n more bytes may go, or ctx is done.
func (p *pacer) wait(ctx context.Context, n int) error {
	now := p.now()
	if floor := now.Add(-p.burst); p.paid.Before(floor) {
		if !p.paid.IsZero() {
			p.lost += floor.Sub(p.paid)
		}
		p.paid = floor // an idle bucket holds at most burst
	}
	p.paid = p.paid.Add(time.Duration(float64(n) / p.rate * float64(time.Second)))
	if d := p.paid.Sub(now); d > 0 {
		return p.sleep(ctx, d)
	}
	return ctx.Err()
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d < 2*time.Millisecond {
		time.Sleep(d)
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
