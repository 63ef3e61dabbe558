package cli

import (
	"fmt"

	"sluice/internal/buildinfo"
)

// runVersion prints which build this is: what an auditor compares with the
// build-changed records in a custody log.
func runVersion(e *env, args []string) error {
	fs := e.flags("version")
	pos, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("usage: sluice version")
	}
	in := buildinfo.Read()
	fmt.Fprintf(e.stdout, "sluice %s\n", in.Version)
	commit := in.Commit
	if commit == "" {
		commit = "unknown (not stamped, and the Go toolchain recorded none)"
	}
	fmt.Fprintf(e.stdout, "commit:    %s\n", commit)
	fmt.Fprintf(e.stdout, "go:        %s\n", in.GoVersion)
	if id, err := buildinfo.ExecutableID(); err == nil {
		fmt.Fprintf(e.stdout, "build id:  %s (SHA-256 of the executable, first 16 hex digits)\n", id)
	}
	fmt.Fprintln(e.stdout, "build flags:")
	for _, s := range in.Settings {
		fmt.Fprintf(e.stdout, "  %s=%s\n", s.Key, s.Value)
	}
	return nil
}
