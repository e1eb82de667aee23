package scenario_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/scenario"
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
				if has(evs, func(ev sessions.Event) bool { return ev.Kind == sessions.KindLine && sessions.OnWire(ev) }) {
					t.Errorf("a protocol line crossed some leg readable\n%s", dump(evs))
				}
				for _, leg := range []string{sessions.LegClientAttacker, sessions.LegAttackerServer} {
					if scenario.Exposes(scenario.EavesdropperBytes(scenario.OnLeg(evs, leg)), lab.DemoPassword) {
						t.Errorf("%s: the password is readable\n%s", leg, dump(evs))
					}
				}
				if v == "passthrough" && !strings.Contains(verdicts(evs)[""].Text, `"mail.lab.test"`) {
					t.Errorf("the passthrough verdict does not name the SNI the attacker saw\n%s", dump(evs))
				}
				if has(evs, func(ev sessions.Event) bool { return ev.Credential != nil && ev.Leg == sessions.LegAttackerServer }) {
					t.Errorf("the attacker read a credential\n%s", dump(evs))
				}
			})
		}
	}
}
