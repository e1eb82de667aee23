package sessions

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mailwire/mailwire/sessions/certs"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

const (
	ehloBeforeTLS = "250-mail.lab.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n250 8BITMIME"
	ehloAfterTLS  = "250-mail.lab.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME"
)

// submissionScript is a well-behaved 587 server. pre runs after the
// greeting is sent and before anything else (for injections).
func submissionScript(mech string) func(f *fakeConn) error {
	return func(f *fakeConn) error {
		steps := []func() error{
			func() error { return f.say("220 mail.lab.test ESMTP fake") },
			func() error { _, err := f.expect("EHLO client.test\r\n"); return err },
			func() error { return f.say(ehloBeforeTLS) },
			func() error { _, err := f.expect("STARTTLS\r\n"); return err },
			func() error { return f.say("220 2.0.0 Ready to start TLS") },
			f.startTLS,
			func() error { _, err := f.expect("EHLO client.test\r\n"); return err },
			func() error { return f.say(ehloAfterTLS) },
		}
		steps = append(steps, authSteps(f, mech)...)
		steps = append(steps, deliverySteps(f)...)
		for i, step := range steps {
			if err := step(); err != nil {
				return fmt.Errorf("step %d: %w", i, err)
			}
		}
		f.drain()
		return nil
	}
}

func authSteps(f *fakeConn, mech string) []func() error {
	if mech == protocol.AuthLogin {
		return []func() error{
			func() error { _, err := f.expect("AUTH LOGIN\r\n"); return err },
			func() error { return f.say("334 VXNlcm5hbWU6") },
			func() error { _, err := f.expect(base64.StdEncoding.EncodeToString([]byte("learner"))); return err },
			func() error { return f.say("334 UGFzc3dvcmQ6") },
			func() error {
				_, err := f.expect(base64.StdEncoding.EncodeToString([]byte("correct-horse")))
				return err
			},
			func() error { return f.say("235 2.7.0 Authentication successful") },
		}
	}
	return []func() error{
		func() error {
			_, err := f.expect("AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00learner\x00correct-horse")) + "\r\n")
			return err
		},
		func() error { return f.say("235 2.7.0 Authentication successful") },
	}
}

func deliverySteps(f *fakeConn) []func() error {
	return []func() error{
		func() error { _, err := f.expect("MAIL FROM:<learner@mail.lab.test>\r\n"); return err },
		func() error { return f.say("250 2.1.0 Ok") },
		func() error { _, err := f.expect("RCPT TO:<learner@mail.lab.test>\r\n"); return err },
		func() error { return f.say("250 2.1.5 Ok") },
		func() error { _, err := f.expect("DATA\r\n"); return err },
		func() error { return f.say("354 End data with <CR><LF>.<CR><LF>") },
		func() error {
			body, err := f.readData()
			if err == nil && !bytes.Contains(body, []byte("Subject: mailwire test message\r\n")) {
				err = fmt.Errorf("body without subject: %q", body)
			}
			return err
		},
		func() error { return f.say("250 2.0.0 Ok: queued as 1234") },
		func() error { _, err := f.expect("QUIT\r\n"); return err },
		func() error { return f.say("221 2.0.0 Bye") },
	}
}

func TestSMTPSubmissionFlow(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mech    string
		oneByte bool
	}{
		{"plain", protocol.AuthPlain, false},
		{"login", protocol.AuthLogin, false},
		{"plain one byte at a time", protocol.AuthPlain, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pki := validPKI(t)
			srv := startFake(t, pki, false, tc.oneByte, submissionScript(tc.mech))
			o := testOptions(srv.addr, pki, TLSStartTLS, RoleSubmission)
			o.AuthMechanism = tc.mech
			var rec *wireRecorder
			o.Dial = recordingDialer(&rec)
			evs, err := run(t, o)
			srv.wait(t)
			if err != nil {
				t.Fatalf("Run: %v\n%s", err, dump(evs))
			}
			assertSubmissionStream(t, evs, tc.mech)
			assertWireMatchesEvents(t, evs, rec)
			assertPasswordHidden(t, evs, rec, "correct-horse")
		})
	}
}

