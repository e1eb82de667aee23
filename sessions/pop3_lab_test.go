package sessions_test

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/lab"
)

// End-to-end: the POP3 driver against the lab's POP3 server on 110 and 995.

func TestLabPOP3(t *testing.T) {
	l := startLab(t)
	for _, port := range []int{110, 995} {
		t.Run(sessions.ProtoPOP3+" "+strconv.Itoa(port), func(t *testing.T) {
			o := labOptions(t, l, port)
			evs, err := sessions.Collect(context.Background(), o)
			if err != nil {
				t.Fatalf("%v\n%s", err, text(evs))
			}
			if testing.Verbose() {
				t.Log("\n" + text(evs))
			}
			cleartext := []string{"+OK", "CAPA", "+OK", "STLS", "+OK"}
			if port == 995 {
				cleartext = nil
			}
			assertLabRetrieval(t, evs, cleartext, "PASS ", "USER/PASS")
			if port == 110 {
				n := annotated(evs, "pop3.note.capabilities_changed")
				if n == nil || !strings.Contains(n.Text, "added after TLS: USER, SASL PLAIN") || !strings.Contains(n.Text, "STLS") {
					t.Errorf("capability note: %+v\n%s", n, text(evs))
				}
			}
			var retr bool
			for _, ev := range evs {
				retr = retr || ev.Kind == sessions.KindLine && ev.Dir == sessions.ClientToServer && string(ev.Raw) == "RETR 1\r\n"
			}
			if !retr {
				t.Errorf("no RETR 1 (the lab seeds messages)\n%s", text(evs))
			}
		})
	}
}

// assertLabRetrieval checks a retrieval session's stream: the cleartext
// lines expected before TLS (their prefixes, in order; nil for implicit
// TLS), the boundary, a ClientHello with SNI mail.lab.test and a
// ServerHello, then only TLS on the wire while decrypted lines carry the
// credential (credPrefix, mechanism); the password is never readable in an
// event an observer could see; the protocol ended as intended.
func assertLabRetrieval(t *testing.T, evs []sessions.Event, cleartext []string, credPrefix, mech string) {
	t.Helper()
	defer func() {
		if t.Failed() {
			t.Log("\n" + text(evs))
		}
	}()
	i := 0
	for _, want := range cleartext {
		for i < len(evs) && !(evs[i].Kind == sessions.KindLine && bytes.HasPrefix(evs[i].Raw, []byte(want))) {
			if evs[i].Kind == sessions.KindBoundary {
				t.Fatalf("boundary before cleartext %q", want)
			}
			i++
		}
		if i == len(evs) {
			t.Fatalf("no cleartext %q", want)
		}
		if evs[i].Layer != sessions.LayerCleartext || evs[i].Visible != sessions.VisibleAnyone {
			t.Errorf("%q: layer %s, visible %s", want, evs[i].Layer, evs[i].Visible)
		}
		i++
	}
	b := -1
	for j := i; j < len(evs); j++ {
		if evs[j].Kind == sessions.KindBoundary {
			b = j
			break
		}
	}
	if b < 0 {
		t.Fatal("no boundary")
	}
	if len(cleartext) == 0 && b != 1 {
		t.Errorf("implicit TLS: boundary is event %d, want right after connect", b)
	}
	var hello, serverHello, cred, encC2S bool
	for _, ev := range evs[b:] {
		switch {
		case ev.Kind == sessions.KindHandshake && ev.Handshake.Type == "client_hello":
			for _, f := range ev.Handshake.Fields {
				hello = hello || f.Value == lab.Hostname
			}
		case ev.Kind == sessions.KindHandshake && ev.Handshake.Type == "server_hello":
			serverHello = true
		case ev.Kind == sessions.KindEncrypted && ev.Dir == sessions.ClientToServer:
			encC2S = true
		case ev.Kind == sessions.KindLine && bytes.HasPrefix(ev.Raw, []byte(credPrefix)) ||
			ev.Kind == sessions.KindLine && credPrefix == "LOGIN" && bytes.Contains(ev.Raw, []byte(" LOGIN ")):
			if ev.Credential == nil || ev.Credential.Password != lab.DemoPassword || ev.Credential.OnWire ||
				ev.Credential.Mechanism != mech || ev.Layer != sessions.LayerDecrypted {
				t.Errorf("credential line %q: %+v", ev.Text, ev.Credential)
			}
			cred = true
		}
		if ev.Layer == sessions.LayerCleartext {
			t.Errorf("cleartext after the boundary: %q", ev.Text)
		}
	}
	if !hello || !serverHello || !cred || !encC2S {
		t.Errorf("ClientHello with SNI %v, ServerHello %v, credential %v, encrypted client records %v", hello, serverHello, cred, encC2S)
	}
	for _, ev := range evs {
		if (ev.Visible == sessions.VisibleAnyone || ev.Visible == sessions.VisibleMetadata) &&
			(bytes.Contains(ev.Raw, []byte(lab.DemoPassword)) || strings.Contains(ev.Text, lab.DemoPassword)) {
			t.Errorf("password readable in %s event %d %q", ev.Visible, ev.Seq, ev.Text)
		}
		if ev.Kind == sessions.KindError {
			t.Errorf("error event: %q", ev.Text)
		}
	}
	if c := evs[len(evs)-1]; !strings.HasPrefix(c.Text, "client closed the connection;") {
		t.Errorf("close: %q", c.Text)
	}
}
