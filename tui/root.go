package tui

import (
	"context"
	"fmt"
	"image/color"
	"slices"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"github.com/mailwire/mailwire/sessions/wire"
)

// screenID names a screen the root can show.
type screenID int

const (
	screenPorts screenID = iota
	screenSession
	screenPicker
	screenForm    // the connect form (connect_form.go)
	screenScan    // a host's scan (scan.go)
	screenMonitor // the lab monitor (monitor.go)
	screenLesson  // a lesson (lesson.go)
)

// screen is the contract every screen meets: a Bubble Tea model that renders
// a string (the root builds the tea.View), takes its size from the root and
// lists its keys for the help bar.
type screen interface {
	help.KeyMap
	Init() tea.Cmd
	Update(msg tea.Msg) (screen, tea.Cmd)
	View() string
	SetSize(width, height int)
}

// switchScreenMsg asks the root to show another screen.
type switchScreenMsg struct{ to screenID }

// Default size used until the terminal reports its own, so View never
// renders into a zero-sized area.
const (
	defaultWidth  = 80
	defaultHeight = 24
)

// The smallest terminal the screens are laid out for. Below it the root
// shows what is missing instead of clipped screens; keys still work.
const (
	minWidth  = 80
	minHeight = 24
)

// Model is the root model: it routes messages, owns the window size and the
// help bar, and is the only model that builds the tea.View.
type Model struct {
	common   *Common
	opts     Options
	screens  map[screenID]screen
	active   screenID
	help     help.Model
	width    int
	height   int
	quitting bool
	// sessionFrom is the screen a session was opened from: esc from the
	// session goes back there when it is the scan screen.
	sessionFrom screenID
	// scanFrom is the screen a scan was opened from: esc from the scan
	// goes back to a lesson whose link opened it.
	scanFrom screenID
	// bgKnown: the terminal answered the background colour query, which
	// COLORFGBG (read from tea.EnvMsg) no longer overrides.
	bgKnown bool
	opened  bool // Options.Open was opened
	// noColor: the terminal shows no colours (NO_COLOR, or none to
	// show), so lessons render in glamour's notty style.
	noColor bool
	// shortHelp is the help bar last made (shortHelpView).
	shortHelp helpMemo
}

// New returns the root model.
func New(opts Options) tea.Model {
	return newModel(opts)
}

func newModel(opts Options) *Model {
	ctx := opts.Context
	if ctx == nil {
		ctx = context.Background()
	}
	c := &Common{
		Ctx:         ctx,
		Styles:      themeStyles(opts.Theme, opts.Present, true), // dark until the terminal answers
		Present:     opts.Present,
		Keys:        DefaultKeyMap(),
		OpenSession: opts.OpenSession,
		OpenPrompt:  opts.OpenPrompt,
		OpenScan:    opts.OpenScan,
		recentFile:  opts.RecentFile,
		catalog:     defaultCatalog(),
	}
	if opts.Shared {
		c.recentFile = ""
		// The export menu and the save key write under the host's
		// $XDG_DATA_HOME.
		c.Keys.Export.SetEnabled(false)
		c.Keys.Save.SetEnabled(false)
		if opts.OpenPrompt == nil {
			c.Keys.Connect.SetEnabled(false)
		}
	}
	if opts.StartLab != nil {
		c.Lab.State = labStarting
	}
	if opts.Monitor != nil {
		// enter on a client follows it: the session screen reads the
		// monitor's stream of that connection.
		c.OpenSession = monitorOpener(opts.Monitor, c.OpenSession)
	}
	h := help.New()
	h.Styles = c.Styles.Help
	m := &Model{
		common:  c,
		opts:    opts,
		screens: map[screenID]screen{screenPorts: newPortsScreen(c)},
		active:  screenPorts,
		help:    h,
		width:   defaultWidth,
		height:  defaultHeight,
	}
	if opts.Connect != nil {
		// mailwire connect: straight to the session, in target mode: the
		// port table runs its sessions against the target, and esc from a
		// typed session leads to the connect form.
		req := *opts.Connect
		c.Target = &req
		if c.Lab.State == labNone {
			// No lab to show the endpoint of: e would only say so.
			c.Keys.Endpoint.SetEnabled(false)
		}
		m.screens[screenSession] = newSessionFor(c, req)
		m.active = screenSession
	} else if opts.Monitor != nil {
		// mailwire lab --monitor: the clients, live; esc from a followed
		// client leads back to them.
		m.screens[screenMonitor] = newMonitorScreen(c, opts.Monitor, opts.MonitorPorts)
		m.active = screenMonitor
	} else if opts.Scan != nil {
		// mailwire scan HOST: straight to the scan screen, in target mode
		// against the scanned host when it was scanned on the canonical
		// ports, where the port table's sessions reach it.
		if opts.Scan.canonical() {
			c.Target = &SessionRequest{Target: opts.Scan.Host, ServerName: opts.Scan.ServerName, CAFile: opts.Scan.CAFile, Label: "target"}
		}
		m.screens[screenScan] = newScanScreen(c, *opts.Scan)
		m.active = screenScan
	}
	m.resize()
	return m
}