// assertSubmissionStream checks the order and layers of a 587 session.
func assertSubmissionStream(t *testing.T, evs []wire.Event, mech string) {
	t.Helper()
	defer func() {
		if t.Failed() {
			t.Log("\n" + dump(evs))
		}
	}()
	if evs[0].Kind != wire.KindConnect || !strings.Contains(evs[0].Text, "127.0.0.1") {
		t.Errorf("first event: %+v", evs[0])
	}
	i := find(evs, 0, isLine(wire.ServerToClient, "220 mail.lab.test"))
	if i < 0 || evs[i].Layer != wire.LayerCleartext || evs[i].Visible != wire.VisibleAnyone || evs[i].Line.Code != "220" ||
		evs[i].Annotation != "smtp.reply.220" || string(evs[i].Raw) != "220 mail.lab.test ESMTP fake\r\n" {
		t.Fatalf("greeting: %d", i)
	}
	i = find(evs, i, isLine(wire.ClientToServer, "EHLO"))
	if i < 0 || evs[i].Layer != wire.LayerCleartext || evs[i].Text != "EHLO client.test" || evs[i].Annotation != "smtp.cmd.ehlo" ||
		evs[i].Line.Command != "EHLO" {
		t.Fatalf("cleartext EHLO: %d", i)
	}
	i = find(evs, i, isLine(wire.ServerToClient, "250-"))
	if i < 0 || !strings.Contains(strings.Join(evs[i].Line.Capabilities, ","), "STARTTLS") ||
		!strings.Contains(strings.Join(evs[i].Also, ","), "smtp.ext.starttls") ||
		string(evs[i].Raw) != ehloBeforeTLS+"\r\n" {
		t.Fatalf("EHLO reply: %d", i)
	}
	i = find(evs, i, isLine(wire.ClientToServer, "STARTTLS"))
	if i < 0 || evs[i].Layer != wire.LayerCleartext {
		t.Fatalf("STARTTLS: %d", i)
	}
	i = find(evs, i, isLine(wire.ServerToClient, "220 2.0.0"))
	if i < 0 || evs[i].Line.Enhanced != "2.0.0" {
		t.Fatalf("STARTTLS reply: %d", i)
	}
	if evs[i+1].Kind != wire.KindBoundary {
		t.Fatalf("event after the STARTTLS reply is %s, want boundary", evs[i+1].Kind)
	}
	boundary := i + 1
	ch := find(evs, boundary, func(ev wire.Event) bool { return ev.Kind == wire.KindHandshake && ev.Handshake.Type == "client_hello" })
	if ch < 0 || evs[ch].Dir != wire.ClientToServer {
		t.Fatalf("no ClientHello after the boundary")
	}
	sni := false
	for _, f := range evs[ch].Handshake.Fields {
		sni = sni || (f.Value == "mail.lab.test")
	}
	if !sni {
		t.Errorf("ClientHello without SNI mail.lab.test: %+v", evs[ch].Handshake.Fields)
	}
	if find(evs, ch, func(ev wire.Event) bool { return ev.Kind == wire.KindHandshake && ev.Handshake.Type == "server_hello" }) < 0 {
		t.Errorf("no ServerHello")
	}
	st := find(evs, ch, isKind(wire.KindTLSState))
	if st < 0 || !evs[st].TLS.Verified || evs[st].TLS.Version != "TLS 1.3" || evs[st].TLS.ServerName != "mail.lab.test" ||
		len(evs[st].TLS.PeerChain) != 2 || evs[st].TLS.VerifyMethod != string(wire.VerifyPool) {
		t.Fatalf("TLS state: %d", st)
	}
	// After the boundary, nothing is cleartext any more.
	for _, ev := range evs[boundary:] {
		if ev.Layer == wire.LayerCleartext {
			t.Errorf("cleartext event after STARTTLS: %s %q", ev.Kind, ev.Text)
		}
		if ev.Kind == wire.KindLine && (ev.Layer != wire.LayerDecrypted || ev.Visible != wire.VisibleEndpoints) {
			t.Errorf("line after TLS not decrypted/endpoints: %q", ev.Text)
		}
	}
	ehlo2 := find(evs, st, isLine(wire.ClientToServer, "EHLO"))
	if ehlo2 < 0 {
		t.Fatalf("no EHLO after TLS")
	}
	// Each decrypted client line is followed by the encrypted record that
	// carried it.
	if j := find(evs, ehlo2, isKind(wire.KindEncrypted)); j < 0 || evs[j].Dir != wire.ClientToServer {
		t.Errorf("no encrypted record after the decrypted EHLO")
	}
	note := find(evs, ehlo2, func(ev wire.Event) bool { return ev.Annotation == "smtp.note.capabilities_changed" })
	if note < 0 || !strings.Contains(evs[note].Text, "added after TLS: AUTH PLAIN LOGIN") ||
		!strings.Contains(evs[note].Text, "gone after TLS: STARTTLS") {
		t.Errorf("capability note: %d", note)
	}
	auth := find(evs, ehlo2, func(ev wire.Event) bool { return ev.Credential != nil && ev.Credential.Password != "" })
	if auth < 0 {
		t.Fatalf("no credential event")
	}
	cr := evs[auth].Credential
	if cr.Username != "learner" || cr.Password != "correct-horse" || cr.OnWire || cr.Mechanism != "AUTH "+mech {
		t.Errorf("credential: %+v", cr)
	}
	for _, want := range []string{"MAIL FROM:", "RCPT TO:", "DATA", "Date: ", "QUIT"} {
		if find(evs, auth, isLine(wire.ClientToServer, want)) < 0 {
			t.Errorf("no %q line after AUTH", want)
		}
	}
	if find(evs, auth, isLine(wire.ServerToClient, "221 ")) < 0 {
		t.Errorf("no 221")
	}
	// close_notify goes out as an encrypted alert record.
	if j := find(evs, auth, func(ev wire.Event) bool {
		return ev.Kind == wire.KindEncrypted && ev.Dir == wire.ClientToServer && ev.Annotation == "tls.encrypted.handshake_or_application_data"
	}); j < 0 {
		t.Errorf("no encrypted record for close_notify")
	}
	if e := errorEvent(evs); e != nil {
		t.Errorf("unexpected error: %+v", e.Err)
	}
	if c := evs[len(evs)-1]; !strings.HasPrefix(c.Text, "client closed the connection;") {
		t.Errorf("close: %q", c.Text)
	}
}

