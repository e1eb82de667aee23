package tui

import (
	"context"
	"errors"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/mailwire/mailwire/sessions/wire"
)

// The typed session: the session screen (its timeline, detail pane, lens
// and step mode, all unchanged) with the prompt under it. The session is
// opened with Common.OpenPrompt instead of OpenSession, and what is typed
// goes to its handle.
//
// Focus is on the prompt or on the timeline. On the prompt every key that
// can be protocol text is text (prompt.go); shift+tab moves to the
// timeline, where the session screen's keys work as usual, and shift+tab
// or esc come back. esc at the prompt leaves for the connect form, with
// this session's values.

// promptOpenedMsg carries the outcome of Common.OpenPrompt.
type promptOpenedMsg struct {
	id     int
	handle PromptHandle
	ch     <-chan wire.Event
	err    error
}

// openFormMsg asks the root for the connect form, filled in with req's
// values (from a typed session) or, without them, with the last target.
type openFormMsg struct {
	req  SessionRequest
	have bool
}

type promptScreen struct {
	*sessionScreen
	prompt *promptModel
	keys   promptKeys
	handle PromptHandle // the current run's
	// onTimeline: the timeline has the focus; else the prompt has.
	onTimeline bool
}

func newPromptScreen(c *Common, req SessionRequest) *promptScreen {
	s := &promptScreen{sessionScreen: newSessionScreen(c, req), keys: defaultPromptKeys()}
	s.prompt = newPromptModel(c, req.Proto, req.User)
	openPrompt := c.OpenPrompt
	s.open = func(ctx context.Context, id int, req SessionRequest) tea.Msg {
		if openPrompt == nil {
			return promptOpenedMsg{id: id, err: errors.New("typed sessions cannot be run in this mode")}
		}
		h, ch, err := openPrompt(ctx, req)
		return promptOpenedMsg{id: id, handle: h, ch: ch, err: err}
	}
	s.SetSize(defaultWidth, defaultHeight)
	return s
}

// typing says whether keys are text now: the root then keeps only ctrl+c
// and F1 for itself (no keyboard traps).
func (s *promptScreen) typing() bool { return !s.onTimeline || s.sessionScreen.typing() }

// SetSize gives the session screen all but the prompt's lines.
func (s *promptScreen) SetSize(width, height int) {
	s.sessionScreen.SetSize(width, max(headerLines+6, height-promptHeight))
	s.prompt.SetSize(width, promptHeight)
}

// View is the session screen with the prompt under it.
func (s *promptScreen) View() string {
	body := s.sessionScreen.View()
	if n := strings.Count(body, "\n") + 1; n < s.height {
		body += strings.Repeat("\n", s.height-n) // the prompt stays at the bottom
	}
	return body + "\n" + s.prompt.View()
}

// Update routes a message: the run's news to both, keys to the part that
// has the focus.
func (s *promptScreen) Update(msg tea.Msg) (screen, tea.Cmd) {
	switch msg := msg.(type) {
	case promptOpenedMsg:
		if msg.id != s.id {
			// A run the user already left: end it and let it finish.
			return s, endRun(msg.handle, msg.ch, nil)
		}
		s.handle = msg.handle
		if msg.handle != nil {
			s.prompt.attach(msg.handle)
		}
		_, cmd := s.sessionScreen.Update(sessionOpenedMsg{id: msg.id, ch: msg.ch, err: msg.err})
		return s, cmd
	case sessionEventsMsg:
		if msg.id == s.id {
			s.prompt.observe(msg.evs)
		}
	case tea.KeyPressMsg:
		return s, s.handleKey(msg)
	case tea.PasteMsg:
		if !s.onTimeline {
			cmd, _ := s.prompt.Update(msg)
			return s, cmd
		}
		return s, nil
	case tea.BackgroundColorMsg:
		s.prompt.restyle()
	}
	_, cmd := s.sessionScreen.Update(msg)
	return s, cmd
}

