package ui

import "fyne.io/fyne/v2"

// onUI runs f on Fyne's UI thread. Workers (hashing, sealing, receiving,
// verifying) change widgets only through it, and only from throttled
// callbacks, never once per read. Tests replace it with a queue they drain
// on the test goroutine, which is their UI thread.
var onUI = fyne.Do
