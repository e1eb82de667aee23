package tui

import (
	"fmt"
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/render"
	"github.com/mailwire/mailwire/sessions/wire"
)

// Rendering of one timeline row. Every byte a peer controls reaches the
// row only through wire.SafeText/SafeString/SafeLines (see
// session_view.go).

// head is the column header: the columns, or the two halves of the
// side-by-side view.
func (t *timelineModel) head(w int) string {
	if t.split {
		return t.splitHead(w)
	}
	head := fmt.Sprintf("%*s%*s %-*s %-*s %s", gutterW, "", timeW, "time", dirW, "dir", badgeW, "who reads", "what")
	if lw := t.legs.colW(); lw > 0 {
		head = fmt.Sprintf("%*s%*s %-*s %-*s %-*s %s", gutterW, "", timeW, "time", lw, "leg", dirW, "dir", badgeW, "who reads", "what")
	}
	return t.c.Styles.Header.Render(padTo(ansi.Truncate(head, w, ""), w))
}

// renderRow renders the timeline row of events first..last at width w,
// with the leg column when the stream has several legs.
func (t *timelineModel) renderRow(first, last, w int, selected, current bool) string {
	return t.renderCell(first, last, w, gutterMark(selected, current), t.legs.colW(), selected, current)
}

// cellParts are the plain texts of a row's columns, each already cut to
// its room.
type cellParts struct {
	time, leg, dir string
	who, badge     string // who reads it, and that padded to its column
	text, extra    string
	warn           bool // extra is a warning
}

// renderCell renders events first..last in w cells: gutter (empty in the
// halves of the side-by-side view, which share their line's), time, leg
// tag when legW > 0, direction, badge and text.
func (t *timelineModel) renderCell(first, last, w int, gutter string, legW int, selected, current bool) string {
	ev := t.d.event(first)
	if ev.Kind == wire.KindBoundary {
		return t.boundaryCell(first, w, gutter, selected, current)
	}
	p := t.cellParts(&ev, first, last, w, gutter, legW)
	if selected {
		sel := t.c.Styles.Selected
		head := gutter + p.time + p.leg + p.dir + p.badge + " "
		pad := strings.Repeat(" ", max(0, w-ansi.StringWidth(head+p.text+p.extra)))
		if t.query == "" {
			return sel.Render(head + p.text + p.extra + pad)
		}
		// A search's matches are underlined in the selection too.
		return sel.Render(head) + t.mark(p.text+p.extra, sel, sel.Underline(true)) + sel.Render(pad)
	}
	return t.styledCell(&ev, p, w, gutter, legW, current)
}

// cellParts lays out a row's texts in w cells. The text comes first, but
// a warning must stay visible: it gets its room before the text is cut. A
// title is added only if it fits.
func (t *timelineModel) cellParts(ev *wire.Event, first, last, w int, gutter string, legW int) cellParts {
	b := rowBadge(t.d.evs, first, last)
	text, title, warn := t.rowText(first, last)
	if title != "" && strings.HasPrefix(text, title) {
		title = "" // "ClientHello: SNI …" needs no "— ClientHello"
	}
	fixed := ansi.StringWidth(gutter) + timeW + 1 + dirW + 1 + badgeW + 1
	if legW > 0 {
		fixed += legW + 1
	}
	room := max(1, w-fixed)
	var extra string
	switch {
	case warn != "":
		if gutter == "" && warn == credOnWire {
			warn = credOnWireShort // a half of the side-by-side view
		}
		text, extra = fitWarning(text, warn, room)
	case title != "":
		extra = "  — " + title
		text = ansi.Truncate(text, room, "…")
	default:
		text = ansi.Truncate(text, room, "…")
	}
	p := cellParts{
		time:  fmt.Sprintf("%*s ", timeW, render.Elapsed(*ev)),
		dir:   render.Arrow(ev.Dir) + " ",
		who:   b,
		badge: fmt.Sprintf("%-*s", badgeW, b),
		text:  text,
		extra: ansi.Truncate(extra, max(0, room-ansi.StringWidth(text)), "…"),
		warn:  warn != "",
	}
	if legW > 0 {
		p.leg = padTo(ansi.Truncate(legTag(ev.Leg), legW, "…"), legW) + " "
	}
	return p
}

