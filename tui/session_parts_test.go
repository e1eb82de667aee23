package tui

import (
	"fmt"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mailwire/mailwire/sessions/lens"
	"github.com/mailwire/mailwire/sessions/wire"
)

// Model tests of the session screen's parts, each on its own: Update with
// key presses, then its state and its View at a size.

// partsOf builds the session screen's parts over evs, as the screen wires
// them, without the screen.
func partsOf(evs []wire.Event, req SessionRequest) (*Common, *sessionData, *stepper, *legFilter, *timelineModel) {
	c := &Common{Styles: NewStyles(true), Keys: DefaultKeyMap(), catalog: testCatalog()}
	d := &sessionData{req: req, id: 3, state: stateDone, evs: evs}
	step := newStepper(c, d)
	step.add(0)
	legs := newLegFilter(c)
	for i := range evs {
		legs.add(evs[i].Leg)
	}
	tl := newTimelineModel(c, d, step, legs)
	tl.addRows(0)
	return c, d, step, legs, tl
}

// assertBox fails unless view is h lines, each exactly w cells wide.
func assertBox(t *testing.T, what, view string, w, h int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	if len(lines) != h {
		t.Errorf("%s: %d lines, want %d:\n%s", what, len(lines), h, ansi.Strip(view))
	}
	for i, l := range lines {
		if got := ansi.StringWidth(l); got != w {
			t.Errorf("%s: line %d is %d cells, want %d: %q", what, i, got, w, ansi.Strip(l))
		}
	}
}

func TestStepperModel(t *testing.T) {
	_, d, p, _, _ := partsOf(fixture587(), SessionRequest{})
	if len(p.starts) != 10 || p.revealed() != len(d.evs) {
		t.Fatalf("%d steps, %d revealed; want 10 and all %d", len(p.starts), p.revealed(), len(d.evs))
	}
	if _, ok := p.Update(keyText('x')); ok {
		t.Error("x was taken by the step controller")
	}
	if _, ok := p.Update(keyText('s')); !ok || !p.on || p.idx != 0 || p.revealed() != 2 {
		t.Fatalf("s: ok %v, on %v, step %d, %d revealed", ok, p.on, p.idx, p.revealed())
	}
	if from, to := p.current(); from != 0 || to != 2 {
		t.Errorf("current step [%d, %d), want [0, 2)", from, to)
	}
	p.Update(keyCode(tea.KeySpace))
	p.Update(keyCode(tea.KeyRight))
	p.Update(keyCode(tea.KeyBackspace))
	if p.idx != 1 {
		t.Errorf("space, →, ⌫: step %d, want 1", p.idx)
	}
	cmd, _ := p.Update(keyText('a'))
	if !p.auto || cmd == nil {
		t.Fatal("a did not start auto-play")
	}
	p.Update(autoTickMsg{id: d.id, gen: p.gen - 1}) // an earlier play
	p.Update(autoTickMsg{id: d.id + 1, gen: p.gen}) // another run
	if p.idx != 1 {
		t.Errorf("stale ticks moved to step %d", p.idx)
	}
	p.Update(autoTickMsg{id: d.id, gen: p.gen})
	if p.idx != 2 {
		t.Errorf("tick: step %d, want 2", p.idx)
	}
	p.SetSize(80, 1)
	if v := ansi.Strip(p.View()); v != " STEP 3/10  auto-play every 1.0 s (+/-, a: stop)" {
		t.Errorf("view %q", v)
	}
	p.SetSize(12, 1)
	if w := ansi.StringWidth(p.View()); w > 12 {
		t.Errorf("view %d cells wide in 12", w)
	}
	for range 20 {
		p.Update(autoTickMsg{id: d.id, gen: p.gen})
	}
	p.SetSize(80, 1)
	if p.auto || p.idx != 9 || !strings.Contains(p.View(), "the end") {
		t.Errorf("auto-play at the end: auto %v, step %d, view %q", p.auto, p.idx, ansi.Strip(p.View()))
	}
	p.Update(keyText('s'))
	if p.on || p.View() != "" || p.revealed() != len(d.evs) {
		t.Errorf("s again: on %v, view %q, %d revealed", p.on, p.View(), p.revealed())
	}
}

