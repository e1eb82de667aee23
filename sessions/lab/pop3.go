package lab

// The lab's POP3 server: RFC 1939 (POP3) with RFC 2449 (CAPA, response
// codes), RFC 2595 §4 (STLS), RFC 5034 (AUTH, SASL PLAIN only) and RFC 3206
// ([AUTH], [SYS/TEMP], [IN-USE]). No maintained Go POP3 server library
// exists, so this is a small one. Wording follows Dovecot 2.3 (the reference
// peer) so that the lab and a real server read alike on the wire.

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

	"github.com/emersion/go-sasl"
)

// POP3Config configures one POP3 connection served by ServePOP3.
type POP3Config struct {
	Implicit  bool        // 995: the conn is already TLS (a *tls.Conn)
	TLSConfig *tls.Config // for STLS (RFC 2595 §4); nil: STLS is refused
	Hostname  string      // in the greeting
	// Authenticate checks a user name and password (from USER/PASS or
	// SASL PLAIN) and locks the maildrop (RFC 1939 §4). An error wrapping
	// ErrMaildropInUse is answered with [IN-USE], one wrapping
	// ErrMaildropUnavailable with [SYS/TEMP] (RFC 3206 §4); any other error
	// is a failed login ([AUTH], RFC 3206 §5).
	Authenticate       func(user, pass string) (Maildrop, error)
	AllowPlaintextAuth bool          // allow USER/PASS/AUTH before STLS (false in the normal lab)
	MaxLineLength      int           // 0 → 255 (RFC 2449 §4: 255 octets for commands incl. CRLF)
	IdleTimeout        time.Duration // 0 → 10 minutes (RFC 1939 §3 autologout ≥ 10 min)

	// keepPipelinedAfterSTLS makes the server vulnerable to STARTTLS
	// command injection (CVE-2011-0411 class): cleartext bytes the client
	// sent after STLS, already buffered, are read as if they had arrived
	// inside TLS. Only for a future hostile lab mode and for the test that
	// proves the safe behaviour is what stops the attack; never exported.
	keepPipelinedAfterSTLS bool
}

// MaildropMessage is one message of a maildrop's login snapshot.
type MaildropMessage struct {
	ID   uint64 // stable across sessions: the unique-id of UIDL (RFC 1939 §7)
	Size int    // octets as sent by RETR (CRLF line endings)
}

// Maildrop is what the POP3 server needs of a mailbox.
type Maildrop interface {
	List() []MaildropMessage            // snapshot taken at login
	Retrieve(id uint64) ([]byte, error) // the message with CRLF line endings
	Delete(ids []uint64) error          // applied at QUIT (RFC 1939 §6 UPDATE state)
	Unlock()                            // called once: at QUIT, or when the session ends, however it ends
}

var (
	// ErrMaildropInUse: another session holds the maildrop's lock
	// (RFC 1939 §4); answered with -ERR [IN-USE] (RFC 2449 §8.1.1).
	ErrMaildropInUse = errors.New("maildrop in use")
	// ErrMaildropUnavailable: the maildrop cannot be opened for a reason
	// that is not the client's fault; answered with -ERR [SYS/TEMP]
	// (RFC 3206 §4).
	ErrMaildropUnavailable = errors.New("maildrop temporarily unavailable")
)

const (
	pop3DefaultMaxLine = 255 // RFC 2449 §4
	pop3DefaultIdle    = 10 * time.Minute
	// pop3MaxAuthFailures failed logins close the connection, slowing a
	// password guesser down to one TCP connection per three guesses.
	pop3MaxAuthFailures = 3
	// Unknown commands tolerated before the connection is closed: Dovecot's
	// login process allows 3, its mail process 20.
	pop3MaxBadAuthorization = 3
	pop3MaxBadTransaction   = 20
	// pop3MaxEcho bounds how much of a client argument is echoed in an
	// error reply (RFC 2449 §4 limits arguments to 40 octets).
	pop3MaxEcho = 40
	// The reply to USER/PASS/AUTH before TLS when plaintext login is off;
	// Dovecot's exact words.
	pop3PlaintextRefused = "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections."
)

