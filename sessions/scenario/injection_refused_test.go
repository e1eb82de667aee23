package scenario_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/scenario"
	"github.com/mailwire/mailwire/sessions/wire"
)

// TestCommandInjectionRefused: a server that refuses a command with more
// input behind it and closes, as OpenSMTPD does ("500 5.5.1 Invalid
// command: Pipelining not supported"), is protected: the injected command
// never ran. The verdict says so, and nothing claims a server answered it.
func TestCommandInjectionRefused(t *testing.T) {
	s, err := lab.StartHostile(context.Background(), "smtp-starttls-reply-pipelining-refused",
		lab.HostileOptions{MaxConns: 2, Lifetime: 20 * time.Second, ConnTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	env := scenario.Env{Endpoints: map[int]string{587: s.Addr()}, ServerName: lab.Hostname, RootCAs: s.RootCAs(),
		ReadTimeout: 2 * time.Second, SessionTimeout: 10 * time.Second}
	evs := play(t, scenario.Request{Name: "command-injection", Port: 587, Env: env})
	var v *wire.Event
	for i := range evs {
		if evs[i].Kind == wire.KindVerdict {
			v = &evs[i]
		}
		if evs[i].Annotation == "scenario.injected-answer" {
			t.Errorf("an answer to the injected command is claimed: %q", evs[i].Text)
		}
	}
	if v == nil || v.Verdict.Outcome != scenario.OutcomeInjectionRefused || !v.Verdict.Safe || v.Annotation != "verdict.injection-refused" {
		t.Fatalf("verdict %+v\n%s", v, dump(evs))
	}
	if !strings.Contains(v.Text, "never ran") || strings.Contains(v.Text, "vulnerable") {
		t.Errorf("verdict text %q", v.Text)
	}
	if !has(evs, func(ev wire.Event) bool { return ev.Annotation == "scenario.pipelining-refused" }) {
		t.Errorf("no note on the refusal\n%s", dump(evs))
	}
}
