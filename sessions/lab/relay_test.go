package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// The hops path: authenticated submission on lab A to other.lab.test, lab
// A's Deliver hands the message to lab B's port 25 (STARTTLS, as an MTA
// does), and it lands in lab B's mailbox with both trace headers. The two
// labs start at once on one fresh state directory, as the scenario starts
// them, and so share one CA.
func TestRelayToSecondLab(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	delivered := make(chan Envelope, 1)
	var b *Lab // set before any message is submitted to a
	optsA := Options{ListenHost: "127.0.0.1", AnyPort: true, StateDir: dir, Logf: t.Logf,
		Relay: &Relay{Domain: "other.lab.test", Deliver: func(ctx context.Context, env Envelope) error {
			if err := deliverSMTP(ctx, addr(t, b, 25), b, env); err != nil {
				return err
			}
			delivered <- env
			return nil
		}}}
	optsB := Options{ListenHost: "127.0.0.1", AnyPort: true, StateDir: dir, Logf: t.Logf,
		LocalDomains: []string{"other.lab.test"}}
	labs := make([]*Lab, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, o := range []Options{optsA, optsB} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			labs[i], errs[i] = Start(context.Background(), o)
		}()
	}
	wg.Wait()
	for i, l := range labs {
		if l != nil {
			t.Cleanup(func() { l.Close() })
		}
		if errs[i] != nil {
			t.Fatalf("lab %c: %v", 'A'+i, errs[i])
		}
	}
	a, b := labs[0], labs[1]
	if !bytes.Equal(a.CACertPEM(), b.CACertPEM()) {
		t.Fatal("two labs on one state directory made two CAs")
	}

	c, err := smtp.DialStartTLS(addr(t, a, 587), clientTLS(a))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", DemoUser, DemoPassword)); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("learner@mail.lab.test", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("learner@other.lab.test", nil); err != nil {
		t.Fatalf("authenticated RCPT to the relay domain: %v", err)
	}
	wc, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(wc, "Subject: two hops\r\n\r\nhello\r\n")
	resp, err := wc.CloseWithResponse()
	if err != nil {
		t.Fatalf("end of DATA: %v", err)
	}
	c.Quit()
	var env Envelope
	select {
	case env = <-delivered:
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery within 10 s")
	}
	if want := "2.0.0 OK: queued as " + env.ID; resp.StatusText != want {
		t.Errorf("end of DATA said %q, want %q", resp.StatusText, want)
	}
	if env.From != "learner@mail.lab.test" || len(env.To) != 1 || env.To[0] != "learner@other.lab.test" {
		t.Errorf("envelope %q → %q", env.From, env.To)
	}
	body := lastInboxBody(t, b)
	if n := strings.Count(body, "Received: "); n != 2 {
		t.Fatalf("want two Received headers, got %d:\n%s", n, body)
	}
	// Newest first (RFC 5321 §4.4): lab B's over port 25 with STARTTLS and
	// no AUTH, then lab A's over submission with TLS and AUTH, carrying the
	// queue ID lab A answered with. Both name the TLS version.
	first := strings.Index(body, "with ESMTPS id ")
	second := strings.Index(body, "with ESMTPSA id "+env.ID+" for <learner@other.lab.test>\r\n\t(using TLS 1.3")
	if first < 0 || second < 0 || first > second || strings.Count(body, "(using TLS 1.3") != 2 {
		t.Errorf("trace headers out of order or missing:\n%s", body)
	}
	if !strings.Contains(body, "Subject: two hops") || !strings.HasPrefix(body, "Return-Path: <learner@mail.lab.test>\r\n") ||
		strings.Count(body, "Return-Path:") != 1 {
		t.Errorf("message:\n%s", body)
	}
	// Lab A kept nothing itself: the recipient was not its own.
	if strings.Contains(lastInboxBody(t, a), "two hops") {
		t.Error("lab A delivered the relayed message locally too")
	}
}

// One message to a local and a relayed recipient: the local copy goes to
// the store at once (with its own Return-Path), the relayed one to Deliver
// with only the relayed recipient in its envelope.
func TestRelayMixedRecipients(t *testing.T) {
	got := make(chan Envelope, 1)
	a := startLab(t, func(o *Options) {
		o.Relay = &Relay{Domain: "other.lab.test", Deliver: func(_ context.Context, env Envelope) error {
			got <- env
			return nil
		}}
	})
	w := submitWire(t, a)
	w.expectSMTP("MAIL FROM:<learner@mail.lab.test>", "250 2.0.0 Roger, accepting mail from <learner@mail.lab.test>")
	w.expectSMTP("RCPT TO:<learner@lab.test>", "250 2.0.0 I'll make sure <learner@lab.test> gets this")
	w.expectSMTP("RCPT TO:<friend@OTHER.lab.test>", "250 2.0.0 I'll make sure <friend@OTHER.lab.test> gets this")
	w.expectSMTP("DATA", "354 Go ahead. End your data with <CR><LF>.<CR><LF>")
	w.send("Subject: mixed\r\n\r\nboth ways\r\n.")
	id := expectQueued(w)

	var env Envelope
	select {
	case env = <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("Deliver not called")
	}
	if env.ID != id || len(env.To) != 1 || env.To[0] != "friend@OTHER.lab.test" {
		t.Errorf("envelope %s %q, want %s [friend@OTHER.lab.test]", env.ID, env.To, id)
	}
	data := string(env.Data)
	if !strings.HasPrefix(data, "Received: from client.test") || strings.Contains(data, "Return-Path") ||
		!strings.Contains(data, " id "+id+" for <friend@OTHER.lab.test>") || !strings.HasSuffix(data, "both ways\r\n") {
		t.Errorf("queued data:\n%s", data)
	}
	local := lastInboxBody(t, a)
	// Each copy's Received names only its own recipient: the local one
	// does not disclose the relayed one (RFC 5321 §4.4, §7.2).
	if !strings.Contains(local, "Subject: mixed") || !strings.Contains(local, " id "+id+" for <learner@lab.test>\r\n") || strings.Contains(local, "friend@") {
		t.Errorf("local copy:\n%s", local)
	}
}

