package sessions_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

// An opportunistic client (TLSOpportunistic) upgrades when it can and goes
// on in cleartext when STARTTLS is missing or refused (RFC 7435, RFC 3207
// §4): each case here is a server that denies it TLS one way or another.
func TestOpportunisticGoesOnInCleartext(t *testing.T) {
	cases := []struct {
		hostile string
		// sentSTARTTLS: the client asked (and was refused) rather than
		// seeing no offer at all.
		sentSTARTTLS bool
		creds        bool // the client logs in, so a password crosses
	}{
		{"smtp-capabilities-no-starttls", false, true},
		{"smtp-starttls-reply-454", true, true},
		{"pop3-starttls-reply-err", true, true},
	}
	for _, tc := range cases {
		t.Run(tc.hostile, func(t *testing.T) {
			o, _ := opportunisticOptions(t, tc.hostile)
			evs, err := sessions.Collect(context.Background(), o)
			if err != nil {
				t.Fatalf("session failed: %v\n%s", err, text(evs))
			}
			note := slices.IndexFunc(evs, func(ev wire.Event) bool {
				return ev.Annotation == sessions.ExplainOpportunisticCleartext
			})
			if note < 0 {
				t.Fatalf("no opportunistic-cleartext note\n%s", text(evs))
			}
			if !strings.Contains(evs[note].Text, "the password included") {
				t.Errorf("the note does not say the password is at stake: %q", evs[note].Text)
			}
			if slices.ContainsFunc(evs, func(ev wire.Event) bool { return ev.Kind == wire.KindBoundary }) {
				t.Errorf("the session started TLS although the server denied it\n%s", text(evs))
			}
			asked := slices.ContainsFunc(evs, func(ev wire.Event) bool {
				return ev.Kind == wire.KindLine && ev.Dir == wire.ClientToServer && ev.Line != nil &&
					(ev.Line.Command == "STARTTLS" || ev.Line.Command == "STLS")
			})
			if asked != tc.sentSTARTTLS {
				t.Errorf("client sent STARTTLS/STLS: %v, want %v\n%s", asked, tc.sentSTARTTLS, text(evs))
			}
			leaked := slices.ContainsFunc(evs, func(ev wire.Event) bool {
				return ev.Credential != nil && ev.Credential.OnWire && ev.Visible == wire.VisibleAnyone
			})
			if leaked != tc.creds {
				t.Errorf("password on the wire: %v, want %v\n%s", leaked, tc.creds, text(evs))
			}
		})
	}
}

// A certificate that fails verification does not stop an opportunistic
// client (RFC 7435): the result is reported and the session goes on.
func TestOpportunisticDoesNotEnforceVerification(t *testing.T) {
	o, _ := opportunisticOptions(t, "smtp-handshake-self-signed")
	evs, err := sessions.Collect(context.Background(), o)
	if err != nil {
		t.Fatalf("session failed: %v\n%s", err, text(evs))
	}
	i := slices.IndexFunc(evs, func(ev wire.Event) bool { return ev.Kind == wire.KindTLSState })
	if i < 0 || evs[i].TLS.Verified || evs[i].TLS.VerifyError == "" {
		t.Fatalf("want a TLS state reporting the failed verification\n%s", text(evs))
	}
	if !slices.ContainsFunc(evs, func(ev wire.Event) bool { return ev.Annotation == "tls.verify.opportunistic" }) {
		t.Errorf("no tls.verify.opportunistic note\n%s", text(evs))
	}
	// The same server with STARTTLS required stops at verification.
	o.TLSMode = sessions.TLSStartTLS
	if _, err := sessions.Collect(context.Background(), o); err == nil {
		t.Error("a required-TLS client accepted a self-signed certificate")
	}
}

// Against a server that offers STARTTLS, opportunistic is STARTTLS.
func TestOpportunisticUpgradesWhenOffered(t *testing.T) {
	l := startLab(t)
	ep, _ := l.Endpoint(25)
	o, err := sessions.OptionsForPort(ep.Addr, 25)
	if err != nil {
		t.Fatal(err)
	}
	o.TLSMode = sessions.TLSOpportunistic
	o.ServerName, o.RootCAs = lab.Hostname, l.RootCAs()
	evs, err := sessions.Collect(context.Background(), o)
	if err != nil {
		t.Fatalf("session failed: %v\n%s", err, text(evs))
	}
	i := slices.IndexFunc(evs, func(ev wire.Event) bool { return ev.Kind == wire.KindTLSState })
	if i < 0 || !evs[i].TLS.Verified {
		t.Fatalf("want a verified TLS session\n%s", text(evs))
	}
	if slices.ContainsFunc(evs, func(ev wire.Event) bool { return ev.Annotation == sessions.ExplainOpportunisticCleartext }) {
		t.Errorf("went on in cleartext although STARTTLS was offered\n%s", text(evs))
	}
}

func opportunisticOptions(t *testing.T, hostile string) (sessions.Options, *lab.HostileServer) {
	t.Helper()
	s, err := lab.StartHostile(context.Background(), hostile, lab.HostileOptions{
		MaxConns: 2, Lifetime: 30 * time.Second, ConnTimeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c := s.Case()
	o := sessions.Options{
		Target: s.Addr(), Proto: c.Proto, TLSMode: sessions.TLSOpportunistic,
		ServerName: lab.Hostname, Verify: wire.VerifyPool, RootCAs: s.RootCAs(),
		Username: lab.DemoUser, Password: lab.DemoPassword, AllowCleartextAuth: true,
		DialTimeout: time.Second, ReadTimeout: 5 * time.Second, SessionTimeout: 10 * time.Second,
		Role: sessions.RoleRetrieval,
	}
	if c.Proto == protocol.SMTP {
		o.Role = sessions.RoleSubmission
	}
	return o, s
}
