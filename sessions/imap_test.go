package sessions

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

// imapEnvelope has a literal subject with a CRLF inside it: only the
// announced length says where it ends (RFC 9051 §4.3).
var imapEnvelope = fmt.Sprintf("* 1 FETCH (ENVELOPE (\"Mon, 7 Feb 1994 21:52:25 -0800\" {%d}\r\n%s"+
	" ((\"Lab\" NIL \"lab\" \"mail.lab.test\")) NIL NIL NIL NIL NIL NIL NIL NIL))", len(imapSubject), imapSubject)

const imapSubject = "Welcome\r\n\"to\" lab"

// imapAfterLogin is the part of a session from SELECT to LOGOUT, with tags
// starting at first.
func imapAfterLogin(first int) []string {
	a := func(n int) string { return fmt.Sprintf("a%d", first+n) }
	return []string{
		a(0) + " SELECT INBOX\r\n", "* 2 EXISTS\r\n* FLAGS (\\Seen \\Deleted)\r\n* OK [UIDVALIDITY 1] UIDs valid\r\n" +
			a(0) + " OK [READ-WRITE] SELECT completed",
		a(1) + " FETCH * (ENVELOPE)\r\n", imapEnvelope + "\r\n" + a(1) + " OK FETCH completed",
		a(2) + " LOGOUT\r\n", "* BYE logging out\r\n" + a(2) + " OK LOGOUT completed",
	}
}

func imapScript(oneByte bool) func(f *fakeConn) error {
	return func(f *fakeConn) error {
		err := pop3Steps(f,
			"", "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] fake ready",
			"a1 CAPABILITY\r\n", "* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\na1 OK CAPABILITY completed",
			"a2 STARTTLS\r\n", "a2 OK Begin TLS negotiation now")
		if err != nil {
			return err
		}
		if err := f.startTLS(); err != nil {
			return err
		}
		err = pop3Steps(f, append([]string{
			"a3 CAPABILITY\r\n", "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\na3 OK CAPABILITY completed",
			"a4 LOGIN \"learner\" \"correct-horse\"\r\n", "a4 OK [CAPABILITY IMAP4rev1 IDLE] Logged in",
		}, imapAfterLogin(5)...)...)
		f.drain()
		return err
	}
}

func imapOptions(addr string, pki testPKI, mode TLSMode) Options {
	o := testOptions(addr, pki, mode, RoleRetrieval)
	o.Proto = protocol.IMAP
	return o
}

