package lab

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func addMode(t *testing.T, l *Lab, canonical int, mode Mode) Endpoint {
	t.Helper()
	e, err := l.AddEndpoint(canonical, mode)
	if err != nil {
		t.Fatalf("AddEndpoint(%d, %q): %v", canonical, mode, err)
	}
	if e.Canonical != canonical || e.Mode != mode || e.Addr == "" {
		t.Fatalf("AddEndpoint(%d, %q) = %+v", canonical, mode, e)
	}
	if n, _ := l.Endpoint(canonical); n.Addr == e.Addr {
		t.Fatalf("mode endpoint shares the normal endpoint's address %s", e.Addr)
	}
	return e
}

var plainDemo = base64.StdEncoding.EncodeToString([]byte("\x00" + DemoUser + "\x00" + DemoPassword))

func TestModeCleartextAuthSMTP(t *testing.T) {
	l := startLab(t, nil)
	e := addMode(t, l, 587, ModeCleartextAuth)

	w := dialWire(t, e.Addr)
	w.smtpReply()
	ehlo := w.smtpReplyTo("EHLO client.test")
	if !hasLine(ehlo, "AUTH PLAIN LOGIN") || !hasLine(ehlo, "STARTTLS") {
		t.Fatalf("cleartext-auth EHLO before TLS: %q, want AUTH and STARTTLS offered", ehlo)
	}
	w.expectSMTP("AUTH PLAIN "+plainDemo, "235 2.7.0 Authentication successful")
	// A careless server lets the whole submission happen in cleartext,
	// but still for local recipients only.
	for _, cmd := range []string{"MAIL FROM:<learner@mail.lab.test>", "RCPT TO:<learner@mail.lab.test>"} {
		if got := w.smtpReplyTo(cmd); !strings.HasPrefix(got[0], "250 ") {
			t.Fatalf("%s in cleartext on cleartext-auth 587: %q", cmd, got)
		}
	}

	// The lab's own 587: no AUTH offered, and refused, before STARTTLS.
	n := dialWire(t, addr(t, l, 587))
	n.smtpReply()
	ehlo = n.smtpReplyTo("EHLO client.test")
	if hasLine(ehlo, "AUTH") {
		t.Fatalf("normal 587 offers AUTH before TLS: %q", ehlo)
	}
	n.expectSMTP("AUTH PLAIN "+plainDemo, "530 5.7.0 Must issue a STARTTLS command first")
}

// smtpReplyTo sends cmd and returns its whole reply.
func (w *wire) smtpReplyTo(cmd string) []string {
	w.t.Helper()
	w.send(cmd)
	return w.smtpReply()
}

// A mode endpoint never relays, even when the lab relays from its own 587.
func TestModeEndpointsNeverRelay(t *testing.T) {
	l := startLab(t, func(o *Options) {
		o.Relay = &Relay{Domain: "other.lab.test", Deliver: func(context.Context, Envelope) error { return nil }}
	})
	for _, mode := range []Mode{ModeCleartextAuth, ModeResponseInjection, ModeInjectionVulnerable} {
		t.Run(string(mode), func(t *testing.T) {
			e := addMode(t, l, 587, mode)
			w := dialWire(t, e.Addr)
			w.smtpReply()
			w.smtpReplyTo("EHLO client.test")
			if mode != ModeCleartextAuth {
				w.expectSMTP("STARTTLS", "220 2.0.0 Ready to start TLS")
				w.conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
				io.Copy(io.Discard, w.r) // the injected lines, if any
				w.conn.SetReadDeadline(time.Now().Add(wireTimeout))
				tc := tls.Client(w.conn, clientTLS(l))
				if err := tc.Handshake(); err != nil {
					t.Fatalf("handshake: %v", err)
				}
				w.conn, w.r = tc, bufio.NewReader(tc)
				w.smtpReplyTo("EHLO client.test")
			}
			w.expectSMTP("AUTH PLAIN "+plainDemo, "235 2.7.0 Authentication successful")
			w.send("MAIL FROM:<learner@mail.lab.test>")
			w.smtpReply()
			got := w.smtpReplyTo("RCPT TO:<someone@other.lab.test>")
			if !strings.HasPrefix(got[0], "554 5.7.1") || !strings.Contains(got[0], "Relay access denied") {
				t.Fatalf("RCPT to the relay domain on a %s endpoint: %q, want 554 relay access denied", mode, got)
			}
		})
	}
}

