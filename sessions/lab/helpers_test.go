package lab

import (
	"bufio"
	"context"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"
)

// startLab starts a lab on free ports with a private state dir; mod may
// change the options first.
func startLab(t *testing.T, mod func(*Options)) *Lab {
	t.Helper()
	opts := Options{
		ListenHost: "127.0.0.1",
		AnyPort:    true,
		StateDir:   t.TempDir(),
		Limits:     DefaultLimits(),
		Logf:       t.Logf,
	}
	if mod != nil {
		mod(&opts)
	}
	l, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return l
}

func addr(t *testing.T, l *Lab, canonical int) string {
	t.Helper()
	e, ok := l.Endpoint(canonical)
	if !ok {
		t.Fatalf("no endpoint %d", canonical)
	}
	return e.Addr
}

func clientTLS(l *Lab) *tls.Config {
	return &tls.Config{RootCAs: l.RootCAs(), ServerName: Hostname}
}

// wire is a scripted client: it sends lines and reads replies as they are
// on the wire.
type wire struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

const wireTimeout = 5 * time.Second

func dialWire(t *testing.T, address string) *wire {
	t.Helper()
	c, err := net.DialTimeout("tcp", address, wireTimeout)
	if err != nil {
		t.Fatalf("dial %s: %v", address, err)
	}
	t.Cleanup(func() { c.Close() })
	return newWire(t, c)
}

func dialWireTLS(t *testing.T, address string, cfg *tls.Config) *wire {
	t.Helper()
	d := &net.Dialer{Timeout: wireTimeout}
	c, err := tls.DialWithDialer(d, "tcp", address, cfg)
	if err != nil {
		t.Fatalf("tls dial %s: %v", address, err)
	}
	t.Cleanup(func() { c.Close() })
	return newWire(t, c)
}

func newWire(t *testing.T, c net.Conn) *wire {
	c.SetDeadline(time.Now().Add(wireTimeout))
	return &wire{t: t, conn: c, r: bufio.NewReader(c)}
}

// startTLS turns the connection into TLS (after the server said go ahead).
func (w *wire) startTLS(cfg *tls.Config) {
	w.t.Helper()
	if w.r.Buffered() > 0 {
		w.t.Fatalf("server sent data before the TLS handshake")
	}
	tc := tls.Client(w.conn, cfg)
	if err := tc.Handshake(); err != nil {
		w.t.Fatalf("TLS handshake: %v", err)
	}
	w.conn = tc
	w.r = bufio.NewReader(tc)
}

func (w *wire) send(line string) {
	w.t.Helper()
	if _, err := w.conn.Write([]byte(line + "\r\n")); err != nil {
		w.t.Fatalf("send %q: %v", line, err)
	}
}

func (w *wire) line() string {
	w.t.Helper()
	s, err := w.r.ReadString('\n')
	if err != nil {
		w.t.Fatalf("read line (got %q): %v", s, err)
	}
	return strings.TrimRight(s, "\r\n")
}

// smtpReply reads a whole SMTP reply (RFC 5321 §4.2.1: "xyz-" continues,
// "xyz " ends) and returns its lines.
func (w *wire) smtpReply() []string {
	w.t.Helper()
	var lines []string
	for {
		l := w.line()
		lines = append(lines, l)
		if len(l) < 4 || l[3] != '-' {
			return lines
		}
	}
}

// expect sends cmd and checks that the (last line of the) reply is want.
func (w *wire) expectSMTP(cmd, want string) []string {
	w.t.Helper()
	if cmd != "" {
		w.send(cmd)
	}
	got := w.smtpReply()
	if last := got[len(got)-1]; last != want {
		w.t.Fatalf("%q: got %q, want %q", cmd, got, want)
	}
	return got
}

func hasLine(lines []string, sub string) bool {
	for _, l := range lines {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

// imapUntagged sends a tagged command and returns every line up to and
// including the tagged completion.
func (w *wire) imapCmd(tag, cmd string) []string {
	w.t.Helper()
	w.send(tag + " " + cmd)
	var lines []string
	for {
		l := w.line()
		lines = append(lines, l)
		if strings.HasPrefix(l, tag+" ") {
			return lines
		}
	}
}

// expectClosed checks that the server closes the connection within d.
func (w *wire) expectClosed(d time.Duration) {
	w.t.Helper()
	w.conn.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 512)
	for {
		_, err := w.r.Read(buf)
		if err == nil {
			continue
		}
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			w.t.Fatalf("connection still open after %v", d)
		}
		return
	}
}
