package loadgen

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Flow is what one session does.
type Flow int

const (
	// SMTPAuth: EHLO, STARTTLS, EHLO, AUTH PLAIN, QUIT: a submission client
	// that logs in and leaves (RFC 6409, RFC 3207, RFC 4954). With
	// Implicit (465) there is no STARTTLS and one EHLO.
	SMTPAuth Flow = iota
	// SMTPSubmit: SMTPAuth, then one small message from and to Rcpt (MAIL,
	// RCPT, DATA; RFC 5321 §3.3) before QUIT.
	SMTPSubmit
	// IMAPLogin: STARTTLS (RFC 9051 §6.2.1), LOGIN, SELECT INBOX, LOGOUT.
	IMAPLogin
	// POP3Login: STLS (RFC 2595 §4), USER, PASS, STAT, QUIT (RFC 1939).
	// A POP3 server locks the maildrop for one session at a time
	// (RFC 1939 §4), so concurrent POP3 sessions for one user meet
	// -ERR [IN-USE] (RFC 2449 §8.1.1).
	POP3Login
	// HTTPSGet: GET / over HTTP/1.1 in TLS, the response read to its end.
	HTTPSGet
)

var flowNames = [...]string{"smtp-auth", "smtp-submit", "imap-login", "pop3-login", "https-get"}

func (f Flow) String() string {
	if f >= 0 && int(f) < len(flowNames) {
		return flowNames[f]
	}
	return "flow(" + strconv.Itoa(int(f)) + ")"
}

// Bounds on what the lean clients read. RFC 5321 §4.5.3.1.5: an SMTP reply
// line is at most 512 octets, and servers list a few dozen extensions at
// most; IMAP and POP3 answers to these commands are a few short lines; the
// lab's HTTPS page is under 2 KiB.
const (
	maxReplyLine  = 1000
	maxReplyLines = 100
	// maxLiteral bounds an IMAP literal in a reply (none is expected to
	// the commands sent).
	maxLiteral = 64 << 10
	// maxHTTPResponse bounds a whole HTTP response, headers included.
	maxHTTPResponse = 1 << 20
)

// session runs one session of o.Flow. authed runs once the client has
// logged in (HTTPS: once the response status arrived), closed when the
// session ends after that.
func session(ctx context.Context, o Options, cfg *tls.Config, src net.IP, authed, closed func()) error {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	d := net.Dialer{}
	if src != nil {
		d.LocalAddr = &net.TCPAddr{IP: src}
	}
	raw, err := d.DialContext(ctx, "tcp", o.Target)
	if err != nil {
		return fmt.Errorf("connect: %w", trimAddr(err))
	}
	defer raw.Close()
	deadline, _ := ctx.Deadline()
	_ = raw.SetDeadline(deadline)
	// The context also ends a session blocked in a read or write.
	stop := context.AfterFunc(ctx, func() { _ = raw.SetDeadline(time.Now()) })
	defer stop()

	s := &client{ctx: ctx, o: o, cfg: cfg}
	if o.Implicit || o.Flow == HTTPSGet {
		// RFC 8314 §3: TLS from the first byte.
		if err := s.handshake(raw); err != nil {
			return err
		}
	} else {
		s.use(raw)
	}
	switch o.Flow {
	case IMAPLogin:
		return s.imap(authed, closed)
	case POP3Login:
		return s.pop3(authed, closed)
	case HTTPSGet:
		return s.https(authed, closed)
	}
	return s.smtp(authed, closed)
}

// client is one lean client's connection.
type client struct {
	ctx  context.Context
	o    Options
	cfg  *tls.Config
	conn net.Conn
	r    *bufio.Reader
}

func (c *client) use(conn net.Conn) {
	c.conn = conn
	c.r = bufio.NewReaderSize(conn, 4096)
}

