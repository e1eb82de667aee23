package sessions

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

const (
	pop3CapaBefore = "+OK Capability list follows\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nSTLS\r\nSASL\r\nIMPLEMENTATION fake\r\n."
	pop3CapaAfter  = "+OK Capability list follows\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nUSER\r\nSASL PLAIN\r\nIMPLEMENTATION fake\r\n."
	pop3Message    = "Subject: hello\r\n\r\n..a line that starts with a dot\r\nbody\r\n"
)

// pop3Steps runs a scripted exchange: each pair is (client line expected,
// server response); an empty expectation sends without reading.
func pop3Steps(f *fakeConn, pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i] != "" {
			if _, err := f.expect(pairs[i]); err != nil {
				return fmt.Errorf("pair %d: %w", i/2, err)
			}
		}
		if err := f.say(pairs[i+1]); err != nil {
			return fmt.Errorf("pair %d: %w", i/2, err)
		}
	}
	return nil
}

// pop3Mailbox is the transaction part of a session after login.
var pop3Mailbox = []string{
	"STAT\r\n", "+OK 2 320",
	"LIST\r\n", "+OK 2 messages:\r\n1 120\r\n2 200\r\n.",
	"RETR 1\r\n", "+OK 120 octets\r\n" + pop3Message + ".",
	"QUIT\r\n", "+OK Logging out.",
}

func pop3Script(injection string) func(f *fakeConn) error {
	return func(f *fakeConn) error {
		err := pop3Steps(f,
			"", "+OK mail.lab.test POP3 ready.",
			"CAPA\r\n", pop3CapaBefore,
			"STLS\r\n", "+OK Begin TLS negotiation"+injection)
		if err != nil {
			return err
		}
		if err := f.startTLS(); err != nil {
			return err
		}
		err = pop3Steps(f, append([]string{
			"CAPA\r\n", pop3CapaAfter,
			"USER learner\r\n", "+OK",
			"PASS correct-horse\r\n", "+OK Logged in.",
		}, pop3Mailbox...)...)
		f.drain()
		return err
	}
}

func pop3Options(addr string, pki testPKI, mode TLSMode) Options {
	o := testOptions(addr, pki, mode, RoleRetrieval)
	o.Proto = protocol.POP3
	return o
}

