package tui

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/scenario"
	"github.com/mailwire/mailwire/sessions/wire"
)

// The scenario picker: a scenario, then its port (when it runs on several
// and none was chosen on the port table), then its variant (when it has
// several). Enter on the last choice runs the scenario on the session
// screen; esc backs out one choice, then out of the picker.

// openPickerMsg asks the root to show the picker. From the port table, port
// is the selected cell's: the picker lists only the scenarios that run on
// it and does not ask for a port again. current preselects a scenario (the
// one the session screen is showing).
type openPickerMsg struct {
	from    screenID
	port    int
	current string
}

// pickStage is the choice the picker is asking for.
type pickStage int

const (
	pickScenario pickStage = iota
	pickPort
	pickVariant
)

// pickerItem is one entry of a list: a title line and a summary line,
// and the number it is chosen by.
type pickerItem struct {
	num            int
	title, summary string
}

const (
	// pickerWide is the width from which the highlighted scenario's
	// introduction sits beside the list.
	pickerWide = 100
	// pickerListW is the list's width in the wide layout.
	pickerListW = 46
	// pickerHeader is the height of the picker's header: title and the
	// choices made so far.
	pickerHeader = 2
)

type pickerScreen struct {
	c       *Common
	from    screenID
	port    int  // the port table's cell, 0 when opened elsewhere
	all     bool // list every scenario even though port is set
	current string

	stage pickStage
	sel   [3]int // the highlighted item of each stage
	top   int    // first item on screen

	scen   scenario.Scenario // chosen at pickScenario
	chosen int               // port chosen (or given)
	msg    string            // why enter did nothing (no lab yet)

	width, height int
}

func newPickerScreen(c *Common, m openPickerMsg) *pickerScreen {
	p := &pickerScreen{c: c, from: m.from, port: m.port, current: m.current, width: defaultWidth, height: defaultHeight}
	for i, s := range p.scenarios() {
		if s.Name == m.current {
			p.sel[pickScenario] = i
		}
	}
	return p
}

func (p *pickerScreen) Init() tea.Cmd { return nil }

func (p *pickerScreen) SetSize(width, height int) {
	p.width, p.height = width, height
	p.clampScroll()
}

// scenarios lists the registered scenarios the picker offers: all of them,
// or those that run on the port table's port. A scenario that picks its
// own ports (compare, hops) runs from any cell.
func (p *pickerScreen) scenarios() []scenario.Scenario {
	var out []scenario.Scenario
	target := p.targetMode()
	for _, s := range p.c.scenarios() {
		if target && (s.NeedsLab || len(s.Ports) == 0) {
			// Against a real server: only what runs there (a scenario that
			// needs the lab's special servers, or several of its ports,
			// cannot, as `session --scenario … --target` says).
			continue
		}
		if p.port == 0 || p.all || len(s.Ports) == 0 || slices.Contains(s.Ports, p.port) {
			out = append(out, s)
		}
	}
	return out
}

// items is the list of the current stage.
func (p *pickerScreen) items() []pickerItem {
	switch p.stage {
	case pickPort:
		var out []pickerItem
		for i, port := range p.scen.Ports {
			out = append(out, pickerItem{num: i + 1, title: p.portTitle(port), summary: p.portSummary(port)})
		}
		return out
	case pickVariant:
		var out []pickerItem
		for i, v := range p.scen.VariantsFor(p.chosen) {
			sum := variantSummary(v)
			if i == 0 {
				sum = "the default · " + sum
			}
			out = append(out, pickerItem{num: i + 1, title: wire.SafeString(v), summary: sum})
		}
		return out
	}
	var out []pickerItem
	for _, s := range p.scenarios() {
		t := p.c.scenarioProse(s.Name)
		out = append(out, pickerItem{num: p.scenarioNumber(s.Name), title: t.Title, summary: t.Summary})
	}
	return out
}

// scenarioNumber is a scenario's number: its place in the whole catalog,
// so that it is the same in a port's list and in the list of all (a: the
// numbers changed from one to the other).
func (p *pickerScreen) scenarioNumber(name string) int {
	return slices.IndexFunc(p.c.scenarios(), func(s scenario.Scenario) bool { return s.Name == name }) + 1
}

func (p *pickerScreen) portTitle(port int) string {
	title := strconv.Itoa(port)
	if d, ok := content.Port(port); ok {
		title += " · " + d.Title
	}
	return title
}

