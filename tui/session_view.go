package tui

import (
	"strconv"
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/wire"
)

// Rendering of the session screen. Every byte a peer controls (Text, Raw,
// line fields, handshake fields, certificate names, error messages) reaches
// the screen only through wire.SafeText/SafeString/SafeLines or
// SafeHexDump, so a hostile server cannot put an escape sequence, an OSC 52
// clipboard write or a C1 control on the user's terminal.
//
// Passwords: unless the user reveals them (p), every event that carries a
// password is rendered from protocol.RedactSecrets' copy. That replaces the
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
	// minDetailH is the least height of the detail pane below the
	// timeline when a step needs the room: its border, footer and four
	// lines of text.
	minDetailH = 7
	// Timeline columns: gutter, elapsed time, direction, badge.
	gutterW = 2
	timeW   = 8
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
	// minPresenterBody is the least height left below presenter mode's
	// block: the timeline's header and four rows, the detail pane's
	// border, footer and a line.
	minPresenterBody = 9
	// maxRunList bounds the records listed for a collapsed run.
	maxRunList = 40
	// credOnWire flags a credential that crossed the wire readable
	// (RFC 8314 §5.2, RFC 2595 §2.3).
	credOnWire = "⚠ password readable by anyone on the path"
	// credOnWireShort says it where the row is narrow, credOnWireShorter
	// and credOnWireMark where even that does not fit beside the
	// credential.
	credOnWireShort   = "⚠ password readable"
	credOnWireShorter = "⚠ readable"
	credOnWireMark    = "⚠"
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
	// Presenter mode's block sits under the header, leaving the parts
	// below it room for a few rows and the detail pane's.
	top := headerLines + len(s.presenterLines(s.presenterMaxH()))
	body := h - top
	if s.zoom {
		// z: the timeline takes the screen; the detail pane is hidden
		// below it.
		return sessionLayout{listY: top + 1, listW: w, listH: body - 1, detailY: h, detailW: w}
	}
	if l.wide {
		l.detailW = max(48, w*2/5)
		l.listW = w - l.detailW - 1
		l.listY = top + 1
		l.listH = body - 1
		l.detailX = l.listW + 1
		l.detailY = top
		l.detailH = body
		return l
	}
	l.listW = w
	l.listY = top + 1
	l.listH = max(3, (body-1)*9/20)
	if split {
		l.listH = max(3, (body-1)*3/5)
	}
	if s.step.on {
		// Every row of the current step on screen, as far as the detail
		// pane keeps room for a few lines; a longer step scrolls.
		l.listH = max(l.listH, min(s.step.rows(s.tl.rows), body-1-minDetailH))
	}
	l.detailX = 0
	l.detailY = l.listY + l.listH
	l.detailW = w
	l.detailH = h - l.detailY
	return l
}

