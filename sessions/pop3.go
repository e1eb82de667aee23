package sessions

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

func init() { RegisterDriver(protocol.POP3, POP3Driver{}) }

// POP3Driver plays a POP3 client: RFC 1939 for the dialogue, RFC 2449 for
// CAPA and response codes, RFC 2595 §4 for STLS, RFC 8314 for implicit TLS
// on 995:
//
//	110 (STLS):     greeting, CAPA, STLS, TLS, CAPA, [USER, PASS, [STAT, LIST, RETR 1]], QUIT
//	995 (implicit): TLS, greeting, CAPA, [USER, PASS, [STAT, LIST, RETR 1]], QUIT
//
// USER and PASS only with credentials (Options.Username), the maildrop is
// read only when asked (Options.Fetch); Options.StopAfter ends it earlier,
// always with QUIT.
type POP3Driver struct{}

// POP3Error is a "-ERR" response; it keeps the RFC 2449 §8 response code.
type POP3Error struct {
	Command string // what the response answered ("greeting" for the greeting)
	Code    string // the response code without brackets ("SYS/TEMP"), if any
	Text    string // the text after "-ERR" and the code
}

func (e *POP3Error) Error() string { return repliedError(e.Command, "-ERR", e.Code, e.Text) }

// repliedError is the message of a refusal, IMAPError's and POP3Error's:
// what the response answered, its status, the response code in brackets
// as on the wire (RFC 2449 §8, RFC 9051 §7.1) and the text.
func repliedError(cmd, status, code, text string) string {
	s := cmd + ": server replied " + status
	if code != "" {
		s += " [" + code + "]"
	}
	if text != "" {
		s += " " + text
	}
	return s
}

// Play runs the session.
func (POP3Driver) Play(c *Conversation) error {
	p := &pop3Client{c: c, o: c.Options()}
	// RFC 1939 §4: QUIT is valid in every state.
	return playPolitely(p.play, &p.canQuit, p.quit)
}

type pop3Client struct {
	c       *Conversation
	o       Options
	caps    []string // CAPA lines, keyword upper-cased
	canQuit bool
}

// play is the dialogue in the protocol's order; the steps it shares with
// the other mail drivers are in conversation.go (see playPolitely for why
// the three dialogues stay apart).
func (p *pop3Client) play() error {
	r, err := p.read("read greeting", "greeting", false)
	if err != nil {
		return err
	}
	if !r.OK {
		return p.refused("greeting", r)
	}
	p.canQuit = true
	if p.c.stopAfter(StageConnect, "the server greeted with +OK") {
		return p.quit()
	}
	if err := p.capa(); err != nil {
		return err
	}
	if p.o.TLSMode.usesSTARTTLS() {
		if err := p.stls(); err != nil {
			return err
		}
	}
	if p.c.stopAfter(StageTLS, p.c.tlsReached("CAPA")) {
		return p.quit()
	}
	loggedIn, err := p.login()
	if err != nil {
		return err
	}
	if p.c.stopAfter(StageAuth, authReached(loggedIn)) {
		return p.quit()
	}
	switch {
	case loggedIn && p.o.Fetch:
		if err := p.transaction(); err != nil {
			return err
		}
	case loggedIn:
		p.c.Note("logged in; reading the maildrop was not asked for, so the client leaves without STAT, LIST or RETR",
			"pop3.note.no_fetch", nil)
	}
	return p.quit()
}

// read reads one response and emits it. The annotation is the response
// code's key when there is one (pop3.code.in-use), else the greeting's or
// the status's; the other keys go into Also.
func (p *pop3Client) read(op, cmd string, multi bool) (*protocol.POP3Response, error) {
	// A capability listing has no reason to be large (RFC 2449 §5), and
	// one that runs on is cut off; a message (RETR, TOP) or a scan
	// listing (LIST, one line per message) is as large as the maildrop
	// makes it: read to its end, kept up to the budget's Literal.
	maxBytes, keep := protocol.POP3MaxListingBytes, protocol.POP3KeepBytes
	switch cmd {
	case "RETR", "TOP", "LIST", "UIDL":
		maxBytes, keep = -1, p.o.Budget.Literal
	}
	r, err := protocol.ReadPOP3ResponseKeep(p.c.Reader(), multi, p.o.MaxReplyLines, maxBytes, keep)
	if err != nil {
		if len(r.Raw) > 0 {
			p.c.ReceivedPart(r.Raw, int64(r.Total), wire.Line{Code: p.statusIfKnown(r)}, "pop3.reply.incomplete")
		}
		if r.Truncated {
			p.truncated(cmd, r)
		}
		p.canQuit = false // out of step or gone
		return nil, p.c.Fail(op, err, "")
	}
	line := wire.Line{Code: r.Status()}
	// The most specific key leads: the greeting's, else the response
	// code's (pop3.code.in-use), else the status's.
	ann, also := r.Annotations()
	if cmd == "greeting" && r.OK {
		// A -ERR greeting (-ERR [SYS/TEMP] from a busy server) is no
		// greeting in RFC 1939 §4's sense: its status and code explain it.
		also = append([]string{ann}, also...)
		ann = "pop3.greeting"
	}
	if cmd == "CAPA" && r.OK {
		line.Capabilities = protocol.ParseCAPA(r.Lines)
		also = append(also, protocol.CapabilityKeys("pop3.capa.", line.Capabilities, false)...)
	}
	p.c.ReceivedPart(r.Raw, int64(r.Total), line, ann, also...)
	if r.Truncated {
		p.truncated(cmd, r)
	}
	return r, nil
}

