package tlsprobe

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

// maxUntagged bounds the untagged IMAP responses read while waiting for
// the STARTTLS completion.
const maxUntagged = 32

// PreambleError is an explicit-TLS preamble the server did not carry
// through to its go-ahead: a greeting that refuses, STARTTLS refused or
// not offered, a reply that does not parse, a close.
type PreambleError struct {
	// Step is where it stopped: "greeting", "EHLO", "STARTTLS" (or "STLS").
	Step string
	// Reply is the server's reply, Go-quoted and cut to a line's worth;
	// still peer-controlled text.
	Reply string
	// Busy: the reply was the server saying "not now" (protocol.Busy: a
	// 421, -ERR [SYS/TEMP], BYE [UNAVAILABLE]), not a refusal of TLS.
	Busy bool
	Err  error
}

func (e *PreambleError) Error() string {
	switch {
	case e.Err != nil && e.Reply != "":
		return fmt.Sprintf("%s: %v (after %s)", e.Step, e.Err, e.Reply)
	case e.Err != nil:
		return fmt.Sprintf("%s: %v", e.Step, e.Err)
	}
	return fmt.Sprintf("%s: the server answered %s", e.Step, e.Reply)
}

func (e *PreambleError) Unwrap() error { return e.Err }

// refusedWith is the error of a preamble step the server answered with
// raw instead of its go-ahead.
func refusedWith(step string, raw []byte) *PreambleError {
	return &PreambleError{Step: step, Reply: quoteReply(raw), Busy: protocol.Busy(raw)}
}

// quoteReply makes a reply's bytes safe to carry in an error: Go escapes,
// cut to a line's worth.
func quoteReply(raw []byte) string {
	if len(raw) == 0 {
		// Nothing came: no `(after "")` in the error.
		return ""
	}
	return fmt.Sprintf("%q", wire.Truncate(string(raw), 120))
}

// preamble runs t.Proto's dialogue up to the server's go-ahead for TLS,
// with the engine's bounded reply readers: SMTP greeting, EHLO, STARTTLS
// and 220 (RFC 3207 §4); IMAP greeting, STARTTLS and OK (RFC 9051
// §6.2.1); POP3 greeting, STLS and +OK (RFC 2595 §4). Bytes the server
// sends after its go-ahead are dropped, as a client must (RFC 3207 §4.2:
// the STARTTLS injection class of CVE-2011-0411); the hello never reads
// them, because the reader is not used again.
func preamble(conn net.Conn, t Target) error {
	lr := protocol.NewLineReader(conn, protocol.DefaultMaxLineLength)
	switch t.Proto {
	case protocol.SMTP:
		return smtpPreamble(conn, lr, t)
	case protocol.IMAP:
		return imapPreamble(conn, lr)
	case protocol.POP3:
		return pop3Preamble(conn, lr)
	}
	return fmt.Errorf("no STARTTLS preamble for protocol %q", t.Proto)
}

func smtpPreamble(conn net.Conn, lr *protocol.LineReader, t Target) error {
	step := func(name, cmd string, want int) error {
		if cmd != "" {
			if _, err := conn.Write([]byte(cmd + "\r\n")); err != nil {
				return &PreambleError{Step: name, Err: err}
			}
		}
		r, err := protocol.ReadSMTPReply(lr, protocol.DefaultMaxReplyLines)
		if err != nil {
			return &PreambleError{Step: name, Reply: quoteReply(r.Raw), Err: err}
		}
		if r.Code != want {
			return refusedWith(name, r.Raw)
		}
		return nil
	}
	name := t.EHLOName
	if name == "" {
		name = addressLiteral(conn.LocalAddr())
	}
	if err := step("greeting", "", 220); err != nil {
		return err
	}
	if err := step("EHLO", "EHLO "+name, 250); err != nil {
		return err
	}
	return step("STARTTLS", "STARTTLS", 220)
}

func imapPreamble(conn net.Conn, lr *protocol.LineReader) error {
	g, err := protocol.ReadIMAPResponse(lr)
	if err != nil {
		return &PreambleError{Step: "greeting", Reply: quoteReply(g.Raw), Err: err}
	}
	// RFC 9051 §7.1: OK invites a login; PREAUTH is already past the
	// point where STARTTLS is allowed, BYE refuses.
	if g.Tag != "*" || g.Status != "OK" {
		return refusedWith("greeting", g.Raw)
	}
	if _, err := conn.Write([]byte("a STARTTLS\r\n")); err != nil {
		return &PreambleError{Step: "STARTTLS", Err: err}
	}
	for range maxUntagged {
		r, err := protocol.ReadIMAPResponse(lr)
		if err != nil {
			return &PreambleError{Step: "STARTTLS", Reply: quoteReply(r.Raw), Err: err}
		}
		if r.Tag == "*" && r.Status != "BYE" {
			continue
		}
		if r.Tag != "a" || r.Status != "OK" {
			return &PreambleError{Step: "STARTTLS", Reply: quoteReply(r.Raw)}
		}
		return nil
	}
	return &PreambleError{Step: "STARTTLS", Err: fmt.Errorf("more than %d untagged responses before the completion", maxUntagged)}
}

func pop3Preamble(conn net.Conn, lr *protocol.LineReader) error {
	g, err := protocol.ReadPOP3Response(lr, false, 1)
	if err != nil {
		return &PreambleError{Step: "greeting", Reply: quoteReply(g.Raw), Err: err}
	}
	if !g.OK {
		return refusedWith("greeting", g.Raw)
	}
	if _, err := conn.Write([]byte("STLS\r\n")); err != nil {
		return &PreambleError{Step: "STLS", Err: err}
	}
	r, err := protocol.ReadPOP3Response(lr, false, 1)
	if err != nil {
		return &PreambleError{Step: "STLS", Reply: quoteReply(r.Raw), Err: err}
	}
	if !r.OK {
		return &PreambleError{Step: "STLS", Reply: quoteReply(r.Raw)}
	}
	return nil
}

// addressLiteral writes an address as an EHLO address literal: [192.0.2.1]
// or [IPv6:2001:db8::1] (RFC 5321 §4.1.3).
func addressLiteral(a net.Addr) string {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		// Not an IP transport (a test's net.Pipe): a name reserved to
		// mean nothing (RFC 6761 §6.4).
		return "mailwire.invalid"
	}
	return protocol.AddressLiteral(ap.Addr())
}
