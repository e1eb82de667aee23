package tui

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/scenario"
)

// The session screen: one session's event stream as a timeline, a detail
// pane for the selected event, two lenses (what the endpoints see, what an
// eavesdropper sees) and a step mode for teaching.
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

// Auto-play speeds, slowest last; the default is autoDefault.
var autoSpeeds = []time.Duration{
	250 * time.Millisecond, 500 * time.Millisecond, time.Second,
	1500 * time.Millisecond, 2 * time.Second, 3 * time.Second, 5 * time.Second,
}

const autoDefault = 2 // one second

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

// lens is whose view the screen shows.
type lens int

const (
	lensEndpoint     lens = iota // the protocol as client and server see it
	lensEavesdropper             // what a passive observer on the path sees
)

// openSessionMsg asks the root to show the session screen for req.
type openSessionMsg struct{ req SessionRequest }

// sessionOpenedMsg carries the outcome of Common.OpenSession.
type sessionOpenedMsg struct {
	id  int
	ch  <-chan sessions.Event
	err error
}

// sessionEventsMsg carries the events that arrived, in order; done is set
// when the channel was closed.
type sessionEventsMsg struct {
	id   int
	evs  []sessions.Event
	done bool
}

// autoTickMsg advances auto-play; gen drops ticks of an earlier play.
type autoTickMsg struct{ id, gen int }

// row is one line of the timeline: one event, or in the endpoint lens a run
// of consecutive TLS records collapsed into one line (first..last).
type row struct {
	first, last int // event indices
}

// sessionScreen is the model of the session screen.
type sessionScreen struct {
	c   *Common
	req SessionRequest

	id     int // of the current run; 0 before the first
	cancel context.CancelFunc
	ch     <-chan sessions.Event
	state  sessionState
	err    error // OpenSession's error

	evs []sessions.Event
	// steps holds the index of the first event of each step (an
	// exchange), in order; tlsUp tracks the handshake of each leg for
	// stepStart.
	steps []int
	tlsUp map[string]bool

	// legs are the connections of a multi-connection stream (a
	// scenario's), in the order they first appear; legFilter 0 shows
	// them all, i only legs[i-1] (and the scenario's own events).
	legs      []string
	legFilter int

	// story: the detail pane shows the scenario's introduction (and its
	// conclusion once it ends) instead of the selected event; storySet:
	// the user chose with i, so the end of the stream leaves it alone.
	story    bool
	storySet bool

	// panel: the body shows the compare table or the hop diagram instead
	// of timeline and detail pane; its lines are cached for panelFor
	// (events revealed, width).
	panel      bool
	panelOff   int
	panelLines []string
	panelFor   [2]int

	lens   lens
	reveal bool // show passwords

	stepMode bool
	stepIdx  int // the current step, in step mode
	auto     bool
	autoGen  int
	speed    int // index into autoSpeeds

	// rows is the timeline of the current lens over every event received;
	// what is shown is the prefix revealed by step mode.
	rows   []row
	sel    int  // selected row
	top    int  // first row on screen
	follow bool // keep the last row selected as events arrive

	// cache holds the rendered timeline row (not selected, not in the
	// current step) by row index; cacheLast the last event it covered.
	cache     []string
	cacheLast []int
	cacheW    int

	// The detail pane: its lines, each cut and padded to detailW, the
	// first one shown, and its height.
	detailLines []string
	detailOff   int
	detailW     int
	detailH     int
	detailFor   int // row the detail pane was rendered for; -1 for none

	width, height int
}

func newSessionScreen(c *Common, req SessionRequest) *sessionScreen {
	return &sessionScreen{
		c:         c,
		req:       req,
		speed:     autoDefault,
		follow:    true,
		detailFor: -1,
		story:     req.Scenario != "",
		panelFor:  [2]int{-1, -1},
		width:     defaultWidth,
		height:    defaultHeight,
	}
}

