package tui

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/lens"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

// TestChainPane: the detail pane of the TLS state (or of the error a
// certificate stopped) shows the chain in plain words, issue 9 §3: the
// verdict, each certificate's facts, the problem and what to change on the
// server; and not in the eavesdropper lens, since the check is the client's.
func TestChainPane(t *testing.T) {
	for _, tc := range []struct {
		hostile string
		want    []string
	}{
		{"smtp-handshake-expired", []string{"Certificate chain", "NOT verified", "expired", "What to change", "SHA-256"}},
		{"smtp-handshake-wrong-host", []string{"Certificate chain", "NOT verified", "What to change", "names:"}},
	} {
		t.Run(tc.hostile, func(t *testing.T) {
			s, err := lab.StartHostile(context.Background(), tc.hostile, lab.HostileOptions{MaxConns: 1, Lifetime: 30 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			o := sessions.Options{Target: s.Addr(), Proto: protocol.SMTP, TLSMode: sessions.TLSStartTLS,
				Role: sessions.RoleSubmission, ServerName: lab.Hostname, RootCAs: s.RootCAs(), Verify: wire.VerifyPool,
				ReadTimeout: 3 * time.Second, SessionTimeout: 15 * time.Second}
			evs, _ := sessions.Collect(context.Background(), o)
			m := newSessionModel(t, 120, 40, &fakeSessions{evs: evs})
			sc := session(m)
			found := false
			for i := range sc.tl.rows {
				if ev := sc.evs[sc.tl.rows[i].first]; ev.TLS != nil && ev.TLS.Chain != nil {
					mustUpdate(t, m, keyCode(tea.KeyHome))
					for range i {
						mustUpdate(t, m, keyCode(tea.KeyDown))
					}
					found = true
					break
				}
			}
			if !found {
				t.Fatal("no row carries the chain")
			}
			plain(m)
			pane := strings.Join(strings.Fields(sc.detail.vp.GetContent()), " ")
			for _, want := range tc.want {
				if !strings.Contains(pane, want) {
					t.Errorf("the pane lacks %q:\n%s", want, sc.detail.vp.GetContent())
				}
			}
			mustUpdate(t, m, keyCode(tea.KeyTab))
			if sc.lens != lens.Eavesdropper {
				t.Fatal("tab did not switch lens")
			}
			plain(m)
			if strings.Contains(sc.detail.vp.GetContent(), "Certificate chain") {
				t.Error("the eavesdropper lens shows the client's certificate check")
			}
		})
	}
}
