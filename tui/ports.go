package tui

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/scan"
	"github.com/mailwire/mailwire/sessions/wire"
)

// Column widths of the port table, in cells. Fixed widths keep mouse
// hit-testing simple arithmetic and the table stable as labels change.
const (
	colProtocol = 8
	colPort     = 16 // "587 → :10587" plus room for a fallback port
	colPurpose  = 20 // "Web (for comparison)"
	colGap      = 1

	tableInner = colProtocol + colGap + colPort + colGap + colPort + colGap + colPurpose
	tableFrame = 4 // rounded border (1+1) and padding (1+1)
	tableWidth = tableInner + tableFrame

	// wideWidth is the terminal width from which the detail pane sits beside
	// the table instead of below it.
	wideWidth = 100

	// Selection columns.
	colExplicit = 0
	colImplicit = 1
)

// detailMode says what the detail pane shows.
type detailMode int

const (
	modeExplain  detailMode = iota // the port's teaching page
	modeEndpoint                   // the lab endpoint and a command to try it
)

// portsScreen is the port table: one row per protocol, a cell per TLS mode,
// a detail pane for the selected port and the lab's status.
type portsScreen struct {
	c    *Common
	rows []content.PortRow

	row, col int // selected cell
	// wantCol is the column to keep while moving up or down in one
	// direction, through a row that lacks it; vertDir is that direction
	// (-1 up, 1 down, 0 after any other move). Turning back starts from
	// the column the selection is in: after j l k j the selection is back
	// on 587, not on 465.
	wantCol int
	vertDir int

	mode   detailMode
	detail viewport.Model
	// status says what the last key did (a copy), under the pane until
	// the next key.
	status string

	width, height int
}

func newPortsScreen(c *Common) *portsScreen {
	s := &portsScreen{
		c:      c,
		rows:   content.PortTable(),
		detail: viewport.New(),
	}
	s.selectRow(0)
	return s
}

func (s *portsScreen) Init() tea.Cmd { return nil }

// SetSize sets the area the screen may draw in.
func (s *portsScreen) SetSize(width, height int) {
	s.width, s.height = width, height
	s.refresh()
}

// Selected returns the selected port.
func (s *portsScreen) Selected() int { return s.portAt(s.row, s.col) }

func (s *portsScreen) portAt(row, col int) int {
	if row < 0 || row >= len(s.rows) {
		return 0
	}
	if col == colExplicit {
		return s.rows[row].Explicit
	}
	return s.rows[row].Implicit
}

// selectRow moves to a row, in the column the user last chose if the row has
// a port there, else in the row's only port column: SMTP has no implicit
// port and HTTPS no explicit one, and landing on "—" would select nothing.
func (s *portsScreen) selectRow(row int) {
	s.row = max(0, min(row, len(s.rows)-1))
	s.col = s.wantCol
	if s.portAt(s.row, s.col) == 0 {
		s.col = 1 - s.col
	}
}

// moveRow moves the selection one row up (-1) or down (1), keeping the
// column while it goes on in the same direction.
func (s *portsScreen) moveRow(dir int) {
	if dir != s.vertDir {
		s.wantCol = s.col
	}
	s.vertDir = dir
	s.selectRow(s.row + dir)
}

// selectPort selects port's cell, if the table has it.
func (s *portsScreen) selectPort(port int) {
	for row := range s.rows {
		for _, col := range []int{colExplicit, colImplicit} {
			if port != 0 && s.portAt(row, col) == port {
				s.row, s.col, s.wantCol, s.vertDir = row, col, col, 0
				s.refresh()
				return
			}
		}
	}
}

// selectCol moves to a column of the current row if it has a port there.
func (s *portsScreen) selectCol(col int) bool {
	if s.portAt(s.row, col) == 0 {
		return false
	}
	s.col, s.wantCol, s.vertDir = col, col, 0
	return true
}

