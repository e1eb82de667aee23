package sessions_test

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/lens"
	"github.com/mailwire/mailwire/sessions/wire"
)

// A handshake that fails names what the client asked for truthfully:
// against an address, crypto/tls sends no SNI (RFC 6066 §3), and the
// error said `SNI "127.0.0.1"` of a ClientHello without one. The lab
// speaks TLS 1.2 at the lowest, so a client held to TLS 1.1 fails.
func TestHandshakeErrorNamesNoSNI(t *testing.T) {
	l, err := lab.Start(context.Background(), lab.Options{ListenHost: "127.0.0.1", AnyPort: true, StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ep, _ := l.Endpoint(465)
	o, err := sessions.OptionsForPort(ep.Addr, 465)
	if err != nil {
		t.Fatal(err)
	}
	o.Verify, o.RootCAs, o.MinTLS, o.MaxTLS = wire.VerifyPool, l.RootCAs(), tls.VersionTLS10, tls.VersionTLS11
	evs, _ := sessions.Collect(context.Background(), o)
	var msg string
	for _, ev := range evs {
		if ev.Kind == wire.KindError && ev.Err != nil {
			msg = ev.Err.Message
		}
	}
	hello := false
	for _, ev := range evs {
		hello = hello || ev.Handshake != nil && ev.Handshake.ClientHello != nil
	}
	if sni := lens.Observe(evs, len(evs), "").SNI; !hello || len(sni) != 0 {
		t.Errorf("ClientHello %v, its SNI %q: want one, without SNI", hello, sni)
	}
	if !strings.Contains(msg, `(no SNI, name "127.0.0.1")`) || strings.Contains(msg, `SNI "127.0.0.1"`) {
		t.Errorf("error %q", msg)
	}
}
