package tui

import (
	"fmt"
	"sort"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mailwire/mailwire/sessions/wire"
)

// The step controller: it cuts the session into steps, the exchanges a
// teacher talks through one at a time, and in step mode reveals them one by
// one, by key or by auto-play. The timeline shows what it reveals; the
// screen's header shows its position (View).

// Auto-play speeds, slowest last; the default is autoDefault.
var autoSpeeds = []time.Duration{
	250 * time.Millisecond, 500 * time.Millisecond, time.Second,
	1500 * time.Millisecond, 2 * time.Second, 3 * time.Second, 5 * time.Second,
}

const autoDefault = 2 // one second

// autoTickMsg advances auto-play; id is the run's, gen drops ticks of an
// earlier play.
type autoTickMsg struct{ id, gen int }

// stepper is the step controller's model.
type stepper struct {
	c *Common
	d *sessionData // read only: the events and the run

	// starts holds the index of the first event of each step, in order;
	// tlsUp tracks the handshake of each leg for stepStart.
	starts []int
	tlsUp  map[string]bool

	on    bool // step mode
	idx   int  // the current step, in step mode
	auto  bool // auto-play
	gen   int  // of the current auto-play
	speed int  // index into autoSpeeds
	// note says what the last key did where the screen would not show it
	// otherwise (a new speed while nothing plays); the next key clears it.
	note string

	width int
}

func newStepper(c *Common, d *sessionData) *stepper {
	return &stepper{c: c, d: d, speed: autoDefault, tlsUp: map[string]bool{}}
}

// reset forgets the steps of a previous run; step mode stays as it was.
func (p *stepper) reset() {
	p.starts, p.tlsUp = nil, map[string]bool{}
	p.idx, p.auto = 0, false
}

// add finds the steps among the events from index from on.
func (p *stepper) add(from int) {
	for i := from; i < len(p.d.evs); i++ {
		if p.stepStart(i) {
			p.starts = append(p.starts, i)
		}
		if ev := &p.d.evs[i]; ev.Kind == wire.KindTLSState {
			p.tlsUp[ev.Leg] = true
		}
	}
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
func (p *stepper) stepStart(i int) bool {
	if i == 0 {
		return true
	}
	evs := p.d.evs
	ev, prev := evs[i], evs[i-1]
	switch ev.Kind {
	case wire.KindBoundary, wire.KindError, wire.KindClose, wire.KindVerdict:
		return true
	case wire.KindConnect:
		// A scenario's next connection, unless its introduction just
		// started the step.
		return prev.Kind != wire.KindNote || prev.Annotation != annLeg
	case wire.KindNote:
		return ev.Annotation == annLeg
	case wire.KindLine:
		return ev.Dir == wire.ClientToServer
	case wire.KindRecord, wire.KindHandshake, wire.KindEncrypted:
		if p.tlsUp[ev.Leg] || prev.Kind == wire.KindBoundary && prev.Leg == ev.Leg {
			return false
		}
		// The previous TLS event on the wire, on the same connection: a
		// change of direction starts the peer's flight (RFC 8446 §2,
		// figure 1).
		for j := i - 1; j >= 0; j-- {
			q := evs[j]
			if q.Leg != ev.Leg {
				continue
			}
			switch q.Kind {
			case wire.KindRecord, wire.KindHandshake, wire.KindEncrypted:
				return q.Dir != ev.Dir
			case wire.KindBoundary, wire.KindLine:
				return false
			}
		}
	}
	return false
}

// revealed is how many events the timeline shows: all of them, or in step
// mode those up to the end of the current step. The current step keeps
// growing while its events arrive.
func (p *stepper) revealed() int {
	if p.on && p.idx+1 < len(p.starts) {
		return p.starts[p.idx+1]
	}
	return len(p.d.evs)
}

// current is the event range [from, to) of the current step; empty outside
// step mode.
func (p *stepper) current() (from, to int) {
	if !p.on || len(p.starts) == 0 {
		return 0, 0
	}
	return p.starts[p.idx], p.revealed()
}

// stepPos is where the controller stands; the screen compares it before and
// after Update to learn what to reveal and select.
type stepPos struct {
	on  bool
	idx int
}

func (p *stepper) pos() stepPos { return stepPos{p.on, p.idx} }

// setMode turns step mode on (from the first step: it tells the session's
// story in order) or off; either stops auto-play.
func (p *stepper) setMode(on bool) {
	p.on, p.auto = on, false
	if on {
		p.idx = 0
	}
}

// pause stops auto-play.
func (p *stepper) pause() { p.auto = false }

// next reveals the next step; false when there is none (yet).
func (p *stepper) next() bool {
	if p.idx+1 >= len(p.starts) {
		return false
	}
	p.idx++
	return true
}

func (p *stepper) prev() {
	if p.idx > 0 {
		p.idx--
	}
}

// forward is the next key's move: into step mode at the first step, else
// the next step; it stops auto-play.
func (p *stepper) forward() {
	if !p.on {
		p.setMode(true)
		return
	}
	p.auto = false
	p.next()
}

// back is the previous key's: the step before, in step mode; it stops
// auto-play.
func (p *stepper) back() {
	if p.on {
		p.auto = false
		p.prev()
	}
}

// Update handles the step keys and auto-play's ticks. ok says the message
// was the controller's.
func (p *stepper) Update(msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case autoTickMsg:
		if msg.id != p.d.id || msg.gen != p.gen || !p.auto {
			return nil, true
		}
		if !p.next() && !p.d.live() {
			p.auto = false // the end: nothing more will come
			return nil, true
		}
		return p.tick(), true
	case tea.KeyPressMsg:
		return p.key(msg)
	}
	return nil, false
}

