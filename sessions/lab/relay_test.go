package lab

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// The hops path: authenticated submission on lab A to other.lab.test, lab
// A's Deliver hands the message to lab B's port 25 (STARTTLS, as an MTA
// does), and it lands in lab B's mailbox with both trace headers.
func TestRelayToSecondLab(t *testing.T) {
	b := startLab(t, func(o *Options) { o.LocalDomains = []string{"other.lab.test"} })
	delivered := make(chan error, 1)
	a := startLab(t, func(o *Options) {
		o.Relay = &Relay{Domain: "other.lab.test", Deliver: func(ctx context.Context, env Envelope) error {
			err := deliverSMTP(ctx, addr(t, b, 25), b, env)
			delivered <- err
			return err
		}}
	})

	c, err := smtp.DialStartTLS(addr(t, a, 587), clientTLS(a))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", DemoUser, DemoPassword)); err != nil {
		t.Fatal(err)
	}
	if err := c.SendMail("learner@mail.lab.test", []string{"learner@other.lab.test"},
		strings.NewReader("Subject: two hops\r\n\r\nhello\r\n")); err != nil {
		t.Fatalf("submission: %v", err)
	}
	c.Quit()
	select {
	case err := <-delivered:
		if err != nil {
			t.Fatalf("relay: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery within 10 s")
	}
	body := lastInboxBody(t, b)
	if n := strings.Count(body, "Received: "); n != 2 {
		t.Fatalf("want two Received headers, got %d:\n%s", n, body)
	}
	// Newest first (RFC 5321 §4.4): lab B's over port 25 with STARTTLS and
	// no AUTH, then lab A's over submission with TLS and AUTH.
	first, second := strings.Index(body, "with ESMTPS id"), strings.Index(body, "with ESMTPSA id")
	if first < 0 || second < 0 || first > second {
		t.Errorf("trace headers out of order or missing:\n%s", body)
	}
	if !strings.Contains(body, "Subject: two hops") || !strings.HasPrefix(body, "Return-Path: <learner@mail.lab.test>") {
		t.Errorf("message:\n%s", body)
	}
	// Lab A kept nothing itself: the recipient was not its own.
	if strings.Contains(lastInboxBody(t, a), "two hops") {
		t.Error("lab A delivered the relayed message locally too")
	}
}

// Relay changes nothing for the unauthenticated, for port 25, and for
// other domains; without Relay nothing is relayed at all (limits_relay_test.go).
func TestRelayStillDenied(t *testing.T) {
	calls := make(chan Envelope, 4)
	a := startLab(t, func(o *Options) {
		o.Relay = &Relay{Domain: "other.lab.test", Deliver: func(_ context.Context, env Envelope) error {
			calls <- env
			return nil
		}}
	})
	w := dialWire(t, addr(t, a, 25))
	w.line()
	for _, step := range [][2]string{{"EHLO client.test", "250"}, {"MAIL FROM:<x@client.test>", "250"}, {"RCPT TO:<learner@other.lab.test>", "554 5.7.1"}} {
		w.send(step[0])
		if got := w.smtpReply(); !strings.HasPrefix(got[len(got)-1], step[1]) {
			t.Fatalf("%s: %q, want %s", step[0], got, step[1])
		}
	}

	c, err := smtp.DialStartTLS(addr(t, a, 587), clientTLS(a))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail("learner@mail.lab.test", nil); err != nil {
		t.Fatal(err)
	}
	var se *smtp.SMTPError
	if err := c.Rcpt("learner@other.lab.test", nil); !errors.As(err, &se) || se.Code != 554 {
		t.Errorf("unauthenticated RCPT to the relay domain: %v, want 554", err)
	}
	c.Reset()
	if err := c.Auth(sasl.NewPlainClient("", DemoUser, DemoPassword)); err != nil {
		t.Fatal(err)
	}
	c.Mail("learner@mail.lab.test", nil)
	if err := c.Rcpt("someone@elsewhere.example", nil); !errors.As(err, &se) || se.Code != 554 {
		t.Errorf("authenticated RCPT outside the relay domain: %v, want 554", err)
	}
	select {
	case env := <-calls:
		t.Errorf("Deliver called for %v", env.To)
	default:
	}
}

// Close does not wait for ever on a delivery stuck in Deliver: the
// delivery's context ends with the lab.
func TestRelayCloseCancelsDelivery(t *testing.T) {
	started := make(chan struct{})
	a := startLab(t, func(o *Options) {
		o.Relay = &Relay{Domain: "other.lab.test", Deliver: func(ctx context.Context, _ Envelope) error {
			close(started)
			<-ctx.Done()
			return ctx.Err()
		}}
	})
	c, err := smtp.DialStartTLS(addr(t, a, 587), clientTLS(a))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Auth(sasl.NewPlainClient("", DemoUser, DemoPassword)); err != nil {
		t.Fatal(err)
	}
	if err := c.SendMail("learner@mail.lab.test", []string{"x@other.lab.test"}, strings.NewReader("Subject: s\r\n\r\nb\r\n")); err != nil {
		t.Fatal(err)
	}
	c.Close()
	<-started
	done := make(chan struct{})
	go func() { a.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close waited for a stuck delivery")
	}
}

func TestRelayOptionsValidated(t *testing.T) {
	for _, r := range []*Relay{
		{Domain: "", Deliver: func(context.Context, Envelope) error { return nil }},
		{Domain: "lab.test", Deliver: func(context.Context, Envelope) error { return nil }},
		{Domain: "other.lab.test"},
	} {
		_, err := Start(context.Background(), Options{AnyPort: true, StateDir: t.TempDir(), Relay: r})
		if err == nil {
			t.Errorf("Relay %+v accepted", r)
		}
	}
}

// deliverSMTP is a minimal MTA for the test: STARTTLS (verifying the lab
// CA), then the envelope and data as queued.
func deliverSMTP(ctx context.Context, address string, to *Lab, env Envelope) error {
	c, err := smtp.DialStartTLS(address, clientTLS(to))
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SendMail(env.From, env.To, bytes.NewReader(env.Data)); err != nil {
		return err
	}
	return c.Quit()
}
