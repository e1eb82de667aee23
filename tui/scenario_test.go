package tui

import (
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/mailwire/mailwire/sessions/scenario"
	"github.com/mailwire/mailwire/sessions/wire"
)

// testCatalog is a fixed list of scenarios and their prose, so that the
// picker's tests and goldens do not change as scenarios are registered
// and their texts written.
func testCatalog() scenarioCatalog {
	list := []scenario.Scenario{
		{Name: "too-early", Ports: []int{587, 25, 143, 110}},
		{Name: "strip-opportunistic", Ports: []int{587, 25, 143, 110},
			Variants: []string{"remove", "replace", "refuse"}},
		{Name: "implicit-under-attack", Ports: []int{465, 993, 995}, Variants: []string{"own-cert", "break"}},
		{Name: "compare", Summary: scenario.SummaryCompare},
		{Name: "hops", Summary: scenario.SummaryHops},
	}
	prose := map[string]scenarioText{
		"too-early": {Title: "Credentials before STARTTLS", Summary: "A client sends AUTH before TLS, and the password crosses the wire readable.",
			Intro:      "The server on this port accepts AUTH before STARTTLS. Watch the AUTH line: it is CLEARTEXT.",
			Conclusion: "RFC 8314 §5.2 asks clients never to send credentials before TLS.", Sources: []string{"RFC 8314 §5.2", "RFC 3207 §4"}},
		"strip-opportunistic": {Title: "STARTTLS stripped", Summary: "An attacker removes STARTTLS; an opportunistic client carries on in cleartext.",
			Intro:      "A machine in the middle relays the session between client and server and deletes STARTTLS from the server's capabilities. The left column is the client's connection to the attacker, the right one the attacker's to the server.",
			Conclusion: "Opportunistic STARTTLS protects only against passive observers: an active attacker removes it and the client cannot tell (RFC 3207 §6). Require TLS, or use implicit TLS (RFC 8314 §3).",
			Sources:    []string{"RFC 3207 §6", "RFC 8314 §3"}},
		"compare": {Title: "587 vs 465 vs 443", Summary: "The same work three ways: what crosses the wire before encryption.",
			Intro: "Three sessions: submission with STARTTLS, submission with implicit TLS, a web request. The table compares them.", Conclusion: "Implicit TLS leaves nothing in cleartext to read or tamper with (RFC 8314 §3)."},
		"hops": {Title: "A message's hops", Summary: "From the author's client to the recipient's, hop by hop, each with its own TLS.",
			Intro: "The message is submitted, relayed, delivered and read.", Conclusion: "TLS protects one hop at a time (RFC 5321 §2.1)."},
	}
	return scenarioCatalog{
		list: func() []scenario.Scenario { return list },
		prose: func(name string) (scenarioText, bool) {
			t, ok := prose[name]
			t.Name = name
			return t, ok
		},
	}
}

// newPickerTestModel is the port table with the lab up, a fake session
// runner and the test catalog.
func newPickerTestModel(t testing.TB, w, h int, f *fakeSessions) *Model {
	t.Helper()
	info := fakeLabInfo()
	m := newModel(Options{
		StartLab:    func(context.Context) (LabInfo, error) { return info, nil },
		OpenSession: f.open,
	})
	m.common.catalog = testCatalog()
	mustUpdate(t, m, tea.WindowSizeMsg{Width: w, Height: h})
	mustUpdate(t, m, labResultMsg{info: info})
	return m
}

// newScenarioModel opens the session screen on a scenario whose stream is
// f's events, all delivered.
func newScenarioModel(t testing.TB, w, h int, f *fakeSessions, req SessionRequest) *Model {
	t.Helper()
	m := newPickerTestModel(t, w, h, f)
	pump(t, m, mustUpdate(t, m, openSessionMsg{req: req}))
	if m.active != screenSession {
		t.Fatal("openSessionMsg did not open the session screen")
	}
	return m
}

func mitmRequest() SessionRequest {
	return SessionRequest{Scenario: "strip-opportunistic", Port: 587, Variant: "remove", Target: "127.0.0.1:10587",
		Proto: "smtp", TLSMode: "starttls", Label: "lab"}
}

func picker(m *Model) *pickerScreen { return m.screens[screenPicker].(*pickerScreen) }

func pickerTitles(p *pickerScreen) []string {
	var out []string
	for _, it := range p.items() {
		out = append(out, it.title)
	}
	return out
}

