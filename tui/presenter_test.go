package tui

import (
	"context"
	"fmt"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions/lens"
	"github.com/mailwire/mailwire/sessions/wire"
)

// newPresenterModel is newSessionModel's program started with
// Options.Present (--present) and theme: the session opens in presenter
// mode.
func newPresenterModel(t testing.TB, w, h int, theme Theme, evs []wire.Event) *Model {
	t.Helper()
	info := fakeLabInfo()
	f := &fakeSessions{evs: evs}
	m := newModel(Options{
		StartLab:    func(context.Context) (LabInfo, error) { return info, nil },
		OpenSession: f.open,
		Present:     true,
		Theme:       theme,
	})
	mustUpdate(t, m, tea.WindowSizeMsg{Width: w, Height: h})
	mustUpdate(t, m, labResultMsg{info: info})
	mustUpdate(t, m, keyCode(tea.KeyDown)) // 587
	pump(t, m, mustUpdate(t, m, keyCode(tea.KeyEnter)))
	if m.active != screenSession {
		t.Fatalf("enter on 587 did not open the session screen")
	}
	return m
}

// stepTo moves the session screen to step n (1-based) with the clicker's
// page down.
func stepTo(t testing.TB, m *Model, n int) {
	t.Helper()
	s := session(m)
	for s.step.idx+1 < n {
		before := s.step.idx
		pump(t, m, mustUpdate(t, m, keyCode(tea.KeyPgDown)))
		if s.step.idx == before {
			t.Fatalf("pgdown did not move past step %d", before+1)
		}
	}
}

// stepWith moves to the first step whose narration's row says sub.
func stepWith(t testing.TB, m *Model, sub string) narration {
	t.Helper()
	s := session(m)
	for range len(s.step.starts) {
		if n, ok := s.narrate(); ok && strings.Contains(n.what, sub) {
			return n
		}
		pump(t, m, mustUpdate(t, m, keyCode(tea.KeyPgDown)))
	}
	t.Fatalf("no step tells %q", sub)
	return narration{}
}

// TestPresenterKeys: P turns presenter mode on (the high-contrast theme,
// step mode, the detail pane hidden); a clicker's pgdn/pgup, space,
// backspace and the arrows step; tab switches the lens on the same step;
// a plays; esc leaves presenter mode and stays on the screen; F5 enters.
func TestPresenterKeys(t *testing.T) {
	m := newSessionModel(t, 80, 24, &fakeSessions{evs: fixture587()})
	s := session(m)
	pump(t, m, mustUpdate(t, m, keyText('P')))
	st := m.common.Styles
	if !m.common.Present || st.Theme != ThemeHighContrast || !s.step.on || !s.zoom {
		t.Fatalf("P: present %v, theme %s, step %v, zoom %v", m.common.Present, st.Theme, s.step.on, s.zoom)
	}
	if s.step.idx != 0 {
		t.Fatalf("P started at step %d, want 1", s.step.idx+1)
	}
	helpBar := func() string {
		lines := strings.Split(plain(m), "\n")
		return lines[len(lines)-1]
	}
	if bar := helpBar(); !strings.Contains(bar, "→/← step") || !strings.Contains(bar, "P exit") {
		t.Errorf("the help bar after P: %q", bar)
	}
	for _, c := range []struct {
		key  tea.KeyPressMsg
		want int
	}{
		{keyCode(tea.KeyPgDown), 1}, {keyCode(tea.KeyPgDown), 2}, {keyCode(tea.KeyPgUp), 1},
		{keyCode(tea.KeyRight), 2}, {keyCode(tea.KeyLeft), 1}, {keyText(' '), 2}, {keyCode(tea.KeyBackspace), 1},
	} {
		pump(t, m, mustUpdate(t, m, c.key))
		if s.step.idx != c.want {
			t.Fatalf("%s: step %d, want %d", c.key, s.step.idx+1, c.want+1)
		}
	}
	mustUpdate(t, m, keyCode(tea.KeyTab))
	if s.lens != lens.Eavesdropper || s.step.idx != 1 {
		t.Fatalf("tab: lens %s at step %d, want eavesdropper at 2", s.lens, s.step.idx+1)
	}
	if cmd := mustUpdate(t, m, keyText('a')); cmd == nil || !s.step.auto {
		t.Fatal("a did not start auto-play")
	}
	mustUpdate(t, m, autoTickMsg{id: s.id, gen: s.step.gen})
	if s.step.idx != 2 {
		t.Fatalf("an auto-play tick: step %d, want 3", s.step.idx+1)
	}
	mustUpdate(t, m, keyCode(tea.KeyPgDown)) // next stops auto-play
	if s.step.auto {
		t.Fatal("pgdn left auto-play on")
	}
	pump(t, m, mustUpdate(t, m, keyCode(tea.KeyEscape)))
	if m.common.Present || m.active != screenSession || m.common.Styles.Theme == ThemeHighContrast || s.zoom {
		t.Fatalf("esc: present %v, screen %d, theme %s, zoom %v", m.common.Present, m.active, m.common.Styles.Theme, s.zoom)
	}
	if !s.step.on || s.step.idx != 3 {
		t.Fatalf("leaving presenter mode moved the step: on %v, %d", s.step.on, s.step.idx+1)
	}
	if bar := helpBar(); strings.Contains(bar, "P exit") {
		t.Errorf("the help bar after esc: %q", bar)
	}
	// Out of presenter mode pgdn is the timeline's page again, not a step.
	pump(t, m, mustUpdate(t, m, keyCode(tea.KeyPgDown)))
	if s.step.idx != 3 {
		t.Fatalf("pgdn outside presenter mode stepped to %d", s.step.idx+1)
	}
	pump(t, m, mustUpdate(t, m, keyCode(tea.KeyF5)))
	if !m.common.Present {
		t.Fatal("F5 (a clicker's slideshow button) did not enter presenter mode")
	}
	pump(t, m, mustUpdate(t, m, keyText('z')))
	if s.zoom || !strings.Contains(plain(m), "detail") {
		t.Fatalf("z in presenter mode: zoom %v, the detail pane not shown", s.zoom)
	}
	pump(t, m, mustUpdate(t, m, keyText('P')))
	if m.common.Present {
		t.Fatal("P did not leave presenter mode")
	}
}

