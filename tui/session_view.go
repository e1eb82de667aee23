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

// Rendering of the session screen. Every byte a peer controls (Text, Raw,
// line fields, handshake fields, certificate names, error messages) reaches
// the screen only through sessions.SafeText/SafeString/SafeLines or
// SafeHexDump, so a hostile server cannot put an escape sequence, an OSC 52
// clipboard write or a C1 control on the user's terminal.
//
// Passwords: unless the user reveals them (p), every event that carries a
// password is rendered from sessions.RedactSecrets' copy. That replaces the
// secret argument in Text and Raw with the mask "••••••••" (UTF-8), so the
// hex view of a masked line dumps the mask's bytes (e2 80 a2, eight times)
// where the base64 or the password was: the bytes shown are then not the
// wire's, which the pane says.

const (
	// sessionWideWidth is the width from which the detail pane sits beside
	// the timeline instead of below it.
	sessionWideWidth = 120
	// headerLines is the height of the session header: title line and
	// lens/step line.
	headerLines = 2
	// Timeline columns: gutter, elapsed time, direction, badge.
	gutterW = 2
	timeW   = 10
	dirW    = 3
	badgeW  = 9
	textCol = gutterW + timeW + 1 + dirW + 1 + badgeW + 1
	// maxHexBytes bounds the hex dump of one event (a TLS record holds up
	// to 16 KiB, RFC 8446 §5.1).
	maxHexBytes = 1024
	// maxDetailLines bounds the lines of one multi-line event (an EHLO
	// reply, a message body) in the detail pane.
	maxDetailLines = 60
	// maxDetailLineBytes bounds one line of it once escaped (a hostile
	// server's 4 KiB line is shown in part, wrapped, with an ellipsis).
	maxDetailLineBytes = 1024
	// maxRunList bounds the records listed for a collapsed run.
	maxRunList = 40
	// credOnWire flags a credential that crossed the wire readable
	// (RFC 8314 §5.2, RFC 2595 §2.3).
	credOnWire = "⚠ password readable by anyone on the path"
	// credOnWireShort says it where the row is narrow.
	credOnWireShort = "⚠ password readable"
)

// sessionLayout is where each part of the screen sits, computed from the
// size alone so View and mouse hit-testing agree.
type sessionLayout struct {
	wide                               bool
	listY, listW, listH                int // timeline rows (below the column header)
	detailX, detailY, detailW, detailH int
}

func (s *sessionScreen) layout() sessionLayout {
	w, h := max(s.width, 20), max(s.height, headerLines+6)
	split := s.split()
	// Side by side, the two legs need the whole width: the detail pane
	// goes below.
	l := sessionLayout{wide: w >= sessionWideWidth && !split}
	body := h - headerLines
	if l.wide {
		l.detailW = max(48, w*2/5)
		l.listW = w - l.detailW - 1
		l.listY = headerLines + 1
		l.listH = body - 1
		l.detailX = l.listW + 1
		l.detailY = headerLines
		l.detailH = body
		return l
	}
	l.listW = w
	l.listY = headerLines + 1
	l.listH = max(3, (body-1)*9/20)
	if split {
		l.listH = max(3, (body-1)*3/5)
	}
	l.detailX = 0
	l.detailY = l.listY + l.listH
	l.detailW = w
	l.detailH = h - l.detailY
	return l
}

// View renders the screen at its size: header, timeline and detail pane.
//
// It joins its parts by hand rather than with lipgloss.Join*: every row is
// built to its exact width, and measuring a whole frame's graphemes again
// would cost more than rendering the visible rows (BenchmarkSessionScreen100k).
func (s *sessionScreen) View() string {
	l := s.layout()
	w, h := max(s.width, 1), max(s.height, 1)
	lines := make([]string, 0, h)
	lines = append(lines, strings.Split(s.headerView(w), "\n")...)
	if s.panel {
		lines = append(lines, s.panelView(w, h-headerLines)...)
		return strings.Join(lines[:min(len(lines), h)], "\n")
	}
	list := s.listLines(l)
	detail := strings.Split(s.detailBox(l), "\n")
	if l.wide {
		for i := range max(len(list), len(detail)) {
			left := strings.Repeat(" ", l.listW)
			if i < len(list) {
				left = list[i]
			}
			right := ""
			if i < len(detail) {
				right = detail[i]
			}
			lines = append(lines, left+" "+right)
		}
	} else {
		lines = append(lines, list...)
		lines = append(lines, detail...)
	}
	if len(lines) > h {
		lines = lines[:h]
	}
	if s.width < textCol+20 || s.height < headerLines+6 {
		// Below the layout's minimum size the parts overflow: cut them.
		return lipgloss.NewStyle().MaxWidth(w).MaxHeight(h).Render(strings.Join(lines, "\n"))
	}
	return strings.Join(lines, "\n")
}