func TestPickerFromPortTable(t *testing.T) {
	f := &fakeSessions{evs: fixtureMITM()}
	m := newPickerTestModel(t, 80, 24, f)
	mustUpdate(t, m, keyCode(tea.KeyDown)) // 587
	pump(t, m, mustUpdate(t, m, keyText('S')))
	if m.active != screenPicker {
		t.Fatal("S on the port table did not open the picker")
	}
	p := picker(m)
	// Only the scenarios that run on 587, and those that pick their own
	// ports.
	want := []string{"Credentials before STARTTLS", "STARTTLS stripped", "587 vs 465 vs 443", "A message's hops"}
	if got := pickerTitles(p); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("picker for 587 lists %q, want %q", got, want)
	}
	if v := plain(m); !strings.Contains(v, "scenarios on port 587 (a: all)") || !strings.Contains(v, "An attacker removes STARTTLS") {
		t.Errorf("picker view lacks its title or a summary:\n%s", v)
	}
	mustUpdate(t, m, keyCode(tea.KeyDown))
	mustUpdate(t, m, keyText('a'))
	if got := pickerTitles(p); len(got) != 5 || p.highlighted().Name != "strip-opportunistic" {
		t.Errorf("a: lists %q with %q highlighted, want all 5 and the same one", got, p.highlighted().Name)
	}
	mustUpdate(t, m, keyText('a'))
	// Enter: the port is the cell's, so the next question is the variant.
	mustUpdate(t, m, keyCode(tea.KeyEnter))
	if p.stage != pickVariant || p.chosen != 587 {
		t.Fatalf("after enter: stage %d, port %d; want the variant stage on 587", p.stage, p.chosen)
	}
	if got := pickerTitles(p); strings.Join(got, "|") != "remove|replace|refuse" {
		t.Errorf("variants %q", got)
	}
	if v := plain(m); !strings.Contains(v, "STARTTLS stripped › port 587") {
		t.Errorf("picker does not say what was chosen:\n%s", v)
	}
	mustUpdate(t, m, keyCode(tea.KeyDown))
	pump(t, m, mustUpdate(t, m, keyCode(tea.KeyEnter)))
	if m.active != screenSession {
		t.Fatal("enter on a variant did not run the scenario")
	}
	wantReq := SessionRequest{Scenario: "strip-opportunistic", Port: 587, Variant: "replace", Target: "127.0.0.1:10587",
		Proto: "smtp", TLSMode: "starttls", Label: "lab"}
	if len(f.reqs) != 1 || f.reqs[0] != wantReq {
		t.Fatalf("OpenSession got %+v, want %+v", f.reqs, wantReq)
	}
	if h := strings.Split(plain(m), "\n")[0]; !strings.Contains(h, "scenario: STARTTLS stripped · port 587 · variant replace") {
		t.Errorf("header %q", h)
	}
}

// The lists are numbered on screen; a digit chooses that line, at every
// stage, and a number past the list does nothing.
func TestPickerByNumber(t *testing.T) {
	f := &fakeSessions{evs: fixtureMITM()}
	m := newPickerTestModel(t, 80, 24, f)
	mustUpdate(t, m, keyCode(tea.KeyDown)) // 587
	pump(t, m, mustUpdate(t, m, keyText('S')))
	p := picker(m)
	mustUpdate(t, m, keyText('9'))
	if p.stage != pickScenario {
		t.Fatalf("9 of %d scenarios moved to stage %d", len(p.items()), p.stage)
	}
	mustUpdate(t, m, keyText('2')) // STARTTLS stripped
	if p.stage != pickVariant || p.scen.Name != "strip-opportunistic" {
		t.Fatalf("2: stage %d, scenario %q; want the variants of strip-opportunistic", p.stage, p.scen.Name)
	}
	pump(t, m, mustUpdate(t, m, keyText('3'))) // refuse
	if m.active != screenSession {
		t.Fatal("3 on the variants did not run the scenario")
	}
	if len(f.reqs) != 1 || f.reqs[0].Scenario != "strip-opportunistic" || f.reqs[0].Variant != "refuse" || f.reqs[0].Port != 587 {
		t.Errorf("ran %+v", f.reqs)
	}
}