// Reasons a session ends that are not the client's plain QUIT or close.
var (
	errPOP3LineTooLong = errors.New("command line too long")
	errPOP3TooManyAuth = errors.New("too many failed logins")
	errPOP3TooManyBad  = errors.New("too many unknown commands")
)

type pop3Phase int

const (
	pop3Authorization pop3Phase = iota // RFC 1939 §4
	pop3Transaction                    // RFC 1939 §5
	pop3Update                         // RFC 1939 §6
)

// pop3Session is the state of one connection.
type pop3Session struct {
	cfg     POP3Config
	maxLine int
	idle    time.Duration

	raw   net.Conn // the connection as accepted: STLS builds TLS on it
	conn  net.Conn // raw, or the TLS conn once TLS is up
	r     *bufio.Reader
	w     *bufio.Writer
	isTLS bool

	phase    pop3Phase
	user     string // argument of the last USER, waiting for PASS
	md       Maildrop
	msgs     []MaildropMessage // login snapshot; message n is msgs[n-1]
	deleted  []bool
	failures int // failed logins
	bad      int // unknown commands
}

// ServePOP3 serves one POP3 connection until QUIT, the client's close, an
// error or a limit, then closes conn. It returns nil when the client quit
// or closed; otherwise the reason, wrapped with context. Passwords never
// appear in the error.
func ServePOP3(conn net.Conn, cfg POP3Config) error {
	s := &pop3Session{
		cfg:     cfg,
		maxLine: cfg.MaxLineLength,
		idle:    cfg.IdleTimeout,
		raw:     conn,
		conn:    conn,
	}
	if s.maxLine <= 0 {
		s.maxLine = pop3DefaultMaxLine
	}
	if s.idle <= 0 {
		s.idle = pop3DefaultIdle
	}
	defer func() {
		if s.md != nil {
			s.md.Unlock()
		}
		// Bound the TLS close_notify write, which could block on a client
		// that reads nothing.
		_ = s.conn.SetWriteDeadline(time.Now().Add(time.Second))
		_ = s.conn.Close()
	}()

	if cfg.Implicit {
		// RFC 8314 §3: TLS from the first byte. Handshake explicitly so
		// that a failure is reported as one, bounded by the idle timeout.
		if hs, ok := conn.(interface {
			HandshakeContext(context.Context) error
		}); ok {
			ctx, cancel := context.WithTimeout(context.Background(), s.idle)
			err := hs.HandshakeContext(ctx)
			cancel()
			if err != nil {
				return fmt.Errorf("pop3 tls handshake with %s: %w", conn.RemoteAddr(), err)
			}
		}
		s.isTLS = true
	}
	s.r = s.newReader(conn)
	s.w = bufio.NewWriter(pop3DeadlineWriter{s})

	host := cfg.Hostname
	if host == "" {
		host = "localhost"
	}
	// RFC 1939 §4: the greeting is a positive response.
	if err := s.reply("+OK " + host + " mailwire lab POP3 ready."); err != nil {
		return err
	}
	for {
		line, err := s.readLine()
		if err != nil {
			return s.endOnReadError(err)
		}
		done, err := s.dispatch(line)
		if err != nil || done {
			return err
		}
	}
}

// pop3DeadlineWriter is what the session's bufio.Writer writes to: every
// write to the network, including those bufio makes on its own in the
// middle of a long RETR, gets a fresh deadline, so a client that reads
// nothing cannot hold the session while one that reads slowly is served.
type pop3DeadlineWriter struct{ s *pop3Session }

func (d pop3DeadlineWriter) Write(p []byte) (int, error) {
	if err := d.s.conn.SetWriteDeadline(time.Now().Add(d.s.idle)); err != nil {
		return 0, fmt.Errorf("set write deadline: %w", err)
	}
	return d.s.conn.Write(p)
}