func (p *pickerScreen) portSummary(port int) string {
	if p.targetMode() {
		return "target " + wire.SafeString(net.JoinHostPort(p.c.Target.host(), strconv.Itoa(port)))
	}
	if addr, ok := p.labAddr(port); ok {
		return "lab endpoint " + addr
	}
	return "lab endpoint not up yet"
}

// variantSummary says in a line what a variant stages: the title of its
// entry in package content ("variant." and its name).
func variantSummary(v string) string {
	if a, ok := content.Lookup(variantKey(v)); ok {
		return a.Title
	}
	return "variant " + wire.SafeString(v)
}

// variantKey is the content key of a variant's explanation.
func variantKey(v string) string { return "variant." + v }

func (p *pickerScreen) labAddr(port int) (string, bool) {
	if p.c.Lab.State != labReady {
		return "", false
	}
	addr, ok := p.c.Lab.Info.Endpoints[port]
	return addr, ok && addr != ""
}

func (p *pickerScreen) Update(msg tea.Msg) (screen, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		return p, p.handleKey(msg)
	case tea.MouseClickMsg:
		m := msg.Mouse()
		if m.Button == tea.MouseLeft {
			return p, p.click(m.X, m.Y)
		}
	case tea.MouseWheelMsg:
		switch msg.Mouse().Button {
		case tea.MouseWheelUp:
			p.move(-1)
		case tea.MouseWheelDown:
			p.move(1)
		}
	}
	return p, nil
}

func (p *pickerScreen) handleKey(msg tea.KeyPressMsg) tea.Cmd {
	k := p.c.Keys
	switch {
	case key.Matches(msg, k.Back):
		return p.back()
	case key.Matches(msg, k.Up):
		p.move(-1)
	case key.Matches(msg, k.Down):
		p.move(1)
	case key.Matches(msg, k.PrevPage):
		p.move(-p.pageItems())
	case key.Matches(msg, k.NextPage):
		p.move(p.pageItems())
	case key.Matches(msg, k.Top):
		p.move(-len(p.items()))
	case key.Matches(msg, k.Bottom):
		p.move(len(p.items()))
	case key.Matches(msg, k.AllItems):
		if p.stage == pickScenario && p.port != 0 {
			name := p.highlighted().Name
			p.all = !p.all
			p.sel[pickScenario] = 0
			for i, s := range p.scenarios() {
				if s.Name == name {
					p.sel[pickScenario] = i
				}
			}
			p.clampScroll()
		}
	case key.Matches(msg, k.Open):
		return p.choose()
	case key.Matches(msg, k.Number):
		// The list is numbered on screen: a digit chooses the item of
		// that number, if the list shows it.
		n := int(msg.String()[0] - '0')
		if i := slices.IndexFunc(p.items(), func(it pickerItem) bool { return it.num == n }); i >= 0 {
			p.sel[p.stage] = i
			p.clampScroll()
			return p.choose()
		}
	}
	return nil
}

// highlighted is the scenario under the cursor at the first stage, the
// chosen one after.
func (p *pickerScreen) highlighted() scenario.Scenario {
	if p.stage != pickScenario {
		return p.scen
	}
	list := p.scenarios()
	if i := p.sel[pickScenario]; i >= 0 && i < len(list) {
		return list[i]
	}
	return scenario.Scenario{}
}

func (p *pickerScreen) move(d int) {
	n := len(p.items())
	if n == 0 {
		return
	}
	p.sel[p.stage] = max(0, min(n-1, p.sel[p.stage]+d))
	p.msg = ""
	p.clampScroll()
}

// back undoes the last choice, or leaves the picker.
func (p *pickerScreen) back() tea.Cmd {
	p.msg = ""
	switch {
	case p.stage == pickVariant && p.port == 0 && len(p.scen.Ports) > 1:
		p.stage = pickPort
	case p.stage != pickScenario:
		p.stage = pickScenario
	default:
		from := p.from
		return func() tea.Msg { return switchScreenMsg{to: from} }
	}
	p.top = 0
	p.clampScroll()
	return nil
}

