package scenario_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/scenario"
	"github.com/mailwire/mailwire/sessions/wire"
)

var hopLegs = []string{scenario.LegHopSubmission, scenario.LegHopRelay, scenario.LegHopDelivery, scenario.LegHopRetrieval, scenario.LegHopWeb}

func hopByLeg(t *testing.T, hops []scenario.Hop, leg string) scenario.Hop {
	t.Helper()
	for _, h := range hops {
		if h.Leg == leg {
			return h
		}
	}
	t.Fatalf("no hop %q in %+v", leg, hops)
	return scenario.Hop{}
}

func TestHopsLive(t *testing.T) {
	env := labEnv(t)
	evs := play(t, scenario.Request{Name: "hops", Env: env})
	v := wantVerdict(t, evs, "", "hops")
	if !v.Verdict.Informational || v.Verdict.Headline() != "ℹ RESULT" {
		t.Errorf("hops' verdict is not an informational result: %+v", v.Verdict)
	}
	if last := evs[len(evs)-1]; last.Seq != v.Seq {
		t.Errorf("event %d (%s) came after the verdict", last.Seq, last.Leg)
	}
	hops := scenario.Hops(evs)
	var legs []string
	for _, h := range hops {
		legs = append(legs, h.Leg)
	}
	if !slices.Equal(legs, hopLegs) {
		t.Fatalf("hops %q, want %q\n%s", legs, hopLegs, dump(evs))
	}
	for _, h := range hops {
		if h.Err != "" {
			t.Errorf("%s failed: %s\n%s", h.Leg, h.Err, dump(evs))
		}
		if h.Leg == scenario.LegHopDelivery {
			if h.Network || h.TLS != scenario.HopLocal || h.From != "MX" || h.To != "mailbox" {
				t.Errorf("delivery hop %+v", h)
			}
			continue
		}
		if !h.Network || !strings.HasPrefix(h.TLS, "TLS 1.") || h.Port == 0 || h.From == "" || h.To == "" {
			t.Errorf("%s: %+v", h.Leg, h)
		}
		want := scenario.CertVerified
		if h.Leg == scenario.LegHopRelay {
			want = scenario.CertNotEnforced
		}
		if h.Cert != want {
			t.Errorf("%s: certificate %q (%s), want %q", h.Leg, h.Cert, h.CertDetail, want)
		}
	}
	relay := wire.OnLeg(evs, scenario.LegHopRelay)
	// The relay hop carried the submitted message (its Subject is in the
	// decrypted DATA line), inside TLS: the path never saw it.
	if !has(relay, func(ev wire.Event) bool {
		return ev.Annotation == "smtp.data.content" && bytes.Contains(ev.Raw, []byte(scenario.HopsSubject))
	}) {
		t.Errorf("the relay hop did not carry the message\n%s", dump(evs))
	}
	if bytes.Contains(scenario.EavesdropperBytes(relay), []byte(scenario.HopsSubject)) {
		t.Error("the subject crossed the relay hop readable, but it used TLS")
	}
	// The MSA's trace header says the submission came over TLS with AUTH
	// (RFC 3848: ESMTPSA).
	rh := hopByLeg(t, hops, scenario.LegHopRelay)
	if !slices.ContainsFunc(rh.Received, func(s string) bool { return strings.Contains(s, "ESMTPSA") }) {
		t.Errorf("relay hop Received: %q", rh.Received)
	}
	// The mailbox on the recipient's server has the message: the
	// retrieval's decrypted lines show the mailbox size.
	if !has(wire.OnLeg(evs, scenario.LegHopRetrieval), func(ev wire.Event) bool {
		return ev.Layer == wire.LayerDecrypted && strings.HasSuffix(ev.Text, " EXISTS")
	}) {
		t.Errorf("retrieval shows no EXISTS\n%s", dump(evs))
	}
	if v.Verdict.Safe || !strings.Contains(v.Text, scenario.LegHopRelay) || !strings.Contains(v.Text, "not the message") {
		t.Errorf("verdict safe=%v: %s", v.Verdict.Safe, v.Text)
	}
}

