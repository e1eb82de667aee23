package tui

import (
	tea "charm.land/bubbletea/v2"
	"context"
	"testing"
)

// Options.Open opens a port's session, or a scenario, once the lab is
// ready (mailwire 587, mailwire --scenario too-early), with the lab's
// address; esc then leads to the port table.
func TestOpenOnStart(t *testing.T) {
	for _, tc := range []struct {
		open SessionRequest
		want SessionRequest
	}{
		{SessionRequest{Port: 465}, SessionRequest{Port: 465, Target: "127.0.0.1:10465", Proto: "smtp", TLSMode: "implicit", Label: "lab"}},
		{SessionRequest{Scenario: "too-early", Port: 143}, SessionRequest{Scenario: "too-early", Port: 143, Target: "127.0.0.1:10143",
			Proto: "imap", TLSMode: "starttls", Label: "lab"}},
		{SessionRequest{Scenario: "compare"}, SessionRequest{Scenario: "compare", Target: "127.0.0.1", Label: "lab"}},
	} {
		f := &fakeSessions{}
		info := fakeLabInfo()
		open := tc.open
		m := newModel(Options{
			StartLab:    func(context.Context) (LabInfo, error) { return info, nil },
			OpenSession: f.open,
			Open:        &open,
		})
		mustUpdate(t, m, tea.WindowSizeMsg{Width: 120, Height: 40})
		if m.active != screenPorts {
			t.Fatal("the session opened before the lab was ready")
		}
		pump(t, m, mustUpdate(t, m, labResultMsg{info: info}))
		if m.active != screenSession {
			t.Fatalf("%+v: the session screen did not open", tc.open)
		}
		f.mu.Lock()
		reqs := f.reqs
		f.mu.Unlock()
		if len(reqs) != 1 || reqs[0] != tc.want {
			t.Errorf("%+v: opened %+v, want %+v", tc.open, reqs, tc.want)
		}
		// Once only: a second lab result (never sent today) opens nothing.
		if req, ok := m.openOnStart(); ok {
			t.Errorf("opened again: %+v", req)
		}
		pump(t, m, mustUpdate(t, m, keyCode(tea.KeyEscape)))
		if m.active != screenPorts {
			t.Errorf("%+v: esc did not lead to the port table", tc.open)
		}
		if tc.open.Port != 0 && ports(m).Selected() != tc.open.Port {
			t.Errorf("%+v: the port table selects %d", tc.open, ports(m).Selected())
		}
	}

	// A lab that failed opens nothing: the port table says why.
	m := newModel(Options{StartLab: func(context.Context) (LabInfo, error) { return LabInfo{}, errLab },
		OpenSession: (&fakeSessions{}).open, Open: &SessionRequest{Port: 587}})
	mustUpdate(t, m, labResultMsg{err: errLab})
	if m.active != screenPorts {
		t.Error("a session opened without a lab")
	}
}