func TestLegFilterModel(t *testing.T) {
	c, _, _, f, _ := partsOf(fixtureMITM(), mitmRequest())
	if !f.several() || !f.mitm() || f.colW() != len("client↔attacker")-2 { // ↔ is 3 bytes, 1 cell
		t.Fatalf("legs %q: several %v, mitm %v, column %d", f.list, f.several(), f.mitm(), f.colW())
	}
	f.SetSize(80, 1)
	if v := ansi.Strip(f.View()); v != "legs: all 2 connections · f: one" {
		t.Errorf("view %q", v)
	}
	ca := wire.Event{Leg: wire.LegClientAttacker}
	as := wire.Event{Leg: wire.LegAttackerServer}
	own := wire.Event{}
	for i, want := range []struct {
		view       string
		ca, as, ok bool
	}{
		{"leg: client↔attacker only · f: next", true, false, true},
		{"leg: attacker↔server only · f: next", false, true, true},
		{"legs: all 2 connections · f: one", true, true, true},
	} {
		if _, ok := f.Update(keyText('f')); !ok {
			t.Fatalf("f %d: not taken", i+1)
		}
		if v := ansi.Strip(f.View()); v != want.view || f.admits(&ca) != want.ca || f.admits(&as) != want.as || !f.admits(&own) {
			t.Errorf("f %d: view %q, admits client↔attacker %v, attacker↔server %v, own %v", i+1, v, f.admits(&ca), f.admits(&as), f.admits(&own))
		}
	}
	f.SetSize(10, 1)
	if w := ansi.StringWidth(f.View()); w > 10 {
		t.Errorf("view %d cells wide in 10", w)
	}
	one := newLegFilter(c)
	one.add("")
	one.add("587")
	if _, ok := one.Update(keyText('f')); ok || one.View() != "" || one.colW() != 0 || len(one.ShortHelp()) != 0 {
		t.Error("a stream of one leg has a filter")
	}
}

func TestTimelineModel(t *testing.T) {
	_, d, step, _, tl := partsOf(fixture587(), SessionRequest{})
	tl.SetSize(80, 8) // header and 7 rows
	tl.followEnd()    // a new timeline follows the stream
	n := len(tl.rows)
	if tl.sel != n-1 || tl.top != n-7 || !tl.follow {
		t.Fatalf("at the end: selected %d, top %d, follow %v; want %d, %d, true", tl.sel, tl.top, tl.follow, n-1, n-7)
	}
	for _, c := range []struct {
		msg       tea.Msg
		sel, top  int
		follow    bool
		wantTaken bool
	}{
		{keyCode(tea.KeyHome), 0, 0, false, true},
		{keyText('j'), 1, 0, false, true},
		{keyCode(tea.KeyPgDown), 7, 1, false, true},
		{keyText('k'), 6, 1, false, true},
		{tea.MouseWheelMsg{Button: tea.MouseWheelUp}, 3, 1, false, true},
		{tea.MouseClickMsg{Button: tea.MouseLeft, X: 5, Y: 1}, 1, 1, false, true},   // the first row on screen
		{tea.MouseClickMsg{Button: tea.MouseLeft, X: 5, Y: 0}, 1, 1, false, false},  // the column header
		{tea.MouseClickMsg{Button: tea.MouseLeft, X: 85, Y: 3}, 1, 1, false, false}, // beside it
		{keyCode(tea.KeyEnd), n - 1, n - 7, true, true},
		{keyText('x'), n - 1, n - 7, true, false},
	} {
		if _, ok := tl.Update(c.msg); ok != c.wantTaken {
			t.Errorf("%v: taken %v", c.msg, ok)
		}
		if tl.sel != c.sel || tl.top != c.top || tl.follow != c.follow {
			t.Fatalf("%v: selected %d, top %d, follow %v; want %d, %d, %v", c.msg, tl.sel, tl.top, tl.follow, c.sel, c.top, c.follow)
		}
	}
	v := tl.View()
	assertBox(t, "timeline", v, 80, 8)
	lines := strings.Split(ansi.Strip(v), "\n")
	if !strings.Contains(lines[0], "who reads") || !strings.HasPrefix(lines[7], "» ") {
		t.Errorf("header or selection mark missing:\n%s", ansi.Strip(v))
	}

	// Another lens keeps the selected event where it has a row.
	tl.Update(keyCode(tea.KeyHome))
	for range 8 {
		tl.Update(keyText('j'))
	}
	ev := tl.rows[tl.sel].first
	if d.evs[ev].Kind != wire.KindHandshake {
		t.Fatalf("row 8 is %v", d.evs[ev].Kind)
	}
	d.lens = lens.Eavesdropper
	tl.rebuild()
	if tl.rows[tl.sel].first != ev {
		t.Errorf("the eavesdropper lens moved the selection to %q", d.evs[tl.rows[tl.sel].first].Text)
	}

	// Step mode: only the revealed rows, the step's marked.
	d.lens = lens.Endpoint
	tl.rebuild()
	step.setMode(true)
	step.next()
	tl.selectStep()
	if got := tl.visible(); got != 4 || tl.sel != 2 {
		t.Errorf("step 2 (EHLO and its reply) reveals %d rows, selects %d; want 4, 2", got, tl.sel)
	}
	if _, ok := tl.Update(keyCode(tea.KeyEnd)); !ok || tl.sel != 3 {
		t.Errorf("end in step mode: selected %d, want the last revealed, 3", tl.sel)
	}
	if v := ansi.Strip(tl.View()); strings.Count(v, "▶") != 2 {
		t.Errorf("step 2's two rows are not marked:\n%s", v)
	}
}