func TestPOP3STLSFlow(t *testing.T) {
	for _, oneByte := range []bool{false, true} {
		t.Run(fmt.Sprintf("oneByte=%v", oneByte), func(t *testing.T) {
			pki := validPKI(t)
			srv := startFake(t, pki, false, oneByte, pop3Script(""))
			o := pop3Options(srv.addr, pki, TLSStartTLS)
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
			i := find(evs, 0, isLine(wire.ServerToClient, "+OK mail.lab.test"))
			if i < 0 || evs[i].Layer != wire.LayerCleartext || evs[i].Annotation != "pop3.greeting" || evs[i].Line.Code != "+OK" ||
				evs[i].Line.Proto != protocol.POP3 || string(evs[i].Raw) != "+OK mail.lab.test POP3 ready.\r\n" {
				t.Fatalf("greeting: %d", i)
			}
			i = find(evs, i, isLine(wire.ClientToServer, "CAPA"))
			if i < 0 || evs[i].Annotation != "pop3.cmd.capa" || evs[i].Line.Command != "CAPA" {
				t.Fatalf("CAPA: %d", i)
			}
			i = find(evs, i, isLine(wire.ServerToClient, "+OK Capability"))
			if i < 0 || !strings.Contains(strings.Join(evs[i].Line.Capabilities, ","), "STLS") ||
				!strings.Contains(strings.Join(evs[i].Also, ","), "pop3.capa.stls") || string(evs[i].Raw) != pop3CapaBefore+"\r\n" ||
				evs[i].Layer != wire.LayerCleartext {
				t.Fatalf("CAPA response: %d", i)
			}
			i = find(evs, i, isLine(wire.ClientToServer, "STLS"))
			if i < 0 || evs[i].Layer != wire.LayerCleartext || evs[i].Annotation != "pop3.cmd.stls" {
				t.Fatalf("STLS: %d", i)
			}
			i = find(evs, i, isLine(wire.ServerToClient, "+OK Begin"))
			if i < 0 || evs[i+1].Kind != wire.KindBoundary {
				t.Fatalf("STLS response then boundary: %d", i)
			}
			assertTLSUpgrade(t, evs, i+1)
			note := find(evs, i, func(ev wire.Event) bool { return ev.Annotation == "pop3.note.capabilities_changed" })
			if note < 0 || !strings.Contains(evs[note].Text, "added after TLS: USER, SASL PLAIN") ||
				!strings.Contains(evs[note].Text, "gone after TLS: STLS, SASL") {
				t.Errorf("capability note: %d", note)
			}
			user := find(evs, i, isLine(wire.ClientToServer, "USER "))
			pass := find(evs, i, isLine(wire.ClientToServer, "PASS "))
			if user < 0 || pass < 0 || evs[pass].Credential == nil {
				t.Fatalf("USER %d / PASS %d", user, pass)
			}
			if cr := evs[pass].Credential; cr.Mechanism != "USER/PASS" || cr.Username != "learner" ||
				cr.Password != "correct-horse" || cr.OnWire {
				t.Errorf("credential: %+v", cr)
			}
			retr := find(evs, pass, isLine(wire.ServerToClient, "+OK 120 octets"))
			if retr < 0 || !bytes.Contains(evs[retr].Raw, []byte("\r\n..a line")) || evs[retr].Line.Code != "+OK" {
				t.Errorf("RETR response: %d", retr)
			}
			if find(evs, retr, isLine(wire.ServerToClient, "+OK Logging out")) < 0 {
				t.Errorf("no QUIT response")
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

// assertTLSUpgrade checks what follows a boundary: a ClientHello with SNI
// mail.lab.test, a ServerHello, a verified TLS state, and from then on no
// cleartext: client and server lines are decrypted lines only the endpoints
// read, and records cross the wire encrypted.
func assertTLSUpgrade(t *testing.T, evs []wire.Event, boundary int) {
	t.Helper()
	if evs[boundary].Kind != wire.KindBoundary {
		t.Fatalf("event %d is %s, want boundary", boundary, evs[boundary].Kind)
	}
	ch := find(evs, boundary, func(ev wire.Event) bool { return ev.Kind == wire.KindHandshake && ev.Handshake.Type == "client_hello" })
	if ch < 0 || evs[ch].Dir != wire.ClientToServer || evs[ch].Visible != wire.VisibleMetadata {
		t.Fatalf("no ClientHello after the boundary")
	}
	sni := false
	for _, f := range evs[ch].Handshake.Fields {
		sni = sni || f.Value == "mail.lab.test"
	}
	if !sni {
		t.Errorf("ClientHello without SNI mail.lab.test: %+v", evs[ch].Handshake.Fields)
	}
	if find(evs, ch, func(ev wire.Event) bool { return ev.Kind == wire.KindHandshake && ev.Handshake.Type == "server_hello" }) < 0 {
		t.Errorf("no ServerHello")
	}
	st := find(evs, ch, isKind(wire.KindTLSState))
	if st < 0 || !evs[st].TLS.Verified || evs[st].TLS.ServerName != "mail.lab.test" {
		t.Fatalf("TLS state: %d", st)
	}
	for _, ev := range evs[boundary:] {
		if ev.Layer == wire.LayerCleartext {
			t.Errorf("cleartext event after the boundary: %s %q", ev.Kind, ev.Text)
		}
		if ev.Kind == wire.KindLine && (ev.Layer != wire.LayerDecrypted || ev.Visible != wire.VisibleEndpoints) {
			t.Errorf("line after TLS not decrypted/endpoints: %q", ev.Text)
		}
	}
	if find(evs, st, func(ev wire.Event) bool { return ev.Kind == wire.KindEncrypted && ev.Dir == wire.ClientToServer }) < 0 {
		t.Errorf("no encrypted client record after the handshake")
	}
}

func TestPOP3Implicit995(t *testing.T) {
	pki := validPKI(t)
	srv := startFake(t, pki, true, false, func(f *fakeConn) error {
		err := pop3Steps(f, append([]string{
			"", "+OK mail.lab.test POP3 ready.",
			"CAPA\r\n", pop3CapaAfter,
			"USER learner\r\n", "+OK",
			"PASS correct-horse\r\n", "+OK Logged in.",
		}, pop3Mailbox...)...)
		f.drain()
		return err
	})
	o := pop3Options(srv.addr, pki, TLSImplicit)
	var rec *wireRecorder
	o.Dial = recordingDialer(&rec)
	evs, err := run(t, o)
	srv.wait(t)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, dump(evs))
	}
	if evs[1].Kind != wire.KindBoundary || evs[1].Annotation != "tls.boundary.implicit" {
		t.Errorf("event 2: %s", evs[1].Kind)
	}
	assertTLSUpgrade(t, evs, 1)
	if find(evs, 0, func(ev wire.Event) bool { return ev.Annotation == "pop3.note.capabilities_changed" }) >= 0 {
		t.Errorf("capability note without STLS")
	}
	if find(evs, 0, isLine(wire.ClientToServer, "STLS")) >= 0 {
		t.Errorf("STLS inside implicit TLS")
	}
	assertWireMatchesEvents(t, evs, rec)
	assertPasswordHidden(t, evs, rec, "correct-horse")
}

// TestPOP3ResponseInjection: bytes after "+OK Begin TLS" are dropped with
// the cleartext reader, never read as the first response inside TLS
// (RFC 2595 §4; STARTTLS injection class, CVE-2011-0411).
func TestPOP3ResponseInjection(t *testing.T) {
	pki := validPKI(t)
	const injected = "+OK Capability list follows\r\nUSER\r\n.\r\n"
	srv := startFake(t, pki, false, false, pop3Script("\r\n"+strings.TrimSuffix(injected, "\r\n")))
	o := pop3Options(srv.addr, pki, TLSStartTLS)
	evs, err := run(t, o)
	srv.wait(t)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, dump(evs))
	}
	i := find(evs, 0, func(ev wire.Event) bool { return ev.Annotation == "pop3.note.response_injection_discarded" })
	if i < 0 || string(evs[i].Raw) != injected || evs[i+1].Kind != wire.KindBoundary {
		t.Fatalf("injection note\n%s", dump(evs))
	}
}

func TestPOP3CleartextAndLimits(t *testing.T) {
	big := strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n", 3000) // ~198 KB
	pki := validPKI(t)
	srv := startFake(t, pki, false, false, func(f *fakeConn) error {
		err := pop3Steps(f,
			"", "+OK ready",
			"CAPA\r\n", "-ERR unknown command",
			"USER learner\r\n", "+OK",
			"PASS correct-horse\r\n", "+OK",
			"STAT\r\n", "+OK 1 198000",
			"LIST\r\n", "+OK\r\n1 198000\r\n.",
			"RETR 1\r\n", "+OK\r\n"+big+".",
			"QUIT\r\n", "+OK")
		f.drain()
		return err
	})
	o := pop3Options(srv.addr, pki, TLSNone)
	o.AllowCleartextAuth = true
	evs, err := run(t, o)
	srv.wait(t)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, dump(evs))
	}
	pass := find(evs, 0, isLine(wire.ClientToServer, "PASS"))
	if pass < 0 || evs[pass].Credential == nil || !evs[pass].Credential.OnWire || evs[pass].Visible != wire.VisibleAnyone {
		t.Fatalf("cleartext PASS not marked on the wire\n%s", dump(evs))
	}
	retr := find(evs, pass, isLine(wire.ServerToClient, "+OK\r\n0123"))
	if retr < 0 || len(evs[retr].Raw) != protocol.POP3KeepBytes {
		t.Fatalf("RETR kept %d bytes\n%s", len(evs[retr].Raw), dump(evs))
	}
	if want := int64(len("+OK\r\n" + big + ".\r\n")); evs[retr].RawLen != want {
		t.Errorf("RETR event stands for %d bytes, want %d", evs[retr].RawLen, want)
	}
	n := find(evs, retr, func(ev wire.Event) bool { return ev.Annotation == wire.BudgetKeyLiteral })
	if n < 0 || !strings.Contains(evs[n].Text, "RETR response of "+wire.GroupDigits(int64(len("+OK\r\n"+big+".\r\n")))+" bytes") {
		t.Errorf("truncation note\n%s", dump(evs))
	}
}

