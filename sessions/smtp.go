package sessions

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

func init() { RegisterDriver(protocol.SMTP, SMTPDriver{}) }

// SMTPDriver plays an SMTP client: RFC 5321 for the dialogue, RFC 3207 for
// STARTTLS, RFC 4954 for AUTH, RFC 8314 for implicit TLS on 465. By role:
//
//	transfer (25):    greeting, EHLO, STARTTLS, EHLO, [MAIL, RCPT, DATA], QUIT
//	submission (587): the same with [AUTH] after the second EHLO
//	submissions (465, implicit TLS): TLS, greeting, EHLO, [AUTH], [MAIL, RCPT, DATA], QUIT
//
// AUTH only with credentials (Options.Username), MAIL, RCPT and DATA only
// with a recipient (Options.To); Options.StopAfter ends it earlier, always
// with QUIT.
type SMTPDriver struct{}

// SMTPReplyError is a negative or unexpected SMTP reply; it keeps the wire codes.
type SMTPReplyError struct {
	Command  string // what the reply answered
	Code     int
	Enhanced string
	Text     string
	// Want is the code the command required, when the reply was a
	// positive one but not it (Rule says where it is required).
	Want int
	Rule string
}

func (e *SMTPReplyError) Error() string {
	s := fmt.Sprintf("%s: server replied %d", e.Command, e.Code)
	if e.Want != 0 {
		s = fmt.Sprintf("%s: server replied %d, where %d was required (%s)", e.Command, e.Code, e.Want, e.Rule)
	}
	if e.Enhanced != "" {
		s += " " + e.Enhanced
	}
	if e.Text != "" {
		s += " " + strings.TrimSpace(strings.TrimPrefix(e.Text, e.Enhanced))
	}
	return s
}

// Play runs the session.
func (SMTPDriver) Play(c *Conversation) error {
	s := &smtpClient{c: c, o: c.Options()}
	// Leave politely after a refusal, as RFC 5321 §4.1.1.10 expects.
	return playPolitely(s.play, &s.canQuit, s.quit)
}

type smtpClient struct {
	c       *Conversation
	o       Options
	caps    []string // EHLO keyword lines, keyword upper-cased
	helo    bool     // EHLO was refused and the client fell back to HELO
	canQuit bool     // the connection is still in a state to send QUIT
	authed  bool     // the server accepted AUTH (235)
}

// play is the dialogue in the protocol's order; the steps it shares with
// the other mail drivers are in conversation.go (see playPolitely for why
// the three dialogues stay apart).
func (s *smtpClient) play() error {
	r, err := s.reply("read greeting", false)
	if err != nil {
		return err
	}
	if r.Code != 220 {
		return s.refused("greeting", r, 220) // 554: no service here (RFC 5321 §3.1)
	}
	s.canQuit = true
	if s.c.stopAfter(StageConnect, "the server greeted with 220") {
		return s.quit()
	}
	if err := s.ehlo(); err != nil {
		return err
	}
	if s.o.TLSMode.usesSTARTTLS() {
		if err := s.startTLS(); err != nil {
			return err
		}
	}
	if s.c.stopAfter(StageTLS, s.c.tlsReached("EHLO")) {
		return s.quit()
	}
	// An MTA on port 25 does not authenticate (RFC 5321); a submission
	// client does when it was given credentials (RFC 6409 §4.3, RFC 4954).
	if s.o.Role == RoleSubmission {
		if err := s.auth(); err != nil {
			return err
		}
	}
	if s.c.stopAfter(StageAuth, authReached(s.authed)) {
		return s.quit()
	}
	if s.o.To == "" {
		// Nothing with side effects unless asked: a message is queued
		// and delivered by the server, so it is sent only to a
		// recipient the user named.
		s.c.Note("no recipient given: the client sends no message (no MAIL, RCPT or DATA), so nothing is queued on the server",
			"smtp.note.no_message", nil)
	} else if err := s.send(); err != nil {
		return err
	}
	return s.quit()
}

// reply reads one reply and emits it. A 421 anywhere means the server is
// closing the channel (RFC 5321 §3.8): it is reported and ends the session.
func (s *smtpClient) reply(op string, ehlo bool) (*protocol.Reply, error) {
	r, err := protocol.ReadSMTPReply(s.c.Reader(), s.o.MaxReplyLines)
	if err != nil {
		if len(r.Raw) > 0 {
			s.c.Received(r.Raw, wire.Line{Code: r.Line().Code}, "smtp.reply.incomplete")
		}
		s.canQuit = false // the stream is out of step or gone
		return nil, s.c.Fail(op, err, "")
	}
	// RFC 3463: the enhanced code says more than the basic one (5.7.0
	// security, 5.7.8 bad credentials, 5.7.1 policy), so it has its own
	// annotation.
	line := r.Line()
	ann, also := r.Annotations()
	if ehlo && r.Code == 250 {
		line.Capabilities = protocol.ParseEHLO(r.Lines)
		also = append(also, protocol.CapabilityKeys("smtp.ext.", line.Capabilities, false)...)
	}
	s.c.Received(r.Raw, line, ann, also...)
	if r.Code == 421 {
		s.canQuit = false
		return nil, s.c.Fail(op, &SMTPReplyError{Command: op, Code: r.Code, Enhanced: r.Enhanced, Text: r.Text()},
			"smtp.reply.421")
	}
	if ehlo && r.Code == 250 {
		s.caps = line.Capabilities
	}
	return r, nil
}