// Init asks the terminal for its background colour and starts the lab.
func (m *Model) Init() tea.Cmd {
	cmds := []tea.Cmd{tea.RequestBackgroundColor, m.screens[m.active].Init()}
	if c := m.opts.Connect; c != nil && c.Prompt {
		// A target typed on the command line joins the connect form's
		// recent ones, as one opened from the form does.
		cmds = append(cmds, rememberTarget(m.common.recentFile, *c))
	}
	if m.opts.StartLab != nil {
		start, ctx := m.opts.StartLab, m.common.Ctx
		cmds = append(cmds, func() tea.Msg {
			info, err := start(ctx)
			return labResultMsg{info: info, err: err}
		})
	}
	return tea.Batch(cmds...)
}

// Update routes a message: global concerns here, the rest to the active
// screen.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.resize()
		return m, nil

	case tea.BackgroundColorMsg:
		m.bgKnown = true
		return m, m.setBackground(msg.IsDark())

	case tea.EnvMsg:
		// The program's environment arrives at start. A terminal that
		// does not answer the background query (or answers late) is
		// read from COLORFGBG meanwhile: "0;15" is black on white.
		if dark, ok := colorFGBGIsDark(msg.Getenv("COLORFGBG")); ok && !m.bgKnown {
			return m, m.setBackground(dark)
		}
		return m, nil

	case spinner.TickMsg:
		// The session screen's spinner turns while its session runs, also
		// behind the picker.
		if s, ok := m.screens[screenSession]; ok {
			s, cmd := s.Update(msg)
			m.screens[screenSession] = s
			return m, cmd
		}
		return m, nil

	case labResultMsg:
		return m, m.labResult(msg)

	case scanOpenedMsg, scanUpdateMsg:
		// A scan's messages go to the scan screen even while a session
		// opened from it is in front.
		if s, ok := m.screens[screenScan]; ok {
			s, cmd := s.Update(msg)
			m.screens[screenScan] = s
			return m, cmd
		}
		if o, ok := msg.(scanOpenedMsg); ok && o.cancel != nil {
			o.cancel()
		}
		return m, nil

	case sessionOpenedMsg, sessionEventsMsg, autoTickMsg, promptOpenedMsg:
		// A session's messages go to the session screen even while the
		// picker is in front: it keeps receiving (and draining) its
		// stream.
		if s, ok := m.screens[screenSession]; ok {
			s, cmd := s.Update(msg)
			m.screens[screenSession] = s
			return m, cmd
		}
		return m, nil

	case openSessionMsg, openPickerMsg, openFormMsg, openScanMsg, switchScreenMsg:
		return m, m.navigate(msg)

	case openLessonMsg, openReplayMsg, lessonStatusMsg:
		return m, m.navigateLesson(msg)

	case tea.ColorProfileMsg:
		m.noColor = msg.Profile == colorprofile.NoTTY || msg.Profile == colorprofile.ASCII
		return m, nil

	case presentMsg:
		return m, m.setPresent(msg.on)

	case tea.MouseMsg:
		if m.tooSmall() {
			return m, nil // nothing on screen to point at
		}

	case tea.KeyPressMsg:
		if m.typing() {
			// Text is being typed: every key that can be text goes to the
			// screen (no keyboard traps); only ctrl+c and F1 stay global.
			switch msg.String() {
			case "ctrl+c":
				m.quitting = true
				return m, tea.Quit
			case "f1":
				m.help.ShowAll = !m.help.ShowAll
				m.resize()
				return m, nil
			}
			break
		}
		switch {
		case key.Matches(msg, m.common.Keys.Quit):
			m.quitting = true
			return m, tea.Quit
		case key.Matches(msg, m.common.Keys.Help):
			m.help.ShowAll = !m.help.ShowAll
			m.resize() // the full help is taller
			return m, nil
		case key.Matches(msg, m.common.Keys.Lesson) && m.active != screenLesson:
			return m, m.openLesson()
		}
	}
	s, cmd := m.screens[m.active].Update(msg)
	m.screens[m.active] = s
	return m, cmd
}