// newReader sizes the buffer so that a line longer than the limit fills it.
func (s *pop3Session) newReader(r io.Reader) *bufio.Reader {
	return bufio.NewReaderSize(r, s.maxLine)
}

// readLine reads one line, bounded in size (RFC 2449 §4) and in time
// (RFC 1939 §3 autologout), and returns it without its line ending. A bare
// LF is accepted as an ending, as Dovecot does.
func (s *pop3Session) readLine() (string, error) {
	if err := s.conn.SetReadDeadline(time.Now().Add(s.idle)); err != nil {
		return "", fmt.Errorf("set read deadline: %w", err)
	}
	b, err := s.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) || (err == nil && len(b) > s.maxLine) {
		return "", errPOP3LineTooLong
	}
	if err != nil {
		return "", err
	}
	b = bytes.TrimSuffix(b[:len(b)-1], []byte{'\r'})
	return string(b), nil
}

// endOnReadError says goodbye where the protocol has words for it and turns
// the read error into ServePOP3's result.
func (s *pop3Session) endOnReadError(err error) error {
	addr := s.raw.RemoteAddr()
	switch {
	case errors.Is(err, errPOP3LineTooLong):
		_ = s.reply("-ERR line too long")
		return fmt.Errorf("pop3 from %s: %w (limit %d octets)", addr, err, s.maxLine)
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		// RFC 1939 §6: a close without QUIT does not enter UPDATE, so no
		// message is deleted.
		return nil
	case isTimeout(err) && s.sessionOver():
		// The lab's cap on a whole session (Limits.MaxSessionTime), which
		// no RFC sets; as with autologout, no UPDATE state.
		_ = s.reply("-ERR Session time limit reached, disconnecting.")
		return fmt.Errorf("pop3 from %s: session time limit reached: %w", addr, err)
	case isTimeout(err):
		// RFC 1939 §3: the autologout timer expired; no UPDATE state.
		_ = s.reply("-ERR Disconnected for inactivity.")
		return fmt.Errorf("pop3 from %s: idle for %s: %w", addr, s.idle, err)
	}
	return fmt.Errorf("pop3 read from %s: %w", addr, err)
}

// sessionOver reports whether the lab's session time cap ended the
// session (false when the server runs outside a lab, as in its tests).
func (s *pop3Session) sessionOver() bool {
	lc := labConnOf(s.raw)
	return lc != nil && lc.sessionOver()
}

// isTimeout reports whether err is a deadline expiring.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// reply writes one response line and flushes it.
func (s *pop3Session) reply(line string) error {
	s.w.WriteString(line)
	s.w.WriteString("\r\n")
	return s.flush()
}

func (s *pop3Session) flush() error {
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("pop3 write to %s: %w", s.raw.RemoteAddr(), err)
	}
	return nil
}

// multiline writes a positive status line, then lines, then the
// terminating "." (RFC 1939 §3).
func (s *pop3Session) multiline(status string, lines []string) error {
	s.w.WriteString(status)
	s.w.WriteString("\r\n")
	for _, l := range lines {
		s.w.WriteString(l)
		s.w.WriteString("\r\n")
	}
	s.w.WriteString(".\r\n")
	return s.flush()
}

// dispatch runs one command. done is true when the session is over.
func (s *pop3Session) dispatch(line string) (done bool, err error) {
	// RFC 2449 §3: a keyword, then arguments separated by single spaces;
	// keywords are case-insensitive.
	verb, args, _ := strings.Cut(line, " ")
	verb = strings.ToUpper(verb)
	if s.phase == pop3Authorization {
		return s.authorization(verb, args)
	}
	return s.transaction(verb, args)
}

