package lab

import (
	"bytes"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestMsgBudget(t *testing.T) {
	b := newMsgBudget(100, 60)
	if !b.take("a", 60) || b.take("a", 1) {
		t.Fatal("per-client budget of 60 not enforced")
	}
	if !b.take("b", 40) || b.take("c", 1) {
		t.Fatal("total budget of 100 not enforced")
	}
	b.give("a", 60)
	if !b.take("c", 60) {
		t.Fatal("a's 60 not given back")
	}
	b.give("b", 40)
	b.give("c", 60)
	if b.used != 0 || len(b.byClient) != 0 {
		t.Fatalf("used %d, by client %v after everything was given back", b.used, b.byClient)
	}
	if charge(msgFreeBytes) != 0 || charge(msgFreeBytes+10) != msgCopies*10 {
		t.Error("charge: the free allowance is not free, or the rest not charged msgCopies times")
	}
	// With the defaults, one full-size message fits a client's budget and
	// two fit the lab's; a second at once from one client, or a third in
	// all, does not.
	full := charge(DefaultLimits().MaxMessageBytes)
	if full > msgBudgetPerClient || 2*full <= msgBudgetPerClient || 2*full > msgBudgetTotal || 3*full <= msgBudgetTotal {
		t.Errorf("a full message charges %d: per client %d, total %d", full, msgBudgetPerClient, msgBudgetTotal)
	}
}

func TestMsgBudgetReceive(t *testing.T) {
	errBig := errors.New("too big")
	b := newMsgBudget(1<<30, 1<<30)
	var buf bytes.Buffer
	buf.WriteString("head:")
	release, err := b.receive("a", &buf, strings.NewReader(strings.Repeat("x", msgFreeBytes+1000)), 1<<20, errBig)
	if err != nil || buf.Len() != 5+msgFreeBytes+1000 || !strings.HasPrefix(buf.String(), "head:x") {
		t.Fatalf("receive: %v, %d bytes", err, buf.Len())
	}
	if b.used != msgCopies*1000 {
		t.Errorf("charged %d, want %d", b.used, msgCopies*1000)
	}
	release()
	if b.used != 0 {
		t.Errorf("%d still charged after release", b.used)
	}

	_, err = b.receive("a", new(bytes.Buffer), strings.NewReader(strings.Repeat("x", 2000)), 1000, errBig)
	if err != errBig {
		t.Errorf("over the limit: %v", err)
	}

	small := newMsgBudget(msgCopies*500, msgCopies*500)
	release, err = small.receive("a", new(bytes.Buffer), strings.NewReader(strings.Repeat("x", msgFreeBytes+501)), 1<<20, errBig)
	if err != errNoBudget {
		t.Errorf("over the budget: %v", err)
	}
	release()
	if small.used != 0 {
		t.Errorf("%d still charged after a refusal", small.used)
	}
}

// dataFrom opens an authenticated submission session on 465 from src and
// starts a transaction to the demo user, ready for DATA.
func dataFrom(t *testing.T, l *Lab, src byte) *wire {
	t.Helper()
	d := net.Dialer{Timeout: wireTimeout, LocalAddr: &net.TCPAddr{IP: ip4(src)}}
	c, err := d.Dial("tcp", addr(t, l, 465))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	w := newWire(t, c)
	w.startTLS(clientTLS(l))
	w.conn.SetDeadline(time.Now().Add(wireTimeout))
	w.smtpReply()
	w.expectSMTP("EHLO budget.invalid", "250 LIMITS RCPTMAX=50")
	w.expectSMTP("AUTH PLAIN AGxlYXJuZXIAY29ycmVjdC1ob3JzZQ==", "235 2.7.0 Authentication successful")
	w.expectSMTP("MAIL FROM:<"+DemoUser+"@"+Hostname+">", "250 2.0.0 Roger, accepting mail from <"+DemoUser+"@"+Hostname+">")
	w.expectSMTP("RCPT TO:<"+DemoUser+"@"+Hostname+">", "250 2.0.0 I'll make sure <"+DemoUser+"@"+Hostname+"> gets this")
	w.expectSMTP("DATA", "354 Go ahead. End your data with <CR><LF>.<CR><LF>")
	return w
}

// body is a message of n bytes of 76-character lines.
func body(n int) string {
	line := strings.Repeat("b", 74) + "\r\n"
	return "Subject: budget\r\n\r\n" + strings.Repeat(line, n/len(line))
}

// TestMessageBudgetSMTPAndIMAP: large messages arriving at once are
// refused as a temporary failure once they would go over the lab's or a
// client's budget (452 4.3.1 for SMTP, NO [UNAVAILABLE] for IMAP APPEND),
// the session goes on, and the budget is given back.
func TestMessageBudgetSMTPAndIMAP(t *testing.T) {
	l := startLab(t, nil)
	const kib = 1 << 10
	// 400 KiB messages charge 5×272 KiB = 1360 KiB each; go-smtp holds
	// back the last line until it knows the message goes on, so one in
	// flight, not finished, has charged at least 1200 KiB.
	l.store.budget = newMsgBudget(3000*kib, 1500*kib)
	big := body(400 * kib)

	// A: one message in flight, not finished.
	a := dataFrom(t, l, 81)
	a.conn.Write([]byte(big))
	waitFor(t, func() bool {
		l.store.budget.mu.Lock()
		defer l.store.budget.mu.Unlock()
		return l.store.budget.used >= 1200*kib
	})
	// A second from A's address: over its 1500 KiB.
	a2 := dataFrom(t, l, 81)
	a2.conn.Write([]byte(big + ".\r\n"))
	a2.expectSMTP("", "452 4.3.1 Insufficient system storage")
	// The session goes on: a small message still goes through.
	a2.expectSMTP("MAIL FROM:<"+DemoUser+"@"+Hostname+">", "250 2.0.0 Roger, accepting mail from <"+DemoUser+"@"+Hostname+">")
	a2.expectSMTP("RCPT TO:<"+DemoUser+"@"+Hostname+">", "250 2.0.0 I'll make sure <"+DemoUser+"@"+Hostname+"> gets this")
	a2.expectSMTP("DATA", "354 Go ahead. End your data with <CR><LF>.<CR><LF>")
	a2.send("Subject: small\r\n\r\nfits in the free allowance\r\n.")
	if got := a2.smtpReply(); !strings.HasPrefix(got[0], "250 2.0.0 OK: queued as ") {
		t.Fatalf("small message after the refusal: %q", got)
	}

	// B, another address: fits the total (2 × 1360 KiB ≤ 3000 KiB).
	b := dataFrom(t, l, 82)
	b.conn.Write([]byte(big))
	waitFor(t, func() bool {
		l.store.budget.mu.Lock()
		defer l.store.budget.mu.Unlock()
		return l.store.budget.used >= 2400*kib
	})
	// C over IMAP: a third would pass 3000 KiB.
	c := dialWireTLS(t, addr(t, l, 993), clientTLS(l))
	c.line()
	c.imapCmd("l", "LOGIN "+DemoUser+" "+DemoPassword)
	c.send("p APPEND Drafts {" + strconv.Itoa(len(big)) + "}")
	if got := c.line(); !strings.HasPrefix(got, "+") {
		t.Fatalf("APPEND literal: %q", got)
	}
	c.conn.Write([]byte(big + "\r\n"))
	if got := c.line(); got != "p NO [UNAVAILABLE] Too many large messages are being received at once; try again shortly" {
		t.Fatalf("APPEND over the budget: %q", got)
	}

	// A and B finish: stored, and the budget is back to nothing.
	for _, w := range []*wire{a, b} {
		w.send(".")
		if got := w.smtpReply(); !strings.HasPrefix(got[0], "250 2.0.0 OK: queued as ") {
			t.Fatalf("message in flight: %q", got)
		}
	}
	waitFor(t, func() bool {
		l.store.budget.mu.Lock()
		defer l.store.budget.mu.Unlock()
		return l.store.budget.used == 0 && len(l.store.budget.byClient) == 0
	})
	// Now the APPEND fits.
	c.send("q APPEND Drafts {" + strconv.Itoa(len(big)) + "}")
	if got := c.line(); !strings.HasPrefix(got, "+") {
		t.Fatalf("APPEND literal: %q", got)
	}
	c.conn.Write([]byte(big + "\r\n"))
	if got := c.line(); !strings.HasPrefix(got, "q OK") {
		t.Fatalf("APPEND after the budget came back: %q", got)
	}
}
