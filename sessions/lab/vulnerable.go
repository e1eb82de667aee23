package lab

// The injection-vulnerable SMTP and IMAP servers of ModeInjectionVulnerable.
//
// Why a separate, scripted server: the bug is in how a server reads its
// input across STARTTLS, and both libraries the lab uses get it right in a
// way that cannot be switched off. go-smtp builds the TLS connection on the
// raw conn and makes a new reader on it (conn.go handleStartTLS), so what
// its old reader held is dropped; go-imap hands the bytes its reader held
// to the TLS layer as handshake bytes (imapserver/starttls.go), so they
// break the handshake instead of being read as commands. Neither has a
// hook in between. The lab's own POP3 server has the bug behind a flag
// (pop3.go keepPipelinedAfterSTLS), so POP3 uses it.
//
// What this server gets wrong is exactly the historic bug (CVE-2011-0411,
// Postfix before 2.7.3 and others, Wietse Venema's "plaintext command
// injection"): at STARTTLS it takes the bytes its buffered reader already
// holds, runs the handshake on the raw connection, and then reads first
// from those saved cleartext bytes and only then from TLS, so a command a
// man in the middle appended after STARTTLS is answered inside TLS as if
// the client had sent it there. RFC 3207 §4.2 and RFC 2595 §4 require the
// server to discard it. Everything else follows the lab: the policy of
// the canonical port (STARTTLS first for AUTH/LOGIN, AUTH for recipients on
// 587), the demo credentials, local delivery to the shared store, the lab's
// limits and timeouts (labConn), and no relaying.
//
// Why not the hostile servers' scripted SMTP and IMAP (hostile.go), which
// read their input the same way: those accept everything and keep nothing
// (any AUTH succeeds, DATA is dropped), so that a case misbehaves at one
// point of an otherwise smooth session. This one is a lab endpoint: a
// learner logs in with the demo account, is refused where the port's
// policy refuses (with the lab's SMTP replies, smtp.go), and finds the
// injected command's effect in the lab's store. What the two share is in
// scripted.go: the bounded line reader and the bytes held at STARTTLS.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// vulnMaxErrors: commands refused before the connection is closed, as
// Postfix's smtpd_hard_error_limit (20).
const vulnMaxErrors = 20

// serveVulnerable accepts clients of an injection-vulnerable SMTP or IMAP
// endpoint. Called with l.modeMu held and the lab not stopping, so the
// closer and the WaitGroup are registered before Close reads them.
func (l *Lab) serveVulnerable(spec endpointSpec, ln *guardedListener) error {
	if spec.Proto != ProtoSMTP && spec.Proto != ProtoIMAP {
		return fmt.Errorf("no injection-vulnerable server for %s", spec.Proto)
	}
	l.serveEach(ln, fmt.Sprintf("%s %d (%s)", spec.Proto, spec.Canonical, spec.Mode), func(conn net.Conn) error {
		v := &vulnConn{lab: l, spec: spec, raw: conn, conn: conn, r: bufio.NewReaderSize(conn, 4096)}
		// Inside TLS, end with close_notify (RFC 8446 §6.1), as the lab's
		// other servers do; then the raw conn closes.
		defer func() { _ = v.conn.Close() }() // v.conn as it is then
		if spec.Proto == ProtoSMTP {
			return v.smtp()
		}
		return v.imap()
	})
	return nil
}

// vulnConn is one connection to the vulnerable server.
type vulnConn struct {
	lab  *Lab
	spec endpointSpec
	raw  net.Conn // the labConn as accepted
	conn net.Conn // raw, or the *tls.Conn after STARTTLS
	r    *bufio.Reader
	tls  bool

	errors   int // refused commands
	failures int // failed logins
	authed   bool

	// SMTP state (RFC 5321 §4.1.4: reset by EHLO, RSET and STARTTLS).
	helo    string
	hasFrom bool
	from    string
	rcpts   []string
}

