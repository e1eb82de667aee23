package sessions

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

func init() { RegisterDriver(protocol.IMAP, IMAPDriver{}) }

// IMAPDriver plays an IMAP client: RFC 9051 (IMAP4rev2) and RFC 3501
// (IMAP4rev1) for the dialogue, §6.2.1 of both for STARTTLS, RFC 8314 for
// implicit TLS on 993:
//
//	143 (STARTTLS): greeting, a1 CAPABILITY, a2 STARTTLS, TLS, a3 CAPABILITY,
//	                [a4 LOGIN, [a5 SELECT INBOX, a6 FETCH * (ENVELOPE)]], a7 LOGOUT
//	993 (implicit): TLS, greeting, a1 CAPABILITY, [a2 LOGIN, […]], LOGOUT
//
// LOGIN only with credentials (Options.Username), SELECT and FETCH only
// when asked (Options.Fetch); Options.StopAfter ends it earlier, always
// with LOGOUT.
//
// Every response line (an untagged line with its literals, or the tagged
// completion) is one event.
type IMAPDriver struct{}

// IMAPError is a negative or unexpected status response (NO, BAD, BYE); it
// keeps the response code.
type IMAPError struct {
	Command string // what the response answered ("greeting" for the greeting)
	Status  string // NO, BAD, BYE
	Code    string // the response code's atom ("PRIVACYREQUIRED"), if any
	Text    string
}

func (e *IMAPError) Error() string { return repliedError(e.Command, e.Status, e.Code, e.Text) }

// Explain keys of the IMAP driver.
const (
	// ExplainPreauth: the server sent PREAUTH on a cleartext connection, so
	// STARTTLS is impossible (it is valid only in the not-authenticated
	// state, RFC 9051 §6.2.1): a client that requires TLS must close the
	// connection (the STARTTLS bypass of CVE-2014-2567, CVE-2020-12398).
	ExplainPreauth = "mismatch.preauth"
)

// Play runs the session.
func (IMAPDriver) Play(c *Conversation) error {
	m := &imapClient{c: c, o: c.Options()}
	// Leave politely after a refusal (RFC 9051 §6.1.3).
	return playPolitely(m.play, &m.canLogout, m.logout)
}

type imapClient struct {
	c         *Conversation
	o         Options
	tagN      int
	caps      []string
	exists    int
	canLogout bool
}

// play is the dialogue in the protocol's order; the steps it shares with
// the other mail drivers are in conversation.go (see playPolitely for why
// the three dialogues stay apart).
func (m *imapClient) play() error {
	greeting, err := m.greeting()
	if err != nil {
		return err
	}
	preauth := greeting.Status == "PREAUTH"
	if preauth && m.o.TLSMode == TLSStartTLS && !m.c.TLSActive() {
		// RFC 9051 §6.2.1: STARTTLS only in the not-authenticated state,
		// which PREAUTH skipped. Going on would carry the mailbox in
		// cleartext; the connection is closed without another word.
		return m.c.Fail("starttls",
			errors.New("the server sent PREAUTH on a cleartext connection, so STARTTLS is no longer possible, and TLS is required"),
			ExplainPreauth)
	}
	m.canLogout = true
	if m.c.stopAfter(StageConnect, "the server greeted with "+greeting.Status) {
		return m.logout()
	}
	if err := m.capability(); err != nil {
		return err
	}
	if m.o.TLSMode.usesSTARTTLS() && preauth {
		_ = m.c.goOnInCleartext("the server greeted with PREAUTH, after which STARTTLS is no longer allowed (RFC 9051 §6.2.1)")
	} else if m.o.TLSMode.usesSTARTTLS() {
		if err := m.startTLS(); err != nil {
			return err
		}
	}
	if m.c.stopAfter(StageTLS, m.c.tlsReached("CAPABILITY")) {
		return m.logout()
	}
	authed := preauth
	if !preauth {
		if authed, err = m.login(); err != nil {
			return err
		}
	}
	reached := authReached(authed)
	if preauth {
		reached = "the server's PREAUTH greeting had already logged the session in (RFC 9051 §7.1.4)"
	}
	if m.c.stopAfter(StageAuth, reached) {
		return m.logout()
	}
	switch {
	case authed && m.o.Fetch:
		if err := m.read(); err != nil {
			return err
		}
	case authed:
		m.c.Note("logged in; reading the mailbox was not asked for, so the client leaves without SELECT or FETCH",
			"imap.note.no_fetch", nil)
	}
	return m.logout()
}

// greeting reads the server's first response (RFC 9051 §7.1.1, §7.1.4,
// §7.1.5): OK, PREAUTH or BYE.
func (m *imapClient) greeting() (*protocol.IMAPResponse, error) {
	r, err := m.response("read greeting", "greeting", true)
	if err != nil {
		return nil, err
	}
	switch {
	case r.Tag != "*" || (r.Status != "OK" && r.Status != "PREAUTH" && r.Status != "BYE"):
		return nil, m.c.Fail("read greeting",
			fmt.Errorf("%w: the greeting must be \"* OK\", \"* PREAUTH\" or \"* BYE\" (RFC 9051 §7.1)", protocol.ErrMalformedReply), "")
	case r.Status == "BYE":
		return nil, m.refused("greeting", r)
	}
	if r.Caps != nil {
		m.caps = r.Caps
	}
	return r, nil
}

