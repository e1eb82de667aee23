package tui

import (
	"context"
	"fmt"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"

	"github.com/mailwire/mailwire/sessions/lens"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/render"
	"github.com/mailwire/mailwire/sessions/wire"
)

// The session screen: one session's event stream as a timeline, a detail
// pane for the selected event, two lenses (what the endpoints see, what an
// eavesdropper sees) and a step mode for teaching.
//
// It is composed of parts, each a model with its own state, size and keys
// (the part interface below):
//
//   - the timeline (timeline.go, timeline_row.go): rows, selection,
//     scrolling, the rendered-row cache;
//   - the detail pane (detail.go): a bubbles viewport in a box; what it
//     says is detail_content.go's, the story scenario_view.go's;
//   - the step controller (stepper.go): steps, step mode, auto-play, speed;
//   - the leg filter (legfilter.go): a scenario's connections, one or all;
//   - the scenario panel (scenario_panel.go): compare table or hop diagram.
//
// The screen runs the session, owns the layout (session_view.go) and the
// header, routes each message to the part it is for and, in the same
// Update, brings the others along (sync). What the chosen lens can see is
// decided in one file, visibility.go.
//
// The screen never touches a socket: Common.OpenSession runs inside a
// tea.Cmd and hands back a channel; another tea.Cmd waits on the channel and
// returns what arrived as a message tagged with the session's id, then the
// screen re-arms it. A re-run starts a new id, so events still in flight
// from the old session are recognised and dropped.

// maxBatch bounds how many events one message carries: a fast session (or
// a replay of 100k events) costs one render per batch, not per event, and a
// batch still arrives quickly enough to look live.
const maxBatch = 512

// sessionState is where a session stands.
type sessionState int

const (
	stateOpening sessionState = iota // OpenSession not yet returned
	stateRunning                     // events arriving
	stateDone                        // the stream ended without an error event
	stateFailed                      // OpenSession failed, or an error event arrived
)

func (s sessionState) String() string {
	switch s {
	case stateOpening:
		return "starting"
	case stateRunning:
		return "running"
	case stateDone:
		return "done"
	}
	return "failed"
}

// openSessionMsg asks the root to show the session screen for req.
type openSessionMsg struct{ req SessionRequest }

// sessionOpenedMsg carries the outcome of Common.OpenSession.
type sessionOpenedMsg struct {
	id  int
	ch  <-chan wire.Event
	err error
}

// sessionEventsMsg carries the events that arrived, in order; done is set
// when the channel was closed.
type sessionEventsMsg struct {
	id   int
	evs  []wire.Event
	done bool
}

// sessionData is what the session screen knows of its run and how it is
// looked at. The screen owns and changes it; its parts read it.
type sessionData struct {
	req   SessionRequest
	id    int // of the current run; 0 before the first
	state sessionState
	err   error // OpenSession's error
	evs   []wire.Event

	lens   lens.Lens
	reveal bool // show passwords
}

// event returns event i as the screen shows it: with its password masked
// unless the user revealed it.
func (d *sessionData) event(i int) wire.Event {
	ev := d.evs[i]
	if !d.reveal && ev.Credential != nil && ev.Credential.Password != "" {
		red, _ := protocol.RedactSecrets([]wire.Event{ev})
		return red[0]
	}
	return ev
}

// live says whether more events may come.
func (d *sessionData) live() bool { return d.state == stateOpening || d.state == stateRunning }

// part is the contract of the session screen's components: soft-serve's
// (pkg/ui/common/component.go), a model with its own state, size and keys,
// with one addition: Update says whether the message was the part's, so
// the screen routes a key to the part that takes it and, in the same
// Update, brings the other parts along.
type part interface {
	help.KeyMap
	Update(msg tea.Msg) (tea.Cmd, bool)
	View() string
	SetSize(width, height int)
}

var (
	_ part = (*timelineModel)(nil)
	_ part = (*detailPane)(nil)
	_ part = (*stepper)(nil)
	_ part = (*legFilter)(nil)
	_ part = (*scenarioPanel)(nil)
)

