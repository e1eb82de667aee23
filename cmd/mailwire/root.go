package main

import (
	"context"
	"errors"
	"fmt"
	"sync"

	tea "charm.land/bubbletea/v2"
	"github.com/spf13/cobra"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/scenario"
	"github.com/mailwire/mailwire/sessions/wire"
	"github.com/mailwire/mailwire/tui"
)

// runTUI is the root command: the interactive port table, with a lab started
// in the background on loopback so every port can be tried for real.
func runTUI(cmd *cobra.Command, budget wire.Budget) error {
	if err := checkBudget(budget); err != nil {
		return usageError(err)
	}
	parent := cmd.Context()
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithCancel(parent)
	defer cancel()

	keeper := &labKeeper{budget: budget}
	// The connect form (c) types sessions against real servers, with the
	// defaults of mailwire connect: system roots, no flags.
	p := tea.NewProgram(tui.New(tui.Options{Context: ctx, StartLab: keeper.start, OpenSession: keeper.openSession,
		OpenPrompt: promptOpener(sessions.Options{Budget: budget}, nil), RecentFile: tui.DefaultRecentFile()}), tea.WithContext(ctx))
	_, runErr := p.Run()
	closeErr := keeper.close()
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		return fmt.Errorf("terminal interface: %w", runErr)
	}
	if closeErr != nil {
		return fmt.Errorf("stop lab: %w", closeErr)
	}
	return nil
}

// labKeeper starts the lab for the TUI (inside a tea.Cmd, so on another
// goroutine) and closes it when the program ends, even if the program ends
// while the lab is still starting.
type labKeeper struct {
	budget   wire.Budget // every session's (--max-events, …)
	mu       sync.Mutex
	lab      *lab.Lab
	stateDir string
	closed   bool
}

func (k *labKeeper) start(ctx context.Context) (tui.LabInfo, error) {
	opts := lab.DefaultOptions()
	// A taken port (another lab, a real mail server) must not stop the TUI:
	// the table shows each endpoint's actual address.
	opts.FallbackFreePort = true
	// Logf stays nil: anything written to the terminal would corrupt the
	// full-screen interface.
	l, err := lab.Start(ctx, opts)
	if err != nil {
		return tui.LabInfo{}, fmt.Errorf("start lab on %s: %w", opts.ListenHost, err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		_ = l.Close()
		return tui.LabInfo{}, errors.New("start lab: the program ended first")
	}
	k.lab, k.stateDir = l, opts.StateDir
	return labInfo(l, opts.ListenHost), nil
}

// openSession runs one session against the lab endpoint of req.Port, as
// `mailwire session --port N` does: the lab's host name as SNI, the
// certificate checked against the lab CA, the demo login.
func (k *labKeeper) openSession(ctx context.Context, req tui.SessionRequest) (<-chan wire.Event, error) {
	k.mu.Lock()
	l, stateDir := k.lab, k.stateDir
	k.mu.Unlock()
	if l == nil {
		return nil, errors.New("the lab is not running")
	}
	if req.Scenario != "" {
		env := scenario.LabEnv(l, stateDir)
		env.Budget = k.budget
		sr := scenario.Request{Name: req.Scenario, Port: req.Port, Variant: req.Variant, Env: env}
		if _, _, err := sr.Resolve(); err != nil {
			return nil, err
		}
		return scenario.Stream(ctx, sr), nil
	}
	ep, ok := l.Endpoint(req.Port)
	if !ok {
		return nil, fmt.Errorf("the lab has no endpoint for port %d", req.Port)
	}
	o, err := sessions.OptionsForPort(ep.Addr, req.Port)
	if err != nil {
		return nil, err
	}
	o.Budget = k.budget
	return sessions.Stream(ctx, forLab(o, l, ep)), nil
}

func (k *labKeeper) close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.closed = true
	if k.lab == nil {
		return nil
	}
	return k.lab.Close()
}

// labInfo is what the TUI shows of a running lab.
func labInfo(l *lab.Lab, host string) tui.LabInfo {
	info := tui.LabInfo{
		Endpoints:  map[int]string{},
		ListenHost: host,
		CAPath:     l.CAPath(),
		Hostname:   lab.Hostname,
		User:       lab.DemoUser,
		Password:   lab.DemoPassword,
	}
	for _, e := range l.Endpoints() {
		info.Endpoints[e.Canonical] = e.Addr
	}
	return info
}
