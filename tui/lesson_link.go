package tui

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/render"
)

// Which lesson l opens, and what a lesson's links open. The topics of a
// screen are what it shows (a port, a session, a scenario, a finding),
// most specific first; content.LessonFor says which lesson has one. A
// link (content.Link) is followed by one function, followLink.

// lessonTopics are the topics of the screen in front, most specific first
// (content/lessons.go describes them).
func (m *Model) lessonTopics() []string {
	switch s := m.screens[m.active].(type) {
	case *portsScreen:
		return []string{"port:" + strconv.Itoa(s.Selected()), "screen:ports"}
	case *sessionScreen:
		return requestTopics(s.req)
	case *promptScreen:
		return append(requestTopics(s.req), "screen:connect")
	case *formScreen:
		return []string{"screen:connect"}
	case *pickerScreen:
		if s.scen.Name != "" {
			return []string{"scenario:" + s.scen.Name, "screen:ports"}
		}
		return []string{"screen:ports"}
	case *monitorScreen:
		// The monitor flags clients that log in before TLS or ignore
		// STARTTLS: what STARTTLS gets wrong.
		return []string{"screen:monitor"}
	case *scanScreen:
		if f, ok := s.selected(); ok {
			prefix, _, _ := strings.Cut(f.Key, ".")
			return []string{"finding:" + prefix, "screen:scan"}
		}
		return []string{"screen:scan"}
	}
	return []string{"screen:ports"}
}

// requestTopics are a session's topics: its scenario, else its port.
func requestTopics(r SessionRequest) []string {
	if r.Scenario != "" {
		return []string{"scenario:" + r.Scenario, "session:" + strconv.Itoa(r.Port)}
	}
	return []string{"session:" + strconv.Itoa(r.Port)}
}

// openLesson opens the lesson on the topic of the screen in front (l), at
// the heading of that topic.
func (m *Model) openLesson() tea.Cmd {
	for _, topic := range m.lessonTopics() {
		if l, ok := content.LessonFor(topic); ok {
			msg := openLessonMsg{name: l.Name, anchor: l.Anchor(topic), from: m.active}
			return func() tea.Msg { return msg }
		}
	}
	msg := openLessonMsg{name: content.LessonOrder[0], from: m.active}
	return func() tea.Msg { return msg }
}

// openReplayMsg asks the root to open the session screen on a recording
// (a lesson's replay link), as `mailwire replay` does.
type openReplayMsg struct {
	req  SessionRequest
	name string // the bundled recording's
}

// lessonStatusMsg tells the lesson screen why a link did not open.
type lessonStatusMsg struct{ text string }

// navigateLesson opens a lesson or a replay over the screen in front: the
// root's navigate for the messages of lesson.go.
func (m *Model) navigateLesson(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case openLessonMsg:
		l, ok := content.LessonByName(msg.name)
		if !ok {
			return nil
		}
		from := msg.from
		if old, ok := m.screens[screenLesson].(*lessonScreen); ok && m.active == screenLesson {
			from = old.from // a lesson opened from a lesson goes back where that one would
		}
		m.screens[screenLesson] = newLessonScreen(m.common, l, msg.anchor, from, m.noColor)
		m.active = screenLesson
		m.resize()
		return nil
	case openReplayMsg:
		var drain tea.Cmd
		if old, ok := m.screens[screenSession].(interface{ stop() tea.Cmd }); ok {
			drain = old.stop()
		}
		s := newSessionScreen(m.common, msg.req)
		open := BundledReplayOpener(msg.name, render.DefaultRecordingLimits(), msg.req)
		s.open = func(ctx context.Context, id int, req SessionRequest) tea.Msg {
			ch, err := open(ctx, req)
			return sessionOpenedMsg{id: id, ch: ch, err: err}
		}
		m.screens[screenSession] = s
		m.sessionFrom = m.active
		m.active = screenSession
		m.resize()
		return tea.Batch(drain, s.Init())
	case lessonStatusMsg:
		if s, ok := m.screens[screenLesson].(*lessonScreen); ok {
			s.status = msg.text
		}
	}
	return nil
}

// followLink is what a lesson's link opens: a live session or scenario
// against the lab, another lesson, a recording, the lab's scan. What
// cannot open here says why, with the command that opens it.
func (s *lessonScreen) follow(l content.Link) tea.Cmd {
	c := s.c
	switch l.Kind {
	case content.LinkLesson:
		msg := openLessonMsg{name: l.Lesson, from: s.from}
		return func() tea.Msg { return msg }
	case content.LinkSession, content.LinkScenario:
		req, why := c.labRequest(l.Port, l.Scenario, l.Variant)
		if why != "" {
			s.status = why + ": " + l.Command()
			return nil
		}
		return func() tea.Msg { return openSessionMsg{req: req} }
	case content.LinkReplay:
		return openFixture(l) // offline: no lab needed
	case content.LinkScan:
		if c.OpenScan == nil || c.Lab.State != labReady {
			s.status = "the lab's scan runs from the command line: " + l.Command()
			return nil
		}
		return func() tea.Msg { return openScanMsg{req: c.labScanRequest()} }
	}
	return nil
}

// labRequest is the session of a port, or of a scenario (port 0: its
// default), against the lab, as enter on the port table or the picker
// runs it; why says why there is none.
func (c *Common) labRequest(port int, scenario, variant string) (req SessionRequest, why string) {
	switch {
	case c.OpenSession == nil:
		return req, "sessions cannot be run here"
	case c.Lab.State == labStarting:
		return req, "the lab is still starting"
	case c.Lab.State != labReady:
		return req, "these links run against the lab, which is not running"
	}
	req = SessionRequest{Port: port, Scenario: scenario, Variant: variant, Label: "lab", Target: c.Lab.Info.ListenHost}
	if addr, ok := c.Lab.Info.Endpoints[port]; ok && addr != "" {
		req.Target = addr
		if so, err := sessions.OptionsForPort(addr, port); err == nil {
			req.Proto, req.TLSMode = so.Proto, string(so.TLSMode)
		}
	}
	return req, ""
}

// labScanRequest is the scan of every port of the lab.
func (c *Common) labScanRequest() ScanRequest {
	info := c.Lab.Info
	req := ScanRequest{Host: info.ListenHost, ServerName: info.Hostname, CAFile: info.CAPath, Addrs: map[int]string{}}
	for _, p := range info.Ports() {
		req.Ports = append(req.Ports, p)
		req.Addrs[p] = info.Endpoints[p]
	}
	return req
}

// openFixture reads a replay link's bundled recording's header, in a
// command (reading is I/O), and asks the root to open it.
func openFixture(l content.Link) tea.Cmd {
	return func() tea.Msg {
		f, err := content.OpenRecording(l.Fixture)
		if err != nil {
			return lessonStatusMsg{text: "replay: " + err.Error()}
		}
		defer f.Close()
		rr, err := render.NewRecordingReader(f, render.DefaultRecordingLimits())
		if err != nil {
			return lessonStatusMsg{text: fmt.Sprintf("replay %s: %v", l.Fixture, err)}
		}
		return openReplayMsg{req: ReplayRequest(rr.Header(), l.Fixture), name: l.Fixture}
	}
}

// fullGlobalKeys are the full help's column of the keys of every screen:
// l for the lesson on the screen's topic, then ? and q. The one-line help
// keeps its room for the screen's own keys.
func (m *Model) fullGlobalKeys() []key.Binding {
	if m.typing() || m.active == screenLesson {
		return m.globalKeys()
	}
	return append([]key.Binding{m.common.Keys.Lesson}, m.globalKeys()...)
}
