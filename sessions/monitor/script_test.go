package monitor

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailwire/mailwire/sessions/lab"
)

// Scripted clients for the monitor's tests and benchmark: each plays one
// kind of client against the monitored lab, careful or careless, and
// records every line it sent and when.

// monitored is a lab watched by a monitor, with other-name endpoints.
type monitored struct {
	lab   *lab.Lab
	mon   *Monitor
	other map[int]string // canonical port → the other-name endpoint's address
}

func startMonitored(tb testing.TB, o Options) *monitored {
	tb.Helper()
	mon := New(o)
	l, err := lab.Start(context.Background(), lab.Options{ListenHost: "127.0.0.1", AnyPort: true, StateDir: tb.TempDir(),
		Limits: lab.Limits{MaxConns: 256, MaxConnsPerClient: 256}, Watch: mon.Watch, KeyLogWriter: mon})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	m := &monitored{lab: l, mon: mon, other: map[int]string{}}
	for _, p := range []int{465, 993} {
		e, err := l.AddEndpoint(p, lab.ModeOtherName)
		if err != nil {
			tb.Fatal(err)
		}
		m.other[p] = e.Addr
	}
	return m
}

func (m *monitored) addr(tb testing.TB, port int) string {
	e, ok := m.lab.Endpoint(port)
	if !ok {
		tb.Fatalf("no port %d", port)
	}
	return e.Addr
}

// sent is one line a client wrote, and when.
type sent struct {
	line string
	at   time.Time
}

// client is a scripted client's connection.
type client struct {
	conn  net.Conn
	r     *bufio.Reader
	local string // its address and the lab's, as the lab sees them (key)
	sent  []sent
	err   error
}

func dialClient(addr string, cfg *tls.Config) (*client, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	raw, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &client{conn: raw, local: connKey(raw.LocalAddr().String(), raw.RemoteAddr().String())}
	_ = raw.SetDeadline(time.Now().Add(20 * time.Second))
	if cfg != nil {
		tc := tls.Client(raw, cfg)
		if err := tc.Handshake(); err != nil {
			raw.Close()
			return c, err
		}
		c.conn = tc
	}
	c.r = bufio.NewReader(c.conn)
	return c, nil
}

func (c *client) send(line string) {
	if c.err != nil {
		return
	}
	c.sent = append(c.sent, sent{line, time.Now()})
	_, c.err = c.conn.Write([]byte(line + "\r\n"))
}

// reply reads one reply: SMTP to its last line, POP3 and IMAP one line
// (or to the tagged line when tag is set).
func (c *client) reply(proto, tag string) string {
	var last string
	first := true
	for c.err == nil {
		var s string
		s, c.err = c.r.ReadString('\n')
		last = strings.TrimRight(s, "\r\n")
		switch {
		case proto == lab.ProtoSMTP && len(last) >= 4 && last[3] == '-':
			continue
		case proto == lab.ProtoIMAP && tag != "" && !strings.HasPrefix(last, tag+" "):
			continue
		case proto == lab.ProtoPOP3 && tag == "." && last != "." && !(first && strings.HasPrefix(last, "-ERR")):
			// A multi-line answer ends with a dot; a refusal is one line
			// (RFC 1939 §3), e.g. the maildrop locked by another session.
			first = false
			continue
		}
		break
	}
	return last
}

func (c *client) cmd(proto, tag, line string) string {
	c.send(line)
	return c.reply(proto, tag)
}

func (c *client) startTLS(cfg *tls.Config) {
	if c.err != nil {
		return
	}
	tc := tls.Client(c.conn, cfg)
	if c.err = tc.Handshake(); c.err == nil {
		c.conn, c.r = tc, bufio.NewReader(tc)
	}
}

// kind is a kind of scripted client: what it does and which flags the
// monitor must raise for it.
type kind struct {
	name    string
	flags   []Flag
	cert    CertCheck
	tls     string // how TLS began, as Client.TLS says
	refused bool   // the handshake is meant to fail
	run     func(m *monitored, tb testing.TB) (*client, error)
}