// navigate opens or switches to a screen: the messages by which one screen
// hands the keys to another.
func (m *Model) navigate(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case openSessionMsg:
		// A new session screen per request: nothing of the previous
		// session (selection, lens, step) carries over to another port.
		var drain tea.Cmd
		if old, ok := m.screens[screenSession].(interface{ stop() tea.Cmd }); ok {
			drain = old.stop() // the picker was opened from a running session
		}
		s := newSessionFor(m.common, msg.req)
		m.screens[screenSession] = s
		m.sessionFrom = m.active
		m.active = screenSession
		m.resize()
		return tea.Batch(drain, s.Init())

	case openPickerMsg:
		// A fresh picker each time: it starts from the port or scenario
		// it was opened on.
		m.screens[screenPicker] = newPickerScreen(m.common, msg)
		m.active = screenPicker
		m.resize()
		return nil

	case openFormMsg:
		// A fresh form each time, filled in from the session it was
		// opened from (or the last target).
		f := newFormScreen(m.common, msg)
		m.screens[screenForm] = f
		m.active = screenForm
		m.resize()
		return f.Init()

	case openScanMsg:
		// A fresh scan screen each time; the previous run is cancelled.
		if old, ok := m.screens[screenScan].(*scanScreen); ok {
			old.stop()
		}
		s := newScanScreen(m.common, msg.req)
		m.screens[screenScan] = s
		m.scanFrom = m.active
		m.active = screenScan
		m.resize()
		return s.Init()

	case switchScreenMsg:
		if msg.to == screenPorts && m.active == screenScan && m.scanFrom == screenLesson {
			msg.to = screenLesson // back to the lesson whose link opened the scan
		}
		if msg.to == screenPorts && m.active == screenSession && m.sessionFrom == screenMonitor {
			msg.to = screenMonitor // back to the clients
		}
		if msg.to == screenPorts && m.active == screenSession && (m.sessionFrom == screenScan || m.sessionFrom == screenLesson) {
			msg.to = m.sessionFrom // back to the findings or the lesson the session was opened from
		}
		if _, ok := m.screens[msg.to]; ok {
			m.active = msg.to
			m.resize()
		}
		return nil
	}
	return nil
}

// setBackground rebuilds the styles for a dark or light background, unless
// the theme fixes it (--theme dark, light), and has the screens render
// again.
func (m *Model) setBackground(isDark bool) tea.Cmd {
	st := themeStyles(m.opts.Theme, m.common.Present, isDark)
	if st.IsDark == m.common.Styles.IsDark && st.Theme == m.common.Styles.Theme {
		return nil
	}
	m.common.Styles = st
	m.help.Styles = st.Help
	m.shortHelp = helpMemo{}
	// Screens cache rendered text; a BackgroundColorMsg is what has them
	// render it again with the new styles (they read them from Common).
	bg := color.Color(color.Black)
	if !isDark {
		bg = color.White
	}
	return m.forwardAll(tea.BackgroundColorMsg{Color: bg})
}

// labResult takes the lab's start: every screen sees it, and the session
// of Options.Open opens once the lab is ready.
func (m *Model) labResult(msg labResultMsg) tea.Cmd {
	if msg.err != nil {
		m.common.Lab = Lab{State: labFailed, Err: msg.err}
	} else {
		m.common.Lab = Lab{State: labReady, Info: msg.info}
	}
	cmd := m.forwardAll(msg)
	if req, ok := m.openOnStart(); ok {
		cmd = tea.Batch(cmd, func() tea.Msg { return openSessionMsg{req: req} })
	}
	return cmd
}

// openOnStart is the session of Options.Open against the lab, once the lab
// is ready; only the first time.
func (m *Model) openOnStart() (SessionRequest, bool) {
	o := m.opts.Open
	if o == nil || m.opened || m.common.Lab.State != labReady || m.common.OpenSession == nil {
		return SessionRequest{}, false
	}
	m.opened = true
	if p, ok := m.screens[screenPorts].(*portsScreen); ok {
		p.selectPort(o.Port) // esc leads back to it
	}
	req, _ := m.common.labRequest(o.Port, o.Scenario, o.Variant)
	return req, true
}