// View renders the screen at its size: header, timeline and detail pane,
// or header and panel.
//
// It joins its parts by hand rather than with lipgloss.Join*: every line of
// every part is built to its exact width, and measuring a whole frame's
// graphemes again would cost more than rendering the visible rows
// (BenchmarkSessionScreen100k).
func (s *sessionScreen) View() string {
	l := s.layout()
	w, h := max(s.width, 1), max(s.height, 1)
	lines := make([]string, 0, h)
	lines = append(lines, strings.Split(s.headerView(w), "\n")...)
	lines = append(lines, s.presenterLines(s.presenterMaxH())...)
	if s.panel.open {
		lines = append(lines, strings.Split(s.panel.View(), "\n")...)
		return strings.Join(lines[:min(len(lines), h)], "\n")
	}
	list := s.tl.lines()
	detail := strings.Split(s.detail.View(), "\n")
	if s.zoom {
		detail = nil
	}
	if s.export.open {
		// The menu takes the detail pane's place.
		detail = s.export.View(l.detailW, len(detail))
	}
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

// split says whether the timeline shows the two legs of a machine in the
// middle side by side: wide enough, no leg filter, no panel.
func (s *sessionScreen) split() bool {
	return s.width >= sessionWideWidth && s.legs.all() && !s.panel.open && s.legs.mitm()
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
	target := wire.SafeString(r.Target)
	if r.Label != "" {
		target += " (" + wire.SafeString(r.Label) + ")"
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
	state := st.Muted.Render(" · ") + s.stateText(stateStyle)
	count := st.Muted.Render(" · " + plural(len(s.evs), "event"))
	where := func(target string) string {
		return st.Muted.Render(" · ") + st.Text.Render(wire.SafeString(what)) +
			st.Muted.Render(" → ") + st.Text.Render(target)
	}
	// Narrow screens drop the name first, then the target's label, then
	// the event count: the state (and the spinner) stay. A replay says so
	// where a live session says session.
	name := "session"
	if r.Replay != "" {
		name = "replay"
	}
	var line1 string
	for _, l := range []string{
		st.Title.Render("mailwire "+name) + where(target) + state + count,
		st.Title.Render(name) + where(target) + state + count,
		st.Title.Render(name) + where(wire.SafeString(r.Target)) + state + count,
		st.Title.Render(name) + where(wire.SafeString(r.Target)) + state,
	} {
		if line1 = l; ansi.StringWidth(l) <= w {
			break
		}
	}
	if r.Scenario != "" {
		line1 = s.scenarioHeader(w, stateStyle)
	}

	var lensText, other string
	if observer(s.lens) {
		lensText, other = " EAVESDROPPER LENS ", "only what a passive observer on the path sees · tab: endpoint"
	} else {
		lensText, other = " ENDPOINT LENS ", "what client and server see · tab: eavesdropper"
	}
	line2 := st.Lens.Render(lensText) + " " + st.Muted.Render(other)
	switch {
	case s.step.on:
		line2 = st.Lens.Render(lensText) + " " + s.step.View()
	case s.step.note != "":
		// What the last key did (a new auto-play speed), until the next.
		line2 = st.Lens.Render(lensText) + " " + st.Step.Render(s.step.note)
	}
	if s.reveal {
		line2 += st.Muted.Render(" · ") + st.Warning.Render("passwords shown")
	}
	if f := s.legs.View(); f != "" && !s.step.on && s.step.note == "" {
		// The filter replaces the lens explanation: tab is in the help bar.
		line2 = st.Lens.Render(lensText) + " " + f
		if s.reveal {
			line2 += st.Muted.Render(" · ") + st.Warning.Render("passwords shown")
		}
	}
	if n := s.export.note; n != "" && !s.step.on {
		// What the last export or save wrote, until the next one (over
		// a scenario's leg filter too).
		style := st.OK
		if s.export.noteErr {
			style = st.Error
		}
		line2 = st.Lens.Render(lensText) + " " + style.Render(n)
	}
	switch {
	case s.save.open:
		line2 = st.Lens.Render(lensText) + " " + s.save.View(w-ansi.StringWidth(lensText)-1)
	case s.find.typing:
		line2 = st.Lens.Render(lensText) + " " + s.find.View()
	case s.status != "":
		// What the last key did (a copy, a jump, a search's count).
		line2 = st.Lens.Render(lensText) + " " + st.Step.Render(s.status)
	case s.find.query != "" && !s.step.on:
		line2 = st.Lens.Render(lensText) + " " + st.Muted.Render("search "+strconv.Quote(s.find.query)+": "+s.find.countText()+" · n/N next/previous · esc clears")
	}
	return ansi.Truncate(line1, w, "…") + "\n" + ansi.Truncate(line2, w, "…")
}

// stateText says how the session stands, for the header: while it runs,
// a turning spinner and the time since it started; once done, how long
// it took by its own clock (the last event's time).
func (s *sessionScreen) stateText(style lipgloss.Style) string {
	switch s.state {
	case stateOpening, stateRunning:
		return style.Render(s.spin.View() + " " + s.state.String() + " " + wire.FormatDuration(s.now().Sub(s.started)))
	case stateDone:
		if n := len(s.evs); n > 0 {
			return style.Render("done in " + wire.FormatDuration(s.evs[n-1].At))
		}
	}
	return style.Render(s.state.String())
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

// padTo pads plain (unstyled) text with spaces to w cells.
func padTo(text string, w int) string {
	if d := w - ansi.StringWidth(text); d > 0 {
		return text + strings.Repeat(" ", d)
	}
	return text
}

// plural is "1 byte", "2 bytes".
func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}
