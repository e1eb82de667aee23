package lab

import (
	"encoding/base64"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

var (
	plainGood = base64.StdEncoding.EncodeToString([]byte("\x00" + DemoUser + "\x00" + DemoPassword))
	plainBad  = base64.StdEncoding.EncodeToString([]byte("\x00" + DemoUser + "\x00wrong"))
)

func TestSMTPTransfer25(t *testing.T) {
	l := startLab(t, nil)
	w := dialWire(t, addr(t, l, 25))
	greet := w.smtpReply()
	if !strings.HasPrefix(greet[0], "220 "+Hostname+" ") {
		t.Fatalf("greeting %q", greet)
	}
	ehlo := w.expectSMTP("EHLO client.test", "250 LIMITS RCPTMAX=50")
	if !hasLine(ehlo, "STARTTLS") || hasLine(ehlo, "AUTH") {
		t.Fatalf("EHLO before TLS: %q (want STARTTLS, no AUTH)", ehlo)
	}
	w.expectSMTP("AUTH PLAIN "+plainGood, "503 5.5.1 Error: authentication not enabled")
	// STARTTLS is optional on 25: MAIL works in cleartext.
	w.expectSMTP("MAIL FROM:<someone@example.net>", "250 2.0.0 Roger, accepting mail from <someone@example.net>")
	w.expectSMTP("RCPT TO:<x@example.com>", "554 5.7.1 <x@example.com>: Relay access denied")
	w.expectSMTP("RCPT TO:<nobody@mail.lab.test>", "550 5.1.1 <nobody@mail.lab.test>: Recipient address rejected: User unknown in virtual mailbox table")
	w.expectSMTP("RCPT TO:<Postmaster@Lab.Test>", "250 2.0.0 I'll make sure <Postmaster@Lab.Test> gets this")
	w.expectSMTP("RSET", "250 2.0.0 Session reset")

	w.expectSMTP("STARTTLS", "220 2.0.0 Ready to start TLS")
	w.startTLS(clientTLS(l))
	ehlo = w.expectSMTP("EHLO client.test", "250 LIMITS RCPTMAX=50")
	if hasLine(ehlo, "STARTTLS") || hasLine(ehlo, "AUTH") {
		t.Fatalf("EHLO after TLS on 25: %q (want neither STARTTLS nor AUTH)", ehlo)
	}
	w.expectSMTP("AUTH PLAIN "+plainGood, "503 5.5.1 Error: authentication not enabled")
	w.expectSMTP("MAIL FROM:<someone@example.net>", "250 2.0.0 Roger, accepting mail from <someone@example.net>")
	w.expectSMTP("RCPT TO:<relay@elsewhere.example>", "554 5.7.1 <relay@elsewhere.example>: Relay access denied")
	w.expectSMTP("RCPT TO:<learner@mail.lab.test>", "250 2.0.0 I'll make sure <learner@mail.lab.test> gets this")
	w.expectSMTP("DATA", "354 Go ahead. End your data with <CR><LF>.<CR><LF>")
	w.send("Subject: over port 25\r\n\r\nhello\r\n.")
	expectQueued(w)
	w.expectSMTP("QUIT", "221 2.0.0 Bye")

	msgs := inboxSubjects(t, l)
	if msgs[len(msgs)-1] != "over port 25" {
		t.Fatalf("INBOX subjects %q", msgs)
	}
}

func TestSMTPSubmission587(t *testing.T) {
	l := startLab(t, nil)
	w := dialWire(t, addr(t, l, 587))
	w.smtpReply()
	ehlo := w.expectSMTP("EHLO client.test", "250 LIMITS RCPTMAX=50")
	if !hasLine(ehlo, "STARTTLS") || hasLine(ehlo, "AUTH") {
		t.Fatalf("EHLO before TLS: %q", ehlo)
	}
	// Postfix's words for both (smtpd_tls_security_level=encrypt).
	w.expectSMTP("AUTH PLAIN "+plainGood, "530 5.7.0 Must issue a STARTTLS command first")
	w.expectSMTP("AUTH LOGIN", "530 5.7.0 Must issue a STARTTLS command first")
	w.expectSMTP("MAIL FROM:<learner@mail.lab.test>", "530 5.7.0 Must issue a STARTTLS command first")

	w.expectSMTP("STARTTLS", "220 2.0.0 Ready to start TLS")
	w.startTLS(clientTLS(l))
	// RFC 3207 §4.2: the client must EHLO again; state from before is gone.
	w.expectSMTP("MAIL FROM:<learner@mail.lab.test>", "502 5.5.1 Please introduce yourself first.")
	ehlo = w.expectSMTP("EHLO client.test", "250 LIMITS RCPTMAX=50")
	if hasLine(ehlo, "STARTTLS") || !hasLine(ehlo, "AUTH PLAIN LOGIN") {
		t.Fatalf("EHLO after TLS: %q", ehlo)
	}
	// As Postfix on a submission port: MAIL is accepted, RCPT refused until AUTH.
	w.expectSMTP("MAIL FROM:<learner@mail.lab.test>", "250 2.0.0 Roger, accepting mail from <learner@mail.lab.test>")
	w.expectSMTP("RCPT TO:<learner@mail.lab.test>", "554 5.7.1 <learner@mail.lab.test>: Recipient address rejected: Access denied")
	w.expectSMTP("RSET", "250 2.0.0 Session reset")
	w.expectSMTP("AUTH PLAIN "+plainBad, "535 5.7.8 Error: authentication failed: authentication failure")
	w.expectSMTP("AUTH PLAIN "+plainGood, "235 2.7.0 Authentication successful")
	w.expectSMTP("MAIL FROM:<learner@mail.lab.test>", "250 2.0.0 Roger, accepting mail from <learner@mail.lab.test>")
	// Even authenticated, the lab never relays.
	w.expectSMTP("RCPT TO:<friend@example.org>", "554 5.7.1 <friend@example.org>: Relay access denied")
	w.expectSMTP("RCPT TO:<learner@lab.test>", "250 2.0.0 I'll make sure <learner@lab.test> gets this")
	w.expectSMTP("DATA", "354 Go ahead. End your data with <CR><LF>.<CR><LF>")
	w.send("Subject: submitted on 587\r\n\r\n..a dot-stuffed line\r\n.")
	expectQueued(w)
	w.expectSMTP("QUIT", "221 2.0.0 Bye")

	body := lastInboxBody(t, l)
	for _, want := range []string{
		"Return-Path: <learner@mail.lab.test>\r\n",
		"\r\n.a dot-stuffed line\r\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("stored message lacks %q:\n%s", want, body)
		}
	}
	// RFC 5321 §4.4 with RFC 3848's "ESMTPSA", a queue ID and, for a
	// single recipient, "for".
	received := regexp.MustCompile(`Received: from client\.test \(\[127\.0\.0\.1\]\)\r\n\tby mail\.lab\.test \(mailwire lab\) with ESMTPSA id [0-9A-F]{10} for <[^>]+>\r\n\t\(using TLS 1\.3`)
	if !received.MatchString(body) {
		t.Errorf("stored message lacks the Received header:\n%s", body)
	}
}

