package lab

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// pop3TLS returns a server and a client TLS config around a self-signed
// certificate for mail.lab.test made for this test (no files).
func pop3TLS(t testing.TB) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("key: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "mail.lab.test"},
		DNSNames:              []string{"mail.lab.test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("parse certificate: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}}}
	client = &tls.Config{RootCAs: pool, ServerName: "mail.lab.test"}
	return server, client
}

// fakeMaildrop records what the server does to it.
type fakeMaildrop struct {
	mu       sync.Mutex
	msgs     []MaildropMessage
	bodies   map[uint64][]byte
	deletes  [][]uint64
	unlocked int
}

func newFakeMaildrop(bodies ...string) *fakeMaildrop {
	md := &fakeMaildrop{bodies: map[uint64][]byte{}}
	for i, b := range bodies {
		id := uint64(100 + i)
		md.msgs = append(md.msgs, MaildropMessage{ID: id, Size: len(b)})
		md.bodies[id] = []byte(b)
	}
	return md
}

func (m *fakeMaildrop) List() []MaildropMessage { return slices.Clone(m.msgs) }

func (m *fakeMaildrop) Retrieve(id uint64) ([]byte, error) {
	b, ok := m.bodies[id]
	if !ok {
		return nil, fmt.Errorf("no message %d", id)
	}
	return b, nil
}

func (m *fakeMaildrop) Delete(ids []uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.deletes = append(m.deletes, slices.Clone(ids))
	return nil
}

func (m *fakeMaildrop) Unlock() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.unlocked++
}

func (m *fakeMaildrop) state() (deletes [][]uint64, unlocked int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.deletes), m.unlocked
}

const (
	pop3TestUser = "learner"
	pop3TestPass = "correct-horse"
)

// pop3Auth accepts the lab's credentials and hands out md.
func pop3Auth(md Maildrop) func(user, pass string) (Maildrop, error) {
	return func(user, pass string) (Maildrop, error) {
		if user != pop3TestUser || pass != pop3TestPass {
			return nil, errors.New("bad credentials")
		}
		return md, nil
	}
}

// pop3Serve runs ServePOP3 for one connection on a 127.0.0.1:0 listener;
// with implicit set, the accepted conn is wrapped in tls.Server first.
// ServePOP3's result arrives on the returned channel.
func pop3Serve(t *testing.T, cfg POP3Config) (string, <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		if cfg.Implicit {
			c = tls.Server(c, cfg.TLSConfig)
		}
		done <- ServePOP3(c, cfg)
	}()
	return ln.Addr().String(), done
}

// pop3Result waits for ServePOP3 to return.
func pop3Result(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("ServePOP3 did not return")
		return nil
	}
}

// pop3Client is a scripted client reading replies as they are on the wire.
type pop3Client struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func pop3Dial(t *testing.T, address string, tlsCfg *tls.Config) *pop3Client {
	t.Helper()
	var c net.Conn
	var err error
	if tlsCfg != nil {
		c, err = tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", address, tlsCfg)
	} else {
		c, err = net.DialTimeout("tcp", address, 5*time.Second)
	}
	if err != nil {
		t.Fatalf("dial %s: %v", address, err)
	}
	t.Cleanup(func() { c.Close() })
	return &pop3Client{t: t, c: c, r: bufio.NewReader(c)}
}

func (p *pop3Client) send(line string) {
	p.t.Helper()
	p.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(p.c, line+"\r\n"); err != nil {
		p.t.Fatalf("send %q: %v", line, err)
	}
}

// line reads one line and checks it ends in CRLF.
func (p *pop3Client) line() string {
	p.t.Helper()
	p.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	s, err := p.r.ReadString('\n')
	if err != nil {
		p.t.Fatalf("read (got %q): %v", s, err)
	}
	if !strings.HasSuffix(s, "\r\n") {
		p.t.Fatalf("line %q does not end in CRLF", s)
	}
	return strings.TrimSuffix(s, "\r\n")
}

func (p *pop3Client) expect(want string) {
	p.t.Helper()
	if got := p.line(); got != want {
		p.t.Fatalf("got %q, want %q", got, want)
	}
}

// cmd sends a command and expects a one-line reply.
func (p *pop3Client) cmd(line, want string) {
	p.t.Helper()
	p.send(line)
	p.expect(want)
}