var (
	plain = base64.StdEncoding.EncodeToString([]byte("\x00" + lab.DemoUser + "\x00" + lab.DemoPassword))
	mail  = "From: <" + lab.DemoRecipient + ">\r\nSubject: monitor\r\n\r\nhello\r\n."
)

func (m *monitored) verify(name string) *tls.Config {
	return &tls.Config{RootCAs: m.lab.RootCAs(), ServerName: name, MinVersion: tls.VersionTLS12}
}

// submit sends one message on an SMTP connection already greeted.
func submit(c *client, auth bool) {
	if auth {
		c.cmd("smtp", "", "AUTH PLAIN "+plain)
	}
	c.cmd("smtp", "", "MAIL FROM:<"+lab.DemoRecipient+">")
	c.cmd("smtp", "", "RCPT TO:<"+lab.DemoRecipient+">")
	c.cmd("smtp", "", "DATA")
	c.cmd("smtp", "", mail)
	c.cmd("smtp", "", "QUIT")
}

// kinds are the clients of the tests: the first six careful, the last
// three careless (doc.go says what each flag rests on).
var kinds = []kind{
	{name: "smtp-587-starttls", tls: lab.TLSStartTLS, run: func(m *monitored, tb testing.TB) (*client, error) {
		c, err := dialClient(m.addr(tb, 587), nil)
		if err != nil {
			return c, err
		}
		c.reply("smtp", "")
		c.cmd("smtp", "", "EHLO careful.test")
		c.cmd("smtp", "", "STARTTLS")
		c.startTLS(m.verify(lab.Hostname))
		c.cmd("smtp", "", "EHLO careful.test")
		submit(c, true)
		return c, c.err
	}},
	{name: "smtp-465-implicit", tls: lab.TLSImplicit, run: func(m *monitored, tb testing.TB) (*client, error) {
		c, err := dialClient(m.addr(tb, 465), m.verify(lab.Hostname))
		if err != nil {
			return c, err
		}
		c.reply("smtp", "")
		c.cmd("smtp", "", "EHLO careful.test")
		submit(c, true)
		return c, c.err
	}},
	{name: "imap-993-implicit", tls: lab.TLSImplicit, run: func(m *monitored, tb testing.TB) (*client, error) {
		c, err := dialClient(m.addr(tb, 993), m.verify(lab.Hostname))
		if err != nil {
			return c, err
		}
		c.reply("imap", "")
		c.cmd("imap", "a1", "a1 LOGIN "+lab.DemoUser+" "+lab.DemoPassword)
		c.cmd("imap", "a2", "a2 SELECT INBOX")
		c.cmd("imap", "a3", "a3 LOGOUT")
		return c, c.err
	}},
	{name: "pop3-110-stls", tls: lab.TLSStartTLS, run: func(m *monitored, tb testing.TB) (*client, error) {
		c, err := dialClient(m.addr(tb, 110), nil)
		if err != nil {
			return c, err
		}
		c.reply("pop3", "")
		c.cmd("pop3", ".", "CAPA")
		c.cmd("pop3", "", "STLS")
		c.startTLS(m.verify(lab.Hostname))
		c.cmd("pop3", "", "USER "+lab.DemoUser)
		c.cmd("pop3", "", "PASS "+lab.DemoPassword)
		c.cmd("pop3", ".", "LIST")
		c.cmd("pop3", "", "QUIT")
		return c, c.err
	}},
	{name: "imap-143-starttls", tls: lab.TLSStartTLS, run: func(m *monitored, tb testing.TB) (*client, error) {
		c, err := dialClient(m.addr(tb, 143), nil)
		if err != nil {
			return c, err
		}
		c.reply("imap", "")
		c.cmd("imap", "a1", "a1 STARTTLS")
		c.startTLS(m.verify(lab.Hostname))
		c.cmd("imap", "a2", "a2 LOGIN "+lab.DemoUser+" "+lab.DemoPassword)
		c.cmd("imap", "a3", "a3 LOGOUT")
		return c, c.err
	}},
	{name: "imap-other-name-verifying", cert: CertRefused, tls: lab.TLSImplicit, refused: true, run: func(m *monitored, tb testing.TB) (*client, error) {
		return dialClient(m.other[993], m.verify(lab.Hostname))
	}},
	// Careless.
	{name: "pop3-110-cleartext", flags: []Flag{FlagCleartextCredentials, FlagStartTLSIgnored}, run: func(m *monitored, tb testing.TB) (*client, error) {
		c, err := dialClient(m.addr(tb, 110), nil)
		if err != nil {
			return c, err
		}
		c.reply("pop3", "")
		c.cmd("pop3", ".", "CAPA")
		c.cmd("pop3", "", "USER "+lab.DemoUser)
		c.cmd("pop3", "", "PASS "+lab.DemoPassword)
		c.cmd("pop3", "", "QUIT")
		return c, c.err
	}},
	{name: "smtp-25-no-starttls", flags: []Flag{FlagStartTLSIgnored}, run: func(m *monitored, tb testing.TB) (*client, error) {
		c, err := dialClient(m.addr(tb, 25), nil)
		if err != nil {
			return c, err
		}
		c.reply("smtp", "")
		c.cmd("smtp", "", "EHLO careless.test")
		submit(c, false)
		return c, c.err
	}},
	{name: "smtp-465-other-name-unverified", flags: []Flag{FlagCertNotVerified}, cert: CertAccepted, tls: lab.TLSImplicit, run: func(m *monitored, tb testing.TB) (*client, error) {
		c, err := dialClient(m.other[465], &tls.Config{InsecureSkipVerify: true, ServerName: lab.Hostname})
		if err != nil {
			return c, err
		}
		c.reply("smtp", "")
		c.cmd("smtp", "", "EHLO careless.test")
		submit(c, true)
		return c, c.err
	}},
}

