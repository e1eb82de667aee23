package lab

import (
	"strings"
	"testing"
)

// TestNeverRelays: on every SMTP port, in cleartext and inside TLS, with and
// without AUTH, every recipient outside the lab's domains is refused at
// RCPT, including the old tricks that have made open relays (the %-hack,
// source routes of RFC 5321 §4.1.1.3 and Appendix C, a second @), and
// nothing reaches the mail store. The lab has no code path that sends mail
// anywhere; the store is the only place an accepted message can go.
func TestNeverRelays(t *testing.T) {
	outside := []string{
		"<friend@example.org>",
		"<FRIEND@EXAMPLE.ORG>",
		"<user@example.com@lab.test>",
		"<user%example.com@lab.test>",
		"<@lab.test:friend@example.org>",
		"<friend@lab.test.example.org>",
		"<friend@[192.0.2.1]>",
		"<friend@example.org.>",
	}
	cases := []struct {
		name  string
		port  int
		ready func(t *testing.T, l *Lab) *wire // returns a session able to send
	}{
		{"25 cleartext", 25, func(t *testing.T, l *Lab) *wire {
			w := dialWire(t, addr(t, l, 25))
			w.smtpReply()
			w.expectSMTP("EHLO client.test", "250 LIMITS RCPTMAX=50")
			return w
		}},
		{"25 after STARTTLS", 25, func(t *testing.T, l *Lab) *wire {
			w := dialWire(t, addr(t, l, 25))
			w.smtpReply()
			w.expectSMTP("EHLO client.test", "250 LIMITS RCPTMAX=50")
			w.expectSMTP("STARTTLS", "220 2.0.0 Ready to start TLS")
			w.startTLS(clientTLS(l))
			w.expectSMTP("EHLO client.test", "250 LIMITS RCPTMAX=50")
			return w
		}},
		{"587 STARTTLS and AUTH", 587, func(t *testing.T, l *Lab) *wire {
			w := dialWire(t, addr(t, l, 587))
			w.smtpReply()
			w.expectSMTP("EHLO client.test", "250 LIMITS RCPTMAX=50")
			w.expectSMTP("STARTTLS", "220 2.0.0 Ready to start TLS")
			w.startTLS(clientTLS(l))
			w.expectSMTP("EHLO client.test", "250 LIMITS RCPTMAX=50")
			w.expectSMTP("AUTH PLAIN "+plainGood, "235 2.7.0 Authentication successful")
			return w
		}},
		{"587 STARTTLS without AUTH", 587, func(t *testing.T, l *Lab) *wire {
			w := dialWire(t, addr(t, l, 587))
			w.smtpReply()
			w.expectSMTP("EHLO client.test", "250 LIMITS RCPTMAX=50")
			w.expectSMTP("STARTTLS", "220 2.0.0 Ready to start TLS")
			w.startTLS(clientTLS(l))
			w.expectSMTP("EHLO client.test", "250 LIMITS RCPTMAX=50")
			return w
		}},
		{"465 AUTH", 465, func(t *testing.T, l *Lab) *wire {
			w := dialWireTLS(t, addr(t, l, 465), clientTLS(l))
			w.smtpReply()
			w.expectSMTP("EHLO client.test", "250 LIMITS RCPTMAX=50")
			w.expectSMTP("AUTH PLAIN "+plainGood, "235 2.7.0 Authentication successful")
			return w
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := startLab(t, nil)
			before := len(inboxSubjects(t, l))
			w := tc.ready(t, l)
			w.t = t
			w.expectSMTP("MAIL FROM:<learner@lab.test>", "250 2.0.0 Roger, accepting mail from <learner@lab.test>")
			for _, rcpt := range outside {
				w.send("RCPT TO:" + rcpt)
				reply := w.smtpReply()
				last := reply[len(reply)-1]
				// 554 5.7.1 relay/access denied, 550 unknown local user
				// (the %-hack lands on a local part that does not
				// exist), 501 for syntax go-smtp refuses: any permanent
				// refusal, never a 2xx or a temporary 4xx that invites a
				// retry.
				t.Logf("RCPT TO:%s -> %s", rcpt, last)
				if !strings.HasPrefix(last, "5") {
					t.Errorf("RCPT TO:%s: %q, want a 5xx refusal", rcpt, reply)
				}
			}
			// With no accepted recipient there is no transaction to send.
			w.send("DATA")
			if reply := w.smtpReply(); strings.HasPrefix(reply[len(reply)-1], "354") {
				w.send("Subject: relay attempt\r\n\r\nshould never be stored\r\n.")
				t.Errorf("DATA accepted with only outside recipients: %q then %q", reply, w.smtpReply())
			}
			w.expectSMTP("QUIT", "221 2.0.0 Bye")
			if after := len(inboxSubjects(t, l)); after != before {
				t.Errorf("INBOX went from %d to %d messages", before, after)
			}
		})
	}
}
