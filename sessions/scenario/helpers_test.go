package scenario_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/scenario"
	"github.com/mailwire/mailwire/sessions/wire"
)

// labEnv starts a lab on free loopback ports and returns its Env.
func labEnv(t *testing.T) scenario.Env {
	t.Helper()
	dir := t.TempDir()
	l, err := lab.Start(context.Background(), lab.Options{
		ListenHost: "127.0.0.1", AnyPort: true, StateDir: dir, Logf: t.Logf,
	})
	if err != nil {
		t.Fatalf("lab: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	env := scenario.LabEnv(l, dir)
	env.ReadTimeout, env.SessionTimeout = 5*time.Second, 20*time.Second
	return env
}

// play runs a scenario and checks the stream's shape: Seq from 1 without
// gaps, At never going back, every event on a leg but the scenario's own
// notes, at least one verdict.
func play(t *testing.T, req scenario.Request) []wire.Event {
	t.Helper()
	evs, err := scenario.Collect(context.Background(), req)
	if err != nil {
		t.Fatalf("scenario %s: %v\n%s", req.Name, err, dump(evs))
	}
	for i, ev := range evs {
		if ev.Seq != i+1 {
			t.Fatalf("event %d has Seq %d\n%s", i, ev.Seq, dump(evs))
		}
		if i > 0 && ev.At < evs[i-1].At {
			t.Fatalf("event %d goes back in time\n%s", ev.Seq, dump(evs))
		}
	}
	if len(verdicts(evs)) == 0 {
		t.Fatalf("scenario %s emitted no verdict\n%s", req.Name, dump(evs))
	}
	// Every key the scenario emitted explains itself in content: the
	// scenario's own (verdict.*, scenario.*, attack.*) with an entry of
	// their own, the engine's at least by fallback.
	for _, ev := range evs {
		for _, k := range append([]string{ev.Annotation}, ev.Also...) {
			if k == "" {
				continue
			}
			a, ok := content.Lookup(k)
			own := strings.HasPrefix(k, "verdict.") || strings.HasPrefix(k, "scenario.") || strings.HasPrefix(k, "attack.")
			if !ok || (own && a.Key != k) {
				t.Errorf("annotation key %q of event %d has no entry of its own in content", k, ev.Seq)
			}
		}
	}
	return evs
}

// verdicts returns the verdict events by leg.
func verdicts(evs []wire.Event) map[string]wire.Event {
	out := map[string]wire.Event{}
	for _, ev := range evs {
		if ev.Kind == wire.KindVerdict {
			out[ev.Leg] = ev
		}
	}
	return out
}

// wantVerdict checks the outcome of the verdict on leg.
func wantVerdict(t *testing.T, evs []wire.Event, leg, outcome string) wire.Event {
	t.Helper()
	v, ok := verdicts(evs)[leg]
	if !ok {
		t.Fatalf("no verdict on leg %q\n%s", leg, dump(evs))
	}
	if v.Verdict.Outcome != outcome {
		t.Fatalf("leg %q: verdict %q (%s), want %q\n%s", leg, v.Verdict.Outcome, v.Text, outcome, dump(evs))
	}
	for _, s := range v.Verdict.Evidence {
		if s < 1 || s > len(evs) || s >= v.Seq {
			t.Fatalf("verdict cites event %d, which is not before it\n%s", s, dump(evs))
		}
	}
	return v
}

func dump(evs []wire.Event) string {
	var b strings.Builder
	for _, ev := range evs {
		fmt.Fprintf(&b, "%3d %-16s %-9s %-4s %-9s %-40s %s\n", ev.Seq, ev.Leg, ev.Kind, ev.Dir, ev.Visible, ev.Annotation, wire.SafeString(ev.Text))
	}
	return b.String()
}

func has(evs []wire.Event, pred func(wire.Event) bool) bool {
	return slices.ContainsFunc(evs, pred)
}
