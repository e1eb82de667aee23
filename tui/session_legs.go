package tui

import (
	"slices"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/mailwire/mailwire/sessions"
)

// Legs: a scenario merges several connections into one stream and names
// each in Event.Leg. With more than one, every timeline row carries its
// leg's tag, f cycles a filter through the legs, and the two legs of a
// machine in the middle sit side by side when the screen is wide enough:
// client↔attacker on the left, attacker↔server on the right, one event per
// line in time order, so a line the attacker relays reads as a step down
// from one column to the other.

// annLeg is the annotation of the note that introduces a scenario's
// connection (scenario.Run.StartLeg).
const annLeg = "scenario.leg"

const (
	// maxLegW caps the leg column: longer names are cut with "…".
	maxLegW = 14
	// Column headings of the side-by-side view.
	splitLeftHead  = "client ↔ attacker"
	splitRightHead = "attacker ↔ server"
)

// legTag is a leg's short name in the leg column: the machine-in-the-middle
// legs shortened so both fit the column, others as named (sanitized).
func legTag(leg string) string {
	switch leg {
	case sessions.LegClientAttacker:
		return "client↔MITM"
	case sessions.LegAttackerServer:
		return "MITM↔server"
	}
	tag := sessions.SafeString(leg)
	// Too long for the column: drop what the rest of the screen says
	// anyway ("MUA→MSA (587)" keeps its port while it fits; "vulnerable
	// server" becomes "vulnerable").
	if ansi.StringWidth(tag) > maxLegW {
		if i := strings.LastIndex(tag, " ("); i > 0 && strings.HasSuffix(tag, ")") {
			tag = tag[:i]
		}
	}
	if ansi.StringWidth(tag) > maxLegW {
		tag = strings.TrimSuffix(tag, " server")
	}
	return tag
}

// legColW is the width of the leg column: 0 for a stream of one
// connection, else the widest tag, up to maxLegW.
func (s *sessionScreen) legColW() int {
	if len(s.legs) < 2 {
		return 0
	}
	w := 0
	for _, l := range s.legs {
		w = max(w, ansi.StringWidth(legTag(l)))
	}
	return min(w, maxLegW)
}

// split says whether the timeline shows the two legs of a machine in the
// middle side by side: wide enough, no leg filter, no panel.
func (s *sessionScreen) split() bool {
	return s.width >= sessionWideWidth && s.legFilter == 0 && !s.panel &&
		slices.Contains(s.legs, sessions.LegClientAttacker) && slices.Contains(s.legs, sessions.LegAttackerServer)
}

// cycleLegFilter shows all legs, then each leg alone, in turn.
func (s *sessionScreen) cycleLegFilter() {
	if len(s.legs) < 2 {
		return
	}
	s.legFilter = (s.legFilter + 1) % (len(s.legs) + 1)
	s.rebuildRows()
}

// legFilterText says which legs the timeline shows, for the header.
func (s *sessionScreen) legFilterText() string {
	if len(s.legs) < 2 {
		return ""
	}
	if s.legFilter == 0 {
		return "legs: all " + plural(len(s.legs), "connection") + " · f: one"
	}
	return "leg: " + legTag(s.legs[s.legFilter-1]) + " only · f: next"
}

// splitWidths are the widths of the two halves of a w-wide split line
// (after the gutter and the separator).
func splitWidths(w int) (left, right int) {
	inner := w - gutterW - 1
	left = inner / 2
	return left, inner - left
}

// splitHead is the column header of the side-by-side view.
func (s *sessionScreen) splitHead(w int) string {
	st := s.c.Styles
	lw, rw := splitWidths(w)
	cols := func(name string, w int) string {
		text := name + " · time dir who reads what"
		return st.Header.Render(padTo(ansi.Truncate(text, w, "…"), w))
	}
	return strings.Repeat(" ", gutterW) + cols(splitLeftHead, lw) + st.Muted.Render("│") + cols(splitRightHead, rw)
}

// splitRow renders a row of the side-by-side view: the event in its leg's
// column, or across the line when it belongs to no MITM leg (the
// scenario's notes and verdicts).
func (s *sessionScreen) splitRow(first, last, w int, selected, current bool) string {
	st := s.c.Styles
	leg := s.evs[first].Leg
	if leg != sessions.LegClientAttacker && leg != sessions.LegAttackerServer {
		return s.renderCell(first, last, w, gutterMark(selected, current), 0, selected, current)
	}
	lw, rw := splitWidths(w)
	gutter := gutterMark(selected, current)
	g := st.Muted.Render(gutter)
	if current {
		g = st.Step.Render(gutter)
	}
	sep := st.Muted.Render("│")
	if leg == sessions.LegClientAttacker {
		return g + s.renderCell(first, last, lw, "", 0, selected, current) + sep + strings.Repeat(" ", rw)
	}
	return g + strings.Repeat(" ", lw) + sep + s.renderCell(first, last, rw, "", 0, selected, current)
}