func TestModeCleartextAuthIMAP(t *testing.T) {
	l := startLab(t, nil)
	e := addMode(t, l, 143, ModeCleartextAuth)

	w := dialWire(t, e.Addr)
	w.line()
	caps := w.imapCmd("a", "CAPABILITY")
	if hasLine(caps, "LOGINDISABLED") || !hasLine(caps, "STARTTLS") {
		t.Fatalf("cleartext-auth CAPABILITY: %q, want STARTTLS and no LOGINDISABLED", caps)
	}
	if got := w.imapCmd("b", `LOGIN learner "correct-horse"`); !strings.HasPrefix(got[len(got)-1], "b OK") {
		t.Fatalf("LOGIN before STARTTLS on cleartext-auth: %q, want OK", got)
	}
	if got := w.imapCmd("c", "SELECT INBOX"); !strings.HasPrefix(got[len(got)-1], "c OK") {
		t.Fatalf("SELECT after cleartext LOGIN: %q", got)
	}

	n := dialWire(t, addr(t, l, 143))
	n.line()
	if caps := n.imapCmd("a", "CAPABILITY"); !hasLine(caps, "LOGINDISABLED") {
		t.Fatalf("normal 143 CAPABILITY: %q, want LOGINDISABLED", caps)
	}
	if got := n.imapCmd("b", `LOGIN learner "correct-horse"`); !strings.HasPrefix(got[len(got)-1], "b NO") {
		t.Fatalf("LOGIN before STARTTLS on normal 143: %q, want NO", got)
	}
}

func TestModeCleartextAuthPOP3(t *testing.T) {
	l := startLab(t, nil)
	e := addMode(t, l, 110, ModeCleartextAuth)

	w := dialWire(t, e.Addr)
	w.line()
	w.send("CAPA")
	capa := w.pop3Multi()
	if !hasLine(capa, "USER") || !hasLine(capa, "STLS") {
		t.Fatalf("cleartext-auth CAPA: %q, want USER and STLS", capa)
	}
	w.send("USER " + DemoUser)
	if got := w.line(); !strings.HasPrefix(got, "+OK") {
		t.Fatalf("USER: %q", got)
	}
	w.send("PASS " + DemoPassword)
	if got := w.line(); !strings.HasPrefix(got, "+OK") {
		t.Fatalf("PASS before STLS on cleartext-auth: %q, want +OK", got)
	}
	w.send("QUIT")
	w.line()

	n := dialWire(t, addr(t, l, 110))
	n.line()
	n.send("CAPA")
	if capa := n.pop3Multi(); hasLine(capa, "USER") {
		t.Fatalf("normal 110 CAPA offers USER before TLS: %q", capa)
	}
	n.send("USER " + DemoUser)
	if got := n.line(); !strings.HasPrefix(got, "-ERR [AUTH]") {
		t.Fatalf("USER before STLS on normal 110: %q, want -ERR [AUTH]", got)
	}
}

// injectionCase is the CVE-2011-0411 probe for one protocol: the client
// (or a man in the middle) writes the STARTTLS command and one more
// command in a single write; after the handshake the client sends probe.
// A vulnerable server's first reply inside TLS answers the injected
// command; a correct one's answers the probe.
type injectionCase struct {
	proto    string
	port     int
	hello    string // sent first and its reply read (SMTP EHLO)
	write    string // STARTTLS plus the injected command, in one write
	goAhead  string
	probe    string
	injected string // prefix of the answer to the injected command
	answer   string // prefix of the answer to the probe
}

var injectionCases = []injectionCase{
	{ProtoSMTP, 25, "EHLO client.test", "STARTTLS\r\nRSET\r\n", "220 2.0.0 Ready to start TLS", "QUIT", "250 ", "221 "},
	{ProtoSMTP, 587, "EHLO client.test", "STARTTLS\r\nRSET\r\n", "220 2.0.0 Ready to start TLS", "QUIT", "250 ", "221 "},
	{ProtoPOP3, 110, "", "STLS\r\nCAPA\r\n", "+OK Begin TLS negotiation", "QUIT", "+OK Capability list follows", "+OK Logging out"},
	{ProtoIMAP, 143, "", "a STARTTLS\r\nb NOOP\r\n", "a OK Begin TLS negotiation now", "c NOOP", "b OK", "c OK"},
}

