package tui

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions/scenario"
	"github.com/mailwire/mailwire/sessions/wire"
)

// Tests of issue 12's screen defects: each would fail on the code before
// its fix.

// helpLines is the help bar: the lines of the view below the screen's.
func helpLines(m *Model) []string {
	lines := strings.Split(plain(m), "\n")
	n := strings.Count(m.helpView(), "\n") + 1
	return lines[len(lines)-n:]
}

// helpScreens are the screens (and their states) whose help bar must fit.
func helpScreens(t *testing.T, w, h int) map[string]*Model {
	t.Helper()
	out := map[string]*Model{}
	out["ports"] = newPickerTestModel(t, w, h, &fakeSessions{})
	out["session"] = newSessionModel(t, w, h, &fakeSessions{evs: fixture587()})
	step := newSessionModel(t, w, h, &fakeSessions{evs: fixture587()})
	mustUpdate(t, step, keyText('s'))
	out["step"] = step
	out["scenario"] = newScenarioModel(t, w, h, &fakeSessions{evs: fixtureMITM()}, mitmRequest())
	pk := newPickerTestModel(t, w, h, &fakeSessions{})
	mustUpdate(t, pk, keyText('S'))
	out["picker"] = pk
	return out
}

// TestHelpFits: at 80×24 the one-line help ends with "? help" and "q
// quit" on every screen (the screen's last keys make room), and the full
// help lists every key of the screen within the width.
func TestHelpFits(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		for name, m := range helpScreens(t, size[0], size[1]) {
			bar := helpLines(m)
			if len(bar) != 1 {
				t.Fatalf("%s %v: short help is %d lines", name, size, len(bar))
			}
			if !strings.HasSuffix(strings.TrimRight(bar[0], " "), "? help • q quit") || ansi.StringWidth(bar[0]) > size[0] {
				t.Errorf("%s %v: help bar %q does not end with ? help and q quit within the width", name, size, bar[0])
			}
			// The first key the screen names always shows.
			s := m.screens[m.active]
			if first := s.ShortHelp()[0].Help(); !strings.Contains(bar[0], first.Key+" "+first.Desc) {
				t.Errorf("%s %v: help bar %q lacks the screen's first key %q", name, size, bar[0], first.Key)
			}

			mustUpdate(t, m, keyText('?'))
			full := strings.Join(helpLines(m), "\n")
			for _, col := range append(s.FullHelp(), []key.Binding{m.common.Keys.Help, m.common.Keys.Quit}) {
				for _, b := range col {
					if !strings.Contains(full, b.Help().Desc) {
						t.Errorf("%s %v: full help lacks %q:\n%s", name, size, b.Help().Desc, full)
					}
				}
			}
			for _, l := range strings.Split(plain(m), "\n") {
				if ansi.StringWidth(l) > size[0] {
					t.Errorf("%s %v: line wider than the screen: %q", name, size, l)
				}
			}
			if got := strings.Count(plain(m), "\n") + 1; got > size[1] {
				t.Errorf("%s %v: %d lines with the full help", name, size, got)
			}
			mustUpdate(t, m, keyText('?'))
		}
	}
}

