package scenario_test

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/mailwire/mailwire/sessions/scenario"
	"github.com/mailwire/mailwire/sessions/wire"
)

// injectWrite is what the injecting client writes, per canonical port.
var injectWrite = map[int]string{
	587: "STARTTLS\r\nRSET\r\n",
	25:  "STARTTLS\r\nRSET\r\n",
	143: "a STARTTLS\r\nb NOOP\r\n",
	110: "STLS\r\nCAPA\r\n",
}

// answersInTLS returns the server's answers read inside TLS on a leg: for
// IMAP the tagged completions, else every line event.
func answersInTLS(evs []wire.Event, imap bool) []wire.Event {
	var out []wire.Event
	for _, ev := range evs {
		if ev.Kind != wire.KindLine || ev.Dir != wire.ServerToClient || ev.Layer != wire.LayerDecrypted {
			continue
		}
		if imap && (bytes.HasPrefix(ev.Raw, []byte("* ")) || bytes.HasPrefix(ev.Raw, []byte("+ "))) {
			continue
		}
		out = append(out, ev)
	}
	return out
}

// normalOutcome is the normal lab's verdict per port. The lab's IMAP
// server (go-imap v2, imapserver/starttls.go) hands its buffered cleartext
// to the TLS server as the first bytes of the handshake: the injected
// "b NOOP" is not a TLS record, so the handshake fails. Safe, but not the
// clean discard of go-smtp and the lab's POP3 server.
var normalOutcome = map[int]string{587: "injection-discarded", 25: "injection-discarded", 110: "injection-discarded", 143: "injection-broke-handshake"}

func TestCommandInjection(t *testing.T) {
	env := labEnv(t)
	for _, port := range []int{587, 25, 143, 110} {
		t.Run(strconv.Itoa(port), func(t *testing.T) {
			evs := play(t, scenario.Request{Name: "command-injection", Port: port, Env: env})
			if got := wire.Legs(evs); len(got) != 2 || got[0] != scenario.LegVulnerable || got[1] != scenario.LegNormalLab {
				t.Fatalf("legs %q, want vulnerable then normal lab\n%s", got, dump(evs))
			}
			imap := port == 143
			for _, leg := range []string{scenario.LegVulnerable, scenario.LegNormalLab} {
				on := wire.OnLeg(evs, leg)
				// One event, one write, both commands in its Raw, in
				// cleartext: the injection as it crossed the wire.
				var inj []wire.Event
				for _, ev := range on {
					if ev.Annotation == "scenario.command-injected" {
						inj = append(inj, ev)
					}
				}
				if len(inj) != 1 || string(inj[0].Raw) != injectWrite[port] || inj[0].Visible != wire.VisibleAnyone {
					t.Fatalf("%s: want one cleartext event with Raw %q, got %d\n%s", leg, injectWrite[port], len(inj), dump(evs))
				}
				if !bytes.Contains(scenario.EavesdropperBytes(on), []byte(injectWrite[port])) {
					t.Errorf("%s: the eavesdropper does not see the injected bytes", leg)
				}
			}

			v := wantVerdict(t, evs, scenario.LegVulnerable, "injection-answered")
			if v.Verdict.Safe {
				t.Errorf("vulnerable: verdict says safe")
			}
			vul := wire.OnLeg(evs, scenario.LegVulnerable)
			answers := answersInTLS(vul, imap)
			if len(answers) != 3 {
				t.Fatalf("vulnerable: %d answers inside TLS, want 3 (injected, probe, goodbye)\n%s", len(answers), dump(evs))
			}
			if v.Verdict.Evidence[0] != answers[0].Seq {
				t.Errorf("vulnerable: verdict cites %v, want the extra answer %d first", v.Verdict.Evidence, answers[0].Seq)
			}
			if imap && !bytes.HasPrefix(answers[0].Raw, []byte("b OK")) {
				t.Errorf("vulnerable: first answer inside TLS %q, want the injected NOOP's tag b", answers[0].Raw)
			}
			if !has(vul, func(ev wire.Event) bool {
				return ev.Annotation == "scenario.injected-answer" && bytes.Equal(ev.Raw, answers[0].Raw)
			}) {
				t.Errorf("vulnerable: no note on the injected answer\n%s", dump(evs))
			}

			n := wantVerdict(t, evs, scenario.LegNormalLab, normalOutcome[port])
			if !n.Verdict.Safe {
				t.Errorf("normal lab: verdict says unsafe")
			}
			normal := wire.OnLeg(evs, scenario.LegNormalLab)
			if has(normal, func(ev wire.Event) bool { return ev.Annotation == "scenario.injected-answer" }) {
				t.Errorf("normal lab: an injected answer\n%s", dump(evs))
			}
			if n.Verdict.Outcome == "injection-discarded" {
				if got := answersInTLS(normal, imap); len(got) != 2 {
					t.Errorf("normal lab: %d answers inside TLS, want 2\n%s", len(got), dump(evs))
				}
				if has(normal, func(ev wire.Event) bool { return ev.Kind == wire.KindError }) {
					t.Errorf("normal lab: an error\n%s", dump(evs))
				}
			} else if scenario.TLSStateOf(normal) != nil {
				t.Errorf("normal lab: handshake-broken verdict, but TLS started\n%s", dump(evs))
			}
			if imap && has(normal, func(ev wire.Event) bool { return strings.HasPrefix(string(ev.Raw), "b ") }) {
				t.Errorf("normal lab: answered tag b")
			}
		})
	}
}