func TestDetailPaneModel(t *testing.T) {
	c := &Common{Styles: NewStyles(true), Keys: DefaultKeyMap()}
	p := newDetailPane(c)
	p.SetSize(40, 10) // 7 lines of text inside
	text := func(n int) func(int) string {
		return func(w int) string {
			var lines []string
			for i := range n {
				lines = append(lines, fmt.Sprintf("line %d %s", i, strings.Repeat("x", w)))
			}
			return strings.Join(lines, "\n")
		}
	}
	renders := 0
	counted := func(r func(int) string) func(int) string {
		return func(w int) string { renders++; return r(w) }
	}
	p.hint = "s step"
	p.show(detailSubject{kind: detailEvent, first: 4, last: 4}, counted(text(30)))
	v := p.View()
	assertBox(t, "pane", v, 40, 10)
	if !strings.Contains(v, "  0% · J/K scroll · s step") || !strings.Contains(ansi.Strip(v), "line 0 xxxx") || !strings.Contains(v, "…") {
		t.Errorf("pane:\n%s", ansi.Strip(v))
	}
	for _, c := range []struct {
		msg  tea.Msg
		off  int
		took bool
	}{
		{keyText('J'), 3, true},
		{tea.MouseWheelMsg{Button: tea.MouseWheelDown}, 6, true},
		{keyText('K'), 3, true},
		{keyCode(tea.KeyDown), 3, false}, // the timeline's
	} {
		if _, ok := p.Update(c.msg); ok != c.took || p.vp.YOffset() != c.off {
			t.Errorf("%v: taken %v, offset %d; want %v, %d", c.msg, ok, p.vp.YOffset(), c.took, c.off)
		}
	}
	for range 20 {
		p.Update(keyText('J'))
	}
	if p.vp.YOffset() != 30-7 || !strings.Contains(p.View(), "100% · J/K scroll") {
		t.Errorf("J to the end: offset %d:\n%s", p.vp.YOffset(), ansi.Strip(p.View()))
	}
	// The same subject keeps its place and is not rendered again; a new
	// one, or new text for the same, starts at the top.
	p.show(detailSubject{kind: detailEvent, first: 4, last: 4}, counted(text(30)))
	if renders != 1 || p.vp.YOffset() == 0 {
		t.Errorf("same subject: %d renders, offset %d", renders, p.vp.YOffset())
	}
	p.invalidate()
	p.show(detailSubject{kind: detailEvent, first: 4, last: 4}, counted(text(30)))
	if renders != 2 || p.vp.YOffset() != 0 {
		t.Errorf("stale: %d renders, offset %d", renders, p.vp.YOffset())
	}
	p.Update(keyText('J'))
	p.show(detailSubject{kind: detailStory}, counted(text(3)))
	if renders != 3 || p.vp.YOffset() != 0 || strings.Contains(p.View(), "J/K scroll") {
		t.Errorf("short story: %d renders, offset %d:\n%s", renders, p.vp.YOffset(), ansi.Strip(p.View()))
	}
	assertBox(t, "short pane", p.View(), 40, 10)
	// A narrower pane wraps the text anew.
	p.SetSize(30, 10)
	p.show(detailSubject{kind: detailStory}, counted(text(3)))
	if renders != 4 {
		t.Errorf("new width: %d renders", renders)
	}
	assertBox(t, "narrow pane", p.View(), 30, 10)
}

