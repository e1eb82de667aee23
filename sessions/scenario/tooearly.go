package scenario

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

// too-early: a careless client logs in before STARTTLS (SMTP AUTH PLAIN,
// IMAP LOGIN, POP3 AUTH PLAIN). Against the lab's normal port the server
// refuses, but the password has already crossed the wire; against a port
// configured to accept it (lab.ModeCleartextAuth), the login succeeds in
// cleartext. RFC 2595 §2.3 and RFC 8314 are the rules it breaks. Against a
// server that is not the lab the client logs in as a decoy (decoy.go).
func init() {
	register(Scenario{
		Name:  "too-early",
		Ports: []int{587, 143, 110},
		play:  playTooEarly,
	})
}

// Leg names of too-early.
const (
	LegNormalPort   = "normal port"
	LegCarelessPort = "careless port"
)

func playTooEarly(r *Run) error {
	port := r.Req.Port
	o, err := r.Options(port)
	if err != nil {
		return err
	}
	o.AllowCleartextAuth = true
	o.Driver = sessions.DriverFunc(loginTooEarly)
	r.StartLeg(LegNormalPort, fmt.Sprintf("a careless client logs in before STARTTLS on port %d, which refuses a login before TLS", port))
	evs, _ := r.Session(LegNormalPort, o)
	tooEarlyVerdict(r, LegNormalPort, evs)

	if r.Req.Env.Lab == nil {
		r.Note(LegCarelessPort, "the second part needs the embedded lab (a port that accepts a login before TLS); skipped against a real server", "scenario.leg")
		return nil
	}
	ep, err := r.Req.Env.Lab.AddEndpoint(port, lab.ModeCleartextAuth)
	if err != nil {
		return fmt.Errorf("careless port %d: %w", port, err)
	}
	o.Target = ep.Addr
	r.StartLeg(LegCarelessPort, fmt.Sprintf("the same client against a lab port %d configured to accept a login before TLS (%s)", port, ep.Addr))
	evs, _ = r.Session(LegCarelessPort, o)
	tooEarlyVerdict(r, LegCarelessPort, evs)
	return nil
}

// tooEarlyVerdict: did the password cross in cleartext, and did the server
// take it?
func tooEarlyVerdict(r *Run, leg string, evs []wire.Event) {
	leaked := CredentialsOnWire(evs)
	if len(leaked) == 0 {
		r.Verdict(leg, "nothing-leaked", true, "no password crossed the wire before TLS", errorSeqs(evs)...)
		return
	}
	answer, _ := LoginAnswer(evs, leaked[0])
	code, proto := "no answer", ""
	if answer != nil && answer.Line != nil {
		code, proto = answer.Line.Code, answer.Line.Proto
	}
	var text string
	switch LoginPolicyOf(proto, answer, capabilitiesBeforeTLS(evs, leg)) {
	case LoginAccepted:
		text = fmt.Sprintf("the server accepted the login in cleartext (%s): %s crossed the wire readable by anyone on the path", code, r.passwordWord())
	case LoginChecked:
		// 535, NO [AUTHENTICATIONFAILED]: the credentials were checked,
		// so the server takes logins before TLS (Exim with AUTH
		// advertised before STARTTLS answers the decoy 535).
		text = fmt.Sprintf("the server checked the login before TLS and turned it down (%s): it takes logins in cleartext, and %s crossed the wire readable by anyone on the path", code, r.passwordWord())
	case LoginRefused:
		text = fmt.Sprintf("the server refused the login before TLS (%s), but %s had already crossed the wire in cleartext", code, r.passwordWord())
	case LoginOffered:
		text = fmt.Sprintf("the server answered the login before TLS with %s, but it offers a login before TLS (its CAPA lists USER or SASL mechanisms), where a password is readable by anyone on the path; %s had already crossed the wire in cleartext", code, r.passwordWord())
	default:
		text = fmt.Sprintf("the server answered the login before TLS with %s, and %s had already crossed the wire in cleartext", code, r.passwordWord())
	}
	r.Verdict(leg, OutcomeCredentialsLeaked, false, text, leaked...)
}

// LoginAnswer returns the server's answer to the login line of event
// seq (a leaked login, CredentialsOnWire): its final reply, with ok false
// when none came. An IMAP server may send untagged lines first (Dovecot:
// "* BAD [ALERT] Plaintext authentication not allowed …" before its
// tagged "NO [PRIVACYREQUIRED]"); the tagged completion is the answer
// (RFC 9051 §7.1). mailwire scan reads the server's login policy from it.
func LoginAnswer(evs []wire.Event, seq int) (*wire.Event, bool) {
	for i, ev := range evs {
		if ev.Seq > seq && ev.Kind == wire.KindLine && ev.Dir == wire.ServerToClient && ev.Line != nil {
			if ev.Line.Proto == protocol.IMAP && bytes.HasPrefix(ev.Raw, []byte("* ")) {
				continue
			}
			return &evs[i], true
		}
	}
	return nil, false
}

// loginTooEarly is the careless client: the login goes first, then (when
// refused) STARTTLS and the login again inside TLS.
func loginTooEarly(c *sessions.Conversation) error {
	d := newDialog(c)
	o := c.Options()
	plain := base64.StdEncoding.EncodeToString([]byte("\x00" + o.Username + "\x00" + o.Password))
	switch o.Proto {
	case protocol.IMAP:
		return d.imapTooEarly()
	case protocol.POP3:
		return d.pop3TooEarly(plain)
	}
	return d.smtpTooEarly(plain)
}