// headerView is two lines: what the session is and how it stands; then the
// lens, unmistakable, and the step mode.
func (s *sessionScreen) headerView(w int) string {
	st := s.c.Styles
	r := s.req
	what := strings.ToUpper(r.Proto)
	if r.Port != 0 {
		what += " " + strconv.Itoa(r.Port)
	}
	if r.TLSMode != "" {
		what += " · " + tlsModeLabel(r.TLSMode)
	}
	target := r.Target
	if r.Label != "" {
		target += " (" + r.Label + ")"
	}
	stateStyle := st.Muted
	switch s.state {
	case stateDone:
		stateStyle = st.OK
	case stateFailed:
		stateStyle = st.Error
	case stateRunning:
		stateStyle = st.Warning
	}
	rest := st.Muted.Render(" · ") + st.Text.Render(sessions.SafeString(what)) +
		st.Muted.Render(" → ") + st.Text.Render(sessions.SafeString(target)) + st.Muted.Render(" · ") +
		stateStyle.Render(s.state.String()) + st.Muted.Render(fmt.Sprintf(" · %d events", len(s.evs)))
	line1 := st.Title.Render("mailwire session") + rest
	if ansi.StringWidth(line1) > w {
		// Narrow: the state and the count matter more than the name.
		line1 = st.Title.Render("session") + rest
	}
	if r.Scenario != "" {
		line1 = s.scenarioHeader(w, stateStyle)
	}

	var lensText, other string
	if s.lens == lensEndpoint {
		lensText, other = " ENDPOINT LENS ", "what client and server see · tab: eavesdropper"
	} else {
		lensText, other = " EAVESDROPPER LENS ", "only what a passive observer on the path sees · tab: endpoint"
	}
	line2 := st.Lens.Render(lensText) + " " + st.Muted.Render(other)
	if s.stepMode {
		n := len(s.steps)
		step := fmt.Sprintf(" STEP %d/%d ", min(s.stepIdx+1, n), n)
		hint := " space: next"
		if s.auto {
			hint = fmt.Sprintf(" auto-play every %v (+/-, a: stop)", autoSpeeds[s.speed])
		} else if s.stepIdx+1 >= n && s.state != stateRunning && s.state != stateOpening {
			hint = " the end · s: leave step mode"
		}
		line2 = st.Lens.Render(lensText) + " " + st.Step.Reverse(true).Render(step) + st.Step.Render(hint)
	}
	if s.reveal {
		line2 += " " + st.Warning.Render("passwords shown")
	}
	if f := s.legFilterText(); f != "" && !s.stepMode {
		// The filter replaces the lens explanation: tab is in the help bar.
		line2 = st.Lens.Render(lensText) + " " + st.Leg.Render(f)
		if s.reveal {
			line2 += " " + st.Warning.Render("passwords shown")
		}
	}
	return ansi.Truncate(line1, w, "…") + "\n" + ansi.Truncate(line2, w, "…")
}

func tlsModeLabel(m string) string {
	switch m {
	case string(sessions.TLSStartTLS):
		return "STARTTLS"
	case string(sessions.TLSImplicit):
		return "implicit TLS"
	case string(sessions.TLSNone):
		return "no TLS"
	}
	return m
}

