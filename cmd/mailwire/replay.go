package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/spf13/cobra"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions/render"
	"github.com/mailwire/mailwire/sessions/scenario"
	"github.com/mailwire/mailwire/sessions/wire"
	"github.com/mailwire/mailwire/tui"
)

// replayFlags are the flags of `mailwire replay`: the output's, as
// `mailwire session` has them (format, lens, reveal, hex, width, color),
// and the bounds of what a recording may hold.
type replayFlags struct {
	out     sessionFlags
	lim     render.RecordingLimits
	present bool // the screen in presenter mode (--present)
}

// newReplayCmd builds `mailwire replay FILE`: a recording (--record, or s
// in the session screen) opened offline in the session screen, or printed.
func newReplayCmd() *cobra.Command {
	f := replayFlags{out: sessionFlags{format: "text"}, lim: render.DefaultRecordingLimits()}
	cmd := &cobra.Command{
		Use:   "replay FILE|NAME",
		Short: "Open a recorded session offline, or print it",
		Long: "Open a recording (made with --record FILE, or saved from the session screen)\n" +
			"in the session screen, offline: both lenses, step mode, the scenario's panels\n" +
			"and the leg filter work as they did live; r plays it again. --present opens\n" +
			"it in presenter mode, for a class: step by step on a projector.\n\n" +
			"Without a terminal, or with --format, it prints the recording as\n" +
			"`mailwire session` prints a session: text, json (JSON Lines), markdown, html\n" +
			"(one self-contained page with both lenses; with --lens eavesdropper, that\n" +
			"lens alone). The\n" +
			"exit status is the recorded session's (3: unsafe), as it was live.\n\n" +
			"Passwords are masked in a recording unless it was made with\n" +
			"--reveal-secrets; --reveal prints those as they were sent.\n\n" +
			"NAME is a recording bundled in mailwire, made against its lab (the lessons'\n" +
			"replay links open them): " + strings.Join(content.RecordingNames(), ", ") + ".\n\n" + exitStatusHelp,
		Example: "  mailwire session --port 587 --record 587.jsonl && mailwire replay 587.jsonl\n" +
			"  mailwire replay scenario-too-early\n" +
			"  mailwire replay class.jsonl --present\n" +
			"  mailwire replay class.jsonl --format markdown > handout.md\n" +
			"  mailwire replay class.jsonl --format html > class.html\n" +
			"  mailwire replay strip.jsonl --lens eavesdropper --format text",
		Args:              usageArgs(cobra.ExactArgs(1)),
		ValidArgsFunction: completeRecordings,
		SilenceUsage:      true,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			screen := onTerminal(cmd.InOrStdin(), cmd.OutOrStdout()) && !cmd.Flags().Changed("format")
			if screen {
				for _, name := range screenRefused { // connect's: they shape a printed transcript
					if cmd.Flags().Changed(name) {
						return usageError(fmt.Errorf("--%s: for printing, with --format (on the screen: tab is the lens, p the passwords)", name))
					}
				}
				return runReplayScreen(ctx, args[0], f.lim, f.present)
			}
			if f.present {
				return usageError(errors.New("--present: for the screen, without --format (presenter mode is the session screen's)"))
			}
			return runReplayPrint(cmd.OutOrStdout(), cmd.ErrOrStderr(), args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.out.format, "format", f.out.format, "print as: text, json (JSON Lines), markdown, html")
	fl.TextVar(&f.out.lens, "lens", f.out.lens, "whose view: endpoint, or eavesdropper (only what a passive observer sees)")
	fl.BoolVar(&f.out.reveal, "reveal", false, "print passwords as recorded (a recording masks them unless made with --reveal-secrets)")
	fl.BoolVar(&f.out.hex, "hex", false, "add a hex+ASCII dump of the bytes (text format)")
	fl.StringVar(&f.out.notes, "notes", "", notesUsage)
	fl.IntVar(&f.out.width, "width", 0, "wrap text at this many columns (default: the terminal's width, else 100)")
	fl.StringVar(&f.out.forceColor, "color", "", "colour: always or never (default: on a terminal, unless NO_COLOR is set)")
	addPresentFlag(fl, &f.present)
	fl.IntVar(&f.lim.Events, "max-events", f.lim.Events, "most events a recording may hold")
	fl.IntVar(&f.lim.LineBytes, "max-line-bytes", f.lim.LineBytes, "longest line (one event) a recording may hold, in bytes")
	return cmd
}

// completeRecordings offers the bundled recordings' names, and the shell's
// files.
func completeRecordings(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []cobra.Completion
	for _, name := range content.RecordingNames() {
		out = append(out, name+"\ta recording bundled in mailwire")
	}
	return out, cobra.ShellCompDirectiveDefault
}

// replayPrinters print a recording's events in a format, as the live
// commands print a stream (printStream): the same events and lens.
var replayPrinters = map[string]func(w io.Writer, evs []wire.Event, o render.Options) error{
	"text":     render.Text,
	"json":     render.JSON,
	"markdown": render.Markdown,
	"html":     render.HTML, // one self-contained page: both lenses, or the eavesdropper's alone (issue 10)
}

// openRecording opens path (a file, else a bundled recording of that
// name: tui.OpenRecording) and reads its header.
func openRecording(path string, lim render.RecordingLimits) (io.ReadCloser, *render.RecordingReader, error) {
	f, err := tui.OpenRecording(path)
	if err != nil {
		return nil, nil, fmt.Errorf("replay: %w", err)
	}
	rr, err := render.NewRecordingReader(f, lim)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("replay %s: %w", wire.SafeString(path), err)
	}
	return f, rr, nil
}