// TestPortTableColumnMemory: turning back starts from the column the
// selection is in (j → k j returns to 587, it landed on 465), while going
// on in one direction through a row without the column keeps it. The
// column key is the arrow: l opens the lesson.
func TestPortTableColumnMemory(t *testing.T) {
	m := newTestModel(t, 80, 24, nil, nil)
	p := ports(m)
	update(t, m, keyText('j'))
	update(t, m, keyCode(tea.KeyRight))
	if got := p.Selected(); got != 465 {
		t.Fatalf("after j →: port %d, want 465", got)
	}
	update(t, m, keyText('k'))
	update(t, m, keyText('j'))
	if got := p.Selected(); got != 587 {
		t.Errorf("after j → k j: port %d, want 587", got)
	}
	// From 443 (implicit only) up the implicit column to 465, then on
	// through SMTP's row (explicit only) and back down: 587.
	for range 5 {
		update(t, m, keyText('j'))
	}
	var got []int
	for range 4 {
		update(t, m, keyText('k'))
		got = append(got, p.Selected())
	}
	if want := []int{993, 995, 465, 25}; !slices.Equal(got, want) {
		t.Errorf("up from 443: %v, want %v", got, want)
	}
	update(t, m, keyText('j'))
	if p.Selected() != 587 {
		t.Errorf("back down from 25: %d, want 587", p.Selected())
	}

	// A middle row without the column: going on keeps the column.
	p.rows = []content.PortRow{{Protocol: "A", Explicit: 1, Implicit: 2}, {Protocol: "B", Explicit: 3}, {Protocol: "C", Explicit: 5, Implicit: 6}}
	p.row, p.col, p.wantCol, p.vertDir = 0, colImplicit, colImplicit, 0
	update(t, m, keyText('j'))
	update(t, m, keyText('j'))
	if p.Selected() != 6 {
		t.Errorf("down through a row without the implicit column: %d, want 6", p.Selected())
	}
}

// TestPortTableCAHint: the narrow lab line sends the user to the key that
// shows the CA path (e), not to enter, which runs a session.
func TestPortTableCAHint(t *testing.T) {
	info := fakeLabInfo()
	m := newTestModel(t, 80, 24, &info, nil)
	v := plain(m)
	if strings.Contains(v, "CA path: enter") || !strings.Contains(v, "CA path: e") {
		t.Errorf("lab line at 80×24:\n%s", v)
	}
	update(t, m, keyText('e'))
	if !strings.Contains(flatten(plain(m)), info.CAPath) {
		t.Errorf("e does not show the CA path:\n%s", plain(m))
	}
}

// TestTooSmall: below 80×24 the root says the terminal is too small
// instead of drawing clipped screens (the table was cut at 60×20); keys
// still work, and the screens come back at 80×24.
func TestTooSmall(t *testing.T) {
	for _, size := range [][2]int{{60, 20}, {79, 24}, {80, 23}, {20, 5}, {1, 1}} {
		m := newTestModel(t, size[0], size[1], nil, nil)
		v := plain(m)
		if size[0] >= 40 && !strings.Contains(v, "terminal too small (need 80×24)") {
			t.Errorf("%v: no too-small message:\n%s", size, v)
		}
		if strings.Contains(v, "Protocol") {
			t.Errorf("%v: the clipped table is drawn:\n%s", size, v)
		}
		lines := strings.Split(v, "\n")
		if len(lines) > size[1] {
			t.Errorf("%v: %d lines", size, len(lines))
		}
		for _, l := range lines {
			if ansi.StringWidth(l) > size[0] {
				t.Errorf("%v: line %q wider than the terminal", size, l)
			}
		}
	}
	m := newTestModel(t, 60, 20, nil, nil)
	update(t, m, keyText('j'))
	if got := ports(m).Selected(); got != 587 {
		t.Errorf("j while too small: port %d, want 587", got)
	}
	update(t, m, tea.WindowSizeMsg{Width: 80, Height: 24})
	if v := plain(m); strings.Contains(v, "too small") || !strings.Contains(v, "Protocol") {
		t.Errorf("at 80×24 the port table is back:\n%s", v)
	}
	update(t, m, tea.WindowSizeMsg{Width: 60, Height: 20})
	cmd := update(t, m, keyText('q'))
	if cmd == nil {
		t.Fatal("q while too small: no command")
	}
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Error("q while too small does not quit")
	}
}

