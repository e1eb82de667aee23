package tui

import (
	"fmt"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/scenario"
)

// The panel: the compare table (a scenario whose Summary is
// SummaryCompare, and any stream of several connections) or the hop
// diagram (SummaryHops), drawn over the whole body. Both are computed by package scenario from the events
// revealed so far (scenario.Compare, scenario.Hops), the same functions
// the scenario's verdict and the printers use, so the panel fills in as
// the events arrive and, in step mode, as the steps are revealed.

// maxCellLines bounds one wrapped cell of the compare table (a long
// capability list).
const maxCellLines = 6

// panelAvailable says whether c has something to show.
func (s *sessionScreen) panelAvailable() bool {
	return s.summary() != scenario.SummaryNone || len(s.legs) > 1
}

// summary is what the running scenario computes from its stream.
func (s *sessionScreen) summary() scenario.Summary {
	if sc, ok := s.c.scenarioByName(s.req.Scenario); ok {
		return sc.Summary
	}
	return scenario.SummaryNone
}

func (s *sessionScreen) panelName() string {
	if s.summary() == scenario.SummaryHops {
		return "hop diagram"
	}
	return "comparison table"
}

func (s *sessionScreen) togglePanel() {
	if !s.panel && !s.panelAvailable() {
		return
	}
	s.panel = !s.panel
	s.panelOff = 0
	s.panelFor = [2]int{-1, -1}
	// The side-by-side view and the layout depend on the panel.
	s.invalidate()
	s.clampScroll()
}

// panelKey handles the keys that mean something else over the panel:
// scrolling, and esc closing it. ok is false for the others.
func (s *sessionScreen) panelKey(msg tea.KeyPressMsg) (tea.Cmd, bool) {
	k := s.c.Keys
	page := max(1, s.height-headerLines-2)
	switch {
	case key.Matches(msg, k.Back):
		s.togglePanel()
	case key.Matches(msg, k.Up):
		s.scrollPanel(-1)
	case key.Matches(msg, k.Down):
		s.scrollPanel(1)
	case key.Matches(msg, k.PrevPage), key.Matches(msg, k.DetailUp):
		s.scrollPanel(-page)
	case key.Matches(msg, k.NextPage), key.Matches(msg, k.DetailDown):
		s.scrollPanel(page)
	case key.Matches(msg, k.Top):
		s.scrollPanel(-len(s.panelLines))
	case key.Matches(msg, k.Bottom):
		s.scrollPanel(len(s.panelLines))
	default:
		return nil, false
	}
	return nil, true
}

func (s *sessionScreen) scrollPanel(d int) {
	h := max(1, s.height-headerLines-1)
	s.panelOff = max(0, min(s.panelOff+d, len(s.panelLines)-h))
}

// panelView renders the panel in h lines of width w: its content, cut
// and padded to w, and a footer line.
func (s *sessionScreen) panelView(w, h int) []string {
	st := s.c.Styles
	n := s.revealed()
	if s.panelFor != [2]int{n, w} {
		var body string
		if s.summary() == scenario.SummaryHops {
			body = s.hopsView(s.evs[:n], w)
		} else {
			body = s.compareView(s.evs[:n], w)
		}
		s.panelLines = strings.Split(body, "\n")
		for i, l := range s.panelLines {
			s.panelLines[i] = padTo(ansi.Truncate(l, w, "…"), w)
		}
		s.panelFor = [2]int{n, w}
	}
	bodyH := max(1, h-1)
	s.panelOff = max(0, min(s.panelOff, len(s.panelLines)-bodyH))
	out := make([]string, 0, h)
	for i := range bodyH {
		if j := s.panelOff + i; j < len(s.panelLines) {
			out = append(out, s.panelLines[j])
		} else {
			out = append(out, strings.Repeat(" ", w))
		}
	}
	foot := "c or esc: back to the events"
	if len(s.panelLines) > bodyH {
		foot = fmt.Sprintf("%d%% · ↑/↓ pgup/pgdn scroll · ", 100*s.panelOff/max(1, len(s.panelLines)-bodyH)) + foot
	}
	return append(out, st.Muted.Render(padTo(ansi.Truncate(foot, w, "…"), w)))
}

