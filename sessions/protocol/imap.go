package protocol

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/mailwire/mailwire/sessions/wire"
)

// Bounds of one IMAP response. A FETCH ENVELOPE carries literals only for
// odd strings; a literal over imapMaxLiteral is not what this client asked
// for and ends the session rather than being buffered.
const (
	imapMaxLiteral  = 1 << 20
	IMAPMaxResponse = 4 << 20
	imapMaxLiterals = 256
)

// ErrLiteralTooBig: a server announced a literal larger than the client
// accepts.
var ErrLiteralTooBig = errors.New("literal too big")

// IMAPResponse is one response line with its literals (RFC 9051 §7).
type IMAPResponse struct {
	// Tag is "*" for untagged responses, "+" for a continuation request,
	// else the tag of the command completed.
	Tag string
	// Status is OK, NO, BAD, BYE or PREAUTH for a status response, else "".
	Status string
	// Code is the response code's atom in brackets (RFC 9051 §7.1),
	// upper-cased, and CodeArgs what follows it inside the brackets.
	Code, CodeArgs string
	// Data names an untagged data response: CAPABILITY, FLAGS, LIST,
	// EXISTS, FETCH, … (for "* 3 EXISTS", Number is 3).
	Data   string
	Number int
	// Text is the human-readable text of a status response, or the rest of
	// a data response's first line.
	Text string
	// Caps are the capabilities of a CAPABILITY response or response code.
	Caps []string
	// Raw is the response as read, or (ReadIMAPResponseLimit) its kept
	// part: Bytes counts the whole response, Cut the bytes Raw lacks.
	Raw   []byte
	Bytes int64
	Cut   int64
	// Literals is how many literals the response carried, LiteralBytes
	// their size in all.
	Literals     int
	LiteralBytes int64
}

// ReadIMAPResponse reads one response: a line, and for an untagged data
// response every literal ({n}CRLF followed by n bytes, RFC 9051 §4.3) and
// the line's continuation after it. Lines are bounded by the reader, each
// literal by imapMaxLiteral, the whole by IMAPMaxResponse: a larger one is
// an error. On error the bytes read so far are in the partial response's
// Raw. ReadIMAPResponseLimit reads any size and keeps a part.
func ReadIMAPResponse(lr *LineReader) (*IMAPResponse, error) {
	return readIMAPResponse(lr, IMAPLimits{}, true)
}

// IMAPLimits bound what ReadIMAPResponseLimit keeps of one response (the
// session's wire.Budget): the rest is read and counted, never held.
type IMAPLimits struct {
	// Literal is how many bytes of each literal Raw keeps; negative: all.
	Literal int
	// Keep is how many bytes of the whole response Raw keeps, lines
	// included; negative: all.
	Keep int
}

// ReadIMAPResponseLimit is ReadIMAPResponse for a response of any size:
// literals are read in chunks and only what lim allows is kept, so memory
// stays bounded whatever the server announces. Bytes counts the whole
// response, Cut what Raw does not hold.
func ReadIMAPResponseLimit(lr *LineReader, lim IMAPLimits) (*IMAPResponse, error) {
	return readIMAPResponse(lr, lim, false)
}

func readIMAPResponse(lr *LineReader, lim IMAPLimits, strict bool) (*IMAPResponse, error) {
	r := &IMAPResponse{}
	keepAll := wire.Limit(lim.Keep)
	add := func(b []byte, kept int) {
		r.Raw = append(r.Raw, b[:kept]...)
		r.Bytes += int64(len(b))
		r.Cut += int64(len(b) - kept)
	}
	line, err := lr.ReadLine()
	if err != nil {
		return r, err
	}
	if strict {
		add(line, len(line))
	} else {
		add(line, min(len(line), keepAll))
	}
	s := TrimEOL(line)
	tag, rest, _ := strings.Cut(s, " ")
	if tag == "" || strings.ContainsAny(tag, "(){%\"\\]") || strings.ContainsFunc(tag, isCtlOrSpace) {
		return r, fmt.Errorf("%w: %s does not start with a tag, \"*\" or \"+\" (RFC 9051 §2.2.2)", ErrMalformedReply, wire.Quote(s, 40))
	}
	r.Tag = tag
	if tag == "+" {
		r.Text = rest
		return r, nil
	}
	word, after, _ := strings.Cut(rest, " ")
	switch w := strings.ToUpper(word); w {
	case "OK", "NO", "BAD", "BYE", "PREAUTH":
		// resp-text: an optional [code] and text; never literals.
		r.Status = w
		r.Code, r.CodeArgs, r.Text = imapRespCode(after)
		if r.Code == "CAPABILITY" {
			r.Caps = imapCaps(r.CodeArgs)
		}
		return r, nil
	}
	if tag != "*" {
		return r, fmt.Errorf("%w: tagged response %s without OK, NO or BAD (RFC 9051 §7.1)", ErrMalformedReply, wire.Quote(s, 40))
	}
	if n, err := strconv.ParseUint(word, 10, 32); err == nil {
		r.Number = int(n)
		word, after, _ = strings.Cut(after, " ")
	}
	r.Data = strings.ToUpper(word)
	if r.Data == "" {
		return r, fmt.Errorf("%w: empty untagged response (RFC 9051 §7)", ErrMalformedReply)
	}
	r.Text = after
	if r.Data == "CAPABILITY" {
		r.Caps = imapCaps(after)
	}
	// Follow literals: each "{n}" at the end of a line announces n bytes,
	// after which the same response goes on with another line.
	for literals := 0; ; literals++ {
		n, ok, err := imapLiteral(TrimEOL(line), strict)
		if err != nil {
			return r, err
		}
		if !ok {
			return r, nil
		}
		if literals >= imapMaxLiterals {
			return r, fmt.Errorf("%w: more than %d literals in one response", ErrTooManyLines, imapMaxLiterals)
		}
		if strict && int64(len(r.Raw))+n > IMAPMaxResponse {
			return r, fmt.Errorf("%w: one response over %d bytes", ErrTooManyLines, IMAPMaxResponse)
		}
		keep := int(min(n, int64(IMAPMaxResponse)))
		if !strict {
			keep = int(min(n, int64(wire.Limit(lim.Literal)), int64(max(keepAll-len(r.Raw), 0))))
		}
		r.Literals++
		r.LiteralBytes += n
		lit, got, err := lr.ReadKeep(n, keep)
		r.Raw = append(r.Raw, lit...)
		r.Bytes += got
		r.Cut += got - int64(len(lit))
		if errors.Is(err, io.EOF) {
			err = fmt.Errorf("%s: %w", err.Error(), io.ErrUnexpectedEOF) // the peer closed inside the response
		}
		if err != nil {
			return r, fmt.Errorf("literal of %d bytes: %w", n, err)
		}
		line, err = lr.ReadLine()
		if strict {
			add(line, len(line))
		} else {
			add(line, min(len(line), max(keepAll-len(r.Raw), 0)))
		}
		if err != nil {
			return r, err
		}
	}
}