func (v *vulnConn) write(s string) error {
	if _, err := io.WriteString(v.conn, s); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// readLine reads one command line without its line end, at most the lab's
// MaxLineLength bytes. It arms the read deadline first, which is where
// labConn counts the command against the lab's command rate.
func (v *vulnConn) readLine() (string, error) {
	if err := v.conn.SetReadDeadline(time.Now().Add(v.lab.opts.Limits.IdleTimeout)); err != nil {
		return "", err
	}
	return readLimitedLine(v.r, v.lab.opts.Limits.MaxLineLength)
}

// startTLS is the bug, on purpose: see the comment at the top of the file.
func (v *vulnConn) startTLS() error {
	// A correct server drops these bytes (RFC 3207 §4.2); this one keeps
	// them to read before anything that arrives inside TLS.
	pending := bufferedBytes(v.r)
	// The handshake runs on the raw connection: the saved bytes are
	// cleartext commands, not TLS.
	tc := tls.Server(v.raw, v.lab.tlsConfig)
	ctx, cancel := context.WithTimeout(context.Background(), v.lab.opts.Limits.IdleTimeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		return fmt.Errorf("starttls handshake with %s: %w", v.raw.RemoteAddr(), err)
	}
	v.conn, v.tls = tc, true
	if lc := labConnOf(v.raw); lc != nil {
		// A refusal for too many commands must now go through TLS.
		lc.setTop(func() net.Conn { return tc })
	}
	v.r = bufio.NewReaderSize(io.MultiReader(bytes.NewReader(pending), tc), 4096)
	return nil
}

// refuse writes a refusal and counts it; past vulnMaxErrors the
// connection ends with bye.
func (v *vulnConn) refuse(reply, bye string) error {
	if err := v.write(reply); err != nil {
		return err
	}
	if v.errors++; v.errors >= vulnMaxErrors {
		_ = v.write(bye)
		return errors.New("too many errors")
	}
	return nil
}

// loginAllowed: credentials may be sent now (RFC 8314 §3: only inside TLS,
// unless the policy says otherwise).
func (v *vulnConn) loginAllowed() bool { return v.tls || v.spec.policy.AuthBeforeTLS }

// ---- SMTP (RFC 5321, RFC 3207 STARTTLS, RFC 4954 AUTH, RFC 2920) ----

const vulnSMTPBye = "421 4.7.0 " + Hostname + " Error: too many errors\r\n"

func (v *vulnConn) smtp() error {
	if err := v.write("220 " + Hostname + " ESMTP mailwire lab (injection-vulnerable)\r\n"); err != nil {
		return err
	}
	for {
		line, err := v.readLine()
		if errors.Is(err, errLineTooLong) {
			_ = v.write("500 5.5.0 Error: line too long\r\n")
			return err
		}
		if err != nil {
			return err
		}
		verb, arg, _ := strings.Cut(line, " ")
		arg = strings.TrimSpace(arg)
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			err = v.smtpHello(strings.ToUpper(verb) == "EHLO", arg)
		case "STARTTLS":
			switch {
			case v.tls:
				err = v.refuse("503 5.5.1 Error: TLS already active\r\n", vulnSMTPBye)
			case arg != "":
				err = v.refuse("501 5.5.4 Syntax: STARTTLS\r\n", vulnSMTPBye)
			default:
				if err = v.write(smtpGoAhead); err == nil {
					err = v.startTLS()
				}
				// RFC 3207 §4.2: the SMTP state is forgotten (this server
				// gets that part right; only its input buffer survives).
				v.helo, v.authed = "", false
				v.smtpReset()
			}
		case "AUTH":
			err = v.smtpAuth(arg)
		case "MAIL":
			err = v.smtpMail(arg)
		case "RCPT":
			err = v.smtpRcpt(arg)
		case "DATA":
			err = v.smtpData()
		case "RSET":
			v.smtpReset()
			err = v.write("250 2.0.0 Ok\r\n")
		case "NOOP":
			err = v.write("250 2.0.0 Ok\r\n")
		case "QUIT":
			_ = v.write("221 2.0.0 Bye\r\n")
			return nil
		default:
			err = v.refuse("502 5.5.2 Error: command not recognized\r\n", vulnSMTPBye)
		}
		if err != nil {
			return err
		}
	}
}

func (v *vulnConn) smtpReset() {
	v.hasFrom, v.from, v.rcpts = false, "", nil
}

// smtpAuthOffered: AUTH is advertised and accepted now.
func (v *vulnConn) smtpAuthOffered() bool { return v.spec.policy.AuthOffered && v.loginAllowed() }

