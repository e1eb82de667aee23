package lab

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// How the lab's SMTP policy fits go-smtp: go-smtp refuses AUTH before TLS
// itself with "523 5.7.10 TLS is required" when AllowInsecureAuth is false.
// Postfix, which the lab mirrors, answers "530 5.7.0 Must issue a STARTTLS
// command first" to AUTH and MAIL alike. So the lab sets AllowInsecureAuth
// and makes every decision in its Session: AuthMechanisms advertises AUTH
// only where the policy allows it (go-smtp calls it per EHLO, and makes a
// new Session after STARTTLS, RFC 3207 §4.2), Auth and Mail refuse with
// Postfix's codes. The policy, not a server flag, is then the one place that
// says what an endpoint allows.

// Replies, in Postfix's words where Postfix has them: the lab's SMTP
// server returns them to go-smtp, and the injection-vulnerable server
// (vulnerable.go), which writes its replies itself, writes the same ones
// with smtpReplyLine.
var (
	errMustStartTLS = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0},
		Message: "Must issue a STARTTLS command first"}
	errAuthNotEnabled = &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 5, 1},
		Message: "Error: authentication not enabled"}
	errAuthFailed = &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8},
		Message: "Error: authentication failed: authentication failure"}
	// RFC 4954 §6 (and Postfix) answer a successful AUTH with 235 2.7.0;
	// go-smtp hard-codes 235 2.0.0 after a SASL exchange that returns nil,
	// but writes an *SMTPError from the exchange exactly as given. So the
	// lab's check returns this "error" on success and keeps its own
	// authenticated flag (and refuses a second AUTH itself, RFC 4954 §4).
	errAuthSucceeded = &smtp.SMTPError{Code: 235, EnhancedCode: smtp.EnhancedCode{2, 7, 0},
		Message: "Authentication successful"}
	errAlreadyAuthenticated = &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 5, 1},
		Message: "Error: already authenticated"}
	errTooManyAuthFailures = &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 7, 0},
		Message: "Error: too many failed authentication attempts on this connection"}
	// RFC 5321 §4.2.3 452, RFC 3463 §3.4 X.3.1; Postfix's words when its
	// queue is short of space. The lab says it when too many large
	// messages arrive at once (msgbudget.go).
	errInsufficientStorage = &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 3, 1},
		Message: "Insufficient system storage"}
)

// maxAuthFailures: after this many failed AUTH attempts a connection may not
// try again, which with the per-client connection limit bounds the rate of
// password guessing.
const maxAuthFailures = 3

// smtpReplyLine is e as it crosses the wire, as go-smtp writes a one-line
// reply: the code, the enhanced code (RFC 3463), the text and CRLF
// (RFC 5321 §4.2).
func smtpReplyLine(e *smtp.SMTPError) string {
	c := e.EnhancedCode
	return fmt.Sprintf("%d %d.%d.%d %s\r\n", e.Code, c[0], c[1], c[2], e.Message)
}

func errRelayDenied(addr string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1},
		Message: fmt.Sprintf("<%s>: Relay access denied", addr)}
}

// errAccessDenied is Postfix's answer on a submission port to a recipient
// from a client that has not authenticated (smtpd_recipient_restrictions =
// permit_sasl_authenticated, reject), the behaviour of the real server the
// lab is compared with in its interop tests.
func errAccessDenied(addr string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1},
		Message: fmt.Sprintf("<%s>: Recipient address rejected: Access denied", addr)}
}

func errUnknownUser(addr string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1},
		Message: fmt.Sprintf("<%s>: Recipient address rejected: User unknown in virtual mailbox table", addr)}
}

func (l *Lab) serveSMTP(spec endpointSpec, ln *guardedListener) error {
	lim := l.opts.Limits
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		// A refusal for too many commands must go through TLS once there
		// is TLS: c.Conn is go-smtp's current connection, the *tls.Conn
		// after STARTTLS (ratelimit.go). go-smtp calls this at each EHLO.
		if lc := labConnOf(c.Conn()); lc != nil {
			lc.setTop(c.Conn)
		}
		return &smtpSession{lab: l, policy: spec.policy, conn: c}, nil
	}))
	s.Domain = Hostname
	s.TLSConfig = l.tlsConfig  // STARTTLS on 25/587; 465 conns arrive as TLS already
	s.AllowInsecureAuth = true // see the comment at the top of this file
	s.MaxMessageBytes = lim.MaxMessageBytes
	s.MaxLineLength = lim.MaxLineLength
	s.MaxRecipients = 50
	// labConn enforces IdleTimeout on every read; go-smtp's ReadTimeout
	// makes it answer "421 4.4.2 Idle timeout" before closing.
	s.ReadTimeout = lim.IdleTimeout
	s.WriteTimeout = lim.IdleTimeout
	s.ErrorLog = l.errLog

	l.closers = append(l.closers, func() error {
		err := s.Close()
		if err != nil && !errors.Is(err, smtp.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			return fmt.Errorf("close smtp %d: %w", spec.Canonical, err)
		}
		return closeListener(ln)
	})
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		if err := s.Serve(ln); err != nil && !l.stopping() {
			l.errLog.Printf("smtp %d: serve: %v", spec.Canonical, err)
		}
	}()
	return nil
}

