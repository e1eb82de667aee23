package tui

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions/scenario"
)

// newLessonModel is a root model with the lab up and fake sessions.
func newLessonModel(t testing.TB, w, h int, f *fakeSessions) *Model {
	t.Helper()
	info := fakeLabInfo()
	m := newModel(Options{StartLab: func(context.Context) (LabInfo, error) { return info, nil }, OpenSession: f.open})
	mustUpdate(t, m, tea.WindowSizeMsg{Width: w, Height: h})
	mustUpdate(t, m, labResultMsg{info: info})
	return m
}

func lessonOf(t testing.TB, m *Model) *lessonScreen {
	t.Helper()
	s, ok := m.screens[screenLesson].(*lessonScreen)
	if !ok || m.active != screenLesson {
		t.Fatalf("the lesson screen is not in front (screen %v)", m.active)
	}
	return s
}

// lessonThemes are the three ways a lesson is drawn: the dark and light
// themes, and NO_COLOR (glamour's notty style, no colours at all).
var lessonThemes = []struct {
	name    string
	light   bool
	noColor bool
	profile colorprofile.Profile
}{
	{"dark", false, false, colorprofile.ANSI256},
	{"light", true, false, colorprofile.ANSI256},
	{"no_color", false, true, colorprofile.Ascii},
}

// openLessonNamed opens a lesson on the model as l and a link would.
func openLessonNamed(t testing.TB, m *Model, name string) *lessonScreen {
	t.Helper()
	pump(t, m, mustUpdate(t, m, openLessonMsg{name: name, from: m.active}))
	return lessonOf(t, m)
}

// Every lesson renders at 80 columns without a broken layout in dark,
// light and NO_COLOR: no line of the whole text (body, links, sources) is
// wider than the screen, nothing is left of an escape sequence when the
// styles are stripped, and the first screen of each is a golden file.
func TestLessonGolden(t *testing.T) {
	for _, th := range lessonThemes {
		for _, name := range content.LessonOrder {
			t.Run(th.name+"/"+name, func(t *testing.T) {
				m := newLessonModel(t, 80, 24, &fakeSessions{})
				if th.light {
					mustUpdate(t, m, lightBackground())
				}
				if th.noColor {
					mustUpdate(t, m, tea.ColorProfileMsg{Profile: colorprofile.ASCII})
				}
				s := openLessonNamed(t, m, name)
				all := s.vp.GetContent()
				for _, n := range brokenQuotes(all) {
					t.Errorf("line %d continues a block quote without its mark", n)
				}
				for i, line := range strings.Split(all, "\n") {
					if w := ansi.StringWidth(line); w > 80 {
						t.Errorf("line %d is %d columns wide: %q", i+1, w, ansi.Strip(line))
					}
					if strings.ContainsAny(ansi.Strip(line), "\x1b\u009b") {
						t.Errorf("line %d keeps part of an escape sequence: %q", i+1, line)
					}
				}
				// Glamour's part has no colour under NO_COLOR; the screen's
				// own styles lose theirs to the program's colour profile.
				if th.noColor && strings.Contains(s.text.body+s.text.sources, "\x1b[38;") {
					t.Error("NO_COLOR: the lesson sets colours")
				}
				l, _ := content.LessonByName(name)
				text := flatten(all)
				if head := strings.SplitN(plain(m), "\n", 2)[0]; !strings.Contains(head, "Lesson: "+l.Title) {
					t.Errorf("the header does not name the lesson: %q", head)
				}
				for _, want := range []string{"Try it", "Sources", l.Try[0].Text} {
					if !strings.Contains(text, flatten(want)) {
						t.Errorf("the lesson lacks %q", want)
					}
				}
				view := m.View().Content
				if got := strings.Count(view, "\n") + 1; got != 24 {
					t.Errorf("the screen is %d lines tall, want 24", got)
				}
				golden.RequireEqual(t, withProfile(t, view, th.profile))
			})
		}
	}
}

