package scenario_test

import (
	"crypto/x509"
	"net"
	"os"
	"strconv"
	"testing"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/scenario"
)

// Interop: the scenarios that need no lab mode, against real Postfix and
// Dovecot from ../shared/peers. Skipped unless MAILWIRE_PEERS names the
// peers' loopback address (see sessions/peers_test.go):
//
//	MAILWIRE_PEERS=127.0.0.2 go test -run Peers -v ./sessions/scenario/

func peersEnv(t *testing.T) scenario.Env {
	t.Helper()
	addr := os.Getenv("MAILWIRE_PEERS")
	if addr == "" {
		t.Skip("MAILWIRE_PEERS not set: no real Postfix/Dovecot to test against")
	}
	if ip := net.ParseIP(addr); ip == nil || !ip.IsLoopback() {
		t.Fatalf("MAILWIRE_PEERS=%q: want a loopback IP such as 127.0.0.2", addr)
	}
	ca := os.Getenv("MAILWIRE_PEERS_CA")
	if ca == "" {
		ca = "/tmp/mailpeers/ca.pem"
	}
	pem, err := os.ReadFile(ca)
	if err != nil {
		t.Fatalf("peers CA: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("peers CA %s: no certificate", ca)
	}
	eps := map[int]string{}
	for _, p := range []int{25, 587, 465, 110, 995, 143, 993} {
		eps[p] = net.JoinHostPort(addr, strconv.Itoa(p))
	}
	return scenario.Env{Endpoints: eps, ServerName: "mail.peers.test", RootCAs: pool,
		Username: "learner", Password: "correct-horse", EHLOName: "client.mailwire.invalid",
		Recipient: "learner@mail.peers.test"}
}

// Stripping works the same against the real servers: the attacker's own
// leg is TLS with Postfix/Dovecot, the client leaks only when it is
// opportunistic, and a client that requires TLS refuses.
func TestPeersStrip(t *testing.T) {
	env := peersEnv(t)
	for _, port := range []int{587, 25, 143, 110} {
		for _, name := range []string{"strip-opportunistic", "strip-required"} {
			t.Run(name+"/"+strconv.Itoa(port), func(t *testing.T) {
				evs := play(t, scenario.Request{Name: name, Port: port, Variant: "remove", Env: env})
				want := "refused-without-tls"
				if name == "strip-opportunistic" {
					want = stripOutcome(port, "remove")
				}
				wantVerdict(t, evs, "", want)
				if scenario.TLSStateOf(scenario.OnLeg(evs, sessions.LegAttackerServer)) == nil &&
					!has(evs, func(ev sessions.Event) bool {
						return ev.Leg == sessions.LegAttackerServer && ev.Kind == sessions.KindBoundary
					}) {
					t.Errorf("the attacker's leg to the real server never started TLS\n%s", dump(evs))
				}
			})
		}
	}
}