func (s *portsScreen) Update(msg tea.Msg) (screen, tea.Cmd) {
	k := s.c.Keys
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		before := s.Selected()
		s.status = ""
		switch {
		case key.Matches(msg, k.Up):
			s.moveRow(-1)
		case key.Matches(msg, k.Down):
			s.moveRow(1)
		case key.Matches(msg, k.Left):
			s.selectCol(colExplicit)
		case key.Matches(msg, k.Right):
			s.selectCol(colImplicit)
		case key.Matches(msg, k.PageUp):
			s.detail.PageUp()
			return s, nil
		case key.Matches(msg, k.PageDown):
			s.detail.PageDown()
			return s, nil
		case key.Matches(msg, k.Open):
			if req, ok := s.sessionRequest(); ok {
				return s, func() tea.Msg { return openSessionMsg{req: req} }
			}
			// No session possible (lab not up, no runner): the endpoint
			// view says why.
			s.mode = modeEndpoint
			s.refreshTop()
			return s, nil
		case key.Matches(msg, k.Scenarios):
			port := s.Selected()
			return s, func() tea.Msg { return openPickerMsg{from: screenPorts, port: port} }
		case key.Matches(msg, k.Connect) && s.c.OpenPrompt != nil:
			return s, func() tea.Msg { return openFormMsg{} }
		case key.Matches(msg, k.Scan):
			if req, ok := s.scanRequest(); ok {
				return s, func() tea.Msg { return openScanMsg{req: req} }
			}
		case s.mode == modeEndpoint && key.Matches(msg, k.Copy):
			return s, s.copyCommand(false)
		case s.mode == modeEndpoint && key.Matches(msg, k.CopyAlt):
			return s, s.copyCommand(true)
		case key.Matches(msg, k.Endpoint):
			s.mode = modeEndpoint
			s.refreshTop()
			return s, nil
		case key.Matches(msg, k.Back):
			if s.mode != modeExplain {
				s.mode = modeExplain
				s.refreshTop()
			}
			return s, nil
		}
		if s.Selected() != before {
			s.mode = modeExplain
			s.refreshTop()
		}
	case tea.MouseClickMsg:
		m := msg.Mouse()
		if m.Button == tea.MouseLeft {
			s.click(m.X, m.Y)
		}
	case tea.MouseWheelMsg:
		switch msg.Mouse().Button {
		case tea.MouseWheelUp:
			s.detail.ScrollUp(3)
		case tea.MouseWheelDown:
			s.detail.ScrollDown(3)
		}
	case labResultMsg, tea.BackgroundColorMsg:
		// The root has updated Common; re-render what depends on it.
		s.refresh()
	}
	return s, nil
}

// sessionRequest is the session enter runs on the selected port: against
// the lab's endpoint for it, once the lab is up; in target mode (no lab,
// mailwire connect) against the target's host on that port.
func (s *portsScreen) sessionRequest() (SessionRequest, bool) {
	if s.c.OpenSession == nil {
		return SessionRequest{}, false
	}
	port := s.Selected()
	addr, ok := s.labAddr(port)
	if !ok {
		return s.targetRequest(port)
	}
	o, err := sessions.OptionsForPort(addr, port)
	if err != nil {
		return SessionRequest{}, false
	}
	return SessionRequest{Port: port, Target: addr, Proto: o.Proto, TLSMode: string(o.TLSMode), Label: "lab"}, true
}

// targetRequest is the scripted session of port against the target's
// host, with the target's SNI, CA file and user.
func (s *portsScreen) targetRequest(port int) (SessionRequest, bool) {
	t := s.c.Target
	if t == nil || s.c.Lab.State != labNone {
		return SessionRequest{}, false
	}
	addr := net.JoinHostPort(t.host(), strconv.Itoa(port))
	o, err := sessions.OptionsForPort(addr, port)
	if err != nil {
		return SessionRequest{}, false
	}
	return SessionRequest{Port: port, Target: addr, Proto: o.Proto, TLSMode: string(o.TLSMode), Label: "target",
		ServerName: t.ServerName, CAFile: t.CAFile, User: t.User}, true
}