func (d *dialog) smtpTooEarly(plain string) error {
	o := d.c.Options()
	if r, err := d.smtpReply("read greeting"); err != nil {
		return err
	} else if r.Code != 220 {
		return d.c.Fail("greeting", fmt.Errorf("server greeted with %d", r.Code), "smtp.reply."+strconv.Itoa(r.Code))
	}
	if _, err := d.smtp("EHLO", "EHLO "+o.EHLOName); err != nil {
		return err
	}
	d.c.Note("the client sends AUTH now, before STARTTLS, whatever the server advertised", "scenario.login-before-tls", nil)
	r, err := d.smtp("AUTH", "AUTH PLAIN "+plain)
	if err != nil {
		return err
	}
	if r.Code != 235 {
		if r, err = d.smtp("STARTTLS", "STARTTLS"); err != nil {
			return err
		} else if r.Code != 220 {
			return d.c.Fail("starttls", fmt.Errorf("server answered STARTTLS with %d", r.Code), "smtp.reply."+strconv.Itoa(r.Code))
		}
		if err := d.c.StartTLS("smtp.note.response_injection_discarded"); err != nil {
			return err
		}
		if _, err := d.smtp("EHLO", "EHLO "+o.EHLOName); err != nil {
			return err
		}
		if !d.skipDecoyLogin() {
			if _, err := d.smtp("AUTH", "AUTH PLAIN "+plain); err != nil {
				return err
			}
		}
	}
	if r, err := d.smtp("QUIT", "QUIT"); err == nil && r.Code == 221 {
		d.c.Ended()
	}
	return nil
}

func (d *dialog) imapTooEarly() error {
	o := d.c.Options()
	if _, err := d.imapResponse("read greeting"); err != nil {
		return err
	}
	// It asks for the capabilities first, as clients do: whether the
	// server advertises LOGINDISABLED is how its answer to the login
	// reads (LoginPolicyOf: a NO where LOGIN is allowed is a checked
	// password).
	if _, err := d.imap("CAPABILITY", ""); err != nil {
		return err
	}
	d.c.Note("the client sends LOGIN now, before STARTTLS, ignoring LOGINDISABLED", "scenario.login-before-tls", nil)
	login := imapQuote(o.Username) + " " + imapQuote(o.Password)
	r, err := d.imap("LOGIN", login)
	if err != nil {
		return err
	}
	if r.Status != "OK" {
		if r, err = d.imap("STARTTLS", ""); err != nil {
			return err
		} else if r.Status != "OK" {
			return d.c.Fail("starttls", fmt.Errorf("server answered STARTTLS with %s", r.Status), "imap.status."+r.Status)
		}
		if err := d.c.StartTLS("imap.note.response_injection_discarded"); err != nil {
			return err
		}
		if !d.skipDecoyLogin() {
			if _, err := d.imap("LOGIN", login); err != nil {
				return err
			}
		}
	}
	if r, err := d.imap("LOGOUT", ""); err == nil && r.Status == "OK" {
		d.c.Ended()
	}
	return nil
}

func (d *dialog) pop3TooEarly(plain string) error {
	if r, err := d.pop3Reply("read greeting", false); err != nil {
		return err
	} else if !r.OK {
		return d.c.Fail("greeting", fmt.Errorf("server greeted with -ERR %s", r.Text), "pop3.reply.err")
	}
	// CAPA first (RFC 2449 §5), as clients do: whether the server offers
	// a login before STLS (USER, SASL with mechanisms) is how its -ERR to
	// the login reads (LoginPolicyOf).
	if _, err := d.pop3("CAPA", "CAPA", true); err != nil {
		return err
	}
	d.c.Note("the client sends AUTH PLAIN now, before STLS", "scenario.login-before-tls", nil)
	r, err := d.pop3("AUTH", "AUTH PLAIN "+plain, false)
	if err != nil {
		return err
	}
	if !r.OK {
		if r, err = d.pop3("STLS", "STLS", false); err != nil {
			return err
		} else if !r.OK {
			return d.c.Fail("stls", fmt.Errorf("server answered STLS with -ERR %s", r.Text), "pop3.reply.err")
		}
		if err := d.c.StartTLS("pop3.note.response_injection_discarded"); err != nil {
			return err
		}
		if !d.skipDecoyLogin() {
			if _, err := d.pop3("AUTH", "AUTH PLAIN "+plain, false); err != nil {
				return err
			}
		}
	}
	if r, err := d.pop3("QUIT", "QUIT", false); err == nil && r.OK {
		d.c.Ended()
	}
	return nil
}

// skipDecoyLogin says whether the client leaves out its second login, the
// one inside TLS, and notes why: a decoy (decoy.go) is no account, so that
// login could only fail, and a failed login costs the server's failure
// delay (Postfix asking Dovecot: 10 s) and a line in its log for nothing.
// The login before TLS, refused or not, is the lesson and the finding.
func (d *dialog) skipDecoyLogin() bool {
	if !strings.HasPrefix(d.c.Options().Username, DecoyUserPrefix) {
		return false
	}
	d.c.Note("inside TLS the client would log in again; with a decoy, which is no account, it does not: the login could only fail", "scenario.decoy-no-second-login", nil)
	return true
}