// kindOf is the kind of the i-th client: every third one careless, the
// kinds of each group in turn.
func kindOf(i int) kind {
	if i%3 == 2 {
		return kinds[6+(i/3)%3]
	}
	return kinds[(i/3*2+i%3)%6]
}

// runClients runs n clients (kindOf), at most par at once, and returns
// each client's kind and connection.
func runClients(tb testing.TB, m *monitored, n, par int) ([]kind, []*client) {
	ks := make([]kind, n)
	cs := make([]*client, n)
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for i := range n {
		ks[i] = kindOf(i)
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := ks[i].run(m, tb)
			if c != nil && c.conn != nil {
				c.conn.Close()
			}
			if err != nil && !ks[i].refused {
				var lines []string
				if c != nil {
					for _, s := range c.sent {
						lines = append(lines, s.line)
					}
				}
				tb.Errorf("client %d (%s): %v (sent %q)", i, ks[i].name, err, lines)
			}
			cs[i] = c
		}()
	}
	wg.Wait()
	return ks, cs
}

// waitClosed waits until the monitor saw n connections end.
func waitClosed(tb testing.TB, mon *Monitor, n int) []Client {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		cl := mon.Clients()
		open := slices.ContainsFunc(cl, func(c Client) bool { return c.Open })
		if len(cl) >= n && !open {
			return cl
		}
		if time.Now().After(deadline) {
			tb.Fatalf("monitor: %d clients, some open, after 10 s", len(cl))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func describe(c Client) string {
	return fmt.Sprintf("#%d %s %d %s flags=%v cert=%q", c.ID, c.Addr, c.Endpoint.Canonical, c.TLSText(), c.Flags, c.Cert)
}

// connKey names a connection by both its ends: with a hundred clients, a
// client's port is soon used again by another, to another lab port.
func connKey(client, server string) string { return client + "|" + server }

func keyOf(c Client) string { return connKey(c.Addr, c.Endpoint.Addr) }