func TestPOP3RefusesCleartextPassword(t *testing.T) {
	pki := validPKI(t)
	srv := startFake(t, pki, false, false, func(f *fakeConn) error {
		err := pop3Steps(f, "", "+OK ready", "CAPA\r\n", "+OK\r\nUSER\r\n.", "QUIT\r\n", "+OK bye")
		f.drain()
		return err
	})
	evs, err := run(t, pop3Options(srv.addr, pki, TLSNone))
	srv.wait(t)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, dump(evs))
	}
	if find(evs, 0, func(ev wire.Event) bool { return ev.Annotation == "pop3.note.auth_refused_cleartext" }) < 0 {
		t.Errorf("no refusal note\n%s", dump(evs))
	}
	for _, ev := range evs {
		if ev.Credential != nil {
			t.Errorf("credential sent: %q", ev.Text)
		}
	}
}

func TestPOP3Failures(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mode    TLSMode
		script  func(f *fakeConn) error
		op      string
		explain string
		opts    func(o *Options)
	}{
		{
			name: "-ERR greeting with code", mode: TLSStartTLS,
			script: func(f *fakeConn) error { return f.say("-ERR [SYS/TEMP] maildrop busy") },
			op:     "greeting", explain: "pop3.code.sys/temp",
		},
		{
			name: "early close after CAPA", mode: TLSStartTLS,
			script: func(f *fakeConn) error {
				return pop3Steps(f, "", "+OK ready", "CAPA\r\n", "+OK\r\nSTLS") // and close mid-list
			},
			op: "read CAPA response", explain: ExplainClosedEarly,
		},
		{
			name: "line too long", mode: TLSStartTLS,
			script: func(f *fakeConn) error {
				err := f.write([]byte("+OK " + strings.Repeat("x", 10000) + "\r\n"))
				f.drain()
				return ignoreNetErr(err)
			},
			op: "read greeting", explain: ExplainLineTooLong,
		},
		{
			name: "malformed greeting", mode: TLSStartTLS,
			script: func(f *fakeConn) error { err := f.say("* OK IMAP here"); f.drain(); return err },
			op:     "read greeting", explain: ExplainMalformed,
		},
		{
			name: "silent server", mode: TLSStartTLS,
			script: func(f *fakeConn) error { f.drain(); return nil },
			op:     "read greeting", explain: ExplainSilentGreeting,
			opts: func(o *Options) { o.ReadTimeout = 200 * time.Millisecond },
		},
		{
			name: "silent after STAT", mode: TLSNone,
			script: func(f *fakeConn) error {
				err := pop3Steps(f, "", "+OK ready", "CAPA\r\n", "+OK\r\nUSER\r\n.", "USER", "+OK", "PASS", "+OK")
				f.drain()
				return err
			},
			op: "read STAT response", explain: ExplainTimeout,
			opts: func(o *Options) { o.ReadTimeout = 200 * time.Millisecond; o.AllowCleartextAuth = true },
		},
		{
			name: "no STLS offered", mode: TLSStartTLS,
			script: func(f *fakeConn) error {
				return pop3Steps(f, "", "+OK ready", "CAPA\r\n", "+OK\r\nUSER\r\n.", "QUIT\r\n", "+OK bye")
			},
			op: "stls", explain: ExplainNoStartTLS,
		},
		{
			name: "STLS refused", mode: TLSStartTLS,
			script: func(f *fakeConn) error {
				return pop3Steps(f, "", "+OK ready", "CAPA\r\n", "+OK\r\nSTLS\r\n.", "STLS\r\n", "-ERR TLS support isn't enabled.",
					"QUIT\r\n", "+OK bye")
			},
			op: "stls", explain: "pop3.reply.err",
		},
		{
			name: "bad password", mode: TLSNone,
			script: func(f *fakeConn) error {
				return pop3Steps(f, "", "+OK ready", "CAPA\r\n", "+OK\r\nUSER\r\n.", "USER learner\r\n", "+OK",
					"PASS correct-horse\r\n", "-ERR [AUTH] Authentication failed.", "QUIT\r\n", "+OK bye")
			},
			op: "pass", explain: "pop3.code.auth",
			opts: func(o *Options) { o.AllowCleartextAuth = true },
		},
		{
			name: "cleartext greeting on 995", mode: TLSImplicit,
			script: func(f *fakeConn) error { err := f.say("+OK ready"); f.drain(); return ignoreNetErr(err) },
			op:     "tls handshake", explain: ExplainCleartextOnImplict,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pki := validPKI(t)
			srv := startFake(t, pki, false, false, tc.script)
			o := pop3Options(srv.addr, pki, tc.mode)
			if tc.opts != nil {
				tc.opts(&o)
			}
			runFailing(t, srv, o, tc.op, tc.explain)
		})
	}
}