// runInjection plays c against address and returns the first reply line
// inside TLS, or handshakeErr if the server broke the handshake.
func runInjection(t *testing.T, l *Lab, address string, c injectionCase) (first string, handshakeErr error) {
	t.Helper()
	w := dialWire(t, address)
	w.line() // greeting
	if c.hello != "" {
		w.smtpReplyTo(c.hello)
	}
	if _, err := io.WriteString(w.conn, c.write); err != nil {
		t.Fatalf("write %q: %v", c.write, err)
	}
	if got := w.line(); got != c.goAhead {
		t.Fatalf("reply to %q: %q, want %q", c.write, got, c.goAhead)
	}
	if w.r.Buffered() > 0 {
		t.Fatalf("bytes after the go-ahead, before TLS")
	}
	tc := tls.Client(w.conn, clientTLS(l))
	if err := tc.Handshake(); err != nil {
		return "", err
	}
	w.conn, w.r = tc, bufio.NewReader(tc)
	w.send(c.probe)
	return w.line(), nil
}

func TestModeInjectionVulnerable(t *testing.T) {
	l := startLab(t, nil)
	for _, c := range injectionCases {
		t.Run(c.proto+"-"+strconv.Itoa(c.port), func(t *testing.T) {
			e := addMode(t, l, c.port, ModeInjectionVulnerable)
			first, err := runInjection(t, l, e.Addr, c)
			if err != nil {
				t.Fatalf("vulnerable endpoint: handshake: %v", err)
			}
			if !strings.HasPrefix(first, c.injected) {
				t.Fatalf("vulnerable endpoint: first reply inside TLS %q, want the injected command's answer %q…", first, c.injected)
			}

			// The lab's own endpoint discards the pipelined bytes: either
			// the first reply inside TLS answers the probe, or (go-imap,
			// which hands them to TLS as handshake bytes) the handshake
			// fails; never is the injected command answered.
			first, err = runInjection(t, l, addr(t, l, c.port), c)
			switch {
			case err != nil && c.proto == ProtoIMAP:
				t.Logf("normal %d: handshake broken by the injected bytes: %v", c.port, err)
			case err != nil:
				t.Fatalf("normal %d: handshake: %v", c.port, err)
			case !strings.HasPrefix(first, c.answer):
				t.Fatalf("normal %d: first reply inside TLS %q, want the probe's answer %q…", c.port, first, c.answer)
			}
		})
	}
}

