package scenario_test

import (
	"context"
	"testing"

	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/lens"
	"github.com/mailwire/mailwire/sessions/scenario"
	"github.com/mailwire/mailwire/sessions/wire"
)

func TestTLS12VersusTLS13(t *testing.T) {
	env := labEnv(t)
	for _, port := range []int{465, 587, 993} {
		evs := play(t, scenario.Request{Name: "tls12-vs-13", Port: port, Env: env})
		v12 := wantVerdict(t, evs, scenario.LegTLS12, "certificate-visible")
		wantVerdict(t, evs, scenario.LegTLS13, "certificate-hidden")
		if v12.Verdict.Safe {
			t.Error("a certificate in the clear is marked safe")
		}
		// What the verdict says is what the events show: the 1.2
		// certificate is on the wire, the 1.3 one only decrypted from the
		// client's own key log.
		for _, leg := range []string{scenario.LegTLS12, scenario.LegTLS13} {
			certs := scenario.Handshakes(wire.OnLeg(evs, leg), "certificate")
			if len(certs) == 0 {
				t.Fatalf("port %d %s: no certificate message\n%s", port, leg, dump(evs))
			}
			if sni, _ := scenario.ServerName(wire.OnLeg(evs, leg)); sni != lab.Hostname {
				t.Errorf("port %d %s: SNI %q, want %q", port, leg, sni, lab.Hostname)
			}
			if onWire := lens.OnWire(certs[0]); onWire != (leg == scenario.LegTLS12) {
				t.Errorf("port %d %s: certificate on the wire = %v", port, leg, onWire)
			}
		}
	}
}

func TestRequestResolve(t *testing.T) {
	for _, tc := range []struct {
		req     scenario.Request
		wantErr bool
	}{
		{scenario.Request{Name: "no-such"}, true},
		{scenario.Request{Name: "tls12-vs-13", Port: 12345, Env: scenario.Env{Endpoints: map[int]string{465: "127.0.0.1:1"}}}, true},
		{scenario.Request{Name: "tls12-vs-13", Variant: "x", Env: scenario.Env{Endpoints: map[int]string{465: "127.0.0.1:1"}}}, true},
		{scenario.Request{Name: "tls12-vs-13", Env: scenario.Env{Endpoints: map[int]string{465: "127.0.0.1:1"}}}, false},
	} {
		s, req, err := tc.req.Resolve()
		if (err != nil) != tc.wantErr {
			t.Errorf("%+v: err %v, want error %v", tc.req, err, tc.wantErr)
		}
		if err == nil && (s.Name != tc.req.Name || req.Port == 0) {
			t.Errorf("%+v: resolved to %q port %d", tc.req, s.Name, req.Port)
		}
	}
}

// A scenario with nowhere to run says so in its stream and its error.
func TestPlayWithoutServers(t *testing.T) {
	evs, err := scenario.Collect(context.Background(), scenario.Request{Name: "tls12-vs-13"})
	if err == nil || len(evs) != 1 || evs[0].Kind != wire.KindError {
		t.Fatalf("err %v, events %+v; want one error event", err, evs)
	}
}
