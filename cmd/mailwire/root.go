package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/scenario"
	"github.com/mailwire/mailwire/sessions/wire"
	"github.com/mailwire/mailwire/tui"
)

// tuiFlags are the flags of the root command, the terminal interface.
type tuiFlags struct {
	listen   string      // where its lab listens
	offset   int         // added to each canonical port
	stateDir string      // the lab's state directory
	scenario string      // a scenario to open on
	variant  string      // its variant
	budget   wire.Budget // every session's (--max-events, …)
	theme    string      // the interface's colours (tui.ParseTheme)
	present  bool        // presenter mode (--present)
}

// addTUIFlags adds the terminal interface's flags to the root command.
func addTUIFlags(cmd *cobra.Command, f *tuiFlags) {
	def := lab.DefaultOptions()
	f.listen, f.offset = def.ListenHost, def.PortOffset
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", f.listen, "loopback address the lab listens on (to expose it to a network: mailwire lab --listen)")
	fl.IntVar(&f.offset, "port-offset", f.offset, "added to each canonical port, from 0 to "+strconv.Itoa(maxPortOffset)+" (a taken port falls back to a free one)")
	addStateDirFlag(fl, &f.stateDir, false)
	fl.StringVar(&f.scenario, "scenario", "", "open on this scenario (list: print them), on PORT when given")
	fl.StringVar(&f.variant, "variant", "", "the scenario's variant (e.g. an attack: remove, replace, refuse, …)")
	addThemeFlag(fl, &f.theme)
	addPresentFlag(fl, &f.present)
	addBudgetFlags(fl, &f.budget)
}

// rootArgs takes at most one argument, a canonical port to open on; a
// word that is not one is an unknown command, as cobra says for a root
// without arguments, with its suggestions.
func rootArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if len(args) > 1 {
		return usageError(fmt.Errorf("want at most one PORT, got %q", args))
	}
	if _, err := openPort(args[0]); err == nil {
		return nil
	} else if _, nerr := strconv.Atoi(args[0]); nerr == nil {
		return usageError(err)
	}
	msg := fmt.Sprintf("unknown command %q for %q, nor a port to open on (25, 587, 465, 110, 995, 143, 993, 443)", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
	}
	return usageError(errors.New(msg))
}

// openPort parses the port argument: one of the canonical ports.
func openPort(arg string) (int, error) {
	n, err := strconv.Atoi(arg)
	if err != nil {
		return 0, fmt.Errorf("port %q: want a number", arg)
	}
	if _, err := sessions.OptionsForPort("", n); err != nil {
		return 0, err
	}
	return n, nil
}

// tuiOpen checks the port and scenario to open on, before anything
// starts; nil means the port table.
func tuiOpen(f tuiFlags, args []string) (*tui.SessionRequest, error) {
	var req tui.SessionRequest
	if len(args) == 1 {
		req.Port, _ = openPort(args[0]) // checked by rootArgs
	}
	if f.scenario == "" {
		if f.variant != "" {
			return nil, errors.New("--variant: only with --scenario")
		}
		if req.Port == 0 {
			return nil, nil
		}
		return &req, nil
	}
	s, r, err := scenario.Request{Name: f.scenario, Port: req.Port, Variant: f.variant}.Resolve()
	if err != nil {
		return nil, err
	}
	req.Scenario, req.Port, req.Variant = s.Name, r.Port, r.Variant
	return &req, nil
}

// needTerminal says why the terminal interface cannot run: it draws on
// standard output and reads keys from standard input, or from /dev/tty
// when standard input is redirected (as bubbletea does).
func needTerminal(in io.Reader, out io.Writer) error {
	const hint = "the terminal interface needs a terminal; without one, run `mailwire session` " +
		"(one annotated session: mailwire session --port 587) or `mailwire session --scenario NAME`"
	if fo, ok := out.(*os.File); !ok || !term.IsTerminal(fo.Fd()) {
		return errors.New(hint + " (standard output is not a terminal)")
	}
	if fi, ok := in.(*os.File); ok && term.IsTerminal(fi.Fd()) {
		return nil
	}
	tty, err := os.Open("/dev/tty")
	if err != nil {
		return errors.New(hint + " (no terminal to read keys from)")
	}
	tty.Close()
	return nil
}

