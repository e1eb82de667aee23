package sessions

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/mailwire/mailwire/sessions/protocol"
)

func isCtlOrSpace(r rune) bool { return r <= ' ' || r == 0x7f }

// The AUTH helper of the interactive driver: the user names a mechanism, a
// user and a password (which a UI asks for in a masked field), and the
// driver builds the login's lines and sends each when the server asks for
// it. The lines go through the same Send as typed ones, so the timeline
// shows them decoded and masked (DecodeCredential), marked as the
// helper's.
//
// No real password crosses the wire in cleartext because of mailwire: the
// helper refuses before TLS, and inside a TLS whose certificate did not
// verify, unless the options allow it (Options.AllowCleartextAuth: the
// lab, whose demo password is public). A user who types an AUTH line by
// hand is warned instead (interactive.go).

// AuthHelp asks the AUTH helper for a login.
type AuthHelp struct {
	// Mechanism: PLAIN (SASL PLAIN, RFC 4616) or LOGIN (SASL LOGIN) for
	// SMTP AUTH (RFC 4954) and POP3 AUTH (RFC 5034); USER for POP3's USER
	// and PASS (RFC 1939 §7); for IMAP, LOGIN is the LOGIN command (RFC
	// 9051 §6.2.3) and PLAIN is AUTHENTICATE PLAIN (RFC 9051 §6.2.2).
	Mechanism      string
	User, Password string
	// Tag is the IMAP command's tag; empty: the driver makes one up.
	Tag string
}

// AuthMechanisms lists the helper's mechanisms for a protocol, the usual
// one first.
func AuthMechanisms(proto string) []string {
	switch proto {
	case protocol.POP3:
		return []string{protocol.AuthPlain, protocol.AuthLogin, "USER"}
	case protocol.IMAP:
		return []string{"LOGIN", protocol.AuthPlain}
	case protocol.SMTP:
		return []string{protocol.AuthPlain, protocol.AuthLogin}
	}
	return nil
}

// authStep is one line of a login and what must come before it.
type authStep struct {
	line string
	// afterOK: sent after a positive answer (POP3 PASS after USER's +OK);
	// otherwise after a continuation request (334, "+ "), except the
	// first, which is sent at once.
	afterOK bool
}

// authRun is a login under way.
type authRun struct {
	mech  string
	tag   string
	steps []authStep
	next  int // index of the step to send next
}

// helperLines builds the lines of a login. saslIR says the IMAP server
// accepts an initial response with AUTHENTICATE (RFC 4959).
func helperLines(proto string, h AuthHelp, saslIR bool) ([]authStep, error) {
	mech := strings.ToUpper(strings.TrimSpace(h.Mechanism))
	if !slices.Contains(AuthMechanisms(proto), mech) {
		return nil, fmt.Errorf("mechanism %q: want one of %s for %s", h.Mechanism, strings.Join(AuthMechanisms(proto), ", "), strings.ToUpper(proto))
	}
	if h.User == "" {
		return nil, errors.New("no user name")
	}
	// A NUL would split the PLAIN message (RFC 4616 §2); CR or LF would
	// end the line and inject another command.
	if strings.ContainsAny(h.User, "\x00\r\n") || strings.ContainsAny(h.Password, "\x00\r\n") {
		return nil, errors.New("the user name and the password must not hold NUL, CR or LF")
	}
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	// RFC 4616 §2: [authzid] NUL authcid NUL passwd, no authzid.
	plain := b64("\x00" + h.User + "\x00" + h.Password)
	switch proto {
	case protocol.SMTP, protocol.POP3:
		switch mech {
		case protocol.AuthPlain:
			// The initial response rides on the AUTH line (RFC 4954 §4,
			// RFC 5034 §4).
			return []authStep{{line: "AUTH PLAIN " + plain}}, nil
		case protocol.AuthLogin:
			// Two challenges, "Username:" and "Password:", each answered
			// in base64.
			return []authStep{{line: "AUTH LOGIN"}, {line: b64(h.User)}, {line: b64(h.Password)}}, nil
		}
		return []authStep{{line: "USER " + h.User}, {line: "PASS " + h.Password, afterOK: true}}, nil
	}
	tag := h.Tag
	if mech == "LOGIN" {
		return []authStep{{line: tag + " LOGIN " + protocol.IMAPQuote(h.User) + " " + protocol.IMAPQuote(h.Password)}}, nil
	}
	if saslIR {
		return []authStep{{line: tag + " AUTHENTICATE PLAIN " + plain}}, nil
	}
	// Without SASL-IR the response follows the server's "+ " (RFC 9051
	// §6.2.2).
	return []authStep{{line: tag + " AUTHENTICATE PLAIN"}, {line: plain}}, nil
}

