package sessions_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

// End-to-end: the IMAP driver against the lab's go-imap server on 143 and 993.

func TestLabIMAP(t *testing.T) {
	l := startLab(t)
	for _, port := range []int{143, 993} {
		t.Run(protocol.IMAP+" "+strconv.Itoa(port), func(t *testing.T) {
			o := labOptions(t, l, port)
			evs, err := sessions.Collect(context.Background(), o)
			if err != nil {
				t.Fatalf("%v\n%s", err, text(evs))
			}
			if testing.Verbose() {
				t.Log("\n" + text(evs))
			}
			cleartext := []string{"* OK", "a1 CAPABILITY", "* CAPABILITY", "a1 OK", "a2 STARTTLS", "a2 OK"}
			if port == 993 {
				cleartext = nil
			}
			assertLabRetrieval(t, evs, cleartext, "LOGIN", "LOGIN")
			if port == 143 {
				// go-imap advertises LOGINDISABLED before TLS (RFC 9051 §6.2.3).
				n := annotated(evs, "imap.note.capabilities_changed")
				if n == nil || !strings.Contains(n.Text, "gone after TLS: ") || !strings.Contains(n.Text, "LOGINDISABLED") {
					t.Errorf("capability note: %+v\n%s", n, text(evs))
				}
			}
			var fetch, bye bool
			for _, ev := range evs {
				if ev.Kind != wire.KindLine || ev.Dir != wire.ServerToClient {
					continue
				}
				fetch = fetch || ev.Annotation == "imap.data.fetch" && strings.Contains(string(ev.Raw), "ENVELOPE")
				bye = bye || ev.Line.Code == "BYE"
			}
			if !fetch || !bye {
				t.Errorf("FETCH ENVELOPE %v, BYE %v\n%s", fetch, bye, text(evs))
			}
		})
	}
}
