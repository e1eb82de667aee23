package lab

import (
	"net"
	"strings"
	"testing"
	"time"
)

func TestMaxConnsTotal(t *testing.T) {
	l := startLab(t, func(o *Options) {
		o.Limits.MaxConns = 2
		o.Limits.MaxConnsPerClient = 10
	})
	a := dialWire(t, addr(t, l, 25))
	a.smtpReply()
	b := dialWire(t, addr(t, l, 143))
	b.line()

	over := dialWire(t, addr(t, l, 587))
	if got := over.line(); got != "421 4.7.0 Too many connections" {
		t.Fatalf("SMTP over the cap: %q", got)
	}
	over.expectClosed(2 * time.Second)

	over = dialWire(t, addr(t, l, 143))
	if got := over.line(); got != "* BYE Too many connections" {
		t.Fatalf("IMAP over the cap: %q", got)
	}
	over.expectClosed(2 * time.Second)

	// Implicit TLS: the refusal comes inside TLS.
	over = dialWireTLS(t, addr(t, l, 993), clientTLS(l))
	if got := over.line(); got != "* BYE Too many connections" {
		t.Fatalf("IMAPS over the cap: %q", got)
	}
	over = dialWireTLS(t, addr(t, l, 465), clientTLS(l))
	if got := over.line(); got != "421 4.7.0 Too many connections" {
		t.Fatalf("SMTPS over the cap: %q", got)
	}
	over = dialWire(t, addr(t, l, 110))
	if got := over.line(); got != "-ERR [SYS/TEMP] Too many connections" {
		t.Fatalf("POP3 over the cap: %q", got)
	}

	// Closing one frees its slot.
	a.expectSMTP("QUIT", "221 2.0.0 Bye")
	waitFor(t, func() bool { return l.conns.openCount() == 1 })
	c := dialWire(t, addr(t, l, 25))
	if got := c.smtpReply(); !strings.HasPrefix(got[0], "220 ") {
		t.Fatalf("after a slot freed: %q", got)
	}
}

func TestMaxConnsPerClient(t *testing.T) {
	l := startLab(t, func(o *Options) {
		o.Limits.MaxConns = 10
		o.Limits.MaxConnsPerClient = 1
	})
	first := dialWire(t, addr(t, l, 25))
	first.smtpReply()
	second := dialWire(t, addr(t, l, 25))
	if got := second.line(); got != "421 4.7.0 Too many connections" {
		t.Fatalf("second connection from 127.0.0.1: %q", got)
	}
	// Another client address (all of 127/8 is loopback on Linux) still
	// gets in.
	d := net.Dialer{Timeout: wireTimeout, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
	conn, err := d.Dial("tcp", addr(t, l, 25))
	if err != nil {
		t.Skipf("cannot dial from 127.0.0.2: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	other := newWire(t, conn)
	if got := other.smtpReply(); !strings.HasPrefix(got[0], "220 ") {
		t.Fatalf("connection from 127.0.0.2: %q", got)
	}
}

func TestIdleTimeout(t *testing.T) {
	l := startLab(t, func(o *Options) {
		o.Limits.IdleTimeout = 300 * time.Millisecond
		o.Limits.IMAPIdleTimeout = 300 * time.Millisecond
	})

	smtp := dialWire(t, addr(t, l, 587))
	smtp.smtpReply()
	start := time.Now()
	if got := smtp.line(); got != "421 4.4.2 Idle timeout, bye bye" {
		t.Fatalf("SMTP idle: %q", got)
	}
	smtp.expectClosed(2 * time.Second)
	// The server's clock started before the greeting reached us, so the
	// lower bound leaves room for a loaded machine.
	if d := time.Since(start); d < 150*time.Millisecond || d > 3*time.Second {
		t.Errorf("SMTP idle disconnect after %v", d)
	}

	// go-imap itself would wait 30 s (35 min once logged in); the lab's
	// connection wrapper cuts it to IMAPIdleTimeout.
	imapc := dialWire(t, addr(t, l, 143))
	imapc.line()
	start = time.Now()
	imapc.expectClosed(3 * time.Second)
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("IMAP idle disconnect after %v", d)
	}

	// A client that keeps talking is not idle.
	busy := dialWire(t, addr(t, l, 25))
	busy.smtpReply()
	for range 5 {
		time.Sleep(100 * time.Millisecond)
		busy.expectSMTP("NOOP", "250 2.0.0 I have successfully done nothing")
	}
}

func TestMaxSessionTime(t *testing.T) {
	l := startLab(t, func(o *Options) { o.Limits.MaxSessionTime = 400 * time.Millisecond })
	w := dialWire(t, addr(t, l, 25))
	w.smtpReply()
	start := time.Now()
	// A busy client is never idle, but its session still ends: the lab
	// closes the connection (writes are cut off too, so there may be no
	// farewell line).
	for time.Since(start) < 3*time.Second {
		time.Sleep(50 * time.Millisecond)
		if _, err := w.conn.Write([]byte("NOOP\r\n")); err != nil {
			break
		}
		line, err := w.r.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "250 ") {
			break
		}
	}
	w.expectClosed(2 * time.Second)
	if d := time.Since(start); d < 200*time.Millisecond || d > 2*time.Second {
		t.Errorf("session lasted %v, want about 400ms", d)
	}
}

func TestLineLength(t *testing.T) {
	l := startLab(t, func(o *Options) { o.Limits.MaxLineLength = 100 })
	w := dialWire(t, addr(t, l, 25))
	w.smtpReply()
	w.send("NOOP " + strings.Repeat("A", 200))
	if got := w.line(); got != "500 5.4.0 Too long line, closing connection" {
		t.Fatalf("long line: %q", got)
	}
	w.expectClosed(2 * time.Second)
}

func TestMessageSize(t *testing.T) {
	l := startLab(t, func(o *Options) { o.Limits.MaxMessageBytes = 1000 })
	w := dialWireTLS(t, addr(t, l, 465), clientTLS(l))
	w.smtpReply()
	ehlo := w.expectSMTP("EHLO client.test", "250 LIMITS RCPTMAX=50")
	if !hasLine(ehlo, "SIZE 1000") {
		t.Fatalf("EHLO %q lacks SIZE 1000 (RFC 1870)", ehlo)
	}
	w.expectSMTP("AUTH PLAIN "+plainGood, "235 2.7.0 Authentication successful")
	// RFC 1870 §6.2: a declared size over the limit is refused at MAIL.
	w.expectSMTP("MAIL FROM:<learner@lab.test> SIZE=5000", "552 5.3.4 Max message size exceeded")
	w.expectSMTP("MAIL FROM:<learner@lab.test>", "250 2.0.0 Roger, accepting mail from <learner@lab.test>")
	w.expectSMTP("RCPT TO:<learner@lab.test>", "250 2.0.0 I'll make sure <learner@lab.test> gets this")
	w.expectSMTP("DATA", "354 Go ahead. End your data with <CR><LF>.<CR><LF>")
	for range 30 {
		w.send("Subject: big " + strings.Repeat("y", 60))
	}
	w.send(".")
	w.expectSMTP("", "552 5.3.4 Maximum message size exceeded")
	// The session goes on.
	w.expectSMTP("NOOP", "250 2.0.0 I have successfully done nothing")
	if n := len(inboxSubjects(t, l)); n != 3 {
		t.Errorf("INBOX holds %d messages, want only the 3 seeded", n)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 3s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