// The vulnerable server otherwise behaves as the lab: the demo credentials
// only inside TLS (RFC 8314 §3), wrong ones refused, local delivery, and
// the state before TLS forgotten (RFC 3207 §4.2).
func TestInjectionVulnerableSMTPSession(t *testing.T) {
	l := startLab(t, nil)
	e := addMode(t, l, 587, ModeInjectionVulnerable)
	w := dialWire(t, e.Addr)
	w.smtpReply()
	ehlo := w.smtpReplyTo("EHLO client.test")
	if hasLine(ehlo, "AUTH") || !hasLine(ehlo, "STARTTLS") || !hasLine(ehlo, "PIPELINING") {
		t.Fatalf("EHLO before TLS: %q", ehlo)
	}
	w.expectSMTP("AUTH PLAIN "+plainDemo, "530 5.7.0 Must issue a STARTTLS command first")
	w.expectSMTP("MAIL FROM:<x@y.test>", "530 5.7.0 Must issue a STARTTLS command first")
	w.expectSMTP("STARTTLS", "220 2.0.0 Ready to start TLS")
	w.startTLS(clientTLS(l))
	w.expectSMTP("MAIL FROM:<x@y.test>", "503 5.5.1 Error: send HELO/EHLO first")
	ehlo = w.smtpReplyTo("EHLO client.test")
	if !hasLine(ehlo, "AUTH PLAIN LOGIN") || hasLine(ehlo, "STARTTLS") {
		t.Fatalf("EHLO inside TLS: %q", ehlo)
	}
	bad := base64.StdEncoding.EncodeToString([]byte("\x00learner\x00wrong"))
	w.expectSMTP("AUTH PLAIN "+bad, "535 5.7.8 Error: authentication failed: authentication failure")
	w.expectSMTP("AUTH LOGIN", "334 VXNlcm5hbWU6")
	w.expectSMTP(base64.StdEncoding.EncodeToString([]byte(DemoUser)), "334 UGFzc3dvcmQ6")
	w.expectSMTP(base64.StdEncoding.EncodeToString([]byte(DemoPassword)), "235 2.7.0 Authentication successful")
	w.expectSMTP("MAIL FROM:<learner@mail.lab.test>", "250 2.1.0 Ok")
	w.expectSMTP("RCPT TO:<nobody@mail.lab.test>", "550 5.1.1 <nobody@mail.lab.test>: Recipient address rejected: User unknown in virtual mailbox table")
	w.expectSMTP("RCPT TO:<someone@example.com>", "554 5.7.1 <someone@example.com>: Relay access denied")
	w.expectSMTP("RCPT TO:<learner@mail.lab.test>", "250 2.1.5 Ok")
	w.expectSMTP("DATA", "354 End data with <CR><LF>.<CR><LF>")
	w.send("Subject: injected-mode-test\r\n\r\n..dot line\r\nbody")
	got := w.smtpReplyTo(".")
	if !strings.HasPrefix(got[0], "250 2.0.0 Ok: queued as ") {
		t.Fatalf("end of DATA: %q", got)
	}
	w.expectSMTP("QUIT", "221 2.0.0 Bye")

	// Delivered to the shared store: the lab's own POP3 sees it.
	found := false
	for _, b := range inboxBodies(l.store) {
		if strings.Contains(string(b), "Subject: injected-mode-test") && strings.Contains(string(b), "\r\n.dot line\r\n") &&
			strings.Contains(string(b), "with ESMTPSA id") {
			found = true
		}
	}
	if !found {
		t.Fatalf("message from the vulnerable endpoint not in the store (or not dot-unstuffed, or no ESMTPSA Received)")
	}
}

func TestInjectionVulnerableIMAPSession(t *testing.T) {
	l := startLab(t, nil)
	e := addMode(t, l, 143, ModeInjectionVulnerable)
	w := dialWire(t, e.Addr)
	if g := w.line(); !strings.Contains(g, "LOGINDISABLED") {
		t.Fatalf("greeting %q, want LOGINDISABLED before TLS", g)
	}
	if got := w.imapCmd("a", `LOGIN learner correct-horse`); !strings.HasPrefix(got[0], "a NO [PRIVACYREQUIRED]") {
		t.Fatalf("LOGIN before TLS: %q", got)
	}
	w.imapCmd("b", "STARTTLS")
	w.startTLS(clientTLS(l))
	if caps := w.imapCmd("c", "CAPABILITY"); hasLine(caps, "STARTTLS") || hasLine(caps, "LOGINDISABLED") || !hasLine(caps, "AUTH=PLAIN") {
		t.Fatalf("CAPABILITY inside TLS: %q", caps)
	}
	if got := w.imapCmd("d", `LOGIN learner "wrong"`); !strings.HasPrefix(got[0], "d NO [AUTHENTICATIONFAILED]") {
		t.Fatalf("wrong LOGIN: %q", got)
	}
	if got := w.imapCmd("e", `LOGIN "learner" "correct-horse"`); !strings.HasPrefix(got[0], "e OK") {
		t.Fatalf("LOGIN: %q", got)
	}
	if got := w.imapCmd("f", "SELECT INBOX"); !strings.HasPrefix(got[0], "f NO [CANNOT]") {
		t.Fatalf("SELECT: %q", got)
	}
	if got := w.imapCmd("g", "LOGOUT"); got[0] != "* BYE Logging out" {
		t.Fatalf("LOGOUT: %q", got)
	}
}