// fitWarning fits a row's text and its warning in room cells. The row
// teaches that the credential crossed the wire readable, so the text up to
// the (masked) credential comes first, then the warning in the longest of
// its forms that fits: the whole text with a shorter warning rather than
// a cut text with the full one; the text is cut after the credential only
// when even "⚠" does not fit beside it.
func fitWarning(text, warn string, room int) (string, string) {
	tiers := []string{warn}
	for _, short := range []string{credOnWireShort, credOnWireShorter, credOnWireMark} {
		if short != tiers[len(tiers)-1] {
			tiers = append(tiers, short)
		}
	}
	tw := ansi.StringWidth(text)
	for _, tier := range tiers {
		if tw+2+ansi.StringWidth(tier) <= room {
			return text, "  " + tier
		}
	}
	// keep is where the credential ends: after the mask, or (revealed)
	// the whole text.
	keep := tw
	if i := strings.Index(text, protocol.Mask("x")); i >= 0 {
		keep = ansi.StringWidth(text[:i]) + ansi.StringWidth(protocol.Mask("x"))
	}
	for _, tier := range tiers {
		ew := 2 + ansi.StringWidth(tier)
		switch {
		case keep+1+ew <= room: // +1: the "…" of the cut
			return ansi.Truncate(text, room-ew, "…"), "  " + tier
		case keep+ew <= room: // no room for "…": end at the credential
			return ansi.Truncate(text, keep, ""), "  " + tier
		}
	}
	if room >= keep {
		return ansi.Truncate(text, room, "…"), "" // the credential, whole
	}
	return ansi.Truncate(text, max(1, room-3), "…"), "  " + credOnWireMark
}

// styledCell renders a row that is not selected, in the styles of what it
// shows.
func (t *timelineModel) styledCell(ev *wire.Event, p cellParts, w int, gutter string, legW int, current bool) string {
	st := t.c.Styles
	textStyle := st.Text
	switch {
	case ev.Kind == wire.KindError:
		textStyle = st.Error
	case ev.Kind == wire.KindVerdict:
		textStyle = verdictStyle(st, ev.Verdict)
	case lensDims(t.d.lens, ev):
		textStyle = st.Dim
	}
	if current {
		textStyle = textStyle.Bold(true)
	}
	out := ""
	if gutter != "" {
		out = st.Muted.Render(gutter)
		if current {
			out = st.Step.Render(gutter)
		}
	}
	if legW > 0 {
		out += st.Muted.Render(p.time) + st.Leg.Render(p.leg) + st.Muted.Render(p.dir)
	} else {
		out += st.Muted.Render(p.time + p.dir)
	}
	out += t.badgeStyleOf(ev, p.who).Render(p.badge) + " " + t.mark(p.text, textStyle, st.Match)
	switch {
	case p.warn:
		out += t.mark(p.extra, st.Warning, st.Match)
	case p.extra != "":
		out += t.mark(p.extra, st.Muted, st.Match)
	}
	if pad := w - ansi.StringWidth(gutter) - ansi.StringWidth(p.time+p.leg+p.dir) - badgeW - 1 - ansi.StringWidth(p.text) - ansi.StringWidth(p.extra); pad > 0 {
		out += strings.Repeat(" ", pad)
	}
	return out
}

// mark renders text in style, and the matches of the search in force in
// match (underlined, so that they show in NO_COLOR too).
func (t *timelineModel) mark(text string, style, match lipgloss.Style) string {
	if t.query == "" {
		return style.Render(text)
	}
	var b strings.Builder
	at := 0
	for _, r := range foldRanges(text, t.query) {
		if r[0] > at {
			b.WriteString(style.Render(text[at:r[0]]))
		}
		b.WriteString(match.Render(text[r[0]:r[1]]))
		at = r[1]
	}
	if at < len(text) || at == 0 {
		b.WriteString(style.Render(text[at:]))
	}
	return b.String()
}

// badgeStyleOf is the badge's style; a verdict's says whether it is safe.
func (t *timelineModel) badgeStyleOf(ev *wire.Event, b string) lipgloss.Style {
	st := t.c.Styles
	if ev.Kind == wire.KindVerdict {
		return verdictBadge(st, ev.Verdict)
	}
	switch b {
	case "CLEARTEXT":
		return st.Cleartext.Bold(true)
	case "HANDSHAKE":
		return st.Handshake.Bold(true)
	case "ENCRYPTED":
		return st.Encrypted.Bold(true)
	case "ERROR":
		return st.Error
	}
	return st.Muted
}

// gutterMark marks the current step (▶) and the selection (»), in text as
// well as in style, so both survive NO_COLOR, a monochrome projector and a
// screen reader.
func gutterMark(selected, current bool) string {
	switch {
	case current && selected:
		return "▶»"
	case current:
		return "▶ "
	case selected:
		return "» "
	}
	return "  "
}

// boundaryCell is the rule, w cells wide with its gutter, where the
// connection turns into TLS.
func (t *timelineModel) boundaryCell(i, w int, gutter string, selected, current bool) string {
	st := t.c.Styles
	ev := &t.d.evs[i]
	label := " " + t.upgradeCommand(i) + ": from here on, TLS "
	if ev.Annotation == "tls.boundary.implicit" {
		label = " implicit TLS: TLS from the first byte "
	}
	if t.legs.colW() > 0 && ev.Leg != "" && gutter != "" {
		label = " " + legTag(ev.Leg) + ":" + label
	}
	gw := ansi.StringWidth(gutter)
	lw := ansi.StringWidth(label)
	n := max(w-gw-lw, 4)
	rule := strings.Repeat("═", n/2) + label + strings.Repeat("═", n-n/2)
	rule = padTo(ansi.Truncate(rule, max(1, w-gw), ""), w-gw)
	if selected {
		return st.Selected.Render(gutter + rule)
	}
	g := ""
	if gutter != "" {
		g = st.Muted.Render(gutter)
		if current {
			g = st.Step.Render(gutter)
		}
	}
	return g + st.Boundary.Render(rule)
}