func (v *vulnConn) smtpHello(ehlo bool, name string) error {
	if name == "" {
		return v.refuse("501 5.5.4 Syntax: EHLO hostname\r\n", vulnSMTPBye)
	}
	v.helo = sanitizeHeader(name)
	v.smtpReset()
	if !ehlo {
		return v.write("250 " + Hostname + "\r\n")
	}
	// PIPELINING (RFC 2920) is what makes the injection one write.
	ext := []string{Hostname, "PIPELINING", "SIZE " + strconv.FormatInt(v.lab.opts.Limits.MaxMessageBytes, 10)}
	if !v.tls {
		ext = append(ext, "STARTTLS")
	}
	if v.smtpAuthOffered() {
		ext = append(ext, "AUTH PLAIN LOGIN")
	}
	ext = append(ext, "8BITMIME")
	var b strings.Builder
	for i, e := range ext {
		sep := "-"
		if i == len(ext)-1 {
			sep = " "
		}
		b.WriteString("250" + sep + e + "\r\n")
	}
	return v.write(b.String())
}

// smtpAuth runs AUTH PLAIN (RFC 4616) or AUTH LOGIN with the lab's replies
// (smtp.go).
func (v *vulnConn) smtpAuth(arg string) error {
	mech, initial, hasInitial := strings.Cut(arg, " ")
	switch {
	case !v.spec.policy.AuthOffered:
		return v.refuse(smtpReplyLine(errAuthNotEnabled), vulnSMTPBye)
	case !v.loginAllowed():
		return v.refuse(smtpReplyLine(errMustStartTLS), vulnSMTPBye)
	case v.helo == "":
		return v.refuse("503 5.5.1 Error: send HELO/EHLO first\r\n", vulnSMTPBye)
	case v.authed:
		return v.refuse(smtpReplyLine(errAlreadyAuthenticated), vulnSMTPBye)
	case v.failures >= maxAuthFailures:
		return v.refuse(smtpReplyLine(errTooManyAuthFailures), vulnSMTPBye)
	}
	// step reads one SASL response: the initial one if given, else after a
	// 334 challenge (RFC 4954 §4). "*" cancels.
	step := func(challenge string) ([]byte, bool, error) {
		resp := initial
		if !hasInitial {
			if err := v.write("334 " + challenge + "\r\n"); err != nil {
				return nil, false, err
			}
			line, err := v.readLine()
			if err != nil {
				return nil, false, err
			}
			resp = line
		}
		hasInitial = false
		if resp == "*" {
			return nil, false, v.refuse("501 5.7.0 Authentication aborted\r\n", vulnSMTPBye)
		}
		if resp == "=" {
			return []byte{}, true, nil
		}
		b, err := base64.StdEncoding.DecodeString(resp)
		if err != nil {
			return nil, false, v.refuse("501 5.5.2 Invalid base64 data in continued response\r\n", vulnSMTPBye)
		}
		return b, true, nil
	}
	var user, pass, identity string
	switch strings.ToUpper(mech) {
	case "PLAIN":
		b, ok, err := step("")
		if !ok {
			return err
		}
		parts := strings.Split(string(b), "\x00")
		if len(parts) != 3 {
			return v.refuse("501 5.5.2 Invalid PLAIN response\r\n", vulnSMTPBye)
		}
		identity, user, pass = parts[0], parts[1], parts[2]
	case "LOGIN":
		b, ok, err := step("VXNlcm5hbWU6") // "Username:"
		if !ok {
			return err
		}
		user = string(b)
		b, ok, err = step("UGFzc3dvcmQ6") // "Password:"
		if !ok {
			return err
		}
		pass = string(b)
	default:
		return v.refuse("504 5.7.4 Unsupported authentication mechanism\r\n", vulnSMTPBye)
	}
	if checkLogin(user, pass) && (identity == "" || identity == user) {
		v.authed = true
		return v.write(smtpReplyLine(errAuthSucceeded))
	}
	v.failures++
	return v.refuse(smtpReplyLine(errAuthFailed), vulnSMTPBye)
}

// pathArg returns the address in "FROM:<addr> params" / "TO:<addr>".
func pathArg(arg, prefix string) (string, bool) {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return "", false
	}
	rest := strings.TrimSpace(arg[len(prefix):])
	if !strings.HasPrefix(rest, "<") {
		return "", false
	}
	addr, _, ok := strings.Cut(rest[1:], ">")
	if !ok || strings.ContainsAny(addr, " \t<") {
		return "", false
	}
	return addr, true
}

func (v *vulnConn) smtpMail(arg string) error {
	switch {
	case v.helo == "":
		return v.refuse("503 5.5.1 Error: send HELO/EHLO first\r\n", vulnSMTPBye)
	case v.spec.policy.RequireTLS && !v.tls:
		return v.refuse(smtpReplyLine(errMustStartTLS), vulnSMTPBye)
	case v.hasFrom:
		return v.refuse("503 5.5.1 Error: nested MAIL command\r\n", vulnSMTPBye)
	}
	addr, ok := pathArg(arg, "FROM:")
	if !ok {
		return v.refuse("501 5.5.4 Syntax: MAIL FROM:<address>\r\n", vulnSMTPBye)
	}
	v.hasFrom, v.from, v.rcpts = true, addr, nil
	return v.write("250 2.1.0 Ok\r\n")
}