// scanRequest is the scan s starts in target mode: the target's host, its
// seven mail ports (mailwire scan HOST).
func (s *portsScreen) scanRequest() (ScanRequest, bool) {
	t := s.c.Target
	if t == nil || s.c.Lab.State != labNone || s.c.OpenScan == nil {
		return ScanRequest{}, false
	}
	req := ScanRequest{Host: t.host(), ServerName: t.ServerName, CAFile: t.CAFile, Addrs: map[int]string{}}
	for _, p := range scan.HostPorts(t.host(), false) {
		req.Ports = append(req.Ports, p.Canonical)
		req.Addrs[p.Canonical] = p.Addr
	}
	return req, true
}

// openHelp is the help of enter: it runs a session when it can, else it
// shows the endpoint view.
func (s *portsScreen) openHelp() key.Binding {
	k := s.c.Keys.Open
	if s.c.OpenSession == nil {
		k.SetHelp("enter", "lab endpoint")
	}
	return k
}

// click selects the cell under screen position (x, y), if any.
func (s *portsScreen) click(x, y int) {
	l := s.layout()
	// Content starts inside the border and padding; rows start below the
	// header line and the rule under it.
	cx := x - l.tableX - 2
	row := y - l.tableY - 3
	if row < 0 || row >= len(s.rows) || cx < 0 || cx >= tableInner {
		return
	}
	before := s.Selected()
	s.vertDir = 0
	explicitStart := colProtocol + colGap
	implicitStart := explicitStart + colPort + colGap
	s.row = row
	switch {
	case cx >= explicitStart && cx < explicitStart+colPort:
		s.wantCol = colExplicit
	case cx >= implicitStart && cx < implicitStart+colPort:
		s.wantCol = colImplicit
	}
	// Clicking the protocol or purpose, or a "—", selects the row's port in
	// the preferred column, like moving there with the arrows.
	s.selectRow(row)
	if s.Selected() != before {
		s.mode = modeExplain
		s.refreshTop()
	}
}

// portsLayout is where each part of the screen sits, computed from the size
// alone so View and mouse hit-testing agree.
type portsLayout struct {
	wide                               bool
	header                             string
	tableX, tableY                     int
	lab                                string
	wire                               string // wide layout only; else in the pane
	detailX, detailY, detailW, detailH int
}

func (s *portsScreen) layout() portsLayout {
	w, h := max(s.width, 1), max(s.height, 1)
	l := portsLayout{wide: w >= wideWidth}
	l.header = s.headerView(w)
	headerH := lipgloss.Height(l.header)
	l.tableY = headerH
	tableH := len(s.rows) + 4 // border, header, rule, rows, border
	if l.wide {
		l.lab = s.labView(tableWidth)
		l.wire = s.wireBox(tableWidth)
		l.detailX = tableWidth + 1
		l.detailY = headerH
		l.detailW = w - l.detailX
		l.detailH = h - headerH
	} else {
		l.lab = s.labView(w)
		if s.c.Lab.State == labReady {
			// Short on lines: the CA path is in the endpoint view (e).
			l.lab = s.labLine(w)
		}
		l.detailX = 0
		l.detailY = headerH + tableH + lipgloss.Height(l.lab)
		l.detailW = w
		l.detailH = h - l.detailY
	}
	return l
}

// refresh re-renders the detail pane for the current size, selection, mode,
// theme and lab state, keeping the scroll position where possible.
func (s *portsScreen) refresh() {
	l := s.layout()
	innerW := max(1, l.detailW-4) // border and padding
	innerH := max(1, l.detailH-3) // border and the footer line
	s.detail.SetWidth(innerW)
	s.detail.SetHeight(innerH)
	var body string
	if s.mode == modeEndpoint {
		body = s.endpointView(innerW)
	} else {
		body = s.explainView(innerW)
	}
	off := s.detail.YOffset()
	s.detail.SetContent(body)
	s.detail.SetYOffset(off)
}

// refreshTop re-renders and scrolls the detail pane to its top, for a new
// port or mode.
func (s *portsScreen) refreshTop() {
	s.detail.SetYOffset(0)
	s.refresh()
}

func (s *portsScreen) headerView(w int) string {
	st := s.c.Styles
	title := st.Title.Render("mailwire") + st.Muted.Render(" · mail ports and how TLS starts")
	legend := st.Cleartext.Render("explicit") + st.Muted.Render(": cleartext, then STARTTLS/STLS · ") +
		st.Encrypted.Render("implicit") + st.Muted.Render(": TLS from the first byte")
	return wrapText(title, w) + "\n" + wrapText(legend, w)
}