// capability returns the parameters of an EHLO keyword and whether it was
// advertised.
func (s *smtpClient) capability(kw string) (string, bool) {
	for _, cp := range s.caps {
		k, params, _ := strings.Cut(cp, " ")
		if k == kw {
			return params, true
		}
	}
	return "", false
}

// command sends one command line. verb is the command's name for the Line
// and the annotation ("smtp.cmd.ehlo").
func (s *smtpClient) command(verb, line string) error {
	err := s.c.SendCommand(verb, line+"\r\n")
	s.canQuit = s.canQuit && err == nil
	return err
}

// refused reports a reply the dialogue cannot go on from. want are the
// codes that would have let it go on: a positive reply that is none of
// them is the wrong one, and the error names the one required.
func (s *smtpClient) refused(cmd string, r *protocol.Reply, want ...int) error {
	e := &SMTPReplyError{Command: cmd, Code: r.Code, Enhanced: r.Enhanced, Text: r.Text()}
	if r.Positive() && len(want) > 0 && !slices.Contains(want, r.Code) {
		e.Want = want[0]
		e.Rule = smtpRule(cmd, want[0])
		return s.c.Fail(strings.ToLower(cmd), e, ExplainWrongCode)
	}
	return s.c.Fail(strings.ToLower(cmd), e, protocol.KeyInTLS(fmt.Sprintf("smtp.reply.%d", r.Code), s.c.TLSActive()))
}

// ExplainWrongCode: a positive SMTP reply, but not the one the command
// requires (250 to STARTTLS, 250 to DATA).
const ExplainWrongCode = "smtp.reply.wrong_code"

// smtpRule names where the protocol requires code in answer to cmd.
func smtpRule(cmd string, code int) string {
	switch {
	case cmd == "greeting":
		return "RFC 5321 §4.3.2"
	case cmd == "EHLO" || cmd == "HELO":
		return "RFC 5321 §4.1.1.1"
	case cmd == "STARTTLS":
		return "RFC 3207 §4"
	case cmd == "AUTH" && code == 334:
		return "RFC 4954 §4"
	case cmd == "AUTH":
		return "RFC 4954 §6"
	case cmd == "MAIL":
		return "RFC 5321 §4.1.1.2"
	case cmd == "RCPT":
		return "RFC 5321 §4.1.1.3"
	case cmd == "DATA":
		return "RFC 5321 §4.1.1.4"
	case cmd == "QUIT":
		return "RFC 5321 §4.1.1.10"
	}
	return "RFC 5321 §4.3.2"
}

// exchange sends a command and reads its reply, which must have one of the
// wanted codes.
func (s *smtpClient) exchange(verb, line string, want ...int) (*protocol.Reply, error) {
	if err := s.command(verb, line); err != nil {
		return nil, err
	}
	r, err := s.reply("read "+verb+" reply", verb == "EHLO")
	if err != nil {
		return nil, err
	}
	if !slices.Contains(want, r.Code) {
		return r, s.refused(verb, r, want...)
	}
	return r, nil
}

// ehlo greets with EHLO, falling back to HELO when the server does not know
// EHLO (RFC 5321 §4.1.4); then there are no extensions.
func (s *smtpClient) ehlo() error {
	s.caps, s.helo = nil, false
	if err := s.command("EHLO", "EHLO "+s.o.EHLOName); err != nil {
		return err
	}
	r, err := s.reply("read EHLO reply", true)
	if err != nil {
		return err
	}
	switch {
	case r.Code == 250:
		return nil
	case r.Code == 500 || r.Code == 502:
		s.helo = true
		_, err := s.exchange("HELO", "HELO "+s.o.EHLOName, 250)
		return err
	}
	return s.refused("EHLO", r, 250)
}

func (s *smtpClient) startTLS() error {
	// Why STARTTLS is missing: not in the EHLO reply, or no EHLO reply at
	// all (after HELO there are no extensions, RFC 5321 §4.1.4).
	missing := "the server does not offer STARTTLS in its EHLO reply"
	if s.helo {
		missing = "the server refused EHLO, and HELO, which the client fell back to, offers no extensions, STARTTLS included (RFC 5321 §4.1.4)"
	}
	if _, ok := s.capability("STARTTLS"); !ok {
		return s.c.noStartTLS("starttls", missing, fmt.Errorf("%s: %s, and TLS mode is starttls", s.o.Target, missing))
	}
	if s.o.TLSMode == TLSOpportunistic {
		if err := s.command("STARTTLS", "STARTTLS"); err != nil {
			return err
		}
		r, err := s.reply("read STARTTLS reply", false)
		if err != nil {
			return err
		}
		if r.Code != 220 {
			return s.c.goOnInCleartext(fmt.Sprintf("the server answered STARTTLS with %d", r.Code))
		}
	} else if _, err := s.exchange("STARTTLS", "STARTTLS", 220); err != nil {
		return err // 454: TLS not available for a temporary reason (RFC 3207 §4)
	}
	// RFC 3207 §4.2: the client must discard what it knew from the server
	// and issue EHLO again as the first command.
	return s.c.upgradeAndAskAgain(protocol.SMTP, &s.caps, &s.canQuit, s.ehlo, "STARTTLS", "RFC 3207 §4.2")
}

