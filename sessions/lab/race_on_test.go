//go:build race

package lab

// raceDetector: the tests run under -race, which makes every goroutine
// several times slower and its memory several times larger (the soak's
// bounds allow for it).
const raceDetector = true