func TestPickerPortStageAndBack(t *testing.T) {
	f := &fakeSessions{evs: fixtureMITM()}
	m := newScenarioModel(t, 120, 40, f, mitmRequest())
	pump(t, m, mustUpdate(t, m, keyText('S')))
	p := picker(m)
	if p.port != 0 || len(p.items()) != 5 || p.highlighted().Name != "strip-opportunistic" {
		t.Fatalf("picker from a scenario: port %d, %d items, %q highlighted; want every scenario, the current one highlighted",
			p.port, len(p.items()), p.highlighted().Name)
	}
	mustUpdate(t, m, keyCode(tea.KeyDown)) // implicit-under-attack
	mustUpdate(t, m, keyCode(tea.KeyEnter))
	titles := pickerTitles(p)
	if p.stage != pickPort || len(titles) != 3 || !strings.HasPrefix(titles[0], "465 · ") || !strings.HasPrefix(titles[1], "993 · ") || !strings.HasPrefix(titles[2], "995 · ") {
		t.Fatalf("port stage %d lists %q", p.stage, titles)
	}
	mustUpdate(t, m, keyCode(tea.KeyDown))
	mustUpdate(t, m, keyCode(tea.KeyEnter))
	if p.stage != pickVariant || p.chosen != 993 {
		t.Fatalf("stage %d port %d, want variants on 993", p.stage, p.chosen)
	}
	// esc backs out one question at a time, then leaves the picker for
	// the screen it came from.
	for i, want := range []pickStage{pickPort, pickScenario} {
		pump(t, m, mustUpdate(t, m, keyCode(tea.KeyEscape)))
		if m.active != screenPicker || p.stage != want {
			t.Fatalf("esc %d: screen %d stage %d, want the picker at stage %d", i, m.active, p.stage, want)
		}
	}
	pump(t, m, mustUpdate(t, m, keyCode(tea.KeyEscape)))
	if m.active != screenSession {
		t.Fatalf("esc at the first question went to screen %d, want the session", m.active)
	}
	if len(f.reqs) != 1 {
		t.Errorf("backing out ran %d sessions, want only the first", len(f.reqs))
	}
}

func TestPickerMouse(t *testing.T) {
	f := &fakeSessions{evs: fixtureCompare()}
	m := newPickerTestModel(t, 80, 24, f)
	pump(t, m, mustUpdate(t, m, keyText('S'))) // from 25
	p := picker(m)
	x, y := cellPos(t, m, "587 vs 465 vs 443")
	mustUpdate(t, m, click(x, y))
	if p.highlighted().Name != "compare" || m.active != screenPicker {
		t.Fatalf("click highlighted %q", p.highlighted().Name)
	}
	// The summary line belongs to the same item.
	mustUpdate(t, m, click(x+4, y+1))
	pump(t, m, mustUpdate(t, m, click(x, y)))
	if m.active != screenSession {
		t.Fatal("a click on the highlighted item did not run it")
	}
	if want := (SessionRequest{Scenario: "compare", Target: "127.0.0.1", Label: "lab"}); len(f.reqs) != 1 || f.reqs[0] != want {
		t.Errorf("OpenSession got %+v, want %+v", f.reqs, want)
	}
}

func TestPickerWithoutLab(t *testing.T) {
	f := &fakeSessions{}
	m := newModel(Options{
		StartLab:    func(context.Context) (LabInfo, error) { return LabInfo{}, nil },
		OpenSession: f.open,
	})
	m.common.catalog = testCatalog()
	mustUpdate(t, m, tea.WindowSizeMsg{Width: 80, Height: 24})
	pump(t, m, mustUpdate(t, m, keyText('S')))
	mustUpdate(t, m, keyCode(tea.KeyEnter)) // too-early: on 25, no variants
	if m.active != screenPicker || len(f.reqs) != 0 {
		t.Fatal("enter ran a scenario without a lab")
	}
	if v := plain(m); !strings.Contains(v, "The lab is not running yet") {
		t.Errorf("the picker does not say why nothing ran:\n%s", v)
	}
}

func TestScenarioStory(t *testing.T) {
	f := &fakeSessions{evs: fixtureMITM(), hold: true}
	m := newScenarioModel(t, 80, 24, f, mitmRequest())
	s := session(m)
	v := flatten(plain(m))
	story := flatten(s.explain.story(200))
	for _, want := range []string{"scenario: STARTTLS stripped · port 587 · variant remove · ⠋ running", "What happens", "A machine in the middle relays", "Running"} {
		if !strings.Contains(v, want) && !strings.Contains(story, want) {
			t.Errorf("running scenario lacks %q:\n%s", want, plain(m))
		}
	}
	if strings.Contains(v, "What it shows") {
		t.Error("the conclusion shows before the end")
	}
	// The end: the conclusion, the verdict.
	close(f.chans[0])
	pump(t, m, waitEvents(s.id, f.chans[0]))
	if s.state != stateDone || !s.story {
		t.Fatalf("state %v, story %v; want done with the story shown", s.state, s.story)
	}
	v = flatten(s.explain.story(200))
	for _, want := range []string{"⚠ UNSAFE: the password crossed both legs in cleartext", "What it shows", "Opportunistic STARTTLS protects only against passive observers", "Sources", "RFC 3207 §6"} {
		if !strings.Contains(v, want) {
			t.Errorf("ended scenario's story lacks %q:\n%s", want, v)
		}
	}
	// Looking at events hides it; i brings it back, and i hides it again.
	mustUpdate(t, m, keyCode(tea.KeyUp))
	if s.story || strings.Contains(plain(m), "What happens") {
		t.Error("moving the selection kept the story in the detail pane")
	}
	mustUpdate(t, m, keyText('i'))
	if !s.story || !strings.Contains(plain(m), "STARTTLS stripped") {
		t.Error("i did not bring the story back")
	}
	mustUpdate(t, m, keyText('i'))
	if s.story {
		t.Error("i did not hide the story")
	}
	// A re-run keeps the user's choice.
	f.hold = false
	pump(t, m, mustUpdate(t, m, keyText('r')))
	if s.story {
		t.Error("re-run showed the story the user had hidden")
	}
}