// multi reads the lines of a multi-line response up to the ".".
func (p *pop3Client) multi() []string {
	p.t.Helper()
	var lines []string
	for {
		l := p.line()
		if l == "." {
			return lines
		}
		lines = append(lines, l)
	}
}

// cmdMulti sends a command, expects status and then exactly lines.
func (p *pop3Client) cmdMulti(line, status string, want ...string) {
	p.t.Helper()
	p.cmd(line, status)
	if got := p.multi(); !slices.Equal(got, want) {
		p.t.Fatalf("%s: got %q, want %q", line, got, want)
	}
}

func (p *pop3Client) startTLS(cfg *tls.Config) {
	p.t.Helper()
	if p.r.Buffered() > 0 {
		p.t.Fatalf("server sent bytes after +OK to STLS")
	}
	tc := tls.Client(p.c, cfg)
	tc.SetDeadline(time.Now().Add(5 * time.Second))
	if err := tc.Handshake(); err != nil {
		p.t.Fatalf("client handshake: %v", err)
	}
	p.c = tc
	p.r = bufio.NewReader(tc)
}

// expectEOF checks the server closed the connection.
func (p *pop3Client) expectEOF() {
	p.t.Helper()
	p.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if s, err := p.r.ReadString('\n'); err == nil || isTimeout(err) {
		p.t.Fatalf("connection still open: read %q, %v", s, err)
	}
}

var (
	pop3CapaBeforeTLS = []string{"CAPA", "TOP", "UIDL", "RESP-CODES", "PIPELINING", "AUTH-RESP-CODE", "STLS", "SASL", "IMPLEMENTATION mailwire-lab"}
	pop3CapaTLS       = []string{"CAPA", "TOP", "UIDL", "RESP-CODES", "PIPELINING", "AUTH-RESP-CODE", "USER", "SASL PLAIN", "IMPLEMENTATION mailwire-lab"}
	pop3CapaLoggedIn  = []string{"CAPA", "TOP", "UIDL", "RESP-CODES", "PIPELINING", "AUTH-RESP-CODE", "IMPLEMENTATION mailwire-lab"}
)

func plainIR(identity, user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(identity + "\x00" + user + "\x00" + pass))
}

// The normal lab on 110: nothing but CAPA, STLS and QUIT before TLS, with
// Dovecot's wording.
func TestPOP3CleartextRefusesLogin(t *testing.T) {
	srvTLS, _ := pop3TLS(t)
	md := newFakeMaildrop("Subject: x\r\n\r\nbody\r\n")
	address, done := pop3Serve(t, POP3Config{TLSConfig: srvTLS, Hostname: "mail.lab.test", Authenticate: pop3Auth(md)})
	c := pop3Dial(t, address, nil)
	c.expect("+OK mail.lab.test mailwire lab POP3 ready.")
	c.cmdMulti("CAPA", "+OK Capability list follows", pop3CapaBeforeTLS...)
	c.cmd("USER learner", pop3PlaintextRefused)
	c.cmd("PASS correct-horse", pop3PlaintextRefused)
	c.cmdMulti("AUTH", "+OK")
	c.cmd("AUTH PLAIN "+plainIR("", pop3TestUser, pop3TestPass), "-ERR [AUTH] Authentication not allowed until SSL/TLS is enabled.")
	c.cmd("STAT", "-ERR Unknown command.")
	c.cmd("quit", "+OK Logging out.")
	c.expectEOF()
	if err := pop3Result(t, done); err != nil {
		t.Fatalf("ServePOP3: %v", err)
	}
	if dels, unlocked := md.state(); len(dels) != 0 || unlocked != 0 {
		t.Fatalf("maildrop touched without login: deletes %v, unlocks %d", dels, unlocked)
	}
}