// Deliveries are bounded: with MaxRelayInFlight stuck in Deliver, the next
// message gets a temporary 451 and nothing is stored, not even for its
// local recipient, so the client's retry does not duplicate it.
func TestRelayBusy(t *testing.T) {
	release := make(chan struct{})
	var calls atomic.Int32
	a := startLab(t, func(o *Options) {
		o.Relay = &Relay{Domain: "other.lab.test", Deliver: func(ctx context.Context, _ Envelope) error {
			calls.Add(1)
			select {
			case <-release:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}}
	})
	w := submitWire(t, a)
	send := func(subject string) []string {
		w.expectSMTP("MAIL FROM:<learner@mail.lab.test>", "250 2.0.0 Roger, accepting mail from <learner@mail.lab.test>")
		w.expectSMTP("RCPT TO:<learner@lab.test>", "250 2.0.0 I'll make sure <learner@lab.test> gets this")
		w.expectSMTP("RCPT TO:<x@other.lab.test>", "250 2.0.0 I'll make sure <x@other.lab.test> gets this")
		w.expectSMTP("DATA", "354 Go ahead. End your data with <CR><LF>.<CR><LF>")
		w.send("Subject: " + subject + "\r\n\r\nb\r\n.")
		return w.smtpReply()
	}
	for i := range MaxRelayInFlight {
		if got := send(fmt.Sprint("busy ", i)); !queuedReply.MatchString(got[len(got)-1]) {
			t.Fatalf("message %d: %q", i, got)
		}
	}
	if got := send("one too many"); got[len(got)-1] != "451 4.3.0 Error: too many messages being relayed, try again later" {
		t.Fatalf("message over the bound: %q", got)
	}
	if strings.Contains(lastInboxBody(t, a), "one too many") {
		t.Error("the refused message was stored locally")
	}
	close(release)
	// The slots come back once the deliveries end.
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := send("after")
		if queuedReply.MatchString(got[len(got)-1]) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("relay still busy after the deliveries ended: %q", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Deliver runs in its own goroutine after the 250, so the last call
	// may land just after the reply: wait for it rather than race it.
	for calls.Load() < MaxRelayInFlight+1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := calls.Load(); n != MaxRelayInFlight+1 {
		t.Errorf("Deliver called %d times, want %d", n, MaxRelayInFlight+1)
	}
}

// Implicit TLS submission (465, RFC 8314 §3.3) relays like 587 once
// authenticated, and the trace header says so.
func TestRelayFrom465(t *testing.T) {
	got := make(chan Envelope, 1)
	a := startLab(t, func(o *Options) {
		o.Relay = &Relay{Domain: "other.lab.test", Deliver: func(_ context.Context, env Envelope) error {
			got <- env
			return nil
		}}
	})
	c, err := smtp.DialTLS(addr(t, a, 465), clientTLS(a))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", DemoUser, DemoPassword)); err != nil {
		t.Fatal(err)
	}
	if err := c.SendMail("learner@mail.lab.test", []string{"learner@other.lab.test"}, strings.NewReader("Subject: s\r\n\r\nb\r\n")); err != nil {
		t.Fatal(err)
	}
	select {
	case env := <-got:
		if !bytes.Contains(env.Data, []byte("with ESMTPSA id "+env.ID)) {
			t.Errorf("queued data:\n%s", env.Data)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Deliver not called")
	}
}

// submitWire is a scripted client authenticated on lab l's port 587.
func submitWire(t *testing.T, l *Lab) *wire {
	t.Helper()
	w := dialWire(t, addr(t, l, 587))
	w.line()
	w.send("EHLO client.test")
	w.smtpReply()
	w.expectSMTP("STARTTLS", "220 2.0.0 Ready to start TLS")
	w.startTLS(clientTLS(l))
	w.send("EHLO client.test")
	w.smtpReply()
	w.expectSMTP("AUTH PLAIN "+plainGood, "235 2.7.0 Authentication successful")
	return w
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

var queuedReply = regexp.MustCompile(`^250 2\.0\.0 OK: queued as ([0-9A-F]{10})$`)

// expectQueued reads the reply to the end of DATA and returns its queue ID.
func expectQueued(w *wire) string {
	w.t.Helper()
	got := w.smtpReply()
	m := queuedReply.FindStringSubmatch(got[len(got)-1])
	if m == nil {
		w.t.Fatalf("end of DATA: %q, want 250 2.0.0 OK: queued as <ID>", got)
	}
	return m[1]
}