func (v *vulnConn) smtpRcpt(arg string) error {
	if !v.hasFrom {
		return v.refuse("503 5.5.1 Error: need MAIL command\r\n", vulnSMTPBye)
	}
	addr, ok := pathArg(arg, "TO:")
	if !ok {
		return v.refuse("501 5.5.4 Syntax: RCPT TO:<address>\r\n", vulnSMTPBye)
	}
	if v.spec.policy.RequireAuth && !v.authed {
		return v.refuse(smtpReplyLine(errAccessDenied(sanitizeHeader(addr))), vulnSMTPBye)
	}
	if len(v.rcpts) >= 50 {
		return v.write("452 4.5.3 Error: too many recipients\r\n")
	}
	switch v.lab.classify(addr) {
	case recipientLocal:
		v.rcpts = append(v.rcpts, addr)
		return v.write("250 2.1.5 Ok\r\n")
	case recipientUnknown:
		return v.refuse(smtpReplyLine(errUnknownUser(sanitizeHeader(addr))), vulnSMTPBye)
	}
	// Never relays, whatever Options.Relay says.
	return v.refuse(smtpReplyLine(errRelayDenied(sanitizeHeader(addr))), vulnSMTPBye)
}

// smtpData reads the message (RFC 5321 §4.5.2 dot-stuffing), bounded by
// MaxMessageBytes, and delivers it to the lab's mailbox.
func (v *vulnConn) smtpData() error {
	if len(v.rcpts) == 0 {
		return v.refuse("554 5.5.1 Error: no valid recipients\r\n", vulnSMTPBye)
	}
	if err := v.write("354 End data with <CR><LF>.<CR><LF>\r\n"); err != nil {
		return err
	}
	lim := v.lab.opts.Limits.MaxMessageBytes
	var body bytes.Buffer
	for {
		line, err := v.readLine()
		if err != nil {
			return err
		}
		if line == "." {
			break
		}
		line = strings.TrimPrefix(line, ".")
		if int64(body.Len()+len(line)+2) > lim {
			// The rest of the message cannot be told from commands
			// without reading it all; end the session as go-smtp does.
			_ = v.write("552 5.3.4 Error: message too big\r\n")
			return errors.New("message over MaxMessageBytes")
		}
		body.WriteString(line + "\r\n")
	}
	now := time.Now()
	id := newQueueID()
	proto := "ESMTP"
	if v.tls {
		proto += "S"
	}
	if v.authed {
		proto += "A"
	}
	client := "unknown"
	if host, _, err := net.SplitHostPort(v.raw.RemoteAddr().String()); err == nil {
		client = host
	}
	var msg bytes.Buffer
	fmt.Fprintf(&msg, "Return-Path: <%s>\r\n", sanitizeHeader(v.from))
	fmt.Fprintf(&msg, "Received: from %s ([%s])\r\n\tby %s (mailwire lab, injection-vulnerable) with %s id %s;\r\n\t%s\r\n",
		v.helo, client, Hostname, proto, id, now.Format(time.RFC1123Z))
	msg.Write(body.Bytes())
	v.smtpReset()
	if err := v.lab.store.deliver(msg.Bytes(), now); err != nil {
		v.lab.errLog.Printf("smtp %d (%s): deliver: %v", v.spec.Canonical, v.spec.Mode, err)
		return v.write("451 4.3.0 Error: queue file write error\r\n")
	}
	return v.write("250 2.0.0 Ok: queued as " + id + "\r\n")
}

// ---- IMAP (RFC 9051, RFC 3501; STARTTLS §6.2.1, LOGIN §6.2.3) ----

const vulnIMAPBye = "* BYE Too many invalid commands\r\n"

func (v *vulnConn) imapCaps() string {
	if v.tls {
		return "IMAP4rev1 AUTH=PLAIN"
	}
	if v.spec.policy.AuthBeforeTLS {
		return "IMAP4rev1 STARTTLS AUTH=PLAIN"
	}
	// RFC 9051 §6.2.3: LOGINDISABLED where LOGIN would be refused.
	return "IMAP4rev1 STARTTLS LOGINDISABLED"
}