// sessionScreen is the model of the session screen. It runs the session,
// routes messages to its parts and keeps them in step, and owns the layout:
// header (its own), timeline and detail pane, or the scenario panel over
// both.
type sessionScreen struct {
	*sessionData
	c      *Common
	cancel context.CancelFunc
	ch     <-chan wire.Event
	// open starts a run inside a tea.Cmd and returns the message that
	// says how it went; nil means Common.OpenSession (sessionOpenedMsg).
	// The prompt screen (prompt_screen.go) opens its typed session here.
	open func(ctx context.Context, id int, req SessionRequest) tea.Msg

	tl      *timelineModel
	detail  *detailPane
	explain *explainer // what the detail pane says
	step    *stepper
	legs    *legFilter
	panel   *scenarioPanel
	export  *exportMenu // x: the session saved or exported (export.go)
	save    *saveDialog // w: the session saved as a recording, under a name (save.go)
	// capture and keys are this run's wire bytes and TLS secrets, which
	// OpenSession and OpenPrompt fill (WireRecorders); empty for a
	// replay.
	capture *wire.Capture
	keys    *wire.KeyLogBuffer
	// header is where this run's opener reports the session's recording
	// header (ReportHeader), which a save or an export writes.
	header *headerSlot

	// story: the detail pane shows the scenario's introduction (and its
	// conclusion once it ends) instead of the selected event; storySet:
	// the user chose with i, so the end of the stream leaves it alone.
	story    bool
	storySet bool

	// find searches the timeline and jumps to errors, credentials and
	// verdicts (finder.go); zoom hides the detail pane (z); status says
	// what the last of the screen's keys did, until the next key
	// (session_find.go).
	find   *finder
	zoom   bool
	status string
	// pres is the presenter's block as last drawn (presenter.go).
	pres presenterBlock

	// spin turns in the header while the session runs, beside the time
	// since started (a session waiting on a slow server must not look
	// frozen); now is the clock (tests pin it).
	spin    spinner.Model
	started time.Time
	now     func() time.Time

	width, height int
}

func newSessionScreen(c *Common, req SessionRequest) *sessionScreen {
	d := &sessionData{req: req}
	step := newStepper(c, d)
	legs := newLegFilter(c)
	tl := newTimelineModel(c, d, step, legs)
	panel := newScenarioPanel(c, d, step, legs)
	s := &sessionScreen{
		find:        newFinder(c, d, tl),
		sessionData: d,
		c:           c,
		tl:          tl,
		detail:      newDetailPane(c),
		explain:     &explainer{sessionData: d, c: c, step: step, legs: legs, panel: panel},
		step:        step,
		legs:        legs,
		panel:       panel,
		export:      newExportMenu(c),
		save:        newSaveDialog(c),
		story:       req.Scenario != "",
		spin:        spinner.New(spinner.WithSpinner(spinner.MiniDot)),
		now:         time.Now,
		width:       defaultWidth,
		height:      defaultHeight,
	}
	if c.Present {
		// Opened in presenter mode: its layout from the first frame.
		s.zoom = true
		step.setMode(true)
	}
	s.sync()
	return s
}

// Init starts the session.
func (s *sessionScreen) Init() tea.Cmd { return s.run() }

// run (re)starts the session, its clock and the spinner that turns in the
// header while it runs.
func (s *sessionScreen) run() tea.Cmd {
	s.started = s.now()
	return tea.Batch(s.start(), s.spin.Tick)
}

// start (re)runs the session under a new id. The previous run, if any, is
// cancelled and its channel drained in the background, as sessions.Stream
// requires. Step mode stays as it was.
func (s *sessionScreen) start() tea.Cmd {
	drain := s.stop()
	s.id = s.c.nextRun()
	s.evs = nil
	s.step.reset()
	s.legs.reset()
	s.tl.reset()
	s.story = s.req.Scenario != "" && !s.storySet
	s.err = nil
	s.invalidate()
	s.resizeParts()
	open := s.open
	if open == nil && s.c.OpenSession != nil {
		openSession := s.c.OpenSession
		open = func(ctx context.Context, id int, req SessionRequest) tea.Msg {
			ch, err := openSession(ctx, req)
			return sessionOpenedMsg{id: id, ch: ch, err: err}
		}
	}
	if open == nil {
		s.state = stateFailed
		s.err = fmt.Errorf("sessions cannot be run in this mode")
		return drain
	}
	s.state = stateOpening
	parent := s.c.Ctx
	if parent == nil {
		parent = context.Background()
	}
	parent, s.header = withHeaderSlot(parent)
	s.capture, s.keys = nil, nil
	if s.c.Keys.Export.Enabled() {
		// A fresh capture of the wire and of the TLS secrets per run,
		// for the export menu's pcap and key log (WireRecorders): a
		// scripted session, a typed one and every leg of a scenario. A
		// replay's opener leaves them empty. Without the menu (mailwire
		// serve) nothing is kept: up to 64 MiB a run, per student.
		s.capture, s.keys = wire.NewCapture(0), &wire.KeyLogBuffer{}
		parent = WithWireRecorders(parent, s.capture, s.keys)
	}
	ctx, cancel := context.WithCancel(parent)
	s.cancel = cancel
	id, req := s.id, s.req
	return tea.Batch(drain, func() tea.Msg { return open(ctx, id, req) })
}