// response reads one response and emits it.
func (m *imapClient) response(op, cmd string, greeting bool) (*protocol.IMAPResponse, error) {
	r, err := m.readResponse(op)
	if err != nil {
		return nil, err
	}
	m.show(r, greeting)
	return r, nil
}

// readResponse reads one response, of any size: the budget bounds what is kept
// of it (wire.Budget.Literal per literal, EventBytes in all).
func (m *imapClient) readResponse(op string) (*protocol.IMAPResponse, error) {
	b := m.o.Budget
	r, err := protocol.ReadIMAPResponseLimit(m.c.Reader(), protocol.IMAPLimits{Literal: b.Literal, Keep: b.EventBytes})
	if err != nil {
		if len(r.Raw) > 0 {
			m.c.ReceivedPart(r.Raw, r.Bytes, wire.Line{Code: protocol.IMAPLineCode(r)}, "imap.response.incomplete")
		}
		m.canLogout = false
		return nil, m.c.Fail(op, err, "")
	}
	return r, nil
}

// show emits a response. The most specific key leads: the greeting's,
// else the response code's (imap.code.privacyrequired), else the
// status's or data's.
func (m *imapClient) show(r *protocol.IMAPResponse, greeting bool) {
	ann, also := r.Annotations()
	if greeting {
		also = append([]string{ann}, also...)
		ann = "imap.greeting"
	}
	also = append(also, protocol.CapabilityKeys("imap.cap.", r.Caps, true)...)
	m.c.ReceivedPart(r.Raw, r.Bytes, wire.Line{Code: protocol.IMAPLineCode(r), Capabilities: r.Caps}, ann, also...)
}

// command sends one tagged command and reads the responses up to its
// completion, which it returns. An untagged BYE ends the session, except
// after LOGOUT (RFC 9051 §6.1.3). A server may send any number of
// untagged responses first (RFC 9051 §2.2.2): the budget's Untagged are
// shown, the rest read and counted, and a note sums up what was not shown.
func (m *imapClient) command(verb, args string) (*protocol.IMAPResponse, error) {
	return m.commandMay(verb, args, false)
}

// commandMay is command; with mayRefuse a tagged NO or BAD is returned
// without failing the session (an opportunistic client's STARTTLS).
func (m *imapClient) commandMay(verb, args string, mayRefuse bool) (*protocol.IMAPResponse, error) {
	m.tagN++
	tag := "a" + strconv.Itoa(m.tagN)
	line := tag + " " + verb
	if args != "" {
		line += " " + args
	}
	if err := m.c.SendCommand(verb, line+"\r\n"); err != nil {
		m.canLogout = false
		return nil, err
	}
	op := "read " + verb + " response"
	var over imapOverBudget
	defer over.note(m.c, m.o.Budget, verb)
	for untagged := 0; ; {
		r, err := m.readResponse(op)
		if err != nil {
			return nil, err
		}
		if r.Tag == "*" {
			untagged++
		}
		hide := r.Tag == "*" && untagged > wire.Limit(m.o.Budget.Untagged) && r.Status != "BYE"
		over.add(r, hide)
		if !hide {
			m.show(r, false)
		}
		switch {
		case r.Tag == tag:
			if r.Caps != nil {
				m.caps = r.Caps // e.g. "a4 OK [CAPABILITY …] Logged in"
			}
			if r.Status != "OK" && !(mayRefuse && (r.Status == "NO" || r.Status == "BAD")) {
				return r, m.refused(verb, r)
			}
			return r, nil
		case r.Tag == "*" && r.Status == "BYE" && verb != "LOGOUT":
			m.canLogout = false
			return r, m.refused(verb, r)
		case r.Tag == "*":
			if r.Data == "CAPABILITY" {
				m.caps = r.Caps
			}
			if r.Data == "EXISTS" {
				m.exists = r.Number
			}
		default:
			// A continuation request or another tag: this client sends no
			// literal and has one command in flight.
			m.canLogout = false
			return r, m.c.Fail(op, fmt.Errorf("%w: %s while waiting for the completion of %s %s",
				protocol.ErrMalformedReply, wire.Quote(protocol.TrimEOL(r.Raw), 40), tag, verb), "")
		}
	}
}

// imapOverBudget counts what one command's responses had beyond the
// budget: untagged responses not shown, literal bytes not kept.
type imapOverBudget struct {
	hidden          int
	hiddenBytes     int64
	literalBytes    int64
	cutLiteralBytes int64
}

