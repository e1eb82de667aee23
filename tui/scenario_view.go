package tui

import (
	"fmt"
	"strconv"
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions/lens"
	"github.com/mailwire/mailwire/sessions/render"
	"github.com/mailwire/mailwire/sessions/wire"
)

// The session screen running a scenario: its title in the header, its
// story (introduction, verdicts, conclusion) in the detail pane until the
// user turns to the events, and its verdicts as rows that stand out.

// verdictMark says in text whether a verdict is safe, unsafe or an
// informational scenario's result, so that it reads the same without
// colour.
func verdictMark(v *wire.Verdict) string { return v.Headline() + ":" }

// verdictStyle is the style of a verdict's text: safe, unsafe, or the
// neutral heading of a result.
func verdictStyle(st Styles, v *wire.Verdict) lipgloss.Style {
	switch {
	case v != nil && v.Informational:
		return st.Heading
	case v != nil && v.Safe:
		return st.OK.Bold(true)
	}
	return st.Warning
}

// verdictsHeading heads a list of verdicts: "Result" when they are all an
// informational scenario's results.
func verdictsHeading(evs []wire.Event) string {
	for _, ev := range evs {
		if ev.Verdict == nil || !ev.Verdict.Informational {
			return "Verdict"
		}
	}
	return "Result"
}

// verdictBadge is the style of a verdict's badge.
func verdictBadge(st Styles, v *wire.Verdict) lipgloss.Style {
	switch {
	case v != nil && v.Informational:
		return st.VerdictInfo
	case v != nil && v.Safe:
		return st.VerdictSafe
	}
	return st.VerdictUnsafe
}

// scenarioHeader is the first header line of a scenario: its title, port
// and variant, state and event count; cut from the right, the title last.
func (s *sessionScreen) scenarioHeader(w int, stateStyle lipgloss.Style) string {
	st := s.c.Styles
	r := s.req
	t := s.c.scenarioProse(r.Scenario)
	what := "scenario: "
	if r.Replay != "" {
		what = "replay of scenario: "
	}
	title := st.Title.Render(what + wire.SafeString(t.Title))
	state := st.Muted.Render(" · ") + s.stateText(stateStyle)
	count := st.Muted.Render(" · " + plural(len(s.evs), "event"))
	// Long and short forms of where it runs; narrow screens drop the
	// event count first, then shorten this, then cut the title.
	var long, short []string
	if r.Port != 0 {
		long = append(long, "port "+strconv.Itoa(r.Port))
		short = append(short, strconv.Itoa(r.Port))
	}
	if r.Variant != "" {
		v := wire.SafeString(r.Variant)
		long = append(long, "variant "+v)
		short = append(short, v)
	}
	where := func(parts []string, sep string) string {
		if len(parts) == 0 {
			return ""
		}
		return st.Muted.Render(" · ") + st.Text.Render(strings.Join(parts, sep))
	}
	for _, line := range []string{
		title + where(long, " · ") + state + count,
		title + where(long, " · ") + state,
		title + where(short, "/") + state,
	} {
		if ansi.StringWidth(line) <= w {
			return line
		}
	}
	rest := where(short, "/") + state
	return ansi.Truncate(title, max(8, w-ansi.StringWidth(rest)), "…") + rest
}

// verdicts returns the verdict events revealed so far.
func (e *explainer) verdicts() []wire.Event {
	var out []wire.Event
	for i := range e.step.revealed() {
		if e.evs[i].Kind == wire.KindVerdict {
			out = append(out, e.evs[i])
		}
	}
	return out
}

