package tui

import (
	"sort"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mailwire/mailwire/sessions/wire"
)

// The timeline: one row per event the lens shows (a flight of TLS records
// folded into one in the endpoint lens), a selection that follows the
// stream until the user moves it, and scrolling.
//
// It is virtualised: rows are index ranges into the events, and only the
// rows on screen are rendered, each once (cache), so a session of 100k
// events costs as much per frame as one of 50
// (BenchmarkSessionScreen100k).

// row is one line of the timeline: one event, or in the endpoint lens a run
// of consecutive TLS records collapsed into one line (first..last).
type row struct {
	first, last int // event indices
}

// timelineModel is the timeline's model. It reads the events and the lens
// from the screen's sessionData, what to reveal from the step controller
// and which legs to show from the leg filter; it changes none of them.
type timelineModel struct {
	c    *Common
	d    *sessionData
	step *stepper
	legs *legFilter

	// rows is the timeline of the current lens and leg filter over every
	// event received; what is shown is the prefix step mode revealed.
	rows   []row
	sel    int  // selected row
	top    int  // first row on screen
	follow bool // keep the last row selected as events arrive

	// split: the two legs of a machine in the middle side by side (the
	// screen decides, from its width).
	split bool

	// cache holds the rendered row (not selected, not in the current
	// step) by row index; cacheLast the last event it covered. gen counts
	// the times the rows or their rendering changed (a search's count
	// follows it).
	cache     []string
	cacheLast []int
	gen       int

	// query is the search in force, whose matches the rows mark (finder.go).
	query string

	// width and height of the whole timeline: the column header, then
	// height-1 rows.
	width, height int
}

func newTimelineModel(c *Common, d *sessionData, step *stepper, legs *legFilter) *timelineModel {
	return &timelineModel{c: c, d: d, step: step, legs: legs, follow: true}
}

// reset empties the timeline for a new run.
func (t *timelineModel) reset() {
	t.rows, t.sel, t.top, t.follow = nil, 0, 0, true
	t.invalidate()
}

// invalidate drops the rendered rows: after a change of lens, passwords,
// legs, steps or theme every row renders differently.
func (t *timelineModel) invalidate() { t.cache, t.cacheLast, t.gen = nil, nil, t.gen+1 }

// setQuery marks the matches of a search ("" none) in the rows.
func (t *timelineModel) setQuery(q string) {
	if q != t.query {
		t.query = q
		t.invalidate()
	}
}

// SetSize sets the timeline's area: width columns, height lines of which
// the first is the column header.
func (t *timelineModel) SetSize(width, height int) {
	if width != t.width {
		t.invalidate()
	}
	t.width, t.height = width, height
	t.clampScroll()
}

// setSplit shows the legs of a machine in the middle side by side, or
// interleaved.
func (t *timelineModel) setSplit(on bool) {
	if on != t.split {
		t.split = on
		t.invalidate()
	}
}

// listH is how many rows fit below the column header.
func (t *timelineModel) listH() int { return max(0, t.height-1) }

// shows says whether ev has a row: the leg filter lets it through and the
// lens shows it.
func (t *timelineModel) shows(ev *wire.Event) bool {
	return t.legs.admits(ev) && lensShows(t.d.lens, ev)
}

// isRecord: a TLS record as the wire carries it.
func isRecord(ev *wire.Event) bool {
	return ev.Kind == wire.KindRecord || ev.Kind == wire.KindEncrypted
}

// addRows extends the timeline with the events from index from on.
func (t *timelineModel) addRows(from int) {
	evs := t.d.evs
	for i := from; i < len(evs); i++ {
		ev := &evs[i]
		if !t.shows(ev) {
			continue
		}
		if n := len(t.rows); n > 0 && t.rows[n-1].last == i-1 && lensFoldsWith(t.d.lens, &evs[i-1], ev) {
			t.rows[n-1].last = i
			continue
		}
		t.rows = append(t.rows, row{first: i, last: i})
	}
}