// recordedScenario is the scenario a header names, as this mailwire
// knows it; ok is false for a plain session.
func recordedScenario(h render.RecordingHeader) (s scenario.Scenario, ok bool, err error) {
	if h.Scenario == nil {
		return s, false, nil
	}
	req := scenario.Request{Name: h.Scenario.Name, Port: h.Scenario.Port, Variant: h.Scenario.Variant}
	if s, _, err = req.Resolve(); err != nil {
		return s, false, fmt.Errorf("the recording's scenario: %w", err)
	}
	return s, true, nil
}

// runReplayPrint prints a recording in --format, framed as the live
// command frames it (a scenario's prose and summary), and returns the
// recorded session's outcome.
func runReplayPrint(out, errOut io.Writer, path string, f replayFlags) error {
	format := f.out.format
	print, ok := replayPrinters[format]
	if !ok {
		return usageError(fmt.Errorf("--format %q: want text, json, markdown or html", f.out.format))
	}
	if err := checkOutputFlags(sessionFlags{format: format, forceColor: f.out.forceColor, notes: f.out.notes}); err != nil {
		return err
	}
	file, rr, err := openRecording(path, f.lim)
	if err != nil {
		return err
	}
	defer file.Close()
	h := rr.Header()
	s, isScenario, err := recordedScenario(h)
	if err != nil {
		return fmt.Errorf("replay %s: %w", wire.SafeString(path), err)
	}
	var evs []wire.Event
	for {
		ev, err := rr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("replay %s: %w", wire.SafeString(path), err)
		}
		evs = append(evs, ev)
	}
	// A recording the session screen saved before mailwire wrote the
	// server name and the certificate check has them in its events.
	h = h.FromEvents(evs)
	fmt.Fprintf(errOut, "mailwire replay: %s\n", h.Describe())

	po := f.out.renderOptions()
	if b := h.Options.Budget; b != nil {
		po.LineWidth = b.LineWidth // as the live session cut its lines (--max-line)
	}
	f.out.format = format
	w := outputWriter(out, f.out, &po)
	// Headed as the live command headed it, with when it ran and which
	// mailwire recorded it.
	target := h.Target
	if h.Lab {
		target = ""
	}
	switch {
	case isScenario:
		headScenario(w, out, format, &po, s.Name, h.Scenario.Port, h.Scenario.Variant, target, h.RecordedAt, h.Mailwire)
	case h.LineMode:
		// connect's line mode: its own stderr line and warnings
		// (replayLineMode), its title and text header (lineModeTitle).
		replayLineMode(errOut, h, evs)
		po.Title = lineModeTitle(h)
		writeTextHeaderAt(w, out, format, po.Title, po, h.RecordedAt, h.Mailwire)
	default:
		// Titled as the live session titled it (runTitle of the same
		// header), and its stderr line said again.
		po.Title = "mailwire session: " + runTitle(h)
		fmt.Fprintf(errOut, "%s%s\n", po.Title, certCheckWords(h))
		writeTextHeaderAt(w, out, format, po.Title, po, h.RecordedAt, h.Mailwire)
	}
	if err := print(w, evs, po); err != nil {
		return fmt.Errorf("print recording: %w", err)
	}
	if isScenario {
		if err := scenarioOutro(w, format, po.Width, s, evs); err != nil {
			return err
		}
		return streamOutcome(evs, "recorded scenario "+s.Name, func(ev wire.Event) bool { return ev.Leg == "" })
	}
	return streamOutcome(evs, "recorded session", func(wire.Event) bool { return true })
}

// runReplayScreen opens the recording in the session screen. The screen
// reads a stream of events as it does live; here the stream comes from
// the file (tui.ReplayOpener), and r reads it again.
func runReplayScreen(ctx context.Context, path string, lim render.RecordingLimits, present bool) error {
	file, rr, err := openRecording(path, lim)
	if err != nil {
		return err
	}
	h := rr.Header()
	file.Close()
	if _, _, err := recordedScenario(h); err != nil {
		return fmt.Errorf("replay %s: %w", wire.SafeString(path), err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req := tui.ReplayRequest(h, path)
	p := tea.NewProgram(tui.New(tui.Options{Context: ctx, OpenSession: tui.ReplayOpener(path, lim, req), Connect: &req, Present: present}),
		tea.WithContext(ctx))
	if _, err := p.Run(); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("terminal interface: %w", err)
	}
	return nil
}