// assertWireMatchesEvents checks that the stream holds every byte that
// crossed the wire: the cleartext lines, the injected bytes and then the
// TLS records, in order, per direction.
func assertWireMatchesEvents(t *testing.T, evs []wire.Event, rec *wireRecorder) {
	t.Helper()
	var in, out bytes.Buffer
	for _, ev := range evs {
		onWire := (ev.Kind == wire.KindLine && ev.Layer == wire.LayerCleartext) ||
			ev.Kind == wire.KindRecord || ev.Kind == wire.KindEncrypted ||
			(ev.Kind == wire.KindNote && ev.Layer == wire.LayerCleartext)
		if !onWire {
			continue
		}
		switch ev.Dir {
		case wire.ClientToServer:
			out.Write(ev.Raw)
		case wire.ServerToClient:
			in.Write(ev.Raw)
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if !bytes.Equal(out.Bytes(), rec.out.Bytes()) {
		t.Errorf("c2s events hold %d bytes, the wire carried %d", out.Len(), rec.out.Len())
	}
	if !bytes.Equal(in.Bytes(), rec.in.Bytes()) {
		t.Errorf("s2c events hold %d bytes, the wire carried %d", in.Len(), rec.in.Len())
	}
}

// assertPasswordHidden checks that neither the password nor any base64
// form of it is readable on the wire or in an event an observer can read.
func assertPasswordHidden(t *testing.T, evs []wire.Event, rec *wireRecorder, pw string) {
	t.Helper()
	forms := [][]byte{[]byte(pw), []byte(base64.StdEncoding.EncodeToString([]byte(pw)))}
	plain := base64.StdEncoding.EncodeToString([]byte("\x00learner\x00" + pw))
	forms = append(forms, []byte(plain))
	for _, ev := range evs {
		if ev.Visible != wire.VisibleAnyone && ev.Visible != wire.VisibleMetadata {
			continue
		}
		for _, f := range forms {
			if bytes.Contains(ev.Raw, f) || strings.Contains(ev.Text, string(f)) {
				t.Errorf("password readable in %s event %d %q", ev.Visible, ev.Seq, ev.Text)
			}
		}
		if ev.Credential != nil {
			t.Errorf("credential on an observer-visible event %d", ev.Seq)
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, f := range forms {
		if bytes.Contains(rec.out.Bytes(), f) {
			t.Errorf("password form %q on the wire", f)
		}
	}
}

func TestSMTPImplicitTLS465(t *testing.T) {
	pki := validPKI(t)
	srv := startFake(t, pki, true, false, func(f *fakeConn) error {
		if err := f.say("220 mail.lab.test ESMTP fake"); err != nil {
			return err
		}
		if _, err := f.expect("EHLO client.test"); err != nil {
			return err
		}
		if err := f.say(ehloAfterTLS); err != nil {
			return err
		}
		for _, step := range append(authSteps(f, protocol.AuthPlain), deliverySteps(f)...) {
			if err := step(); err != nil {
				return err
			}
		}
		f.drain()
		return nil
	})
	o := testOptions(srv.addr, pki, TLSImplicit, RoleSubmission)
	var rec *wireRecorder
	o.Dial = recordingDialer(&rec)
	evs, err := run(t, o)
	srv.wait(t)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, dump(evs))
	}
	// TLS from the first byte: the boundary comes right after connect, and
	// there is no cleartext at all.
	if evs[1].Kind != wire.KindBoundary || evs[1].Annotation != "tls.boundary.implicit" {
		t.Errorf("event 2: %s %q", evs[1].Kind, evs[1].Text)
	}
	for _, ev := range evs {
		if ev.Layer == wire.LayerCleartext {
			t.Errorf("cleartext event on implicit TLS: %q", ev.Text)
		}
	}
	if i := find(evs, 0, isLine(wire.ServerToClient, "220 ")); i < 0 || evs[i].Layer != wire.LayerDecrypted {
		t.Errorf("greeting not a decrypted line\n%s", dump(evs))
	}
	if find(evs, 0, func(ev wire.Event) bool { return ev.Annotation == "smtp.note.capabilities_changed" }) >= 0 {
		t.Errorf("capability note without STARTTLS")
	}
	assertWireMatchesEvents(t, evs, rec)
	assertPasswordHidden(t, evs, rec, "correct-horse")
}

func TestSMTPTransferNoTLSNoAuth(t *testing.T) {
	pki := validPKI(t)
	srv := startFake(t, pki, false, false, func(f *fakeConn) error {
		steps := []func() error{
			func() error { return f.say("220 mx.test ESMTP") },
			func() error { _, err := f.expect("EHLO client.test"); return err },
			func() error { return f.say("250-mx.test", "250-AUTH PLAIN", "250 PIPELINING") },
		}
		for _, step := range append(steps, deliverySteps(f)...) {
			if err := step(); err != nil {
				return err
			}
		}
		return nil
	})
	o := testOptions(srv.addr, pki, TLSNone, RoleSubmission)
	o.From = "learner@mail.lab.test"
	evs, err := run(t, o)
	srv.wait(t)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, dump(evs))
	}
	// RFC 8314 §3: the client holds the password back on a cleartext
	// channel even though the server offers AUTH.
	if find(evs, 0, func(ev wire.Event) bool { return ev.Annotation == "smtp.note.auth_refused_cleartext" }) < 0 {
		t.Errorf("no note about refusing cleartext AUTH\n%s", dump(evs))
	}
	for _, ev := range evs {
		if ev.Credential != nil || bytes.Contains(ev.Raw, []byte("AUTH PLAIN ")) {
			t.Errorf("credential sent in cleartext: %q", ev.Text)
		}
	}
}