// panelHead is the panel's first lines: what it is and what it is
// computed from.
func (s *sessionScreen) panelHead(b *strings.Builder, title string, evs []sessions.Event, w int) {
	st := s.c.Styles
	live := ""
	switch {
	case s.stepMode && len(evs) < len(s.evs):
		live = " (step mode: as far as revealed)"
	case s.state == stateRunning || s.state == stateOpening:
		live = " (running: it fills in as they arrive)"
	}
	b.WriteString(st.Title.Render(title) + "\n")
	b.WriteString(st.Muted.Render(lipgloss.Wrap("computed from "+plural(len(evs), "event")+live+", by the same function as the verdict", w, " ")) + "\n\n")
}

// cell is one styled cell of the compare table.
type cell struct {
	text  string
	style lipgloss.Style
}

// compareView draws the compare table: one column per leg, one row per
// property, cells wrapped within their column.
func (s *sessionScreen) compareView(evs []sessions.Event, w int) string {
	st := s.c.Styles
	var b strings.Builder
	s.panelHead(&b, "Comparison, per connection", evs, w)
	t := scenario.Compare(evs)
	if len(t.Rows) == 0 {
		b.WriteString(st.Muted.Render("No connection yet."))
		return b.String()
	}
	n := len(t.Rows)
	labelW := min(22, max(12, w/4))
	colW := max(8, (w-labelW-2*n)/n)
	plainCell := func(text string) cell { return cell{text, st.Text} }
	props := []struct {
		label string
		f     func(r scenario.CompareRow) cell
	}{
		{"TLS begins", func(r scenario.CompareRow) cell {
			switch r.Boundary {
			case scenario.BoundaryStartTLS:
				return cell{"after STARTTLS", st.Cleartext}
			case scenario.BoundaryImplicit:
				return cell{"at the first byte", st.Encrypted}
			}
			return cell{"never", st.Error}
		}},
		{"cleartext before TLS", func(r scenario.CompareRow) cell {
			c := cell{fmt.Sprintf("%d (%d sent, %d received)", r.CleartextBytes, r.CleartextC2S, r.CleartextS2C), st.OK}
			if r.CleartextBytes > 0 {
				c.style = st.Cleartext
			}
			return c
		}},
		{"round trips pre-TLS", func(r scenario.CompareRow) cell { return plainCell(strconv.Itoa(r.RoundTrips)) }},
		{"handshake in clear", func(r scenario.CompareRow) cell {
			return cell{plural(r.HandshakeClearBytes, "byte"), st.Handshake}
		}},
		{"to 1st encrypted", func(r scenario.CompareRow) cell {
			if r.ToEncrypted < 0 {
				return cell{"—", st.Muted}
			}
			return plainCell(scenario.FormatMillis(r.ToEncrypted))
		}},
		{"greeting names", func(r scenario.CompareRow) cell { return leakCell(st, r.GreetingHost) }},
		{"client name (EHLO)", func(r scenario.CompareRow) cell { return leakCell(st, r.ClientName) }},
		{"capabilities seen", func(r scenario.CompareRow) cell { return leakCell(st, strings.Join(r.Capabilities, ", ")) }},
		{"password in clear", func(r scenario.CompareRow) cell {
			if r.CredentialsInClear {
				return cell{"⚠ YES", st.Error}
			}
			return cell{"no", st.OK}
		}},
		{"SNI (ClientHello)", func(r scenario.CompareRow) cell { return metaCell(st, r.SNI) }},
		{"ALPN offered", func(r scenario.CompareRow) cell { return metaCell(st, r.ALPNOffered) }},
		{"TLS version", func(r scenario.CompareRow) cell { return metaCell(st, r.TLSVersion) }},
		{"downgradeable", func(r scenario.CompareRow) cell {
			if r.Downgradeable {
				return cell{"⚠ " + r.DowngradeWhy, st.Warning}
			}
			return cell{r.DowngradeWhy, st.OK}
		}},
		{"certificate checked", func(r scenario.CompareRow) cell {
			if r.CertVerified {
				return cell{r.CertCheck, st.OK}
			}
			return cell{r.CertCheck, st.Warning}
		}},
	}
	for _, r := range t.Rows {
		if r.Err != "" {
			props = append(props, struct {
				label string
				f     func(r scenario.CompareRow) cell
			}{"error", func(r scenario.CompareRow) cell {
				if r.Err == "" {
					return cell{"—", st.Muted}
				}
				return cell{r.Err, st.Error}
			}})
			break
		}
	}

	// Header: the legs, then a rule.
	head := make([]cell, n)
	for i, r := range t.Rows {
		head[i] = cell{compareTitle(r), st.Header}
	}
	writeTableRow(&b, cell{"", st.Header}, head, labelW, colW)
	b.WriteString(st.Muted.Render(strings.Repeat("─", min(w, labelW+n*(colW+2)))) + "\n")
	for _, p := range props {
		cells := make([]cell, n)
		for i, r := range t.Rows {
			cells[i] = p.f(r)
		}
		writeTableRow(&b, cell{p.label, st.Muted}, cells, labelW, colW)
	}
	s.panelVerdicts(&b, evs, w)
	return strings.TrimRight(b.String(), "\n")
}

