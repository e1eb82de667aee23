package loadgen

import (
	"context"
	"crypto/tls"
	"testing"
	"time"

	"github.com/mailwire/mailwire/sessions/internal/peers"
)

// TestFlowsAgainstPeers: the lean clients speak to the real Postfix and
// Dovecot as they speak to the lab (MAILWIRE_PEERS=127.0.0.2). No message
// is sent: other packages' interop tests read the peers' mailbox.
func TestFlowsAgainstPeers(t *testing.T) {
	p := peers.Find(t)
	cases := []struct {
		flow     Flow
		port     int
		implicit bool
	}{
		{SMTPAuth, 587, false},
		{SMTPAuth, 465, true},
		{IMAPLogin, 143, false},
		{IMAPLogin, 993, true},
		{POP3Login, 110, false},
		{POP3Login, 995, true},
	}
	for _, tc := range cases {
		t.Run(p.Addr(tc.port), func(t *testing.T) {
			r, err := Run(context.Background(), Options{
				Flow: tc.flow, Target: p.Addr(tc.port), Implicit: tc.implicit,
				TLS:  &tls.Config{RootCAs: p.Roots, ServerName: peers.ServerName},
				User: peers.User, Password: peers.Password,
				Concurrency: 1, Sessions: 2, Timeout: 20 * time.Second,
			})
			if err != nil {
				t.Fatal(err)
			}
			if r.OK != 2 {
				t.Fatalf("%s: ok %d of %d: %v", tc.flow, r.OK, r.Sessions, r.Errors)
			}
		})
	}
}
