package content

import (
	"embed"
	"fmt"
	"path"
	"strings"
	"sync"
)

// Scenario texts: one Markdown file per scenario under scenarios/, named
// after the scenario (too-early.md). The format is strict, so a broken file
// fails the tests rather than showing half a lesson:
//
//	# Title for pickers
//	Summary: one line for the picker
//
//	## Introduction
//	What is staged and what to watch. Paragraphs separated by blank lines.
//
//	## Conclusion
//	What it proved and what to do about it.
//
//	## Against a real server
//	Optional: the Introduction as it reads when the scenario runs
//	against a real server (mailwire connect) rather than the lab, for
//	a scenario whose Introduction describes the lab.
//
//	## Sources
//	- RFC 3207 §6 | Security Considerations
//	- CVE-2011-0411 | https://www.postfix.org/CVE-2011-0411.html
//
// A source is an RFC reference (as in the port pages) or "text | URL".

//go:embed scenarios/*.md
var scenarioFS embed.FS

// ScenarioOrder is the canonical order of the scenarios.
var ScenarioOrder = []string{
	"too-early", "strip-opportunistic", "strip-required", "implicit-under-attack",
	"command-injection", "response-injection", "tls12-vs-13", "compare", "hops",
}

// Scenario is the teaching text of one scenario.
type Scenario struct {
	Name       string // "too-early"
	Title      string // for pickers
	Summary    string // one line
	Intro      string // paragraphs separated by "\n\n"
	Conclusion string
	// TargetIntro replaces Intro against a real server; "" when Intro
	// is true there too.
	TargetIntro string
	Sources     []Source
}

// Source is one cited source: an RFC (Ref set) or another document.
type Source struct {
	Ref  *Ref
	Text string // "CVE-2011-0411"; for an RFC, its title
	URL  string
}

// String renders a source as "RFC 3207 §6 (Security Considerations)" or
// "CVE-2011-0411 <https://…>".
func (s Source) String() string {
	if s.Ref != nil {
		if s.Text != "" {
			return s.Ref.String() + " (" + s.Text + ")"
		}
		return s.Ref.String()
	}
	if s.URL != "" {
		return s.Text + " <" + s.URL + ">"
	}
	return s.Text
}

var (
	scenariosOnce sync.Once
	scenarios     map[string]Scenario
	scenariosErr  error
)

func loadScenarios() (map[string]Scenario, error) {
	scenariosOnce.Do(func() {
		scenarios = map[string]Scenario{}
		var errs []string
		for _, name := range ScenarioOrder {
			b, err := scenarioFS.ReadFile(path.Join("scenarios", name+".md"))
			if err != nil {
				errs = append(errs, err.Error())
				continue
			}
			s, err := ParseScenario(name, string(b))
			if err != nil {
				errs = append(errs, err.Error())
				continue
			}
			scenarios[name] = s
		}
		if len(errs) > 0 {
			scenariosErr = fmt.Errorf("scenario texts: %s", strings.Join(errs, "; "))
		}
	})
	return scenarios, scenariosErr
}

// Scenarios returns every scenario text in canonical order, or the error
// that made one unreadable.
func Scenarios() ([]Scenario, error) {
	all, err := loadScenarios()
	if err != nil {
		return nil, err
	}
	out := make([]Scenario, 0, len(ScenarioOrder))
	for _, name := range ScenarioOrder {
		out = append(out, all[name])
	}
	return out, nil
}

// ScenarioByName returns one scenario's text.
func ScenarioByName(name string) (Scenario, bool) {
	all, _ := loadScenarios()
	s, ok := all[name]
	return s, ok
}

// ParseScenario parses one scenario file.
func ParseScenario(name, src string) (Scenario, error) {
	fail := func(format string, args ...any) (Scenario, error) {
		return Scenario{}, fmt.Errorf("scenarios/%s.md: %s", name, fmt.Sprintf(format, args...))
	}
	doc, err := splitSectionsOptional(src, []string{targetSection}, "Introduction", "Conclusion", "Sources")
	if err != nil {
		return fail("%v", err)
	}
	target := doc.sections[targetSection] // nil when absent
	s := Scenario{Name: name, Title: doc.title, TargetIntro: joinProse(target)}
	for _, line := range doc.preamble {
		switch {
		case strings.HasPrefix(line, "Summary:"):
			s.Summary = strings.TrimSpace(strings.TrimPrefix(line, "Summary:"))
		case line != "":
			return fail("text outside a section: %q", line)
		}
	}
	for _, line := range doc.sections["Sources"] {
		if line == "" {
			continue
		}
		src, err := parseSource(line)
		if err != nil {
			return fail("%v", err)
		}
		s.Sources = append(s.Sources, src)
	}
	s.Intro, s.Conclusion = joinProse(doc.sections["Introduction"]), joinProse(doc.sections["Conclusion"])
	switch {
	case s.Summary == "":
		return fail("no Summary line")
	case s.Intro == "":
		return fail("no Introduction")
	case s.Conclusion == "":
		return fail("no Conclusion")
	case target != nil && s.TargetIntro == "":
		return fail("empty %q", targetSection)
	case len(s.Sources) == 0:
		return fail("no Sources")
	}
	return s, nil
}

// targetSection is the optional section of a scenario file that
// replaces its Introduction against a real server.
const targetSection = "Against a real server"

// IntroFor is the Introduction to show: against a real server (target,
// not the lab) the one for it when the file has one.
func (s Scenario) IntroFor(target bool) string {
	if target && s.TargetIntro != "" {
		return s.TargetIntro
	}
	return s.Intro
}

// parseSource parses "- RFC 3207 §6 | title" or "- text | URL".
func parseSource(line string) (Source, error) {
	body, ok := strings.CutPrefix(line, "- ")
	if !ok {
		return Source{}, fmt.Errorf("source %q: want '- RFC <n> [§<section>] | <title>' or '- <text> | <URL>'", line)
	}
	if strings.HasPrefix(body, "RFC ") {
		r, err := parseRef(line)
		if err != nil {
			return Source{}, err
		}
		return Source{Ref: &r, Text: r.Title}, nil
	}
	text, url, ok := strings.Cut(body, "|")
	text, url = strings.TrimSpace(text), strings.TrimSpace(url)
	if !ok || text == "" || !strings.HasPrefix(url, "https://") {
		return Source{}, fmt.Errorf("source %q: want '<text> | https://…'", line)
	}
	return Source{Text: text, URL: url}, nil
}