// View renders the screen at its size.
func (s *portsScreen) View() string {
	l := s.layout()
	table := s.tableView()
	detail := s.detailBox(l)
	var body string
	if l.wide {
		left := lipgloss.JoinVertical(lipgloss.Left, table, l.lab, l.wire)
		body = lipgloss.JoinHorizontal(lipgloss.Top, left, " ", detail)
	} else {
		body = lipgloss.JoinVertical(lipgloss.Left, table, l.lab, detail)
	}
	out := lipgloss.JoinVertical(lipgloss.Left, l.header, body)
	// Never draw past the area the root gave us.
	return lipgloss.NewStyle().MaxWidth(max(s.width, 1)).MaxHeight(max(s.height, 1)).Render(out)
}

func (s *portsScreen) tableView() string {
	st := s.c.Styles
	pad := func(str string, w int) string {
		if d := w - lipgloss.Width(str); d > 0 {
			return str + strings.Repeat(" ", d)
		}
		return str
	}
	gap := strings.Repeat(" ", colGap)
	lines := []string{
		st.Header.Render(pad("Protocol", colProtocol) + gap + pad(" Explicit TLS", colPort) + gap +
			pad(" Implicit TLS", colPort) + gap + pad("Purpose", colPurpose)),
		st.Muted.Render(strings.Repeat("─", tableInner)),
	}
	for r, row := range s.rows {
		cells := make([]string, 2)
		for c, port := range []int{row.Explicit, row.Implicit} {
			var cell string
			switch {
			case port == 0:
				cell = st.Muted.Render(pad(" —", colPort))
			case r == s.row && c == s.col:
				cell = st.Selected.Render(pad(" "+s.portLabel(port), colPort))
			case c == colExplicit:
				cell = st.Cleartext.Render(pad(" "+s.portLabel(port), colPort))
			default:
				cell = st.Encrypted.Render(pad(" "+s.portLabel(port), colPort))
			}
			cells[c] = cell
		}
		proto := st.Text.Render(pad(row.Protocol, colProtocol))
		if r == s.row {
			proto = st.Header.Render(pad(row.Protocol, colProtocol))
		}
		lines = append(lines, proto+gap+cells[0]+gap+cells[1]+gap+st.Text.Render(pad(row.Purpose, colPurpose)))
	}
	return st.Border.Padding(0, 1).Render(strings.Join(lines, "\n"))
}

// portLabel is "587" before the lab is up and "587 → :10587" once it is, so
// the user sees where the lab really listens (a taken port falls back to a
// free one).
func (s *portsScreen) portLabel(port int) string {
	addr, ok := s.labAddr(port)
	if !ok {
		return fmt.Sprint(port)
	}
	if _, p, err := net.SplitHostPort(addr); err == nil {
		return fmt.Sprintf("%d → :%s", port, p)
	}
	return fmt.Sprintf("%d → %s", port, addr)
}

func (s *portsScreen) labAddr(port int) (string, bool) {
	if s.c.Lab.State != labReady {
		return "", false
	}
	addr, ok := s.c.Lab.Info.Endpoints[port]
	return addr, ok && addr != ""
}

func (s *portsScreen) labView(w int) string {
	st := s.c.Styles
	lab := s.c.Lab
	var text string
	switch lab.State {
	case labNone:
		text = st.Muted.Render("lab: not started in this mode")
		if t := s.c.Target; t != nil {
			text = st.OK.Render("target ") + st.Text.Render(wire.SafeString(t.host())) +
				st.Muted.Render(": enter runs the selected port's scripted session against it, c types one")
		}
	case labStarting:
		text = st.Muted.Render("lab: starting…")
	case labFailed:
		text = st.Error.Render("lab failed: ") + st.Text.Render(lab.Err.Error()) + "\n" +
			st.Muted.Render("The table and explanations still work; connecting needs the lab.")
	case labReady:
		i := lab.Info
		text = st.OK.Render("lab ready") + st.Muted.Render(" on ") + st.Text.Render(i.ListenHost) +
			st.Muted.Render(" · login ") + st.Text.Render(i.User+" / "+i.Password) + "\n" +
			st.Muted.Render("CA ") + st.Text.Render(i.CAPath)
	}
	return wrapText(text, max(w, 1))
}