func TestScenarioVerdictRow(t *testing.T) {
	f := &fakeSessions{evs: fixtureMITM()}
	m := newScenarioModel(t, 80, 24, f, mitmRequest())
	s := session(m)
	selectText(t, m, "UNSAFE")
	tl := timeline(m)
	if !strings.Contains(tl, "VERDICT   ⚠ UNSAFE: the password crossed") {
		t.Errorf("verdict row:\n%s", tl)
	}
	ev := s.evs[s.tl.rows[s.tl.sel].first]
	if ev.Kind != wire.KindVerdict {
		t.Fatalf("selected %v", ev.Kind)
	}
	detail := s.detail.vp.GetContent()
	for i := 0; i < 10; i++ {
		mustUpdate(t, m, keyText('J'))
		detail += "\n" + s.detail.vp.View()
	}
	detail = ansi.Strip(detail)
	for _, want := range []string{"VERDICT", "⚠ UNSAFE:", "Evidence (2 events)", "client↔attacker C→S CLEARTEXT AUTH PLAIN ••••••••", "attacker↔server C→S CLEARTEXT AUTH PLAIN ••••••••"} {
		if !strings.Contains(detail, want) {
			t.Errorf("verdict detail lacks %q:\n%s", want, detail)
		}
	}
	// The evidence keeps the password masked.
	secret := base64.StdEncoding.EncodeToString([]byte("\x00learner\x00" + fixturePassword))
	if strings.Contains(detail, fixturePassword) || strings.Contains(detail, secret) {
		t.Error("the verdict's evidence shows the password")
	}
	// Safe and unsafe verdicts differ without colour.
	safe := wire.Verdict{Safe: true}
	if verdictMark(&safe) == verdictMark(ev.Verdict) {
		t.Error("safe and unsafe verdicts read the same")
	}
}

func TestScenarioLegFilter(t *testing.T) {
	f := &fakeSessions{evs: fixtureMITM()}
	m := newScenarioModel(t, 80, 24, f, mitmRequest())
	s := session(m)
	if got := strings.Join(s.legs.list, ","); got != wire.LegClientAttacker+","+wire.LegAttackerServer {
		t.Fatalf("legs %q", got)
	}
	// Interleaved, each row tagged.
	tl := timeline(m)
	if !strings.Contains(tl, "client↔attacker") || !strings.Contains(tl, "attacker↔server") {
		t.Errorf("rows lack their legs' tags:\n%s", tl)
	}
	all := len(s.tl.rows)
	for _, want := range []string{wire.LegClientAttacker, wire.LegAttackerServer, ""} {
		mustUpdate(t, m, keyText('f'))
		n := 0
		for _, r := range s.tl.rows {
			leg := s.evs[r.first].Leg
			if want != "" && leg != "" && leg != want {
				t.Errorf("filter %q shows a row of %q", want, leg)
			}
			n++
		}
		head := strings.Split(plain(m), "\n")[1]
		if want == "" {
			if n != all || !strings.Contains(head, "legs: all 2 connections") {
				t.Errorf("back to all: %d rows of %d, header %q", n, all, head)
			}
			continue
		}
		if n >= all || !strings.Contains(head, "leg: "+legTag(want)+" only") {
			t.Errorf("filter %q: %d rows of %d, header %q", want, n, all, head)
		}
	}
	// A plain session has no legs: f does nothing, no leg column.
	p := newSessionModel(t, 80, 24, &fakeSessions{evs: fixture587()})
	mustUpdate(t, p, keyText('f'))
	if ps := session(p); ps.legs.sel != 0 || ps.legs.colW() != 0 {
		t.Error("f changed a plain session")
	}
}