// Lines over the limit end the session with a reply, not a hang.
func TestInjectionVulnerableLineLimit(t *testing.T) {
	l := startLab(t, func(o *Options) { o.Limits.MaxLineLength = 100 })
	e := addMode(t, l, 25, ModeInjectionVulnerable)
	w := dialWire(t, e.Addr)
	w.smtpReply()
	w.send("NOOP " + strings.Repeat("x", 200))
	if got := w.line(); got != "500 5.5.0 Error: line too long" {
		t.Fatalf("over-long line: %q", got)
	}
	w.expectClosed(2 * time.Second)
}

func TestModeResponseInjection(t *testing.T) {
	l := startLab(t, nil)
	cases := []struct {
		proto, hello, cmd, goAhead, inside string
		port                               int
	}{
		{ProtoSMTP, "EHLO client.test", "STARTTLS", smtpGoAhead, "EHLO client.test", 25},
		{ProtoSMTP, "EHLO client.test", "STARTTLS", smtpGoAhead, "EHLO client.test", 587},
		{ProtoPOP3, "", "STLS", pop3GoAhead, "CAPA", 110},
		{ProtoIMAP, "", "a STARTTLS", "a" + imapGoAhead, "b CAPABILITY", 143},
	}
	for _, c := range cases {
		t.Run(c.proto+"-"+strconv.Itoa(c.port), func(t *testing.T) {
			e := addMode(t, l, c.port, ModeResponseInjection)
			w := dialWire(t, e.Addr)
			w.line()
			if c.hello != "" {
				w.smtpReplyTo(c.hello)
			}
			w.send(c.cmd)
			// Everything the server sends before the ClientHello: read
			// until it has been quiet a moment (no ClientHello has been
			// sent, so it cannot be TLS).
			want := c.goAhead + InjectedLines(c.proto)
			got := make([]byte, len(want))
			if _, err := io.ReadFull(w.r, got); err != nil {
				t.Fatalf("read go-ahead and injected lines (got %q): %v", got, err)
			}
			if string(got) != want {
				t.Fatalf("before TLS: %q, want %q", got, want)
			}
			w.conn.SetReadDeadline(time.Now().Add(150 * time.Millisecond))
			if extra, _ := w.r.ReadByte(); w.r.Buffered() > 0 || extra != 0 {
				t.Fatalf("more bytes before TLS after the injected lines")
			}
			w.conn.SetReadDeadline(time.Now().Add(wireTimeout))

			// Then TLS works, verified with the lab CA, and the server is
			// the lab's own.
			tc := tls.Client(w.conn, clientTLS(l))
			if err := tc.Handshake(); err != nil {
				t.Fatalf("handshake after the injected lines: %v", err)
			}
			if st := tc.ConnectionState(); len(st.VerifiedChains) == 0 {
				t.Fatalf("no verified chain")
			}
			w.conn, w.r = tc, bufio.NewReader(tc)
			w.send(c.inside)
			first := w.line()
			switch c.proto {
			case ProtoSMTP:
				if !strings.HasPrefix(first, "250-") {
					t.Fatalf("EHLO inside TLS: %q", first)
				}
			case ProtoPOP3:
				if first != "+OK Capability list follows" {
					t.Fatalf("CAPA inside TLS: %q", first)
				}
			case ProtoIMAP:
				if !strings.HasPrefix(first, "* CAPABILITY") || strings.Contains(first, "STARTTLS") {
					t.Fatalf("CAPABILITY inside TLS: %q", first)
				}
			}

			// The lab's own endpoint sends nothing after its go-ahead.
			n := dialWire(t, addr(t, l, c.port))
			n.line()
			if c.hello != "" {
				n.smtpReplyTo(c.hello)
			}
			n.send(c.cmd)
			got = make([]byte, len(c.goAhead))
			if _, err := io.ReadFull(n.r, got); err != nil || string(got) != c.goAhead {
				t.Fatalf("normal go-ahead: %q, %v", got, err)
			}
			n.conn.SetReadDeadline(time.Now().Add(150 * time.Millisecond))
			if b, err := n.r.ReadByte(); err == nil {
				t.Fatalf("normal %d sent %q after its go-ahead", c.port, b)
			}
		})
	}
}