// runTUI is the root command: the interactive port table, with a lab started
// in the background on loopback so every port can be tried for real; with
// a PORT or --scenario it opens on that session once the lab is up.
func runTUI(cmd *cobra.Command, args []string, f tuiFlags) error {
	if err := checkBudget(f.budget); err != nil {
		return usageError(err)
	}
	parent := cmd.Context()
	if parent == nil {
		parent = context.Background()
	}
	if f.scenario == "list" {
		port := 0
		if len(args) == 1 {
			port, _ = openPort(args[0])
		}
		return listScenarios(cmd.OutOrStdout(), "text", port)
	}
	if err := checkPortOffset(f.offset); err != nil {
		return usageError(err)
	}
	if !isLoopback(f.listen) {
		return usageError(fmt.Errorf("--listen %s: the terminal interface keeps its lab on loopback; "+
			"`mailwire lab --listen %s` exposes the lab to a network (and warns)", f.listen, f.listen))
	}
	open, err := tuiOpen(f, args)
	if err != nil {
		return usageError(err)
	}
	theme, err := parseTheme(f.theme)
	if err != nil {
		return err
	}
	if err := needTerminal(cmd.InOrStdin(), cmd.OutOrStdout()); err != nil {
		return usageError(err)
	}
	stateDir := f.stateDir
	var note string
	if stateDir == "" {
		// The note, if any, is for after the screen: nothing may be
		// written to the terminal while it is drawn.
		if stateDir, note = lab.ResolveStateDir(); stateDir == "" {
			return usageError(errors.New("no home directory for the lab's CA: pass --state-dir"))
		}
	}
	// $SSLKEYLOGFILE, warned about before the screen is drawn.
	keys, err := openKeyLog(cmd.ErrOrStderr(), "", "the sessions'")
	if err != nil {
		return err
	}
	defer keys.Close()
	ctx, cancel := context.WithCancel(parent)
	defer cancel()

	keeper := &labKeeper{listen: f.listen, offset: f.offset, stateDir: stateDir, budget: f.budget, keys: keys.writer()}
	// The connect form (c) types sessions against real servers, with the
	// defaults of mailwire connect: system roots, no flags.
	p := tea.NewProgram(tui.New(tui.Options{Context: ctx, StartLab: keeper.start, OpenSession: keeper.openSession, OpenScan: keeper.openScan,
		OpenPrompt: promptOpener(sessions.Options{Budget: f.budget, KeyLog: keys.writer()}, nil), RecentFile: tui.DefaultRecentFile(), Open: open, Theme: theme, Present: f.present}), tea.WithContext(ctx))
	_, runErr := p.Run()
	closeErr := keeper.close()
	if note != "" {
		fmt.Fprintf(cmd.ErrOrStderr(), "mailwire: note: %s\n", note)
	}
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
	listen   string      // the flags' address, port offset and state directory
	offset   int
	stateDir string
	limits   lab.Limits // zero: the lab's defaults (mailwire serve raises them for a class)
	mu       sync.Mutex
	lab      *lab.Lab
	closed   bool

	// keys is $SSLKEYLOGFILE's file, for the secrets of the sessions the
	// screen runs against the lab (their client side); nil when unset.
	keys io.Writer
}

func (k *labKeeper) start(ctx context.Context) (tui.LabInfo, error) {
	opts := lab.DefaultOptions()
	opts.ListenHost, opts.PortOffset, opts.StateDir = k.listen, k.offset, k.stateDir
	if k.limits != (lab.Limits{}) {
		opts.Limits = k.limits
	}
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
	k.lab = l
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
		env = scenarioRecorders(ctx, env, k.keys)
		sr := scenario.Request{Name: req.Scenario, Port: req.Port, Variant: req.Variant, Env: env}
		_, resolved, err := sr.Resolve()
		if err != nil {
			return nil, err
		}
		// What w saves: the header `mailwire session --scenario` writes.
		tui.ReportHeader(ctx, scenarioHeader(sr, resolved, "", time.Now()))
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
	req.TLS.Apply(&o) // a scan finding's session offers what its probe did
	// The session screen's export menu writes a pcap and a key log
	// from these (tui/export.go).
	o = withRecorders(ctx, o, k.keys)
	o = forLab(o, l, ep)
	// What w saves: the header `mailwire session --port N --record`
	// writes.
	tui.ReportHeader(ctx, sessionHeader(o, req.Port, true, time.Now()))
	return sessions.Stream(ctx, o), nil
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
