//go:build race

package diode

const raceEnabled = true
