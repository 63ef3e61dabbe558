package bundle

import (
	"fmt"
	"os"
	"time"
)

// keepTime gives the open file f the modification (and access) time t and
// checks that the filesystem kept it to the second. Times are passed as
// seconds, never as nanoseconds since 1970, which overflow after 2262
// (os.Chtimes would turn 2300-01-01 into 1901-12-13). The error says what
// the filesystem kept instead.
func keepTime(f *os.File, t time.Time) error {
	if err := setTime(f, t); err != nil {
		return fmt.Errorf("its date %s could not be set: %v", t.UTC().Format(time.DateOnly), err)
	}
	info, err := f.Stat()
	if err != nil {
		return err
	}
	return dateKept(t, info.ModTime().Unix())
}

// dateKept says whether a file dated t was kept at t, to the second, by a
// filesystem that now holds got (seconds since 1970).
func dateKept(t time.Time, got int64) error {
	if got != t.Unix() {
		return fmt.Errorf("dated %s by its sender, the filesystem holds %s", t.UTC().Format(time.DateOnly), time.Unix(got, 0).UTC().Format(time.DateOnly))
	}
	return nil
}