// smtpSession is one SMTP transaction context. go-smtp makes a new one per
// EHLO/HELO and after STARTTLS, so it can read the TLS state from conn.
type smtpSession struct {
	lab    *Lab
	policy policy
	conn   *smtp.Conn

	authed       bool
	authFailures int
	from         string
	rcpts        []string
	relayRcpts   []string // recipients in Options.Relay's domain
}

var _ smtp.AuthSession = (*smtpSession)(nil)

func (s *smtpSession) isTLS() bool {
	_, ok := s.conn.TLSConnectionState()
	return ok
}

// AuthMechanisms is what EHLO advertises (RFC 4954 §3): nothing before TLS
// unless the policy allows cleartext AUTH.
func (s *smtpSession) AuthMechanisms() []string {
	if !s.policy.AuthOffered || (!s.isTLS() && !s.policy.AuthBeforeTLS) {
		return nil
	}
	return []string{sasl.Plain, sasl.Login}
}

func (s *smtpSession) Auth(mech string) (sasl.Server, error) {
	if !s.policy.AuthOffered {
		return nil, errAuthNotEnabled
	}
	if !s.isTLS() && !s.policy.AuthBeforeTLS {
		return nil, errMustStartTLS
	}
	if s.authed {
		return nil, errAlreadyAuthenticated
	}
	if s.authFailures >= maxAuthFailures {
		return nil, errTooManyAuthFailures
	}
	check := func(identity, username, password string) error {
		// RFC 4616 §2: an authorization identity, if given, must be one
		// the user may act as: here only itself.
		if checkLogin(username, password) && (identity == "" || identity == username) {
			s.authed = true
			return errAuthSucceeded
		}
		s.authFailures++
		return errAuthFailed
	}
	switch strings.ToUpper(mech) {
	case sasl.Plain:
		return sasl.NewPlainServer(check), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (s *smtpSession) Mail(from string, opts *smtp.MailOptions) error {
	if s.policy.RequireTLS && !s.isTLS() {
		return errMustStartTLS
	}
	// An unauthenticated sender is refused at RCPT, not here: that is what
	// Postfix does with smtpd_recipient_restrictions =
	// permit_sasl_authenticated, reject (see errAccessDenied).
	s.from = from
	s.rcpts = s.rcpts[:0]
	s.relayRcpts = s.relayRcpts[:0]
	return nil
}

func (s *smtpSession) Rcpt(to string, opts *smtp.RcptOptions) error {
	if s.policy.RequireAuth && !s.authed {
		return errAccessDenied(to)
	}
	switch s.lab.classify(to) {
	case recipientLocal:
		s.rcpts = append(s.rcpts, to)
		return nil
	case recipientUnknown:
		return errUnknownUser(to)
	}
	// The lab relays only when told to (Options.Relay, the hops scenario),
	// for its one domain, and only for a client that authenticated on a
	// submission port; otherwise nothing leaves it.
	if s.authed && s.policy.AuthOffered && !s.policy.NoRelay && s.lab.relay.relays(to) {
		s.relayRcpts = append(s.relayRcpts, to)
		return nil
	}
	return errRelayDenied(to)
}

func (s *smtpSession) Data(r io.Reader) error {
	lim := s.lab.opts.Limits.MaxMessageBytes
	// The trace header (RFC 5321 §4.4) is stamped as the data begins, so
	// that the body is read straight after it, into the one buffer that
	// is delivered: a message is held once while it arrives, not twice.
	now := time.Now()
	id := newQueueID()
	var msg bytes.Buffer
	if len(s.rcpts) > 0 {
		fmt.Fprintf(&msg, "Return-Path: <%s>\r\n", s.from)
		msg.WriteString(s.received(now, id, s.rcpts))
	}
	head := msg.Len()
	client := clientOf(s.conn.Conn())
	release, err := s.lab.store.budget.receive(client, &msg, r, lim, smtp.ErrDataTooLarge)
	defer release()
	if errors.Is(err, errNoBudget) {
		s.lab.errLog.Printf("smtp: %s: message refused: %v (msgbudget.go)", client, err)
		return errInsufficientStorage
	}
	if err != nil {
		return err // go-smtp turns ErrDataTooLarge into 552 5.3.4
	}
	body := msg.Bytes()[head:]
	// A relay slot is taken before anything is stored, so that a 451 for
	// a busy relay leaves nothing behind that the client's retry would
	// duplicate; likewise a failed local delivery gives the slot back.
	relaying := len(s.relayRcpts) > 0
	if relaying {
		if err := s.lab.relay.acquire(); err != nil {
			return err
		}
	}
	if len(s.rcpts) > 0 {
		if err := s.lab.store.deliver(msg.Bytes(), now); err != nil {
			if relaying {
				s.lab.relay.release()
			}
			s.lab.errLog.Printf("smtp: deliver: %v", err)
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0},
				Message: "Error: queue file write error"}
		}
	}
	if relaying {
		// Queued for the next hop: the trace header travels with it
		// (RFC 5321 §4.4); Return-Path is added only at final delivery
		// (§4.4, "final delivery"), so lab B adds it, not lab A.
		queued := append([]byte(s.received(now, id, s.relayRcpts)), body...)
		s.lab.relay.start(Envelope{ID: id, From: s.from, To: append([]string(nil), s.relayRcpts...),
			Data: crlf(queued), ReceivedAt: now})
	}
	// go-smtp sends a *SMTPError's code as is, 250 included: the reply
	// names the queue ID, as Postfix's does, so a reader can match it to
	// the "id" of the Received: header and, in the hops scenario, to the
	// next hop.
	return &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0}, Message: "OK: queued as " + id}
}