func TestIMAPStartTLSFlow(t *testing.T) {
	for _, oneByte := range []bool{false, true} {
		t.Run(fmt.Sprintf("oneByte=%v", oneByte), func(t *testing.T) {
			pki := validPKI(t)
			srv := startFake(t, pki, false, oneByte, imapScript(oneByte))
			o := imapOptions(srv.addr, pki, TLSStartTLS)
			var rec *wireRecorder
			o.Dial = recordingDialer(&rec)
			evs, err := run(t, o)
			srv.wait(t)
			if err != nil {
				t.Fatalf("Run: %v\n%s", err, dump(evs))
			}
			defer func() {
				if t.Failed() {
					t.Log("\n" + dump(evs))
				}
			}()
			i := find(evs, 0, isLine(wire.ServerToClient, "* OK"))
			if i < 0 || evs[i].Layer != wire.LayerCleartext || evs[i].Annotation != "imap.greeting" ||
				!strings.Contains(strings.Join(evs[i].Also, ","), "imap.code.capability,imap.status.ok") || evs[i].Line.Code != "OK" ||
				!strings.Contains(strings.Join(evs[i].Also, ","), "imap.cap.logindisabled") {
				t.Fatalf("greeting: %d", i)
			}
			i = find(evs, i, isLine(wire.ClientToServer, "a1 CAPABILITY"))
			if i < 0 || evs[i].Annotation != "imap.cmd.capability" || evs[i].Line.Command != "CAPABILITY" || evs[i].Line.Proto != protocol.IMAP {
				t.Fatalf("a1: %d", i)
			}
			i = find(evs, i, isLine(wire.ServerToClient, "* CAPABILITY"))
			if i < 0 || evs[i].Line.Code != "*" || evs[i].Annotation != "imap.data.capability" ||
				strings.Join(evs[i].Line.Capabilities, " ") != "IMAP4REV1 STARTTLS LOGINDISABLED" {
				t.Fatalf("CAPABILITY data: %d", i)
			}
			i = find(evs, i, isLine(wire.ServerToClient, "a1 OK"))
			if i < 0 || evs[i].Annotation != "imap.status.ok" || evs[i].Line.Code != "OK" {
				t.Fatalf("a1 OK: %d", i)
			}
			i = find(evs, i, isLine(wire.ClientToServer, "a2 STARTTLS"))
			if i < 0 || evs[i].Layer != wire.LayerCleartext {
				t.Fatalf("a2: %d", i)
			}
			i = find(evs, i, isLine(wire.ServerToClient, "a2 OK"))
			if i < 0 || evs[i+1].Kind != wire.KindBoundary {
				t.Fatalf("a2 OK then boundary: %d", i)
			}
			assertTLSUpgrade(t, evs, i+1)
			note := find(evs, i, func(ev wire.Event) bool { return ev.Annotation == "imap.note.capabilities_changed" })
			if note < 0 || !strings.Contains(evs[note].Text, "added after TLS: AUTH=PLAIN") ||
				!strings.Contains(evs[note].Text, "gone after TLS: STARTTLS, LOGINDISABLED") {
				t.Errorf("capability note: %d", note)
			}
			login := find(evs, note, isLine(wire.ClientToServer, "a4 LOGIN"))
			if login < 0 || evs[login].Credential == nil {
				t.Fatalf("LOGIN: %d", login)
			}
			if cr := evs[login].Credential; cr.Mechanism != "LOGIN" || cr.Username != "learner" || cr.Password != "correct-horse" || cr.OnWire {
				t.Errorf("credential: %+v", cr)
			}
			exists := find(evs, login, isLine(wire.ServerToClient, "* 2 EXISTS"))
			if exists < 0 || evs[exists].Annotation != "imap.data.exists" {
				t.Errorf("EXISTS: %d", exists)
			}
			fetch := find(evs, exists, isLine(wire.ServerToClient, "* 1 FETCH"))
			if fetch < 0 || string(evs[fetch].Raw) != imapEnvelope+"\r\n" || evs[fetch].Annotation != "imap.data.fetch" {
				t.Errorf("FETCH with literal: %d", fetch)
			}
			bye := find(evs, fetch, isLine(wire.ServerToClient, "* BYE"))
			if bye < 0 || evs[bye].Annotation != "imap.status.bye" || find(evs, bye, isLine(wire.ServerToClient, "a7 OK")) < 0 {
				t.Errorf("LOGOUT: %d", bye)
			}
			if e := errorEvent(evs); e != nil {
				t.Errorf("error: %+v", e.Err)
			}
			if c := evs[len(evs)-1]; !strings.HasPrefix(c.Text, "client closed the connection;") {
				t.Errorf("close: %q", c.Text)
			}
			assertWireMatchesEvents(t, evs, rec)
			assertPasswordHidden(t, evs, rec, "correct-horse")
		})
	}
}

func TestIMAPImplicit993(t *testing.T) {
	pki := validPKI(t)
	srv := startFake(t, pki, true, false, func(f *fakeConn) error {
		err := pop3Steps(f, append([]string{
			"", "* OK fake ready",
			"a1 CAPABILITY\r\n", "* CAPABILITY IMAP4rev2 AUTH=PLAIN\r\na1 OK done",
			"a2 LOGIN \"learner\" \"correct-horse\"\r\n", "a2 OK Logged in",
		}, imapAfterLogin(3)...)...)
		f.drain()
		return err
	})
	o := imapOptions(srv.addr, pki, TLSImplicit)
	var rec *wireRecorder
	o.Dial = recordingDialer(&rec)
	evs, err := run(t, o)
	srv.wait(t)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, dump(evs))
	}
	assertTLSUpgrade(t, evs, 1)
	if find(evs, 0, isLine(wire.ServerToClient, "a5 OK LOGOUT")) < 0 {
		t.Errorf("no LOGOUT completion\n%s", dump(evs))
	}
	assertWireMatchesEvents(t, evs, rec)
	assertPasswordHidden(t, evs, rec, "correct-horse")
}

