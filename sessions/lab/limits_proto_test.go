package lab

import (
	"io"
	"strings"
	"testing"
	"time"
)

// The caps of limits_test.go are tested there on SMTP; these prove the same
// Limits reach POP3 and IMAP as the lab wires them (pop3_test.go tests
// ServePOP3 on its own, with its own configuration).

func TestPOP3LabLineLength(t *testing.T) {
	l := startLab(t, func(o *Options) { o.Limits.MaxLineLength = 100 })
	w := dialWireTLS(t, addr(t, l, 995), clientTLS(l))
	w.line()
	w.send("USER " + strings.Repeat("u", 80)) // under 100 octets: fine
	if got := w.line(); !strings.HasPrefix(got, "+OK") {
		t.Fatalf("USER under the limit: %q", got)
	}
	w.send("USER " + strings.Repeat("u", 200))
	if got := w.line(); got != "-ERR line too long" {
		t.Fatalf("USER over the limit: %q", got)
	}
	w.expectClosed(2 * time.Second)
}

// A silent POP3 client is told why it is cut off: inactivity when its idle
// timer runs out (RFC 1939 §3), the lab's cap when MaxSessionTime does
// first (its 10-minute idle timer had not run out).
func TestPOP3LabTimeoutFarewells(t *testing.T) {
	for _, tc := range []struct {
		name   string
		limits func(*Limits)
		want   string
	}{
		{"idle", func(l *Limits) { l.POP3IdleTimeout = 300 * time.Millisecond }, "-ERR Disconnected for inactivity."},
		{"session cap", func(l *Limits) { l.MaxSessionTime = 300 * time.Millisecond }, "-ERR Session time limit reached, disconnecting."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := startLab(t, func(o *Options) { tc.limits(&o.Limits) })
			w := dialWire(t, addr(t, l, 110))
			w.line()
			if got := w.line(); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			w.expectClosed(2 * time.Second)
		})
	}
}

// TestSessionTimeEveryProtocol: a client that keeps busy is still
// disconnected MaxSessionTime after it connected, on SMTP (inside TLS), POP3
// and IMAP alike.
func TestSessionTimeEveryProtocol(t *testing.T) {
	cases := []struct {
		port int
		tls  bool
		cmd  string
	}{
		{465, true, "NOOP"},
		{995, true, "CAPA"}, // known in every state: no unknown-command count
		{143, false, "n NOOP"},
		{993, true, "n NOOP"},
	}
	l := startLab(t, func(o *Options) {
		o.Limits.MaxSessionTime = 400 * time.Millisecond
		o.Limits.CommandBurst = 1000 // the rate limit is not under test
	})
	for _, tc := range cases {
		var w *wire
		if tc.tls {
			w = dialWireTLS(t, addr(t, l, tc.port), clientTLS(l))
		} else {
			w = dialWire(t, addr(t, l, tc.port))
		}
		w.line()
		start := time.Now()
		closed := false
		// Nothing else would end these sessions within seconds (the idle
		// timeout is 5 minutes and the client is never idle), so a close
		// at all proves the cap.
		for time.Since(start) < 3*time.Second {
			time.Sleep(50 * time.Millisecond)
			if _, err := w.conn.Write([]byte(tc.cmd + "\r\n")); err != nil {
				closed = true
				break
			}
			// Drain what came back; a read error is the close.
			w.conn.SetReadDeadline(time.Now().Add(time.Second))
			buf := make([]byte, 4096)
			if _, err := w.r.Read(buf); err != nil {
				closed = true
				break
			}
		}
		if !closed {
			w.expectClosed(2 * time.Second)
		}
	}
}

// TestIMAPLabLongCommand: IMAP uses go-imap's own bound on a command (50
// KiB, RFC 2683 §3.2.1.5 asks for at least 8 KiB) instead of MaxLineLength,
// as IMAP commands legitimately carry long sequence sets. A longer one ends
// the connection, and the lab is not harmed.
func TestIMAPLabLongCommand(t *testing.T) {
	l := startLab(t, nil)
	w := dialWireTLS(t, addr(t, l, 993), clientTLS(l))
	w.line()
	// 20 KiB is within the bound: an answer (BAD: no such command).
	if got := w.imapCmd("a", "X"+strings.Repeat("Y", 20<<10)); !strings.HasPrefix(got[len(got)-1], "a BAD") {
		t.Fatalf("20 KiB command: %q", got)
	}
	// 200 KiB is not: the connection ends without the lab reading it all.
	go w.conn.Write([]byte("b X" + strings.Repeat("Y", 200<<10) + "\r\n"))
	w.conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	n, err := io.Copy(io.Discard, w.r)
	if err != nil && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("after a 200 KiB command: %v (read %d bytes)", err, n)
	}
	waitFor(t, func() bool { return l.conns.openCount() == 0 })
	// The lab still serves.
	w2 := dialWireTLS(t, addr(t, l, 993), clientTLS(l))
	if got := w2.line(); !strings.HasPrefix(got, "* OK") {
		t.Fatalf("greeting after the long command: %q", got)
	}
}