func (s *pop3Session) authorization(verb, args string) (bool, error) {
	switch verb {
	case "CAPA":
		return false, s.capa()
	case "QUIT":
		// RFC 1939 §4: QUIT in AUTHORIZATION ends without UPDATE.
		return true, s.reply("+OK Logging out.")
	case "STLS":
		return s.stls(args)
	case "USER":
		if !s.loginAllowed() {
			return false, s.reply(pop3PlaintextRefused)
		}
		// RFC 1939 §7: the server may accept any name here and refuse at
		// PASS, which does not tell a guesser which names exist.
		s.user = args
		return false, s.reply("+OK")
	case "PASS":
		if !s.loginAllowed() {
			return false, s.reply(pop3PlaintextRefused)
		}
		if s.user == "" {
			return false, s.reply("-ERR No username given.")
		}
		// RFC 1939 §7: the password is the rest of the line, spaces and all.
		user := s.user
		s.user = ""
		return s.login(user, args)
	case "AUTH":
		return s.auth(args)
	}
	return s.unknown(verb, pop3MaxBadAuthorization)
}

// loginAllowed: RFC 2595 §2.1 and RFC 8314 §4.1: a server should refuse
// cleartext passwords on an unprotected connection.
func (s *pop3Session) loginAllowed() bool {
	return s.isTLS || s.cfg.AllowPlaintextAuth
}

// unknown answers a command that does not exist in this state and closes
// the connection after too many.
func (s *pop3Session) unknown(verb string, limit int) (bool, error) {
	s.bad++
	if s.bad > limit {
		_ = s.reply("-ERR Too many invalid bad commands.")
		return true, fmt.Errorf("pop3 from %s: %w", s.raw.RemoteAddr(), errPOP3TooManyBad)
	}
	if s.phase == pop3Authorization {
		return false, s.reply("-ERR Unknown command.")
	}
	return false, s.reply("-ERR Unknown command: " + pop3Echo(verb))
}

// capa answers CAPA (RFC 2449 §5) with what is usable right now: STLS only
// while it can be used, USER and SASL PLAIN only while a login may happen
// (as Dovecot does, SASL is listed with no mechanism while logins are
// refused, so a client sees that mechanisms exist but none is offered).
func (s *pop3Session) capa() error {
	lines := []string{"CAPA", "TOP", "UIDL", "RESP-CODES", "PIPELINING", "AUTH-RESP-CODE"}
	if s.phase == pop3Authorization {
		if s.canSTLS() {
			lines = append(lines, "STLS")
		}
		if s.loginAllowed() {
			lines = append(lines, "USER", "SASL PLAIN")
		} else {
			lines = append(lines, "SASL")
		}
	}
	lines = append(lines, "IMPLEMENTATION mailwire-lab")
	return s.multiline("+OK Capability list follows", lines)
}

func (s *pop3Session) canSTLS() bool {
	return !s.isTLS && s.cfg.TLSConfig != nil
}

// stls upgrades the connection (RFC 2595 §4).
func (s *pop3Session) stls(args string) (bool, error) {
	switch {
	case s.isTLS:
		return false, s.reply("-ERR TLS is already active.")
	case s.cfg.TLSConfig == nil:
		return false, s.reply("-ERR TLS support isn't enabled.")
	case args != "":
		return false, s.reply("-ERR STLS takes no arguments.")
	}
	if err := s.reply("+OK Begin TLS negotiation"); err != nil {
		return true, err
	}
	// CVE-2011-0411: bytes the client pipelined after STLS arrived in
	// cleartext, so a man in the middle may have written them. They must
	// not be read as commands inside TLS: TLS is built on the raw conn,
	// never on the bufio.Reader, and what the reader holds is dropped.
	var pending []byte
	if n := s.r.Buffered(); n > 0 && s.cfg.keepPipelinedAfterSTLS {
		b, _ := s.r.Peek(n)
		pending = bytes.Clone(b)
	}
	tc := tls.Server(s.raw, s.cfg.TLSConfig)
	ctx, cancel := context.WithTimeout(context.Background(), s.idle)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		return true, fmt.Errorf("pop3 stls handshake with %s: %w", s.raw.RemoteAddr(), err)
	}
	s.conn = tc
	s.isTLS = true
	// A refusal for too many commands must now go through TLS (ratelimit.go).
	if lc := labConnOf(s.raw); lc != nil {
		lc.setTop(func() net.Conn { return tc })
	}
	var in io.Reader = tc
	if pending != nil {
		in = io.MultiReader(bytes.NewReader(pending), tc)
	}
	s.r = s.newReader(in)
	s.w = bufio.NewWriter(pop3DeadlineWriter{s})
	// RFC 2595 §4: forget everything learned from the client before TLS
	// (here: a USER argument). The failure counters are the server's own
	// and stay, or STLS would reset the guessing limit.
	s.user = ""
	return false, nil
}