func TestSMTPCleartextAuthMarkedOnWire(t *testing.T) {
	pki := validPKI(t)
	srv := startFake(t, pki, false, false, func(f *fakeConn) error {
		steps := []func() error{
			func() error { return f.say("220 mx.test ESMTP") },
			func() error { _, err := f.expect("EHLO client.test"); return err },
			func() error { return f.say("250-mx.test", "250 AUTH PLAIN LOGIN") },
		}
		for _, step := range append(append(steps, authSteps(f, protocol.AuthPlain)...), deliverySteps(f)...) {
			if err := step(); err != nil {
				return err
			}
		}
		return nil
	})
	o := testOptions(srv.addr, pki, TLSNone, RoleSubmission)
	o.AllowCleartextAuth = true
	evs, err := run(t, o)
	srv.wait(t)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, dump(evs))
	}
	i := find(evs, 0, func(ev wire.Event) bool { return ev.Credential != nil })
	if i < 0 || !evs[i].Credential.OnWire || evs[i].Visible != wire.VisibleAnyone || evs[i].Credential.Password != "correct-horse" {
		t.Fatalf("cleartext credential not marked on wire\n%s", dump(evs))
	}
}

// TestSMTPResponseInjection: a server (or a man in the middle) pipelines a
// fake reply after "220 Ready to start TLS". The client must not read it as
// the first TLS-protected reply (STARTTLS injection class, CVE-2011-0411).
func TestSMTPResponseInjection(t *testing.T) {
	pki := validPKI(t)
	const injected = "250-evil.test\r\n250 AUTH PLAIN\r\n"
	srv := startFake(t, pki, false, false, func(f *fakeConn) error {
		steps := []func() error{
			func() error { return f.say("220 mail.lab.test ESMTP fake") },
			func() error { _, err := f.expect("EHLO client.test\r\n"); return err },
			func() error { return f.say(ehloBeforeTLS) },
			func() error { _, err := f.expect("STARTTLS\r\n"); return err },
			// One write: the reply and the injection arrive together.
			func() error { return f.write([]byte("220 2.0.0 Ready to start TLS\r\n" + injected)) },
			f.startTLS,
			func() error { _, err := f.expect("EHLO client.test\r\n"); return err },
			func() error { return f.say(ehloAfterTLS) },
		}
		steps = append(steps, authSteps(f, protocol.AuthPlain)...)
		for _, step := range append(steps, deliverySteps(f)...) {
			if err := step(); err != nil {
				return err
			}
		}
		f.drain()
		return nil
	})
	o := testOptions(srv.addr, pki, TLSStartTLS, RoleSubmission)
	var rec *wireRecorder
	o.Dial = recordingDialer(&rec)
	evs, err := run(t, o)
	srv.wait(t)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, dump(evs))
	}
	i := find(evs, 0, func(ev wire.Event) bool { return ev.Annotation == "smtp.note.response_injection_discarded" })
	if i < 0 || string(evs[i].Raw) != injected || evs[i+1].Kind != wire.KindBoundary {
		t.Fatalf("injection note missing or misplaced\n%s", dump(evs))
	}
	for _, ev := range evs[i+1:] {
		if ev.Kind == wire.KindLine && bytes.Contains(ev.Raw, []byte("evil.test")) {
			t.Errorf("injected reply read as a line after TLS: %q", ev.Text)
		}
	}
	assertWireMatchesEvents(t, evs, rec)
}