func TestScenarioPanelModel(t *testing.T) {
	evs := fixtureCompare()
	c, d, step, legs, _ := partsOf(evs, SessionRequest{Scenario: "compare"})
	p := newScenarioPanel(c, d, step, legs)
	if _, ok := p.Update(keyCode(tea.KeyDown)); ok {
		t.Error("a closed panel took ↓")
	}
	if !p.available() || p.name() != "comparison table" || p.helpBinding().Help().Desc != "compare table" {
		t.Fatalf("available %v, name %q", p.available(), p.name())
	}
	p.toggle()
	p.SetSize(100, 12)
	p.sync()
	v := p.View()
	assertBox(t, "panel", v, 100, 12)
	if !strings.Contains(v, "Comparison, per connection") || !strings.Contains(v, "% · ↑/↓ pgup/pgdn scroll · c or esc") {
		t.Errorf("panel:\n%s", ansi.Strip(v))
	}
	for _, c := range []struct {
		msg tea.Msg
		off int
	}{
		{keyCode(tea.KeyDown), 1},
		{keyCode(tea.KeyPgDown), 11},
		{keyCode(tea.KeyUp), 10},
		{tea.MouseWheelMsg{Button: tea.MouseWheelUp}, 7},
		{keyCode(tea.KeyHome), 0},
	} {
		if _, ok := p.Update(c.msg); !ok || p.vp.YOffset() != c.off {
			t.Errorf("%v: taken %v, offset %d, want %d", c.msg, ok, p.vp.YOffset(), c.off)
		}
	}
	if _, ok := p.Update(keyText('s')); ok {
		t.Error("the panel took s, which means step mode over it too")
	}
	p.Update(keyCode(tea.KeyEnd))
	total := p.vp.TotalLineCount()
	if p.vp.YOffset() != total-11 || !strings.Contains(p.View(), "100%") {
		t.Errorf("end: offset %d of %d", p.vp.YOffset(), total)
	}
	// Fewer events revealed: built again, kept within the new text.
	step.setMode(true)
	p.sync()
	if p.vp.TotalLineCount() >= total || !strings.Contains(ansi.Strip(p.View()), "c or esc") {
		t.Errorf("step 1: %d lines of %d", p.vp.TotalLineCount(), total)
	}
	if _, ok := p.Update(keyCode(tea.KeyEscape)); !ok || p.open {
		t.Error("esc did not close the panel")
	}
}

