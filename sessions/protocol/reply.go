package protocol

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/mailwire/mailwire/sessions/wire"
)

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// Errors a bounded read can end with. Drivers wrap them; errors.Is finds them.
var (
	// ErrLineTooLong: a peer sent more than MaxLineLength bytes without LF.
	ErrLineTooLong = errors.New("line too long")
	// ErrTooManyLines: a multi-line reply went on past MaxReplyLines.
	ErrTooManyLines = errors.New("too many lines in one reply")
	// ErrMalformedReply: a line is not an SMTP reply line (RFC 5321 §4.2).
	ErrMalformedReply = errors.New("malformed reply")
)

// LineReader reads CRLF-terminated lines with a hard size limit. It reads
// from the underlying reader in chunks, so it may hold bytes beyond the last
// line returned: Buffered reports them, which is how STARTTLS detects a
// server that pipelined data after its "go ahead" (RFC 3207 §4.2,
// the STARTTLS injection class of CVE-2011-0411).
type LineReader struct {
	r          io.Reader
	buf        []byte
	start, end int
	max        int
	// before is called before each read of the underlying reader (the
	// runner sets the per-read deadline there).
	before func()
}

// NewLineReader returns a reader of lines of at most max bytes (terminator
// included).
func NewLineReader(r io.Reader, max int) *LineReader {
	return &LineReader{r: r, buf: make([]byte, max+512), max: max}
}

// Buffered returns a copy of the bytes read from the wire but not yet
// returned as a line.
func (l *LineReader) Buffered() []byte { return bytes.Clone(l.buf[l.start:l.end]) }

// ReadLine returns the next line including its terminator (LF, usually
// CRLF). The slice is a fresh copy. It returns ErrLineTooLong once max bytes
// arrived without LF (and the reader is then unusable: where the next line
// starts is unknown), io.ErrUnexpectedEOF when the peer closed mid-line, and
// io.EOF when it closed between lines.
func (l *LineReader) ReadLine() ([]byte, error) {
	scanned := 0
	for {
		if i := bytes.IndexByte(l.buf[l.start+scanned:l.end], '\n'); i >= 0 {
			n := scanned + i + 1
			if n > l.max {
				return nil, fmt.Errorf("%w: over %d bytes", ErrLineTooLong, l.max)
			}
			line := bytes.Clone(l.buf[l.start : l.start+n])
			l.start += n
			return line, nil
		}
		scanned = l.end - l.start
		if scanned >= l.max {
			return nil, fmt.Errorf("%w: %d bytes without a line end", ErrLineTooLong, scanned)
		}
		if err := l.fill(); err != nil {
			if errors.Is(err, io.EOF) && l.end > l.start {
				return nil, fmt.Errorf("peer closed after %d bytes of an unfinished line: %w", l.end-l.start, io.ErrUnexpectedEOF)
			}
			return nil, err
		}
	}
}