// STLS on 110, then login (RFC 2595 §4); capabilities change across it.
func TestPOP3STLSThenLogin(t *testing.T) {
	srvTLS, cliTLS := pop3TLS(t)
	md := newFakeMaildrop("Subject: x\r\n\r\nbody\r\n")
	address, done := pop3Serve(t, POP3Config{TLSConfig: srvTLS, Hostname: "mail.lab.test", Authenticate: pop3Auth(md)})
	c := pop3Dial(t, address, nil)
	c.line()
	c.cmd("STLS extra", "-ERR STLS takes no arguments.")
	c.cmd("STLS", "+OK Begin TLS negotiation")
	c.startTLS(cliTLS)
	c.cmdMulti("CAPA", "+OK Capability list follows", pop3CapaTLS...)
	c.cmd("STLS", "-ERR TLS is already active.")
	c.cmdMulti("AUTH", "+OK", "PLAIN")
	c.cmd("PASS correct-horse", "-ERR No username given.")
	c.cmd("USER learner", "+OK")
	c.cmd("PASS wrong", "-ERR [AUTH] Authentication failed.")
	c.cmd("USER learner", "+OK")
	c.cmd("PASS correct-horse", "+OK Logged in.")
	c.cmdMulti("CAPA", "+OK Capability list follows", pop3CapaLoggedIn...)
	c.cmd("STLS", "-ERR Unknown command: STLS")
	c.cmd("USER learner", "-ERR Unknown command: USER")
	c.cmd("STAT", fmt.Sprintf("+OK 1 %d", len("Subject: x\r\n\r\nbody\r\n")))
	c.cmd("QUIT", "+OK Logging out.")
	if err := pop3Result(t, done); err != nil {
		t.Fatalf("ServePOP3: %v", err)
	}
	if _, unlocked := md.state(); unlocked != 1 {
		t.Fatalf("Unlock called %d times, want 1", unlocked)
	}
}

// STLS without a TLS config is refused and not advertised.
func TestPOP3NoTLSConfig(t *testing.T) {
	address, done := pop3Serve(t, POP3Config{Authenticate: pop3Auth(newFakeMaildrop())})
	c := pop3Dial(t, address, nil)
	c.expect("+OK localhost mailwire lab POP3 ready.")
	c.send("CAPA")
	c.line()
	if lines := c.multi(); slices.Contains(lines, "STLS") {
		t.Fatalf("STLS advertised without a TLS config: %q", lines)
	}
	c.cmd("STLS", "-ERR TLS support isn't enabled.")
	c.cmd("QUIT", "+OK Logging out.")
	if err := pop3Result(t, done); err != nil {
		t.Fatalf("ServePOP3: %v", err)
	}
}

// CVE-2011-0411 class: a command pipelined in cleartext after STLS must not
// be executed inside TLS, and USER given before TLS is forgotten (RFC 2595
// §4). The vulnerable variant shows the test would catch the bug.
func TestPOP3STLSDiscardsPipelinedCommands(t *testing.T) {
	for _, vulnerable := range []bool{false, true} {
		t.Run(fmt.Sprintf("keep=%v", vulnerable), func(t *testing.T) {
			srvTLS, cliTLS := pop3TLS(t)
			md := newFakeMaildrop()
			address, done := pop3Serve(t, POP3Config{
				TLSConfig:              srvTLS,
				Authenticate:           pop3Auth(md),
				AllowPlaintextAuth:     true,
				keepPipelinedAfterSTLS: vulnerable,
			})
			c := pop3Dial(t, address, nil)
			c.line()
			c.cmd("USER learner", "+OK")
			// One write, so the server reads both lines into one buffer.
			c.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.WriteString(c.c, "STLS\r\nCAPA\r\n"); err != nil {
				t.Fatal(err)
			}
			c.expect("+OK Begin TLS negotiation")
			c.startTLS(cliTLS)
			c.send("NOOP")
			first := c.line()
			if vulnerable {
				if first != "+OK Capability list follows" {
					t.Fatalf("vulnerable mode: first reply inside TLS %q, want the injected CAPA's", first)
				}
				c.multi()
				c.expect("-ERR Unknown command.") // the NOOP
			} else if first != "-ERR Unknown command." {
				t.Fatalf("first reply inside TLS %q: the injected CAPA was answered", first)
			}
			if !vulnerable {
				c.cmd("PASS correct-horse", "-ERR No username given.")
			}
			c.cmd("QUIT", "+OK Logging out.")
			if err := pop3Result(t, done); err != nil {
				t.Fatalf("ServePOP3: %v", err)
			}
		})
	}
}