// compareTitle is a column heading: the leg and how TLS begins there.
func compareTitle(r scenario.CompareRow) string {
	leg := legTag(r.Leg)
	if r.Leg == "" {
		leg = "session"
	}
	switch {
	case r.Proto == sessions.ProtoHTTP:
		return leg + " · HTTPS"
	case r.Boundary == scenario.BoundaryStartTLS:
		return leg + " · STARTTLS"
	case r.Boundary == scenario.BoundaryImplicit:
		return leg + " · implicit TLS"
	}
	return leg + " · cleartext"
}

// leakCell is a value anyone on the path read: in the cleartext style, or
// a dash.
func leakCell(st Styles, v string) cell {
	if v == "" {
		return cell{"—", st.Muted}
	}
	return cell{v, st.Cleartext}
}

// metaCell is TLS metadata read in the clear.
func metaCell(st Styles, v string) cell {
	if v == "" {
		return cell{"—", st.Muted}
	}
	return cell{v, st.Handshake}
}

// writeTableRow writes one property: its label and a cell per column, each
// sanitized and wrapped within its width, the row as tall as its tallest
// cell (up to maxCellLines).
func writeTableRow(b *strings.Builder, label cell, cells []cell, labelW, colW int) {
	wrapCell := func(c cell, w int) []string {
		lines := strings.Split(lipgloss.Wrap(keepCitations(sessions.SafeString(c.text)), w, " ,/-"), "\n")
		for i, l := range lines {
			lines[i] = ansi.Hardwrap(l, w, true)
		}
		lines = strings.Split(strings.Join(lines, "\n"), "\n")
		if len(lines) > maxCellLines {
			lines = append(lines[:maxCellLines-1], "…")
		}
		return lines
	}
	cols := [][]string{wrapCell(label, labelW)}
	height := len(cols[0])
	for _, c := range cells {
		l := wrapCell(c, colW)
		cols = append(cols, l)
		height = max(height, len(l))
	}
	for y := range height {
		for x, col := range cols {
			w, style := colW, label.style
			if x == 0 {
				w = labelW
			} else {
				style = cells[x-1].style
				b.WriteString("  ")
			}
			text := ""
			if y < len(col) {
				text = col[y]
			}
			b.WriteString(style.Render(padTo(text, w)))
		}
		b.WriteString("\n")
	}
}

// panelVerdicts lists the verdicts under the table or diagram.
func (s *sessionScreen) panelVerdicts(b *strings.Builder, evs []sessions.Event, w int) {
	st := s.c.Styles
	first := true
	for _, ev := range evs {
		if ev.Kind != sessions.KindVerdict {
			continue
		}
		if first {
			b.WriteString("\n" + st.Heading.Render("Verdict") + "\n")
			first = false
		}
		style := st.Warning
		if ev.Verdict != nil && ev.Verdict.Safe {
			style = st.OK.Bold(true)
		}
		text := verdictMark(ev.Verdict) + " " + sessions.SafeString(ev.Text)
		if ev.Leg != "" {
			text = verdictMark(ev.Verdict) + " " + legTag(ev.Leg) + ": " + sessions.SafeString(ev.Text)
		}
		b.WriteString(style.Render(lipgloss.Wrap(keepCitations(text), w, " -/")) + "\n")
	}
}