func TestSMTPAuthFailuresBounded(t *testing.T) {
	l := startLab(t, nil)
	w := dialWireTLS(t, addr(t, l, 465), clientTLS(l))
	w.smtpReply()
	w.expectSMTP("EHLO client.test", "250 LIMITS RCPTMAX=50")
	for range maxAuthFailures {
		w.expectSMTP("AUTH PLAIN "+plainBad, "535 5.7.8 Error: authentication failed: authentication failure")
	}
	w.expectSMTP("AUTH PLAIN "+plainGood, "503 5.7.0 Error: too many failed authentication attempts on this connection")
}

func TestSMTPSubmissions465WithGoClient(t *testing.T) {
	l := startLab(t, nil)
	c, err := smtp.DialTLS(addr(t, l, 465), clientTLS(l))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		t.Error("465 offers STARTTLS inside implicit TLS")
	}
	if !c.SupportsAuth("LOGIN") || !c.SupportsAuth("PLAIN") {
		t.Error("465 does not offer AUTH PLAIN and LOGIN")
	}
	if err := c.Mail("learner@mail.lab.test", nil); err != nil {
		t.Fatalf("MAIL before AUTH: %v (Postfix accepts it and refuses at RCPT)", err)
	}
	err = c.Rcpt("learner@mail.lab.test", nil)
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 554 {
		t.Fatalf("RCPT before AUTH: %v, want 554", err)
	}
	if err := c.Reset(); err != nil {
		t.Fatal(err)
	}
	// LOGIN, the mechanism go-sasl has only on the client side.
	if err := c.Auth(sasl.NewLoginClient(DemoUser, DemoPassword)); err != nil {
		t.Fatalf("AUTH LOGIN: %v", err)
	}
	if err := c.SendMail("learner@mail.lab.test", []string{"abuse@mail.lab.test"},
		strings.NewReader("Subject: over 465\n\nbare LF lines\n")); err != nil {
		t.Fatal(err)
	}
	c.Quit()
	body := lastInboxBody(t, l)
	if !strings.Contains(body, "Subject: over 465\r\n\r\nbare LF lines\r\n") {
		t.Errorf("message not stored with CRLF:\n%q", body)
	}
	if !strings.Contains(body, "with ESMTPSA") {
		t.Errorf("Received lacks ESMTPSA:\n%s", body)
	}
}