func TestSMTPFailures(t *testing.T) {
	greetEHLO := func(f *fakeConn, ehlo string) error {
		if err := f.say("220 mail.lab.test ESMTP"); err != nil {
			return err
		}
		if _, err := f.expect("EHLO"); err != nil {
			return err
		}
		return f.say(ehlo)
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
			name: "421 at greeting", mode: TLSStartTLS,
			script:  func(f *fakeConn) error { return f.say("421 4.3.2 Service shutting down") },
			op:      "read greeting",
			explain: "smtp.reply.421",
		},
		{
			name: "421 mid-session", mode: TLSNone,
			script: func(f *fakeConn) error {
				if err := greetEHLO(f, "250 mail.lab.test"); err != nil {
					return err
				}
				if _, err := f.expect("MAIL FROM:"); err != nil {
					return err
				}
				return f.say("421-4.4.2 mail.lab.test Error: timeout exceeded", "421 4.4.2 closing")
			},
			op: "read MAIL reply", explain: "smtp.reply.421",
		},
		{
			name: "early close after EHLO", mode: TLSStartTLS,
			script: func(f *fakeConn) error {
				if err := f.say("220 mail.lab.test ESMTP"); err != nil {
					return err
				}
				_, err := f.expect("EHLO")
				return err // and close
			},
			op: "read EHLO reply", explain: ExplainClosedEarly,
		},
		{
			name: "close mid-line", mode: TLSStartTLS,
			script: func(f *fakeConn) error { return f.write([]byte("220 mail.lab")) },
			op:     "read greeting", explain: ExplainClosedEarly,
		},
		{
			name: "line too long", mode: TLSStartTLS,
			script: func(f *fakeConn) error {
				err := f.write([]byte("220 " + strings.Repeat("x", 10000) + "\r\n"))
				f.drain()
				return ignoreNetErr(err)
			},
			op: "read greeting", explain: ExplainLineTooLong,
		},
		{
			name: "too many lines", mode: TLSStartTLS,
			script: func(f *fakeConn) error {
				err := f.write([]byte(strings.Repeat("220-hello\r\n", 500)))
				f.drain()
				return ignoreNetErr(err)
			},
			op: "read greeting", explain: ExplainReplyTooLong,
		},
		{
			name: "malformed reply", mode: TLSStartTLS,
			script: func(f *fakeConn) error { err := f.say("hello there"); f.drain(); return err },
			op:     "read greeting", explain: ExplainMalformed,
		},
		{
			name: "mixed codes", mode: TLSStartTLS,
			script: func(f *fakeConn) error { err := f.say("220-a", "250 b"); f.drain(); return err },
			op:     "read greeting", explain: ExplainMalformed,
		},
		{
			name: "silent server", mode: TLSStartTLS,
			script: func(f *fakeConn) error { f.drain(); return nil },
			op:     "read greeting", explain: ExplainSilentGreeting,
			opts: func(o *Options) { o.ReadTimeout = 200 * time.Millisecond },
		},
		{
			name: "silent after EHLO", mode: TLSStartTLS,
			script: func(f *fakeConn) error {
				if err := f.say("220 mail.lab.test ESMTP"); err != nil {
					return err
				}
				f.drain()
				return nil
			},
			op: "read EHLO reply", explain: ExplainTimeout,
			opts: func(o *Options) { o.ReadTimeout = 200 * time.Millisecond },
		},
		{
			name: "session deadline", mode: TLSStartTLS,
			script: func(f *fakeConn) error {
				// A slow drip: each read succeeds within ReadTimeout, but
				// the session as a whole runs out.
				for range 100 {
					if f.write([]byte("2")) != nil {
						return nil
					}
					time.Sleep(50 * time.Millisecond)
				}
				return nil
			},
			op: "read greeting", explain: ExplainTimeout,
			opts: func(o *Options) { o.SessionTimeout = 300 * time.Millisecond },
		},
		{
			name: "no STARTTLS offered", mode: TLSStartTLS,
			script: func(f *fakeConn) error {
				if err := greetEHLO(f, "250-mail.lab.test\r\n250 PIPELINING"); err != nil {
					return err
				}
				_, err := f.expect("QUIT")
				if err == nil {
					err = f.say("221 bye")
				}
				return err
			},
			op: "starttls", explain: ExplainNoStartTLS,
		},
		{
			name: "STARTTLS refused", mode: TLSStartTLS,
			script: func(f *fakeConn) error {
				if err := greetEHLO(f, ehloBeforeTLS); err != nil {
					return err
				}
				if _, err := f.expect("STARTTLS"); err != nil {
					return err
				}
				if err := f.say("454 4.7.0 TLS not available due to local problem"); err != nil {
					return err
				}
				_, err := f.expect("QUIT")
				if err == nil {
					err = f.say("221 bye")
				}
				return err
			},
			op: "starttls", explain: "smtp.reply.454",
		},
		{
			name: "cleartext greeting on implicit TLS", mode: TLSImplicit,
			script: func(f *fakeConn) error { err := f.say("220 mail.lab.test ESMTP"); f.drain(); return ignoreNetErr(err) },
			op:     "tls handshake", explain: ExplainCleartextOnImplict,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pki := validPKI(t)
			srv := startFake(t, pki, false, false, tc.script)
			o := testOptions(srv.addr, pki, tc.mode, RoleSubmission)
			if tc.opts != nil {
				tc.opts(&o)
			}
			_, e := runFailing(t, srv, o, tc.op, tc.explain)
			if e.Annotation != tc.explain {
				t.Errorf("error annotation %q", e.Annotation)
			}
		})
	}
}