// auth runs AUTH (RFC 5034 §4). Only PLAIN (RFC 4616) is offered: the lab
// logs in only over TLS, where a challenge-response mechanism adds nothing.
func (s *pop3Session) auth(args string) (bool, error) {
	if args == "" {
		// RFC 5034 §4 keeps the RFC 1734 form: AUTH with no argument lists
		// the mechanisms. Like Dovecot, none while logins are refused.
		var mechs []string
		if s.loginAllowed() {
			mechs = []string{sasl.Plain}
		}
		return false, s.multiline("+OK", mechs)
	}
	if !s.loginAllowed() {
		return false, s.reply("-ERR [AUTH] Authentication not allowed until SSL/TLS is enabled.")
	}
	mech, initial, hasInitial := strings.Cut(args, " ")
	if !strings.EqualFold(mech, sasl.Plain) {
		return false, s.reply("-ERR [AUTH] Unsupported authentication mechanism.")
	}

	var (
		md      Maildrop
		authErr error
		user    string
	)
	server := sasl.NewPlainServer(func(identity, username, password string) error {
		user = username
		// RFC 4616 §2: an authorization identity other than the user's
		// own would be a proxy login, which the lab does not do.
		if identity != "" && identity != username {
			authErr = errors.New("authorization identity differs from user")
			return authErr
		}
		md, authErr = s.cfg.Authenticate(username, password)
		return authErr
	})

	var resp []byte // nil: no initial response yet
	if hasInitial {
		// RFC 5034 §4: "=" is an empty initial response.
		if initial == "=" {
			resp = []byte{}
		} else {
			b, err := base64.StdEncoding.DecodeString(initial)
			if err != nil {
				return false, s.reply("-ERR [AUTH] Invalid base64 data in initial response")
			}
			resp = b
		}
	}
	// PLAIN needs at most one challenge; the bound keeps a broken
	// mechanism from looping.
	for range 4 {
		challenge, done, err := server.Next(resp)
		if err != nil {
			if authErr == nil {
				// Malformed PLAIN message: a failed login all the same.
				authErr = err
			}
			return s.loginFailed(user, authErr)
		}
		if done {
			return s.loggedIn(md)
		}
		// RFC 5034 §4: a continuation is "+ " and base64 (empty here).
		if err := s.reply("+ " + base64.StdEncoding.EncodeToString(challenge)); err != nil {
			return true, err
		}
		line, err := s.readLine()
		if err != nil {
			return true, s.endOnReadError(err)
		}
		if line == "*" {
			// RFC 5034 §4: the client cancelled; not a failed login.
			return false, s.reply("-ERR Authentication aborted by client.")
		}
		b, err := base64.StdEncoding.DecodeString(line)
		if err != nil {
			return false, s.reply("-ERR [AUTH] Invalid base64 data in continued response")
		}
		resp = b
	}
	return s.loginFailed(user, errors.New("sasl exchange too long"))
}

// login checks USER/PASS credentials.
func (s *pop3Session) login(user, pass string) (bool, error) {
	md, err := s.cfg.Authenticate(user, pass)
	if err != nil {
		return s.loginFailed(user, err)
	}
	return s.loggedIn(md)
}