// choose takes the highlighted item and asks the next question, or runs
// the scenario when there is none left.
func (p *pickerScreen) choose() tea.Cmd {
	switch p.stage {
	case pickScenario:
		s := p.highlighted()
		if s.Name == "" {
			return nil
		}
		p.scen = s
		p.chosen = 0
		switch {
		case len(s.Ports) == 0:
		case p.port != 0 && slices.Contains(s.Ports, p.port):
			p.chosen = p.port
		case len(s.Ports) == 1:
			p.chosen = s.Ports[0]
		default:
			p.enter(pickPort, slices.Index(s.Ports, p.port))
			return nil
		}
	case pickPort:
		if i := p.sel[pickPort]; i < len(p.scen.Ports) {
			p.chosen = p.scen.Ports[i]
		}
	case pickVariant:
		vs := p.scen.VariantsFor(p.chosen)
		if i := p.sel[pickVariant]; i < len(vs) {
			return p.run(vs[i])
		}
		return nil
	}
	if vs := p.scen.VariantsFor(p.chosen); len(vs) > 1 {
		p.enter(pickVariant, 0)
		return nil
	} else if len(vs) == 1 {
		return p.run(vs[0])
	}
	return p.run("")
}

func (p *pickerScreen) enter(stage pickStage, sel int) {
	p.stage = stage
	p.sel[stage] = max(0, sel)
	p.top = 0
	p.clampScroll()
}

// run asks the root to open the session screen on the scenario. The
// request carries the lab endpoint of its port for the header; what is
// dialed is the scenario's business (Options.OpenSession).
func (p *pickerScreen) run(variant string) tea.Cmd {
	if p.c.OpenSession == nil {
		p.msg = "Scenarios cannot be run in this mode."
		return nil
	}
	if p.targetMode() {
		t := p.c.Target
		req := SessionRequest{Scenario: p.scen.Name, Port: p.chosen, Variant: variant, Label: "target",
			Target: net.JoinHostPort(t.host(), strconv.Itoa(p.chosen)), ServerName: t.ServerName, CAFile: t.CAFile, User: t.User}
		if o, err := sessions.OptionsForPort(req.Target, p.chosen); err == nil {
			req.Proto, req.TLSMode = o.Proto, string(o.TLSMode)
		}
		return func() tea.Msg { return openSessionMsg{req: req} }
	}
	if p.c.Lab.State != labReady {
		p.msg = "The lab is not running yet: scenarios run against it."
		if p.c.Lab.State == labFailed {
			p.msg = "The lab failed to start, and scenarios run against it."
		}
		return nil
	}
	req := SessionRequest{Scenario: p.scen.Name, Port: p.chosen, Variant: variant, Label: "lab"}
	if addr, ok := p.labAddr(p.chosen); ok {
		req.Target = addr
		if o, err := sessions.OptionsForPort(addr, p.chosen); err == nil {
			req.Proto, req.TLSMode = o.Proto, string(o.TLSMode)
		}
	} else {
		req.Target = p.c.Lab.Info.ListenHost
	}
	return func() tea.Msg { return openSessionMsg{req: req} }
}

// targetMode: no lab, a target (mailwire connect): scenarios run against
// the target's host.
func (p *pickerScreen) targetMode() bool { return p.c.targetMode() }

// pickerLayout is where the list sits, from the size alone, so View and
// click agree.
type pickerLayout struct {
	wide           bool
	listX, listY   int
	listW, listH   int // listH in lines; an item takes two
	sideX, sideW   int
	belowY, belowH int
}

func (p *pickerScreen) layout() pickerLayout {
	w, h := max(p.width, 20), max(p.height, pickerHeader+4)
	l := pickerLayout{wide: w >= pickerWide, listY: pickerHeader + 1}
	body := h - l.listY
	if l.wide {
		// Half the screen: the titles are sentences.
		l.listW = max(pickerListW, w/2-2)
		l.listH = body
		l.sideX = l.listW + 2
		l.sideW = w - l.sideX
		return l
	}
	l.listW = w
	n := len(p.items())
	// The list gets what it needs, up to all but 5 lines, which are kept
	// for the highlighted entry's details; 9 at the variant stage, where
	// they explain the variant (the list scrolls).
	keep := 5
	if p.stage == pickVariant {
		keep = 9
	}
	l.listH = max(2, min(2*n, body-keep))
	l.listH -= l.listH % 2 // whole items: the odd line goes to the details
	l.belowY = l.listY + l.listH + 1
	l.belowH = max(0, h-l.belowY)
	return l
}

func (p *pickerScreen) pageItems() int { return max(1, p.layout().listH/2-1) }