func TestScenarioSideBySide(t *testing.T) {
	f := &fakeSessions{evs: fixtureMITM()}
	m := newScenarioModel(t, 120, 40, f, mitmRequest())
	s := session(m)
	if !s.split() {
		t.Fatal("a MITM stream at 120 columns is not side by side")
	}
	l := s.layout()
	lw, _ := splitWidths(l.listW)
	sepX := gutterW + lw
	lines := strings.Split(plain(m), "\n")
	if !strings.Contains(lines[l.listY-1], "client↔attacker") || !strings.Contains(lines[l.listY-1], "attacker↔server") {
		t.Errorf("column header %q", lines[l.listY-1])
	}
	// Each event of a MITM leg sits in its column, in time order.
	for i := s.tl.top; i < s.tl.visible() && i < s.tl.top+l.listH; i++ {
		ev := s.evs[s.tl.rows[i].first]
		line := []rune(ansi.Strip(lines[l.listY+i-s.tl.top]))
		text, _, _ := s.tl.rowText(s.tl.rows[i].first, s.tl.rows[i].last)
		text = ansi.Truncate(text, 7, "")
		left, right := string(line[:sepX]), string(line[sepX+1:])
		switch ev.Leg {
		case wire.LegClientAttacker:
			if !strings.Contains(left, text) || strings.TrimSpace(right) != "" {
				t.Errorf("client-attacker event %q not in the left column: %q", text, string(line))
			}
		case wire.LegAttackerServer:
			if !strings.Contains(right, text) || strings.TrimSpace(left[gutterW:]) != "" {
				t.Errorf("attacker-server event %q not in the right column: %q", text, string(line))
			}
		}
	}
	// f (one leg) or a narrower screen: interleaved with tags.
	mustUpdate(t, m, keyText('f'))
	if s.split() {
		t.Error("a leg filter kept the side-by-side view")
	}
	mustUpdate(t, m, keyText('f'))
	mustUpdate(t, m, keyText('f'))
	mustUpdate(t, m, tea.WindowSizeMsg{Width: 119, Height: 40})
	if s.split() || !strings.Contains(timeline(m), "attacker↔server") {
		t.Error("at 119 columns the legs are not interleaved with tags")
	}
	// Clicking a row of the right column selects it.
	mustUpdate(t, m, tea.WindowSizeMsg{Width: 120, Height: 40})
	x, y := cellPos(t, m, "EHLO client.mailwire.invalid")
	mustUpdate(t, m, click(x, y))
	if ev := s.evs[s.tl.rows[s.tl.sel].first]; ev.Line == nil || ev.Line.Command != "EHLO" {
		t.Errorf("click selected %q", ev.Text)
	}
}

func TestScenarioStepModeAcrossLegs(t *testing.T) {
	f := &fakeSessions{evs: fixtureMITM()}
	m := newScenarioModel(t, 80, 24, f, mitmRequest())
	s := session(m)
	mustUpdate(t, m, keyText('s'))
	for range len(s.step.starts) + 2 {
		mustUpdate(t, m, keyText(' '))
	}
	if s.step.idx != len(s.step.starts)-1 {
		t.Fatalf("step %d of %d", s.step.idx, len(s.step.starts))
	}
	// The verdict is a step of its own, the last.
	last := s.evs[s.step.starts[len(s.step.starts)-1]]
	if last.Kind != wire.KindVerdict {
		t.Errorf("last step starts with %v, want the verdict", last.Kind)
	}
	// Each client command on each leg starts a step.
	cmds := 0
	for _, ev := range s.evs {
		if ev.Kind == wire.KindLine && ev.Dir == wire.ClientToServer {
			cmds++
		}
	}
	if len(s.step.starts) < cmds {
		t.Errorf("%d steps for %d commands", len(s.step.starts), cmds)
	}
}