// TestCredentialRowKeepsTheSecret: a row whose credential crossed the
// wire shows the (masked) credential whole, then the warning; it read
// "AUTH PL…  ⚠ password readable…" with a leg column.
func TestCredentialRowKeepsTheSecret(t *testing.T) {
	for _, w := range []int{80, 100, 120, 160, 200} {
		for _, lens := range []string{"endpoint", "eavesdropper"} {
			m := newScenarioModel(t, w, 40, &fakeSessions{evs: fixtureMITM()}, mitmRequest())
			if lens == "eavesdropper" {
				mustUpdate(t, m, keyCode(tea.KeyTab))
			}
			mustUpdate(t, m, keyText('g')) // the selection off the rows
			rows := 0
			for _, l := range strings.Split(timeline(m), "\n") {
				if !strings.Contains(l, "AUTH PL") {
					continue
				}
				rows++
				i := strings.Index(l, "AUTH PLAIN ••••••••")
				if i < 0 || !strings.Contains(l[i:], "⚠") {
					t.Errorf("%d %s: row %q lacks the masked credential and then ⚠", w, lens, l)
				}
			}
			if rows == 0 {
				t.Errorf("%d %s: no AUTH row:\n%s", w, lens, timeline(m))
			}
		}
	}
	// fitWarning in every room: the credential whole as long as it fits.
	text := "AUTH PLAIN •••••••• (+1 lines)"
	for room := 20; room <= 80; room++ {
		got, extra := fitWarning(text, credOnWire, room)
		if w := ansi.StringWidth(got + extra); w > room {
			t.Errorf("room %d: %q%q is %d wide", room, got, extra, w)
		}
		if !strings.HasPrefix(got, "AUTH PLAIN ••••••••") {
			t.Errorf("room %d: credential cut: %q", room, got)
		}
		if room >= 22 && !strings.Contains(extra, "⚠") {
			t.Errorf("room %d: no warning beside %q", room, got)
		}
	}
}

// fixtureLongStep is a cleartext session whose third step (a command and
// its nine reply lines, each an event) has ten rows.
func fixtureLongStep() []wire.Event {
	var b builder
	c2s, s2c := wire.ClientToServer, wire.ServerToClient
	b.connect("127.0.0.1:10025")
	b.line(s2c, false, "220 mail.lab.test ESMTP\r\n", "smtp.reply.220", wire.Line{Code: "220"})
	b.line(c2s, false, "HELP\r\n", "smtp.cmd.help", wire.Line{Command: "HELP"})
	for i := range 9 {
		b.line(s2c, false, fmt.Sprintf("214-help line %d\r\n", i+1), "smtp.reply.214", wire.Line{Code: "214"})
	}
	b.line(c2s, false, "QUIT\r\n", "smtp.cmd.quit", wire.Line{Command: "QUIT"})
	b.line(s2c, false, "221 Bye\r\n", "smtp.reply.221", wire.Line{Code: "221"})
	b.close("client closed the connection")
	return b.evs
}