// hopsView draws a message's path: for each hop a box for each end, an
// arrow between them labelled with the port and how the hop was protected
// (TLS version, or CLEARTEXT) and whether the certificate was checked,
// then what an observer on that hop reads.
func (s *sessionScreen) hopsView(evs []sessions.Event, w int) string {
	st := s.c.Styles
	var b strings.Builder
	s.panelHead(&b, "The message's path, hop by hop", evs, w)
	hops := scenario.Hops(evs)
	if len(hops) == 0 {
		b.WriteString(st.Muted.Render("No hop yet."))
		return b.String()
	}
	boxIn := 3
	for _, h := range hops {
		boxIn = max(boxIn, ansi.StringWidth(sessions.SafeString(h.From)), ansi.StringWidth(sessions.SafeString(h.To)))
	}
	boxIn = min(boxIn, 12)
	boxW := boxIn + 4
	const numW = 3
	arrowW := max(8, min(w, 84)-numW-2*boxW-2)
	for i, h := range hops {
		style, line, label := hopLook(st, h)
		box := func(name string) [3]string {
			name = padTo(ansi.Truncate(sessions.SafeString(name), boxIn, "…"), boxIn)
			return [3]string{"╭" + strings.Repeat("─", boxIn+2) + "╮", "│ " + name + " │", "╰" + strings.Repeat("─", boxIn+2) + "╯"}
		}
		to := h.To
		if to == "" {
			to = "?"
		}
		from, dest := box(h.From), box(to)
		cert := ""
		if h.Cert != "" {
			cert = "certificate " + h.Cert
		}
		mid := [3]string{
			" " + padTo(ansi.Truncate(label, arrowW-2, "…"), arrowW-1),
			" " + strings.Repeat(line, arrowW-2) + "▶",
			" " + padTo(ansi.Truncate(cert, arrowW-2, "…"), arrowW-1),
		}
		for y := range 3 {
			num := strings.Repeat(" ", numW)
			if y == 1 {
				num = fmt.Sprintf("%2d ", i+1)
			}
			midStyle := style
			if y == 2 {
				midStyle = certStyle(st, h.Cert)
			}
			b.WriteString(st.Muted.Render(num) + st.Header.Render(from[y]) + midStyle.Render(mid[y]) + st.Header.Render(dest[y]) + "\n")
		}
		obs := "an observer on this hop reads: " + sessions.SafeString(h.Observer)
		if h.Err != "" {
			obs += "; failed: " + sessions.SafeString(h.Err)
		}
		for _, l := range strings.Split(lipgloss.Wrap(keepCitations(obs), max(10, w-numW-3), " ,/-"), "\n") {
			b.WriteString(strings.Repeat(" ", numW+2) + st.Muted.Render(strings.TrimRight(l, " ")) + "\n")
		}
		if i < len(hops)-1 {
			b.WriteString("\n")
		}
	}
	for _, h := range hops {
		if len(h.Received) == 0 {
			continue
		}
		b.WriteString("\n" + st.Heading.Render("Received: headers on "+legTag(h.Leg)+" (newest first)") + "\n")
		for _, r := range h.Received {
			for _, l := range strings.Split(lipgloss.Wrap(sessions.SafeString(r), max(10, w-2), " "), "\n") {
				b.WriteString("  " + st.Code.Render(l) + "\n")
			}
		}
	}
	s.panelVerdicts(&b, evs, w)
	return strings.TrimRight(b.String(), "\n")
}

// hopLook is a hop's arrow: style, line glyph and label. The glyph tells
// the protection without colour: ━ for TLS, ╍ for cleartext, · for no
// network.
func hopLook(st Styles, h scenario.Hop) (lipgloss.Style, string, string) {
	port := ""
	if h.Port != 0 {
		port = strconv.Itoa(h.Port) + " · "
	}
	switch {
	case h.TLS == scenario.HopLocal:
		return st.Muted, "·", "no network (local delivery)"
	case h.TLS == scenario.HopCleartext:
		return st.Cleartext, "╍", port + "CLEARTEXT"
	case h.Err != "" && !strings.HasPrefix(h.TLS, "TLS"):
		return st.Error, "╍", port + sessions.SafeString(h.TLS)
	}
	how := ""
	switch h.Boundary {
	case scenario.BoundaryStartTLS:
		how = " · after STARTTLS"
	case scenario.BoundaryImplicit:
		how = " · implicit"
	}
	return st.Encrypted, "━", port + sessions.SafeString(h.TLS) + how
}

func certStyle(st Styles, cert string) lipgloss.Style {
	switch cert {
	case scenario.CertVerified:
		return st.OK
	case scenario.CertFailed:
		return st.Error
	case scenario.CertNotEnforced, scenario.CertNotChecked:
		return st.Warning
	}
	return st.Muted
}
