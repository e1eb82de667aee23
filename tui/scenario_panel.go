package tui

import (
	"fmt"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mailwire/mailwire/sessions/lens"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/scenario"
	"github.com/mailwire/mailwire/sessions/wire"
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

// scenarioPanel is the panel's model: open or not, and its text in a
// bubbles viewport, built for the events revealed and the width.
type scenarioPanel struct {
	c    *Common
	d    *sessionData // read only
	step *stepper     // read only: what is revealed
	legs *legFilter   // read only: how many connections

	open bool
	vp   viewport.Model
	// builtFor is the (events revealed, width) the text was built for;
	// {-1, -1} when it must be built again.
	builtFor [2]int

	width, height int // the body's: the text, then a footer line
}

func newScenarioPanel(c *Common, d *sessionData, step *stepper, legs *legFilter) *scenarioPanel {
	vp := viewport.New()
	vp.KeyMap = viewport.KeyMap{} // keys come from the one KeyMap (Update)
	return &scenarioPanel{c: c, d: d, step: step, legs: legs, vp: vp, builtFor: [2]int{-1, -1}}
}

// available says whether c has something to show.
func (p *scenarioPanel) available() bool {
	return p.summary() != scenario.SummaryNone || p.legs.several()
}

// summary is what the running scenario computes from its stream.
func (p *scenarioPanel) summary() scenario.Summary {
	if sc, ok := p.c.scenarioByName(p.d.req.Scenario); ok {
		return sc.Summary
	}
	return scenario.SummaryNone
}

// name says what the panel of this scenario is.
func (p *scenarioPanel) name() string {
	if p.summary() == scenario.SummaryHops {
		return "hop diagram"
	}
	return "comparison table"
}

// toggle opens the panel (when it has something to show) or closes it;
// either way it starts at its top.
func (p *scenarioPanel) toggle() {
	if !p.open && !p.available() {
		return
	}
	p.open = !p.open
	p.vp.SetYOffset(0)
	p.invalidate()
}

// invalidate has the text built again at the next sync.
func (p *scenarioPanel) invalidate() { p.builtFor = [2]int{-1, -1} }

// SetSize sets the body's size: the text and a footer line.
func (p *scenarioPanel) SetSize(width, height int) {
	p.width, p.height = width, height
	p.vp.SetWidth(max(1, width))
	p.vp.SetHeight(max(1, height-1))
	p.vp.SetYOffset(p.vp.YOffset()) // within the new height
}

// sync builds the text again when more events are revealed or the width
// changed, keeping the scroll position.
func (p *scenarioPanel) sync() {
	n, w := p.step.revealed(), p.width
	if p.builtFor == [2]int{n, w} {
		return
	}
	var body string
	if p.summary() == scenario.SummaryHops {
		body = p.hopsView(p.d.evs[:n], w)
	} else {
		body = p.compareView(p.d.evs[:n], w)
	}
	lines := strings.Split(body, "\n")
	for i, l := range lines {
		lines[i] = padTo(ansi.Truncate(l, w, "…"), w)
	}
	p.vp.SetContentLines(lines)
	p.builtFor = [2]int{n, w}
}

// Update scrolls the open panel and closes it on esc. ok is false for the
// other messages, which mean the same over the panel as over the events.
func (p *scenarioPanel) Update(msg tea.Msg) (tea.Cmd, bool) {
	if !p.open {
		return nil, false
	}
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		return nil, p.key(msg)
	case tea.MouseWheelMsg:
		switch msg.Mouse().Button {
		case tea.MouseWheelUp:
			p.vp.ScrollUp(3)
		case tea.MouseWheelDown:
			p.vp.ScrollDown(3)
		}
		return nil, true
	}
	return nil, false
}

func (p *scenarioPanel) key(msg tea.KeyPressMsg) bool {
	k := p.c.Keys
	page := max(1, p.vp.Height()-1)
	switch {
	case key.Matches(msg, k.Back):
		p.toggle()
	case key.Matches(msg, k.Up):
		p.vp.ScrollUp(1)
	case key.Matches(msg, k.Down):
		p.vp.ScrollDown(1)
	case key.Matches(msg, k.PrevPage), key.Matches(msg, k.DetailUp):
		p.vp.ScrollUp(page)
	case key.Matches(msg, k.NextPage), key.Matches(msg, k.DetailDown):
		p.vp.ScrollDown(page)
	case key.Matches(msg, k.Top):
		p.vp.GotoTop()
	case key.Matches(msg, k.Bottom):
		p.vp.GotoBottom()
	default:
		return false
	}
	return true
}

// View renders the panel's text and a footer line, in its width.
func (p *scenarioPanel) View() string {
	st := p.c.Styles
	total, bodyH := p.vp.TotalLineCount(), p.vp.Height()
	foot := "c or esc: back to the events"
	if total > bodyH {
		foot = fmt.Sprintf("%d%% · ↑/↓ pgup/pgdn scroll · ", 100*p.vp.YOffset()/max(1, total-bodyH)) + foot
	}
	return p.vp.View() + "\n" + st.Muted.Render(padTo(ansi.Truncate(foot, p.width, "…"), p.width))
}

// helpBinding is c's help: what the panel of this scenario is, or the way
// back from it.
func (p *scenarioPanel) helpBinding() key.Binding {
	b := p.c.Keys.Panel
	switch {
	case p.open:
		b.SetHelp("c", "events")
	case p.summary() == scenario.SummaryHops:
		b.SetHelp("c", "hop diagram")
	default:
		b.SetHelp("c", "compare table")
	}
	return b
}