// listLines renders the column header and the visible timeline rows only,
// each exactly l.listW cells wide: a session of 100k events costs as much
// per frame as one of 50.
func (s *sessionScreen) listLines(l sessionLayout) []string {
	st := s.c.Styles
	w := l.listW
	if s.cacheW != w {
		s.invalidate()
		s.cacheW = w
	}
	head := fmt.Sprintf("%*s%*s %-*s %-*s %s", gutterW, "", timeW, "time", dirW, "dir", badgeW, "who reads", "what")
	if lw := s.legColW(); lw > 0 {
		head = fmt.Sprintf("%*s%*s %-*s %-*s %-*s %s", gutterW, "", timeW, "time", lw, "leg", dirW, "dir", badgeW, "who reads", "what")
	}
	split := s.split()
	lines := make([]string, 0, l.listH+1)
	if split {
		lines = append(lines, s.splitHead(w))
	} else {
		lines = append(lines, st.Header.Render(padTo(ansi.Truncate(head, w, ""), w)))
	}
	row := s.renderRow
	if split {
		row = s.splitRow
	}

	n := s.visibleRows()
	limit := s.revealed()
	stepFrom, stepTo := s.stepRange()
	switch {
	case s.state == stateFailed && len(s.evs) == 0 && s.err != nil:
		lines = append(lines, st.Error.Render(padTo(ansi.Truncate("✗ could not start the session", w, "…"), w)))
		for _, l := range strings.Split(lipgloss.Wrap(sessions.SafeString(s.err.Error()), max(w, 1), " "), "\n") {
			lines = append(lines, st.Text.Render(padTo(l, w)))
		}
	case n == 0 && (s.state == stateOpening || s.state == stateRunning):
		lines = append(lines, st.Muted.Render(padTo(ansi.Truncate("connecting…", w, ""), w)))
	}
	for i := s.top; i < n && i < s.top+l.listH; i++ {
		r := s.rows[i]
		last := min(r.last, limit-1)
		current := s.stepMode && r.last >= stepFrom && r.first < stepTo
		if i == s.sel || current {
			lines = append(lines, row(r.first, last, w, i == s.sel, current))
			continue
		}
		if len(s.cache) != len(s.rows) {
			s.cache = append(s.cache, make([]string, len(s.rows)-len(s.cache))...)
			s.cacheLast = append(s.cacheLast, make([]int, len(s.rows)-len(s.cacheLast))...)
		}
		if s.cache[i] == "" || s.cacheLast[i] != last {
			s.cache[i] = row(r.first, last, w, false, false)
			s.cacheLast[i] = last
		}
		lines = append(lines, s.cache[i])
	}
	blank := strings.Repeat(" ", w)
	for len(lines) < l.listH+1 {
		lines = append(lines, blank)
	}
	return lines[:l.listH+1]
}

// padTo pads plain (unstyled) text with spaces to w cells.
func padTo(text string, w int) string {
	if d := w - ansi.StringWidth(text); d > 0 {
		return text + strings.Repeat(" ", d)
	}
	return text
}

// view returns the event as the screen shows it: with its password masked
// unless the user revealed it.
func (s *sessionScreen) view(i int) sessions.Event {
	ev := s.evs[i]
	if !s.reveal && ev.Credential != nil && ev.Credential.Password != "" {
		red, _ := sessions.RedactSecrets([]sessions.Event{ev})
		return red[0]
	}
	return ev
}