func (p *stepper) key(msg tea.KeyPressMsg) (tea.Cmd, bool) {
	k := p.c.Keys
	p.note = ""
	switch {
	case key.Matches(msg, k.Step):
		p.setMode(!p.on)
	case p.on && key.Matches(msg, k.Top):
		// The first and the last step: the header follows (it kept the
		// old step while only the selection moved).
		p.auto = false
		p.idx = 0
	case p.on && key.Matches(msg, k.Bottom):
		p.auto = false
		p.idx = max(0, len(p.starts)-1)
	case key.Matches(msg, k.Next):
		p.forward()
	case key.Matches(msg, k.Prev):
		p.back()
	case key.Matches(msg, k.Auto):
		if p.auto {
			p.auto = false
			return nil, true
		}
		switch {
		case !p.on:
			p.setMode(true)
		case p.atEnd():
			p.idx = 0 // at the last step: play it all again
		}
		p.auto = true
		p.gen++
		return p.tick(), true
	case key.Matches(msg, k.Faster):
		p.speed = max(0, p.speed-1)
		return p.speedChanged(), true
	case key.Matches(msg, k.Slower):
		p.speed = min(len(autoSpeeds)-1, p.speed+1)
		return p.speedChanged(), true
	default:
		return nil, false
	}
	return nil, true
}

// tick schedules the next auto-play step.
func (p *stepper) tick() tea.Cmd {
	id, gen := p.d.id, p.gen
	return tea.Tick(autoSpeeds[p.speed], func(time.Time) tea.Msg { return autoTickMsg{id: id, gen: gen} })
}

// speedChanged applies a new speed at once rather than after the pending
// tick; while nothing plays, the note says what the speed now is.
func (p *stepper) speedChanged() tea.Cmd {
	if !p.auto {
		p.note = "auto-play: one step every " + wire.FormatDuration(autoSpeeds[p.speed]) + " · a plays"
		return nil
	}
	p.gen++
	return p.tick()
}

// atEnd says whether the last step is shown and no other will come.
func (p *stepper) atEnd() bool { return p.idx+1 >= len(p.starts) && !p.d.live() }

// SetSize sets the room the controller has in the header line.
func (p *stepper) SetSize(width, _ int) { p.width = width }

// View is the controller's part of the header: the step and what the next
// key does; "" outside step mode.
func (p *stepper) View() string {
	if !p.on {
		return ""
	}
	st := p.c.Styles
	n := len(p.starts)
	step := fmt.Sprintf(" STEP %d/%d ", min(p.idx+1, n), n)
	hint := " space: next"
	switch {
	case p.auto:
		hint = " auto-play every " + wire.FormatDuration(autoSpeeds[p.speed]) + " (+/-, a: stop)"
	case p.note != "":
		hint = " " + p.note
	case p.atEnd():
		hint = " the end · a: play again · s: leave step mode"
	}
	v := st.Step.Reverse(true).Render(step) + st.Step.Render(hint)
	if p.width > 0 && ansi.StringWidth(v) > p.width {
		v = ansi.Truncate(v, p.width, "…")
	}
	return v
}

// ShortHelp lists the step keys while stepping, in few words so that the
// screen's other keys (p, s to leave) fit the line too, else the key that
// starts.
func (p *stepper) ShortHelp() []key.Binding {
	k := p.c.Keys
	if !p.on {
		return []key.Binding{k.Step}
	}
	next, prev, auto := k.Next, k.Prev, k.Auto
	next.SetHelp("space", "next")
	prev.SetHelp("⌫", "back")
	auto.SetHelp("a", "play")
	if p.auto {
		auto.SetHelp("a", "stop")
	}
	return []key.Binding{next, prev, auto}
}

// FullHelp lists every step key.
func (p *stepper) FullHelp() [][]key.Binding {
	k := p.c.Keys
	return [][]key.Binding{{k.Step, k.Next, k.Prev, k.Auto, k.Faster, k.Slower}}
}

// rows is how many of the timeline's rows (by their first and last
// events) the current step has: the layout makes room for them.
func (p *stepper) rows(rows []row) int {
	from, to := p.current()
	if from == to {
		return 0
	}
	i := sort.Search(len(rows), func(i int) bool { return rows[i].last >= from })
	j := sort.Search(len(rows), func(i int) bool { return rows[i].first >= to })
	return max(0, j-i)
}