// stop cancels the running session and returns a command that drains its
// channel, so the session's goroutine can finish.
func (s *sessionScreen) stop() tea.Cmd {
	if s.cancel != nil {
		s.cancel()
		s.cancel = nil
	}
	ch := s.ch
	s.ch = nil
	if ch == nil {
		return nil
	}
	return drainCmd(ch)
}

func drainCmd(ch <-chan wire.Event) tea.Cmd {
	return func() tea.Msg {
		for range ch {
		}
		return nil
	}
}

// waitEvents waits for the next event, then takes whatever else is already
// queued, up to maxBatch, so a burst costs one message.
func waitEvents(id int, ch <-chan wire.Event) tea.Cmd {
	return func() tea.Msg {
		ev, ok := <-ch
		if !ok {
			return sessionEventsMsg{id: id, done: true}
		}
		evs := []wire.Event{ev}
		for len(evs) < maxBatch {
			select {
			case ev, ok := <-ch:
				if !ok {
					return sessionEventsMsg{id: id, evs: evs, done: true}
				}
				evs = append(evs, ev)
			default:
				return sessionEventsMsg{id: id, evs: evs}
			}
		}
		return sessionEventsMsg{id: id, evs: evs}
	}
}

// opened takes the outcome of OpenSession.
func (s *sessionScreen) opened(msg sessionOpenedMsg) tea.Cmd {
	if msg.id != s.id {
		if msg.ch != nil {
			return drainCmd(msg.ch) // a run the user already left
		}
		return nil
	}
	if msg.err != nil {
		s.state, s.err = stateFailed, msg.err
		s.detail.invalidate() // it says why
		return nil
	}
	s.ch, s.state = msg.ch, stateRunning
	return waitEvents(s.id, s.ch)
}

// received takes a batch of events, and the end of the stream.
func (s *sessionScreen) received(msg sessionEventsMsg) tea.Cmd {
	if msg.id != s.id {
		return nil // stale: the old channel is being drained
	}
	s.appendEvents(msg.evs)
	if !msg.done {
		return waitEvents(s.id, s.ch)
	}
	s.ch = nil
	if s.cancel != nil {
		s.cancel()
		s.cancel = nil
	}
	if s.state != stateFailed {
		s.state = stateDone
	}
	if s.req.Scenario != "" && !s.storySet && s.tl.follow && !s.step.on {
		// The end: the detail pane turns to the conclusion.
		s.story = true
		s.detail.invalidate()
	}
	return nil
}

// appendEvents adds newly arrived events: steps, legs, rows and the
// selection follow them.
func (s *sessionScreen) appendEvents(evs []wire.Event) {
	if len(evs) == 0 {
		return
	}
	from := len(s.evs)
	s.evs = append(s.evs, evs...)
	s.step.add(from)
	newLeg := false
	failure := -1 // the session's first failure, if it arrived now
	for i := from; i < len(s.evs); i++ {
		ev := &s.evs[i]
		if ev.Kind == wire.KindError && (s.req.Scenario == "" || ev.Leg == "") {
			// A scenario's connection may fail by design (a client
			// refusing the attacker's certificate): that is evidence,
			// not the scenario failing. Its own errors have no leg.
			if s.state != stateFailed && ev.Dir == wire.Local {
				failure = i
			}
			s.state = stateFailed
		}
		newLeg = s.legs.add(ev.Leg) || newLeg
	}
	s.tl.addRows(from)
	if newLeg {
		// The leg column appears or widens; the legs of a machine in the
		// middle may go side by side.
		s.invalidate()
		s.resizeParts()
	}
	// The detail pane may depend on what arrived (the eavesdropper's
	// summary, a selected run that grew).
	s.detail.invalidate()
	s.tl.followEnd()
	if failure >= 0 && s.tl.follow && !s.step.on {
		// After a failure the failure stays selected, with its
		// explanation in the detail pane, rather than the close event
		// that follows it (which would explain close_notify).
		s.tl.selectEvent(failure)
	}
}

