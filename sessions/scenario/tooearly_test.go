package scenario_test

import (
	"slices"
	"strconv"
	"testing"

	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/scenario"
	"github.com/mailwire/mailwire/sessions/wire"
)

// The password crosses in cleartext on both legs: refused by the normal
// port, accepted by the careless one. Both facts come from the events.
func TestTooEarly(t *testing.T) {
	env := labEnv(t)
	refusal := map[int]string{587: "530", 143: "NO", 110: "-ERR"}
	accept := map[int]string{587: "235", 143: "OK", 110: "+OK"}
	for _, port := range []int{587, 143, 110} {
		t.Run(strconv.Itoa(port), func(t *testing.T) {
			evs := play(t, scenario.Request{Name: "too-early", Port: port, Env: env})
			for leg, code := range map[string]string{scenario.LegNormalPort: refusal[port], scenario.LegCarelessPort: accept[port]} {
				v := wantVerdict(t, evs, leg, "credentials-leaked")
				legEvs := wire.OnLeg(evs, leg)
				if !scenario.Exposes(scenario.EavesdropperBytes(legEvs), lab.DemoPassword) {
					t.Errorf("%s: the password is not in the eavesdropper's bytes\n%s", leg, dump(evs))
				}
				// The server's answer right after the leaked login.
				first := v.Verdict.Evidence[0]
				answer := ""
				for _, ev := range legEvs {
					if ev.Seq > first && ev.Kind == wire.KindLine && ev.Dir == wire.ServerToClient {
						answer = ev.Line.Code
						break
					}
				}
				if answer != code {
					t.Errorf("%s: answer to the early login %q, want %q\n%s", leg, answer, code, dump(evs))
				}
			}
			// The capability list the careless client read in cleartext is
			// what anyone on the path read: the compare table shows it
			// (POP3's client sends no CAPA).
			if port != 110 {
				for _, r := range scenario.Compare(evs).Rows {
					if r.Leg == scenario.LegNormalPort && !slices.Contains(r.Capabilities, "STARTTLS") {
						t.Errorf("%s: capabilities seen %q; want the cleartext list with STARTTLS\n%s", r.Leg, r.Capabilities, dump(evs))
					}
					if len(r.Capabilities) == 0 {
						t.Errorf("%s: no capabilities seen\n%s", r.Leg, dump(evs))
					}
				}
			}
			// On the normal port the client then upgrades and logs in inside TLS.
			if scenario.TLSStateOf(wire.OnLeg(evs, scenario.LegNormalPort)) == nil {
				t.Errorf("the normal leg never reached TLS\n%s", dump(evs))
			}
		})
	}
}

// Against a server without the lab's careless mode, only the first part runs.
func TestTooEarlyWithoutLab(t *testing.T) {
	env := labEnv(t)
	addr, _ := env.Addr(587)
	env.Endpoints, env.Lab = map[int]string{587: addr}, nil
	evs := play(t, scenario.Request{Name: "too-early", Port: 587, Env: env})
	wantVerdict(t, evs, scenario.LegNormalPort, "credentials-leaked")
	if len(wire.OnLeg(evs, scenario.LegCarelessPort)) != 1 {
		t.Errorf("the careless leg should hold only the note that it was skipped\n%s", dump(evs))
	}
}
