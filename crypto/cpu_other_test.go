//go:build !amd64

package crypto

func hasAVX512() bool { return false }