// TestStepModeDefects: a at the last step plays again from the first; g
// and G go to the first and last step and the header follows; leaving
// step mode keeps the selection; - and + say the new speed while nothing
// plays; the step help has p; a step of ten rows fits at 80×24.
func TestStepModeDefects(t *testing.T) {
	m := newSessionModel(t, 80, 24, &fakeSessions{evs: fixture587()})
	s := session(m)
	n := len(s.step.starts)
	mustUpdate(t, m, keyText('s'))
	mustUpdate(t, m, keyText('G'))
	if s.step.idx != n-1 || !strings.Contains(plain(m), fmt.Sprintf("STEP %d/%d", n, n)) {
		t.Fatalf("G: step %d, header:\n%s", s.step.idx, plain(m))
	}
	if !strings.Contains(plain(m), "a: play again") {
		t.Errorf("the last step does not say what a does:\n%s", plain(m))
	}
	if cmd := mustUpdate(t, m, keyText('a')); cmd == nil || !s.step.auto || s.step.idx != 0 {
		t.Errorf("a at the last step: auto %v, step %d; want playing from step 1", s.step.auto, s.step.idx)
	}
	mustUpdate(t, m, autoTickMsg{id: s.id, gen: s.step.gen})
	if s.step.idx != 1 {
		t.Errorf("a tick after a at the end: step %d, want 2", s.step.idx+1)
	}
	mustUpdate(t, m, keyText('a')) // stop
	mustUpdate(t, m, keyText('g'))
	if s.step.idx != 0 || !strings.Contains(plain(m), fmt.Sprintf("STEP 1/%d", n)) {
		t.Errorf("g: step %d, header:\n%s", s.step.idx+1, plain(m))
	}

	// The speed, said while nothing plays.
	mustUpdate(t, m, keyText('-'))
	if !strings.Contains(plain(m), "auto-play: one step every 1.5 s") {
		t.Errorf("- while nothing plays says nothing:\n%s", plain(m))
	}
	mustUpdate(t, m, keyText(' ')) // the note goes with the next key
	if strings.Contains(plain(m), "one step every") {
		t.Errorf("the speed note stays:\n%s", plain(m))
	}

	// The step help has p.
	var keys []string
	for _, b := range s.ShortHelp() {
		keys = append(keys, b.Help().Key)
	}
	if !slices.Contains(keys, "p") {
		t.Errorf("step help %v lacks p", keys)
	}

	// Leaving step mode keeps the selected event.
	for range 2 {
		mustUpdate(t, m, keyText(' '))
	}
	selectText(t, m, "STARTTLS")
	before := s.tl.rows[s.tl.sel].first
	mustUpdate(t, m, keyText('s'))
	if s.step.on || s.tl.rows[s.tl.sel].first != before || s.tl.follow {
		t.Errorf("leaving step mode: selected event %d (follow %v), want %d", s.tl.rows[s.tl.sel].first, s.tl.follow, before)
	}
	// Outside step mode the speed note takes the lens line.
	mustUpdate(t, m, keyText('+'))
	if !strings.Contains(plain(m), "auto-play: one step every 1.0 s") {
		t.Errorf("+ outside step mode says nothing:\n%s", plain(m))
	}

	// A step of ten rows fits at 80×24.
	m = newSessionModel(t, 80, 24, &fakeSessions{evs: fixtureLongStep()})
	s = session(m)
	mustUpdate(t, m, keyText('s'))
	mustUpdate(t, m, keyText(' '))
	if got := s.step.rows(s.tl.rows); got != 10 {
		t.Fatalf("the long step has %d rows, want 10", got)
	}
	tl := timeline(m)
	for i := range 9 {
		if !strings.Contains(tl, fmt.Sprintf("214-help line %d", i+1)) {
			t.Errorf("help line %d of the step is off screen:\n%s", i+1, tl)
		}
	}
	if !strings.Contains(tl, "HELP") {
		t.Errorf("the step's command is off screen:\n%s", tl)
	}
}

// TestRunningSessionShowsProgress: while a session runs the header has a
// turning spinner and the time since it started (it looked frozen); once
// done, how long it took; "1 event", not "1 events".
func TestRunningSessionShowsProgress(t *testing.T) {
	evs := fixture587()
	f := &fakeSessions{evs: evs[:1], hold: true}
	m := newSessionModel(t, 80, 24, f)
	s := session(m)
	now := s.started.Add(3200 * time.Millisecond)
	s.now = func() time.Time { return now }
	mustUpdate(t, m, nil) // render again with the clock
	head := strings.Split(plain(m), "\n")[0]
	if !strings.Contains(head, "⠋ running 3.2 s") || !strings.Contains(head, "· 1 event") || strings.Contains(head, "1 events") {
		t.Errorf("running header %q", head)
	}
	cmd := mustUpdate(t, m, s.spin.Tick())
	if cmd == nil {
		t.Fatal("the spinner stopped while the session runs")
	}
	if head2 := strings.Split(plain(m), "\n")[0]; head2 == head {
		t.Errorf("a tick did not turn the spinner: %q", head2)
	}
	mustUpdate(t, m, sessionEventsMsg{id: s.id, evs: evs[1:], done: true})
	head = strings.Split(plain(m), "\n")[0]
	if want := "done in " + wire.FormatDuration(evs[len(evs)-1].At); !strings.Contains(head, want) || strings.Contains(head, "⠋") {
		t.Errorf("done header %q, want %q", head, want)
	}
	if cmd := mustUpdate(t, m, s.spin.Tick()); cmd != nil {
		t.Error("the spinner goes on after the session ended")
	}
}