func (p *pickerScreen) clampScroll() {
	n := len(p.items())
	per := max(1, p.layout().listH/2)
	sel := p.sel[p.stage]
	if sel < p.top {
		p.top = sel
	}
	if sel >= p.top+per {
		p.top = sel - per + 1
	}
	p.top = max(0, min(p.top, n-per))
}

// click selects the item under (x, y); a click on the item already
// selected chooses it, as enter would.
func (p *pickerScreen) click(x, y int) tea.Cmd {
	l := p.layout()
	if x >= l.listX+l.listW || y < l.listY || y >= l.listY+l.listH {
		return nil
	}
	i := p.top + (y-l.listY)/2
	if i >= len(p.items()) {
		return nil
	}
	if i == p.sel[p.stage] {
		return p.choose()
	}
	p.sel[p.stage] = i
	p.msg = ""
	p.clampScroll()
	return nil
}

func (p *pickerScreen) View() string {
	st := p.c.Styles
	w, h := max(p.width, 1), max(p.height, 1)
	l := p.layout()
	lines := []string{p.titleLine(w), p.crumbLine(w), ""}
	list := p.listLines(l.listW, l.listH)
	if l.wide {
		side := p.sideLines(l.sideW, l.listH)
		for i := range l.listH {
			left := padTo("", l.listW)
			if i < len(list) {
				left = list[i]
			}
			right := ""
			if i < len(side) {
				right = side[i]
			}
			lines = append(lines, left+"  "+right)
		}
	} else {
		lines = append(lines, list...)
		if l.belowH > 0 {
			lines = append(lines, st.Muted.Render(strings.Repeat("─", w)))
			lines = append(lines, p.sideLines(w, l.belowH-1)...)
		}
	}
	if len(lines) > h {
		lines = lines[:h]
	}
	return lipgloss.NewStyle().MaxWidth(w).MaxHeight(h).Render(strings.Join(lines, "\n"))
}

func (p *pickerScreen) titleLine(w int) string {
	st := p.c.Styles
	var sub string
	switch p.stage {
	case pickScenario:
		sub = " · choose a scenario"
		if p.port != 0 && !p.all {
			sub = fmt.Sprintf(" · scenarios on port %d (a: all)", p.port)
		} else if p.port != 0 {
			sub = fmt.Sprintf(" · every scenario (a: only port %d)", p.port)
		}
	case pickPort:
		sub = " · which port?"
	case pickVariant:
		sub = " · which variant?"
	}
	return ansi.Truncate(st.Title.Render("mailwire scenarios")+st.Muted.Render(sub), w, "…")
}

// crumbLine shows the choices made so far, or why enter did nothing.
func (p *pickerScreen) crumbLine(w int) string {
	st := p.c.Styles
	if p.msg != "" {
		return ansi.Truncate(st.Warning.Render(p.msg), w, "…")
	}
	if p.stage == pickScenario {
		against := "the lab"
		if p.targetMode() {
			against = wire.SafeString(p.c.Target.host())
		}
		return ansi.Truncate(st.Muted.Render("enter choose · esc back · each scenario runs live against "+against), w, "…")
	}
	parts := []string{p.c.scenarioProse(p.scen.Name).Title}
	if p.chosen != 0 {
		parts = append(parts, "port "+strconv.Itoa(p.chosen))
	}
	return ansi.Truncate(st.Heading.Render(strings.Join(parts, " › "))+st.Muted.Render(" · esc: change"), w, "…")
}

// listLines renders the items on screen, two lines each, exactly w wide.
func (p *pickerScreen) listLines(w, h int) []string {
	st := p.c.Styles
	items := p.items()
	sel := p.sel[p.stage]
	var out []string
	for i := p.top; i < len(items) && len(out)+2 <= h; i++ {
		it := items[i]
		title, more := itemTitle(it, w-2)
		titleStyle := st.Text.Bold(true)
		if i == sel {
			out = append(out, st.Step.Render("» ")+st.Selected.Render(padTo(title, w-2)))
		} else {
			out = append(out, "  "+titleStyle.Render(padTo(title, w-2)))
		}
		if more != "" {
			// The title goes on where the summary would be: its last
			// words may be what tells it from the next item.
			out = append(out, "     "+titleStyle.Render(padTo(more, w-5)))
			continue
		}
		sum := ansi.Truncate(wire.SafeString(it.summary), max(1, w-5), "…")
		out = append(out, "     "+st.Muted.Render(padTo(sum, w-5)))
	}
	if len(items) == 0 {
		out = append(out, st.Muted.Render(padTo(ansi.Truncate("no scenario runs on this port (a: all)", w, "…"), w)))
	}
	for len(out) < h {
		out = append(out, strings.Repeat(" ", w))
	}
	return out
}

