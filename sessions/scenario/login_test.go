package scenario_test

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mailwire/mailwire/sessions/scenario"
	"github.com/mailwire/mailwire/sessions/wire"
)

// fakeCareless is an SMTP server that offers AUTH before STARTTLS and
// checks the credentials it gets there, as Exim does with
// server_advertise_condition = true: the decoy gets 535. Its STARTTLS is
// refused, so the run stays in cleartext.
func fakeCareless(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				r := bufio.NewReader(c)
				c.Write([]byte("220-mx.test ESMTP\r\n220 second greeting line\r\n"))
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					switch verb, _, _ := strings.Cut(strings.TrimSpace(line), " "); strings.ToUpper(verb) {
					case "EHLO":
						c.Write([]byte("250-mx.test\r\n250-AUTH PLAIN LOGIN\r\n250 STARTTLS\r\n"))
					case "AUTH":
						c.Write([]byte("535 Incorrect authentication data\r\n"))
					case "STARTTLS":
						c.Write([]byte("454 TLS currently unavailable\r\n"))
					case "QUIT":
						c.Write([]byte("221 bye\r\n"))
						return
					default:
						c.Write([]byte("500 unknown\r\n"))
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// A server that answers the decoy's login before TLS with 535 checked the
// credentials: it takes logins in cleartext. too-early said "the server
// refused the login before TLS (535)", which is the opposite (seen against
// Exim with AUTH advertised before STARTTLS).
func TestTooEarlyServerChecksLogin(t *testing.T) {
	env := scenario.Env{Endpoints: map[int]string{587: fakeCareless(t)}, ServerName: "mx.test",
		Username: "someone", Password: "their-real-password", ReadTimeout: 5 * time.Second}
	evs, _ := scenario.Collect(t.Context(), scenario.Request{Name: "too-early", Port: 587, Env: env})
	v := wantVerdict(t, evs, scenario.LegNormalPort, scenario.OutcomeCredentialsLeaked)
	if !strings.Contains(v.Text, "checked the login before TLS") || strings.Contains(v.Text, "refused") {
		t.Errorf("verdict %q: want the login checked (535), not refused\n%s", v.Text, dump(evs))
	}
	for _, ev := range cleartextLeaks(evs, passwordForms("someone", "their-real-password")) {
		t.Errorf("the real password crossed: event %d %s", ev.Seq, wire.SafeString(ev.Text))
	}
}

func TestLoginPolicyOf(t *testing.T) {
	ans := func(proto, code, ann string) *wire.Event {
		return &wire.Event{Annotation: ann, Line: &wire.Line{Proto: proto, Code: code}}
	}
	for _, tc := range []struct {
		ans  *wire.Event
		caps []string
		want scenario.LoginPolicy
	}{
		{ans("smtp", "235", ""), nil, scenario.LoginAccepted},
		{ans("smtp", "535", ""), nil, scenario.LoginChecked},
		{ans("smtp", "530", ""), nil, scenario.LoginRefused},
		{ans("smtp", "503", ""), nil, scenario.LoginRefused}, // Exim: AUTH command used when not advertised
		{ans("smtp", "454", ""), nil, scenario.LoginUnclear},
		{ans("imap", "OK", ""), nil, scenario.LoginAccepted},
		{ans("imap", "NO", "imap.code.privacyrequired"), nil, scenario.LoginRefused},
		{ans("imap", "NO", "imap.code.authenticationfailed"), nil, scenario.LoginChecked},
		{ans("imap", "BAD", ""), nil, scenario.LoginRefused},
		{ans("pop3", "+OK", ""), nil, scenario.LoginAccepted},
		{ans("pop3", "-ERR", ""), []string{"STLS", "SASL"}, scenario.LoginRefused},
		{ans("pop3", "-ERR", ""), nil, scenario.LoginUnclear},                                           // no CAPA: cannot tell
		{ans("imap", "NO", ""), []string{"IMAP4REV1", "STARTTLS", "AUTH=PLAIN"}, scenario.LoginChecked}, // GNU Mailutils
		{ans("imap", "NO", ""), []string{"IMAP4REV1", "STARTTLS", "LOGINDISABLED"}, scenario.LoginUnclear},
		{ans("imap", "NO", ""), nil, scenario.LoginUnclear},
		{ans("pop3", "-ERR", ""), []string{"STLS", "SASL PLAIN"}, scenario.LoginOffered},
		{ans("pop3", "-ERR", ""), []string{"USER"}, scenario.LoginOffered},
		{nil, nil, scenario.LoginUnclear},
	} {
		if got := scenario.LoginPolicyOf(lineProto(tc.ans), tc.ans, tc.caps); got != tc.want {
			t.Errorf("%+v caps %v: %s, want %s", tc.ans, tc.caps, got, tc.want)
		}
	}
}

func lineProto(ev *wire.Event) string {
	if ev == nil || ev.Line == nil {
		return ""
	}
	return ev.Line.Proto
}