// received builds the trace header RFC 5321 §4.4 asks every SMTP server to
// add, with the protocol names of RFC 3848 (ESMTP, ESMTPS, ESMTPA,
// ESMTPSA), so a reader of the message can see whether it came over TLS and
// authenticated.
func (s *smtpSession) received(now time.Time, id string, rcpts []string) string {
	proto := "ESMTP"
	if s.isTLS() {
		proto += "S"
	}
	if s.authed {
		proto += "A"
	}
	client := "unknown"
	if host, _, err := net.SplitHostPort(s.conn.Conn().RemoteAddr().String()); err == nil {
		client = host
	}
	tlsNote := ""
	if st, ok := s.conn.TLSConnectionState(); ok {
		tlsNote = fmt.Sprintf("\r\n\t(using %s with cipher %s)", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite))
	}
	helo := sanitizeHeader(s.conn.Hostname())
	// RFC 5321 §4.4: "for" only with a single recipient, so a message to
	// several does not disclose the others.
	forClause := ""
	if len(rcpts) == 1 {
		forClause = " for <" + sanitizeHeader(rcpts[0]) + ">"
	}
	return fmt.Sprintf("Received: from %s ([%s])\r\n\tby %s (mailwire lab) with %s id %s%s%s;\r\n\t%s\r\n",
		helo, client, Hostname, proto, id, forClause, tlsNote, now.Format(time.RFC1123Z))
}

// sanitizeHeader keeps a client-supplied string from breaking a header.
func sanitizeHeader(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x21 || r > 0x7e {
			return -1
		}
		return r
	}, s)
	if len(s) > 255 {
		s = s[:255]
	}
	if s == "" {
		s = "unknown"
	}
	return s
}

func (s *smtpSession) Reset() {
	s.from = ""
	s.rcpts = nil
	s.relayRcpts = nil
}

func (s *smtpSession) Logout() error { return nil }

// loginServer is the server side of the LOGIN mechanism
// (draft-murchison-sasl-login-00), which go-sasl has only as a client. Many
// clients still use it, and Postfix offers it next to PLAIN.
type loginServer struct {
	check    func(identity, username, password string) error
	step     int
	username string
}

func (a *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	switch a.step {
	case 0:
		a.step++
		// A client may send the user name as an initial response.
		if response != nil {
			a.username = string(response)
			a.step++
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 1:
		a.username = string(response)
		a.step++
		return []byte("Password:"), false, nil
	case 2:
		a.step++
		return nil, true, a.check("", a.username, string(response))
	}
	return nil, true, errors.New("sasl: LOGIN: unexpected response")
}