// forwardAll sends a message every screen must see (theme, lab state).
func (m *Model) forwardAll(msg tea.Msg) tea.Cmd {
	var cmds []tea.Cmd
	for id, s := range m.screens {
		s, cmd := s.Update(msg)
		m.screens[id] = s
		cmds = append(cmds, cmd)
	}
	return tea.Batch(cmds...)
}

// resize gives the active screen the window minus the help bar.
func (m *Model) resize() {
	m.help.SetWidth(m.width)
	helpHeight := lipgloss.Height(m.helpView())
	for _, s := range m.screens {
		s.SetSize(m.width, max(0, m.height-helpHeight))
	}
}

// helpView is the help bar: one line of the keys that matter most, or
// (after ?) every key in columns. "? help" and "q quit" always show.
func (m *Model) helpView() string {
	s := m.screens[m.active]
	if m.help.ShowAll {
		return m.fullHelpView(s.FullHelp())
	}
	return m.shortHelpView(s.ShortHelp())
}

// globalKeys are the keys of every screen, which the help bar never drops.
// While text is typed they are F1 and ctrl+c: ? and q are text then.
func (m *Model) globalKeys() []key.Binding {
	if m.typing() {
		return []key.Binding{
			key.NewBinding(key.WithKeys("f1"), key.WithHelp("f1", "help")),
			key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit")),
		}
	}
	return []key.Binding{m.common.Keys.Help, m.common.Keys.Quit}
}

// sharedNotes are the full help's words on what a shared program
// (Options.Shared) leaves out, listed with the keys they would have.
func (m *Model) sharedNotes() []key.Binding {
	if !m.opts.Shared {
		return nil
	}
	notes := []key.Binding{key.NewBinding(key.WithKeys("x"), key.WithHelp("x w", "export, save: off here"))}
	if m.opts.OpenPrompt == nil {
		notes = append(notes, key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "connect: lab only")))
	}
	return notes
}

// typing says whether the active screen takes keys as text (a prompt, a
// form's field).
func (m *Model) typing() bool {
	t, ok := m.screens[m.active].(interface{ typing() bool })
	return ok && t.typing()
}

// newSessionFor is the session screen for a request: with a prompt when
// the session is typed by hand.
func newSessionFor(c *Common, req SessionRequest) screen {
	if req.Prompt {
		return newPromptScreen(c, req)
	}
	return newSessionScreen(c, req)
}

// shortHelpView is the one-line help: the screen's keys, most important
// first, then the global ones. When the line does not fit, the screen's
// last keys go first (the full help still lists them), never ? and q.
func (m *Model) shortHelpView(keys []key.Binding) string {
	// The bar is the same from one frame to the next nearly always, and
	// fitting it renders it up to once per key: with a class of programs
	// on one host (mailwire serve) that was a third of each frame's
	// work. It is made again when a key, its words, or the width change
	// (the styles reset it).
	var sig strings.Builder
	fmt.Fprintf(&sig, "%d\x00", m.width)
	for _, k := range append(slices.Clone(keys), m.globalKeys()...) {
		if k.Enabled() {
			sig.WriteString(k.Help().Key + "\x00" + k.Help().Desc + "\x01")
		}
	}
	if m.shortHelp.sig == sig.String() && m.shortHelp.line != "" {
		return m.shortHelp.line
	}
	line := m.fitShortHelp(keys)
	m.shortHelp = helpMemo{sig: sig.String(), line: line}
	return line
}

// helpMemo is the short help line last made, and what it was made from.
type helpMemo struct{ sig, line string }

// fitShortHelp makes the short help line (shortHelpView).
func (m *Model) fitShortHelp(keys []key.Binding) string {
	h := m.help
	h.SetWidth(0) // measure whole lines; the cut is ours
	w := max(m.width, 1)
	for n := len(keys); ; n-- {
		line := h.ShortHelpView(append(slices.Clone(keys[:n]), m.globalKeys()...))
		if n == 0 || ansi.StringWidth(line) <= w {
			// Only a screen too narrow for "? help • q quit" cuts.
			return ansi.Truncate(line, w, "…")
		}
	}
}

