package ui

import (
	"os"
	"testing"

	"sluice/internal/pdfcheck"
	"sluice/transfer/transform"
)

// TestMain lets this test binary serve as the kiosk's PDF checker: the
// station runs that check in a child process of its own executable.
func TestMain(m *testing.M) {
	pdfcheck.Serve()
	transform.Serve()
	os.Exit(m.Run())
}
