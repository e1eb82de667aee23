package tui

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/wire"
)

// TestPromptProgramLab runs the whole program on a typed session against
// the lab's 587 (issue 9 §2): EHLO, STARTTLS, EHLO, a login through the
// AUTH helper's masked field, QUIT, each typed as a person would.
func TestPromptProgramLab(t *testing.T) {
	l, err := lab.Start(context.Background(), lab.Options{ListenHost: "127.0.0.1", AnyPort: true, StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ep, _ := l.Endpoint(587)
	var handle *sessions.Prompt
	var evs []wire.Event
	done := make(chan struct{})
	open := func(ctx context.Context, req SessionRequest) (PromptHandle, <-chan wire.Event, error) {
		o, err := sessions.OptionsForPort(req.Target, req.Port)
		if err != nil {
			return nil, nil, err
		}
		o.ServerName, o.Verify, o.RootCAs = lab.Hostname, wire.VerifyPool, l.RootCAs()
		o.ReadTimeout = 5 * time.Second
		handle = sessions.StartPrompt(ctx, o, sessions.InteractiveOptions{ConfirmCleartext: true})
		out := make(chan wire.Event, 64)
		go func() { // keep a copy of the stream for the checks below
			defer close(done)
			defer close(out)
			for ev := range handle.Events() {
				evs = append(evs, ev)
				out <- ev
			}
		}()
		return handle, out, nil
	}
	req := SessionRequest{Port: 587, Target: ep.Addr, Proto: "smtp", TLSMode: "starttls", Label: "lab", Prompt: true, User: lab.DemoUser}
	tm := teatest.NewTestModel(t, New(Options{OpenPrompt: open, Connect: &req, RecentFile: filepath.Join(t.TempDir(), "recent.json")}),
		teatest.WithInitialTermSize(120, 40),
		teatest.WithProgramOptions(
			tea.WithEnvironment([]string{"TERM=xterm-256color"}),
			tea.WithColorProfile(colorprofile.ANSI256),
		),
	)
	waitFor := func(what string) {
		t.Helper()
		teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte(what)) },
			teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
	}
	typeLine := func(s string) {
		for _, r := range s {
			tm.Send(tea.KeyPressMsg{Code: r, Text: string(r)})
		}
		tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
	}
	waitFor("ESMTP")
	typeLine("EHLO me.test")
	waitFor("STARTTLS")
	typeLine("STARTTLS")
	waitFor("SMTP TLS")
	typeLine("EHLO me.test")
	waitFor("AUTH")
	tm.Send(tea.KeyPressMsg{Code: 'a', Mod: tea.ModCtrl})
	waitFor("AUTH helper")
	for _, r := range lab.DemoPassword {
		tm.Send(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
	waitFor("235")
	typeLine("QUIT")
	waitFor("221")
	tm.Send(tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl})
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the session did not end")
	}

	var sent []string
	var login *wire.Event
	for i, ev := range evs {
		if ev.Kind == wire.KindError {
			t.Errorf("error: %s", ev.Text)
		}
		if ev.Kind == wire.KindLine && ev.Dir == wire.ClientToServer {
			sent = append(sent, ev.Line.Command)
		}
		if ev.Credential != nil && ev.Credential.Password != "" {
			login = &evs[i]
		}
	}
	if want := []string{"EHLO", "STARTTLS", "EHLO", "AUTH", "QUIT"}; len(sent) != len(want) {
		t.Errorf("sent %v, want %v", sent, want)
	}
	if login == nil || login.Credential.OnWire || login.Credential.Password != lab.DemoPassword {
		t.Errorf("login %+v: want the helper's, inside TLS", login)
	}
	final := tm.FinalModel(t).(*Model)
	s := final.screens[screenSession].(*promptScreen)
	if !s.prompt.ended {
		t.Error("the prompt did not see the session end")
	}
}