// invalidate has every part render again: after a change of lens,
// passwords, legs, steps or theme.
func (s *sessionScreen) invalidate() {
	s.tl.invalidate()
	s.detail.invalidate()
	s.panel.invalidate()
	s.pres.invalidate()
}

// SetSize sets the area the screen may draw in.
func (s *sessionScreen) SetSize(width, height int) {
	s.width, s.height = width, height
	s.sync()
}

// Update routes a message to the part it is for, then brings the parts in
// step (sync).
func (s *sessionScreen) Update(msg tea.Msg) (screen, tea.Cmd) {
	var cmd tea.Cmd
	switch msg := msg.(type) {
	case sessionOpenedMsg:
		cmd = s.opened(msg)
	case sessionEventsMsg:
		cmd = s.received(msg)
	case exportDoneMsg:
		if msg.id == s.id {
			s.export.done(msg)
		}
	case recordingSavedMsg:
		if msg.id == s.id {
			s.saved(msg)
		}
	case autoTickMsg:
		cmd, _ = s.stepUpdate(msg)
	case spinner.TickMsg:
		if s.live() { // else the spinner stops: no next tick
			s.spin, cmd = s.spin.Update(msg)
		}
	case tea.KeyPressMsg:
		cmd = s.handleKey(msg)
	case tea.MouseClickMsg, tea.MouseWheelMsg:
		s.handleMouse(msg)
	case tea.BackgroundColorMsg:
		s.invalidate()
		s.find.restyle()
	case presentMsg:
		s.presenting(msg.on)
	}
	s.sync()
	return s, cmd
}

// handleKey offers a key to the open panel, then the screen's own keys,
// then each part in turn.
func (s *sessionScreen) handleKey(msg tea.KeyPressMsg) tea.Cmd {
	s.status = ""
	if s.find.typing {
		cmd, _ := s.findKey(msg) // every key is the search field's
		return cmd
	}
	if cmd, ok := s.save.Update(msg, s.saveNow); ok {
		return cmd // the file name's prompt has every key
	}
	if cmd, ok := s.export.Update(msg, s.exportNow); ok {
		return cmd
	}
	if cmd, ok := s.panelUpdate(msg); ok {
		return cmd
	}
	if !s.panel.open {
		// The search and the jumps (esc clears a search before it
		// leaves the screen).
		if cmd, ok := s.findKey(msg); ok {
			return cmd
		}
	}
	if s.c.Present && !s.panel.open {
		if cmd, ok := s.presenterKey(msg); ok {
			return cmd
		}
	}
	if cmd, ok := s.screenKey(msg); ok {
		return cmd
	}
	if _, ok := s.legs.Update(msg); ok {
		s.resizeParts() // one leg: no side-by-side view
		s.tl.rebuild()
		s.invalidate()
		return nil
	}
	if cmd, ok := s.stepUpdate(msg); ok {
		return cmd
	}
	if _, ok := s.tl.Update(msg); ok {
		s.story = false // the user looks at events now
		return nil
	}
	s.detail.Update(msg)
	return nil
}

// screenKey handles the keys that concern the whole screen.
func (s *sessionScreen) screenKey(msg tea.KeyPressMsg) (tea.Cmd, bool) {
	k := s.c.Keys
	switch {
	case key.Matches(msg, k.Scenarios):
		req := s.req
		return func() tea.Msg {
			m := openPickerMsg{from: screenSession, current: req.Scenario}
			if req.Scenario == "" {
				m.port = req.Port // a plain session: the scenarios of its port
			}
			return m
		}, true
	case key.Matches(msg, k.Panel):
		s.panel.toggle()
		s.panelToggled()
	case key.Matches(msg, k.Story):
		if s.req.Scenario != "" {
			s.story = !s.story
			s.storySet = true
		}
	case key.Matches(msg, k.Back):
		s.step.pause()
		drain := s.stop()
		return tea.Batch(drain, func() tea.Msg { return switchScreenMsg{to: screenPorts} }), true
	case key.Matches(msg, k.Present):
		return presentCmd(!s.c.Present), true
	case key.Matches(msg, k.Lens):
		s.lens = otherLens(s.lens)
		s.tl.rebuild()
		s.invalidate()
	case key.Matches(msg, k.Reveal):
		s.reveal = !s.reveal
		s.invalidate()
	case key.Matches(msg, k.Rerun):
		return s.run(), true
	case key.Matches(msg, k.Copy):
		return s.copySelected(), true
	case key.Matches(msg, k.Zoom):
		s.toggleZoom()
	case key.Matches(msg, k.Export):
		s.step.pause()
		s.export.toggle()
	case key.Matches(msg, k.Save) && k.Export.Enabled():
		// A save is an export: off where the export menu is (a shared
		// program writes nothing to its host's disk).
		s.step.pause()
		return s.save.start(defaultRecordingPath(s.req, s.now())), true
	default:
		return nil, false
	}
	return nil, true
}

