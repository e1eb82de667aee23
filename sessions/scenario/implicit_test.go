package scenario_test

import (
	"crypto/tls"
	"strconv"
	"strings"
	"testing"

	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/lens"
	"github.com/mailwire/mailwire/sessions/scenario"
	"github.com/mailwire/mailwire/sessions/wire"
)

func TestImplicitUnderAttack(t *testing.T) {
	env := labEnv(t)
	want := map[string]string{"own-cert": "verification-failed", "break": "connection-broken", "passthrough": "only-metadata"}
	s, _ := scenario.ByName("implicit-under-attack")
	for _, port := range s.Ports {
		for _, v := range s.VariantsFor(port) {
			t.Run(strconv.Itoa(port)+"/"+v, func(t *testing.T) {
				evs := play(t, scenario.Request{Name: s.Name, Port: port, Variant: v, Env: env})
				wantVerdict(t, evs, "", want[v])
				if has(evs, func(ev wire.Event) bool { return ev.Kind == wire.KindLine && lens.OnWire(ev) }) {
					t.Errorf("a protocol line crossed some leg readable\n%s", dump(evs))
				}
				for _, leg := range []string{wire.LegClientAttacker, wire.LegAttackerServer} {
					if scenario.Exposes(scenario.EavesdropperBytes(wire.OnLeg(evs, leg)), lab.DemoPassword) {
						t.Errorf("%s: the password is readable\n%s", leg, dump(evs))
					}
				}
				if v == "passthrough" && !strings.Contains(verdicts(evs)[""].Text, `"mail.lab.test"`) {
					t.Errorf("the passthrough verdict does not name the SNI the attacker saw\n%s", dump(evs))
				}
				if has(evs, func(ev wire.Event) bool { return ev.Credential != nil && ev.Leg == wire.LegAttackerServer }) {
					t.Errorf("the attacker read a credential\n%s", dump(evs))
				}
			})
		}
	}
}

// TestImplicitPassthroughTLS12: under TLS 1.2 the certificate crosses in
// the clear (RFC 5246 §7.4.2), so the passthrough verdict names it along
// with the SNI; under TLS 1.3 it does not (the verdict said "only record
// types and sizes and the server name" for both).
func TestImplicitPassthroughTLS12(t *testing.T) {
	env := labEnv(t)
	for _, tc := range []struct {
		max  uint16
		cert bool
	}{{tls.VersionTLS12, true}, {tls.VersionTLS13, false}} {
		t.Run(tls.VersionName(tc.max), func(t *testing.T) {
			e := env
			e.MaxTLS = tc.max
			evs := play(t, scenario.Request{Name: "implicit-under-attack", Port: 993, Variant: "passthrough", Env: e})
			v := verdicts(evs)[""]
			if got := strings.Contains(v.Text, "certificate"); got != tc.cert {
				t.Errorf("verdict names the certificate: %v, want %v: %q", got, tc.cert, v.Text)
			}
			if !strings.Contains(v.Text, `"mail.lab.test"`) {
				t.Errorf("verdict lacks the SNI: %q", v.Text)
			}
		})
	}
}