// realPicker is the picker of the real catalog (scenario registry and
// content), opened on port with the lab up.
func realPicker(t *testing.T, w, h, port int) (*Model, *pickerScreen) {
	t.Helper()
	m := newPickerTestModel(t, w, h, &fakeSessions{})
	m.common.catalog = defaultCatalog()
	mustUpdate(t, m, openPickerMsg{from: screenPorts, port: port})
	return m, picker(m)
}

// TestPickerVariantsExplained: each variant has its own line (the three
// refusals had the same one) and the side pane explains the highlighted
// variant.
func TestPickerVariantsExplained(t *testing.T) {
	for _, port := range []int{587, 143, 110} {
		m, p := realPicker(t, 80, 40, port)
		i := slices.IndexFunc(p.scenarios(), func(s scenario.Scenario) bool { return s.Name == "strip-opportunistic" })
		p.sel[pickScenario] = i
		mustUpdate(t, m, keyCode(tea.KeyEnter))
		if p.stage != pickVariant {
			t.Fatalf("%d: stage %d", port, p.stage)
		}
		seen := map[string]string{}
		for n, it := range p.items() {
			v := p.scen.VariantsFor(p.chosen)[n]
			sum := strings.TrimPrefix(it.summary, "the default · ")
			if other, dup := seen[sum]; dup {
				t.Errorf("%d: %s and %s share the line %q", port, other, v, sum)
			}
			seen[sum] = v
			if strings.HasPrefix(sum, "variant ") {
				t.Errorf("%d: %s has no explanation in content", port, v)
			}
			p.sel[pickVariant] = n
			a, _ := content.Lookup("variant." + v)
			if side := flatten(plain(m)); !strings.Contains(side, a.Title) || !strings.Contains(side, flatten(a.Text)[:40]) {
				t.Errorf("%d: the side pane does not explain %s:\n%s", port, v, plain(m))
			}
		}
	}
}

// TestPickerNumbersStable: a scenario has the same number in a port's
// list and in the list of all, and that number chooses it.
func TestPickerNumbersStable(t *testing.T) {
	m, p := realPicker(t, 120, 40, 465)
	all := map[string]int{}
	for i, s := range p.c.scenarios() {
		all[s.Name] = i + 1
	}
	for i, it := range p.items() {
		if want := all[p.scenarios()[i].Name]; it.num != want || !strings.Contains(plain(m), fmt.Sprintf("%d. %s", want, it.title)) {
			t.Errorf("%s: number %d on the port's list, %d in all", it.title, it.num, want)
		}
	}
	mustUpdate(t, m, keyText('a'))
	for i, it := range p.items() {
		if want := all[p.scenarios()[i].Name]; it.num != want {
			t.Errorf("all: %s numbered %d, want %d", it.title, it.num, want)
		}
	}
	mustUpdate(t, m, keyText('a'))
	// The number of a scenario not on 465's list chooses nothing there.
	mustUpdate(t, m, keyText(rune('0'+all["too-early"])))
	if p.stage != pickScenario {
		t.Errorf("the number of a scenario the list does not show chose %q", p.scen.Name)
	}
	mustUpdate(t, m, keyText(rune('0'+all["implicit-under-attack"])))
	if p.scen.Name != "implicit-under-attack" {
		t.Errorf("its number chose %q, want implicit-under-attack", p.scen.Name)
	}
}

// TestPickerTitlesNotCut: a title too long for the list goes on in the
// line below rather than losing its last words ("requires TLS" told item
// 2 from item 3 and was cut).
func TestPickerTitlesNotCut(t *testing.T) {
	for _, w := range []int{80, 100, 120, 160} {
		m, p := realPicker(t, w, 40, 587)
		v := plain(m)
		for _, it := range p.items() {
			title, more := itemTitle(it, p.layout().listW-2)
			whole := fmt.Sprintf("%d. %s", it.num, it.title)
			if got := strings.Join(strings.Fields(title+" "+more), " "); got != whole {
				t.Errorf("%d: %q shows as %q", w, whole, got)
			}
			if !strings.Contains(v, title) || !strings.Contains(v, more) {
				t.Errorf("%d: %q / %q not on screen:\n%s", w, title, more, v)
			}
		}
	}
}

