package sessions_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

// End-to-end: mailwire's SMTP driver against the real lab servers.

func startLab(t *testing.T) *lab.Lab {
	t.Helper()
	l, err := lab.Start(context.Background(), lab.Options{
		ListenHost: "127.0.0.1", AnyPort: true, StateDir: t.TempDir(), Logf: t.Logf,
	})
	if err != nil {
		t.Fatalf("lab: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func labOptions(t *testing.T, l *lab.Lab, port int) sessions.Options {
	t.Helper()
	ep, ok := l.Endpoint(port)
	if !ok {
		t.Fatalf("no lab endpoint %d", port)
	}
	o, err := sessions.OptionsForPort(ep.Addr, port)
	if err != nil {
		t.Fatal(err)
	}
	o.ServerName = lab.Hostname
	o.Verify, o.RootCAs = wire.VerifyPool, l.RootCAs()
	o.Username, o.Password = lab.DemoUser, lab.DemoPassword
	o.To, o.Fetch = lab.DemoRecipient, true // the lab's full demo
	o.EHLOName = "client.test"
	o.ReadTimeout, o.SessionTimeout = 3*time.Second, 15*time.Second
	return o
}

func annotated(evs []wire.Event, ann string) *wire.Event {
	for i := range evs {
		if evs[i].Annotation == ann {
			return &evs[i]
		}
	}
	return nil
}

func TestLabSMTP(t *testing.T) {
	l := startLab(t)
	for _, tc := range []struct {
		name string
		port int
		mech string
	}{
		{"25 transfer", 25, ""},
		{"587 submission PLAIN", 587, protocol.AuthPlain},
		{"587 submission LOGIN", 587, protocol.AuthLogin},
		{"465 submissions", 465, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := labOptions(t, l, tc.port)
			o.AuthMechanism = tc.mech
			evs, err := sessions.Collect(context.Background(), o)
			if err != nil {
				t.Fatalf("%v\n%s", err, text(evs))
			}
			st := annotated(evs, "tls.state")
			if st == nil || !st.TLS.Verified {
				t.Fatalf("no verified TLS\n%s", text(evs))
			}
			// Run returned nil, so DATA got its 250; the session must
			// also have ended with QUIT answered.
			bye := false
			for _, ev := range evs {
				if ev.Kind == wire.KindLine && ev.Dir == wire.ServerToClient {
					bye = bye || ev.Line.Code == "221"
				}
				if ev.Visible == wire.VisibleAnyone && bytes.Contains(ev.Raw, []byte(lab.DemoPassword)) {
					t.Errorf("password visible: %q", ev.Text)
				}
			}
			if !bye {
				t.Errorf("no 221\n%s", text(evs))
			}
			if testing.Verbose() {
				t.Log("\n" + text(evs))
			}
			if tc.port == 587 {
				n := annotated(evs, "smtp.note.capabilities_changed")
				if n == nil || !strings.Contains(n.Text, "AUTH") {
					t.Errorf("capability note: %+v", n)
				}
			}
		})
	}
}

func TestLabSMTPMismatches(t *testing.T) {
	l := startLab(t)
	for _, tc := range []struct {
		name    string
		port    int
		mode    sessions.TLSMode
		explain string
	}{
		{"implicit TLS to 587", 587, sessions.TLSImplicit, "mismatch.cleartext_on_implicit"},
		{"STARTTLS to 465", 465, sessions.TLSStartTLS, "mismatch.silent_greeting"},
		{"cleartext MAIL on 587", 587, sessions.TLSNone, "smtp.reply.530"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := labOptions(t, l, tc.port)
			o.TLSMode = tc.mode
			o.ReadTimeout = 500 * time.Millisecond
			evs, err := sessions.Collect(context.Background(), o)
			if err == nil {
				t.Fatalf("no error\n%s", text(evs))
			}
			var got string
			for _, ev := range evs {
				if ev.Kind == wire.KindError && ev.Dir == wire.Local {
					got = ev.Err.Explain
					break
				}
			}
			if got != tc.explain {
				t.Errorf("explain %q, want %q\n%s", got, tc.explain, text(evs))
			}
		})
	}
}

func text(evs []wire.Event) string {
	var b strings.Builder
	for _, ev := range evs {
		b.WriteString(string(ev.Kind) + " " + string(ev.Dir) + " " + ev.Annotation + " " + wire.SafeString(ev.Text) + "\n")
	}
	return b.String()
}
