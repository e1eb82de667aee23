package tui

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/mailwire/mailwire/sessions/wire"
)

// TestSharedProgram: a program served to a class (Options.Shared, mailwire
// serve) writes nothing to the host's disk: x does not open the export
// menu, c does not open the connect form without OpenPrompt, the recent
// targets' file is not kept; the full help says what is off.
func TestSharedProgram(t *testing.T) {
	dataHome, stateHome := t.TempDir(), t.TempDir()
	t.Setenv("XDG_DATA_HOME", dataHome)
	t.Setenv("XDG_STATE_HOME", stateHome)
	opts := Options{Shared: true, RecentFile: filepath.Join(stateHome, "recent.json"),
		StartLab: func(context.Context) (LabInfo, error) { return fakeLabInfo(), nil },
		OpenSession: func(context.Context, SessionRequest) (<-chan wire.Event, error) {
			ch := make(chan wire.Event)
			close(ch)
			return ch, nil
		}}
	m := newModel(opts)
	update(t, m, tea.WindowSizeMsg{Width: 100, Height: 30})
	update(t, m, labResultMsg{info: fakeLabInfo()})
	if m.common.recentFile != "" {
		t.Errorf("recent targets kept in %s", m.common.recentFile)
	}

	if cmd := press(m, "c"); cmd != nil {
		if _, ok := cmd().(openFormMsg); ok {
			t.Error("c opened the connect form")
		}
	}
	if strings.Contains(plain(m), "connect…") {
		t.Errorf("the help bar offers the connect form:\n%s", plain(m))
	}
	press(m, "?")
	for _, want := range []string{"x w export, save: off here", "c connect: lab only"} {
		// The help's columns pad the keys: compare words.
		if !strings.Contains(strings.Join(strings.Fields(plain(m)), " "), want) {
			t.Errorf("the full help does not say %q:\n%s", want, plain(m))
		}
	}
	press(m, "?")

	// The session screen: x is nothing.
	req := SessionRequest{Port: 587, Target: "127.0.0.1:10587", Proto: "smtp", TLSMode: "starttls", Label: "lab"}
	s := newSessionScreen(m.common, req)
	s.id = m.common.nextRun()
	s.state = stateRunning
	s.appendEvents(fixture587())
	s.received(sessionEventsMsg{id: s.id, done: true})
	m.screens[screenSession], m.active = s, screenSession
	update(t, m, tea.WindowSizeMsg{Width: 100, Height: 30})
	if cmd := press(m, "x"); cmd != nil {
		t.Errorf("x returned a command: %T", cmd())
	}
	if cmd := press(m, "w"); cmd != nil {
		t.Errorf("w returned a command: %T", cmd())
	}
	press(m, "?")
	if strings.Contains(plain(m), "save recording") {
		t.Errorf("the full help offers to save a recording:\n%s", plain(m))
	}
	press(m, "?")
	if strings.Contains(plain(m), "Export this session") {
		t.Errorf("x opened the export menu:\n%s", plain(m))
	}
	if cmd := press(m, "1"); cmd != nil {
		m.Update(cmd()) // whatever 1 does, its command runs
	}
	if entries, _ := os.ReadDir(dataHome); len(entries) > 0 {
		t.Errorf("files written under XDG_DATA_HOME: %v", entries)
	}

	// Not shared, with a prompt: both are there (the contrast).
	m2 := newModel(Options{OpenPrompt: func(context.Context, SessionRequest) (PromptHandle, <-chan wire.Event, error) {
		return nil, nil, nil
	}})
	if !m2.common.Keys.Export.Enabled() || !m2.common.Keys.Connect.Enabled() {
		t.Error("a program that is not shared lost its export or connect key")
	}
	// Shared with a prompt (mailwire serve --allow-targets): the form is
	// on, the exports still off.
	opts.OpenPrompt = m2.opts.OpenPrompt
	m3 := newModel(opts)
	if m3.common.Keys.Export.Enabled() || !m3.common.Keys.Connect.Enabled() {
		t.Error("shared with a prompt: want the connect form on and the exports off")
	}
}
