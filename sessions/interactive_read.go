package sessions

import (
	"bytes"
	"errors"

	"github.com/mailwire/mailwire/sessions/protocol"
)

// The interactive driver's reader goroutine (interactive.go says why it
// has one). It reads one whole response at a time with the protocol's own
// reader, hands it over, and waits to be told to read the next, from which
// LineReader: after STARTTLS that is a new one, on top of TLS.

// readResult is one response as read, or the error that ended the read
// (with the bytes read before it, in raw).
type readResult struct {
	raw      []byte
	smtp     *protocol.Reply
	pop3     *protocol.POP3Response
	pop3Cont bool // POP3: a continuation request "+ " (RFC 5034 §4)
	imap     *protocol.IMAPResponse
	err      error
}

type responseReader struct {
	proto    string
	maxLines int
	// imap bounds what an IMAP response keeps (the session's budget): a
	// literal of any size is read and counted, as in the scripted session.
	imap protocol.IMAPLimits
	// multi answers, once POP3 bytes arrived, whether the response is
	// multi-line and its bound (the oldest command awaiting an answer
	// decides, RFC 1939 §3).
	multi func() (bool, int)
	next  chan *protocol.LineReader // "read one response from this reader"; closed: stop
	out   chan readResult           // closed when the goroutine ends
}

func newResponseReader(proto string, maxLines int, imap protocol.IMAPLimits, multi func() (bool, int)) *responseReader {
	return &responseReader{proto: proto, maxLines: maxLines, imap: imap, multi: multi,
		next: make(chan *protocol.LineReader), out: make(chan readResult)}
}

func (r *responseReader) loop() {
	defer close(r.out)
	for lr := range r.next {
		r.out <- r.read(lr)
	}
}

// read reads one response.
func (r *responseReader) read(lr *protocol.LineReader) readResult {
	switch r.proto {
	case protocol.POP3:
		// Whether a POP3 response is multi-line depends on the command it
		// answers, which the user may type while this goroutine already
		// waits: so it waits for the first bytes before it asks.
		if _, err := lr.Peek(); err != nil {
			return readResult{err: err}
		}
		multi, limit := r.multi()
		if limit == 0 {
			limit = protocol.POP3MaxListingBytes
		}
		resp, err := protocol.ReadPOP3ResponseLimit(lr, multi, r.maxLines, limit)
		if errors.Is(err, protocol.ErrMalformedReply) && isPOP3Continuation(resp.Raw) {
			return readResult{raw: resp.Raw, pop3Cont: true}
		}
		return readResult{raw: resp.Raw, pop3: resp, err: err}
	case protocol.IMAP:
		resp, err := protocol.ReadIMAPResponseLimit(lr, r.imap)
		return readResult{raw: resp.Raw, imap: resp, err: err}
	}
	rep, err := protocol.ReadSMTPReply(lr, r.maxLines)
	return readResult{raw: rep.Raw, smtp: rep, err: err}
}

// isPOP3Continuation says whether a POP3 line is a SASL continuation
// request: "+" SP [base64] (RFC 5034 §4), which is neither +OK nor -ERR.
func isPOP3Continuation(line []byte) bool {
	s := protocol.TrimEOL(line)
	return s == "+" || (bytes.HasPrefix(line, []byte("+ ")) && !bytes.HasPrefix(line, []byte("+OK")))
}