func TestScenarioComparePanel(t *testing.T) {
	evs := fixtureCompare()
	f := &fakeSessions{evs: evs}
	m := newScenarioModel(t, 120, 40, f, SessionRequest{Scenario: "compare", Target: "127.0.0.1", Label: "lab"})
	s := session(m)
	if !s.panel.available() {
		t.Fatal("compare has no panel")
	}
	mustUpdate(t, m, keyText('c'))
	if !s.panel.open {
		t.Fatal("c did not open the panel")
	}
	table := scenario.Compare(evs)
	v := plain(m)
	for _, want := range []string{"Comparison, per connection", "587 · STARTTLS", "465 · implicit TLS", "443 · HTTPS",
		fmt.Sprintf("%d (%d sent, %d received)", table.Rows[0].CleartextBytes, table.Rows[0].CleartextC2S, table.Rows[0].CleartextS2C),
		"0 (0 sent, 0 received)", "h2, http/1.1", fmt.Sprintf("computed from %d events", len(evs))} {
		if !strings.Contains(v, want) {
			t.Errorf("compare panel lacks %q:\n%s", want, v)
		}
	}
	if table.Rows[0].CleartextBytes == 0 {
		t.Fatal("the fixture's 587 leg has no cleartext")
	}
	pump(t, m, mustUpdate(t, m, keyCode(tea.KeyEscape)))
	if s.panel.open || m.active != screenSession {
		t.Fatal("esc did not close the panel (or left the screen)")
	}
	pump(t, m, mustUpdate(t, m, keyCode(tea.KeyEscape)))
	if m.active != screenPorts {
		t.Fatal("the second esc did not leave the session screen")
	}
}

func TestScenarioPanelFillsIn(t *testing.T) {
	evs := fixtureCompare()
	f := &fakeSessions{hold: true}
	m := newScenarioModel(t, 120, 40, f, SessionRequest{Scenario: "compare", Target: "127.0.0.1", Label: "lab"})
	s := session(m)
	mustUpdate(t, m, keyText('c'))
	if v := plain(m); !strings.Contains(v, "No connection yet") {
		t.Errorf("empty panel:\n%s", v)
	}
	second := 0
	for i, ev := range evs {
		if ev.Leg == "465" {
			second = i
			break
		}
	}
	mustUpdate(t, m, sessionEventsMsg{id: s.id, evs: evs[:second]})
	v := plain(m)
	if !strings.Contains(v, "587 · STARTTLS") || strings.Contains(v, "465 · implicit TLS") || !strings.Contains(v, "running: it fills in") {
		t.Errorf("panel after the first leg:\n%s", v)
	}
	mustUpdate(t, m, sessionEventsMsg{id: s.id, evs: evs[second:], done: true})
	if v := plain(m); !strings.Contains(v, "465 · implicit TLS") || !strings.Contains(v, "443 · HTTPS") || strings.Contains(v, "running:") {
		t.Errorf("panel at the end:\n%s", v)
	}
}

func TestScenarioHopsPanel(t *testing.T) {
	f := &fakeSessions{evs: fixtureHops()}
	m := newScenarioModel(t, 120, 40, f, SessionRequest{Scenario: "hops", Target: "127.0.0.1", Label: "lab"})
	s := session(m)
	mustUpdate(t, m, keyText('c'))
	var v string
	for range 4 {
		v += plain(m)
		mustUpdate(t, m, keyCode(tea.KeyPgDown))
	}
	for _, want := range []string{"The message's path, hop by hop", "│ MUA ", "│ MSA ", "587 · TLS 1.3 · after STARTTLS", "certificate verified",
		"25 · CLEARTEXT", "╍╍╍▶", "━━━▶", "no network (local delivery)", "993 · TLS 1.3 · implicit", "│ mailbox", "an observer on this hop reads:",
		"ℹ RESULT: the relay hop on port 25 crossed in cleartext"} {
		if !strings.Contains(v, want) && !strings.Contains(flatten(v), want) {
			t.Errorf("hop diagram lacks %q:\n%s", want, v)
		}
	}
	if !s.panel.open {
		t.Error("paging closed the panel")
	}
	// Hops computed from the events the diagram drew.
	if n := len(scenario.Hops(s.evs)); n != 4 {
		t.Errorf("%d hops in the fixture, want 4", n)
	}
}

// TestScenarioViewsFit: no line wider than the terminal, no more lines
// than it has, for every scenario view at sizes from tiny to wide.
func TestScenarioViewsFit(t *testing.T) {
	for _, size := range [][2]int{{20, 8}, {40, 12}, {80, 24}, {119, 30}, {120, 40}, {200, 60}} {
		for _, c := range []struct {
			name string
			evs  []wire.Event
			req  SessionRequest
			keys []tea.Msg
		}{
			{"mitm", fixtureMITM(), mitmRequest(), []tea.Msg{nil, keyCode(tea.KeyUp), keyText('f'), keyCode(tea.KeyTab), keyText('s')}},
			{"compare", fixtureCompare(), SessionRequest{Scenario: "compare"}, []tea.Msg{nil, keyText('c'), keyCode(tea.KeyPgDown)}},
			{"hops", fixtureHops(), SessionRequest{Scenario: "hops"}, []tea.Msg{nil, keyText('c'), keyCode(tea.KeyPgDown)}},
			{"picker", fixtureMITM(), mitmRequest(), []tea.Msg{keyText('S'), keyCode(tea.KeyDown), keyCode(tea.KeyEnter), keyCode(tea.KeyDown)}},
		} {
			m := newScenarioModel(t, size[0], size[1], &fakeSessions{evs: c.evs}, c.req)
			for _, k := range c.keys {
				if k != nil {
					pump(t, m, mustUpdate(t, m, k))
				}
				lines := strings.Split(plain(m), "\n")
				if len(lines) > size[1] {
					t.Errorf("%s %dx%d after %v: %d lines", c.name, size[0], size[1], k, len(lines))
				}
				for _, l := range lines {
					if w := ansi.StringWidth(l); w > size[0] {
						t.Errorf("%s %dx%d after %v: line of width %d: %q", c.name, size[0], size[1], k, w, l)
						break
					}
				}
			}
		}
	}
}