// Implicit TLS (995, RFC 8314 §3): logins allowed at once, no STLS.
func TestPOP3Implicit(t *testing.T) {
	srvTLS, cliTLS := pop3TLS(t)
	md := newFakeMaildrop("a\r\n")
	address, done := pop3Serve(t, POP3Config{Implicit: true, TLSConfig: srvTLS, Hostname: "mail.lab.test", Authenticate: pop3Auth(md)})
	c := pop3Dial(t, address, cliTLS)
	c.expect("+OK mail.lab.test mailwire lab POP3 ready.")
	c.cmdMulti("CAPA", "+OK Capability list follows", pop3CapaTLS...)
	c.cmd("STLS", "-ERR TLS is already active.")
	c.cmd("USER learner", "+OK")
	c.cmd("PASS correct-horse", "+OK Logged in.")
	c.cmd("STAT", "+OK 1 3")
	c.cmd("QUIT", "+OK Logging out.")
	if err := pop3Result(t, done); err != nil {
		t.Fatalf("ServePOP3: %v", err)
	}
}

// A failed implicit handshake is reported and ends the session.
func TestPOP3ImplicitHandshakeFailure(t *testing.T) {
	srvTLS, _ := pop3TLS(t)
	address, done := pop3Serve(t, POP3Config{Implicit: true, TLSConfig: srvTLS, Authenticate: pop3Auth(newFakeMaildrop())})
	c := pop3Dial(t, address, nil)
	c.send("CAPA") // cleartext to a TLS port
	err := pop3Result(t, done)
	if err == nil || !strings.Contains(err.Error(), "tls handshake") {
		t.Fatalf("ServePOP3 = %v, want a handshake error", err)
	}
}

const (
	// A message with a line starting with a dot, a bare LF and no final
	// line ending, to check stuffing and normalisation.
	pop3Msg1 = "Subject: one\r\nFrom: a@lab.test\r\n\r\nfirst\r\n.hidden\r\n..two\nbare lf\r\n."
	pop3Msg2 = "Subject: two\r\n\r\nl1\r\nl2\r\nl3\r\n"
	pop3Msg3 = "Subject: three\r\n\r\n"
)

// The TRANSACTION and UPDATE states (RFC 1939 §5, §6) over a fake maildrop.
func TestPOP3Transaction(t *testing.T) {
	md := newFakeMaildrop(pop3Msg1, pop3Msg2, pop3Msg3)
	address, done := pop3Serve(t, POP3Config{Authenticate: pop3Auth(md), AllowPlaintextAuth: true})
	c := pop3Dial(t, address, nil)
	c.line()
	c.cmdMulti("CAPA", "+OK Capability list follows", "CAPA", "TOP", "UIDL", "RESP-CODES", "PIPELINING", "AUTH-RESP-CODE", "USER", "SASL PLAIN", "IMPLEMENTATION mailwire-lab")
	c.cmd("USER learner", "+OK")
	c.cmd("PASS correct-horse", "+OK Logged in.")
	total := len(pop3Msg1) + len(pop3Msg2) + len(pop3Msg3)
	c.cmd("STAT", fmt.Sprintf("+OK 3 %d", total))
	c.cmdMulti("LIST", "+OK 3 messages:",
		fmt.Sprintf("1 %d", len(pop3Msg1)), fmt.Sprintf("2 %d", len(pop3Msg2)), fmt.Sprintf("3 %d", len(pop3Msg3)))
	c.cmd("LIST 2", fmt.Sprintf("+OK 2 %d", len(pop3Msg2)))
	c.cmdMulti("UIDL", "+OK", "1 100", "2 101", "3 102")
	c.cmd("uidl 3", "+OK 3 102")
	c.cmd("LIST 0", "-ERR There's no message 0.")
	c.cmd("LIST 4", "-ERR There's no message 4.")
	c.cmd("LIST abc", "-ERR Invalid message number: abc")
	c.cmd("LIST -1", "-ERR Invalid message number: -1")
	c.cmd("LIST 1 2", "-ERR Noise after message number: 2")
	c.cmd("LIST 99999999999999999999", "-ERR Invalid message number: 99999999999999999999")
	c.cmd("RETR", "-ERR Invalid message number: ")

	c.cmdMulti("RETR 1", fmt.Sprintf("+OK %d octets", len(pop3Msg1)),
		"Subject: one", "From: a@lab.test", "", "first", "..hidden", "...two", "bare lf", "..")
	c.cmdMulti("TOP 2 0", "+OK", "Subject: two", "")
	c.cmdMulti("TOP 2 2", "+OK", "Subject: two", "", "l1", "l2")
	c.cmdMulti("TOP 2 10", "+OK", "Subject: two", "", "l1", "l2", "l3")
	c.cmdMulti("TOP 3 5", "+OK", "Subject: three", "")
	c.cmd("TOP 2", "-ERR Missing line count.")
	c.cmd("TOP 2 x", "-ERR Invalid size: x")
	c.cmd("TOP 2 -1", "-ERR Invalid size: -1")

	c.cmd("DELE 1", "+OK Marked to be deleted.")
	c.cmd("DELE 1", "-ERR Message is deleted.")
	c.cmd("RETR 1", "-ERR Message is deleted.")
	c.cmd("LIST 1", "-ERR Message is deleted.")
	c.cmd("STAT", fmt.Sprintf("+OK 2 %d", len(pop3Msg2)+len(pop3Msg3)))
	c.cmdMulti("LIST", "+OK 2 messages:", fmt.Sprintf("2 %d", len(pop3Msg2)), fmt.Sprintf("3 %d", len(pop3Msg3)))
	c.cmdMulti("UIDL", "+OK", "2 101", "3 102")
	c.cmd("RSET", "+OK")
	c.cmd("STAT", fmt.Sprintf("+OK 3 %d", total))
	c.cmd("DELE 3", "+OK Marked to be deleted.")
	c.cmd("DELE 2", "+OK Marked to be deleted.")
	c.cmd("NOOP", "+OK")
	c.cmd("FROB", "-ERR Unknown command: FROB")
	if dels, unlocked := md.state(); len(dels) != 0 || unlocked != 0 {
		t.Fatalf("before QUIT: deletes %v, unlocks %d; want none", dels, unlocked)
	}
	c.cmd("QUIT", "+OK Logging out, messages deleted.")
	c.expectEOF()
	if err := pop3Result(t, done); err != nil {
		t.Fatalf("ServePOP3: %v", err)
	}
	dels, unlocked := md.state()
	if len(dels) != 1 || !slices.Equal(dels[0], []uint64{101, 102}) {
		t.Fatalf("Delete calls %v, want one with [101 102]", dels)
	}
	if unlocked != 1 {
		t.Fatalf("Unlock called %d times, want 1", unlocked)
	}
}