// loginFailed answers a refused login with the RFC 3206 code that fits and
// closes after too many. The error returned never holds the password.
func (s *pop3Session) loginFailed(user string, err error) (bool, error) {
	switch {
	case errors.Is(err, ErrMaildropInUse):
		return false, s.reply("-ERR [IN-USE] Mailbox is locked by another POP3 session.")
	case errors.Is(err, ErrMaildropUnavailable):
		return false, s.reply("-ERR [SYS/TEMP] Mailbox is temporarily unavailable.")
	}
	s.failures++
	if err := s.reply("-ERR [AUTH] Authentication failed."); err != nil {
		return true, err
	}
	if s.failures >= pop3MaxAuthFailures {
		return true, fmt.Errorf("pop3 from %s: %w (last user %q)", s.raw.RemoteAddr(), errPOP3TooManyAuth, pop3Echo(user))
	}
	return false, nil
}

// loggedIn enters TRANSACTION with the maildrop's snapshot (RFC 1939 §4).
func (s *pop3Session) loggedIn(md Maildrop) (bool, error) {
	if md == nil {
		return s.loginFailed("", errors.New("authenticator returned no maildrop"))
	}
	s.md = md
	s.msgs = md.List()
	s.deleted = make([]bool, len(s.msgs))
	s.phase = pop3Transaction
	s.bad = 0
	return false, s.reply("+OK Logged in.")
}

func (s *pop3Session) transaction(verb, args string) (bool, error) {
	switch verb {
	case "CAPA":
		return false, s.capa()
	case "NOOP":
		return false, s.reply("+OK")
	case "STAT":
		n, size := 0, 0
		for i, m := range s.msgs {
			if !s.deleted[i] {
				n++
				size += m.Size
			}
		}
		return false, s.reply(fmt.Sprintf("+OK %d %d", n, size))
	case "LIST", "UIDL":
		return false, s.listing(verb, args)
	case "RETR":
		i, errLine := s.message(args)
		if errLine != "" {
			return false, s.reply(errLine)
		}
		return false, s.send(i, -1)
	case "TOP":
		// RFC 1939 §7: TOP msg n: the header, the blank line, n body lines.
		num, count, ok := strings.Cut(args, " ")
		i, errLine := s.message(num)
		if errLine != "" {
			return false, s.reply(errLine)
		}
		if !ok {
			return false, s.reply("-ERR Missing line count.")
		}
		lines, err := strconv.ParseUint(count, 10, 31)
		if err != nil {
			return false, s.reply("-ERR Invalid size: " + pop3Echo(count))
		}
		return false, s.send(i, int(lines))
	case "DELE":
		i, errLine := s.message(args)
		if errLine != "" {
			return false, s.reply(errLine)
		}
		// RFC 1939 §5: only marked; removed in the UPDATE state.
		s.deleted[i] = true
		return false, s.reply("+OK Marked to be deleted.")
	case "RSET":
		clear(s.deleted)
		return false, s.reply("+OK")
	case "QUIT":
		return true, s.update()
	}
	return s.unknown(verb, pop3MaxBadTransaction)
}

// listing answers LIST and UIDL (RFC 1939 §5, §7), for one message or all.
func (s *pop3Session) listing(verb, args string) error {
	field := func(i int) string {
		if verb == "UIDL" {
			// RFC 1939 §7: unique-id is 1 to 70 characters 0x21-0x7E.
			return strconv.FormatUint(s.msgs[i].ID, 10)
		}
		return strconv.Itoa(s.msgs[i].Size)
	}
	if args != "" {
		i, errLine := s.message(args)
		if errLine != "" {
			return s.reply(errLine)
		}
		return s.reply(fmt.Sprintf("+OK %d %s", i+1, field(i)))
	}
	var lines []string
	for i := range s.msgs {
		if !s.deleted[i] {
			lines = append(lines, fmt.Sprintf("%d %s", i+1, field(i)))
		}
	}
	status := "+OK"
	if verb == "LIST" {
		status = fmt.Sprintf("+OK %d messages:", len(lines))
	}
	return s.multiline(status, lines)
}