// TestIMAPPreauth: PREAUTH skips the not-authenticated state, the only one
// where STARTTLS is valid (RFC 9051 §6.2.1). On a cleartext connection a
// client requiring TLS must close at once; inside implicit TLS it goes on
// without LOGIN.
func TestIMAPPreauth(t *testing.T) {
	t.Run("cleartext 143", func(t *testing.T) {
		pki := validPKI(t)
		got := make(chan []byte, 1)
		srv := startFake(t, pki, false, false, func(f *fakeConn) error {
			if err := f.say("* PREAUTH [CAPABILITY IMAP4rev1 STARTTLS] logged in as learner"); err != nil {
				return err
			}
			f.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			b, _ := io.ReadAll(f.r)
			got <- b
			return nil
		})
		evs, err := run(t, imapOptions(srv.addr, pki, TLSStartTLS))
		srv.wait(t)
		var se *SessionError
		if !errors.As(err, &se) || se.Explain != ExplainPreauth {
			t.Fatalf("err %v\n%s", err, dump(evs))
		}
		if e := errorEvent(evs); e == nil || e.Err.Op != "starttls" || e.Annotation != ExplainPreauth {
			t.Errorf("error event %+v", e)
		}
		if b := <-got; len(b) != 0 {
			t.Errorf("client sent %q after PREAUTH", b)
		}
		if g := find(evs, 0, isLine(wire.ServerToClient, "* PREAUTH")); g < 0 || evs[g].Line.Code != "PREAUTH" ||
			!strings.Contains(strings.Join(evs[g].Also, ","), "imap.status.preauth") {
			t.Errorf("PREAUTH greeting event\n%s", dump(evs))
		}
	})
	t.Run("implicit 993", func(t *testing.T) {
		pki := validPKI(t)
		srv := startFake(t, pki, true, false, func(f *fakeConn) error {
			err := pop3Steps(f, append([]string{
				"", "* PREAUTH logged in as learner",
				"a1 CAPABILITY\r\n", "* CAPABILITY IMAP4rev2\r\na1 OK done",
			}, imapAfterLogin(2)...)...)
			f.drain()
			return err
		})
		evs, err := run(t, imapOptions(srv.addr, pki, TLSImplicit))
		srv.wait(t)
		if err != nil {
			t.Fatalf("Run: %v\n%s", err, dump(evs))
		}
		if find(evs, 0, isLine(wire.ClientToServer, "a2 SELECT")) < 0 {
			t.Errorf("no SELECT after PREAUTH\n%s", dump(evs))
		}
		for _, ev := range evs {
			if ev.Credential != nil {
				t.Errorf("credential after PREAUTH: %q", ev.Text)
			}
		}
	})
}

func TestIMAPLoginDisabledAfterTLS(t *testing.T) {
	pki := validPKI(t)
	srv := startFake(t, pki, true, false, func(f *fakeConn) error {
		err := pop3Steps(f,
			"", "* OK ready",
			"a1 CAPABILITY\r\n", "* CAPABILITY IMAP4rev1 LOGINDISABLED AUTH=GSSAPI\r\na1 OK done",
			"a2 LOGOUT\r\n", "* BYE\r\na2 OK done")
		f.drain()
		return err
	})
	evs, err := run(t, imapOptions(srv.addr, pki, TLSImplicit))
	srv.wait(t)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, dump(evs))
	}
	if find(evs, 0, func(ev wire.Event) bool { return ev.Annotation == "imap.note.logindisabled" }) < 0 ||
		find(evs, 0, isLine(wire.ClientToServer, "a2 LOGIN")) >= 0 {
		t.Errorf("LOGINDISABLED not honoured\n%s", dump(evs))
	}
}

