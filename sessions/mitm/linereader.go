package mitm

import (
	"io"

	"github.com/mailwire/mailwire/sessions"
)

// errLineTooLong: a peer sent more than MaxLine bytes without a line end.
// It is the engine's own error, so sessions.Explain names it.
var errLineTooLong = sessions.ErrLineTooLong

// newLineReader is the engine's bounded line reader with a hook before
// each read (the relay's deadlines). The relay also peeks at what is
// buffered (a TLS record rather than a command?) and takes pipelined lines
// together (LineReader.Peek, HasLine, Take).
func newLineReader(r io.Reader, max int, before func()) *sessions.LineReader {
	lr := sessions.NewLineReader(r, max)
	lr.SetBefore(before)
	return lr
}