func isCtlOrSpace(r rune) bool { return r <= ' ' || r == 0x7f }

// imapLiteral reports whether s (a line without CRLF) ends in a literal's
// announcement "{n}" (or "{n+}", RFC 7888, or "~{n}", RFC 3516) and its
// size; strict refuses one over imapMaxLiteral. RFC 9051 §4.3 sets no
// maximum; a number past 2^63 is a malformed response.
func imapLiteral(s string, strict bool) (int64, bool, error) {
	num, ok := literalDigits(s)
	if !ok {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("%w: the literal size %s is not a number a client can count to", ErrMalformedReply, wire.Truncate(num, 20))
	}
	if strict && n > imapMaxLiteral {
		// Wrapping ErrTooManyLines too gives it the "reply too long" explanation.
		return 0, false, fmt.Errorf("%w: %w: the server announced a literal of %s bytes; the limit is %d",
			ErrTooManyLines, ErrLiteralTooBig, wire.Truncate(num, 20), imapMaxLiteral)
	}
	return n, true, nil
}

// literalDigits returns the size's digits when s (without CRLF) ends in a
// literal's announcement: "{n}", "{n+}" (RFC 7888) or "~{n}" (RFC 3516).
func literalDigits(s string) (string, bool) {
	if !strings.HasSuffix(s, "}") {
		return "", false
	}
	i := strings.LastIndexByte(s, '{')
	if i < 0 {
		return "", false
	}
	num := strings.TrimSuffix(s[i+1:len(s)-1], "+")
	if num == "" || strings.ContainsFunc(num, func(r rune) bool { return r < '0' || r > '9' }) {
		return "", false
	}
	return num, true
}

// AnnouncedLiteral reports whether an IMAP line (with or without its CRLF)
// ends in a literal's announcement, "{n}", "{n+}" (RFC 9051 §4.3, RFC 7888)
// or "~{n}" (RFC 3516), and the n octets that follow it; a size past 2^63-1
// comes back as math.MaxInt64, for the caller's bound to refuse. The one
// home of the rule for the readers that follow a conversation from
// outside it (the attacker's relay, the lab monitor, the load generator).
func AnnouncedLiteral(line string) (int64, bool) {
	num, ok := literalDigits(strings.TrimRight(line, "\r\n"))
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return math.MaxInt64, true
	}
	return n, true
}

// imapRespCode splits "[CODE args] text" (RFC 9051 §7.1).
func imapRespCode(s string) (code, args, text string) {
	if !strings.HasPrefix(s, "[") {
		return "", "", s
	}
	end := strings.IndexByte(s, ']')
	if end < 0 {
		return "", "", s
	}
	code, args, _ = strings.Cut(s[1:end], " ")
	return strings.ToUpper(code), args, strings.TrimSpace(s[end+1:])
}

// imapCaps splits a capability list; capability names are atoms and
// case-insensitive (RFC 9051 §7.2.2), so they are upper-cased.
func imapCaps(s string) []string {
	f := strings.Fields(s)
	for i := range f {
		f[i] = Keyword(f[i])
	}
	return f
}

// IMAPQuote makes s an IMAP quoted string (RFC 9051 §4.3): backslash and
// double quote are escaped. Options already refuse CR, LF and NUL.
func IMAPQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// IMAPLineCode is Line.Code for a response: the status, or "*" for
// untagged data, or "+" for a continuation request.
func IMAPLineCode(r *IMAPResponse) string {
	switch {
	case r.Status != "":
		return r.Status
	case r.Tag == "*" || r.Tag == "+":
		return r.Tag
	}
	return ""
}
