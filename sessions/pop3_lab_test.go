package sessions_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

// End-to-end: the POP3 driver against the lab's POP3 server on 110 and 995.

func TestLabPOP3(t *testing.T) {
	l := startLab(t)
	for _, port := range []int{110, 995} {
		t.Run(protocol.POP3+" "+strconv.Itoa(port), func(t *testing.T) {
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
				retr = retr || ev.Kind == wire.KindLine && ev.Dir == wire.ClientToServer && string(ev.Raw) == "RETR 1\r\n"
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
func assertLabRetrieval(t *testing.T, evs []wire.Event, cleartext []string, credPrefix, mech string) {
	t.Helper()
	assertSessionStream(t, evs, cleartext, credPrefix, mech, lab.Hostname, lab.DemoUser, lab.DemoPassword)
	if c := evs[len(evs)-1]; !strings.HasPrefix(c.Text, "client closed the connection;") {
		t.Errorf("close: %q", c.Text)
	}
}