// A machine in the middle strips STARTTLS from the relay hop: the
// opportunistic MTA relays in cleartext, the message is readable on that
// hop, and it still arrives.
func TestHopsStripped(t *testing.T) {
	env := labEnv(t)
	evs := play(t, scenario.Request{Name: "hops", Variant: scenario.HopsStripped, Env: env})
	v := wantVerdict(t, evs, "", "hops")
	if last := evs[len(evs)-1]; last.Seq != v.Seq {
		t.Errorf("event %d (%s) came after the verdict", last.Seq, last.Leg)
	}
	hops := scenario.Hops(evs)
	rh := hopByLeg(t, hops, scenario.LegHopRelay)
	// The attacker's own connection onward is on the path too, with TLS:
	// the recipient's server saw nothing wrong.
	if ah := hopByLeg(t, hops, scenario.LegHopAttacker); !strings.HasPrefix(ah.TLS, "TLS 1.") {
		t.Errorf("attacker hop %+v", ah)
	}
	if rh.TLS != scenario.HopCleartext || rh.Cert != scenario.CertNotChecked || !strings.Contains(rh.Observer, "whole message") {
		t.Errorf("relay hop through the attacker: %+v\n%s", rh, dump(evs))
	}
	if !scenario.Exposes(scenario.EavesdropperBytes(wire.OnLeg(evs, scenario.LegHopRelay)), scenario.HopsSubject) {
		t.Errorf("the subject is not readable on the stripped hop\n%s", dump(evs))
	}
	// A relay sends no password: its note names the message as what is
	// exposed.
	if !has(wire.OnLeg(evs, scenario.LegHopRelay), func(ev wire.Event) bool {
		return ev.Annotation == sessions.ExplainOpportunisticCleartext && strings.Contains(ev.Text, "the message included")
	}) {
		t.Errorf("the relay's cleartext note does not name the message\n%s", dump(evs))
	}
	hopByLeg(t, hops, scenario.LegHopDelivery) // it arrived
	if v.Verdict.Safe || !strings.Contains(v.Text, "anyone on the path of "+scenario.LegHopRelay) {
		t.Errorf("verdict safe=%v: %s", v.Verdict.Safe, v.Text)
	}
}

// Hops is computed from the events: make the relay hop's events look
// like a cleartext session and the hop turns cleartext.
func TestHopsFromEvents(t *testing.T) {
	env := labEnv(t)
	evs := play(t, scenario.Request{Name: "hops", Env: env})
	var edited []wire.Event
	for _, ev := range evs {
		if ev.Leg == scenario.LegHopRelay {
			switch ev.Kind {
			case wire.KindBoundary, wire.KindRecord, wire.KindEncrypted, wire.KindHandshake, wire.KindTLSState:
				continue
			case wire.KindNote:
				if ev.Annotation == "tls.verify.opportunistic" {
					continue
				}
			case wire.KindLine:
				ev.Layer, ev.Visible = wire.LayerCleartext, wire.VisibleAnyone
			}
		}
		edited = append(edited, ev)
	}
	before := hopByLeg(t, scenario.Hops(evs), scenario.LegHopRelay)
	after := hopByLeg(t, scenario.Hops(edited), scenario.LegHopRelay)
	if before.TLS == scenario.HopCleartext || after.TLS != scenario.HopCleartext || after.Cert != scenario.CertNotChecked {
		t.Errorf("before %q/%q, after %q/%q", before.TLS, before.Cert, after.TLS, after.Cert)
	}
	if !strings.Contains(after.Observer, "whole message") || strings.Contains(before.Observer, "whole message") {
		t.Errorf("observer before %q, after %q", before.Observer, after.Observer)
	}
	// The other hops are untouched.
	for _, leg := range []string{scenario.LegHopSubmission, scenario.LegHopRetrieval} {
		if a, b := hopByLeg(t, scenario.Hops(evs), leg), hopByLeg(t, scenario.Hops(edited), leg); a.TLS != b.TLS || a.Cert != b.Cert {
			t.Errorf("%s changed: %+v -> %+v", leg, a, b)
		}
	}
}

func TestHopEnds(t *testing.T) {
	for _, tc := range []struct{ leg, from, to string }{
		{scenario.LegHopSubmission, "MUA", "MSA"},
		{scenario.LegHopDelivery, "MX", "mailbox"},
		{"a->b (70000)", "a", "b (70000)"},
		{"plain", "plain", ""},
	} {
		evs := []wire.Event{{Seq: 1, Leg: tc.leg, Kind: wire.KindNote}}
		h := scenario.Hops(evs)[0]
		if h.From != tc.from || h.To != tc.to {
			t.Errorf("%q: from %q to %q, want %q %q", tc.leg, h.From, h.To, tc.from, tc.to)
		}
	}
}