// fullHelpView lays the screen's columns of keys, and the global ones,
// side by side; columns that do not fit the width start a new row of
// columns below, so every key shows at any width from 80 columns on.
func (m *Model) fullHelpView(groups [][]key.Binding) string {
	h := m.help
	h.SetWidth(0)
	w := max(m.width, 1)
	sep := ansi.StringWidth(h.FullSeparator)
	width := func(cols ...[]key.Binding) int {
		n := 0
		for i, c := range cols {
			if i > 0 {
				n += sep
			}
			n += lipgloss.Width(h.FullHelpView([][]key.Binding{c}))
		}
		return n
	}
	var rows [][][]key.Binding
	var row [][]key.Binding
	for _, g := range append(slices.Clone(groups), m.sharedNotes(), m.fullGlobalKeys()) {
		if width(g) == 0 {
			continue // no enabled key
		}
		if len(row) > 0 && width(append(slices.Clone(row), g)...) > w {
			// A column that does not fit goes under the shortest column
			// of the row when the row is tall enough, else starts a row.
			tallest, short := 0, 0
			for i, c := range row {
				tallest = max(tallest, len(c))
				if len(c) < len(row[short]) {
					short = i
				}
			}
			merged := slices.Clone(row)
			merged[short] = append(slices.Clone(row[short]), g...)
			if len(merged[short]) <= tallest && width(merged...) <= w {
				row = merged
				continue
			}
			rows, row = append(rows, row), nil
		}
		row = append(row, g)
	}
	rows = append(rows, row)
	var lines []string
	for _, r := range rows {
		for _, l := range strings.Split(h.FullHelpView(r), "\n") {
			// A column wider than the screen (below 80 columns) is cut.
			lines = append(lines, ansi.Truncate(l, w, "…"))
		}
	}
	return strings.Join(lines, "\n")
}

// View renders the active screen above the help bar. It is the only place a
// tea.View is built: alt screen, mouse mode and window title live here.
func (m *Model) View() tea.View {
	var v tea.View
	switch {
	case m.quitting:
	case m.tooSmall():
		v.SetContent(m.tooSmallView())
	default:
		body := m.screens[m.active].View()
		v.SetContent(lipgloss.JoinVertical(lipgloss.Left, body, m.helpView()))
	}
	v.AltScreen = true
	v.MouseMode = tea.MouseModeCellMotion
	v.WindowTitle = fmt.Sprintf("mailwire — %s", m.screenTitle())
	return v
}

// tooSmall says whether the terminal is smaller than the screens' layout.
func (m *Model) tooSmall() bool { return m.width < minWidth || m.height < minHeight }

// tooSmallView says so, and what size is needed, in the middle of the
// terminal.
func (m *Model) tooSmallView() string {
	st := m.common.Styles
	w, h := max(m.width, 1), max(m.height, 1)
	var lines []string
	for _, l := range []struct {
		style lipgloss.Style
		text  string
	}{
		{st.Warning, fmt.Sprintf("terminal too small (need %d×%d)", minWidth, minHeight)},
		{st.Text, fmt.Sprintf("this one is %d×%d", m.width, m.height)},
		{st.Muted, "enlarge the window to go on · q quits"},
	} {
		for _, wl := range strings.Split(wrapText(l.text, w), "\n") {
			lines = append(lines, l.style.Render(wl))
		}
	}
	lines = lines[:min(len(lines), h)]
	return lipgloss.Place(w, h, lipgloss.Center, lipgloss.Center, strings.Join(lines, "\n"))
}

func (m *Model) screenTitle() string {
	switch m.active {
	case screenPorts:
		return "mail ports"
	case screenSession:
		switch s := m.screens[screenSession].(type) {
		case *sessionScreen:
			what := "session"
			if s.req.Replay != "" {
				what = "replay of " + wire.SafeString(s.req.Replay) + ":"
			}
			if s.req.Scenario != "" {
				return what + " scenario " + m.common.scenarioProse(s.req.Scenario).Title
			}
			return fmt.Sprintf("%s %s %d", what, s.req.Proto, s.req.Port)
		case *promptScreen:
			return "typed session " + wire.SafeString(s.req.Target)
		}
	case screenPicker:
		return "scenarios"
	case screenForm:
		return "connect"
	case screenMonitor:
		return "lab monitor"
	case screenScan:
		if s, ok := m.screens[screenScan].(*scanScreen); ok {
			return "scan " + wire.SafeString(s.req.Host)
		}
	case screenLesson:
		if s, ok := m.screens[screenLesson].(*lessonScreen); ok {
			return "lesson " + s.lesson.Title
		}
	}
	return "mailwire"
}
