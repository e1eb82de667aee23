package scenario_test

import (
	"testing"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/scenario"
)

func TestHopEnds(t *testing.T) {
	for _, tc := range []struct{ leg, from, to string }{
		{scenario.LegHopSubmission, "MUA", "MSA"},
		{scenario.LegHopDelivery, "MX", "mailbox"},
		{"a->b (70000)", "a", "b (70000)"},
		{"plain", "plain", ""},
	} {
		evs := []sessions.Event{{Seq: 1, Leg: tc.leg, Kind: sessions.KindNote}}
		h := scenario.Hops(evs)[0]
		if h.From != tc.from || h.To != tc.to {
			t.Errorf("%q: from %q to %q, want %q %q", tc.leg, h.From, h.To, tc.from, tc.to)
		}
	}
}
