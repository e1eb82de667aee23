package sessions

import (
	"strings"
	"testing"

	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

// A server past its connection limit says "not now" in cleartext even on
// an implicit-TLS port (Exim 4.96 on 465: "421 Too many concurrent SMTP
// connections; please try again later."). That is not a port mix-up:
// the session must not say the server "speaks plain SMTP here, expecting
// STARTTLS", as it did, but that it turned the connection away.
func TestImplicitTLSBusy(t *testing.T) {
	for _, tc := range []struct {
		proto, line string
		opts        func(addr string, pki testPKI, mode TLSMode) Options
	}{
		{protocol.SMTP, "421 Too many concurrent SMTP connections; please try again later.", func(a string, p testPKI, m TLSMode) Options {
			o := testOptions(a, p, m, RoleSubmission)
			o.Proto = protocol.SMTP
			return o
		}},
		{protocol.POP3, "-ERR [SYS/TEMP] too many connections", pop3Options},
		{protocol.IMAP, "* BYE [UNAVAILABLE] too many connections", imapOptions},
	} {
		t.Run(tc.proto, func(t *testing.T) {
			pki := validPKI(t)
			srv := startFake(t, pki, false, false, func(f *fakeConn) error {
				err := f.say(tc.line)
				f.drain()
				return ignoreNetErr(err)
			})
			evs, err := run(t, tc.opts(srv.addr, pki, TLSImplicit))
			srv.wait(t)
			if err == nil {
				t.Fatal("the session should fail")
			}
			e := errorEvent(evs)
			if e == nil || e.Err.Explain != ExplainBusyBeforeTLS {
				t.Errorf("error %+v, want explain %s\n%s", e, ExplainBusyBeforeTLS, dump(evs))
			}
			seen := false
			for _, ev := range evs {
				if ev.Annotation == ExplainCleartextOnImplict || strings.Contains(ev.Text, "expecting STARTTLS") ||
					strings.Contains(ev.Text, "expects STARTTLS") || strings.Contains(ev.Text, "expects STLS") {
					t.Errorf("event %d blames a port mix-up: %s", ev.Seq, wire.SafeString(ev.Text))
				}
				if ev.Kind == wire.KindError && ev.Dir == wire.ServerToClient && ev.Annotation == ExplainBusyBeforeTLS {
					seen = true
				}
			}
			if !seen {
				t.Errorf("no %s event for the server's bytes\n%s", ExplainBusyBeforeTLS, dump(evs))
			}
		})
	}
}