// handleKey gives a key to the prompt or to the timeline.
func (s *promptScreen) handleKey(msg tea.KeyPressMsg) tea.Cmd {
	k := s.c.Keys
	if !s.onTimeline {
		typing := s.prompt.mode == promptTyping
		switch {
		case typing && key.Matches(msg, s.keys.Focus):
			s.focusTimeline(true)
			return nil
		case typing && key.Matches(msg, s.keys.Back):
			return s.leave()
		case key.Matches(msg, k.PrevPage), key.Matches(msg, k.NextPage):
			// Page keys are never text: they scroll the timeline.
			_, cmd := s.sessionScreen.Update(msg)
			return cmd
		}
		cmd, _ := s.prompt.Update(msg)
		return cmd
	}
	if s.sessionScreen.typing() {
		// The search field (or a recording's file name) has the keys,
		// esc included.
		_, cmd := s.sessionScreen.Update(msg)
		return cmd
	}
	switch {
	case s.find.query != "" && key.Matches(msg, k.Back):
		// esc clears the search first, then goes back to the prompt.
		_, cmd := s.sessionScreen.Update(msg)
		return cmd
	case key.Matches(msg, s.keys.Focus), key.Matches(msg, k.Back):
		s.focusTimeline(false)
		return nil
	case key.Matches(msg, k.Scenarios):
		return nil // scenarios run from the port table
	case key.Matches(msg, k.Rerun):
		return s.reconnect()
	}
	_, cmd := s.sessionScreen.Update(msg)
	return cmd
}

func (s *promptScreen) focusTimeline(on bool) {
	s.onTimeline = on
	if on {
		s.prompt.input.Blur()
	} else {
		s.prompt.setMode(s.prompt.mode)
	}
}

// leave goes back to the connect form with this session's values; the
// session ends as at the end of input, in the background.
func (s *promptScreen) leave() tea.Cmd {
	stop := s.stop()
	req := s.req
	return tea.Batch(stop, func() tea.Msg { return openFormMsg{req: req, have: true} })
}

// reconnect runs the typed session again, on a new connection.
func (s *promptScreen) reconnect() tea.Cmd {
	stop := s.stop()
	s.prompt.attach(nil)
	s.onTimeline = false
	s.prompt.setMode(promptTyping)
	return tea.Batch(stop, s.start())
}

// stop ends the current run politely: the input is closed (the driver
// reads the answers still due, within its reply wait, and closes the
// connection without sending anything), the stream is drained, and only
// then is the run's context cancelled. A run still opening is left by its
// id: its promptOpenedMsg ends it.
func (s *promptScreen) stop() tea.Cmd {
	h, ch, cancel := s.handle, s.ch, s.cancel
	s.handle, s.ch, s.cancel = nil, nil, nil
	if ch == nil {
		s.id = s.c.nextRun() // a run still opening is now stale
		if cancel != nil {
			cancel()
		}
		return nil
	}
	return endRun(h, ch, cancel)
}

// endRun closes a typed session's input, drains its stream and then
// cancels its context, in a tea.Cmd.
func endRun(h PromptHandle, ch <-chan wire.Event, cancel context.CancelFunc) tea.Cmd {
	if h != nil {
		h.Close()
	}
	if ch == nil {
		if cancel != nil {
			cancel()
		}
		return nil
	}
	return func() tea.Msg {
		for range ch {
		}
		if cancel != nil {
			cancel()
		}
		return nil
	}
}

// ShortHelp lists the keys of the part that has the focus.
func (s *promptScreen) ShortHelp() []key.Binding {
	switch {
	case !s.onTimeline:
		return s.prompt.ShortHelp()
	case s.find.typing:
		return s.find.typingHelp()
	}
	k := s.c.Keys
	back := key.NewBinding(key.WithKeys("shift+tab", "esc"), key.WithHelp("shift+tab/esc", "prompt"))
	rerun := k.Rerun
	rerun.SetHelp("r", "reconnect")
	return append([]key.Binding{back}, append(s.tl.ShortHelp(), k.Lens, k.Step, k.Reveal, rerun)...)
}

// FullHelp lists the prompt's keys and the timeline's.
func (s *promptScreen) FullHelp() [][]key.Binding {
	k := s.c.Keys
	rerun := k.Rerun
	rerun.SetHelp("r", "reconnect")
	view := append([]key.Binding{k.Lens, k.Reveal}, s.detail.ShortHelp()...)
	return append(s.prompt.FullHelp(), s.tl.FullHelp()[0], append(view, rerun), s.step.FullHelp()[0], s.findHelp())
}
