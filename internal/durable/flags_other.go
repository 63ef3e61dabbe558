//go:build !unix

package durable

const safeFlags = 0
