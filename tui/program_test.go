package tui

import (
	"bytes"
	"context"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/exp/teatest/v2"
)

// TestProgramSmoke runs the whole program: the lab info arrives from a fake
// StartLab, the user navigates and opens an endpoint, then quits.
func TestProgramSmoke(t *testing.T) {
	started := make(chan struct{})
	opts := Options{StartLab: func(ctx context.Context) (LabInfo, error) {
		close(started)
		return fakeLabInfo(), nil
	}}
	tm := teatest.NewTestModel(t, New(opts),
		teatest.WithInitialTermSize(120, 40),
		teatest.WithProgramOptions(
			tea.WithEnvironment([]string{"TERM=xterm-256color"}),
			tea.WithColorProfile(colorprofile.ANSI256),
		),
	)
	waitFor := func(what string) {
		t.Helper()
		teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
			return bytes.Contains(b, []byte(what))
		}, teatest.WithDuration(5*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
	}
	waitFor("correct-horse") // text drawn where the screen was blank: the renderer sends it whole
	select {
	case <-started:
	default:
		t.Fatal("StartLab was not called")
	}
	tm.Send(tea.KeyPressMsg{Code: tea.KeyDown})
	tm.Send(tea.KeyPressMsg{Code: tea.KeyRight})
	waitFor("over implicit TLS")
	tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
	waitFor("s_client")
	tm.Send(tea.KeyPressMsg{Code: 'q', Text: "q"})
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))

	final, ok := tm.FinalModel(t).(*Model)
	if !ok {
		t.Fatalf("final model is %T", tm.FinalModel(t))
	}
	p := ports(final)
	if p.Selected() != 465 || p.mode != modeEndpoint {
		t.Errorf("final state: port %d mode %d, want 465 in the endpoint view", p.Selected(), p.mode)
	}
	if final.common.Lab.State != labReady {
		t.Errorf("lab state %d, want ready", final.common.Lab.State)
	}
}