// TestWrapAtSpacesOnly: prose and values wrap at spaces, never inside a
// host name or "http/1.1" (the wrappers broke after "-" and "/"); only a
// word longer than the line is broken.
func TestWrapAtSpacesOnly(t *testing.T) {
	text := "the server mx-backup.example-mail.org offers http/1.1 and h2 to whoever asks"
	for w := 27; w <= 60; w++ { // the host name is 26 cells
		got := wrapText(text, w)
		if strings.Join(strings.Fields(got), " ") != text {
			t.Fatalf("%d: words changed: %q", w, got)
		}
		for _, l := range strings.Split(got, "\n") {
			if ansi.StringWidth(l) > w {
				t.Errorf("%d: line %q too wide", w, l)
			}
			if strings.HasSuffix(l, "-") || strings.HasSuffix(l, "/") || strings.HasPrefix(l, "backup") || strings.HasPrefix(l, "1.1") {
				t.Errorf("%d: broken inside a word: %q", w, got)
			}
		}
	}
	if got := wrapText("abcdefghij-klmnop", 8); got != "abcdefgh\nij-klmno\np" {
		t.Errorf("a word longer than the line: %q", got)
	}
	// The detail pane's paragraphs wrap the same way.
	pt := &paneText{st: NewStyles(true), w: 30}
	pt.para(lipgloss.NewStyle(), text)
	if strings.Contains(ansi.Strip(pt.String()), "mx-\n") {
		t.Errorf("pane text broke the host name:\n%s", pt.String())
	}
}

// TestOneNamePerConnection: the attacker's two connections have one name
// each on every screen (they were client↔MITM in the leg column, client ↔
// attacker in the side-by-side headings and client-attacker in the detail
// pane).
func TestOneNamePerConnection(t *testing.T) {
	for _, w := range []int{80, 160} {
		m := newScenarioModel(t, w, 48, &fakeSessions{evs: fixtureMITM()}, mitmRequest())
		var seen strings.Builder
		seen.WriteString(plain(m))
		for range 25 {
			mustUpdate(t, m, keyCode(tea.KeyUp))
			seen.WriteString(plain(m))
		}
		mustUpdate(t, m, keyText('f'))
		seen.WriteString(plain(m))
		v := seen.String()
		for _, other := range []string{"MITM", "client ↔ attacker", "attacker ↔ server", wire.LegClientAttacker, wire.LegAttackerServer} {
			if strings.Contains(v, other) {
				t.Errorf("%d: a connection is also called %q", w, other)
			}
		}
		for _, name := range []string{"client↔attacker", "attacker↔server"} {
			if !strings.Contains(v, name) {
				t.Errorf("%d: %q never shows", w, name)
			}
		}
	}
}

// portsFooter is the port table's detail pane footer, as shown.
func portsFooter(m *Model) string {
	lines := strings.Split(plain(m), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], "╰") && i > 0 {
			l := lines[i-1]
			if j := strings.LastIndex(l, "│"); j > 0 {
				l = l[:j]
			}
			if j := strings.LastIndex(l, "│"); j >= 0 {
				l = l[j+len("│"):]
			}
			return strings.TrimSpace(l)
		}
	}
	return ""
}

