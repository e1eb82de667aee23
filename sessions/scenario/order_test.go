package scenario_test

import (
	"slices"
	"testing"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions/scenario"
)

// TestOrderIsContents: the scenarios list in the one canonical order,
// content.ScenarioOrder (the order of their texts), and every registered
// scenario has its place there and a text.
func TestOrderIsContents(t *testing.T) {
	if got := scenario.Names(); !slices.Equal(got, content.ScenarioOrder) {
		t.Fatalf("scenario.Names() = %v, want content.ScenarioOrder %v", got, content.ScenarioOrder)
	}
	for _, name := range scenario.Names() {
		if _, ok := content.ScenarioByName(name); !ok {
			t.Errorf("scenario %s has no text in content", name)
		}
	}
}