// ShortHelp lists c where the scenario has a panel.
func (p *scenarioPanel) ShortHelp() []key.Binding {
	if !p.open && !p.available() {
		return nil
	}
	return []key.Binding{p.helpBinding()}
}

// FullHelp is ShortHelp, in one column.
func (p *scenarioPanel) FullHelp() [][]key.Binding { return [][]key.Binding{p.ShortHelp()} }

// panelHead is the panel's first lines: what it is and what it is
// computed from.
func (p *scenarioPanel) panelHead(b *strings.Builder, title string, evs []wire.Event, w int) {
	st := p.c.Styles
	live := ""
	switch {
	case p.step.on && len(evs) < len(p.d.evs):
		live = " (step mode: as far as revealed)"
	case p.d.live():
		live = " (running: it fills in as they arrive)"
	}
	b.WriteString(st.Title.Render(title) + "\n")
	b.WriteString(st.Muted.Render(wrapText("computed from "+plural(len(evs), "event")+live+", by the same function as the verdict", w)) + "\n\n")
}

// cell is one styled cell of the compare table.
type cell struct {
	text  string
	style lipgloss.Style
}

// compareView draws the compare table: one column per leg, one row per
// property, cells wrapped within their column.
func (p *scenarioPanel) compareView(evs []wire.Event, w int) string {
	st := p.c.Styles
	var b strings.Builder
	p.panelHead(&b, "Comparison, per connection", evs, w)
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
			case lens.BoundaryStartTLS:
				return cell{"after STARTTLS", st.Cleartext}
			case lens.BoundaryImplicit:
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
			return plainCell(wire.FormatDuration(r.ToEncrypted))
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
	p.panelVerdicts(&b, evs, w)
	return strings.TrimRight(b.String(), "\n")
}

// compareTitle is a column heading: the leg and how TLS begins there.
func compareTitle(r scenario.CompareRow) string {
	leg := legTag(r.Leg)
	if r.Leg == "" {
		leg = "session"
	}
	switch {
	case r.Proto == protocol.HTTP:
		return leg + " · HTTPS"
	case r.Boundary == lens.BoundaryStartTLS:
		return leg + " · STARTTLS"
	case r.Boundary == lens.BoundaryImplicit:
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
		lines := strings.Split(wrapText(keepCitations(wire.SafeString(c.text)), w), "\n")
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
func (p *scenarioPanel) panelVerdicts(b *strings.Builder, evs []wire.Event, w int) {
	st := p.c.Styles
	var vs []wire.Event
	for _, ev := range evs {
		if ev.Kind == wire.KindVerdict {
			vs = append(vs, ev)
		}
	}
	if len(vs) == 0 {
		return
	}
	b.WriteString("\n" + st.Heading.Render(verdictsHeading(vs)) + "\n")
	for _, ev := range vs {
		text := verdictMark(ev.Verdict) + " " + wire.SafeString(ev.Text)
		if ev.Leg != "" {
			text = verdictMark(ev.Verdict) + " " + legName(ev.Leg) + ": " + wire.SafeString(ev.Text)
		}
		b.WriteString(verdictStyle(st, ev.Verdict).Render(wrapText(keepCitations(text), w)) + "\n")
	}
}

// hopsView draws a message's path: for each hop a box for each end, an
// arrow between them labelled with the port and how the hop was protected
// (TLS version, or CLEARTEXT) and whether the certificate was checked,
// then what an observer on that hop reads.
func (p *scenarioPanel) hopsView(evs []wire.Event, w int) string {
	st := p.c.Styles
	var b strings.Builder
	p.panelHead(&b, "The message's path, hop by hop", evs, w)
	hops := scenario.Hops(evs)
	if len(hops) == 0 {
		b.WriteString(st.Muted.Render("No hop yet."))
		return b.String()
	}
	boxIn := 3
	for _, h := range hops {
		boxIn = max(boxIn, ansi.StringWidth(wire.SafeString(h.From)), ansi.StringWidth(wire.SafeString(h.To)))
	}
	boxIn = min(boxIn, 12)
	boxW := boxIn + 4
	const numW = 3
	arrowW := max(8, min(w, 84)-numW-2*boxW-2)
	for i, h := range hops {
		style, line, label := hopLook(st, h)
		box := func(name string) [3]string {
			name = padTo(ansi.Truncate(wire.SafeString(name), boxIn, "…"), boxIn)
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
		obs := "an observer on this hop reads: " + wire.SafeString(h.Observer)
		if h.Err != "" {
			obs += "; failed: " + wire.SafeString(h.Err)
		}
		for _, l := range strings.Split(wrapText(keepCitations(obs), max(10, w-numW-3)), "\n") {
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
		b.WriteString("\n" + st.Heading.Render("Received: headers on "+legName(h.Leg)+" (newest first)") + "\n")
		for _, r := range h.Received {
			for _, l := range strings.Split(wrapText(wire.SafeString(r), max(10, w-2)), "\n") {
				b.WriteString("  " + st.Code.Render(l) + "\n")
			}
		}
	}
	p.panelVerdicts(&b, evs, w)
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
		return st.Error, "╍", port + wire.SafeString(h.TLS)
	}
	how := ""
	switch h.Boundary {
	case lens.BoundaryStartTLS:
		how = " · after STARTTLS"
	case lens.BoundaryImplicit:
		how = " · implicit"
	}
	return st.Encrypted, "━", port + wire.SafeString(h.TLS) + how
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
