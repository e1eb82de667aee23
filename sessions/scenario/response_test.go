package scenario_test

import (
	"bytes"
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/scenario"
	"github.com/mailwire/mailwire/sessions/wire"
)

// protoOf is the protocol of a canonical port.
func protoOf(t *testing.T, port int) string {
	t.Helper()
	o, err := sessions.OptionsForPort("127.0.0.1:1", port)
	if err != nil {
		t.Fatal(err)
	}
	return o.Proto
}

func TestResponseInjection(t *testing.T) {
	env := labEnv(t)
	for _, port := range []int{587, 25, 143, 110} {
		t.Run(strconv.Itoa(port), func(t *testing.T) {
			evs := play(t, scenario.Request{Name: "response-injection", Port: port, Env: env})
			proto := protoOf(t, port)
			v := wantVerdict(t, evs, scenario.LegInjectingServer, "response-discarded")
			if !v.Verdict.Safe {
				t.Errorf("verdict says unsafe")
			}
			on := wire.OnLeg(evs, scenario.LegInjectingServer)
			// The engine's note carries exactly the injected bytes, as
			// they crossed the wire in cleartext.
			i := slices.IndexFunc(on, func(ev wire.Event) bool {
				return ev.Annotation == proto+".note.response_injection_discarded"
			})
			if i < 0 {
				t.Fatalf("no discard note\n%s", dump(evs))
			}
			note := on[i]
			if string(note.Raw) != lab.InjectedLines(proto) || note.Visible != wire.VisibleAnyone {
				t.Errorf("note Raw %q (%s), want %q readable by anyone", note.Raw, note.Visible, lab.InjectedLines(proto))
			}
			if !slices.Contains(v.Verdict.Evidence, note.Seq) {
				t.Errorf("verdict cites %v, not the note %d", v.Verdict.Evidence, note.Seq)
			}
			// The capabilities the verdict cites come from inside TLS and
			// are not the injected lines.
			var caps *wire.Event
			for _, ev := range on {
				if slices.Contains(v.Verdict.Evidence, ev.Seq) && ev.Kind == wire.KindLine {
					caps = &ev
				}
			}
			if caps == nil || caps.Layer != wire.LayerDecrypted || len(caps.Line.Capabilities) == 0 {
				t.Fatalf("verdict cites no capabilities read inside TLS: %v\n%s", v.Verdict.Evidence, dump(evs))
			}
			if bytes.Contains(caps.Raw, []byte("evil.lab.test")) || bytes.Equal(caps.Raw, note.Raw) {
				t.Errorf("the capabilities after TLS are the injected ones: %q", caps.Raw)
			}
			// Nothing the client read between the go-ahead and TLS: the
			// only server bytes there are the discarded ones.
			b := slices.IndexFunc(on, func(ev wire.Event) bool { return ev.Kind == wire.KindBoundary })
			for _, ev := range on[i:b] {
				if ev.Kind == wire.KindLine && ev.Dir == wire.ServerToClient {
					t.Errorf("the client read %q after the go-ahead", ev.Raw)
				}
			}
			// SMTP: the injected "250 AUTH LOGIN" never became the
			// client's mechanism unless the real server offered LOGIN.
			if proto == protocol.SMTP {
				for _, ev := range on[b:] {
					if ev.Dir == wire.ClientToServer && strings.HasPrefix(string(ev.Raw), "AUTH LOGIN") &&
						!slices.ContainsFunc(caps.Line.Capabilities, func(c string) bool { return strings.Contains(c, "LOGIN") }) {
						t.Errorf("the client used the injected AUTH LOGIN")
					}
				}
			}
			if e := scenario.FirstError(on); e != nil {
				t.Errorf("error: %s\n%s", e.Text, dump(evs))
			}
		})
	}
}

// Without a lab nothing injects: the scenario needs the lab and refuses to
// run, without connecting anywhere.
func TestResponseInjectionWithoutLab(t *testing.T) {
	env := scenario.Env{Endpoints: map[int]string{587: "127.0.0.1:1"}}
	evs, err := scenario.Collect(context.Background(), scenario.Request{Name: "response-injection", Port: 587, Env: env})
	if err == nil || !strings.Contains(err.Error(), "needs the embedded lab") {
		t.Fatalf("error %v, want a refusal\n%s", err, dump(evs))
	}
	if has(evs, func(ev wire.Event) bool { return ev.Kind == wire.KindConnect }) {
		t.Errorf("connected somewhere without a lab\n%s", dump(evs))
	}
}