// The lesson printed by `mailwire lesson` fits 80 columns in every theme
// too, and NO_COLOR prints no colour.
func TestLessonTextFits(t *testing.T) {
	for _, th := range lessonThemes {
		for _, name := range content.LessonOrder {
			l, _ := content.LessonByName(name)
			out, err := LessonText(l, 80, ThemeAuto, !th.light, th.noColor)
			if err != nil {
				t.Fatalf("%s %s: %v", th.name, name, err)
			}
			for i, line := range strings.Split(out, "\n") {
				if w := ansi.StringWidth(line); w > 80 {
					t.Errorf("%s %s: line %d is %d columns wide", th.name, name, i+1, w)
				}
			}
			if th.noColor && strings.Contains(out, "\x1b[38;") {
				t.Errorf("%s %s: NO_COLOR printed colours", th.name, name)
			}
			for _, n := range brokenQuotes(out) {
				t.Errorf("%s %s: line %d continues a block quote without its mark", th.name, name, n)
			}
			if !strings.Contains(ansi.Strip(out), l.Try[0].Link.Command()) {
				t.Errorf("%s %s: the first link is not printed as its command", th.name, name)
			}
		}
	}
}

// l opens the lesson on the topic of the screen in front: the port table
// at the selected port's heading, a session on 465 explicit vs implicit
// TLS, a scenario its lesson, the scan's versions and ciphers; esc goes
// back to that screen.
func TestLessonKey(t *testing.T) {
	t.Run("port table", func(t *testing.T) {
		m := newLessonModel(t, 80, 24, &fakeSessions{})
		mustUpdate(t, m, keyCode(tea.KeyDown))  // 587
		mustUpdate(t, m, keyCode(tea.KeyRight)) // 465
		pump(t, m, mustUpdate(t, m, keyText('l')))
		s := lessonOf(t, m)
		if s.lesson.Name != "ports" || !strings.HasPrefix(s.anchor, "Port 465") {
			t.Fatalf("l on 465 opened %s at %q", s.lesson.Name, s.anchor)
		}
		if top := strings.SplitN(plain(m), "\n", 3)[1]; !strings.Contains(top, "Port 465") {
			t.Errorf("the lesson does not open at its 465 heading: first line %q", top)
		}
		pump(t, m, mustUpdate(t, m, keyCode(tea.KeyEscape)))
		if m.active != screenPorts || ports(m).Selected() != 465 {
			t.Errorf("esc: screen %v, port %d", m.active, ports(m).Selected())
		}
	})
	t.Run("session on 465", func(t *testing.T) {
		m := newLessonModel(t, 80, 24, &fakeSessions{evs: fixture587()})
		mustUpdate(t, m, keyCode(tea.KeyDown))
		mustUpdate(t, m, keyCode(tea.KeyRight))
		pump(t, m, mustUpdate(t, m, keyCode(tea.KeyEnter)))
		pump(t, m, mustUpdate(t, m, keyText('l')))
		if s := lessonOf(t, m); s.lesson.Name != "implicit-tls" {
			t.Fatalf("l on a session on 465 opened %s", s.lesson.Name)
		}
		pump(t, m, mustUpdate(t, m, keyCode(tea.KeyEscape)))
		if m.active != screenSession {
			t.Errorf("esc went to screen %v, not back to the session", m.active)
		}
	})
	t.Run("scenario", func(t *testing.T) {
		m := newScenarioModel(t, 80, 24, &fakeSessions{evs: fixtureHops()}, SessionRequest{Scenario: "hops"})
		pump(t, m, mustUpdate(t, m, keyText('l')))
		if s := lessonOf(t, m); s.lesson.Name != "mail-vs-https" {
			t.Fatalf("l on hops opened %s", s.lesson.Name)
		}
	})
	t.Run("scan", func(t *testing.T) {
		m := newScanModel(t, 80, 24, &fakeScans{rep: scanFixture(t)}, &fakeSessions{})
		pump(t, m, mustUpdate(t, m, keyText('l')))
		if s := lessonOf(t, m); s.lesson.Name != "versions-ciphers" {
			t.Fatalf("l on the scan opened %s", s.lesson.Name)
		}
		pump(t, m, mustUpdate(t, m, keyCode(tea.KeyEscape)))
		if m.active != screenScan {
			t.Errorf("esc went to screen %v", m.active)
		}
	})
	t.Run("monitor", func(t *testing.T) {
		m := newMonitorModel(t, 80, 24)
		from := m.active
		pump(t, m, mustUpdate(t, m, keyText('l')))
		if s := lessonOf(t, m); s.lesson.Name != "starttls" {
			t.Fatalf("l on the monitor opened %s", s.lesson.Name)
		}
		pump(t, m, mustUpdate(t, m, keyCode(tea.KeyEscape)))
		if m.active != from {
			t.Errorf("esc went to screen %v, not back to the monitor", m.active)
		}
	})
	t.Run("typing", func(t *testing.T) {
		m := newLessonModel(t, 80, 24, &fakeSessions{})
		pump(t, m, mustUpdate(t, m, openFormMsg{})) // the connect form: l is text there
		pump(t, m, mustUpdate(t, m, keyText('l')))
		if m.active == screenLesson {
			t.Error("l typed into the connect form opened a lesson")
		}
	})
}

