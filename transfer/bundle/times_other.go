//go:build !unix

package bundle

import (
	"fmt"
	"os"
	"time"
)

// setTime goes through os.Chtimes, which counts in nanoseconds since 1970:
// dates it cannot represent are reported rather than wrapped.
func setTime(f *os.File, t time.Time) error {
	if t.Year() < 1678 || t.Year() > 2261 {
		return fmt.Errorf("this system cannot set a date in %d", t.Year())
	}
	return os.Chtimes(f.Name(), t, t)
}
