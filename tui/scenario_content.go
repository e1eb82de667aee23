package tui

import "github.com/mailwire/mailwire/content"

// contentScenario reads a scenario's prose from package content.
func contentScenario(name string) (scenarioText, bool) {
	s, ok := content.ScenarioByName(name)
	if !ok {
		return scenarioText{}, false
	}
	t := scenarioText{Name: name, Title: s.Title, Summary: s.Summary, Intro: s.Intro, TargetIntro: s.TargetIntro, Conclusion: s.Conclusion}
	for _, src := range s.Sources {
		t.Sources = append(t.Sources, src.String())
	}
	return t, true
}