func TestIMAPFailures(t *testing.T) {
	greet := func(f *fakeConn, capa string) error {
		return pop3Steps(f, "", "* OK ready", "a1 CAPABILITY\r\n", "* CAPABILITY "+capa+"\r\na1 OK done")
	}
	for _, tc := range []struct {
		name    string
		mode    TLSMode
		script  func(f *fakeConn) error
		op      string
		explain string
		opts    func(o *Options)
	}{
		{
			name: "BYE greeting", mode: TLSStartTLS,
			script: func(f *fakeConn) error { return f.say("* BYE [UNAVAILABLE] too many connections") },
			op:     "greeting", explain: "imap.code.unavailable",
		},
		{
			name: "BYE mid-session", mode: TLSStartTLS,
			script: func(f *fakeConn) error {
				return pop3Steps(f, "", "* OK ready", "a1 CAPABILITY\r\n", "* BYE Autologout; idle for too long")
			},
			op: "capability", explain: "imap.status.bye",
		},
		{
			name: "early close", mode: TLSStartTLS,
			script: func(f *fakeConn) error {
				return pop3Steps(f, "", "* OK ready", "a1 CAPABILITY\r\n", "* CAPABILITY IMAP4rev1 STARTTLS")
			},
			op: "read CAPABILITY response", explain: ExplainClosedEarly,
		},
		{
			name: "close inside a literal", mode: TLSStartTLS,
			script: func(f *fakeConn) error {
				return pop3Steps(f, "", "* OK ready", "a1 CAPABILITY\r\n", "* 1 FETCH (BODY[] {100}\r\nonly a few bytes")
			},
			op: "read CAPABILITY response", explain: ExplainClosedEarly,
		},
		{
			// A literal of any size is read (and counted); one whose
			// size no client can count to is malformed.
			name: "literal size past 2^63", mode: TLSStartTLS,
			script: func(f *fakeConn) error {
				err := pop3Steps(f, "", "* OK ready", "a1 CAPABILITY\r\n", "* 1 FETCH (BODY[] {99999999999999999999}")
				f.drain()
				return err
			},
			op: "read CAPABILITY response", explain: ExplainMalformed,
		},
		{
			name: "line too long", mode: TLSStartTLS,
			script: func(f *fakeConn) error {
				err := f.write([]byte("* OK " + strings.Repeat("x", 10000) + "\r\n"))
				f.drain()
				return ignoreNetErr(err)
			},
			op: "read greeting", explain: ExplainLineTooLong,
		},
		{
			name: "wrong tag", mode: TLSStartTLS,
			script: func(f *fakeConn) error {
				err := pop3Steps(f, "", "* OK ready", "a1 CAPABILITY\r\n", "a9 OK done")
				f.drain()
				return err
			},
			op: "read CAPABILITY response", explain: ExplainMalformed,
		},
		{
			name: "tagged greeting", mode: TLSStartTLS,
			script: func(f *fakeConn) error { err := f.say("a1 OK hello"); f.drain(); return err },
			op:     "read greeting", explain: ExplainMalformed,
		},
		{
			name: "silent server", mode: TLSStartTLS,
			script: func(f *fakeConn) error { f.drain(); return nil },
			op:     "read greeting", explain: ExplainSilentGreeting,
			opts: func(o *Options) { o.ReadTimeout = 200 * time.Millisecond },
		},
		{
			name: "no STARTTLS", mode: TLSStartTLS,
			script: func(f *fakeConn) error {
				if err := greet(f, "IMAP4rev1"); err != nil {
					return err
				}
				return pop3Steps(f, "a2 LOGOUT\r\n", "* BYE\r\na2 OK done")
			},
			op: "starttls", explain: ExplainNoStartTLS,
		},
		{
			name: "STARTTLS refused", mode: TLSStartTLS,
			script: func(f *fakeConn) error {
				if err := greet(f, "IMAP4rev1 STARTTLS"); err != nil {
					return err
				}
				return pop3Steps(f, "a2 STARTTLS\r\n", "a2 NO [UNAVAILABLE] TLS not configured", "a3 LOGOUT\r\n", "* BYE\r\na3 OK done")
			},
			op: "starttls", explain: "imap.code.unavailable",
		},
		{
			name: "bad password", mode: TLSNone,
			script: func(f *fakeConn) error {
				if err := greet(f, "IMAP4rev1"); err != nil {
					return err
				}
				return pop3Steps(f, "a2 LOGIN \"learner\" \"correct-horse\"\r\n", "a2 NO [AUTHENTICATIONFAILED] Invalid credentials",
					"a3 LOGOUT\r\n", "* BYE\r\na3 OK done")
			},
			op: "login", explain: "imap.code.authenticationfailed",
			opts: func(o *Options) { o.AllowCleartextAuth = true },
		},
		{
			name: "cleartext greeting on 993", mode: TLSImplicit,
			script: func(f *fakeConn) error { err := f.say("* OK ready"); f.drain(); return ignoreNetErr(err) },
			op:     "tls handshake", explain: ExplainCleartextOnImplict,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pki := validPKI(t)
			srv := startFake(t, pki, false, false, tc.script)
			o := imapOptions(srv.addr, pki, tc.mode)
			if tc.opts != nil {
				tc.opts(&o)
			}
			runFailing(t, srv, o, tc.op, tc.explain)
		})
	}
}