// add counts r; hidden says it is not shown, so none of its literal
// bytes are kept.
func (o *imapOverBudget) add(r *protocol.IMAPResponse, hidden bool) {
	if hidden {
		o.hidden++
		o.hiddenBytes += r.Bytes
	}
	if r.Literals == 0 {
		return
	}
	o.literalBytes += r.LiteralBytes
	switch {
	case hidden:
		o.cutLiteralBytes += r.LiteralBytes
	case r.Cut > 0:
		o.cutLiteralBytes += min(r.Cut, r.LiteralBytes)
	}
}

// note sums up, once the command is over (completed or not), what was
// read and not shown.
func (o *imapOverBudget) note(c *Conversation, b wire.Budget, verb string) {
	if o.hidden > 0 {
		c.Note(fmt.Sprintf("%s: %s untagged responses (%s bytes) were read and not shown: mailwire shows the first %s of one command (--max-untagged)",
			verb, wire.GroupDigits(int64(o.hidden)), wire.GroupDigits(o.hiddenBytes), wire.GroupDigits(int64(b.Untagged))),
			wire.BudgetKeyUntagged, nil)
	}
	if o.cutLiteralBytes > 0 {
		c.Note(fmt.Sprintf("%s: %s of %s literal bytes were read and not kept: mailwire keeps %s bytes of each literal (--max-literal) and %s of one response (--max-event-bytes)",
			verb, wire.GroupDigits(o.cutLiteralBytes), wire.GroupDigits(o.literalBytes),
			wire.GroupDigits(int64(b.Literal)), wire.GroupDigits(int64(b.EventBytes))),
			wire.BudgetKeyLiteral, nil)
	}
}

// refused reports a status response the dialogue cannot go on from; the
// explain key is the response code's when there is one.
func (m *imapClient) refused(cmd string, r *protocol.IMAPResponse) error {
	explain := "imap.status." + strings.ToLower(r.Status)
	if r.Code != "" {
		explain = "imap.code." + strings.ToLower(r.Code)
	}
	return m.c.Fail(strings.ToLower(cmd), &IMAPError{Command: cmd, Status: r.Status, Code: r.Code, Text: r.Text}, explain)
}

func (m *imapClient) hasCap(c string) bool { return slices.Contains(m.caps, c) }

func (m *imapClient) capability() error {
	m.caps = nil
	_, err := m.command("CAPABILITY", "")
	return err
}

// startTLS upgrades the connection (RFC 9051 §6.2.1).
func (m *imapClient) startTLS() error {
	if !m.hasCap("STARTTLS") {
		return m.c.noStartTLS("starttls", "the server does not offer STARTTLS in its CAPABILITY response",
			fmt.Errorf("%s does not offer STARTTLS in its CAPABILITY response, and TLS mode is starttls", m.o.Target))
	}
	if r, err := m.commandMay("STARTTLS", "", m.o.TLSMode == TLSOpportunistic); err != nil {
		return err
	} else if r.Status != "OK" {
		return m.c.goOnInCleartext("the server answered STARTTLS with " + r.Status)
	}
	// RFC 9051 §6.2.1: the client must discard cached capabilities and ask
	// again; LOGINDISABLED typically goes, AUTH= mechanisms arrive.
	return m.c.upgradeAndAskAgain(protocol.IMAP, &m.caps, &m.canLogout, m.capability, "TLS", "RFC 9051 §6.2.1")
}

// login sends LOGIN (RFC 9051 §6.2.3). It returns false, without error,
// when it chose not to log in.
func (m *imapClient) login() (bool, error) {
	if m.c.withholdCredentials(protocol.IMAP, "not logging in", "RFC 9051 §11.1") {
		return false, nil
	}
	if m.hasCap("LOGINDISABLED") {
		// RFC 9051 §6.2.3: the client must not send LOGIN then.
		m.c.Note("the server advertises LOGINDISABLED here: not sending LOGIN (RFC 9051 §6.2.3)",
			"imap.note.logindisabled", nil)
		return false, nil
	}
	_, err := m.command("LOGIN", protocol.IMAPQuote(m.o.Username)+" "+protocol.IMAPQuote(m.o.Password))
	return err == nil, err
}

// read selects INBOX and fetches the newest message's envelope: "*" is
// the highest message sequence number (RFC 9051 §6.3.2, §6.4.5, §9), so a
// message just delivered (the hops scenario) is the one shown.
func (m *imapClient) read() error {
	m.exists = -1
	if _, err := m.command("SELECT", "INBOX"); err != nil {
		return err
	}
	if m.exists == 0 {
		m.c.Note("INBOX is empty: nothing to FETCH", "imap.note.empty", nil)
		return nil
	}
	_, err := m.command("FETCH", "* (ENVELOPE)")
	return err
}

// logout ends the session: an untagged BYE, then the tagged OK
// (RFC 9051 §6.1.3).
func (m *imapClient) logout() error {
	m.canLogout = false
	if _, err := m.command("LOGOUT", ""); err != nil {
		return err
	}
	m.c.Ended()
	return nil
}