// Every link of every lesson resolves: a session or a scenario opens the
// session screen on a request the scenario registry accepts (name, port,
// variant), a lesson opens that lesson, a replay opens its committed
// recording, the scan says the command that runs it (this program has no
// scans) or opens the scan screen (one that has). It runs outside a source
// checkout, in a directory whose files are named as the recordings and
// hold nothing a replay can read: a link opens the recording bundled in
// the binary, wherever mailwire runs.
func TestLessonLinksResolve(t *testing.T) {
	scanRep := scanFixture(t) // read before leaving the package's directory
	dir := t.TempDir()
	for _, name := range content.RecordingNames() {
		for _, f := range []string{name, name + ".jsonl"} {
			if err := os.WriteFile(filepath.Join(dir, f), []byte("not a recording\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Chdir(dir)
	for _, name := range content.LessonOrder {
		l, _ := content.LessonByName(name)
		for i, try := range l.Try {
			link := try.Link
			f := &fakeSessions{evs: fixture587()}
			m := newLessonModel(t, 80, 24, f)
			s := openLessonNamed(t, m, name)
			cmd := s.follow(link)
			switch link.Kind {
			case content.LinkSession, content.LinkScenario:
				msg := runCmd(t, cmd)
				open, ok := msg.(openSessionMsg)
				if !ok {
					t.Errorf("%s link %d (%s): %T, status %q", name, i+1, link, msg, s.status)
					continue
				}
				if _, _, err := (scenario.Request{Name: open.req.Scenario, Port: open.req.Port, Variant: open.req.Variant}).Resolve(); open.req.Scenario != "" && err != nil {
					t.Errorf("%s link %d (%s): %v", name, i+1, link, err)
				}
				if open.req.Port != link.Port || open.req.Scenario != link.Scenario || open.req.Variant != link.Variant {
					t.Errorf("%s link %d (%s): request %+v", name, i+1, link, open.req)
				}
				if link.Port != 0 && open.req.Target != fakeLabInfo().Endpoints[link.Port] {
					t.Errorf("%s link %d (%s): target %q", name, i+1, link, open.req.Target)
				}
			case content.LinkLesson:
				if open, ok := runCmd(t, cmd).(openLessonMsg); !ok || open.name != link.Lesson {
					t.Errorf("%s link %d (%s): %+v", name, i+1, link, open)
				}
			case content.LinkReplay:
				open, ok := runCmd(t, cmd).(openReplayMsg)
				if !ok {
					t.Errorf("%s link %d (%s): the recording does not open", name, i+1, link)
					continue
				}
				pump(t, m, mustUpdate(t, m, open))
				if m.active != screenSession || session(m).req.Replay == "" || session(m).state == stateFailed {
					t.Errorf("%s link %d (%s): screen %v, %+v", name, i+1, link, m.active, session(m).err)
				}
			case content.LinkScan:
				if cmd != nil || !strings.Contains(s.status, "mailwire scan --lab") {
					t.Errorf("%s link %d (%s): status %q", name, i+1, link, s.status)
				}
				sc := &fakeScans{rep: scanRep}
				m.common.OpenScan = sc.open
				open, ok := runCmd(t, s.follow(link)).(openScanMsg)
				if !ok || len(open.req.Ports) != len(fakeLabInfo().Endpoints) {
					t.Errorf("%s link %d (%s): with scans, %+v", name, i+1, link, open)
					continue
				}
				pump(t, m, mustUpdate(t, m, open))
				pump(t, m, mustUpdate(t, m, keyCode(tea.KeyEscape)))
				if m.active != screenLesson {
					t.Errorf("%s link %d (%s): esc from the scan went to screen %v, not back to the lesson", name, i+1, link, m.active)
				}
			}
		}
	}
}

// On a wide screen the text is laid out at most lessonMaxWidth wide.
func TestLessonWideScreen(t *testing.T) {
	m := newLessonModel(t, 160, 48, &fakeSessions{})
	s := openLessonNamed(t, m, "starttls")
	widest := 0
	for _, line := range strings.Split(s.vp.GetContent(), "\n") {
		widest = max(widest, ansi.StringWidth(strings.TrimRight(ansi.Strip(line), " ")))
	}
	if widest > lessonMaxWidth || widest < lessonMaxWidth-10 {
		t.Errorf("at 160 columns the widest line is %d, want about %d", widest, lessonMaxWidth)
	}
}

// tab chooses a link, enter and the link's number open it, and the
// footer says what enter opens or why it could not.
func TestLessonScreenKeys(t *testing.T) {
	f := &fakeSessions{evs: fixture587()}
	m := newLessonModel(t, 80, 24, f)
	s := openLessonNamed(t, m, "ports")
	if !strings.Contains(plain(m), "link 1 of") || !strings.Contains(plain(m), "mailwire 25") {
		t.Errorf("the footer does not say what enter opens:\n%s", plain(m))
	}
	mustUpdate(t, m, keyCode(tea.KeyTab))
	if s.sel != 1 || !strings.Contains(plain(m), "mailwire 587") {
		t.Errorf("tab: link %d", s.sel+1)
	}
	mustUpdate(t, m, tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift})
	mustUpdate(t, m, tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift})
	if s.sel != len(s.lesson.Try)-1 {
		t.Errorf("shift+tab twice from link 2: link %d", s.sel+1)
	}
	mustUpdate(t, m, keyCode(tea.KeyEnd))
	if !s.vp.AtBottom() {
		t.Error("end did not scroll to the bottom")
	}
	pump(t, m, mustUpdate(t, m, keyText('2')))
	if m.active != screenSession || len(f.reqs) != 1 || f.reqs[0].Port != 587 {
		t.Fatalf("2 opened screen %v, requests %+v", m.active, f.reqs)
	}
	pump(t, m, mustUpdate(t, m, keyCode(tea.KeyEscape)))
	if m.active != screenLesson {
		t.Fatalf("esc from the session went to screen %v, not back to the lesson", m.active)
	}
	// Without the lab, a session link says why and what to run instead.
	m = newModel(Options{StartLab: func(context.Context) (LabInfo, error) { return LabInfo{}, nil }, OpenSession: f.open})
	mustUpdate(t, m, tea.WindowSizeMsg{Width: 80, Height: 24})
	openLessonNamed(t, m, "ports")
	pump(t, m, mustUpdate(t, m, keyCode(tea.KeyEnter)))
	if m.active != screenLesson || !strings.Contains(plain(m), "the lab is still starting: mailwire 25") {
		t.Errorf("enter with the lab starting:\n%s", plain(m))
	}
	if !strings.Contains(m.helpView(), "open link") {
		t.Errorf("the help bar lacks the lesson's keys: %q", m.helpView())
	}
}

// brokenQuotes lists the lines (from 1) that follow a line of a block
// quote, are not blank and do not carry the quote's mark: glamour wrapped
// a quoted line and lost the mark.
func brokenQuotes(text string) []int {
	var bad []int
	lines := strings.Split(ansi.Strip(text), "\n")
	for i := 1; i < len(lines); i++ {
		prev, line := strings.TrimLeft(lines[i-1], " "), strings.TrimLeft(lines[i], " ")
		mark := func(l string) bool {
			return strings.HasPrefix(l, quoteMark) || strings.HasPrefix(l, quoteMarkPlain)
		}
		if mark(prev) && line != "" && !mark(line) {
			bad = append(bad, i+1)
		}
	}
	return bad
}

// runCmd runs a command and returns its message.
func runCmd(t *testing.T, cmd tea.Cmd) tea.Msg {
	t.Helper()
	if cmd == nil {
		return nil
	}
	return cmd()
}