func ignoreNetErr(err error) error {
	if err != nil && (strings.Contains(err.Error(), "reset") || strings.Contains(err.Error(), "broken pipe")) {
		return nil
	}
	return err
}

func TestSMTPVerification(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name    string
		pki     func(t *testing.T) testPKI
		pool    func(p testPKI) Options
		explain string
	}{
		{"hostname", func(t *testing.T) testPKI {
			return newTestPKI(t, []string{"other.test"}, now.Add(-time.Hour), now.Add(time.Hour))
		}, nil, certs.WrongName.Key()},
		{"expired", func(t *testing.T) testPKI {
			return newTestPKI(t, []string{"mail.lab.test"}, now.Add(-48*time.Hour), now.Add(-24*time.Hour))
		}, nil, certs.Expired.Key()},
		{"unknown authority", func(t *testing.T) testPKI { return validPKI(t) }, func(p testPKI) Options {
			return Options{Verify: wire.VerifyPool, RootCAs: validPKI(t).pool}
		}, certs.UnknownAuthority.Key()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pki := tc.pki(t)
			srv := startFake(t, pki, true, false, func(f *fakeConn) error { f.drain(); return nil })
			o := testOptions(srv.addr, pki, TLSImplicit, RoleSubmission)
			if tc.pool != nil {
				o.RootCAs = tc.pool(pki).RootCAs
			}
			evs, err := run(t, o)
			<-srv.done // the server's handshake fails too; its error is expected
			if err == nil {
				t.Fatalf("no error\n%s", dump(evs))
			}
			e := errorEvent(evs)
			if e == nil || e.Err.Explain != tc.explain || e.Err.Op != "verify certificate" {
				t.Fatalf("error %+v, want %s\n%s", e, tc.explain, dump(evs))
			}
			// The refused chain travels with the error, so a printer or
			// the TUI can show which certificate failed and why.
			if e.TLS == nil || e.TLS.Chain == nil || e.TLS.Chain.Key() != tc.explain || e.TLS.Verified ||
				e.TLS.Version == "" || len(e.TLS.Chain.Certs) == 0 {
				t.Fatalf("error event's TLS state %+v, want the chain that failed with %s", e.TLS, tc.explain)
			}
		})
	}
}

