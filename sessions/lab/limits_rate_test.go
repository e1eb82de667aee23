package lab

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

func TestTokenBucket(t *testing.T) {
	t0 := time.Unix(1000, 0)
	b := newTokenBucket(2, 3, t0) // 2 per second, burst 3
	for i := range 3 {
		if !b.take(t0) {
			t.Fatalf("take %d of the burst refused", i+1)
		}
	}
	if b.take(t0) {
		t.Fatal("a fourth take at once allowed")
	}
	// Half a second refills one token (2/s).
	if !b.take(t0.Add(500 * time.Millisecond)) {
		t.Fatal("refill after 500ms refused")
	}
	if b.take(t0.Add(500 * time.Millisecond)) {
		t.Fatal("second take after one refill allowed")
	}
	// A long pause refills to the burst, never beyond.
	later := t0.Add(time.Hour)
	for i := range 3 {
		if !b.take(later) {
			t.Fatalf("after an hour, take %d refused", i+1)
		}
	}
	if b.take(later) {
		t.Fatal("bucket refilled beyond its burst")
	}
	// A clock going backwards refills nothing and breaks nothing.
	if b.take(t0) {
		t.Fatal("time going backwards refilled the bucket")
	}
}

// rateBurst is the burst the flood tests use; the refill rate is so low
// (one command per 100 s) that no token comes back while a test runs, so the
// count is exact.
const (
	rateBurst = 8
	rateSlow  = 0.01
)

func startRateLab(t *testing.T) *Lab {
	return startLab(t, func(o *Options) {
		o.Limits.CommandRate = rateSlow
		o.Limits.CommandBurst = rateBurst
	})
}

// TestCommandRateEveryProtocol: on every mail port and in each TLS state, a
// client gets exactly the burst of commands answered, and then, without sending anything more, its protocol's
// refusal and the close.
func TestCommandRateEveryProtocol(t *testing.T) {
	const (
		smtpRefusal = "421 4.7.0 " + Hostname + " Error: too many commands"
		pop3Refusal = "-ERR [SYS/TEMP] Too many commands"
		imapRefusal = "* BYE Too many commands"
	)
	type step func(w *wire)
	smtpNoop := func(w *wire) { w.expectSMTP("NOOP", "250 2.0.0 I have successfully done nothing") }
	pop3Capa := func(w *wire) {
		if got, _ := w.pop3Capa(); got != "+OK" {
			w.t.Fatalf("CAPA: %q", got)
		}
	}
	imapNoop := func(w *wire) {
		if got := w.imapCmd("n", "NOOP"); !strings.HasPrefix(got[len(got)-1], "n OK") {
			w.t.Fatalf("NOOP: %q", got)
		}
	}

	cases := []struct {
		name string
		port int
		tls  bool // implicit TLS
		// setup reads the greeting, runs the commands that bring the
		// session to the state under test and returns how many it sent.
		setup   func(t *testing.T, l *Lab, w *wire) int
		cmd     step
		refusal string // the farewell line, inside TLS when there is TLS
	}{
		{"smtp 25 cleartext", 25, false, func(t *testing.T, l *Lab, w *wire) int { w.smtpReply(); return 0 }, smtpNoop, smtpRefusal},
		{"smtp 587 after STARTTLS", 587, false, func(t *testing.T, l *Lab, w *wire) int {
			w.smtpReply()
			w.expectSMTP("EHLO client.test", "250 LIMITS RCPTMAX=50")
			w.expectSMTP("STARTTLS", "220 2.0.0 Ready to start TLS")
			w.startTLS(clientTLS(l))
			w.expectSMTP("EHLO client.test", "250 LIMITS RCPTMAX=50")
			w.expectSMTP("AUTH PLAIN "+plainGood, "235 2.7.0 Authentication successful")
			return 4
		}, smtpNoop, smtpRefusal},
		{"smtp 465 before EHLO", 465, true, func(t *testing.T, l *Lab, w *wire) int { w.smtpReply(); return 0 }, smtpNoop, smtpRefusal},
		{"pop3 110 cleartext", 110, false, func(t *testing.T, l *Lab, w *wire) int { w.line(); return 0 }, pop3Capa, pop3Refusal},
		{"pop3 995", 995, true, func(t *testing.T, l *Lab, w *wire) int { w.line(); return 0 }, pop3Capa, pop3Refusal},
		{"pop3 110 after STLS", 110, false, func(t *testing.T, l *Lab, w *wire) int {
			w.line()
			w.send("STLS")
			if got := w.line(); got != "+OK Begin TLS negotiation" {
				t.Fatalf("STLS: %q", got)
			}
			w.startTLS(clientTLS(l))
			return 1
		}, pop3Capa, pop3Refusal},
		{"imap 143 cleartext", 143, false, func(t *testing.T, l *Lab, w *wire) int { w.line(); return 0 }, imapNoop, imapRefusal},
		{"imap 993", 993, true, func(t *testing.T, l *Lab, w *wire) int { w.line(); return 0 }, imapNoop, imapRefusal},
		{"imap 143 after STARTTLS", 143, false, func(t *testing.T, l *Lab, w *wire) int {
			w.line()
			if got := w.imapCmd("s", "STARTTLS"); !strings.HasPrefix(got[len(got)-1], "s OK") {
				t.Fatalf("STARTTLS: %q", got)
			}
			w.startTLS(clientTLS(l))
			return 1
		}, imapNoop, imapRefusal},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := startRateLab(t)
			var w *wire
			if tc.tls {
				w = dialWireTLS(t, addr(t, l, tc.port), clientTLS(l))
			} else {
				w = dialWire(t, addr(t, l, tc.port))
			}
			w.t = t
			used := tc.setup(t, l, w)
			for range rateBurst - used {
				tc.cmd(w)
			}
			// The burst is spent: the refusal comes unasked, before the
			// client sends anything more (so no unread command makes the
			// close a reset that could eat the line).
			if got := w.line(); got != tc.refusal {
				t.Fatalf("after %d commands: %q, want %q", rateBurst, got, tc.refusal)
			}
			w.expectClosed(3 * time.Second)
			waitFor(t, func() bool { return l.conns.openCount() == 0 })
		})
	}
}

