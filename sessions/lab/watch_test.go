package lab

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// recWatch keeps what a watched connection carried.
type recWatch struct {
	mu       sync.Mutex
	info     ConnInfo
	c2s, s2c bytes.Buffer
	closed   chan struct{}
}

func (w *recWatch) Read(b []byte)  { w.mu.Lock(); w.c2s.Write(b); w.mu.Unlock() }
func (w *recWatch) Wrote(b []byte) { w.mu.Lock(); w.s2c.Write(b); w.mu.Unlock() }
func (w *recWatch) Closed()        { close(w.closed) }

// TestWatchSeesTheWire: a watcher gets each admitted connection's bytes,
// both ways, raw as on the wire (cleartext, then TLS records after
// STARTTLS), its endpoint and an id, and the close; the key log writer
// gets the connection's TLS secrets.
func TestWatchSeesTheWire(t *testing.T) {
	var mu sync.Mutex
	var watches []*recWatch
	var keys bytes.Buffer
	l := startLab(t, func(o *Options) {
		o.Watch = func(ci ConnInfo) ConnWatch {
			w := &recWatch{info: ci, closed: make(chan struct{})}
			mu.Lock()
			watches = append(watches, w)
			mu.Unlock()
			return w
		}
		o.KeyLogWriter = &lockedBuffer{mu: &mu, b: &keys}
	})
	w := dialWire(t, addr(t, l, 587))
	w.smtpReply()
	expectCode(w, "EHLO client.test", "250")
	expectCode(w, "STARTTLS", "220")
	w.startTLS(clientTLS(l))
	expectCode(w, "EHLO client.test", "250")
	expectCode(w, "QUIT", "221")
	w.conn.Close()

	mu.Lock()
	if len(watches) != 1 {
		mu.Unlock()
		t.Fatalf("%d watches, want 1", len(watches))
	}
	rw := watches[0]
	mu.Unlock()
	select {
	case <-rw.closed:
	case <-time.After(wireTimeout):
		t.Fatal("Closed never called")
	}
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if rw.info.ID != 1 || rw.info.Endpoint.Canonical != 587 || rw.info.Client == "" {
		t.Errorf("info = %+v", rw.info)
	}
	c2s, s2c := rw.c2s.String(), rw.s2c.String()
	if !strings.HasPrefix(c2s, "EHLO client.test\r\nSTARTTLS\r\n\x16\x03") {
		t.Errorf("c2s starts %q", c2s[:min(len(c2s), 40)])
	}
	if !strings.HasPrefix(s2c, "220 ") || !strings.Contains(s2c, "220 2.0.0 Ready to start TLS\r\n\x16\x03") {
		t.Errorf("s2c = %q…", s2c[:min(len(s2c), 200)])
	}
	if strings.Contains(c2s, "QUIT") {
		t.Error("the QUIT inside TLS is readable on the wire")
	}
	mu.Lock()
	defer mu.Unlock()
	for _, label := range []string{"CLIENT_HANDSHAKE_TRAFFIC_SECRET ", "CLIENT_TRAFFIC_SECRET_0 "} {
		if !strings.Contains(keys.String(), label) {
			t.Errorf("key log lacks %s", label)
		}
	}
}

type lockedBuffer struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// TestOtherNameMode: an other-name endpoint's certificate chains to the
// lab CA but names OtherName only, so a client that checks the name
// refuses it whether it asked for Hostname, localhost or 127.0.0.1, and a
// client that asked for OtherName accepts it.
func TestOtherNameMode(t *testing.T) {
	l := startLab(t, nil)
	for _, port := range []int{465, 993, 995} {
		e, err := l.AddEndpoint(port, ModeOtherName)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{Hostname, "localhost", "127.0.0.1"} {
			cfg := &tls.Config{RootCAs: l.RootCAs(), ServerName: name}
			c, err := tls.DialWithDialer(&net.Dialer{Timeout: wireTimeout}, "tcp", e.Addr, cfg)
			var hostErr x509.HostnameError
			if err == nil {
				c.Close()
				t.Errorf("%d %s: a verifying client accepted the other-name certificate", port, name)
			} else if !errors.As(err, &hostErr) {
				t.Errorf("%d %s: %v, want a name mismatch", port, name, err)
			}
		}
		cfg := &tls.Config{RootCAs: l.RootCAs(), ServerName: OtherName}
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: wireTimeout}, "tcp", e.Addr, cfg)
		if err != nil {
			t.Fatalf("%d with SNI %s: %v", port, OtherName, err)
		}
		c.Close()
	}
	// STARTTLS on 587 presents it too; the normal 587 does not.
	e, err := l.AddEndpoint(587, ModeOtherName)
	if err != nil {
		t.Fatal(err)
	}
	w := dialWire(t, e.Addr)
	w.smtpReply()
	expectCode(w, "EHLO client.test", "250")
	expectCode(w, "STARTTLS", "220")
	tc := tls.Client(w.conn, clientTLS(l))
	if err := tc.Handshake(); err == nil {
		t.Error("587 other-name: a verifying client accepted the certificate")
	}
	w2 := dialWire(t, addr(t, l, 587))
	w2.smtpReply()
	expectCode(w2, "EHLO client.test", "250")
	expectCode(w2, "STARTTLS", "220")
	w2.startTLS(clientTLS(l))
}

// smtpCode sends cmd and checks the reply's code.
func expectCode(w *wire, cmd, code string) {
	w.t.Helper()
	w.send(cmd)
	if got := w.smtpReply(); !strings.HasPrefix(got[len(got)-1], code+" ") {
		w.t.Fatalf("%q: got %q, want %s", cmd, got, code)
	}
}
