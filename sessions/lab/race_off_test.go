//go:build !race

package lab

// raceDetector: see race_on_test.go.
const raceDetector = false