// Init starts the session.
func (s *sessionScreen) Init() tea.Cmd { return s.start() }

// start (re)runs the session under a new id. The previous run, if any, is
// cancelled and its channel drained in the background, as sessions.Stream
// requires.
func (s *sessionScreen) start() tea.Cmd {
	drain := s.stop()
	s.id = s.c.nextRun()
	s.evs, s.steps, s.tlsUp = nil, nil, map[string]bool{}
	s.legs, s.legFilter = nil, 0
	s.story = s.req.Scenario != "" && !s.storySet
	s.rows, s.sel, s.top, s.follow = nil, 0, 0, true
	s.stepIdx, s.auto = 0, false
	s.err = nil
	s.invalidate()
	open := s.c.OpenSession
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
	ctx, cancel := context.WithCancel(parent)
	s.cancel = cancel
	id, req := s.id, s.req
	return tea.Batch(drain, func() tea.Msg {
		ch, err := open(ctx, req)
		return sessionOpenedMsg{id: id, ch: ch, err: err}
	})
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

func drainCmd(ch <-chan sessions.Event) tea.Cmd {
	return func() tea.Msg {
		for range ch {
		}
		return nil
	}
}

// waitEvents waits for the next event, then takes whatever else is already
// queued, up to maxBatch, so a burst costs one message.
func waitEvents(id int, ch <-chan sessions.Event) tea.Cmd {
	return func() tea.Msg {
		ev, ok := <-ch
		if !ok {
			return sessionEventsMsg{id: id, done: true}
		}
		evs := []sessions.Event{ev}
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

// SetSize sets the area the screen may draw in.
func (s *sessionScreen) SetSize(width, height int) {
	if width != s.width {
		s.invalidate()
	}
	s.width, s.height = width, height
	s.detailFor = -1
	s.clampScroll()
}

// invalidate drops the cached rows and the detail pane: after a change of
// width, lens, reveal or theme every row renders differently.
func (s *sessionScreen) invalidate() {
	s.cache, s.cacheLast = nil, nil
	s.detailFor = -1
	s.panelFor = [2]int{-1, -1}
}

func (s *sessionScreen) Update(msg tea.Msg) (screen, tea.Cmd) {
	switch msg := msg.(type) {
	case sessionOpenedMsg:
		if msg.id != s.id {
			if msg.ch != nil {
				return s, drainCmd(msg.ch) // a run the user already left
			}
			return s, nil
		}
		if msg.err != nil {
			s.state, s.err = stateFailed, msg.err
			return s, nil
		}
		s.ch, s.state = msg.ch, stateRunning
		return s, waitEvents(s.id, s.ch)

	case sessionEventsMsg:
		if msg.id != s.id {
			return s, nil // stale: the old channel is being drained
		}
		s.appendEvents(msg.evs)
		if msg.done {
			s.ch = nil
			if s.cancel != nil {
				s.cancel()
				s.cancel = nil
			}
			if s.state != stateFailed {
				s.state = stateDone
			}
			if s.req.Scenario != "" && !s.storySet && s.follow && !s.stepMode {
				// The end: the detail pane turns to the conclusion.
				s.story = true
				s.detailFor = -1
			}
			return s, nil
		}
		return s, waitEvents(s.id, s.ch)

	case autoTickMsg:
		if msg.id != s.id || msg.gen != s.autoGen || !s.auto {
			return s, nil
		}
		if !s.nextStep() && s.state != stateRunning && s.state != stateOpening {
			s.auto = false // the end: nothing more will come
			return s, nil
		}
		return s, s.tick()

	case tea.KeyPressMsg:
		return s, s.handleKey(msg)

	case tea.MouseClickMsg:
		m := msg.Mouse()
		if m.Button == tea.MouseLeft && !s.panel {
			s.click(m.X, m.Y)
		}
	case tea.MouseWheelMsg:
		m := msg.Mouse()
		if s.panel {
			switch m.Button {
			case tea.MouseWheelUp:
				s.scrollPanel(-3)
			case tea.MouseWheelDown:
				s.scrollPanel(3)
			}
			return s, nil
		}
		l := s.layout()
		overDetail := m.Y >= l.detailY && m.X >= l.detailX
		switch m.Button {
		case tea.MouseWheelUp:
			if overDetail {
				s.scrollDetail(-3)
			} else {
				s.moveSel(-3)
			}
		case tea.MouseWheelDown:
			if overDetail {
				s.scrollDetail(3)
			} else {
				s.moveSel(3)
			}
		}
	case tea.BackgroundColorMsg:
		s.invalidate()
	}
	return s, nil
}

func (s *sessionScreen) handleKey(msg tea.KeyPressMsg) tea.Cmd {
	k := s.c.Keys
	if s.panel {
		if cmd, ok := s.panelKey(msg); ok {
			return cmd
		}
	}
	switch {
	case key.Matches(msg, k.Scenarios):
		req := s.req
		return func() tea.Msg {
			m := openPickerMsg{from: screenSession, current: req.Scenario}
			if req.Scenario == "" {
				m.port = req.Port // a plain session: the scenarios of its port
			}
			return m
		}
	case key.Matches(msg, k.Legs):
		s.cycleLegFilter()
	case key.Matches(msg, k.Panel):
		s.togglePanel()
	case key.Matches(msg, k.Story):
		if s.req.Scenario != "" {
			s.story = !s.story
			s.storySet = true
			s.detailFor = -1
		}
	case key.Matches(msg, k.Back):
		s.auto = false
		drain := s.stop()
		return tea.Batch(drain, func() tea.Msg { return switchScreenMsg{to: screenPorts} })
	case key.Matches(msg, k.Up):
		s.moveSel(-1)
	case key.Matches(msg, k.Down):
		s.moveSel(1)
	case key.Matches(msg, k.PrevPage):
		s.moveSel(-max(1, s.layout().listH-1))
	case key.Matches(msg, k.NextPage):
		s.moveSel(max(1, s.layout().listH-1))
	case key.Matches(msg, k.Top):
		s.moveSel(-len(s.rows))
	case key.Matches(msg, k.Bottom):
		s.moveSel(len(s.rows))
		s.follow = true
	case key.Matches(msg, k.DetailUp):
		s.scrollDetail(-max(1, s.detailH/2))
	case key.Matches(msg, k.DetailDown):
		s.scrollDetail(max(1, s.detailH/2))
	case key.Matches(msg, k.Lens):
		s.setLens(1 - s.lens)
	case key.Matches(msg, k.Reveal):
		s.reveal = !s.reveal
		s.invalidate()
	case key.Matches(msg, k.Step):
		s.setStepMode(!s.stepMode)
	case key.Matches(msg, k.Next):
		if !s.stepMode {
			s.setStepMode(true)
			return nil
		}
		s.auto = false
		s.nextStep()
	case key.Matches(msg, k.Prev):
		if s.stepMode {
			s.auto = false
			s.prevStep()
		}
	case key.Matches(msg, k.Auto):
		if s.auto {
			s.auto = false
			return nil
		}
		if !s.stepMode {
			s.setStepMode(true)
		}
		s.auto = true
		s.autoGen++
		return s.tick()
	case key.Matches(msg, k.Faster):
		s.speed = max(0, s.speed-1)
		return s.restartTick()
	case key.Matches(msg, k.Slower):
		s.speed = min(len(autoSpeeds)-1, s.speed+1)
		return s.restartTick()
	case key.Matches(msg, k.Rerun):
		step := s.stepMode
		cmd := s.start()
		s.stepMode = step
		return cmd
	}
	return nil
}

// tick schedules the next auto-play step.
func (s *sessionScreen) tick() tea.Cmd {
	id, gen := s.id, s.autoGen
	return tea.Tick(autoSpeeds[s.speed], func(time.Time) tea.Msg { return autoTickMsg{id: id, gen: gen} })
}

// restartTick applies a new speed at once rather than after the pending
// tick.
func (s *sessionScreen) restartTick() tea.Cmd {
	if !s.auto {
		return nil
	}
	s.autoGen++
	return s.tick()
}

// appendEvents adds newly arrived events: steps, rows and the selection
// follow them.
func (s *sessionScreen) appendEvents(evs []sessions.Event) {
	if len(evs) == 0 {
		return
	}
	from := len(s.evs)
	s.evs = append(s.evs, evs...)
	for i := from; i < len(s.evs); i++ {
		if s.stepStart(i) {
			s.steps = append(s.steps, i)
		}
		ev := &s.evs[i]
		switch ev.Kind {
		case sessions.KindTLSState:
			s.tlsUp[ev.Leg] = true
		case sessions.KindError:
			// A scenario's connection may fail by design (a client
			// refusing the attacker's certificate): that is evidence,
			// not the scenario failing. Its own errors have no leg.
			if s.req.Scenario == "" || ev.Leg == "" {
				s.state = stateFailed
			}
		}
		if ev.Leg != "" && !slices.Contains(s.legs, ev.Leg) {
			// A new leg: the leg column appears or widens.
			s.legs = append(s.legs, ev.Leg)
			s.invalidate()
		}
	}
	s.addRows(from)
	// The detail pane may depend on what arrived (the eavesdropper's
	// summary, a selected run that grew).
	s.detailFor = -1
	if s.follow && !s.stepMode {
		s.sel = max(0, s.visibleRows()-1)
	}
	s.clampScroll()
}

// stepStart says whether event i starts a new step (an exchange). Steps are
// what a teacher talks through one at a time:
//
//   - the connection and the server's greeting;
//   - a client command with everything up to the next command: the TLS
//     records that carry it, the reply, notes about it;
//   - the STARTTLS boundary with the ClientHello flight, then each further
//     flight of the handshake (a change of direction among TLS records
//     before the handshake is done), the last one with the TLS state;
//   - an error, and the close, each on its own.
func (s *sessionScreen) stepStart(i int) bool {
	if i == 0 {
		return true
	}
	ev, prev := s.evs[i], s.evs[i-1]
	switch ev.Kind {
	case sessions.KindBoundary, sessions.KindError, sessions.KindClose, sessions.KindVerdict:
		return true
	case sessions.KindConnect:
		// A scenario's next connection, unless its introduction just
		// started the step.
		return prev.Kind != sessions.KindNote || prev.Annotation != annLeg
	case sessions.KindNote:
		return ev.Annotation == annLeg
	case sessions.KindLine:
		return ev.Dir == sessions.ClientToServer
	case sessions.KindRecord, sessions.KindHandshake, sessions.KindEncrypted:
		if s.tlsUp[ev.Leg] || prev.Kind == sessions.KindBoundary && prev.Leg == ev.Leg {
			return false
		}
		// The previous TLS event on the wire, on the same connection: a
		// change of direction starts the peer's flight (RFC 8446 §2,
		// figure 1).
		for j := i - 1; j >= 0; j-- {
			p := s.evs[j]
			if p.Leg != ev.Leg {
				continue
			}
			switch p.Kind {
			case sessions.KindRecord, sessions.KindHandshake, sessions.KindEncrypted:
				return p.Dir != ev.Dir
			case sessions.KindBoundary, sessions.KindLine:
				return false
			}
		}
	}
	return false
}

// revealed is how many events the timeline shows: all of them, or in step
// mode those up to the end of the current step. The current step keeps
// growing while its events arrive.
func (s *sessionScreen) revealed() int {
	if !s.stepMode {
		return len(s.evs)
	}
	if s.stepIdx+1 < len(s.steps) {
		return s.steps[s.stepIdx+1]
	}
	return len(s.evs)
}

// stepRange is the event range [from, to) of the current step.
func (s *sessionScreen) stepRange() (int, int) {
	if !s.stepMode || len(s.steps) == 0 {
		return 0, 0
	}
	return s.steps[s.stepIdx], s.revealed()
}

func (s *sessionScreen) setStepMode(on bool) {
	s.stepMode = on
	s.auto = false
	s.story = false
	s.invalidate() // markers change
	if on {
		// Start the walk-through from the beginning: step mode is for
		// telling the session's story in order.
		s.stepIdx = 0
		s.selectStep()
		return
	}
	s.follow = true
	s.sel = max(0, s.visibleRows()-1)
	s.clampScroll()
}

// nextStep reveals the next step; false when there is none (yet).
func (s *sessionScreen) nextStep() bool {
	if s.stepIdx+1 >= len(s.steps) {
		return false
	}
	s.stepIdx++
	s.invalidate()
	s.selectStep()
	return true
}

func (s *sessionScreen) prevStep() {
	if s.stepIdx == 0 {
		return
	}
	s.stepIdx--
	s.invalidate()
	s.selectStep()
}

// selectStep selects the row that tells the current step best, so the
// detail pane shows its annotation: the first row of the step that is not
// bare TLS records (a command, the boundary, a handshake message), else the
// step's first row, else (the lens hides the whole step) the last row
// before it.
func (s *sessionScreen) selectStep() {
	from, to := s.stepRange()
	n := s.visibleRows()
	i := sort.Search(len(s.rows), func(i int) bool { return s.rows[i].last >= from })
	first := i
	for j := i; j < n && s.rows[j].first < to; j++ {
		if !collapsible(&s.evs[s.rows[j].first]) {
			i = j
			break
		}
	}
	if i >= n {
		i = n - 1
	}
	s.sel = max(0, i)
	s.follow = false
	// The step is the last thing revealed: scroll so that all of it is on
	// screen, from its first row, as far as it fits.
	s.top = max(0, min(first, n-max(1, s.layout().listH)))
	s.clampScroll()
}

func (s *sessionScreen) setLens(l lens) {
	s.lens = l
	s.rebuildRows()
}

// rebuildRows builds the timeline again after the lens or the leg filter
// changed, keeping the same event selected where the new timeline shows
// it, else the nearest one before it.
func (s *sessionScreen) rebuildRows() {
	ev := -1
	if s.sel < len(s.rows) {
		ev = s.rows[s.sel].first
	}
	s.rows = s.rows[:0]
	s.addRows(0)
	s.invalidate()
	switch {
	case s.stepMode:
		s.selectStep()
	case s.follow:
		s.sel = max(0, s.visibleRows()-1)
	default:
		i := sort.Search(len(s.rows), func(i int) bool { return s.rows[i].last >= ev })
		if i < len(s.rows) && s.rows[i].first > ev {
			i--
		}
		s.sel = max(0, min(i, s.visibleRows()-1))
	}
	s.clampScroll()
}

// addRows extends the timeline with the events from index from on, for
// the current lens.
func (s *sessionScreen) addRows(from int) {
	for i := from; i < len(s.evs); i++ {
		ev := &s.evs[i]
		if !s.shows(ev) {
			continue
		}
		if s.lens == lensEndpoint && collapsible(ev) {
			if n := len(s.rows); n > 0 && s.rows[n-1].last == i-1 && collapsible(&s.evs[i-1]) {
				s.rows[n-1].last = i
				continue
			}
		}
		s.rows = append(s.rows, row{first: i, last: i})
	}
}

// shows says whether the current lens has a row for ev.
func (s *sessionScreen) shows(ev *sessions.Event) bool {
	if s.legFilter > 0 && ev.Leg != "" && ev.Leg != s.legs[s.legFilter-1] {
		return false
	}
	if s.lens == lensEndpoint {
		return true
	}
	return sessions.InEavesdropperLens(*ev)
}

// collapsible events are, in the endpoint lens, folded into one row per run:
// TLS records as the wire carries them, which the endpoint sees only as the
// lines and handshake messages decoded from them.
func collapsible(ev *sessions.Event) bool {
	return ev.Kind == sessions.KindRecord || ev.Kind == sessions.KindEncrypted
}

// visibleRows is how many rows the timeline shows: in step mode the rows
// of the events revealed so far.
func (s *sessionScreen) visibleRows() int {
	limit := s.revealed()
	if limit >= len(s.evs) {
		return len(s.rows)
	}
	return sort.Search(len(s.rows), func(i int) bool { return s.rows[i].first >= limit })
}

func (s *sessionScreen) moveSel(d int) {
	n := s.visibleRows()
	if n == 0 {
		return
	}
	s.sel = max(0, min(n-1, s.sel+d))
	s.follow = s.sel == n-1 && !s.stepMode
	s.story = false // the user looks at events now
	s.clampScroll()
}

// clampScroll keeps the selection in range and on screen.
func (s *sessionScreen) clampScroll() {
	n := s.visibleRows()
	s.sel = max(0, min(s.sel, n-1))
	h := max(1, s.layout().listH)
	if s.sel < s.top {
		s.top = s.sel
	}
	if s.sel >= s.top+h {
		s.top = s.sel - h + 1
	}
	s.top = max(0, min(s.top, n-h))
}

// click selects the timeline row under (x, y).
func (s *sessionScreen) click(x, y int) {
	l := s.layout()
	if x >= l.listW || y < l.listY || y >= l.listY+l.listH {
		return
	}
	i := s.top + y - l.listY
	if i < s.visibleRows() {
		s.sel = i
		s.follow = false
		s.story = false
		s.clampScroll()
	}
}

// ShortHelp lists the keys shown in the one-line help bar.
func (s *sessionScreen) ShortHelp() []key.Binding {
	k := s.c.Keys
	if s.panel {
		return []key.Binding{k.Up, k.Down, s.panelHelp(), k.Back}
	}
	if s.stepMode {
		return []key.Binding{k.Next, k.Prev, k.Auto, k.Lens, k.Step, k.Back}
	}
	if s.req.Scenario != "" {
		out := []key.Binding{k.Up, k.Down, k.Story}
		if len(s.legs) > 1 {
			out = append(out, k.Legs)
		}
		if s.panelAvailable() {
			out = append(out, s.panelHelp())
		}
		return append(out, k.Lens, k.Step, k.Scenarios, k.Back)
	}
	return []key.Binding{k.Up, k.Down, k.Lens, k.Step, k.Reveal, k.Rerun, k.Back}
}

// panelHelp is c's help: what the panel of this scenario is.
func (s *sessionScreen) panelHelp() key.Binding {
	b := s.c.Keys.Panel
	switch {
	case s.panel:
		b.SetHelp("c", "events")
	case s.summary() == scenario.SummaryHops:
		b.SetHelp("c", "hop diagram")
	default:
		b.SetHelp("c", "compare table")
	}
	return b
}

// FullHelp lists every key of the screen, in columns.
func (s *sessionScreen) FullHelp() [][]key.Binding {
	k := s.c.Keys
	scen := []key.Binding{k.Scenarios}
	if s.req.Scenario != "" {
		scen = append(scen, k.Story)
	}
	if len(s.legs) > 1 {
		scen = append(scen, k.Legs)
	}
	if s.panelAvailable() {
		scen = append(scen, s.panelHelp())
	}
	return [][]key.Binding{
		{k.Up, k.Down, k.PrevPage, k.NextPage, k.Top, k.Bottom},
		{k.Lens, k.Reveal, k.DetailUp, k.DetailDown, k.Rerun, k.Back},
		{k.Step, k.Next, k.Prev, k.Auto, k.Faster, k.Slower},
		scen,
	}
}
