//go:build !race

package pdfcheck

const raceEnabled = false