// handshake runs TLS on conn and makes it the session's connection.
func (c *client) handshake(conn net.Conn) error {
	tc := tls.Client(conn, c.cfg)
	if err := tc.HandshakeContext(c.ctx); err != nil {
		return fmt.Errorf("TLS handshake: %w", trimAddr(err))
	}
	c.use(tc)
	return nil
}

// startTLS upgrades after the server's go-ahead.
func (c *client) startTLS(step string) error {
	if c.r.Buffered() > 0 {
		// RFC 3207 §4.2, RFC 2595 §3.1 (CVE-2011-0411): nothing may
		// follow the go-ahead in cleartext.
		return fmt.Errorf("%s: server sent data after its go-ahead", step)
	}
	return c.handshake(c.conn)
}

func (c *client) send(step, line string) error {
	if _, err := io.WriteString(c.conn, line+"\r\n"); err != nil {
		return fmt.Errorf("%s: %w", step, trimAddr(err))
	}
	return nil
}

// line reads one line, bounded, without its line ending.
func (c *client) line() (string, error) {
	b, err := c.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) || len(b) > maxReplyLine {
		return "", errors.New("reply line too long")
	}
	if err != nil {
		if len(b) > 0 && errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return "", trimAddr(err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// smtp runs SMTPAuth or SMTPSubmit.
func (c *client) smtp(authed, closed func()) error {
	if err := c.expect("greeting", "", 220); err != nil {
		return err
	}
	if !c.o.Implicit {
		if err := c.expect("EHLO", "EHLO "+c.o.EHLO, 250); err != nil {
			return err
		}
		if err := c.expect("STARTTLS", "STARTTLS", 220); err != nil {
			return err
		}
		if err := c.startTLS("STARTTLS"); err != nil {
			return err
		}
	}
	step := "EHLO"
	if !c.o.Implicit {
		step = "EHLO after STARTTLS"
	}
	if err := c.expect(step, "EHLO "+c.o.EHLO, 250); err != nil {
		return err
	}
	// RFC 4616 §2: authzid NUL authcid NUL passwd; RFC 4954 §4 initial
	// response.
	ir := base64.StdEncoding.EncodeToString([]byte("\x00" + c.o.User + "\x00" + c.o.Password))
	if err := c.expect("AUTH", "AUTH PLAIN "+ir, 235); err != nil {
		return err
	}
	authed()
	defer closed()
	if c.o.Flow == SMTPSubmit {
		if err := c.submit(); err != nil {
			return err
		}
	}
	return c.expect("QUIT", "QUIT", 221)
}

// submit sends one small message (RFC 5321 §3.3; RFC 5322 headers). Its
// lines never start with a dot, so none needs stuffing (§4.5.2).
func (c *client) submit() error {
	addr := c.o.Rcpt
	if err := c.expect("MAIL", "MAIL FROM:<"+addr+">", 250); err != nil {
		return err
	}
	if err := c.expect("RCPT", "RCPT TO:<"+addr+">", 250); err != nil {
		return err
	}
	if err := c.expect("DATA", "DATA", 354); err != nil {
		return err
	}
	now := time.Now()
	msg := "From: <" + addr + ">\r\nTo: <" + addr + ">\r\n" +
		"Subject: mailwire load\r\nDate: " + now.Format(time.RFC1123Z) + "\r\n" +
		"Message-ID: <" + strconv.FormatInt(now.UnixNano(), 36) + "@" + c.o.EHLO + ">\r\n\r\n" +
		"One message of a load test.\r\n."
	return c.expect("end of DATA", msg, 250)
}

// expect sends cmd (unless empty) and reads a whole SMTP reply, which must
// have code want. The error names the step and, for a refusal, quotes the
// reply's last line (sanitized: it goes to a terminal).
func (c *client) expect(step, cmd string, want int) error {
	if cmd != "" {
		if err := c.send(step, cmd); err != nil {
			return err
		}
	}
	code, last, err := c.smtpReply()
	if err != nil {
		return fmt.Errorf("%s: %w", step, err)
	}
	if code != want {
		return fmt.Errorf("%s: %s", step, printable(last))
	}
	return nil
}

// smtpReply reads one SMTP reply (RFC 5321 §4.2: "xyz-text" continues,
// "xyz text" ends it) and returns its code and last line.
func (c *client) smtpReply() (int, string, error) {
	for range maxReplyLines {
		s, err := c.line()
		if err != nil {
			return 0, "", err
		}
		if len(s) < 3 {
			return 0, "", fmt.Errorf("malformed reply %q", printable(s))
		}
		code, err := strconv.Atoi(s[:3])
		if err != nil || code < 200 || code > 599 {
			return 0, "", fmt.Errorf("malformed reply %q", printable(s))
		}
		if len(s) == 3 || s[3] == ' ' {
			return code, s, nil
		}
		if s[3] != '-' {
			return 0, "", fmt.Errorf("malformed reply %q", printable(s))
		}
	}
	return 0, "", fmt.Errorf("reply longer than %d lines", maxReplyLines)
}

// imap runs IMAPLogin.
func (c *client) imap(authed, closed func()) error {
	g, err := c.line()
	if err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	// RFC 9051 §7.1: the greeting is OK, PREAUTH or BYE.
	if !strings.HasPrefix(g, "* OK") {
		return fmt.Errorf("greeting: %s", printable(g))
	}
	if !c.o.Implicit {
		if err := c.tagged("STARTTLS", "a1", "STARTTLS"); err != nil {
			return err
		}
		if err := c.startTLS("STARTTLS"); err != nil {
			return err
		}
	}
	user, ok1 := imapQuote(c.o.User)
	pass, ok2 := imapQuote(c.o.Password)
	if !ok1 || !ok2 {
		return errors.New("LOGIN: user name or password cannot be sent as a quoted string")
	}
	if err := c.tagged("LOGIN", "a2", "LOGIN "+user+" "+pass); err != nil {
		return err
	}
	authed()
	defer closed()
	if err := c.tagged("SELECT", "a3", "SELECT INBOX"); err != nil {
		return err
	}
	return c.tagged("LOGOUT", "a4", "LOGOUT")
}

// tagged sends a command and reads to its tagged completion, which must be
// OK (RFC 9051 §7.1). A literal in an untagged line is skipped, bounded.
func (c *client) tagged(step, tag, cmd string) error {
	if err := c.send(step, tag+" "+cmd); err != nil {
		return err
	}
	for range maxReplyLines {
		s, err := c.line()
		if err != nil {
			return fmt.Errorf("%s: %w", step, err)
		}
		if rest, ok := strings.CutPrefix(s, tag+" "); ok {
			if strings.HasPrefix(rest, "OK") {
				return nil
			}
			return fmt.Errorf("%s: %s", step, printable(s))
		}
		// RFC 9051 §7.1.5: BYE before a close the client did not ask for.
		if strings.HasPrefix(s, "* BYE") && step != "LOGOUT" {
			return fmt.Errorf("%s: %s", step, printable(s))
		}
		if n, ok := literalSize(s); ok {
			if n > maxLiteral {
				return fmt.Errorf("%s: literal of %d bytes", step, n)
			}
			if _, err := io.CopyN(io.Discard, c.r, n); err != nil {
				return fmt.Errorf("%s: %w", step, trimAddr(err))
			}
		}
	}
	return fmt.Errorf("%s: reply longer than %d lines", step, maxReplyLines)
}

// literalSize reports the size of the literal a line announces at its end,
// {n} or {n+} (RFC 9051 §4.3, RFC 7888).
func literalSize(s string) (int64, bool) {
	if !strings.HasSuffix(s, "}") {
		return 0, false
	}
	i := strings.LastIndexByte(s, '{')
	if i < 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSuffix(s[i+1:len(s)-1], "+"), 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// protocol.IMAPQuote makes s an IMAP quoted string (RFC 9051 §4.3), which cannot
// carry CR, LF, NUL or 8-bit bytes.
func imapQuote(s string) (string, bool) {
	for i := range len(s) {
		if b := s[i]; b == 0 || b == '\r' || b == '\n' || b >= 0x80 {
			return "", false
		}
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`, true
}

// pop3 runs POP3Login.
func (c *client) pop3(authed, closed func()) error {
	if err := c.pop3OK("greeting", ""); err != nil {
		return err
	}
	if !c.o.Implicit {
		if err := c.pop3OK("STLS", "STLS"); err != nil {
			return err
		}
		if err := c.startTLS("STLS"); err != nil {
			return err
		}
	}
	if err := c.pop3OK("USER", "USER "+c.o.User); err != nil {
		return err
	}
	if err := c.pop3OK("PASS", "PASS "+c.o.Password); err != nil {
		return err
	}
	authed()
	defer closed()
	if err := c.pop3OK("STAT", "STAT"); err != nil {
		return err
	}
	return c.pop3OK("QUIT", "QUIT")
}

// pop3OK sends cmd (unless empty) and reads a one-line reply, which must be
// positive (RFC 1939 §3). The error quotes the server, never the command
// (PASS carries the password).
func (c *client) pop3OK(step, cmd string) error {
	if cmd != "" {
		if err := c.send(step, cmd); err != nil {
			return err
		}
	}
	s, err := c.line()
	if err != nil {
		return fmt.Errorf("%s: %w", step, err)
	}
	if !strings.HasPrefix(s, "+OK") {
		return fmt.Errorf("%s: %s", step, printable(s))
	}
	return nil
}

// https runs HTTPSGet: one request on one connection (Connection: close,
// RFC 9112 §9.6), the response read to its end within maxHTTPResponse.
func (c *client) https(authed, closed func()) error {
	host := c.cfg.ServerName
	if host == "" {
		host, _, _ = net.SplitHostPort(c.o.Target)
	}
	req, err := http.NewRequestWithContext(c.ctx, http.MethodGet, "https://"+host+"/", nil)
	if err != nil {
		return fmt.Errorf("GET: %w", err)
	}
	req.Close = true
	req.Header.Set("User-Agent", "mailwire-loadgen")
	if err := req.Write(c.conn); err != nil {
		return fmt.Errorf("GET: %w", trimAddr(err))
	}
	br := bufio.NewReader(&cappedReader{r: c.conn, left: maxHTTPResponse})
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return fmt.Errorf("response: %w", trimAddr(err))
	}
	defer resp.Body.Close()
	authed()
	defer closed()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("response: %s", printable(resp.Status))
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return fmt.Errorf("response body: %w", trimAddr(err))
	}
	return nil
}

// errResponseTooLong ends a read past maxHTTPResponse.
var errResponseTooLong = fmt.Errorf("response longer than %d bytes", maxHTTPResponse)

// cappedReader fails once more than left bytes were read.
type cappedReader struct {
	r    io.Reader
	left int64
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, errResponseTooLong
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// printable keeps a server's words fit for a terminal and a map key:
// control characters become '?', invalid UTF-8 becomes U+FFFD, and the
// text is cut at 120 bytes on a rune boundary. It is not wire.SafeString
// because this package must not import sessions: sessions imports the lab,
// whose own tests drive their load through this package.
func printable(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	if len(s) > 120 {
		cut := 120
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// trimAddr drops the addresses from a network error, so that the same
// failure on different connections counts as one kind.
func trimAddr(err error) error {
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Err == nil {
		return err
	}
	inner := oe.Err
	var se *os.SyscallError
	if errors.As(inner, &se) && se.Err != nil {
		inner = se.Err // "read: connection reset by peer" once, not twice
	}
	return fmt.Errorf("%s: %w", oe.Op, inner)
}