// message parses a message-number argument (RFC 1939 §3: 1-based over the
// login snapshot; deleted messages may not be referred to). It returns the
// index into s.msgs, or the -ERR line to send.
func (s *pop3Session) message(arg string) (int, string) {
	num, rest, hasRest := strings.Cut(arg, " ")
	if hasRest {
		return 0, "-ERR Noise after message number: " + pop3Echo(rest)
	}
	n, err := strconv.ParseUint(num, 10, 31)
	if err != nil {
		return 0, "-ERR Invalid message number: " + pop3Echo(num)
	}
	if n == 0 || n > uint64(len(s.msgs)) {
		return 0, fmt.Sprintf("-ERR There's no message %d.", n)
	}
	if s.deleted[n-1] {
		return 0, "-ERR Message is deleted."
	}
	return int(n - 1), ""
}

// send writes message i for RETR (bodyLines < 0) or TOP (the header and
// bodyLines body lines), dot-stuffed (RFC 1939 §3) with every line ending
// normalised to CRLF.
func (s *pop3Session) send(i, bodyLines int) error {
	m := s.msgs[i]
	body, err := s.md.Retrieve(m.ID)
	if err != nil {
		// The message was in the snapshot but cannot be read now.
		return s.reply(fmt.Sprintf("-ERR [SYS/TEMP] Message %d cannot be read.", i+1))
	}
	if bodyLines < 0 {
		fmt.Fprintf(s.w, "+OK %d octets\r\n", m.Size)
	} else {
		s.w.WriteString("+OK\r\n")
	}
	inBody := false
	for len(body) > 0 {
		if inBody && bodyLines >= 0 {
			if bodyLines == 0 {
				break
			}
			bodyLines--
		}
		line := body
		if j := bytes.IndexByte(body, '\n'); j >= 0 {
			line, body = body[:j], body[j+1:]
		} else {
			body = nil
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) > 0 && line[0] == '.' {
			s.w.WriteByte('.')
		}
		s.w.Write(line)
		s.w.WriteString("\r\n")
		if len(line) == 0 {
			inBody = true // the blank line ends the header (RFC 5322 §2.1)
		}
	}
	s.w.WriteString(".\r\n")
	return s.flush()
}

// update is the UPDATE state (RFC 1939 §6): apply deletions, then log out.
func (s *pop3Session) update() error {
	s.phase = pop3Update
	var ids []uint64
	for i, m := range s.msgs {
		if s.deleted[i] {
			ids = append(ids, m.ID)
		}
	}
	var delErr error
	if len(ids) > 0 {
		delErr = s.md.Delete(ids)
	}
	// RFC 1939 §6 releases the maildrop lock after the reply; releasing it
	// just before, once the deletions are done, keeps a client that
	// reconnects the moment it reads "+OK" (the too-early scenario's
	// second connection) from meeting its own old lock ([IN-USE]). Nil
	// afterwards, so the session's end does not unlock a second time.
	s.md.Unlock()
	s.md = nil
	switch {
	case delErr != nil:
		// RFC 1939 §6: -ERR when some deleted messages were not removed.
		_ = s.reply("-ERR [SYS/TEMP] Some deleted messages were not removed.")
		return fmt.Errorf("pop3 update for %s: %w", s.raw.RemoteAddr(), delErr)
	case len(ids) > 0:
		return s.reply("+OK Logging out, messages deleted.")
	}
	return s.reply("+OK Logging out.")
}

// pop3Echo makes a client-supplied string safe to put in a reply: bounded
// in length and printable ASCII only, so it cannot end the line early or
// inject a response.
func pop3Echo(s string) string {
	if len(s) > pop3MaxEcho {
		s = s[:pop3MaxEcho]
	}
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	return string(b)
}
