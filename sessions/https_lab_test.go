package sessions_test

import (
	"context"
	"strings"
	"testing"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

// End-to-end: the HTTPS driver against the lab's net/http server on 443,
// which offers h2 and http/1.1 by ALPN.

func TestLabHTTPS(t *testing.T) {
	l := startLab(t)
	for _, tc := range []struct {
		name string
		alpn []string
		want string // the protocol the server chooses
	}{
		{"h2 and http/1.1 offered", sessions.DefaultHTTPSALPN, "h2"},
		{"http/1.1 only", []string{"http/1.1"}, "http/1.1"},
		{"no ALPN", []string{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := labOptions(t, l, 443)
			o.ALPN = tc.alpn
			evs, err := sessions.Collect(context.Background(), o)
			if err != nil {
				t.Fatalf("%v\n%s", err, text(evs))
			}
			if testing.Verbose() {
				t.Log("\n" + text(evs))
			}
			st := annotated(evs, "tls.state")
			if st == nil || !st.TLS.Verified || st.TLS.ALPN != tc.want || st.TLS.ServerName != lab.Hostname {
				t.Fatalf("TLS state %+v\n%s", st, text(evs))
			}
			key := "http.alpn." + tc.want
			if tc.want == "" {
				key = "http.alpn.none"
			}
			if annotated(evs, key) == nil {
				t.Errorf("no %s note\n%s", key, text(evs))
			}
			respKey := "http.response" // HTTP/1.1's status line (RFC 9112 §4)
			if tc.want == "h2" {
				respKey = "http.h2.response" // a HEADERS frame with :status (RFC 9113 §8.3.2)
			}
			resp := annotated(evs, respKey)
			if resp == nil || resp.Line.Code != "200" || resp.Line.Proto != protocol.HTTP ||
				!strings.Contains(strings.Join(resp.Also, ","), "http.status.200") || resp.Layer != wire.LayerDecrypted {
				t.Errorf("response %+v\n%s", resp, text(evs))
			}
			body := annotated(evs, "http.body")
			if body == nil || !strings.Contains(string(body.Raw), "mailwire lab") {
				t.Errorf("body preview %+v\n%s", body, text(evs))
			}
			for _, ev := range evs {
				if ev.Layer == wire.LayerCleartext || ev.Kind == wire.KindError {
					t.Errorf("%s %s event: %q", ev.Layer, ev.Kind, ev.Text)
				}
			}
			if c := evs[len(evs)-1]; !strings.HasPrefix(c.Text, "client closed the connection;") {
				t.Errorf("close: %q", c.Text)
			}
		})
	}
}