// TestPresenterNarration: the block tells the step on screen from its
// annotations as the lens has them: the command (not the records that
// carry it), its title, its first sentences and who could read it; after
// tab, the same step as an eavesdropper saw it; a password anyone on the
// path read is called out in the annotation's words.
func TestPresenterNarration(t *testing.T) {
	m := newPresenterModel(t, 120, 40, ThemeAuto, fixture587())
	s := session(m)
	ehlo, _ := content.Lookup("smtp.cmd.ehlo")
	clear, _ := content.Lookup("wire.cleartext")
	n := stepWith(t, m, "EHLO")
	if n.headline != ehlo.Title || n.says == "" || !strings.HasPrefix(ehlo.Text, n.says) || n.who != clear.Title || n.badge != "CLEARTEXT" || n.warn != "" {
		t.Errorf("EHLO step: %+v", n)
	}
	v := plain(m)
	for _, want := range []string{ehlo.Title, "On the wire: " + clear.Title, "C→S  EHLO client.mailwire.invalid"} {
		if !strings.Contains(v, want) {
			t.Errorf("the screen does not say %q:\n%s", want, v)
		}
	}
	if !strings.Contains(flatten(v), ehlo.Lead(1)) {
		t.Errorf("the screen does not say the EHLO entry's first sentence:\n%s", v)
	}

	// A step inside TLS, in both lenses: the endpoints read the command,
	// the eavesdropper a record of a certain length.
	n = stepWith(t, m, "AUTH PLAIN")
	idx := s.step.idx
	enc, _ := content.Lookup("wire.encrypted")
	if n.badge != "ENCRYPTED" || n.who != enc.Title || n.warn != "" {
		t.Errorf("AUTH PLAIN inside TLS, endpoint lens: %+v", n)
	}
	mustUpdate(t, m, keyCode(tea.KeyTab))
	n, _ = s.narrate()
	if s.step.idx != idx || n.headline != enc.Title || n.who != "" || !strings.Contains(n.what, "record") || strings.Contains(plain(m), "AUTH PLAIN") {
		t.Errorf("the same step in the eavesdropper lens (step %d, was %d): %+v", s.step.idx+1, idx+1, n)
	}

	// Cleartext AUTH LOGIN: the password's step carries the risk.
	m = newPresenterModel(t, 80, 24, ThemeAuto, fixtureCleartextAuth())
	s = session(m)
	creds, _ := content.Lookup("wire.credentials")
	for range len(s.step.starts) {
		if n, _ = s.narrate(); n.warn != "" {
			break
		}
		pump(t, m, mustUpdate(t, m, keyCode(tea.KeyPgDown)))
	}
	if n.warn != creds.Risk || !strings.Contains(n.what, "••••••••") {
		t.Errorf("the password's step: %+v", n)
	}
	if v := plain(m); !strings.Contains(v, "⚠ "+creds.Risk) || strings.Contains(v, fixturePassword) {
		t.Errorf("the screen does not warn of the password, or shows it:\n%s", v)
	}
	// The failure: its explanation, as the detail pane has it.
	closed, _ := content.Lookup("net.closed_early")
	n = stepWith(t, m, "✗")
	if n.headline != closed.Title || n.badge != "ERROR" || !strings.HasPrefix(closed.Text, n.says) {
		t.Errorf("the error's step: %+v", n)
	}
}

