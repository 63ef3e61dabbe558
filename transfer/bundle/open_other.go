//go:build !unix

package bundle

import "os"

// openSource opens a file to seal.
func openSource(path string) (*os.File, error) { return os.Open(path) }
