package scenario_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/scenario"
	"github.com/mailwire/mailwire/sessions/wire"
)

// What each strip variant does to a client that uses TLS only when
// offered, by port: the outcome must follow from the events.
func stripOutcome(port int, variant string) string {
	switch {
	case variant == "preauth":
		return "preauth-accepted"
	case port == 25:
		return "message-leaked" // no AUTH on port 25: the mail itself crosses
	case port == 587 && variant == "refuse-ehlo":
		return "cleartext-session" // HELO: no extensions, so no AUTH to send
	}
	return "credentials-leaked"
}

func TestStripOpportunisticEveryVariant(t *testing.T) {
	env := labEnv(t)
	s, _ := scenario.ByName("strip-opportunistic")
	for _, port := range s.Ports {
		for _, v := range s.VariantsFor(port) {
			t.Run(strconv.Itoa(port)+"/"+v, func(t *testing.T) {
				evs := play(t, scenario.Request{Name: s.Name, Port: port, Variant: v, Env: env})
				want := stripOutcome(port, v)
				wantVerdict(t, evs, "", want)
				client := wire.OnLeg(evs, wire.LegClientAttacker)
				leaked := scenario.Exposes(scenario.EavesdropperBytes(client), lab.DemoPassword)
				if leaked != (want == "credentials-leaked") {
					t.Errorf("password in the eavesdropper's bytes: %v, want %v\n%s", leaked, want == "credentials-leaked", dump(evs))
				}
				if len(wire.OnLeg(evs, wire.LegAttackerServer)) == 0 {
					t.Errorf("no events on the attacker's leg\n%s", dump(evs))
				}
				if scenario.TLSStateOf(client) != nil {
					t.Errorf("the client's leg began TLS\n%s", dump(evs))
				}
				// The client's reason names what the attacker did: after a
				// refused EHLO there was no EHLO reply to lack STARTTLS.
				if v == "refuse-ehlo" && !has(client, func(ev wire.Event) bool {
					return ev.Annotation == sessions.ExplainOpportunisticCleartext && strings.Contains(ev.Text, "refused EHLO")
				}) {
					t.Errorf("the client's note does not say EHLO was refused\n%s", dump(evs))
				}
			})
		}
	}
}

func TestStripRequiredEveryVariant(t *testing.T) {
	env := labEnv(t)
	s, _ := scenario.ByName("strip-required")
	for _, port := range s.Ports {
		for _, v := range s.VariantsFor(port) {
			t.Run(strconv.Itoa(port)+"/"+v, func(t *testing.T) {
				evs := play(t, scenario.Request{Name: s.Name, Port: port, Variant: v, Env: env})
				wantVerdict(t, evs, "", "refused-without-tls")
				for _, leg := range []string{wire.LegClientAttacker, wire.LegAttackerServer} {
					if scenario.Exposes(scenario.EavesdropperBytes(wire.OnLeg(evs, leg)), lab.DemoPassword) {
						t.Errorf("%s: the password is readable\n%s", leg, dump(evs))
					}
				}
				if has(evs, func(ev wire.Event) bool { return ev.Credential != nil }) {
					t.Errorf("a credential crossed some leg\n%s", dump(evs))
				}
			})
		}
	}
}

// Against real servers (no lab, Endpoints only) the attacker scenarios run
// the same way: here the lab's addresses stand in for Postfix and Dovecot.
func TestAttackScenariosWithoutLab(t *testing.T) {
	env := labEnv(t)
	eps := map[int]string{}
	for _, port := range []int{587, 143, 465, 993} {
		addr, ok := env.Addr(port)
		if !ok {
			t.Fatalf("lab has no port %d", port)
		}
		eps[port] = addr
	}
	env.Endpoints, env.Lab = eps, nil
	for _, c := range []struct {
		name    string
		port    int
		variant string
		want    string
	}{
		{"strip-opportunistic", 587, "remove", "credentials-leaked"},
		{"strip-opportunistic", 143, "preauth", "preauth-accepted"},
		{"strip-required", 143, "refuse", "refused-without-tls"},
		{"strip-required", 143, "starttls-454", "refused-without-tls"}, // the former name still works
		{"implicit-under-attack", 465, "own-cert", "verification-failed"},
		{"implicit-under-attack", 993, "passthrough", "only-metadata"},
	} {
		t.Run(c.name+"/"+strconv.Itoa(c.port)+"/"+c.variant, func(t *testing.T) {
			evs := play(t, scenario.Request{Name: c.name, Port: c.port, Variant: c.variant, Env: env})
			wantVerdict(t, evs, "", c.want)
		})
	}
}

// A port the environment has no server for is an error, not a verdict.
func TestStripWithoutServer(t *testing.T) {
	env := labEnv(t)
	addr, _ := env.Addr(587)
	env.Endpoints, env.Lab = map[int]string{587: addr}, nil
	_, err := scenario.Collect(t.Context(), scenario.Request{Name: "strip-required", Port: 143, Variant: "remove", Env: env})
	if err == nil || !strings.Contains(err.Error(), "143") {
		t.Fatalf("strip-required on a port without a server: error %v, want one naming port 143", err)
	}
}