// fill reads once from the underlying reader into the free space,
// compacting first only when there is none (compacting on every read would
// copy a slowly arriving line over and over).
func (l *LineReader) fill() error {
	if l.start > 0 && l.end == len(l.buf) {
		copy(l.buf, l.buf[l.start:l.end])
		l.end -= l.start
		l.start = 0
	}
	if l.end == len(l.buf) {
		return fmt.Errorf("%w: %d bytes without a line end", ErrLineTooLong, l.end)
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

// SetBefore sets a function called before each read of the underlying
// reader, e.g. to set the per-read deadline.
func (l *LineReader) SetBefore(f func()) { l.before = f }

// Peek returns the buffered bytes, reading once if there are none, without
// consuming them: a relay looks at them to tell a TLS record from a
// command. The slice is valid until the next call.
func (l *LineReader) Peek() ([]byte, error) {
	for l.end == l.start {
		if err := l.fill(); err != nil {
			return nil, err
		}
	}
	return l.buf[l.start:l.end], nil
}

// HasLine says whether a complete line is already buffered, so a relay can
// take pipelined lines together without waiting on the network.
func (l *LineReader) HasLine() bool {
	return bytes.IndexByte(l.buf[l.start:l.end], '\n') >= 0
}

// Take returns a copy of the buffered bytes and forgets them.
func (l *LineReader) Take() []byte {
	b := bytes.Clone(l.buf[l.start:l.end])
	l.start, l.end = 0, 0
	return b
}

// ReadFull reads exactly n bytes (an IMAP literal, a POP3 body chunk),
// taking buffered bytes first. The caller bounds n.
func (l *LineReader) ReadFull(n int) ([]byte, error) {
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

// ReadKeep reads exactly n bytes (an IMAP literal, a body of any size),
// taking buffered bytes first, and returns the first keep of them and how
// many it read: the rest is read in chunks and dropped, so a gigabyte
// costs no more memory than keep (wire.Budget.Literal). A negative n reads
// to the end of the stream (an HTTP body delimited by the close, RFC 9112
// §6.3), which is then no error. The per-read deadline is set before each
// read, as for lines.
func (l *LineReader) ReadKeep(n int64, keep int) ([]byte, int64, error) {
	toEOF := n < 0
	if toEOF {
		n = 1<<63 - 1
	}
	keep = int(min(int64(max(keep, 0)), n))
	out := make([]byte, 0, min(keep, 64<<10))
	var got int64
	take := func(b []byte) {
		if room := keep - len(out); room > 0 {
			out = append(out, b[:min(room, len(b))]...)
		}
		got += int64(len(b))
	}
	buffered := int(min(n, int64(l.end-l.start)))
	take(l.buf[l.start : l.start+buffered])
	l.start += buffered
	var scratch []byte
	for got < n {
		if l.before != nil {
			l.before()
		}
		if scratch == nil {
			scratch = make([]byte, 32<<10)
		}
		k, err := l.r.Read(scratch[:min(int64(len(scratch)), n-got)])
		take(scratch[:k])
		if toEOF && errors.Is(err, io.EOF) {
			return out, got, nil
		}
		if err != nil && got < n {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return out, got, fmt.Errorf("read %d of %d bytes: %w", got, n, err)
		}
	}
	return out, got, nil
}

// Reply is one SMTP reply, possibly multi-line (RFC 5321 §4.2.1).
type Reply struct {
	Code int
	// Enhanced is the RFC 3463 status code of the first line ("5.7.0"),
	// when the server put one there (RFC 2034 §3).
	Enhanced string
	// Lines holds each line's text after "NNN-" or "NNN ", without CRLF.
	Lines []string
	// Raw holds the reply exactly as read, terminators included.
	Raw []byte
}

// Text is the reply's text, lines joined by a space, without the enhanced code.
func (r *Reply) Text() string {
	if len(r.Lines) == 0 {
		return ""
	}
	first := strings.TrimSpace(strings.TrimPrefix(r.Lines[0], r.Enhanced))
	return strings.Join(append([]string{first}, r.Lines[1:]...), " ")
}

// Positive says whether the code is 2xx or 3xx.
func (r *Reply) Positive() bool { return r.Code >= 200 && r.Code < 400 }

// ReadSMTPReply reads one reply. Every line must start with the same three
// digit code whose first digit is 2 to 5 (RFC 5321 §4.2); "NNN-" continues,
// "NNN " or a bare "NNN" ends it. At most maxLines lines are accepted. On
// error the lines read so far are returned in the partial reply's Raw, so the
// caller can still show what arrived.
func ReadSMTPReply(lr *LineReader, maxLines int) (*Reply, error) {
	r := &Reply{}
	for {
		line, err := lr.ReadLine()
		if err != nil {
			return r, err
		}
		r.Raw = append(r.Raw, line...)
		code, text, more, err := parseReplyLine(line)
		if err != nil {
			return r, err
		}
		if len(r.Lines) == 0 {
			r.Code = code
			r.Enhanced = enhancedCode(text, code)
		} else if code != r.Code {
			return r, fmt.Errorf("%w: line %d has code %d, the reply started with %d (RFC 5321 §4.2.1)",
				ErrMalformedReply, len(r.Lines)+1, code, r.Code)
		}
		r.Lines = append(r.Lines, text)
		if !more {
			return r, nil
		}
		if len(r.Lines) >= maxLines {
			return r, fmt.Errorf("%w: more than %d", ErrTooManyLines, maxLines)
		}
	}
}

func parseReplyLine(line []byte) (code int, text string, more bool, err error) {
	s := strings.TrimSuffix(strings.TrimSuffix(string(line), "\n"), "\r")
	if len(s) < 3 || s[0] < '2' || s[0] > '5' || !isDigit(s[1]) || !isDigit(s[2]) {
		return 0, "", false, fmt.Errorf("%w: %s does not start with a reply code 200–599 (RFC 5321 §4.2)",
			ErrMalformedReply, wire.Quote(s, 40))
	}
	code, _ = strconv.Atoi(s[:3])
	switch {
	case len(s) == 3:
		return code, "", false, nil
	case s[3] == ' ':
		return code, s[4:], false, nil
	case s[3] == '-':
		return code, s[4:], true, nil
	}
	return 0, "", false, fmt.Errorf("%w: %s: the code must be followed by a space or a hyphen (RFC 5321 §4.2)",
		ErrMalformedReply, wire.Quote(s, 40))
}

// enhancedCode returns the RFC 3463 code that starts text, when its class
// matches the reply's first digit. RFC 2034 §4 puts it right after the
// reply code's separator, followed by a space or the end of the line.
func enhancedCode(text string, code int) string {
	word, _, _ := strings.Cut(text, " ")
	parts := strings.Split(word, ".")
	if len(parts) != 3 || parts[0] != strconv.Itoa(code/100) {
		return ""
	}
	// RFC 3463 §2: subject and detail are 1 to 3 digits.
	for _, p := range parts[1:] {
		if p == "" || len(p) > 3 {
			return ""
		}
		for _, c := range []byte(p) {
			if !isDigit(c) {
				return ""
			}
		}
	}
	return word
}
