//go:build !linux

package durable

// RenameNoReplace renames oldpath to newpath only if newpath does not
// exist; here it checks, then renames (a window the Linux version closes).
func RenameNoReplace(oldpath, newpath string) error { return renameChecked(oldpath, newpath) }
