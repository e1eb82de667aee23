package scenario_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/mailwire/mailwire/sessions/internal/peers"
	"github.com/mailwire/mailwire/sessions/scenario"
	"github.com/mailwire/mailwire/sessions/wire"
)

// Interop: the scenarios that need no lab mode, against real Postfix and
// Dovecot from ../shared/peers. Skipped unless MAILWIRE_PEERS names the
// peers' loopback address (see sessions/peers_test.go):
//
//	MAILWIRE_PEERS=127.0.0.2 go test -run Peers -v ./sessions/scenario/

func peersEnv(t *testing.T) scenario.Env {
	t.Helper()
	p := peers.Find(t)
	eps := map[int]string{}
	for _, port := range []int{25, 587, 465, 110, 995, 143, 993} {
		eps[port] = p.Addr(port)
	}
	return scenario.Env{Endpoints: eps, ServerName: peers.ServerName, RootCAs: p.Roots,
		Username: peers.User, Password: peers.Password, EHLOName: "client.mailwire.invalid",
		Recipient: peers.Mailbox}
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
				if scenario.TLSStateOf(wire.OnLeg(evs, wire.LegAttackerServer)) == nil &&
					!has(evs, func(ev wire.Event) bool {
						return ev.Leg == wire.LegAttackerServer && ev.Kind == wire.KindBoundary
					}) {
					t.Errorf("the attacker's leg to the real server never started TLS\n%s", dump(evs))
				}
			})
		}
	}
}

// peerInjectionOutcome is what each real server does with a command
// pipelined after STARTTLS. Postfix (fixed CVE-2011-0411 in 2.7.3/2.8)
// discards its cleartext buffer and completes the handshake. Dovecot hands
// the buffered bytes to OpenSSL as the start of TLS, which fails
// (dovecot.log: "SSL_accept() failed: … wrong version number"): the
// command never runs, the connection is lost.
var peerInjectionOutcome = map[int]string{
	587: "injection-discarded", 25: "injection-discarded",
	143: "injection-broke-handshake", 110: "injection-broke-handshake",
}

// Neither Postfix nor Dovecot is vulnerable to STARTTLS command
// injection: without a lab the scenario runs only against the target, on
// a leg named for its address, and the injected command must go
// unanswered inside TLS.
func TestPeersCommandInjection(t *testing.T) {
	env := peersEnv(t)
	for _, port := range []int{587, 25, 143, 110} {
		t.Run(strconv.Itoa(port), func(t *testing.T) {
			evs := play(t, scenario.Request{Name: "command-injection", Port: port, Env: env})
			leg := scenario.TargetLeg(env.Endpoints[port])
			if legs := wire.Legs(evs); len(legs) != 1 || legs[0] != leg {
				t.Fatalf("legs %q, want only %q\n%s", legs, leg, dump(evs))
			}
			v := wantVerdict(t, evs, leg, peerInjectionOutcome[port])
			if !v.Verdict.Safe {
				t.Errorf("verdict says unsafe")
			}
			on := wire.OnLeg(evs, leg)
			if has(on, func(ev wire.Event) bool { return ev.Annotation == "scenario.injected-answer" }) {
				t.Errorf("the peer answered the injected command\n%s", dump(evs))
			}
			st := scenario.TLSStateOf(on)
			if v.Verdict.Outcome == "injection-discarded" {
				if got := answersInTLS(on, port == 143); len(got) != 2 {
					t.Errorf("%d answers inside TLS, want 2 (the probe's and the goodbye's)\n%s", len(got), dump(evs))
				}
				if st == nil || !st.Verified {
					t.Errorf("TLS with the peer not verified: %+v", st)
				}
				if has(on, func(ev wire.Event) bool { return ev.Kind == wire.KindError }) {
					t.Errorf("an error on the leg\n%s", dump(evs))
				}
			} else if st != nil {
				t.Errorf("TLS started, yet the verdict says the handshake broke\n%s", dump(evs))
			}
			t.Logf("%s: %s", leg, v.Text)
		})
	}
}

// too-early against the real servers logs in as the decoy, never with the
// peers' real password, and the decoy still draws each server's policy
// answer: Postfix 530 5.7.0 before STARTTLS, Dovecot NO [PRIVACYREQUIRED]
// (its tagged answer, after an untagged BAD [ALERT]) and -ERR [AUTH].
func TestPeersTooEarlyDecoy(t *testing.T) {
	env := peersEnv(t)
	for _, tc := range []struct {
		port   int
		answer string
	}{
		{587, "(530)"}, {143, "(NO)"}, {110, "(-ERR)"},
	} {
		t.Run(strconv.Itoa(tc.port), func(t *testing.T) {
			evs := play(t, scenario.Request{Name: "too-early", Port: tc.port, Env: env})
			for _, ev := range cleartextLeaks(evs, passwordForms(peers.User, peers.Password)) {
				t.Errorf("the real password crossed before TLS: event %d %s", ev.Seq, wire.SafeString(ev.Text))
			}
			if !has(evs, func(ev wire.Event) bool { return ev.Annotation == scenario.AnnotationDecoy }) {
				t.Errorf("no decoy note\n%s", dump(evs))
			}
			v := wantVerdict(t, evs, scenario.LegNormalPort, "credentials-leaked")
			if !strings.Contains(v.Text, tc.answer) {
				t.Errorf("verdict %q does not name the server's answer %s", v.Text, tc.answer)
			}
		})
	}
}
