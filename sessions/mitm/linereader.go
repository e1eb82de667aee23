package mitm

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/mailwire/mailwire/sessions"
)

// errLineTooLong: a peer sent more than MaxLine bytes without a line end.
// It is the engine's own error, so sessions.Explain names it.
var errLineTooLong = sessions.ErrLineTooLong

// lineReader reads bounded lines and, unlike sessions.LineReader, lets
// the relay look at what is buffered: whether the next bytes are a TLS
// record rather than a command, and whether more complete lines already
// arrived with this one (so a pipelined batch, or a message body, becomes
// one event).
type lineReader struct {
	r          io.Reader
	buf        []byte
	start, end int
	max        int
	before     func() // called before each read of r (deadlines)
}

func newLineReader(r io.Reader, max int, before func()) *lineReader {
	return &lineReader{r: r, buf: make([]byte, max+512), max: max, before: before}
}

// fill reads once from r into the free space, compacting first when there
// is none (compacting on every read would copy a slowly arriving line over
// and over).
func (l *lineReader) fill() error {
	if l.start > 0 && l.end == len(l.buf) {
		copy(l.buf, l.buf[l.start:l.end])
		l.end -= l.start
		l.start = 0
	}
	if l.end == len(l.buf) {
		return fmt.Errorf("%w: %d bytes without a line end", errLineTooLong, l.end)
	}
	if l.before != nil {
		l.before()
	}
	n, err := l.r.Read(l.buf[l.end:])
	l.end += n
	if err != nil && n == 0 {
		return err
	}
	return nil
}

// peek returns at least one buffered byte (reading if none is), without
// consuming it. The slice is valid until the next call.
func (l *lineReader) peek() ([]byte, error) {
	for l.end == l.start {
		if err := l.fill(); err != nil {
			return nil, err
		}
	}
	return l.buf[l.start:l.end], nil
}

// hasLine says whether a complete line is already buffered.
func (l *lineReader) hasLine() bool {
	return bytes.IndexByte(l.buf[l.start:l.end], '\n') >= 0
}

// buffered returns a copy of the buffered bytes and forgets them.
func (l *lineReader) take() []byte {
	b := bytes.Clone(l.buf[l.start:l.end])
	l.start, l.end = 0, 0
	return b
}

// readLine returns the next line with its terminator (a fresh copy).
// errLineTooLong once max bytes came without LF; io.ErrUnexpectedEOF when
// the peer closed mid-line; io.EOF when it closed between lines.
func (l *lineReader) readLine() ([]byte, error) {
	scanned := 0
	for {
		if i := bytes.IndexByte(l.buf[l.start+scanned:l.end], '\n'); i >= 0 {
			n := scanned + i + 1
			if n > l.max {
				return nil, fmt.Errorf("%w: over %d bytes", errLineTooLong, l.max)
			}
			line := bytes.Clone(l.buf[l.start : l.start+n])
			l.start += n
			return line, nil
		}
		scanned = l.end - l.start
		if scanned >= l.max {
			return nil, fmt.Errorf("%w: %d bytes without a line end", errLineTooLong, scanned)
		}
		if err := l.fill(); err != nil {
			if errors.Is(err, io.EOF) && l.end > l.start {
				return nil, fmt.Errorf("peer closed after %d bytes of an unfinished line: %w", l.end-l.start, io.ErrUnexpectedEOF)
			}
			return nil, err
		}
	}
}

// readN reads exactly n bytes (an IMAP literal, a BDAT chunk), buffered
// bytes first. The caller bounds n.
func (l *lineReader) readN(n int) ([]byte, error) {
	out := make([]byte, 0, n)
	take := min(n, l.end-l.start)
	out = append(out, l.buf[l.start:l.start+take]...)
	l.start += take
	for len(out) < n {
		if l.before != nil {
			l.before()
		}
		chunk := min(n-len(out), 32<<10)
		k, err := io.ReadFull(l.r, out[len(out):len(out)+chunk])
		out = out[:len(out)+k]
		if err != nil {
			return out, fmt.Errorf("read %d of %d bytes: %w", len(out), n, err)
		}
	}
	return out, nil
}