// TestScenarioKeysNeverPanic presses random keys on the scenario screens
// and the picker, with the stream arriving in random batches.
func TestScenarioKeysNeverPanic(t *testing.T) {
	keys := []tea.Msg{
		keyCode(tea.KeyUp), keyCode(tea.KeyDown), keyCode(tea.KeyPgUp), keyCode(tea.KeyPgDown), keyCode(tea.KeyHome), keyCode(tea.KeyEnd),
		keyCode(tea.KeyTab), keyCode(tea.KeyEscape), keyCode(tea.KeyEnter), keyCode(tea.KeySpace), keyCode(tea.KeyBackspace),
		keyText('f'), keyText('c'), keyText('i'), keyText('s'), keyText('S'), keyText('a'), keyText('J'), keyText('K'), keyText('p'),
		keyText('r'), keyText('x'), click(30, 5), click(5, 3), click(100, 20),
		tea.MouseWheelMsg{Button: tea.MouseWheelDown, Y: 5}, tea.MouseWheelMsg{Button: tea.MouseWheelUp, Y: 20},
		tea.WindowSizeMsg{Width: 80, Height: 24}, tea.WindowSizeMsg{Width: 130, Height: 40}, lightBackground(),
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, fix := range []func() []wire.Event{fixtureMITM, fixtureCompare, fixtureHops} {
		evs := fix()
		f := &fakeSessions{hold: true}
		m := newScenarioModel(t, 120, 40, f, SessionRequest{Scenario: evs[len(evs)-1].Verdict.Scenario, Port: 587})
		sent := 0
		for range 400 {
			if sent < len(evs) && rng.IntN(4) == 0 {
				n := min(len(evs)-sent, 1+rng.IntN(5))
				if s, ok := m.screens[screenSession].(*sessionScreen); ok {
					mustUpdate(t, m, sessionEventsMsg{id: s.id, evs: evs[sent : sent+n], done: sent+n == len(evs)})
				}
				sent += n
				continue
			}
			cmd := mustUpdate(t, m, keys[rng.IntN(len(keys))])
			_ = cmd // commands are not run: re-runs and pickers open only via their messages below
			if m.active == screenPorts {
				pump(t, m, mustUpdate(t, m, switchScreenMsg{to: screenSession}))
			}
			_ = m.View()
		}
	}
}

func TestScenarioGolden(t *testing.T) {
	type tc struct {
		name  string
		size  [2]int
		light bool
		ascii bool
		evs   func() []wire.Event
		req   SessionRequest
		setup func(t *testing.T, m *Model)
	}
	compareReq := SessionRequest{Scenario: "compare", Target: "127.0.0.1", Label: "lab"}
	hopsReq := SessionRequest{Scenario: "hops", Target: "127.0.0.1", Label: "lab"}
	openPicker := func(t *testing.T, m *Model) {
		pump(t, m, mustUpdate(t, m, keyCode(tea.KeyEscape))) // to the port table
		mustUpdate(t, m, keyCode(tea.KeyDown))               // 587
		pump(t, m, mustUpdate(t, m, keyText('S')))
		mustUpdate(t, m, keyCode(tea.KeyDown))
	}
	panel := func(t *testing.T, m *Model) { mustUpdate(t, m, keyText('c')) }
	cases := []tc{
		{"picker_80x24", [2]int{80, 24}, false, false, fixtureMITM, mitmRequest(), openPicker},
		{"picker_120x40_light", [2]int{120, 40}, true, false, fixtureMITM, mitmRequest(), openPicker},
		{"picker_variant_80x24_nocolor", [2]int{80, 24}, false, true, fixtureMITM, mitmRequest(), func(t *testing.T, m *Model) {
			openPicker(t, m)
			mustUpdate(t, m, keyCode(tea.KeyEnter))
		}},
		{"mitm_story_120x40", [2]int{120, 40}, false, false, fixtureMITM, mitmRequest(), func(*testing.T, *Model) {}},
		{"mitm_verdict_80x24", [2]int{80, 24}, false, false, fixtureMITM, mitmRequest(), func(t *testing.T, m *Model) { selectText(t, m, "UNSAFE") }},
		{"mitm_split_120x40_nocolor", [2]int{120, 40}, false, true, fixtureMITM, mitmRequest(), func(t *testing.T, m *Model) { selectText(t, m, "AUTH PLAIN") }},
		{"mitm_split_160x48_light", [2]int{160, 48}, true, false, fixtureMITM, mitmRequest(), func(t *testing.T, m *Model) { selectText(t, m, "AUTH PLAIN") }},
		{"compare_80x24", [2]int{80, 24}, false, false, fixtureCompare, compareReq, panel},
		{"compare_120x40_light", [2]int{120, 40}, true, false, fixtureCompare, compareReq, panel},
		{"hops_80x24_nocolor", [2]int{80, 24}, false, true, fixtureHops, hopsReq, panel},
		{"hops_120x40", [2]int{120, 40}, false, false, fixtureHops, hopsReq, panel},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := newScenarioModel(t, c.size[0], c.size[1], &fakeSessions{evs: c.evs()}, c.req)
			if c.light {
				mustUpdate(t, m, lightBackground())
			}
			c.setup(t, m)
			p := colorprofile.ANSI256
			if c.ascii {
				p = colorprofile.Ascii
			}
			golden.RequireEqual(t, withProfile(t, m.View().Content, p))
		})
	}
}