func (s *sessionScreen) badgeStyle(b string) lipgloss.Style {
	st := s.c.Styles
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

// renderRow renders the timeline row of events first..last at width w,
// with the leg column when the stream has several legs.
func (s *sessionScreen) renderRow(first, last, w int, selected, current bool) string {
	return s.renderCell(first, last, w, gutterMark(selected, current), s.legColW(), selected, current)
}

// renderCell renders events first..last in w cells: gutter (empty in the
// halves of the side-by-side view, which share their line's), time, leg
// tag when legW > 0, direction, badge and text.
func (s *sessionScreen) renderCell(first, last, w int, gutter string, legW int, selected, current bool) string {
	st := s.c.Styles
	ev := s.view(first)
	if ev.Kind == sessions.KindBoundary {
		return s.boundaryCell(first, w, gutter, selected, current)
	}
	b := sessions.Badge(ev)
	if first != last && s.runEncrypted(first, last) {
		b = "ENCRYPTED" // a run of records is mostly ciphertext
	}
	text, title, warn := s.rowText(first, last)
	if title != "" && strings.HasPrefix(text, title) {
		title = "" // "ClientHello: SNI …" needs no "— ClientHello"
	}
	fixed := ansi.StringWidth(gutter) + timeW + 1 + dirW + 1 + badgeW + 1
	if legW > 0 {
		fixed += legW + 1
	}
	room := max(1, w-fixed)
	// The text comes first, but a warning must stay visible: it gets its
	// room before the text is cut. A title is added only if it fits.
	var extra string
	switch {
	case warn != "":
		if gutter == "" && warn == credOnWire {
			warn = credOnWireShort // a half of the side-by-side view
		}
		extra = "  " + warn
		text = ansi.Truncate(text, max(8, room-ansi.StringWidth(extra)), "…")
	case title != "":
		extra = "  — " + title
		text = ansi.Truncate(text, room, "…")
	default:
		text = ansi.Truncate(text, room, "…")
	}
	extra = ansi.Truncate(extra, max(0, room-ansi.StringWidth(text)), "…")
	timeText := fmt.Sprintf("%*s ", timeW, sessions.Elapsed(ev))
	dirText := sessions.Arrow(ev.Dir) + " "
	legText := ""
	if legW > 0 {
		legText = padTo(ansi.Truncate(legTag(ev.Leg), legW, "…"), legW) + " "
	}
	badgeText := fmt.Sprintf("%-*s", badgeW, b)
	if selected {
		line := gutter + timeText + legText + dirText + badgeText + " " + text + extra
		if pad := w - ansi.StringWidth(line); pad > 0 {
			line += strings.Repeat(" ", pad)
		}
		return st.Selected.Render(line)
	}
	textStyle := st.Text
	switch {
	case ev.Kind == sessions.KindError:
		textStyle = st.Error
	case ev.Kind == sessions.KindVerdict:
		textStyle = st.OK.Bold(true)
		if ev.Verdict == nil || !ev.Verdict.Safe {
			textStyle = st.Warning
		}
	case s.lens == lensEndpoint && collapsible(&ev):
		textStyle = st.Dim
	case s.lens == lensEndpoint && ev.Layer == sessions.LayerEncrypted:
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
		out += st.Muted.Render(timeText) + st.Leg.Render(legText) + st.Muted.Render(dirText)
	} else {
		out += st.Muted.Render(timeText + dirText)
	}
	out += s.badgeStyleOf(&ev, b).Render(badgeText) + " " + textStyle.Render(text)
	switch {
	case warn != "":
		out += st.Warning.Render(extra)
	case extra != "":
		out += st.Muted.Render(extra)
	}
	if pad := w - ansi.StringWidth(gutter) - ansi.StringWidth(timeText+legText+dirText) - badgeW - 1 - ansi.StringWidth(text) - ansi.StringWidth(extra); pad > 0 {
		out += strings.Repeat(" ", pad)
	}
	return out
}

// badgeStyleOf is the badge's style; a verdict's says whether it is safe.
func (s *sessionScreen) badgeStyleOf(ev *sessions.Event, b string) lipgloss.Style {
	if ev.Kind == sessions.KindVerdict {
		if ev.Verdict != nil && ev.Verdict.Safe {
			return s.c.Styles.VerdictSafe
		}
		return s.c.Styles.VerdictUnsafe
	}
	return s.badgeStyle(b)
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
func (s *sessionScreen) boundaryCell(i, w int, gutter string, selected, current bool) string {
	st := s.c.Styles
	ev := &s.evs[i]
	label := " " + s.upgradeCommand(i) + ": from here on, TLS "
	if ev.Annotation == "tls.boundary.implicit" {
		label = " implicit TLS: TLS from the first byte "
	}
	if s.legColW() > 0 && ev.Leg != "" && gutter != "" {
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
func (s *sessionScreen) upgradeCommand(i int) string {
	for j := i - 1; j >= 0 && j >= i-8; j-- {
		ev := &s.evs[j]
		if ev.Kind == sessions.KindLine && ev.Dir == sessions.ClientToServer && ev.Line != nil && ev.Line.Command != "" {
			return sessions.SafeString(ev.Line.Command)
		}
	}
	return "STARTTLS"
}

// rowText is the sanitized text of a row, an annotation title to add when
// room allows, and a warning that must be shown (a password on the wire).
func (s *sessionScreen) rowText(first, last int) (text, title, warn string) {
	ev := s.view(first)
	if first != last {
		return s.runText(first, last), "", ""
	}
	if s.lens == lensEavesdropper {
		text = sessions.EavesdropperText(ev, true)
	} else {
		text = sessions.FirstLine(ev)
		if ann, ok := content.Lookup(ev.Annotation); ok && ev.Kind != sessions.KindError {
			title = ann.Title
		}
	}
	if ev.Kind == sessions.KindVerdict {
		text = verdictMark(ev.Verdict) + " " + text
	}
	if ev.Kind == sessions.KindLine && len(ev.Raw) > 0 {
		if n := len(sessions.SafeLines(ev.Raw)); n > 1 {
			text += fmt.Sprintf(" (+%d lines)", n-1)
		}
	}
	if ev.Kind == sessions.KindError {
		text = "✗ " + text
		if ev.Err != nil {
			if ann, ok := content.Lookup(ev.Err.Explain); ok {
				title = ann.Title
			}
		}
	}
	if c := ev.Credential; c != nil {
		switch {
		case c.OnWire:
			warn = credOnWire
		case s.lens == lensEndpoint:
			title = "login, sent inside TLS"
		}
	}
	return text, title, warn
}

// runEncrypted says whether a run of records holds encrypted ones (looking
// at its first few: a run is one flight).
func (s *sessionScreen) runEncrypted(first, last int) bool {
	for i := first; i <= last && i < first+64; i++ {
		if s.evs[i].Kind == sessions.KindEncrypted {
			return true
		}
	}
	return false
}

// runText summarises a collapsed run of TLS records.
func (s *sessionScreen) runText(first, last int) string {
	var c2s, s2c, bytes int
	for i := first; i <= last; i++ {
		ev := &s.evs[i]
		if ev.Dir == sessions.ClientToServer {
			c2s++
		} else {
			s2c++
		}
		if ev.Record != nil {
			bytes += ev.Record.Length
		} else {
			bytes += len(ev.Raw)
		}
	}
	parts := []string{}
	if c2s > 0 {
		parts = append(parts, fmt.Sprintf("%d C→S", c2s))
	}
	if s2c > 0 {
		parts = append(parts, fmt.Sprintf("%d S→C", s2c))
	}
	return fmt.Sprintf("⋯ %d TLS records, %s (%s)", last-first+1, plural(bytes, "byte"), strings.Join(parts, ", "))
}

// detailBox renders the detail pane in its border, re-rendering its
// content only when the selection or the view changed. The box is drawn by
// hand, from lines already cut to the pane's width: a selection change
// then costs one detailView and no whole-box measuring.
func (s *sessionScreen) detailBox(l sessionLayout) string {
	st := s.c.Styles
	innerW := max(1, l.detailW-4)
	innerH := max(1, l.detailH-3)
	s.detailH = innerH
	key := s.sel
	if s.sel >= s.visibleRows() {
		key = -2
	}
	if s.story {
		key = -3
	}
	if s.detailFor != key || s.detailW != innerW {
		s.detailLines = strings.Split(s.detailView(innerW), "\n")
		for i, line := range s.detailLines {
			s.detailLines[i] = padTo(ansi.Truncate(line, innerW, "…"), innerW)
		}
		s.detailOff = 0
		s.detailFor, s.detailW = key, innerW
	}
	s.scrollDetail(0)
	var parts []string
	if total := len(s.detailLines); total > innerH {
		pct := 100 * s.detailOff / max(1, total-innerH)
		parts = append(parts, fmt.Sprintf("%3d%% · J/K scroll", pct))
	}
	switch {
	case s.stepMode:
		parts = append(parts, "space next · ← back")
	case s.story:
		parts = append(parts, "↑/↓ events · i hide")
	case s.req.Scenario != "":
		parts = append(parts, "i intro · s step · tab lens")
	default:
		parts = append(parts, "s step · tab lens · esc ports")
	}
	footer := st.Muted.Render(padTo(ansi.Truncate(strings.Join(parts, " · "), innerW, "…"), innerW))

	b := lipgloss.RoundedBorder()
	edge := lipgloss.NewStyle().Foreground(st.Border.GetBorderTopForeground())
	side := edge.Render(b.Left)
	rside := edge.Render(b.Right)
	blank := strings.Repeat(" ", innerW)
	out := make([]string, 0, l.detailH)
	out = append(out, edge.Render(b.TopLeft+strings.Repeat(b.Top, innerW+2)+b.TopRight))
	for i := range innerH {
		line := blank
		if j := s.detailOff + i; j < len(s.detailLines) {
			line = s.detailLines[j]
		}
		out = append(out, side+" "+line+" "+rside)
	}
	out = append(out, side+" "+footer+" "+rside)
	out = append(out, edge.Render(b.BottomLeft+strings.Repeat(b.Bottom, innerW+2)+b.BottomRight))
	return strings.Join(out, "\n")
}

// scrollDetail scrolls the detail pane by d lines, within its content.
func (s *sessionScreen) scrollDetail(d int) {
	s.detailOff = max(0, min(s.detailOff+d, len(s.detailLines)-s.detailH))
}

// detailView is the selected row explained: annotation, decoded fields,
// credential, bytes.
func (s *sessionScreen) detailView(w int) string {
	st := s.c.Styles
	if s.story {
		return s.storyView(w)
	}
	n := s.visibleRows()
	if s.sel >= n || n == 0 {
		switch {
		case s.err != nil:
			return st.Error.Render("The session could not start.") + "\n" +
				st.Text.Render(lipgloss.Wrap(sessions.SafeString(s.err.Error()), w, " ")) + "\n\n" +
				st.Muted.Render(lipgloss.Wrap("esc returns to the port table; r tries again.", w, " "))
		case s.stepMode:
			return st.Muted.Render("Press space to reveal the first step.")
		}
		return st.Muted.Render("Waiting for the first event…")
	}
	r := s.rows[s.sel]
	last := min(r.last, s.revealed()-1)
	var b strings.Builder
	para := func(style lipgloss.Style, text string) {
		b.WriteString(style.Render(lipgloss.Wrap(keepCitations(text), w, " -/")))
		b.WriteString("\n")
	}
	heading := func(h string) {
		b.WriteString("\n")
		b.WriteString(st.Heading.Render(h))
		b.WriteString("\n")
	}
	field := func(name, value string) {
		para(st.Text, st.Muted.Render(name+": ")+value)
	}
	annotate := func(a content.Annotation) { annotationParas(para, st, a) }

	if r.first != last {
		para(st.Title, s.runText(r.first, last))
		para(st.Muted, "TLS records as they crossed the wire. The endpoints decrypt them into the lines and handshake messages around them; an observer sees only type, length and timing (tab: eavesdropper lens).")
		heading("Records")
		for i := r.first; i <= last && i < r.first+maxRunList; i++ {
			ev := &s.evs[i]
			b.WriteString(st.Text.Render(ansi.Truncate(fmt.Sprintf("%s %s %s", sessions.Elapsed(*ev), sessions.Arrow(ev.Dir), sessions.EavesdropperText(*ev, true)), w, "…")))
			b.WriteString("\n")
		}
		if more := last - r.first + 1 - maxRunList; more > 0 {
			para(st.Muted, fmt.Sprintf("… %d more", more))
		}
		return strings.TrimRight(b.String(), "\n")
	}

	ev := s.view(r.first)
	eaves := s.lens == lensEavesdropper
	para(st.Muted, fmt.Sprintf("#%d · %s · %s · %s · %s", ev.Seq, sessions.Elapsed(ev), sessions.SafeString(string(ev.Kind)), sessions.Arrow(ev.Dir), sessions.Badge(ev)))
	if ev.Leg != "" {
		para(st.Leg, "on the connection "+legName(ev.Leg))
	}
	if ev.Kind == sessions.KindBoundary {
		para(st.Boundary, sessions.SafeString(ev.Text))
	}
	if ev.Kind == sessions.KindVerdict {
		s.verdictDetail(&b, ev, w)
		return strings.TrimRight(b.String(), "\n")
	}

	// What it means.
	if ev.Kind == sessions.KindError {
		para(st.Error, "✗ "+sessions.SafeString(ev.Text))
		if ev.Err != nil {
			if a, ok := content.Lookup(ev.Err.Explain); ok {
				para(st.Title, a.Title)
				annotate(a)
			}
		}
	} else {
		if eaves {
			if a, ok := content.Lookup(sessions.WireAnnotation(ev)); ok {
				para(st.Title, "On the wire: "+a.Title)
				annotate(a)
			}
		}
		if !eaves || sessions.OnWire(ev) && ev.Visible == sessions.VisibleAnyone || ev.Kind == sessions.KindBoundary {
			if a, ok := content.Lookup(ev.Annotation); ok {
				if eaves {
					b.WriteString("\n")
				}
				para(st.Title, a.Title)
				annotate(a)
			}
		}
	}
	if !eaves && len(ev.Also) > 0 {
		heading("Also")
		for _, k := range ev.Also {
			if a, ok := content.Lookup(k); ok {
				para(st.Text, "• "+a.Title)
			}
		}
	}

	// Credential.
	if c := ev.Credential; c != nil {
		heading("Credential")
		if c.OnWire {
			para(st.Warning, credOnWire+" (RFC 8314 §5.2)")
		} else {
			para(st.OK, "sent inside TLS: an observer sees only encrypted records")
		}
		field("mechanism", sessions.SafeString(c.Mechanism))
		if c.Username != "" {
			field("user", sessions.SafeString(c.Username))
		}
		if c.Password != "" {
			if s.reveal {
				field("password", sessions.SafeString(c.Password))
			} else {
				field("password", sessions.SafeString(c.Password)+st.Muted.Render(" (masked: p shows it)"))
			}
		}
	}

	// Decoded fields.
	if ln := ev.Line; ln != nil && (!eaves || sessions.OnWire(ev)) {
		heading("Decoded")
		field("protocol", sessions.SafeString(ln.Proto))
		if ln.Command != "" {
			field("command", sessions.SafeString(ln.Command))
		}
		if ln.Code != "" {
			field("code", sessions.SafeString(ln.Code))
		}
		if ln.Enhanced != "" {
			field("enhanced", sessions.SafeString(ln.Enhanced))
		}
		for _, c := range ln.Capabilities {
			para(st.Text, "• "+sessions.SafeString(c))
		}
	}
	if h := ev.Handshake; h != nil {
		heading("Handshake: " + sessions.SafeString(h.Type))
		for _, f := range h.Fields {
			if eaves && !sessions.MetadataField(f) {
				continue
			}
			field(sessions.SafeString(f.Name), sessions.SafeString(f.Value))
		}
		if eaves {
			para(st.Muted, "Shown: the fields an observer can use (names, versions, cipher suite). The rest is readable too, but says little.")
		}
	}
	if rec := ev.Record; rec != nil {
		heading("Record header (RFC 8446 §5.1)")
		field("type", sessions.SafeString(rec.ContentType))
		field("version", sessions.SafeString(rec.Version))
		field("length", strconv.Itoa(rec.Length))
	}
	if t := ev.TLS; t != nil && !eaves {
		heading("TLS state (the client's view)")
		field("version", sessions.SafeString(t.Version))
		field("cipher suite", sessions.SafeString(t.CipherSuite))
		if t.ALPN != "" {
			field("ALPN", sessions.SafeString(t.ALPN))
		}
		if t.ServerName != "" {
			field("server name", sessions.SafeString(t.ServerName))
		}
		for i, c := range t.PeerChain {
			field(fmt.Sprintf("certificate[%d]", i), sessions.SafeString(c))
		}
		verified := st.OK.Render("verified")
		if !t.Verified {
			verified = st.Error.Render("NOT verified")
		}
		field("certificate", verified+" ("+sessions.SafeString(t.VerifyMethod)+")")
		if t.VerifyError != "" {
			field("verify error", sessions.SafeString(t.VerifyError))
		}
	}
	if e := ev.Err; e != nil {
		heading("Error")
		field("during", sessions.SafeString(e.Op))
		field("message", sessions.SafeString(e.Message))
	}

	// Bytes.
	if raw := s.detailBytes(&ev, eaves); len(raw) > 0 {
		masked := ev.Credential != nil && ev.Credential.Password != "" && !s.reveal
		if ev.Kind == sessions.KindLine && !eaves {
			heading(fmt.Sprintf("As written on the connection (%d bytes)", len(raw)))
			lines := strings.SplitAfter(string(raw), "\n")
			for i, l := range lines {
				if l == "" {
					continue
				}
				if i == maxDetailLines {
					para(st.Muted, fmt.Sprintf("… %d more lines", len(lines)-i))
					break
				}
				// Wrapped, not cut: whatever a server put at the end of a long
				// line (an escape sequence, an injected command) stays visible.
				safe := sessions.SafeString(l)
				if len(safe) > maxDetailLineBytes {
					safe = ansi.Truncate(safe, maxDetailLineBytes, "…")
				}
				for _, wl := range strings.Split(ansi.Hardwrap(safe, w, true), "\n") {
					b.WriteString(st.Code.Render(wl))
					b.WriteString("\n")
				}
			}
		} else {
			what := "Bytes on the wire"
			if ev.Layer == sessions.LayerDecrypted || ev.Kind == sessions.KindHandshake && !eaves {
				what = "Bytes (decoded message)"
			}
			heading(fmt.Sprintf("%s: %d (hex | ASCII)", what, len(raw)))
			// A row of n bytes is 12 + 4n + n/8 columns wide (offset, hex
			// groups, ASCII): the widest of 16, 8 or 4 that fits the pane.
			perRow := 16
			for perRow > 4 && 12+4*perRow+(perRow+7)/8 > w {
				perRow /= 2
			}
			dump := raw
			if len(dump) > maxHexBytes {
				dump = dump[:maxHexBytes]
			}
			b.WriteString(st.Code.Render(strings.TrimRight(sessions.SafeHexDump(dump, perRow), "\n")))
			b.WriteString("\n")
			if more := len(raw) - len(dump); more > 0 {
				para(st.Muted, fmt.Sprintf("… %d more bytes", more))
			}
		}
		if masked {
			para(st.Muted, "The password is masked here: the bytes show the mask ••••••••, not what was sent. p shows them as sent.")
		}
	}
	if eaves {
		// With several connections, an observer sits on one path: the
		// selected event's (events of no leg speak for the whole).
		leg := ""
		if len(s.legs) > 1 {
			leg = ev.Leg
		}
		if leg != "" {
			heading("What an observer of " + legTag(leg) + " has learned so far")
		} else {
			heading("What the observer has learned so far")
		}
		for _, l := range s.leaks(leg) {
			para(st.Text, "• "+l)
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// detailBytes picks the bytes the detail pane shows: in the eavesdropper
// lens the bytes as they crossed the wire (cleartext lines, whole TLS
// records, cleartext handshake messages), in the endpoint lens the
// protocol lines and decoded handshake messages.
func (s *sessionScreen) detailBytes(ev *sessions.Event, eaves bool) []byte {
	switch ev.Kind {
	case sessions.KindLine:
		if eaves && ev.Layer != sessions.LayerCleartext {
			return nil
		}
		return ev.Raw
	case sessions.KindNote, sessions.KindRecord, sessions.KindEncrypted, sessions.KindHandshake:
		return ev.Raw
	}
	return nil
}

// leaks summarises what a passive observer learned from the events revealed
// so far (on one leg's path, when leg is set): the sessions printers'
// eavesdropper summary, in short.
func (s *sessionScreen) leaks(leg string) []string {
	var (
		clearLines, encRecords, encBytes int
		sni, alpn, certs                 []string
		creds                            bool
		tls                              bool
	)
	add := func(list []string, v string) []string {
		for _, x := range list {
			if x == v {
				return list
			}
		}
		return append(list, v)
	}
	for i := range s.revealed() {
		ev := &s.evs[i]
		if leg != "" && ev.Leg != leg {
			continue
		}
		switch {
		case ev.Kind == sessions.KindLine && ev.Layer == sessions.LayerCleartext:
			clearLines++
		case ev.Kind == sessions.KindBoundary:
			tls = true
		case ev.Kind == sessions.KindEncrypted:
			encRecords++
			if ev.Record != nil {
				encBytes += ev.Record.Length
			}
		case ev.Kind == sessions.KindHandshake && ev.Handshake != nil && !ev.Handshake.Encrypted:
			for _, f := range ev.Handshake.Fields {
				switch {
				case f.Annotation == "tls.ext.server_name" && ev.Handshake.Type == "client_hello":
					sni = add(sni, sessions.SafeString(f.Value))
				case f.Annotation == "tls.ext.application_layer_protocol_negotiation":
					alpn = add(alpn, sessions.SafeString(f.Value))
				case f.Annotation == "tls.cert.subject":
					certs = add(certs, sessions.SafeString(f.Value))
				}
			}
		}
		if ev.Credential != nil && ev.Credential.OnWire {
			creds = true
		}
	}
	out := []string{"both addresses and ports, and the timing and size of everything sent"}
	if clearLines > 0 {
		out = append(out, fmt.Sprintf("%d protocol lines in the clear: readable and changeable", clearLines))
	}
	if creds {
		out = append(out, "⚠ the credentials: base64 is an encoding, not encryption")
	}
	if len(sni) > 0 {
		out = append(out, "the server name asked for (SNI, RFC 6066 §3): "+strings.Join(sni, ", "))
	}
	if len(alpn) > 0 {
		out = append(out, "ALPN (RFC 7301): "+strings.Join(alpn, ", "))
	}
	if len(certs) > 0 {
		out = append(out, "the server certificate, sent in the clear before TLS 1.3: "+strings.Join(certs, ", "))
	}
	if encRecords > 0 {
		out = append(out, fmt.Sprintf("%d encrypted records, %d bytes: only their sizes and timing", encRecords, encBytes))
	} else if !tls {
		out = append(out, "no TLS so far: everything is readable")
	}
	return out
}

// plural is "1 byte", "2 bytes".
func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// annotationParas writes an annotation's prose, its risk and its
// references, each a paragraph, for the detail panes.
func annotationParas(para func(lipgloss.Style, string), st Styles, a content.Annotation) {
	para(st.Text, a.Text)
	if a.Risk != "" {
		para(st.Warning, "⚠ "+a.Risk)
	}
	if len(a.Refs) > 0 {
		para(st.Muted, content.JoinRefs(a.Refs))
	}
}