// TestCommandRatePipelinedFlood: a client that pipelines (RFC 2920) far more
// commands than its burst in one write gets the burst answered and the
// refusal; the flood costs the lab exactly the burst.
func TestCommandRatePipelinedFlood(t *testing.T) {
	l := startRateLab(t)
	w := dialWire(t, addr(t, l, 25))
	w.smtpReply()
	flood := strings.Repeat("NOOP\r\n", 500)
	if _, err := w.conn.Write([]byte(flood)); err != nil {
		t.Fatalf("write flood: %v", err)
	}
	answered := 0
	for {
		line, err := w.r.ReadString('\n')
		if err != nil {
			// The unread rest of the flood may turn the close into a
			// reset; what was answered before it is what counts.
			break
		}
		line = strings.TrimRight(line, "\r\n")
		if strings.HasPrefix(line, "250 ") {
			answered++
			continue
		}
		if line != "421 4.7.0 "+Hostname+" Error: too many commands" {
			t.Fatalf("unexpected line %q", line)
		}
		break
	}
	if answered > rateBurst {
		t.Fatalf("%d NOOPs answered, want at most %d", answered, rateBurst)
	}
	waitFor(t, func() bool { return l.conns.openCount() == 0 })
}

// TestCommandRateSteadyClient: a client below the rate is never cut off,
// however long it goes on; a slow machine only makes it slower, which the
// bucket allows all the more.
func TestCommandRateSteadyClient(t *testing.T) {
	l := startLab(t, func(o *Options) {
		o.Limits.CommandRate = 20 // one token per 50 ms
		o.Limits.CommandBurst = 2
	})
	w := dialWireTLS(t, addr(t, l, 993), clientTLS(l))
	w.line()
	for range 12 {
		time.Sleep(100 * time.Millisecond)
		if got := w.imapCmd("n", "NOOP"); got[len(got)-1] != "n OK NOOP completed" {
			t.Fatalf("NOOP: %q", got)
		}
	}
}

// TestCommandRateDataNotCounted: the lines of a message (SMTP DATA) are one
// command, not one per line, so a large message is never a flood.
func TestCommandRateDataNotCounted(t *testing.T) {
	l := startLab(t, func(o *Options) {
		o.Limits.CommandRate = rateSlow
		o.Limits.CommandBurst = 10
	})
	w := dialWire(t, addr(t, l, 25))
	w.smtpReply()                                             // 1
	w.expectSMTP("EHLO client.test", "250 LIMITS RCPTMAX=50") // 2
	w.expectSMTP("MAIL FROM:<someone@example.net>", "250 2.0.0 Roger, accepting mail from <someone@example.net>")
	w.expectSMTP("RCPT TO:<learner@lab.test>", "250 2.0.0 I'll make sure <learner@lab.test> gets this")
	w.expectSMTP("DATA", "354 Go ahead. End your data with <CR><LF>.<CR><LF>") // 5
	w.send("Subject: many lines\r\n")
	for range 200 {
		w.send("a line of the body")
	}
	w.send(".")
	expectQueued(w) // 6
	w.expectSMTP("QUIT", "221 2.0.0 Bye")
}

func TestCommandLimitsValidated(t *testing.T) {
	for _, mod := range []func(*Limits){
		func(l *Limits) { l.CommandRate = -1 },
		func(l *Limits) { l.CommandBurst = -1 },
	} {
		lim := DefaultLimits()
		mod(&lim)
		if err := lim.validate(); err == nil {
			t.Errorf("%+v validated", lim)
		}
	}
	got := Limits{}.withDefaults()
	if got.CommandRate != DefaultLimits().CommandRate || got.CommandBurst != DefaultLimits().CommandBurst {
		t.Errorf("zero command limits take %+v", got)
	}
}

func TestErrTooManyCommandsIsClosed(t *testing.T) {
	// go-smtp and the POP3 server end quietly on net.ErrClosed instead of
	// writing their own "connection error" after the lab's refusal.
	if !errors.Is(errTooManyCommands, net.ErrClosed) {
		t.Fatal("errTooManyCommands does not wrap net.ErrClosed")
	}
}