// verdictDetail explains a verdict: what it found, what that means, and
// the events it rests on, each on one line.
func (e *explainer) verdictDetail(t *paneText, ev wire.Event) {
	st := t.st
	v := ev.Verdict
	label := " VERDICT "
	if v != nil && v.Informational {
		label = " RESULT "
	}
	t.raw(verdictBadge(st, v).Render(label) + " " + verdictStyle(st, v).Render(verdictMark(v)) + "\n")
	t.para(st.Text, wire.SafeString(ev.Text))
	if v == nil {
		return
	}
	if a, ok := content.Lookup(ev.Annotation); ok {
		t.raw("\n")
		t.para(st.Title, a.Title)
		t.annotation(a)
	}
	t.para(st.Muted, "outcome: "+wire.SafeString(v.Outcome))
	if len(v.Evidence) == 0 {
		return
	}
	t.heading(fmt.Sprintf("Evidence (%s)", plural(len(v.Evidence), "event")))
	bySeq := make(map[int]int, len(e.evs))
	for i := range e.evs {
		bySeq[e.evs[i].Seq] = i
	}
	for n, seq := range v.Evidence {
		if n == maxRunList {
			t.para(st.Muted, fmt.Sprintf("… %d more", len(v.Evidence)-n))
			break
		}
		i, ok := bySeq[seq]
		if !ok {
			t.para(st.Muted, fmt.Sprintf("#%d (not in this stream)", seq))
			continue
		}
		e := e.event(i) // passwords stay masked unless revealed
		line := fmt.Sprintf("#%d %s %s %s", e.Seq, render.Arrow(e.Dir), lens.Badge(e), render.FirstLine(e))
		if e.Leg != "" {
			line = fmt.Sprintf("#%d %s %s %s %s", e.Seq, legTag(e.Leg), render.Arrow(e.Dir), lens.Badge(e), render.FirstLine(e))
		}
		t.line(st.Text, line)
	}
}

// story is the scenario told in the detail pane: title and summary,
// where it runs, the introduction; then as they arrive the verdicts; at
// the end the conclusion and the sources.
func (e *explainer) story(w int) string {
	st := e.c.Styles
	prose := e.c.scenarioProse(e.req.Scenario)
	t := &paneText{st: st, w: w, prose: safeProse}
	t.para(st.Title, prose.Title)
	if prose.Summary != "" {
		t.para(st.Text, prose.Summary)
	}
	if where := e.storyWhere(); where != "" {
		t.para(st.Muted, where)
	}
	ended := e.state == stateDone || e.state == stateFailed && len(e.evs) > 0
	if ended {
		// The end: what was found and what it means come first; the
		// introduction follows for whoever arrives now.
		e.storyVerdicts(t)
		if prose.Conclusion != "" {
			t.heading("What it shows")
			t.para(st.Text, prose.Conclusion)
		}
	}
	if prose.Intro != "" {
		if ended {
			t.heading("What was staged")
		} else {
			t.heading("What happens")
		}
		t.para(st.Text, prose.Intro)
	}
	switch e.state {
	case stateOpening, stateRunning:
		t.heading("Running")
		t.para(st.Muted, fmt.Sprintf("%s so far; the timeline fills as they arrive. ↑/↓ looks at them, i brings this text back.", plural(len(e.evs), "event")))
	case stateFailed:
		if e.err != nil {
			t.heading("Could not run")
			t.para(st.Error, e.err.Error())
		}
	}
	if !ended {
		e.storyVerdicts(t)
	}
	if ended && len(prose.Sources) > 0 {
		t.heading("Sources")
		for _, src := range prose.Sources {
			t.para(st.Muted, "• "+src)
		}
	}
	return t.String()
}

// storyWhere says where the scenario runs: port, variant, connections.
func (e *explainer) storyWhere() string {
	var where []string
	if e.req.Port != 0 {
		where = append(where, "port "+strconv.Itoa(e.req.Port))
	}
	if e.req.Variant != "" {
		where = append(where, "variant "+e.req.Variant)
	}
	if len(e.legs.list) > 0 {
		names := make([]string, len(e.legs.list))
		for i, l := range e.legs.list {
			names[i] = legName(l)
		}
		where = append(where, "connections: "+strings.Join(names, ", "))
	}
	return strings.Join(where, " · ")
}

// storyVerdicts lists the verdicts so far, and where the panel computed
// from the same events is.
func (e *explainer) storyVerdicts(t *paneText) {
	st := t.st
	vs := e.verdicts()
	if len(vs) == 0 {
		return
	}
	t.heading(verdictsHeading(vs))
	for _, v := range vs {
		text := verdictMark(v.Verdict) + " " + wire.SafeString(v.Text)
		if v.Leg != "" {
			text = verdictMark(v.Verdict) + " " + legName(v.Leg) + ": " + wire.SafeString(v.Text)
		}
		t.para(verdictStyle(st, v.Verdict), text)
	}
	if e.panel.available() {
		t.para(st.Muted, "c shows the "+e.panel.name()+", computed from these events.")
	}
}