// upgradeCommand names the command that started TLS before event i
// (STARTTLS, STLS): the last command the client sent.
func (t *timelineModel) upgradeCommand(i int) string {
	for j := i - 1; j >= 0 && j >= i-8; j-- {
		ev := &t.d.evs[j]
		if ev.Kind == wire.KindLine && ev.Dir == wire.ClientToServer && ev.Line != nil && ev.Line.Command != "" {
			return wire.SafeString(ev.Line.Command)
		}
	}
	return "STARTTLS"
}

// rowText is the sanitized text of a row, an annotation title to add when
// room allows, and a warning that must be shown (a password on the wire).
func (t *timelineModel) rowText(first, last int) (text, title, warn string) {
	ev := t.d.event(first)
	if first != last {
		return runText(t.d.evs, first, last), "", ""
	}
	text, titled := lensRowText(t.d.lens, ev)
	if titled {
		if ann, ok := content.Lookup(ev.Annotation); ok && ev.Kind != wire.KindError {
			title = ann.Title
		}
	}
	if ev.Kind == wire.KindVerdict {
		text = verdictMark(ev.Verdict) + " " + text
	}
	if ev.Kind == wire.KindLine && len(ev.Raw) > 0 && (ev.Line == nil || ev.Line.Frame == nil) {
		// An HTTP/2 frame is binary: its lines are no lines.
		if n := len(wire.SafeLines(ev.Raw)); n > 1 {
			text += " (+" + plural(n-1, "line") + ")"
		}
	}
	if ev.Kind == wire.KindError {
		text = "✗ " + text
		if ev.Err != nil {
			if ann, ok := content.Lookup(ev.Err.Explain); ok {
				title = ann.Title
			}
		}
	}
	if c := ev.Credential; c != nil {
		switch {
		case c.OnWire && c.Password != "":
			warn = credOnWire
		case c.OnWire:
			// A user name alone (USER, AUTH LOGIN's first answer): no
			// password crossed with this line.
		case titled:
			title = "login, sent inside TLS"
		}
	}
	return text, title, warn
}

// runText summarises a collapsed run of TLS records, evs[first..last].
func runText(evs []wire.Event, first, last int) string {
	var c2s, s2c, bytes int
	for i := first; i <= last; i++ {
		ev := &evs[i]
		// A coalesced event stands for its run of records.
		n := max(ev.Record.Records(), 1)
		if ev.Dir == wire.ClientToServer {
			c2s += n
		} else {
			s2c += n
		}
		if ev.Record != nil {
			bytes += int(ev.Record.Payload())
		} else {
			bytes += int(ev.Bytes())
		}
	}
	parts := []string{}
	if c2s > 0 {
		parts = append(parts, wire.GroupDigits(int64(c2s))+" C→S")
	}
	if s2c > 0 {
		parts = append(parts, wire.GroupDigits(int64(s2c))+" S→C")
	}
	size := wire.GroupDigits(int64(bytes)) + " bytes"
	if bytes == 1 {
		size = "1 byte"
	}
	return fmt.Sprintf("⋯ %s TLS records, %s (%s)", wire.GroupDigits(int64(c2s+s2c)), size, strings.Join(parts, ", "))
}

// splitHead is the column header of the side-by-side view.
func (t *timelineModel) splitHead(w int) string {
	st := t.c.Styles
	lw, rw := splitWidths(w)
	cols := func(name string, w int) string {
		text := name + " · time dir who reads what"
		return st.Header.Render(padTo(ansi.Truncate(text, w, "…"), w))
	}
	return strings.Repeat(" ", gutterW) + cols(legName(wire.LegClientAttacker), lw) + st.Muted.Render("│") + cols(legName(wire.LegAttackerServer), rw)
}

// splitRow renders a row of the side-by-side view: the event in its leg's
// column, or across the line when it belongs to no MITM leg (the
// scenario's notes and verdicts).
func (t *timelineModel) splitRow(first, last, w int, selected, current bool) string {
	st := t.c.Styles
	leg := t.d.evs[first].Leg
	if leg != wire.LegClientAttacker && leg != wire.LegAttackerServer {
		return t.renderCell(first, last, w, gutterMark(selected, current), 0, selected, current)
	}
	lw, rw := splitWidths(w)
	gutter := gutterMark(selected, current)
	g := st.Muted.Render(gutter)
	if current {
		g = st.Step.Render(gutter)
	}
	sep := st.Muted.Render("│")
	if leg == wire.LegClientAttacker {
		return g + t.renderCell(first, last, lw, "", 0, selected, current) + sep + strings.Repeat(" ", rw)
	}
	return g + strings.Repeat(" ", lw) + sep + t.renderCell(first, last, rw, "", 0, selected, current)
}
