package tui

import (
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mailwire/mailwire/sessions/wire"
)

// Legs: a scenario merges several connections into one stream and names
// each in Event.Leg. With more than one, every timeline row carries its
// leg's tag, f cycles the leg filter through the legs, and the two legs of
// a machine in the middle sit side by side when the screen is wide enough:
// client↔attacker on the left, attacker↔server on the right, one event per
// line in time order, so a line the attacker relays reads as a step down
// from one column to the other.

// annLeg is the annotation of the note that introduces a scenario's
// connection (scenario.Run.StartLeg).
const annLeg = "scenario.leg"

// maxLegW caps the leg column: longer names are cut with "…".
const maxLegW = 15

// legName is a connection's one name on every screen: the leg column,
// the side-by-side view's headings, the detail pane, the story. The
// machine-in-the-middle legs are named for their ends (the engine's names,
// wire.LegClientAttacker and LegAttackerServer, are identifiers);
// others as the scenario named them, sanitized.
func legName(leg string) string {
	switch leg {
	case wire.LegClientAttacker:
		return "client↔attacker"
	case wire.LegAttackerServer:
		return "attacker↔server"
	}
	return wire.SafeString(leg)
}

// legTag is a leg's name shortened to fit the leg column.
func legTag(leg string) string {
	tag := legName(leg)
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

// legFilter is the leg filter's model: the connections of the stream, in
// the order they first appear, and which of them the timeline shows.
type legFilter struct {
	c *Common
	// list holds the legs seen so far; sel 0 shows them all, i only
	// list[i-1] (and the events of no leg: the scenario's own).
	list  []string
	sel   int
	width int
}

func newLegFilter(c *Common) *legFilter { return &legFilter{c: c} }

// reset forgets the legs of a previous run.
func (f *legFilter) reset() { f.list, f.sel = nil, 0 }

// add records the leg of an arriving event; true when it is a new one (the
// leg column appears or widens).
func (f *legFilter) add(leg string) bool {
	if leg == "" || slices.Contains(f.list, leg) {
		return false
	}
	f.list = append(f.list, leg)
	return true
}

// several says whether the stream has more than one leg: only then are
// there tags, a filter and a choice.
func (f *legFilter) several() bool { return len(f.list) > 1 }

// admits says whether the filter lets ev through.
func (f *legFilter) admits(ev *wire.Event) bool {
	return f.sel == 0 || ev.Leg == "" || ev.Leg == f.list[f.sel-1]
}

// all says whether every leg is shown.
func (f *legFilter) all() bool { return f.sel == 0 }

// mitm says whether the stream holds both legs of a machine in the middle.
func (f *legFilter) mitm() bool {
	return slices.Contains(f.list, wire.LegClientAttacker) && slices.Contains(f.list, wire.LegAttackerServer)
}

// colW is the width of the leg column: 0 for a stream of one connection,
// else the widest tag, up to maxLegW.
func (f *legFilter) colW() int {
	if !f.several() {
		return 0
	}
	w := 0
	for _, l := range f.list {
		w = max(w, ansi.StringWidth(legTag(l)))
	}
	return min(w, maxLegW)
}

// Update cycles the filter on f: all legs, then each one alone, in turn.
// ok says the filter changed (a stream of one leg has nothing to cycle).
func (f *legFilter) Update(msg tea.Msg) (tea.Cmd, bool) {
	k, isKey := msg.(tea.KeyPressMsg)
	if !isKey || !key.Matches(k, f.c.Keys.Legs) || !f.several() {
		return nil, false
	}
	f.sel = (f.sel + 1) % (len(f.list) + 1)
	return nil, true
}

// SetSize sets the room the filter has in the header line.
func (f *legFilter) SetSize(width, _ int) { f.width = width }

// View says which legs the timeline shows, for the header; "" for a stream
// of one leg.
func (f *legFilter) View() string {
	if !f.several() {
		return ""
	}
	text := "legs: all " + plural(len(f.list), "connection") + " · f: one"
	if f.sel > 0 {
		text = "leg: " + legTag(f.list[f.sel-1]) + " only · f: next"
	}
	if f.width > 0 {
		text = ansi.Truncate(text, f.width, "…")
	}
	return f.c.Styles.Leg.Render(text)
}

// ShortHelp lists f where it does something.
func (f *legFilter) ShortHelp() []key.Binding {
	if !f.several() {
		return nil
	}
	return []key.Binding{f.c.Keys.Legs}
}

// FullHelp is ShortHelp, in one column.
func (f *legFilter) FullHelp() [][]key.Binding { return [][]key.Binding{f.ShortHelp()} }

// splitWidths are the widths of the two halves of a w-wide split line
// (after the gutter and the separator).
func splitWidths(w int) (left, right int) {
	inner := w - gutterW - 1
	left = inner / 2
	return left, inner - left
}