// rebuild builds the rows again after the lens or the leg filter changed,
// keeping the same event selected where the new timeline shows it, else
// the nearest one before it.
func (t *timelineModel) rebuild() {
	ev := -1
	if t.sel < len(t.rows) {
		ev = t.rows[t.sel].first
	}
	t.rows = t.rows[:0]
	t.addRows(0)
	t.invalidate()
	switch {
	case t.step.on:
		t.selectStep()
	case t.follow:
		t.sel = max(0, t.visible()-1)
	default:
		i := sort.Search(len(t.rows), func(i int) bool { return t.rows[i].last >= ev })
		if i < len(t.rows) && t.rows[i].first > ev {
			i--
		}
		t.sel = max(0, min(i, t.visible()-1))
	}
	t.clampScroll()
}

// visible is how many rows the timeline shows: in step mode the rows of
// the events revealed so far.
func (t *timelineModel) visible() int {
	limit := t.step.revealed()
	if limit >= len(t.d.evs) {
		return len(t.rows)
	}
	return sort.Search(len(t.rows), func(i int) bool { return t.rows[i].first >= limit })
}

// selected returns the selected row, if one is shown.
func (t *timelineModel) selected() (row, bool) {
	if n := t.visible(); n == 0 || t.sel >= n {
		return row{}, false
	}
	return t.rows[t.sel], true
}

// moveSel moves the selection by d rows; false when there is no row.
func (t *timelineModel) moveSel(d int) bool {
	n := t.visible()
	if n == 0 {
		return false
	}
	t.sel = max(0, min(n-1, t.sel+d))
	t.follow = t.sel == n-1 && !t.step.on
	t.clampScroll()
	return true
}

// followEnd keeps the last row selected while following the stream.
func (t *timelineModel) followEnd() {
	if t.follow && !t.step.on {
		t.sel = max(0, t.visible()-1)
	}
	t.clampScroll()
}

// selectEvent selects the row that shows event i and stops following the
// stream there; false when the lens hides the event.
func (t *timelineModel) selectEvent(i int) bool {
	n := t.visible()
	r := sort.Search(n, func(r int) bool { return t.rows[r].last >= i })
	if r >= n || t.rows[r].first > i {
		return false
	}
	t.sel, t.follow = r, false
	t.clampScroll()
	return true
}

// keepSelection keeps the selected row after more rows became visible
// (step mode left): the stream is followed again only from the last row.
func (t *timelineModel) keepSelection() {
	t.clampScroll()
	t.follow = t.sel == t.visible()-1
}

// clampScroll keeps the selection in range and on screen.
func (t *timelineModel) clampScroll() {
	n := t.visible()
	t.sel = max(0, min(t.sel, n-1))
	h := max(1, t.listH())
	if t.sel < t.top {
		t.top = t.sel
	}
	if t.sel >= t.top+h {
		t.top = t.sel - h + 1
	}
	t.top = max(0, min(t.top, n-h))
}

// selectStep selects the row that tells the current step best, so the
// detail pane shows its annotation: the first row of the step that is not
// bare TLS records (a command, the boundary, a handshake message), else the
// step's first row, else (the lens hides the whole step) the last row
// before it.
func (t *timelineModel) selectStep() {
	_, to := t.step.current()
	n := t.visible()
	i := t.stepFirstRow()
	first := i
	for j := i; j < n && t.rows[j].first < to; j++ {
		if !isRecord(&t.d.evs[t.rows[j].first]) {
			i = j
			break
		}
	}
	if i >= n {
		i = n - 1
	}
	t.sel = max(0, i)
	t.follow = false
	t.scrollToStep(first)
}

// scrollToStep scrolls so that all of the current step, whose first row is
// first, is on screen from that row, as far as it fits: the step is the
// last thing revealed. Presenter mode calls it again when its block's
// height changed the timeline's.
func (t *timelineModel) scrollToStep(first int) {
	t.top = max(0, min(first, t.visible()-max(1, t.listH())))
	t.clampScroll()
}

// stepFirstRow is the index of the current step's first row.
func (t *timelineModel) stepFirstRow() int {
	from, _ := t.step.current()
	return sort.Search(len(t.rows), func(i int) bool { return t.rows[i].last >= from })
}