func TestSMTPVerifyOffWarns(t *testing.T) {
	pki := newTestPKI(t, []string{"other.test"}, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	srv := startFake(t, pki, true, false, func(f *fakeConn) error {
		if err := f.say("421 4.3.2 not today"); err != nil {
			return err
		}
		f.drain()
		return nil
	})
	o := testOptions(srv.addr, pki, TLSImplicit, RoleSubmission)
	o.Verify = wire.VerifyOff
	evs, _ := run(t, o)
	srv.wait(t)
	st := find(evs, 0, isKind(wire.KindTLSState))
	if st < 0 || evs[st].TLS.Verified || !strings.Contains(evs[st].TLS.VerifyError, "other.test") {
		t.Fatalf("TLS state should record the failed check\n%s", dump(evs))
	}
	w := find(evs, st, func(ev wire.Event) bool { return ev.Annotation == "tls.verify.off" })
	if w < 0 || !strings.Contains(evs[w].Text, "WARNING") {
		t.Fatalf("no loud warning\n%s", dump(evs))
	}
}

func TestDialRefused(t *testing.T) {
	// Find a free port, then close it so nothing listens.
	srv := startFake(t, validPKI(t), false, false, func(f *fakeConn) error { return nil })
	srv.ln.Close()
	o := testOptions(srv.addr, validPKI(t), TLSStartTLS, RoleSubmission)
	evs, err := Collect(context.Background(), o)
	checkStream(t, evs)
	if err == nil {
		t.Fatal("no error")
	}
	if e := errorEvent(evs); e == nil || e.Err.Op != "dial" || e.Err.Explain != ExplainRefused {
		t.Fatalf("%+v\n%s", e, dump(evs))
	}
}

func TestCancel(t *testing.T) {
	pki := validPKI(t)
	srv := startFake(t, pki, false, false, func(f *fakeConn) error { f.drain(); return nil })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := Stream(ctx, testOptions(srv.addr, pki, TLSStartTLS, RoleSubmission))
	var evs []wire.Event
	for ev := range ch {
		evs = append(evs, ev)
		if ev.Kind == wire.KindConnect {
			cancel()
		}
	}
	checkStream(t, evs)
	if e := errorEvent(evs); e == nil || e.Err.Explain != ExplainCancelled {
		t.Fatalf("%+v\n%s", e, dump(evs))
	}
}

func TestOptionsDefaults(t *testing.T) {
	o, err := OptionsForPort("127.0.0.1:10465", 465)
	if err != nil || o.TLSMode != TLSImplicit || o.Role != RoleSubmission || o.Proto != protocol.SMTP {
		t.Fatalf("%+v %v", o, err)
	}
	if _, err := OptionsForPort("x:1", 26); err == nil {
		t.Error("port 26 accepted")
	}
	d, err := Options{Target: "mail.example.org:25"}.withDefaults()
	if err != nil || d.Role != RoleTransfer || d.ServerName != "mail.example.org" || d.EHLOName == "" {
		t.Fatalf("%+v %v", d, err)
	}
	for _, bad := range []Options{
		{Target: "nohost"},
		{Target: "h:25", EHLOName: "a b"},
		{Target: "h:25", To: "x@y\r\nRCPT TO:<z>"},
		{Target: "h:25", TLSMode: "sometimes"},
		{Target: "h:25", AuthMechanism: "CRAM-MD5"},
	} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
	if !looksLikeFQDN("mx1.example.org") || looksLikeFQDN("laptop") || looksLikeFQDN("a..b") || looksLikeFQDN("-a.b") {
		t.Error("looksLikeFQDN")
	}
}

func TestRootsForCAFile(t *testing.T) {
	dir := t.TempDir()
	pki := validPKI(t)
	good := dir + "/ca.pem"
	if err := os.WriteFile(good, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: pki.cert.Certificate[1]}), 0o600); err != nil {
		t.Fatal(err)
	}
	junk := dir + "/junk.pem"
	os.WriteFile(junk, []byte("not pem"), 0o600)
	// A file past the bound is refused before it is parsed, even when
	// it starts with a good certificate.
	huge := dir + "/huge.pem"
	good1, _ := os.ReadFile(good)
	os.WriteFile(huge, append(good1, make([]byte, maxCAFile)...), 0o600)
	if _, err := LoadCAFile(huge); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized CA file: %v", err)
	}
	if p, err := rootsFor(Options{Verify: wire.VerifyCAFile, CAFile: good}); err != nil || p == nil {
		t.Errorf("good file: %v", err)
	}
	for _, bad := range []Options{
		{Verify: wire.VerifyCAFile, CAFile: junk},
		{Verify: wire.VerifyCAFile, CAFile: huge},
		{Verify: wire.VerifyCAFile, CAFile: dir + "/missing.pem"},
		{Verify: wire.VerifyPool},
		{Verify: "maybe"},
	} {
		if _, err := rootsFor(bad); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
	// The CA file verifies a real session.
	srv := startFake(t, pki, true, false, func(f *fakeConn) error { return f.say("421 4.3.2 not today") })
	o := testOptions(srv.addr, pki, TLSImplicit, RoleSubmission)
	o.RootCAs, o.Verify, o.CAFile = nil, wire.VerifyCAFile, good
	evs, _ := run(t, o)
	srv.wait(t)
	if st := find(evs, 0, isKind(wire.KindTLSState)); st < 0 || !evs[st].TLS.Verified || evs[st].TLS.VerifyMethod != "CA file" {
		t.Errorf("CA file verification\n%s", dump(evs))
	}
}

func TestUnreadBytesReported(t *testing.T) {
	pki := validPKI(t)
	srv := startFake(t, pki, false, false, func(f *fakeConn) error {
		// The greeting and, in the same write, a reply nobody asked for.
		return f.write([]byte("554 5.3.2 go away\r\n250 unsolicited\r\n"))
	})
	o := testOptions(srv.addr, pki, TLSNone, RoleSubmission)
	var rec *wireRecorder
	o.Dial = recordingDialer(&rec)
	evs, err := run(t, o)
	srv.wait(t)
	if e := errorEvent(evs); err == nil || e == nil || e.Err.Explain != "smtp.reply.554" {
		t.Fatalf("%v\n%s", err, dump(evs))
	}
	i := find(evs, 0, func(ev wire.Event) bool { return ev.Annotation == "session.note.unread_bytes" })
	if i < 0 || string(evs[i].Raw) != "250 unsolicited\r\n" || evs[i].Visible != wire.VisibleAnyone {
		t.Fatalf("unread bytes not reported\n%s", dump(evs))
	}
	assertWireMatchesEvents(t, evs, rec)
}
