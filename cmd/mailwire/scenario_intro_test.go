package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mailwire/mailwire/content"
)

// A scenario's transcript against a real server opens with the
// introduction written for one: command-injection's lab introduction
// describes a vulnerable lab server and "the normal lab", which are not
// there against --target.
func TestScenarioIntroAgainstTarget(t *testing.T) {
	text, ok := content.ScenarioByName("command-injection")
	if !ok || text.TargetIntro == "" {
		t.Fatal("command-injection has no introduction for a real server")
	}
	for _, format := range []string{"text", "markdown"} {
		var lab, target bytes.Buffer
		scenarioIntro(&lab, format, 1000, "command-injection", "")
		scenarioIntro(&target, format, 1000, "command-injection", "mx.example.test:587")
		if !strings.Contains(lab.String(), "the normal lab gets the same bytes") {
			t.Errorf("%s, the lab: %s", format, lab.String())
		}
		if strings.Contains(target.String(), "normal lab") || !strings.Contains(target.String(), "Against a real server only that server gets the bytes") {
			t.Errorf("%s, a target: %s", format, target.String())
		}
	}
}
