package main

import (
	"strings"
	"testing"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/tui"
)

func TestConnectOptions(t *testing.T) {
	ca := testCAFile(t)
	for _, c := range []struct {
		target string
		f      connectFlags
		want   tui.SessionRequest
		verify sessions.VerifyMode
	}{
		// No port, no protocol: submission on 587 (RFC 6409).
		{"mx.example.test", connectFlags{}, tui.SessionRequest{Port: 587, Target: "mx.example.test:587", Proto: "smtp", TLSMode: "starttls"}, sessions.VerifySystem},
		// The protocol and TLS mode give the port (RFC 8314 §7.3).
		{"imap.example.test", connectFlags{proto: "imap", tlsMode: "implicit"}, tui.SessionRequest{Port: 993, Target: "imap.example.test:993", Proto: "imap", TLSMode: "implicit"}, sessions.VerifySystem},
		{"pop.example.test", connectFlags{proto: "pop3"}, tui.SessionRequest{Port: 110, Target: "pop.example.test:110", Proto: "pop3", TLSMode: "starttls"}, sessions.VerifySystem},
		// A canonical port gives the protocol.
		{"pop.example.test:995", connectFlags{}, tui.SessionRequest{Port: 995, Target: "pop.example.test:995", Proto: "pop3", TLSMode: "implicit"}, sessions.VerifySystem},
		{"127.0.0.1:25", connectFlags{caFile: ca}, tui.SessionRequest{Port: 25, Target: "127.0.0.1:25", Proto: "smtp", TLSMode: "starttls"}, sessions.VerifyCAFile},
		// Another port is dialed as given, with 587's semantics unless
		// --proto says otherwise.
		{"127.0.0.1:10587", connectFlags{insecure: true, sni: "mail.lab.test"}, tui.SessionRequest{Port: 587, Target: "127.0.0.1:10587", Proto: "smtp", TLSMode: "starttls"}, sessions.VerifyOff},
		{"[::1]:10993", connectFlags{proto: "imap", tlsMode: "implicit"}, tui.SessionRequest{Port: 993, Target: "[::1]:10993", Proto: "imap", TLSMode: "implicit"}, sessions.VerifySystem},
		// A mode other than the port's own is allowed on purpose.
		{"smtp.example.test:465", connectFlags{tlsMode: "starttls"}, tui.SessionRequest{Port: 465, Target: "smtp.example.test:465", Proto: "smtp", TLSMode: "starttls"}, sessions.VerifySystem},
	} {
		o, req, err := connectOptions(c.target, c.f)
		if err != nil {
			t.Errorf("%s %+v: %v", c.target, c.f, err)
			continue
		}
		got := req
		got.Label = ""
		if got != c.want {
			t.Errorf("%s %+v: request %+v, want %+v", c.target, c.f, got, c.want)
		}
		if o.Target != c.want.Target || o.Verify != c.verify {
			t.Errorf("%s: options target %q verify %q, want %q %q", c.target, o.Target, o.Verify, c.want.Target, c.verify)
		}
		if !strings.Contains(req.Label, "certificate: "+string(c.verify)) {
			t.Errorf("%s: label %q does not say how the certificate is checked", c.target, req.Label)
		}
		if c.f.sni != "" && (o.ServerName != c.f.sni || !strings.Contains(req.Label, "SNI "+c.f.sni)) {
			t.Errorf("%s: SNI %q, label %q", c.target, o.ServerName, req.Label)
		}
	}
	for _, c := range []struct {
		target string
		f      connectFlags
		want   string
	}{
		{"", connectFlags{}, "want HOST"},
		{"a host", connectFlags{}, "want HOST"},
		{"smtp://x", connectFlags{}, "want HOST"},
		{"x", connectFlags{proto: "gopher"}, "protocol"},
		{"x", connectFlags{tlsMode: "sometimes"}, "--tls"},
		{"x", connectFlags{tlsMax: "1.4"}, "--tls-max"},
		{"x:notaport", connectFlags{}, "bad port"},
		{"x:0", connectFlags{}, "bad port"},
		{"x:70000", connectFlags{}, "bad port"},
		{"x", connectFlags{caFile: "/nonexistent/ca.pem"}, "--ca-file"},
		{"x:110", connectFlags{side: sessionFlags{to: "a@example.org"}}, "only for SMTP"},
		{"x:993", connectFlags{side: sessionFlags{stopAfter: "never"}}, "--stop-after"},
	} {
		_, _, err := connectOptions(c.target, c.f)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q %+v: error %v, want one about %q", c.target, c.f, err, c.want)
		}
	}
}
