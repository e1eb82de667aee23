package scenario

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

// dialog is a scripted client for the scenarios whose client misbehaves on
// purpose (a login before STARTTLS, a command pipelined after it): a
// sessions.Driver written over the engine's exported Conversation API, so
// every line it sends and reads is an event like any driver's. The protocol
// drivers of package sessions never misbehave, which is why these clients
// live here.
type dialog struct {
	c     *sessions.Conversation
	proto string
	tagN  int
	verb  string // the last command sent, whose response is read next
}

func newDialog(c *sessions.Conversation) *dialog {
	return &dialog{c: c, proto: c.Options().Proto}
}

// send writes raw (one or more CRLF-terminated lines, in one write) as a
// client line whose command is verb.
func (d *dialog) send(raw, verb string) error {
	d.verb = verb
	return d.c.SendCommand(verb, raw)
}

// tag returns the next IMAP tag.
func (d *dialog) tag() string {
	d.tagN++
	return "a" + strconv.Itoa(d.tagN)
}

// smtpReply reads one SMTP reply and emits it.
func (d *dialog) smtpReply(op string) (*protocol.Reply, error) {
	r, err := protocol.ReadSMTPReply(d.c.Reader(), d.c.Options().MaxReplyLines)
	if err != nil {
		if r != nil && len(r.Raw) > 0 {
			d.c.Received(r.Raw, wire.Line{}, "smtp.reply.incomplete")
		}
		return nil, d.c.Fail(op, err, "")
	}
	ann, also := r.Annotations()
	d.received(r.Raw, r.Line(), ann, also)
	return r, nil
}

// smtp sends one command and reads its reply.
func (d *dialog) smtp(verb, line string) (*protocol.Reply, error) {
	if err := d.send(line+"\r\n", verb); err != nil {
		return nil, err
	}
	return d.smtpReply("read " + verb + " reply")
}

// pop3Reply reads one POP3 response and emits it.
func (d *dialog) pop3Reply(op string, multi bool) (*protocol.POP3Response, error) {
	r, err := protocol.ReadPOP3Response(d.c.Reader(), multi, d.c.Options().MaxReplyLines)
	if err != nil {
		if r != nil && len(r.Raw) > 0 {
			d.c.Received(r.Raw, wire.Line{}, "pop3.reply.incomplete")
		}
		return nil, d.c.Fail(op, err, "")
	}
	ann, also := r.Annotations()
	d.received(r.Raw, wire.Line{Code: r.Status()}, ann, also)
	return r, nil
}

// received emits a server response with the capabilities it lists, if
// any, and their annotation keys, parsed as the drivers do
// (protocol.ServerCapabilities): a list read in cleartext is what anyone on
// the path learned, and the compare table counts it.
func (d *dialog) received(raw []byte, line wire.Line, ann string, also []string) {
	caps, keys := protocol.ServerCapabilities(d.proto, d.verb, raw)
	line.Capabilities = caps
	d.c.Received(raw, line, ann, append(also, keys...)...)
}

// pop3 sends one command and reads its response.
func (d *dialog) pop3(verb, line string, multi bool) (*protocol.POP3Response, error) {
	if err := d.send(line+"\r\n", verb); err != nil {
		return nil, err
	}
	return d.pop3Reply("read "+verb+" response", multi)
}

// imapResponse reads one IMAP response and emits it.
func (d *dialog) imapResponse(op string) (*protocol.IMAPResponse, error) {
	r, err := protocol.ReadIMAPResponse(d.c.Reader())
	if err != nil {
		if r != nil && len(r.Raw) > 0 {
			d.c.Received(r.Raw, wire.Line{}, "imap.response.incomplete")
		}
		return nil, d.c.Fail(op, err, "")
	}
	ann, also := r.Annotations()
	d.received(r.Raw, wire.Line{Code: r.LineCode()}, ann, also)
	return r, nil
}

// imapUntil reads responses until the one tagged tag (bounded by
// MaxReplyLines), and returns it.
func (d *dialog) imapUntil(tag, verb string) (*protocol.IMAPResponse, error) {
	op := "read " + verb + " response"
	for n := 0; n <= d.c.Options().MaxReplyLines; n++ {
		r, err := d.imapResponse(op)
		if err != nil {
			return nil, err
		}
		if r.Tag == tag {
			return r, nil
		}
		if r.Tag == "*" && r.Status == "BYE" && verb != "LOGOUT" {
			return r, d.c.Fail(op, fmt.Errorf("the server said BYE: %s", r.Text), "imap.status.bye")
		}
	}
	return nil, d.c.Fail(op, fmt.Errorf("%w: more than %d responses to %s", protocol.ErrTooManyLines, d.c.Options().MaxReplyLines, verb), "")
}

// imap sends one tagged command and reads up to its completion.
func (d *dialog) imap(verb, args string) (*protocol.IMAPResponse, error) {
	tag := d.tag()
	line := tag + " " + verb
	if args != "" {
		line += " " + args
	}
	if err := d.send(line+"\r\n", verb); err != nil {
		return nil, err
	}
	return d.imapUntil(tag, verb)
}

// protocol.IMAPQuote quotes s as an IMAP quoted string (RFC 9051 §4.3).
func imapQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