// auth authenticates with AUTH PLAIN or AUTH LOGIN (RFC 4954 §4).
func (s *smtpClient) auth() error {
	noCreds := "not authenticating"
	if s.o.To != "" {
		noCreds += ", so the server will probably refuse to relay"
	}
	if s.c.withholdCredentials(protocol.SMTP, noCreds, "RFC 4954 §4") {
		return nil
	}
	params, ok := s.capability("AUTH")
	if !ok {
		s.c.Note("the server does not offer AUTH here, so the client cannot authenticate", "smtp.note.no_auth_offered", nil)
		return nil
	}
	offered := strings.Fields(strings.ToUpper(params))
	mech := s.o.AuthMechanism
	if !slices.Contains(offered, mech) {
		for _, alt := range []string{protocol.AuthPlain, protocol.AuthLogin} {
			if slices.Contains(offered, alt) {
				s.c.Note(fmt.Sprintf("the server does not offer AUTH %s; using %s", mech, alt), "smtp.note.auth_mechanism_switched", nil)
				mech = alt
				break
			}
		}
	}
	b64 := base64.StdEncoding.EncodeToString
	switch mech {
	case protocol.AuthLogin:
		if _, err := s.exchange("AUTH", "AUTH LOGIN", 334); err != nil {
			return err
		}
		if _, err := s.exchange("AUTH", b64([]byte(s.o.Username)), 334); err != nil {
			return err
		}
		_, err := s.exchange("AUTH", b64([]byte(s.o.Password)), 235)
		s.authed = err == nil
		return err
	default:
		// RFC 4616 §2: [authzid] NUL authcid NUL passwd, sent as the
		// initial response (RFC 4954 §4).
		msg := b64([]byte("\x00" + s.o.Username + "\x00" + s.o.Password))
		_, err := s.exchange("AUTH", "AUTH PLAIN "+msg, 235)
		s.authed = err == nil
		return err
	}
}

// send submits one short message (RFC 5321 §3.3).
func (s *smtpClient) send() error {
	if _, err := s.exchange("MAIL", "MAIL FROM:<"+s.o.From+">", 250); err != nil {
		return err
	}
	if _, err := s.exchange("RCPT", "RCPT TO:<"+s.o.To+">", 250, 251); err != nil {
		return err
	}
	if _, err := s.exchange("DATA", "DATA", 354); err != nil {
		return err
	}
	body := s.message()
	if err := s.c.Send(body, wire.Line{}, "smtp.data.content"); err != nil {
		s.canQuit = false
		return s.c.Fail("send message", err, "")
	}
	r, err := s.reply("read DATA reply", false)
	if err != nil {
		return err
	}
	if r.Code != 250 {
		return s.refused("DATA", r, 250)
	}
	return nil
}

// message builds the test message with dot-stuffing and the final "."
// line (RFC 5321 §4.5.2).
func (s *smtpClient) message() []byte {
	if s.o.Message != nil {
		return dotStuff(s.o.Message)
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	tlsState := "without TLS"
	if cs, ok := s.c.ConnectionState(); ok {
		tlsState = "inside " + tls.VersionName(cs.Version)
	}
	lines := []string{
		"Date: " + time.Now().Format(time.RFC1123Z),
		"From: <" + s.o.From + ">",
		"To: <" + s.o.To + ">",
		"Subject: mailwire test message",
		"Message-ID: <" + hex.EncodeToString(id[:]) + "@" + s.o.EHLOName + ">",
		"MIME-Version: 1.0",
		"Content-Type: text/plain; charset=utf-8",
		"",
		"This message was sent by mailwire to show an SMTP session on the wire,",
		"as " + string(s.o.Role) + " to " + s.o.Target + ", " + tlsState + ".",
	}
	return dotStuff([]byte(strings.Join(lines, "\r\n")))
}

// dotStuff prepares a given message for DATA (RFC 5321 §4.5.2): every line
// ends in CRLF, a line starting with "." gets another, and the lone "."
// line ends it.
func dotStuff(msg []byte) []byte {
	var b strings.Builder
	text := strings.TrimSuffix(strings.ReplaceAll(string(msg), "\r\n", "\n"), "\n")
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, ".") {
			b.WriteByte('.')
		}
		b.WriteString(strings.TrimSuffix(l, "\r"))
		b.WriteString("\r\n")
	}
	b.WriteString(".\r\n")
	return []byte(b.String())
}

// quit ends the session (RFC 5321 §4.1.1.10).
func (s *smtpClient) quit() error {
	s.canQuit = false
	r, err := s.exchange("QUIT", "QUIT", 221)
	if err != nil {
		return err
	}
	if r.Code == 221 {
		s.c.Ended()
	}
	return nil
}
