package tui

import (
	"strconv"
	"strings"

	"github.com/mailwire/mailwire/sessions/scenario"
	"github.com/mailwire/mailwire/sessions/wire"
)

// scenarioText is what the TUI shows of a scenario besides its events: the
// prose from package content, with the registry's ports and variants.
type scenarioText struct {
	Name, Title, Summary string
	Intro, Conclusion    string
	// TargetIntro replaces Intro in target mode (content's "Against a
	// real server"); scenarioProse makes the swap.
	TargetIntro string
	Sources     []string
}

// scenarioCatalog is where the TUI finds the scenarios and their prose:
// package scenario's registry and package content, or fixed lists in
// tests (the registry grows as scenarios are written; goldens must not).
type scenarioCatalog struct {
	list  func() []scenario.Scenario
	prose func(name string) (scenarioText, bool)
}

func defaultCatalog() scenarioCatalog {
	return scenarioCatalog{list: scenario.All, prose: contentScenario}
}

// scenarios lists the scenarios in canonical order.
func (c *Common) scenarios() []scenario.Scenario {
	if c.catalog.list == nil {
		return nil
	}
	return c.catalog.list()
}

// scenarioByName finds a scenario of the catalog.
func (c *Common) scenarioByName(name string) (scenario.Scenario, bool) {
	for _, s := range c.scenarios() {
		if s.Name == name {
			return s, true
		}
	}
	return scenario.Scenario{}, false
}

// targetMode: no lab, a target (mailwire connect): scenarios and the port
// table's sessions run against the target's host.
func (c *Common) targetMode() bool { return c.Lab.State == labNone && c.Target != nil }

// scenarioProse returns the texts of the named scenario. A scenario without
// prose yet still gets a title (its name) and a summary from its ports and
// variants, so the picker never lists a blank entry.
func (c *Common) scenarioProse(name string) scenarioText {
	t := scenarioText{Name: name, Title: name}
	if c.catalog.prose != nil {
		if p, ok := c.catalog.prose(name); ok {
			t = p
		}
	}
	if t.Title == "" {
		t.Title = name
	}
	if c.targetMode() && t.TargetIntro != "" {
		t.Intro = t.TargetIntro
	}
	if t.Summary == "" {
		if s, ok := c.scenarioByName(name); ok {
			t.Summary = portsSummary(s)
		}
	}
	return t
}

// portsSummary says where a scenario runs: "ports 587, 465" or on ports
// it chooses, and how many variants it has.
func portsSummary(s scenario.Scenario) string {
	var b strings.Builder
	if len(s.Ports) == 0 {
		b.WriteString("runs on ports the scenario chooses")
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

// safeProse makes text safe for the terminal line by line, keeping its
// line breaks: the scenario texts separate paragraphs with blank lines,
// which wire.SafeString alone would escape into "\n".
func safeProse(text string) string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = wire.SafeString(l)
	}
	return strings.Join(lines, "\n")
}