// TestScenarioStateIgnoresLegErrors: a connection failing inside a
// scenario (the client refusing the attacker's certificate) is evidence;
// the scenario ends done. Its own error (no leg) fails it.
func TestScenarioStateIgnoresLegErrors(t *testing.T) {
	for _, c := range []struct {
		leg  string
		want sessionState
	}{{wire.LegClientAttacker, stateDone}, {"", stateFailed}} {
		var b builder
		b.leg = c.leg
		b.connect("127.0.0.1:20465")
		b.add(wire.Event{Kind: wire.KindError, Dir: wire.Local, Layer: wire.LayerNote, Visible: wire.VisibleNone,
			Text: "verify certificate: x509: certificate signed by unknown authority",
			Err:  &wire.ErrorInfo{Op: "verify certificate", Message: "x509: certificate signed by unknown authority"}})
		b.leg = ""
		b.verdict("implicit-under-attack", "verification-failed", true, "the attacker's certificate failed verification")
		m := newScenarioModel(t, 80, 24, &fakeSessions{evs: b.evs}, SessionRequest{Scenario: "implicit-under-attack", Port: 465})
		if s := session(m); s.state != c.want {
			t.Errorf("error on leg %q: state %v, want %v", c.leg, s.state, c.want)
		}
	}
}

// TestScenarioHelp: the help bar lists the scenario keys where they do
// something, and only there.
func TestScenarioHelp(t *testing.T) {
	keysOf := func(bs []key.Binding) string {
		var out []string
		for _, b := range bs {
			out = append(out, b.Help().Key)
		}
		return strings.Join(out, " ")
	}
	m := newScenarioModel(t, 120, 40, &fakeSessions{evs: fixtureHops()}, SessionRequest{Scenario: "hops"})
	s := session(m)
	if got := keysOf(s.ShortHelp()); got != "i f c tab s S x esc / y ↑/k ↓/j" {
		t.Errorf("scenario help %q", got)
	}
	if got := s.panel.helpBinding().Help().Desc; got != "hop diagram" {
		t.Errorf("c on hops says %q", got)
	}
	mustUpdate(t, m, keyText('c'))
	if got := keysOf(s.ShortHelp()); got != "c esc ↑/k ↓/j" {
		t.Errorf("panel help %q", got)
	}
	p := newSessionModel(t, 120, 40, &fakeSessions{evs: fixture587()})
	ps := session(p)
	short, full := keysOf(ps.ShortHelp()), ""
	for _, col := range ps.FullHelp() {
		full += keysOf(col) + " "
	}
	if strings.Contains(short, " i ") || strings.Contains(full, " f ") || strings.Contains(full, " c ") || !strings.Contains(full, "S") {
		t.Errorf("plain session help: short %q, full %q", short, full)
	}
	mustUpdate(t, p, keyCode(tea.KeyEscape))
	if got := keysOf(ports(p).ShortHelp()); !strings.Contains(got, "S") {
		t.Errorf("port table help %q lacks S", got)
	}
}