// itemTitle is an item's numbered title in w cells; a title too long for
// one line is wrapped at a space, its second line (more) cut to w-3 cells
// (it is indented under the title's text).
func itemTitle(it pickerItem, w int) (title, more string) {
	title = fmt.Sprintf("%d. %s", it.num, wire.SafeString(it.title))
	if ansi.StringWidth(title) <= w {
		return title, ""
	}
	lines := strings.SplitN(ansi.Wordwrap(title, max(1, w), ""), "\n", 2)
	if len(lines) < 2 || ansi.StringWidth(lines[0]) > w {
		return ansi.Truncate(title, max(1, w), "…"), ""
	}
	rest := strings.Join(strings.Fields(lines[1]), " ")
	return lines[0], ansi.Truncate(rest, max(1, w-3), "…")
}

// sideLines tells more of the highlighted item: a variant's explanation
// when variants are offered, then the scenario's summary, introduction,
// ports and variants.
func (p *pickerScreen) sideLines(w, h int) []string {
	st := p.c.Styles
	if h <= 0 || w <= 0 {
		return nil
	}
	s := p.highlighted()
	if s.Name == "" {
		return nil
	}
	t := p.c.scenarioProse(s.Name)
	var b strings.Builder
	wrap := func(style lipgloss.Style, text string) {
		b.WriteString(style.Render(wrapText(keepCitations(safeProse(text)), w)))
		b.WriteString("\n")
	}
	if p.stage == pickVariant {
		if vs := s.VariantsFor(p.chosen); p.sel[pickVariant] < len(vs) {
			v := vs[p.sel[pickVariant]]
			if a, ok := content.Lookup(variantKey(v)); ok {
				wrap(st.Heading, "Variant "+v+": "+a.Title)
				wrap(st.Text, a.Text)
				wrap(st.Muted, content.JoinRefs(a.Refs))
				b.WriteString("\n")
			}
		}
	}
	wrap(st.Title, t.Title)
	if t.Summary != "" {
		wrap(st.Text, t.Summary)
	}
	wrap(st.Muted, scenarioWhere(s, p.chosen))
	if t.Intro != "" {
		b.WriteString("\n")
		wrap(st.Text, t.Intro)
	}
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	if len(lines) > h {
		lines = lines[:h]
		lines[h-1] = st.Muted.Render("… (the session screen shows it all: i)")
	}
	return lines
}

// scenarioWhere lists a scenario's ports and variants in one line.
func scenarioWhere(s scenario.Scenario, port int) string {
	where := "ports: chosen by the scenario"
	if len(s.Ports) > 0 {
		where = "ports: " + joinInts(s.Ports)
	}
	vs := s.VariantsFor(port)
	if port == 0 {
		vs = s.Variants
	}
	if len(vs) > 0 {
		where += " · variants: " + strings.Join(vs, ", ")
	}
	return where
}

func (p *pickerScreen) ShortHelp() []key.Binding {
	k := p.c.Keys
	open := k.Open
	open.SetHelp("enter", "choose")
	out := []key.Binding{open, k.Back}
	if p.stage == pickScenario && p.port != 0 {
		out = append(out, p.allItemsKey())
	}
	// Moving last: the root drops the last keys when the line is full.
	return append(out, k.Up, k.Down)
}

// allItemsKey is a's help: what it does from here, as the header says
// ("a: all", "a: only port 587"); the bar said "a all scenarios" over the
// full list too.
func (p *pickerScreen) allItemsKey() key.Binding {
	b := p.c.Keys.AllItems
	if p.all && p.port != 0 {
		b.SetHelp("a", fmt.Sprintf("only port %d", p.port))
	}
	return b
}

func (p *pickerScreen) FullHelp() [][]key.Binding {
	k := p.c.Keys
	open := k.Open
	open.SetHelp("enter", "choose")
	return [][]key.Binding{{k.Up, k.Down, k.Top, k.Bottom}, {open, k.Number, k.Back, p.allItemsKey()}}
}