func TestSMTPStartTLSWithGoClient(t *testing.T) {
	l := startLab(t, nil)
	c, err := smtp.DialStartTLS(addr(t, l, 587), clientTLS(l))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", DemoUser, DemoPassword)); err != nil {
		t.Fatal(err)
	}
	if err := c.SendMail("learner@mail.lab.test", []string{"learner@mail.lab.test"}, strings.NewReader("Subject: go client\r\n\r\nhi\r\n")); err != nil {
		t.Fatal(err)
	}
	if s := inboxSubjects(t, l); s[len(s)-1] != "go client" {
		t.Fatalf("INBOX %q", s)
	}
}

func TestLoginMechanismInitialResponse(t *testing.T) {
	var got [2]string
	a := &loginServer{check: func(_, u, p string) error { got = [2]string{u, p}; return nil }}
	ch, done, err := a.Next([]byte("learner"))
	if err != nil || done || string(ch) != "Password:" {
		t.Fatalf("step 1: %q %v %v", ch, done, err)
	}
	if _, done, err = a.Next([]byte("pw")); err != nil || !done || got != [2]string{"learner", "pw"} {
		t.Fatalf("step 2: %v %v %q", done, err, got)
	}
	if _, _, err := a.Next(nil); err == nil {
		t.Fatal("extra step accepted")
	}
}

// inboxSubjects logs in over IMAPS and returns the INBOX subjects in order.
func inboxSubjects(t *testing.T, l *Lab) []string {
	t.Helper()
	c := imapLogin(t, l)
	defer c.Close()
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(imap.SeqSetNum(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12), &imap.FetchOptions{Envelope: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		out = append(out, m.Envelope.Subject)
	}
	return out
}

// lastInboxBody returns the newest INBOX message as stored.
func lastInboxBody(t *testing.T, l *Lab) string {
	t.Helper()
	c := imapLogin(t, l)
	defer c.Close()
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	section := &imap.FetchItemBodySection{Peek: true}
	msgs, err := c.Fetch(imap.SeqSetNum(sel.NumMessages), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("fetch: %v (%d messages)", err, len(msgs))
	}
	return string(msgs[0].FindBodySection(section))
}

func imapLogin(t *testing.T, l *Lab) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialTLS(addr(t, l, 993), &imapclient.Options{TLSConfig: clientTLS(l)})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(DemoUser, DemoPassword).Wait(); err != nil {
		c.Close()
		t.Fatal(err)
	}
	return c
}

// TestSMTPReplyLine: the injection-vulnerable server writes the lab's SMTP
// replies from smtp.go's table, byte for byte as go-smtp and Postfix put
// them on the wire.
func TestSMTPReplyLine(t *testing.T) {
	for e, want := range map[*smtp.SMTPError]string{
		errMustStartTLS:                       "530 5.7.0 Must issue a STARTTLS command first\r\n",
		errAuthNotEnabled:                     "503 5.5.1 Error: authentication not enabled\r\n",
		errAuthFailed:                         "535 5.7.8 Error: authentication failed: authentication failure\r\n",
		errAuthSucceeded:                      "235 2.7.0 Authentication successful\r\n",
		errAlreadyAuthenticated:               "503 5.5.1 Error: already authenticated\r\n",
		errTooManyAuthFailures:                "503 5.7.0 Error: too many failed authentication attempts on this connection\r\n",
		errRelayDenied("a@example.org"):       "554 5.7.1 <a@example.org>: Relay access denied\r\n",
		errAccessDenied("a@example.org"):      "554 5.7.1 <a@example.org>: Recipient address rejected: Access denied\r\n",
		errUnknownUser("nobody@lab.mailwire"): "550 5.1.1 <nobody@lab.mailwire>: Recipient address rejected: User unknown in virtual mailbox table\r\n",
	} {
		if got := smtpReplyLine(e); got != want {
			t.Errorf("smtpReplyLine = %q, want %q", got, want)
		}
	}
}
