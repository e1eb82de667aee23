package mitm_test

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/certs"
	"github.com/mailwire/mailwire/sessions/internal/peers"
	"github.com/mailwire/mailwire/sessions/mitm"
	"github.com/mailwire/mailwire/sessions/wire"
)

// Interop: the attacker in front of real Postfix and Dovecot (see
// ../shared/peers/README.md), whose capability lists and refusals are not
// the lab's. Skipped unless MAILWIRE_PEERS names the peers' loopback
// address:
//
//	MAILWIRE_PEERS=127.0.0.2 go test -run Peers -v ./sessions/mitm/

func peersAddr(t *testing.T, port int) (string, string) {
	t.Helper()
	p := peers.Find(t)
	return p.Addr(port), p.CAFile
}

func peersRun(t *testing.T, port int, attack mitm.Attack, mode sessions.TLSMode, careless bool) ([]wire.Event, []wire.Event, error) {
	t.Helper()
	upstream, ca := peersAddr(t, port)
	o, err := sessions.OptionsForPort(upstream, port)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	p, err := mitm.Start(context.Background(), mitm.Config{
		Upstream: upstream, Proto: o.Proto, Implicit: o.TLSMode == sessions.TLSImplicit, Attack: attack,
		ServerName: "mail.peers.test", Emit: rec.emit, Timeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	o.Target = p.Addr()
	o.TLSMode = mode
	o.ServerName = "mail.peers.test"
	o.Verify, o.CAFile = wire.VerifyCAFile, ca
	o.Username, o.Password = "learner", "correct-horse"
	o.From, o.To = "learner@mail.peers.test", "learner@mail.peers.test"
	o.EHLOName = "client.peers.test"
	o.ReadTimeout, o.SessionTimeout = 5*time.Second, 30*time.Second
	o.AllowCleartextAuth = careless
	return runThrough(t, p, rec, o)
}

func TestPeersStrip(t *testing.T) {
	for _, tc := range []struct {
		port     int
		attack   mitm.Attack
		required string
		success  string
	}{
		{587, mitm.StripRemove, sessions.ExplainNoStartTLS, "235"},
		{587, mitm.StripRefuse, "smtp.reply.454", "235"},
		{110, mitm.StripReplace, sessions.ExplainNoStartTLS, "+OK"},
		{143, mitm.StripRemove, sessions.ExplainNoStartTLS, "OK"},
		{143, mitm.StripPreauth, sessions.ExplainPreauth, ""},
	} {
		t.Run(strconv.Itoa(tc.port)+"/"+string(tc.attack), func(t *testing.T) {
			evs, pevs, err := peersRun(t, tc.port, tc.attack, sessions.TLSStartTLS, false)
			if err == nil || !slices.Contains(explainOf(evs), tc.required) {
				t.Errorf("TLS-requiring client: err %v, explains %v; want %q", err, explainOf(evs), tc.required)
			}
			assertNoCredential(t, evs, pevs)
			evs, pevs, err = peersRun(t, tc.port, tc.attack, sessions.TLSOpportunistic, true)
			if tc.success == "" {
				assertNoCredential(t, evs, pevs)
				return
			}
			if err != nil {
				t.Fatalf("careless client through the attacker: %v", err)
			}
			assertLeak(t, evs, pevs, tc.success)
		})
	}
}

func TestPeersOwnCert(t *testing.T) {
	for _, port := range []int{465, 993, 995} {
		t.Run(strconv.Itoa(port), func(t *testing.T) {
			evs, pevs, err := peersRun(t, port, mitm.OwnCertificate, sessions.TLSImplicit, false)
			if err == nil || !slices.Contains(explainOf(evs), certs.UnknownAuthority.Key()) {
				t.Errorf("err %v, explains %v; want %q", err, explainOf(evs), certs.UnknownAuthority.Key())
			}
			assertNoCredential(t, evs, pevs)
			_, pevs, err = peersRun(t, port, mitm.Passthrough, sessions.TLSImplicit, false)
			if err != nil {
				t.Errorf("through a passive relay: %v", err)
			}
			if hasKind(pevs, wire.KindLine) {
				t.Error("a passive relay read a line")
			}
		})
	}
}
