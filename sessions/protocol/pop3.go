package protocol

import (
	"fmt"
	"strings"

	"github.com/mailwire/mailwire/sessions/wire"
)

// Bounds of a multi-line response. A RETR of a huge message must not grow
// memory without bound: the driver keeps (and shows) the first
// POP3KeepBytes and counts the rest; past POP3MaxBytes it gives up.
const (
	POP3KeepBytes = 64 << 10
	POP3MaxBytes  = 64 << 20
	// A capability or scan listing has no reason to be large (RFC 2449
	// capabilities are a few short lines; a LIST line is two numbers), so
	// it gets a much smaller bound than a message: a server that streams
	// an endless CAPA is cut off before its TLS records fill the event
	// stream.
	POP3MaxListingBytes = 1 << 20
)

// POP3Response is one response as read (RFC 1939 §3).
type POP3Response struct {
	OK   bool   // "+OK" (else "-ERR")
	Code string // RFC 2449 §8 response code, without brackets
	Text string // the status line's text after the status and the code
	// Lines are the dot-unstuffed lines of a multi-line response, without
	// CRLF and without the terminating ".", as far as they were kept.
	Lines []string
	// Raw is the response as read, terminators included, cut at the
	// kept bytes (POP3KeepBytes, or ReadPOP3ResponseKeep's) when Truncated.
	Raw       []byte
	Truncated bool
	Total     int // bytes of the whole response on the wire

	keepMax int // bytes of Raw kept
}

// Status returns "+OK" or "-ERR".
func (r *POP3Response) Status() string {
	if r.OK {
		return "+OK"
	}
	return "-ERR"
}

// ReadPOP3Response reads one response. multi says whether a positive
// response to this command is multi-line (CAPA, LIST, RETR): then the lines
// up to the lone "." are read and dot-unstuffed (RFC 1939 §3). A negative
// response is always one line. maxLines bounds the lines kept for parsing
// (CAPA); Raw keeps up to POP3KeepBytes (Truncated says it was cut). On
// error the partial response is returned, so the caller can show what came.
func ReadPOP3Response(lr *LineReader, multi bool, maxLines int) (*POP3Response, error) {
	return ReadPOP3ResponseLimit(lr, multi, maxLines, POP3MaxBytes)
}

// ReadPOP3ResponseLimit is ReadPOP3Response with a bound on the whole
// response's size.
func ReadPOP3ResponseLimit(lr *LineReader, multi bool, maxLines, maxBytes int) (*POP3Response, error) {
	return ReadPOP3ResponseKeep(lr, multi, maxLines, maxBytes, POP3KeepBytes)
}

// ReadPOP3ResponseKeep is ReadPOP3ResponseLimit keeping keep bytes of the
// response in Raw (the session's budget, wire.Budget.Literal); a negative
// maxBytes reads a response of any size to its end, counting it in Total.
func ReadPOP3ResponseKeep(lr *LineReader, multi bool, maxLines, maxBytes, keep int) (*POP3Response, error) {
	r := &POP3Response{keepMax: wire.Limit(keep)}
	maxBytes = wire.Limit(maxBytes)
	line, err := lr.ReadLine()
	if err != nil {
		return r, err
	}
	r.keep(line)
	s := TrimEOL(line)
	switch {
	case strings.HasPrefix(s, "+OK") && (len(s) == 3 || s[3] == ' '):
		r.OK = true
	case strings.HasPrefix(s, "-ERR") && (len(s) == 4 || s[4] == ' '):
	default:
		return r, fmt.Errorf("%w: %s does not start with +OK or -ERR (RFC 1939 §3)", ErrMalformedReply, wire.Quote(s, 40))
	}
	_, rest, _ := strings.Cut(s, " ")
	r.Code, r.Text = pop3RespCode(rest)
	if !multi || !r.OK {
		return r, nil
	}
	for {
		line, err := lr.ReadLine()
		if err != nil {
			return r, err
		}
		r.keep(line)
		if r.Total > maxBytes {
			return r, fmt.Errorf("%w: multi-line response over %d bytes", ErrTooManyLines, maxBytes)
		}
		l := TrimEOL(line)
		if l == "." {
			return r, nil
		}
		// RFC 1939 §3: a line starting with "." was byte-stuffed.
		l = strings.TrimPrefix(l, ".")
		// Lines are for parsing (CAPA); past maxLines or past the kept
		// bytes they are dropped, and Raw (with Truncated) shows the rest.
		if !r.Truncated && len(r.Lines) < maxLines {
			r.Lines = append(r.Lines, l)
		}
	}
}

// keep adds line to Raw within the kept bytes and counts it.
func (r *POP3Response) keep(line []byte) {
	r.Total += len(line)
	if room := r.keepMax - len(r.Raw); room > 0 {
		if len(line) > room {
			line = line[:room]
			r.Truncated = true
		}
		r.Raw = append(r.Raw, line...)
	} else {
		r.Truncated = true
	}
}

// pop3RespCode splits "[CODE] text" (RFC 2449 §8: the code is in brackets
// right after the status; hierarchical codes use "/", e.g. SYS/TEMP).
func pop3RespCode(s string) (code, text string) {
	if !strings.HasPrefix(s, "[") {
		return "", s
	}
	end := strings.IndexByte(s, ']')
	if end < 0 || end > 64 {
		return "", s
	}
	return strings.ToUpper(s[1:end]), strings.TrimSpace(s[end+1:])
}

func TrimEOL(line []byte) string {
	return strings.TrimSuffix(strings.TrimSuffix(string(line), "\n"), "\r")
}

// ParseCAPA returns the capability lines: "keyword [args]" (RFC 2449 §5),
// keyword upper-cased (keywords are case-insensitive).
func ParseCAPA(lines []string) []string {
	var caps []string
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		f[0] = Keyword(f[0])
		caps = append(caps, strings.Join(f, " "))
	}
	return caps
}