// TestVisibility pins the lens decisions the engine's lens will take over.
func TestVisibility(t *testing.T) {
	evs := fixture587()
	find := func(pred func(*wire.Event) bool) *wire.Event {
		for i := range evs {
			if pred(&evs[i]) {
				return &evs[i]
			}
		}
		t.Fatal("no such event in the fixture")
		return nil
	}
	clearLine := find(func(e *wire.Event) bool { return e.Kind == wire.KindLine && e.Layer == wire.LayerCleartext })
	tlsLine := find(func(e *wire.Event) bool { return e.Kind == wire.KindLine && e.Layer == wire.LayerDecrypted })
	record := find(func(e *wire.Event) bool { return e.Kind == wire.KindRecord })
	hello := find(func(e *wire.Event) bool { return e.Kind == wire.KindHandshake })

	if !lensShows(lens.Endpoint, tlsLine) || lensShows(lens.Eavesdropper, tlsLine) || !lensShows(lens.Eavesdropper, clearLine) {
		t.Error("rows: a decrypted line is the endpoints' only")
	}
	if !lensFolds(lens.Endpoint, record) || lensFolds(lens.Eavesdropper, record) || lensFolds(lens.Endpoint, hello) {
		t.Error("folding: records fold in the endpoint lens only")
	}
	for _, c := range []struct {
		l    lens.Lens
		ev   *wire.Event
		form bytesForm
		none bool
	}{
		{lens.Endpoint, clearLine, bytesWritten, false},
		{lens.Endpoint, tlsLine, bytesWritten, false},
		{lens.Eavesdropper, tlsLine, bytesWire, true},
		{lens.Eavesdropper, clearLine, bytesWire, false},
		{lens.Endpoint, hello, bytesDecoded, false},
		{lens.Eavesdropper, hello, bytesWire, false},
		{lens.Eavesdropper, record, bytesWire, false},
	} {
		raw, form := lensBytes(c.l, c.ev)
		if form != c.form || (len(raw) == 0) != c.none {
			t.Errorf("lens %d, %s %q: %d bytes as %d; want form %d, none %v", c.l, c.ev.Kind, c.ev.Text, len(raw), form, c.form, c.none)
		}
	}
	if ex := lensExplains(lens.Eavesdropper, *tlsLine); ex.own != "" || ex.wire == "" {
		t.Errorf("an observer reads the annotation of a line it cannot see: %+v", ex)
	}
	if text, titled := lensRowText(lens.Eavesdropper, *hello); titled || !strings.Contains(text, "SNI mail.lab.test") {
		t.Errorf("eavesdropper row of the ClientHello: %q, titled %v", text, titled)
	}

	// What an observer learned: before STARTTLS, then at the end.
	boundary := 0
	for i := range evs {
		if evs[i].Kind == wire.KindBoundary {
			boundary = i
			break
		}
	}
	// observe takes a Seq and includes that event: up to the last one
	// before the boundary.
	early := observe(evs, evs[boundary].Seq-1, "")
	if early.TLSBegun() || early.ClearLines == 0 || early.EncryptedRecords != 0 || len(early.SNI) != 0 {
		t.Errorf("before the boundary: %+v", early)
	}
	all := observe(evs, evs[len(evs)-1].Seq, "")
	if !all.TLSBegun() || all.EncryptedRecords == 0 || all.Encrypted.Total() == 0 || strings.Join(all.SNI, ",") != "mail.lab.test" || len(all.Credentials) > 0 {
		t.Errorf("at the end: %+v", all)
	}
	if other := observe(evs, evs[len(evs)-1].Seq, "another leg"); other.ClearLines != 0 || other.TLSBegun() {
		t.Errorf("another leg's observer: %+v", other)
	}
}

// TestTimelineFoldsOneLeg: in the endpoint lens a run of TLS records folds
// into one row only within one connection; with a machine in the middle
// the two legs' records interleave, and the attacker's records to the
// server showed up in the client's folded row (issue 10).
func TestTimelineFoldsOneLeg(t *testing.T) {
	var b builder
	for i := range 6 {
		b.leg = wire.LegClientAttacker
		if i%2 == 1 {
			b.leg = wire.LegAttackerServer
		}
		b.encrypted(wire.ServerToClient, 20+i)
	}
	m := newSessionModel(t, 160, 48, &fakeSessions{evs: b.evs})
	s := session(m)
	if len(s.tl.rows) != 6 {
		t.Fatalf("%d rows for 6 records that alternate between legs, want 6 (no fold across legs)", len(s.tl.rows))
	}
	for _, r := range s.tl.rows {
		for i := r.first; i <= r.last; i++ {
			if s.evs[i].Leg != s.evs[r.first].Leg {
				t.Fatalf("row %d..%d mixes legs %q and %q", r.first, r.last, s.evs[r.first].Leg, s.evs[i].Leg)
			}
		}
	}
}