// TestPresenterOption: --present (Options.Present) opens the session in
// presenter mode with the high-contrast theme; a fixed --theme keeps its
// background (light: the light high-contrast palette), and leaving
// presenter mode gives it back.
func TestPresenterOption(t *testing.T) {
	m := newPresenterModel(t, 80, 24, ThemeLight, fixture587())
	s := session(m)
	st := m.common.Styles
	if st.Theme != ThemeHighContrast || st.IsDark || st.Text.GetForeground() != paletteHighContrastLight.fg {
		t.Fatalf("--present --theme light: theme %s, dark %v", st.Theme, st.IsDark)
	}
	if !s.step.on || !s.zoom || s.step.idx != 0 {
		t.Fatalf("--present: step %v (%d), zoom %v", s.step.on, s.step.idx+1, s.zoom)
	}
	mustUpdate(t, m, tea.BackgroundColorMsg{Color: nil}) // a dark answer changes nothing
	if m.common.Styles.IsDark {
		t.Fatal("the terminal's answer overrode --theme light in presenter mode")
	}
	pump(t, m, mustUpdate(t, m, keyCode(tea.KeyEscape)))
	if st := m.common.Styles; st.Theme != ThemeLight {
		t.Fatalf("leaving presenter mode: theme %s, want light", st.Theme)
	}
	// A new session opened while presenting opens in presenter mode.
	pump(t, m, mustUpdate(t, m, keyText('P')))
	pump(t, m, mustUpdate(t, m, keyText('r')))
	if s := session(m); !s.step.on || !s.zoom {
		t.Fatalf("a re-run in presenter mode: step %v, zoom %v", s.step.on, s.zoom)
	}
}

// TestPresenterHelp: the help bar lists every instructor key, at 80
// columns too.
func TestPresenterHelp(t *testing.T) {
	for _, c := range []struct {
		w    int
		want []string
	}{
		{80, []string{"→/← step", "a play", "tab lens", "z panes", "P exit", "? help", "q quit"}},
		{120, []string{"pgdn/→ next", "pgup/← back", "a auto-play", "tab lens", "z details", "P/esc exit", "? help", "q quit"}},
		{160, []string{"pgdn/space/→ next", "pgup/← back", "a auto-play", "tab switch lens", "z show details", "P/esc leave presenter", "? help", "q quit"}},
	} {
		m := newPresenterModel(t, c.w, 24, ThemeAuto, fixture587())
		lines := strings.Split(plain(m), "\n")
		bar := lines[len(lines)-1]
		for _, want := range c.want {
			if !strings.Contains(bar, want) {
				t.Errorf("%d columns: the help bar %q lacks %q", c.w, bar, want)
			}
		}
	}
}

// TestPresenterFits: no line wider than the terminal, no more lines than
// it has, the timeline's header and rows below the block, at every size;
// a click lands on the row drawn under the pointer.
func TestPresenterFits(t *testing.T) {
	for _, size := range [][2]int{{20, 8}, {40, 12}, {80, 24}, {100, 30}, {120, 40}, {160, 48}, {200, 60}} {
		m := newPresenterModel(t, size[0], size[1], ThemeAuto, fixture587())
		for _, k := range []tea.Msg{nil, keyCode(tea.KeyPgDown), keyCode(tea.KeyPgDown), keyCode(tea.KeyTab), keyText('z'), keyCode(tea.KeyPgDown)} {
			if k != nil {
				pump(t, m, mustUpdate(t, m, k))
			}
			v := plain(m)
			lines := strings.Split(v, "\n")
			if len(lines) > size[1] {
				t.Errorf("%dx%d after %v: %d lines", size[0], size[1], k, len(lines))
			}
			for _, l := range lines {
				if w := ansi.StringWidth(l); w > size[0] {
					t.Errorf("%dx%d after %v: line of width %d: %q", size[0], size[1], k, w, l)
					break
				}
			}
			if size[1] >= 24 && !strings.Contains(v, "who reads") {
				t.Errorf("%dx%d after %v: no timeline:\n%s", size[0], size[1], k, v)
			}
		}
	}
	// The click: on the row of the 220 greeting, below the block.
	m := newPresenterModel(t, 120, 40, ThemeAuto, fixture587())
	stepTo(t, m, 3)
	s := session(m)
	y := -1
	for i, l := range strings.Split(plain(m), "\n") {
		if strings.Contains(l, "220 mail.lab.test") {
			y = i
		}
	}
	if y < 0 {
		t.Fatalf("no greeting row:\n%s", plain(m))
	}
	mustUpdate(t, m, tea.MouseClickMsg{X: 30, Y: y, Button: tea.MouseLeft})
	if r, ok := s.tl.selected(); !ok || !strings.Contains(s.evs[r.first].Text, "220 mail.lab.test") {
		t.Errorf("a click on line %d selected %+v", y, r)
	}
}

// TestPresenterGolden pins the projector layout at the EHLO step: 80×24,
// 120×40 and 160×48 (a 1280×720 projector), dark, light and NO_COLOR.
func TestPresenterGolden(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 40}, {160, 48}} {
		for _, theme := range []string{"dark", "light", "no_color"} {
			t.Run(fmt.Sprintf("%s_%dx%d", theme, size[0], size[1]), func(t *testing.T) {
				m := newPresenterModel(t, size[0], size[1], ThemeAuto, fixture587())
				p := colorprofile.ANSI256
				switch theme {
				case "light":
					mustUpdate(t, m, lightBackground())
				case "no_color":
					p = colorprofile.Ascii
				}
				stepWith(t, m, "EHLO")
				golden.RequireEqual(t, withProfile(t, m.View().Content, p))
			})
		}
	}
}
