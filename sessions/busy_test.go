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
		{protocol.SMTP, "421 Too many concurrent SMTP connections; please try again later.", smtpSubmissionOptions},
		{protocol.POP3, "-ERR [SYS/TEMP] too many connections", pop3Options},
		{protocol.IMAP, "* BYE [UNAVAILABLE] too many connections", imapOptions},
	} {
		t.Run(tc.proto, func(t *testing.T) {
			evs, _ := runTurnedAway(t, tc.line, tc.opts, TLSImplicit)
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
				if ev.Err != nil && ev.Err.Explain != ExplainBusyBeforeTLS {
					// mailwire scan reads the first error's Explain.
					t.Errorf("event %d explains the error as %s", ev.Seq, ev.Err.Explain)
				}
			}
			if !seen {
				t.Errorf("no %s event for the server's bytes\n%s", ExplainBusyBeforeTLS, dump(evs))
			}
		})
	}
}

// smtpSubmissionOptions are pop3Options' and imapOptions' kin for SMTP
// on the submission port.
func smtpSubmissionOptions(addr string, pki testPKI, mode TLSMode) Options {
	o := testOptions(addr, pki, mode, RoleSubmission)
	o.Proto = protocol.SMTP
	return o
}

// runTurnedAway runs a session in mode against a server that answers
// every connection with line alone, and fails the test unless the
// session fails.
func runTurnedAway(t *testing.T, line string, opts func(string, testPKI, TLSMode) Options, mode TLSMode) ([]wire.Event, error) {
	t.Helper()
	pki := validPKI(t)
	srv := startFake(t, pki, false, false, func(f *fakeConn) error {
		err := f.say(line)
		f.drain()
		return ignoreNetErr(err)
	})
	evs, err := run(t, opts(srv.addr, pki, mode))
	srv.wait(t)
	if err == nil {
		t.Fatal("the session should fail")
	}
	return evs, err
}

// The same answers as a STARTTLS port's greeting: shown with their own
// meaning (a -ERR greeting is not "+OK greeting: the server speaks
// first"), and the error names its operation once ("read greeting: read
// greeting: server replied 421" said it twice).
func TestBusyGreeting(t *testing.T) {
	for _, tc := range []struct {
		proto, line, notKey, errText string
		opts                         func(addr string, pki testPKI, mode TLSMode) Options
	}{
		{protocol.SMTP, "421 Too many concurrent SMTP connections; please try again later.", "", "read greeting: server replied 421", smtpSubmissionOptions},
		{protocol.POP3, "-ERR [SYS/TEMP] too many connections", "pop3.greeting", "greeting: server replied -ERR", pop3Options},
	} {
		t.Run(tc.proto, func(t *testing.T) {
			evs, err := runTurnedAway(t, tc.line, tc.opts, TLSStartTLS)
			e := errorEvent(evs)
			if e == nil || !strings.HasPrefix(e.Text, tc.errText) || strings.Count(e.Text, "greeting:") != 1 {
				t.Errorf("error event %+v, want it to start %q, once\n%s", e, tc.errText, dump(evs))
			}
			if strings.Count(err.Error(), "greeting:") != 1 {
				t.Errorf("error %q names its operation more than once", err)
			}
			for _, ev := range evs {
				if tc.notKey != "" && ev.Kind == wire.KindLine && ev.Annotation == tc.notKey {
					t.Errorf("the busy answer is annotated %s: %s", tc.notKey, wire.SafeString(ev.Text))
				}
			}
		})
	}
}

// The same in a typed session (connect): a -ERR greeting is explained by
// its code, not as "+OK greeting".
func TestInteractiveBusyGreetingPOP3(t *testing.T) {
	pki := validPKI(t)
	srv := startFake(t, pki, false, false, func(f *fakeConn) error {
		err := f.say("-ERR [SYS/TEMP] too many connections")
		f.drain()
		return ignoreNetErr(err)
	})
	r := startPromptRun(t, interactiveTestOptions(srv.addr, pki, protocol.POP3), InteractiveOptions{})
	r.wait("the greeting", isLine(wire.ServerToClient, "-ERR"))
	g := r.evs[len(r.evs)-1]
	if g.Annotation == "pop3.greeting" || g.Annotation != "pop3.code.sys/temp" {
		t.Errorf("the -ERR greeting is annotated %q, want its code's", g.Annotation)
	}
	r.p.Close()
	r.rest()
	srv.wait(t)
}