// click selects the row at (x, y), counted from the timeline's top left
// (the column header is line 0).
func (t *timelineModel) click(x, y int) bool {
	if x < 0 || x >= t.width || y < 1 || y > t.listH() {
		return false
	}
	i := t.top + y - 1
	if i >= t.visible() {
		return false
	}
	t.sel = i
	t.follow = false
	t.clampScroll()
	return true
}

// Update moves the selection: keys, a click on a row (coordinates relative
// to the timeline), the wheel. ok says the user moved it (the screen then
// shows the selected event rather than a scenario's story).
func (t *timelineModel) Update(msg tea.Msg) (tea.Cmd, bool) {
	k := t.c.Keys
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, k.Up):
			return nil, t.moveSel(-1)
		case key.Matches(msg, k.Down):
			return nil, t.moveSel(1)
		case key.Matches(msg, k.PrevPage):
			return nil, t.moveSel(-max(1, t.listH()-1))
		case key.Matches(msg, k.NextPage):
			return nil, t.moveSel(max(1, t.listH()-1))
		case key.Matches(msg, k.Top):
			return nil, t.moveSel(-len(t.rows))
		case key.Matches(msg, k.Bottom):
			moved := t.moveSel(len(t.rows))
			t.follow = true
			return nil, moved
		}
	case tea.MouseClickMsg:
		if m := msg.Mouse(); m.Button == tea.MouseLeft {
			return nil, t.click(m.X, m.Y)
		}
	case tea.MouseWheelMsg:
		switch msg.Mouse().Button {
		case tea.MouseWheelUp:
			return nil, t.moveSel(-3)
		case tea.MouseWheelDown:
			return nil, t.moveSel(3)
		}
	}
	return nil, false
}

// View renders the column header and the visible rows only, each exactly
// width cells wide.
func (t *timelineModel) View() string { return strings.Join(t.lines(), "\n") }

func (t *timelineModel) lines() []string {
	st := t.c.Styles
	w, listH := t.width, t.listH()
	lines := make([]string, 0, listH+1)
	lines = append(lines, t.head(w))
	render := t.renderRow
	if t.split {
		render = t.splitRow
	}
	d := t.d
	n := t.visible()
	switch {
	case d.state == stateFailed && len(d.evs) == 0 && d.err != nil:
		lines = append(lines, st.Error.Render(padTo(ansi.Truncate("✗ could not start the session", w, "…"), w)))
		for _, l := range strings.Split(wrapText(wire.SafeString(d.err.Error()), max(w, 1)), "\n") {
			lines = append(lines, st.Text.Render(padTo(l, w)))
		}
	case n == 0 && d.live():
		lines = append(lines, st.Muted.Render(padTo(ansi.Truncate("connecting…", w, ""), w)))
	}
	limit := t.step.revealed()
	stepFrom, stepTo := t.step.current()
	for i := t.top; i < n && i < t.top+listH; i++ {
		r := t.rows[i]
		last := min(r.last, limit-1)
		current := t.step.on && r.last >= stepFrom && r.first < stepTo
		if i == t.sel || current {
			lines = append(lines, render(r.first, last, w, i == t.sel, current))
			continue
		}
		if len(t.cache) != len(t.rows) {
			t.cache = append(t.cache, make([]string, len(t.rows)-len(t.cache))...)
			t.cacheLast = append(t.cacheLast, make([]int, len(t.rows)-len(t.cacheLast))...)
		}
		if t.cache[i] == "" || t.cacheLast[i] != last {
			t.cache[i] = render(r.first, last, w, false, false)
			t.cacheLast[i] = last
		}
		lines = append(lines, t.cache[i])
	}
	blank := strings.Repeat(" ", w)
	for len(lines) < listH+1 {
		lines = append(lines, blank)
	}
	return lines[:listH+1]
}

// ShortHelp lists the keys that move the selection.
func (t *timelineModel) ShortHelp() []key.Binding {
	return []key.Binding{t.c.Keys.Up, t.c.Keys.Down}
}

// FullHelp lists every key of the timeline.
func (t *timelineModel) FullHelp() [][]key.Binding {
	k := t.c.Keys
	return [][]key.Binding{{k.Up, k.Down, k.PrevPage, k.NextPage, k.Top, k.Bottom}}
}