// TestSmallTexts: the separator before "passwords shown", "1 line" not
// "1 lines", a footer of whole hints that says where the end is, and hops'
// ports worded.
func TestSmallTexts(t *testing.T) {
	m := newSessionModel(t, 120, 40, &fakeSessions{evs: fixture587()})
	mustUpdate(t, m, keyText('p'))
	if v := plain(m); !strings.Contains(v, "tab: eavesdropper · passwords shown") {
		t.Errorf("no separator before passwords shown:\n%s", strings.Split(v, "\n")[1])
	}

	var b builder
	b.line(wire.ServerToClient, false, "250-mail.lab.test\r\n250 STARTTLS\r\n", "smtp.reply.250", wire.Line{Code: "250"})
	m = newSessionModel(t, 120, 40, &fakeSessions{evs: b.evs})
	if v := plain(m); !strings.Contains(v, "(+1 line)") || strings.Contains(v, "(+1 lines)") {
		t.Errorf("a reply of two lines:\n%s", v)
	}

	// The port table's footer: whole hints at every width, and the end
	// of the text said at 100%.
	for _, w := range []int{80, 100, 110, 120, 130, 160} {
		m := newPickerTestModel(t, w, 24, &fakeSessions{})
		f := portsFooter(m)
		for _, part := range strings.Split(f, " · ") {
			if !slices.Contains([]string{"0%", "pgdn/J more", "enter run session", "e lab endpoint", "S scenarios"}, part) {
				t.Errorf("%d: footer %q has a cut hint %q", w, f, part)
			}
		}
		for range 40 {
			mustUpdate(t, m, keyText('J'))
		}
		if f := portsFooter(m); !strings.HasPrefix(f, "100% · pgup/K back") || strings.Contains(f, "more") {
			t.Errorf("%d: footer at the end %q", w, f)
		}
	}

	pm, p := realPicker(t, 80, 40, 0)
	p.sel[pickScenario] = slices.IndexFunc(p.scenarios(), func(s scenario.Scenario) bool { return s.Name == "hops" })
	if v := plain(pm); strings.Contains(v, "ports: its own") || !strings.Contains(v, "ports: chosen by the scenario") {
		t.Errorf("hops' ports: %s", v)
	}
}

// TestBytesLabelTruthful: a handshake message's dump is labelled as the
// message, with a note on the record header it travelled under, not as
// "Bytes on the wire"; an encrypted record's header alone says so.
func TestBytesLabelTruthful(t *testing.T) {
	m := newSessionModel(t, 160, 48, &fakeSessions{evs: fixture587()})
	mustUpdate(t, m, keyCode(tea.KeyTab)) // eavesdropper
	for _, c := range []struct{ row, want, not string }{
		{"client_hello", "Handshake message bytes", "Bytes on the wire"},
		{"TLS handshake record", "Bytes on the wire", "Handshake message bytes"},
		{"encrypted TLS application_data record", "Record header on the wire: 5", "Bytes on the wire"},
	} {
		selectText(t, m, c.row)
		d := detailPaneText(m)
		if !strings.Contains(d, c.want) || strings.Contains(d, c.not) {
			t.Errorf("%s: detail pane lacks %q or has %q:\n%s", c.row, c.want, c.not, d)
		}
	}
	selectText(t, m, "client_hello")
	if d := detailPaneText(m); !strings.Contains(d, "5-byte header (type, version, length) is on the record's own row") {
		t.Errorf("no note on the record header:\n%s", d)
	}
}

// TestFullHelpCompact: at 80×24 the session's full help puts ? and q
// beside a short column rather than in rows of their own, so the screen
// keeps its lines: six for the session's keys, four for the search,
// the jumps, copy and zoom, which do not fit beside them at 80 columns.
func TestFullHelpCompact(t *testing.T) {
	m := newSessionModel(t, 80, 24, &fakeSessions{evs: fixture587()})
	mustUpdate(t, m, keyText('?'))
	if n := len(helpLines(m)); n > 10 {
		t.Errorf("full help is %d lines:\n%s", n, strings.Join(helpLines(m), "\n"))
	}
}

// TestPickerVariantFitsAt80x24: at 80×24 the variant stage keeps room for
// the highlighted variant's whole explanation (it was cut after 5 lines).
func TestPickerVariantFitsAt80x24(t *testing.T) {
	m, p := realPicker(t, 80, 24, 587)
	p.sel[pickScenario] = slices.IndexFunc(p.scenarios(), func(s scenario.Scenario) bool { return s.Name == "strip-opportunistic" })
	mustUpdate(t, m, keyCode(tea.KeyEnter))
	for n, v := range p.scen.VariantsFor(p.chosen) {
		p.sel[pickVariant] = n
		p.clampScroll()
		a, _ := content.Lookup("variant." + v)
		if got := flatten(plain(m)); !strings.Contains(got, flatten(a.Text)) {
			t.Errorf("%s: explanation cut:\n%s", v, plain(m))
		}
	}
}