// startHelper starts a login the user asked the helper for.
func (s *interactive) startHelper(h AuthHelp) error {
	c := s.c
	refuse := func(why string) error {
		c.Note("AUTH helper: "+why, AnnInteractiveHelperRefused, nil)
		return nil
	}
	switch {
	case s.dataMode:
		return refuse("not in the middle of a message: end it with a line holding a single dot first")
	case !c.TLSActive() && !s.o.AllowCleartextAuth:
		return refuse("not sending a password before TLS: the connection is cleartext, so anyone on the path could read it (RFC 8314 §5.2). Type " +
			startTLSHint(s.o.Proto) + " first")
	case c.TLSActive() && c.verifyErr != nil && !s.o.AllowCleartextAuth:
		return refuse("not sending a password inside a TLS whose certificate did not verify: whoever answered may not be the server (RFC 8314 §5.3)")
	}
	if s.o.Proto == protocol.IMAP && h.Tag == "" {
		s.helperN++
		h.Tag = fmt.Sprintf("mw%d", s.helperN)
	}
	if s.o.Proto == protocol.IMAP && strings.ContainsFunc(h.Tag, func(r rune) bool { return isCtlOrSpace(r) || strings.ContainsRune("(){%*\"\\]+", r) }) {
		return refuse(fmt.Sprintf("tag %q: a tag is one atom without * or + (RFC 9051 §9)", h.Tag))
	}
	steps, err := helperLines(s.o.Proto, h, slices.Contains(s.imapCaps, "SASL-IR"))
	if err != nil {
		return refuse(err.Error())
	}
	run := &authRun{mech: strings.ToUpper(h.Mechanism), tag: h.Tag, steps: steps}
	s.helper = run
	return s.helperSend()
}

// startTLSHint is the upgrade command as the user types it.
func startTLSHint(proto string) string {
	if proto == protocol.IMAP {
		return "a tagged STARTTLS"
	}
	return protocol.StartTLSVerb(proto)
}

// helperSend sends the helper's next line and waits for the answer.
func (s *interactive) helperSend() error {
	run := s.helper
	step := run.steps[run.next]
	run.next++
	s.await(waitHelper, run.tag, "the AUTH helper's "+run.mech+" line")
	if err := s.sendLine(step.line, true, run); err != nil {
		s.helper = nil
		return err
	}
	return nil
}

// helperStep moves a login under way on after a response: the next line
// when the server asks for it, else the end (the response is the login's
// outcome, 235 or 535, +OK or -ERR, OK or NO).
func (s *interactive) helperStep(res readResult) error {
	run := s.helper
	if run == nil {
		return nil
	}
	if s.o.Proto == protocol.IMAP && res.imap != nil && res.imap.Tag == "*" {
		return nil // untagged data while the login runs
	}
	if run.next < len(run.steps) {
		step := run.steps[run.next]
		okPOP3 := res.pop3 != nil && res.pop3.OK
		if (step.afterOK && okPOP3) || (!step.afterOK && s.contReady) {
			return s.helperSend()
		}
	}
	if s.contReady {
		// The server asks for more than the mechanism has: the helper
		// stops, and the user decides (a line holding "*" cancels the
		// exchange, RFC 4954 §4, RFC 5034 §4, RFC 9051 §6.2.2).
		s.c.Note("AUTH helper: the server asks for more than "+run.mech+" answers; type * to cancel the exchange",
			AnnInteractiveHelperRefused, nil)
	}
	s.helper = nil
	if s.wait == waitHelper {
		s.release()
	}
	return nil
}