// labLine is the one-line lab status used when the screen is narrow.
func (s *portsScreen) labLine(w int) string {
	st := s.c.Styles
	i := s.c.Lab.Info
	text := st.OK.Render("lab ready") + st.Muted.Render(" on ") + st.Text.Render(i.ListenHost) +
		st.Muted.Render(" · login ") + st.Text.Render(i.User+" / "+i.Password) +
		st.Muted.Render(" · CA path: e")
	return ansiTruncate(text, w)
}

func (s *portsScreen) detailBox(l portsLayout) string {
	st := s.c.Styles
	innerW := max(1, l.detailW-4)
	footer := s.detailFooter(innerW)
	inner := lipgloss.JoinVertical(lipgloss.Left, s.detail.View(), footer)
	return st.Border.Padding(0, 1).Width(max(l.detailW, 4)).Render(inner)
}

// detailFooter is one muted line under the pane: how to scroll (when there is
// more to see) and what enter and esc do here.
func (s *portsScreen) detailFooter(w int) string {
	st := s.c.Styles
	if s.status != "" {
		return st.Step.Render(ansi.Truncate(s.status, w, "…"))
	}
	var parts []string
	if s.detail.TotalLineCount() > s.detail.Height() {
		if s.detail.AtBottom() {
			parts = append(parts, "100% · pgup/K back")
		} else {
			parts = append(parts, fmt.Sprintf("%3.0f%% · pgdn/J more", s.detail.ScrollPercent()*100))
		}
	}
	switch {
	case s.mode == modeEndpoint:
		parts = append(parts, "esc explanation")
	case s.c.OpenSession != nil:
		parts = append(parts, "enter run session")
		if k := s.c.Keys.Endpoint; k.Enabled() {
			parts = append(parts, k.Help().Key+" "+k.Help().Desc)
		}
		parts = append(parts, "S scenarios")
	default:
		parts = append(parts, "enter lab endpoint")
	}
	// Whole hints only, as many as fit: a hint cut in its middle read
	// "e lab e".
	line := ""
	for _, p := range parts {
		next := p
		if line != "" {
			next = line + " · " + p
		}
		if ansi.StringWidth(next) > w {
			break
		}
		line = next
	}
	return st.Muted.Render(line)
}

func (s *portsScreen) rowOf(port int) (content.PortRow, bool) {
	for _, r := range s.rows {
		if r.Explicit == port || r.Implicit == port {
			return r, true
		}
	}
	return content.PortRow{}, false
}

// explainView is the teaching page of the selected port, wrapped to w.
func (s *portsScreen) explainView(w int) string {
	st := s.c.Styles
	port := s.Selected()
	d, ok := content.Port(port)
	if !ok {
		return st.Warning.Render(fmt.Sprintf("No explanation for port %d.", port))
	}
	wrap := func(style lipgloss.Style, text string) string {
		return style.Render(wrapText(keepCitations(text), w))
	}
	var b strings.Builder
	b.WriteString(wrap(st.Title, d.Title))
	b.WriteString("\n")
	wide := s.width >= wideWidth
	for _, sec := range []struct{ head, text string }{
		{"Purpose", d.Purpose},
		{"How TLS starts", d.HowTLSStarts},
		{"On the wire", ""},
		{"What goes wrong", d.WhatGoesWrong},
		{"Policy", d.Policy},
	} {
		if sec.head == "On the wire" {
			if wide {
				continue // drawn beside the table instead
			}
			b.WriteString("\n")
			b.WriteString(st.Heading.Render(sec.head))
			b.WriteString("\n")
			b.WriteString(s.wireSteps(d.Wire, w))
			b.WriteString("\n")
			continue
		}
		b.WriteString("\n")
		b.WriteString(st.Heading.Render(sec.head))
		b.WriteString("\n")
		b.WriteString(wrap(st.Text, sec.text))
		b.WriteString("\n")
	}
	b.WriteString("\n")
	b.WriteString(st.Heading.Render("References"))
	for _, r := range d.Refs {
		b.WriteString("\n")
		b.WriteString(wrap(st.Text, r.String()+": "+r.Title))
	}
	return b.String()
}