func (v *vulnConn) imap() error {
	if err := v.write("* OK [CAPABILITY " + v.imapCaps() + "] mailwire lab IMAP (injection-vulnerable) ready\r\n"); err != nil {
		return err
	}
	for {
		line, err := v.readLine()
		if errors.Is(err, errLineTooLong) {
			_ = v.write("* BYE Command line too long\r\n")
			return err
		}
		if err != nil {
			return err
		}
		tag, rest, _ := strings.Cut(line, " ")
		if !imapTagOK(tag) || rest == "" {
			if err := v.refuse("* BAD Error in IMAP command: tag and command expected\r\n", vulnIMAPBye); err != nil {
				return err
			}
			continue
		}
		verb, arg, _ := strings.Cut(rest, " ")
		switch strings.ToUpper(verb) {
		case "CAPABILITY":
			err = v.write("* CAPABILITY " + v.imapCaps() + "\r\n" + tag + " OK CAPABILITY completed\r\n")
		case "NOOP":
			err = v.write(tag + " OK NOOP completed\r\n")
		case "STARTTLS":
			if v.tls {
				err = v.refuse(tag+" BAD STARTTLS not available\r\n", vulnIMAPBye)
				break
			}
			if err = v.write(tag + imapGoAhead); err == nil {
				err = v.startTLS()
			}
		case "LOGIN":
			err = v.imapLogin(tag, arg)
		case "LOGOUT":
			_ = v.write("* BYE Logging out\r\n" + tag + " OK LOGOUT completed\r\n")
			return nil
		default:
			if v.authed {
				// Honest about what it is: reading mail is the lab's own
				// port 143's job.
				err = v.refuse(tag+" NO [CANNOT] This endpoint only shows STARTTLS command injection; read mail on the lab's own IMAP port\r\n", vulnIMAPBye)
			} else {
				err = v.refuse(tag+" BAD Unknown command or not allowed before LOGIN\r\n", vulnIMAPBye)
			}
		}
		if err != nil {
			return err
		}
	}
}

// imapTagOK: RFC 9051 §9 tag = 1*<any ASTRING-CHAR except "+">.
func imapTagOK(tag string) bool {
	if tag == "" {
		return false
	}
	for i := 0; i < len(tag); i++ {
		c := tag[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`+(){%*"\]`, c) >= 0 {
			return false
		}
	}
	return true
}

func (v *vulnConn) imapLogin(tag, arg string) error {
	switch {
	case v.authed:
		return v.refuse(tag+" BAD Already logged in\r\n", vulnIMAPBye)
	case !v.loginAllowed():
		return v.refuse(tag+" NO [PRIVACYREQUIRED] Login is disabled on this connection until STARTTLS\r\n", vulnIMAPBye)
	case v.failures >= maxAuthFailures:
		return v.refuse(tag+" NO [AUTHENTICATIONFAILED] Too many failed login attempts on this connection\r\n", vulnIMAPBye)
	}
	user, rest, ok := imapAstring(arg)
	var pass string
	if ok && strings.HasPrefix(rest, " ") {
		pass, rest, ok = imapAstring(rest[1:])
	} else {
		ok = false
	}
	if !ok || rest != "" {
		return v.refuse(tag+" BAD Syntax: LOGIN userid password\r\n", vulnIMAPBye)
	}
	if !checkLogin(user, pass) {
		v.failures++
		return v.refuse(tag+" NO [AUTHENTICATIONFAILED] Authentication failed\r\n", vulnIMAPBye)
	}
	v.authed = true
	return v.write(tag + " OK [CAPABILITY IMAP4rev1] LOGIN completed\r\n")
}

// imapAstring parses an atom or a quoted string (RFC 9051 §4.3) at the
// start of s; literals are not accepted here (a client falls back to a
// quoted string for the demo credentials).
func imapAstring(s string) (string, string, bool) {
	if s == "" {
		return "", s, false
	}
	if s[0] != '"' {
		i := strings.IndexByte(s, ' ')
		if i < 0 {
			i = len(s)
		}
		atom := s[:i]
		if strings.ContainsAny(atom, `(){%*"\`) || strings.HasPrefix(atom, "{") {
			return "", s, false
		}
		return atom, s[i:], atom != ""
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 >= len(s) || (s[i+1] != '"' && s[i+1] != '\\') {
				return "", s, false
			}
			i++
			b.WriteByte(s[i])
		case '"':
			return b.String(), s[i+1:], true
		default:
			b.WriteByte(c)
		}
	}
	return "", s, false
}
