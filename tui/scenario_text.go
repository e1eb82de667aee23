package tui

import (
	"strconv"
	"strings"

	"github.com/mailwire/mailwire/sessions/scenario"
)

// scenarioText is what the TUI shows of a scenario besides its events: the
// prose from package content, with the registry's ports and variants.
type scenarioText struct {
	Name, Title, Summary string
	Intro, Conclusion    string
	Sources              []string
}

// scenarioProse returns the texts of the named scenario. A scenario without
// prose yet still gets a title (its name) and a summary from its ports and
// variants, so the picker never lists a blank entry.
func scenarioProse(name string) scenarioText {
	t := scenarioText{Name: name, Title: name}
	if p, ok := contentScenario(name); ok {
		t = p
	}
	if t.Summary == "" {
		if s, ok := scenario.ByName(name); ok {
			t.Summary = portsSummary(s)
		}
	}
	return t
}

// portsSummary says where a scenario runs: "ports 587, 465" or "its own
// ports", and how many variants it has.
func portsSummary(s scenario.Scenario) string {
	var b strings.Builder
	if len(s.Ports) == 0 {
		b.WriteString("runs on its own ports")
	} else {
		b.WriteString("port")
		if len(s.Ports) > 1 {
			b.WriteString("s")
		}
		b.WriteString(" ")
		b.WriteString(joinInts(s.Ports))
	}
	if n := len(s.Variants); n > 1 {
		b.WriteString(" · " + strconv.Itoa(n) + " variants")
	}
	return b.String()
}

func joinInts(ns []int) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, ", ")
}