// panelUpdate gives the open panel its keys and wheel.
func (s *sessionScreen) panelUpdate(msg tea.Msg) (tea.Cmd, bool) {
	open := s.panel.open
	cmd, ok := s.panel.Update(msg)
	if s.panel.open != open {
		s.panelToggled()
	}
	return cmd, ok
}

// panelToggled lays the screen out again after the panel opened or
// closed: the side-by-side view and the timeline's height depend on it.
func (s *sessionScreen) panelToggled() {
	s.invalidate()
	s.resizeParts()
	s.tl.clampScroll()
}

// stepUpdate gives the step controller a key or a tick, then reveals and
// selects what it moved to.
func (s *sessionScreen) stepUpdate(msg tea.Msg) (tea.Cmd, bool) {
	var cmd tea.Cmd
	var ok bool
	s.stepped(func() { cmd, ok = s.step.Update(msg) })
	return cmd, ok
}

// stepped runs a move of the step controller (a key, a tick, presenter
// mode's keys), then reveals and selects what it moved to.
func (s *sessionScreen) stepped(move func()) {
	before := s.step.pos()
	move()
	after := s.step.pos()
	switch {
	case after == before:
	case after.on != before.on:
		s.story = false
		s.invalidate() // markers change
		if after.on {
			s.tl.selectStep()
		} else {
			s.tl.keepSelection() // every event shows; the one looked at stays
		}
	default:
		s.invalidate()
		s.tl.selectStep()
	}
}

// handleMouse sends a click or the wheel to the part under the pointer, in
// that part's coordinates.
func (s *sessionScreen) handleMouse(msg tea.Msg) {
	if _, ok := s.panelUpdate(msg); ok || s.panel.open {
		return
	}
	l := s.layout()
	switch msg := msg.(type) {
	case tea.MouseClickMsg:
		m := msg.Mouse()
		m.Y -= l.listY - 1 // the header, and presenter mode's block
		if _, ok := s.tl.Update(tea.MouseClickMsg(m)); ok {
			s.story = false
		}
	case tea.MouseWheelMsg:
		m := msg.Mouse()
		if m.Y >= l.detailY && m.X >= l.detailX {
			s.detail.Update(msg)
			return
		}
		if _, ok := s.tl.Update(msg); ok {
			s.story = false
		}
	}
}

// sync brings the parts in step after a message: sizes from the layout,
// the detail pane's text for what is selected, the panel's for what is
// revealed.
func (s *sessionScreen) sync() {
	listH := s.tl.listH()
	s.resizeParts()
	if s.c.Present && s.step.on && s.tl.listH() != listH {
		// The presenter's block took another height for the step (or
		// lens) it now tells: the step's rows on screen again.
		s.tl.scrollToStep(s.tl.stepFirstRow())
	}
	s.detail.hint = s.detailHint()
	subject := s.detailSubject()
	s.detail.show(subject, func(w int) string { return s.explain.text(subject, w) })
	if s.panel.open {
		s.panel.sync()
	}
}

// resizeParts gives each part its size from the layout.
func (s *sessionScreen) resizeParts() {
	l := s.layout()
	w := max(s.width, 1)
	s.tl.setSplit(s.split())
	s.tl.SetSize(l.listW, l.listH+1)
	s.detail.SetSize(l.detailW, l.detailH)
	s.panel.SetSize(w, max(s.height, 1)-headerLines)
	s.step.SetSize(w, 1)
	s.legs.SetSize(w, 1)
}

