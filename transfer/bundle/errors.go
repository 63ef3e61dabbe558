package bundle

import (
	"errors"
	"fmt"
)

// ErrRejected is wrapped by every error that means "this bundle must not be
// released": a bad signature, a failed hash, an unsafe entry, a broken
// stream. Other errors are environment errors (a full disk, a permission).
var ErrRejected = errors.New("rejected")

// ErrNotForThisStation is returned when none of the station's identities can
// open the payload.
var ErrNotForThisStation = fmt.Errorf("%w: the bundle was not sealed for this station", ErrRejected)

// ErrWrite is wrapped when writing the bundle to its destination fails (a
// full, removed, read-only or failing drive), as opposed to reading the
// files being sealed.
var ErrWrite = errors.New("writing the bundle failed")

type rejectError struct{ msg string }

func (e *rejectError) Error() string        { return e.msg }
func (e *rejectError) Is(target error) bool { return target == ErrRejected }

func rejectf(format string, args ...any) error {
	return &rejectError{msg: fmt.Sprintf(format, args...)}
}
