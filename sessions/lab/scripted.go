package lab

// What the two scripted servers share: the hostile servers (hostile.go),
// which accept everything, and the injection-vulnerable one
// (vulnerable.go), which follows the lab's policy and store. Both read
// command lines themselves, bounded, and both take the bytes their reader
// holds at STARTTLS (the hostile one hands them to the handshake, the
// vulnerable one keeps them as commands: the bug it demonstrates).

import (
	"bufio"
	"bytes"
	"errors"
	"strings"
)

// errLineTooLong: a client line over the server's limit.
var errLineTooLong = errors.New("command line too long")

// readLimitedLine reads one line of at most max bytes, its line end
// included, whatever the size of r's buffer, and returns it without its
// line end; a longer line is errLineTooLong.
func readLimitedLine(r *bufio.Reader, max int) (string, error) {
	var b []byte
	for {
		frag, err := r.ReadSlice('\n')
		if len(b)+len(frag) > max {
			return "", errLineTooLong
		}
		b = append(b, frag...)
		if err == nil {
			return strings.TrimRight(string(b), "\r\n"), nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return "", err
		}
	}
}

// bufferedBytes returns a copy of what r has read from its source and not
// yet handed out.
func bufferedBytes(r *bufio.Reader) []byte {
	b, _ := r.Peek(r.Buffered())
	return bytes.Clone(b)
}