// RFC 1939 §6: a session that ends without QUIT deletes nothing, but the
// maildrop is still unlocked.
func TestPOP3CloseWithoutQuit(t *testing.T) {
	md := newFakeMaildrop(pop3Msg2)
	address, done := pop3Serve(t, POP3Config{Authenticate: pop3Auth(md), AllowPlaintextAuth: true})
	c := pop3Dial(t, address, nil)
	c.line()
	c.cmd("USER learner", "+OK")
	c.cmd("PASS correct-horse", "+OK Logged in.")
	c.cmd("DELE 1", "+OK Marked to be deleted.")
	c.c.Close()
	if err := pop3Result(t, done); err != nil {
		t.Fatalf("ServePOP3: %v", err)
	}
	if dels, unlocked := md.state(); len(dels) != 0 || unlocked != 1 {
		t.Fatalf("deletes %v, unlocks %d; want none and 1", dels, unlocked)
	}
}

// SASL PLAIN (RFC 5034, RFC 4616) with and without initial response.
func TestPOP3AuthPlain(t *testing.T) {
	srvTLS, cliTLS := pop3TLS(t)
	cases := []struct {
		name   string
		script [][2]string // command, reply
		in     bool        // logged in at the end
	}{
		{"initial response", [][2]string{{"AUTH PLAIN " + plainIR("", pop3TestUser, pop3TestPass), "+OK Logged in."}}, true},
		{"lower-case mechanism", [][2]string{{"auth plain " + plainIR(pop3TestUser, pop3TestUser, pop3TestPass), "+OK Logged in."}}, true},
		{"continuation", [][2]string{{"AUTH PLAIN", "+ "}, {plainIR("", pop3TestUser, pop3TestPass), "+OK Logged in."}}, true},
		{"cancelled", [][2]string{{"AUTH PLAIN", "+ "}, {"*", "-ERR Authentication aborted by client."}}, false},
		{"wrong password", [][2]string{{"AUTH PLAIN " + plainIR("", pop3TestUser, "nope"), "-ERR [AUTH] Authentication failed."}}, false},
		{"other identity", [][2]string{{"AUTH PLAIN " + plainIR("admin", pop3TestUser, pop3TestPass), "-ERR [AUTH] Authentication failed."}}, false},
		{"malformed", [][2]string{{"AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("no nuls")), "-ERR [AUTH] Authentication failed."}}, false},
		{"empty initial", [][2]string{{"AUTH PLAIN =", "-ERR [AUTH] Authentication failed."}}, false},
		{"bad base64", [][2]string{{"AUTH PLAIN !!!", "-ERR [AUTH] Invalid base64 data in initial response"}}, false},
		{"bad base64 continued", [][2]string{{"AUTH PLAIN", "+ "}, {"!!!", "-ERR [AUTH] Invalid base64 data in continued response"}}, false},
		{"unsupported", [][2]string{{"AUTH CRAM-MD5", "-ERR [AUTH] Unsupported authentication mechanism."}}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			md := newFakeMaildrop(pop3Msg3)
			address, done := pop3Serve(t, POP3Config{Implicit: true, TLSConfig: srvTLS, Authenticate: pop3Auth(md)})
			c := pop3Dial(t, address, cliTLS)
			c.line()
			for _, step := range tc.script {
				c.cmd(step[0], step[1])
			}
			if tc.in {
				c.cmd("STAT", fmt.Sprintf("+OK 1 %d", len(pop3Msg3)))
			} else {
				c.cmd("STAT", "-ERR Unknown command.")
			}
			c.cmd("QUIT", "+OK Logging out.")
			if err := pop3Result(t, done); err != nil {
				t.Fatalf("ServePOP3: %v", err)
			}
			if _, unlocked := md.state(); (unlocked == 1) != tc.in {
				t.Fatalf("Unlock called %d times, logged in %v", unlocked, tc.in)
			}
		})
	}
}

// Three failed logins close the connection; the error never holds the
// password.
func TestPOP3TooManyAuthFailures(t *testing.T) {
	address, done := pop3Serve(t, POP3Config{Authenticate: pop3Auth(newFakeMaildrop()), AllowPlaintextAuth: true})
	c := pop3Dial(t, address, nil)
	c.line()
	c.cmd("USER learner", "+OK")
	c.cmd("PASS secret-guess-1", "-ERR [AUTH] Authentication failed.")
	c.cmd("AUTH PLAIN "+plainIR("", pop3TestUser, "secret-guess-2"), "-ERR [AUTH] Authentication failed.")
	c.cmd("USER learner", "+OK")
	c.cmd("PASS secret-guess-3", "-ERR [AUTH] Authentication failed.")
	c.expectEOF()
	err := pop3Result(t, done)
	if !errors.Is(err, errPOP3TooManyAuth) {
		t.Fatalf("ServePOP3 = %v, want %v", err, errPOP3TooManyAuth)
	}
	if strings.Contains(err.Error(), "secret-guess") {
		t.Fatalf("error leaks the password: %v", err)
	}
}

// RFC 3206 / RFC 2449 §8.1.1: a locked maildrop is [IN-USE], a store
// failure [SYS/TEMP]; neither counts as a failed login.
func TestPOP3MaildropUnavailable(t *testing.T) {
	calls := 0
	auth := func(user, pass string) (Maildrop, error) {
		calls++
		if calls%2 == 1 {
			return nil, fmt.Errorf("open INBOX: %w", ErrMaildropInUse)
		}
		return nil, fmt.Errorf("open INBOX: %w", ErrMaildropUnavailable)
	}
	address, done := pop3Serve(t, POP3Config{Authenticate: auth, AllowPlaintextAuth: true})
	c := pop3Dial(t, address, nil)
	c.line()
	for range 2 {
		c.cmd("USER learner", "+OK")
		c.cmd("PASS correct-horse", "-ERR [IN-USE] Mailbox is locked by another POP3 session.")
		c.cmd("USER learner", "+OK")
		c.cmd("PASS correct-horse", "-ERR [SYS/TEMP] Mailbox is temporarily unavailable.")
	}
	c.cmd("QUIT", "+OK Logging out.")
	if err := pop3Result(t, done); err != nil {
		t.Fatalf("ServePOP3: %v", err)
	}
}

// An authenticator that returns neither a maildrop nor an error is a
// failed login, not a crash.
func TestPOP3NilMaildrop(t *testing.T) {
	auth := func(user, pass string) (Maildrop, error) { return nil, nil }
	address, done := pop3Serve(t, POP3Config{Authenticate: auth, AllowPlaintextAuth: true})
	c := pop3Dial(t, address, nil)
	c.line()
	c.cmd("USER learner", "+OK")
	c.cmd("PASS correct-horse", "-ERR [AUTH] Authentication failed.")
	c.cmd("QUIT", "+OK Logging out.")
	if err := pop3Result(t, done); err != nil {
		t.Fatalf("ServePOP3: %v", err)
	}
}

// RFC 2449 §4: 255 octets including CRLF is the longest command.
func TestPOP3LineTooLong(t *testing.T) {
	address, done := pop3Serve(t, POP3Config{Authenticate: pop3Auth(newFakeMaildrop()), AllowPlaintextAuth: true})
	c := pop3Dial(t, address, nil)
	c.line()
	c.cmd("USER "+strings.Repeat("a", 255-len("USER \r\n")), "+OK") // exactly 255
	c.send("USER " + strings.Repeat("a", 256-len("USER \r\n")))     // 256
	c.expect("-ERR line too long")
	c.expectEOF()
	if err := pop3Result(t, done); !errors.Is(err, errPOP3LineTooLong) {
		t.Fatalf("ServePOP3 = %v, want %v", err, errPOP3LineTooLong)
	}
}

// A larger configured limit is honoured.
func TestPOP3LineLimitConfigured(t *testing.T) {
	address, done := pop3Serve(t, POP3Config{Authenticate: pop3Auth(newFakeMaildrop()), AllowPlaintextAuth: true, MaxLineLength: 1000})
	c := pop3Dial(t, address, nil)
	c.line()
	c.cmd("USER "+strings.Repeat("a", 900), "+OK")
	c.send(strings.Repeat("b", 5000))
	c.expect("-ERR line too long")
	if err := pop3Result(t, done); !errors.Is(err, errPOP3LineTooLong) {
		t.Fatalf("ServePOP3 = %v, want %v", err, errPOP3LineTooLong)
	}
}

// RFC 1939 §3 autologout: a silent client is told and disconnected.
func TestPOP3IdleTimeout(t *testing.T) {
	const idle = 150 * time.Millisecond
	md := newFakeMaildrop(pop3Msg2)
	address, done := pop3Serve(t, POP3Config{Authenticate: pop3Auth(md), AllowPlaintextAuth: true, IdleTimeout: idle})
	c := pop3Dial(t, address, nil)
	c.line()
	c.cmd("USER learner", "+OK")
	c.cmd("PASS correct-horse", "+OK Logged in.")
	c.cmd("DELE 1", "+OK Marked to be deleted.")
	start := time.Now()
	c.expect("-ERR Disconnected for inactivity.")
	if waited := time.Since(start); waited < idle/2 || waited > 20*idle {
		t.Fatalf("disconnected after %v, idle timeout %v", waited, idle)
	}
	c.expectEOF()
	if err := pop3Result(t, done); !isTimeout(err) {
		t.Fatalf("ServePOP3 = %v, want a timeout", err)
	}
	if dels, unlocked := md.state(); len(dels) != 0 || unlocked != 1 {
		t.Fatalf("deletes %v, unlocks %d; want none and 1 (no UPDATE state)", dels, unlocked)
	}
}

// Unknown commands before login: three are answered, the fourth closes
// the connection, as Dovecot does.
func TestPOP3TooManyBadCommands(t *testing.T) {
	address, done := pop3Serve(t, POP3Config{Authenticate: pop3Auth(newFakeMaildrop())})
	c := pop3Dial(t, address, nil)
	c.line()
	c.cmd("STAT", "-ERR Unknown command.")
	c.cmd("", "-ERR Unknown command.")
	c.cmd("X\x00\x1b[31m", "-ERR Unknown command.")
	c.cmd("LIST", "-ERR Too many invalid bad commands.")
	c.expectEOF()
	if err := pop3Result(t, done); !errors.Is(err, errPOP3TooManyBad) {
		t.Fatalf("ServePOP3 = %v, want %v", err, errPOP3TooManyBad)
	}
}

// Client bytes echoed in replies are made printable and short.
func TestPOP3EchoSanitised(t *testing.T) {
	md := newFakeMaildrop()
	address, done := pop3Serve(t, POP3Config{Authenticate: pop3Auth(md), AllowPlaintextAuth: true})
	c := pop3Dial(t, address, nil)
	c.line()
	c.cmd("USER learner", "+OK")
	c.cmd("PASS correct-horse", "+OK Logged in.")
	c.cmd("LIST 1\r+OK", "-ERR Invalid message number: 1?+OK")
	c.cmd("LIST 1 \r+OK", "-ERR Noise after message number: ?+OK")
	c.cmd("X\x1b]0;t\x07"+strings.Repeat("y", 100), "-ERR Unknown command: X?]0;T?"+strings.Repeat("Y", 33))
	c.cmd("QUIT", "+OK Logging out.")
	if err := pop3Result(t, done); err != nil {
		t.Fatalf("ServePOP3: %v", err)
	}
}

// FuzzPOP3Commands feeds arbitrary client bytes to a server that allows
// cleartext login (so that every state is reachable) and checks that it
// returns in bounded time, writes only CRLF-terminated lines, and unlocks
// the maildrop exactly when a login succeeded.
func FuzzPOP3Commands(f *testing.F) {
	for _, seed := range []string{
		"CAPA\r\nQUIT\r\n",
		"USER learner\r\nPASS correct-horse\r\nSTAT\r\nLIST\r\nUIDL\r\nRETR 1\r\nTOP 2 1\r\nDELE 1\r\nRSET\r\nDELE 2\r\nQUIT\r\n",
		"AUTH PLAIN " + plainIR("", pop3TestUser, pop3TestPass) + "\r\nLIST 1 2\r\nTOP 1 x\r\nRETR 99\r\n",
		"AUTH PLAIN\r\n" + plainIR("", pop3TestUser, pop3TestPass) + "\r\nUIDL 3\r\n",
		"AUTH PLAIN\r\n*\r\nAUTH\r\nAUTH X\r\n",
		"STLS\r\nCAPA\r\n",
		"USER a\r\nPASS b\r\nUSER a\r\nPASS b\r\nUSER a\r\nPASS b\r\n",
		"\n\n\r\n \x00\xff\r\n",
		strings.Repeat("A", 300) + "\r\n",
	} {
		f.Add([]byte(seed))
	}
	srvTLS, _ := pop3TLS(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		md := newFakeMaildrop(pop3Msg1, pop3Msg2, pop3Msg3)
		loggedIn := false
		auth := func(user, pass string) (Maildrop, error) {
			if user != pop3TestUser || pass != pop3TestPass {
				return nil, errors.New("bad credentials")
			}
			loggedIn = true
			return md, nil
		}
		server, client := net.Pipe()
		done := make(chan error, 1)
		go func() {
			done <- ServePOP3(server, POP3Config{
				TLSConfig:          srvTLS,
				Authenticate:       auth,
				AllowPlaintextAuth: true,
				IdleTimeout:        200 * time.Millisecond,
			})
		}()
		var out bytes.Buffer
		read := make(chan struct{})
		go func() {
			defer close(read)
			io.Copy(&out, client)
		}()
		client.SetWriteDeadline(time.Now().Add(2 * time.Second))
		client.Write(data)
		client.Write([]byte("\r\nQUIT\r\n"))
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("ServePOP3 did not return")
		}
		client.Close()
		<-read
		// Bodies contain bare LF on purpose; every reply line must still
		// end in CRLF on the wire.
		o := out.Bytes()
		for i, b := range o {
			if b == '\n' && (i == 0 || o[i-1] != '\r') {
				t.Fatalf("bare LF at offset %d of output %q", i, o)
			}
		}
		if _, unlocked := md.state(); unlocked != map[bool]int{true: 1, false: 0}[loggedIn] {
			t.Fatalf("Unlock called %d times, logged in %v", unlocked, loggedIn)
		}
	})
}

// A client that sends RETR and never reads cannot hold the session: the
// write deadline ends it (larger than loopback's socket buffers).
func TestPOP3StalledReader(t *testing.T) {
	const idle = 200 * time.Millisecond
	big := "Subject: big\r\n\r\n" + strings.Repeat(strings.Repeat("x", 78)+"\r\n", 400_000) // 32 MB
	md := newFakeMaildrop(big)
	address, done := pop3Serve(t, POP3Config{Authenticate: pop3Auth(md), AllowPlaintextAuth: true, IdleTimeout: idle})
	c := pop3Dial(t, address, nil)
	c.line()
	c.cmd("USER learner", "+OK")
	c.cmd("PASS correct-horse", "+OK Logged in.")
	c.send("RETR 1")
	if err := pop3Result(t, done); !isTimeout(err) {
		t.Fatalf("ServePOP3 = %v, want a write timeout", err)
	}
	if _, unlocked := md.state(); unlocked != 1 {
		t.Fatalf("Unlock called %d times, want 1", unlocked)
	}
}