// detailSubject is what the detail pane shows: the story, the selected
// row, or (no row yet) a placeholder.
func (s *sessionScreen) detailSubject() detailSubject {
	if s.story {
		return detailSubject{kind: detailStory}
	}
	r, ok := s.tl.selected()
	if !ok {
		return detailSubject{kind: detailNone}
	}
	return detailSubject{kind: detailEvent, first: r.first, last: min(r.last, s.step.revealed()-1)}
}

// detailHint is the detail pane's footer: the keys that matter now.
func (s *sessionScreen) detailHint() string {
	switch {
	case s.step.on:
		return "space next · ← back"
	case s.story:
		return "↑/↓ events · i hide"
	case s.req.Scenario != "":
		return "i intro · s step · tab lens"
	case s.req.Prompt:
		return "shift+tab: the timeline's keys (s step, tab lens)"
	}
	return "s step · tab lens · esc back"
}

// ShortHelp lists the keys shown in the one-line help bar, most important
// first: the root drops the last ones when the line does not fit. Moving
// the selection comes last: the arrows are what everyone tries first.
func (s *sessionScreen) ShortHelp() []key.Binding {
	k := s.c.Keys
	if s.find.typing {
		return s.find.typingHelp()
	}
	if s.save.open {
		return s.save.ShortHelp()
	}
	var out []key.Binding
	switch {
	case s.c.Present && !s.panel.open:
		return s.presenterHelp()
	case s.panel.open:
		out = []key.Binding{s.panel.helpBinding(), k.Back}
	case s.step.on:
		reveal, leave := k.Reveal, k.Step
		reveal.SetHelp("p", "password")
		leave.SetHelp("s", "leave")
		out = append(s.step.ShortHelp(), reveal, leave, k.Lens, k.Back, k.Export)
	case s.req.Scenario != "":
		out = append([]key.Binding{k.Story}, s.legs.ShortHelp()...)
		out = append(out, s.panel.ShortHelp()...)
		out = append(out, k.Lens, k.Step, k.Scenarios, k.Export, k.Back)
	default:
		// "p password", as in step mode: with it the export menu's x
		// fits beside ? help and q quit at 80 columns.
		reveal := k.Reveal
		reveal.SetHelp("p", "password")
		out = []key.Binding{k.Lens, k.Step, reveal, k.Rerun, k.Export, k.Back}
	}
	if !s.panel.open {
		out = append(out, k.Search, k.Copy)
	}
	return append(out, s.tl.ShortHelp()...)
}

// FullHelp lists every key of the screen, in columns.
func (s *sessionScreen) FullHelp() [][]key.Binding {
	k := s.c.Keys
	scen := []key.Binding{k.Scenarios}
	if s.req.Scenario != "" {
		scen = append(scen, k.Story)
	}
	scen = append(scen, s.legs.ShortHelp()...)
	if s.panel.available() {
		scen = append(scen, s.panel.helpBinding())
	}
	scen = append(scen, k.Save, k.Export)
	view := append([]key.Binding{k.Lens, k.Reveal}, s.detail.ShortHelp()...)
	if s.c.Present {
		return [][]key.Binding{s.presenterFullHelp(), s.tl.FullHelp()[0], append(view, k.Rerun, k.Back), scen, s.findHelp()}
	}
	return [][]key.Binding{
		s.tl.FullHelp()[0],
		append(view, k.Rerun, k.Back),
		s.step.FullHelp()[0],
		scen,
		s.findHelp(),
	}
}

// exportNow starts the export of kind: what it needs of the screen is
// copied here, in Update, and the writing runs in a tea.Cmd.
func (s *sessionScreen) exportNow(kind exportKind) tea.Cmd {
	if s.export.busy {
		return nil
	}
	s.export.busy = true
	s.export.note, s.export.noteErr = "exporting…", false
	src := exportSource{id: s.id, req: s.req, reported: s.header.get(), capture: s.capture, keys: s.keys, evs: append([]wire.Event(nil), s.evs...),
		lens: render.Options{Lens: s.lens}, dir: DefaultExportDir(), at: s.now(), width: s.width, height: s.height}
	if s.req.Label == "lab" {
		src.labPorts = map[string]int{}
		for port, addr := range s.c.Lab.Info.Endpoints {
			src.labPorts[addr] = port
		}
	}
	return exportCmd(kind, src)
}