func TestAddEndpointUnsupported(t *testing.T) {
	l := startLab(t, nil)
	for _, c := range []struct {
		port int
		mode Mode
	}{
		{465, ModeCleartextAuth}, {25, ModeCleartextAuth}, {993, ModeCleartextAuth},
		{995, ModeInjectionVulnerable}, {443, ModeInjectionVulnerable}, {465, ModeResponseInjection},
		{2525, ModeNormal}, {587, Mode("bogus")},
	} {
		if e, err := l.AddEndpoint(c.port, c.mode); err == nil {
			t.Errorf("AddEndpoint(%d, %q) = %+v, want an error", c.port, c.mode, e)
		}
	}
	if got := l.AddedEndpoints(); len(got) != 0 {
		t.Fatalf("failed calls left endpoints: %+v", got)
	}
	// Every supported pair starts.
	n := 0
	for mode, ports := range Modes() {
		for _, p := range ports {
			addMode(t, l, p, mode)
			n++
		}
	}
	e := addMode(t, l, 465, ModeNormal)
	if e.TLS != TLSImplicit || e.Proto != ProtoSMTP {
		t.Fatalf("normal 465: %+v", e)
	}
	if got := l.AddedEndpoints(); len(got) != n+1 {
		t.Fatalf("AddedEndpoints: %d, want %d", len(got), n+1)
	}
	if len(l.Endpoints()) != len(plan()) {
		t.Fatalf("Endpoints() changed by AddEndpoint: %d", len(l.Endpoints()))
	}
}

func TestModeEndpointsCloseWithLab(t *testing.T) {
	opts := Options{ListenHost: "127.0.0.1", AnyPort: true, StateDir: t.TempDir(), Logf: t.Logf}
	l, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	var eps []Endpoint
	var open []net.Conn
	for _, m := range []Mode{ModeCleartextAuth, ModeInjectionVulnerable, ModeResponseInjection} {
		for _, p := range []int{587, 110, 143} {
			e, err := l.AddEndpoint(p, m)
			if err != nil {
				t.Fatal(err)
			}
			eps = append(eps, e)
			c, err := net.DialTimeout("tcp", e.Addr, wireTimeout)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			// Wait for the greeting so the connection is being served.
			c.SetReadDeadline(time.Now().Add(wireTimeout))
			if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
				t.Fatalf("greeting from %d %s: %v", p, m, err)
			}
			open = append(open, c)
		}
	}
	done := make(chan error, 1)
	go func() { done <- l.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return with mode endpoints serving")
	}
	for _, c := range open {
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Read(make([]byte, 64)); err == nil || isTimeout(err) {
			t.Fatalf("connection to a mode endpoint still open after Close: %v", err)
		}
	}
	for _, e := range eps {
		if c, err := net.DialTimeout("tcp", e.Addr, time.Second); err == nil {
			c.Close()
			t.Fatalf("%d %s still accepts after Close", e.Canonical, e.Mode)
		}
	}
	if _, err := l.AddEndpoint(587, ModeCleartextAuth); err == nil {
		t.Fatal("AddEndpoint after Close succeeded")
	}
}

// AddEndpoint racing Close: each call either returns an endpoint that
// Close then shuts, or an error; Close returns and nothing is left
// listening.
func TestAddEndpointDuringClose(t *testing.T) {
	opts := Options{ListenHost: "127.0.0.1", AnyPort: true, StateDir: t.TempDir()}
	l, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var added []Endpoint
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for j := range 100 {
				time.Sleep(time.Millisecond)
				m := []Mode{ModeCleartextAuth, ModeInjectionVulnerable, ModeResponseInjection}[(i+j)%3]
				e, err := l.AddEndpoint(143, m)
				if err != nil {
					if !strings.Contains(err.Error(), "closed") {
						t.Errorf("AddEndpoint: %v", err)
					}
					return
				}
				mu.Lock()
				added = append(added, e)
				mu.Unlock()
			}
		}()
	}
	close(start)
	time.Sleep(20 * time.Millisecond) // Close lands while calls are in flight
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wg.Wait()
	for _, e := range added {
		if c, err := net.DialTimeout("tcp", e.Addr, time.Second); err == nil {
			c.Close()
			t.Fatalf("%s still accepts after Close", e.Addr)
		}
	}
	t.Logf("%d endpoints added before Close", len(added))
}
