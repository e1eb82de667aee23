package tui

import (
	"fmt"
	"strconv"
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions"
)

// The session screen running a scenario: its title in the header, its
// story (introduction, verdicts, conclusion) in the detail pane until the
// user turns to the events, and its verdicts as rows that stand out.

// verdictMark says in text whether a verdict is safe, so that it reads
// the same without colour.
func verdictMark(v *sessions.Verdict) string {
	if v != nil && v.Safe {
		return "✓ SAFE:"
	}
	return "⚠ UNSAFE:"
}

// legName is a leg as the detail pane names it: in full, with the
// machine-in-the-middle legs spelt out.
func legName(leg string) string {
	switch leg {
	case sessions.LegClientAttacker:
		return "client ↔ attacker (" + leg + ")"
	case sessions.LegAttackerServer:
		return "attacker ↔ server (" + leg + ")"
	}
	return sessions.SafeString(leg)
}

// scenarioHeader is the first header line of a scenario: its title, port
// and variant, state and event count; cut from the right, the title last.
func (s *sessionScreen) scenarioHeader(w int, stateStyle lipgloss.Style) string {
	st := s.c.Styles
	r := s.req
	t := s.c.scenarioProse(r.Scenario)
	title := st.Title.Render("scenario: " + sessions.SafeString(t.Title))
	state := st.Muted.Render(" · ") + stateStyle.Render(s.state.String())
	count := st.Muted.Render(fmt.Sprintf(" · %d events", len(s.evs)))
	// Long and short forms of where it runs; narrow screens drop the
	// event count first, then shorten this, then cut the title.
	var long, short []string
	if r.Port != 0 {
		long = append(long, "port "+strconv.Itoa(r.Port))
		short = append(short, strconv.Itoa(r.Port))
	}
	if r.Variant != "" {
		v := sessions.SafeString(r.Variant)
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
func (s *sessionScreen) verdicts() []sessions.Event {
	var out []sessions.Event
	for i := range s.revealed() {
		if s.evs[i].Kind == sessions.KindVerdict {
			out = append(out, s.evs[i])
		}
	}
	return out
}

// verdictDetail explains a verdict: what it found, what that means, and
// the events it rests on, each on one line.
func (s *sessionScreen) verdictDetail(b *strings.Builder, ev sessions.Event, w int) {
	st := s.c.Styles
	para := func(style lipgloss.Style, text string) {
		b.WriteString(style.Render(lipgloss.Wrap(keepCitations(text), w, " -/")))
		b.WriteString("\n")
	}
	v := ev.Verdict
	style := st.VerdictUnsafe
	if v != nil && v.Safe {
		style = st.VerdictSafe
	}
	b.WriteString(style.Render(" VERDICT ") + " " + st.Heading.Render(verdictMark(v)) + "\n")
	para(st.Text, sessions.SafeString(ev.Text))
	if v == nil {
		return
	}
	if a, ok := content.Lookup(ev.Annotation); ok {
		b.WriteString("\n")
		para(st.Title, a.Title)
		annotationParas(para, st, a)
	}
	para(st.Muted, "outcome: "+sessions.SafeString(v.Outcome))
	if len(v.Evidence) == 0 {
		return
	}
	b.WriteString("\n" + st.Heading.Render(fmt.Sprintf("Evidence (%s)", plural(len(v.Evidence), "event"))) + "\n")
	bySeq := make(map[int]int, len(s.evs))
	for i := range s.evs {
		bySeq[s.evs[i].Seq] = i
	}
	for n, seq := range v.Evidence {
		if n == maxRunList {
			para(st.Muted, fmt.Sprintf("… %d more", len(v.Evidence)-n))
			break
		}
		i, ok := bySeq[seq]
		if !ok {
			para(st.Muted, fmt.Sprintf("#%d (not in this stream)", seq))
			continue
		}
		e := s.view(i) // passwords stay masked unless revealed
		line := fmt.Sprintf("#%d %s %s %s", e.Seq, sessions.Arrow(e.Dir), sessions.Badge(e), sessions.FirstLine(e))
		if e.Leg != "" {
			line = fmt.Sprintf("#%d %s %s %s %s", e.Seq, legTag(e.Leg), sessions.Arrow(e.Dir), sessions.Badge(e), sessions.FirstLine(e))
		}
		b.WriteString(st.Text.Render(ansi.Truncate(line, w, "…")) + "\n")
	}
}

// storyView is the scenario told in the detail pane: title and summary,
// where it runs, the introduction; then as they arrive the verdicts; at
// the end the conclusion and the sources.
func (s *sessionScreen) storyView(w int) string {
	st := s.c.Styles
	t := s.c.scenarioProse(s.req.Scenario)
	var b strings.Builder
	para := func(style lipgloss.Style, text string) {
		b.WriteString(style.Render(lipgloss.Wrap(keepCitations(safeProse(text)), w, " -/")))
		b.WriteString("\n")
	}
	heading := func(h string) {
		b.WriteString("\n" + st.Heading.Render(h) + "\n")
	}
	para(st.Title, t.Title)
	if t.Summary != "" {
		para(st.Text, t.Summary)
	}
	var where []string
	if s.req.Port != 0 {
		where = append(where, "port "+strconv.Itoa(s.req.Port))
	}
	if s.req.Variant != "" {
		where = append(where, "variant "+s.req.Variant)
	}
	if len(s.legs) > 0 {
		names := make([]string, len(s.legs))
		for i, l := range s.legs {
			names[i] = legTag(l)
		}
		where = append(where, "connections: "+strings.Join(names, ", "))
	}
	if len(where) > 0 {
		para(st.Muted, strings.Join(where, " · "))
	}
	ended := s.state == stateDone || s.state == stateFailed && len(s.evs) > 0
	verdicts := func() {
		vs := s.verdicts()
		if len(vs) == 0 {
			return
		}
		heading("Verdict")
		for _, v := range vs {
			text := verdictMark(v.Verdict) + " " + sessions.SafeString(v.Text)
			if v.Leg != "" {
				text = verdictMark(v.Verdict) + " " + legTag(v.Leg) + ": " + sessions.SafeString(v.Text)
			}
			style := st.Warning
			if v.Verdict != nil && v.Verdict.Safe {
				style = st.OK.Bold(true)
			}
			para(style, text)
		}
		if s.panelAvailable() {
			para(st.Muted, "c shows the "+s.panelName()+", computed from these events.")
		}
	}
	if ended {
		// The end: what was found and what it means come first; the
		// introduction follows for whoever arrives now.
		verdicts()
		if t.Conclusion != "" {
			heading("What it shows")
			para(st.Text, t.Conclusion)
		}
	}
	if t.Intro != "" {
		if ended {
			heading("What was staged")
		} else {
			heading("What happens")
		}
		para(st.Text, t.Intro)
	}
	switch s.state {
	case stateOpening, stateRunning:
		heading("Running")
		para(st.Muted, fmt.Sprintf("%s so far; the timeline fills as they arrive. ↑/↓ looks at them, i brings this text back.", plural(len(s.evs), "event")))
	case stateFailed:
		if s.err != nil {
			heading("Could not run")
			para(st.Error, s.err.Error())
		}
	}
	if !ended {
		verdicts()
	}
	if ended && len(t.Sources) > 0 {
		heading("Sources")
		for _, src := range t.Sources {
			para(st.Muted, "• "+src)
		}
	}
	return strings.TrimRight(b.String(), "\n")
}