// ansiTruncate shortens s to w cells.
func ansiTruncate(s string, w int) string {
	return lipgloss.NewStyle().MaxWidth(max(w, 1)).Render(s)
}

// ShortHelp lists the keys shown in the one-line help bar, most important
// first (the root drops the last ones when the line does not fit): what
// enter and e do, then how to move.
func (s *portsScreen) ShortHelp() []key.Binding {
	k := s.c.Keys
	if s.mode == modeEndpoint {
		return append(s.copyKeys(), k.Back, k.Move)
	}
	out := []key.Binding{s.openHelp()}
	if s.c.OpenSession != nil {
		out = append(out, k.Endpoint, k.Scenarios)
	}
	if s.c.OpenPrompt != nil {
		out = append(out, k.Connect)
	}
	if _, ok := s.scanRequest(); ok {
		out = append(out, k.Scan)
	}
	return append(out, k.Move)
}

// FullHelp lists every key of the screen, in columns.
func (s *portsScreen) FullHelp() [][]key.Binding {
	k := s.c.Keys
	open := []key.Binding{s.openHelp(), k.Back}
	if s.c.OpenSession != nil {
		open = []key.Binding{k.Open, k.Endpoint, k.Scenarios, k.Back}
	}
	if s.c.OpenPrompt != nil {
		open = append(open, k.Connect)
	}
	if _, ok := s.scanRequest(); ok {
		open = append(open, k.Scan)
	}
	return [][]key.Binding{
		{k.Up, k.Down, k.Left, k.Right},
		{k.PageUp, k.PageDown},
		open,
		s.copyKeys(),
	}
}

// citation matches "RFC 3207 §4.2" and "RFC 3207" so wrapping can keep a
// citation on one line.
var citation = regexp.MustCompile(`RFC (\d+)( §[0-9A-Za-z.]+)?`)

// keepCitations joins the words of each RFC citation with no-break spaces,
// which the wrapper does not break at: "RFC" alone at a line end reads badly.
func keepCitations(text string) string {
	return citation.ReplaceAllStringFunc(text, func(c string) string {
		return strings.ReplaceAll(c, " ", "\u00a0")
	})
}

// wireBox is the selected port's exchange, in order, with who can read each
// step: drawn under the table when the screen is wide.
func (s *portsScreen) wireBox(w int) string {
	st := s.c.Styles
	port := s.Selected()
	d, ok := content.Port(port)
	if !ok {
		return ""
	}
	inner := max(1, w-4)
	head := st.Heading.Render(fmt.Sprintf("On the wire, port %d", port))
	return st.Border.Padding(0, 1).Width(w).Render(head + "\n" + s.wireSteps(d.Wire, inner))
}

// wireLabel says who can read a step, in the step's style.
func (s *portsScreen) wireLabel(layer string) (string, lipgloss.Style) {
	st := s.c.Styles
	switch layer {
	case content.WireCleartext:
		return "anyone reads", st.Cleartext
	case content.WireHandshake:
		return "metadata only", st.Handshake
	default:
		return "endpoints only", st.Encrypted
	}
}

// wireSteps renders steps as "who can read  what", wrapping the text under
// itself.
func (s *portsScreen) wireSteps(steps []content.WireStep, w int) string {
	const labelW = 15
	var out []string
	for _, step := range steps {
		label, style := s.wireLabel(step.Layer)
		lines := strings.Split(wrapText(step.Text, max(1, w-labelW)), "\n")
		for i, l := range lines {
			lead := strings.Repeat(" ", labelW)
			if i == 0 {
				lead = fmt.Sprintf("%-*s", labelW, label)
			}
			out = append(out, style.Render(lead)+s.c.Styles.Text.Render(l))
		}
	}
	return strings.Join(out, "\n")
}