// truncated notes a response of which only the first part is kept.
func (p *pop3Client) truncated(cmd string, r *protocol.POP3Response) {
	p.c.Note(fmt.Sprintf("%s response of %s bytes: the first %s are kept and shown (--max-literal); the rest was read and counted, not kept",
		cmd, wire.GroupDigits(int64(r.Total)), wire.GroupDigits(int64(len(r.Raw)))), wire.BudgetKeyLiteral, nil)
}

func (p *pop3Client) statusIfKnown(r *protocol.POP3Response) string {
	switch {
	case bytes.HasPrefix(r.Raw, []byte("+OK")):
		return "+OK"
	case bytes.HasPrefix(r.Raw, []byte("-ERR")):
		return "-ERR"
	}
	return ""
}

func (p *pop3Client) hasCap(kw string) bool {
	return slices.ContainsFunc(p.caps, func(cp string) bool {
		k, _, _ := strings.Cut(cp, " ")
		return k == kw
	})
}

// command sends one command line.
func (p *pop3Client) command(verb, line string) error {
	err := p.c.SendCommand(verb, line+"\r\n")
	p.canQuit = p.canQuit && err == nil
	return err
}

// exchange sends a command and reads its response, which must be +OK.
func (p *pop3Client) exchange(verb, line string, multi bool) (*protocol.POP3Response, error) {
	if err := p.command(verb, line); err != nil {
		return nil, err
	}
	r, err := p.read("read "+verb+" response", verb, multi)
	if err != nil {
		return nil, err
	}
	if !r.OK {
		return r, p.refused(verb, r)
	}
	return r, nil
}

// refused reports a -ERR the dialogue cannot go on from. Its explain key
// is the response code's when there is one (RFC 3206: [AUTH] is a bad
// password, [SYS/TEMP] a server problem).
func (p *pop3Client) refused(cmd string, r *protocol.POP3Response) error {
	explain := "pop3.reply.err"
	if r.Code != "" {
		explain = "pop3.code." + strings.ToLower(r.Code)
	}
	return p.c.Fail(strings.ToLower(cmd), &POP3Error{Command: cmd, Code: r.Code, Text: r.Text}, explain)
}

// capa asks for the capabilities (RFC 2449 §5). CAPA is optional: a server
// without it answers -ERR, which leaves the list empty.
func (p *pop3Client) capa() error {
	p.caps = nil
	if err := p.command("CAPA", "CAPA"); err != nil {
		return err
	}
	r, err := p.read("read CAPA response", "CAPA", true)
	if err != nil {
		return err
	}
	if r.OK {
		p.caps = protocol.ParseCAPA(r.Lines)
	}
	return nil
}

// stls upgrades the connection (RFC 2595 §4).
func (p *pop3Client) stls() error {
	if !p.hasCap("STLS") {
		return p.c.noStartTLS("stls", "the server does not offer STLS in its CAPA response",
			fmt.Errorf("%s does not offer STLS in its CAPA response, and TLS mode is starttls", p.o.Target))
	}
	if p.o.TLSMode == TLSOpportunistic {
		if err := p.command("STLS", "STLS"); err != nil {
			return err
		}
		r, err := p.read("read STLS response", "STLS", false)
		if err != nil {
			return err
		}
		if !r.OK {
			return p.c.goOnInCleartext("the server answered STLS with -ERR")
		}
	} else if _, err := p.exchange("STLS", "STLS", false); err != nil {
		return err
	}
	// RFC 2595 §4: the client must discard what it learned from the server
	// before TLS, and should ask for CAPA again.
	return p.c.upgradeAndAskAgain(protocol.POP3, &p.caps, &p.canQuit, p.capa, "TLS", "RFC 2595 §4")
}

// login sends USER and PASS (RFC 1939 §7). It returns false, without error,
// when it chose not to log in.
func (p *pop3Client) login() (bool, error) {
	if p.c.withholdCredentials(protocol.POP3, "not logging in", "RFC 2595 §2.3") {
		return false, nil
	}
	if _, err := p.exchange("USER", "USER "+p.o.Username, false); err != nil {
		return false, err
	}
	if _, err := p.exchange("PASS", "PASS "+p.o.Password, false); err != nil {
		return false, err
	}
	return true, nil
}

// transaction reads the maildrop: STAT, LIST and the first message
// (RFC 1939 §5).
func (p *pop3Client) transaction() error {
	r, err := p.exchange("STAT", "STAT", false)
	if err != nil {
		return err
	}
	// RFC 1939 §5: "+OK nn mm", the number of messages and their size.
	f := strings.Fields(r.Text)
	count := -1
	if len(f) >= 1 {
		if n, err := strconv.Atoi(f[0]); err == nil && n >= 0 {
			count = n
		}
	}
	if _, err := p.exchange("LIST", "LIST", true); err != nil {
		return err
	}
	if count == 0 {
		p.c.Note("the maildrop is empty: nothing to RETR", "pop3.note.empty", nil)
		return nil
	}
	_, err = p.exchange("RETR", "RETR 1", true)
	return err
}

// quit ends the session (RFC 1939 §6).
func (p *pop3Client) quit() error {
	p.canQuit = false
	if _, err := p.exchange("QUIT", "QUIT", false); err != nil {
		return err
	}
	p.c.Ended()
	return nil
}
