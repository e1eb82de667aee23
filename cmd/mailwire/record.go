package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/render"
	"github.com/mailwire/mailwire/sessions/scenario"
	"github.com/mailwire/mailwire/sessions/tlsmsg"
	"github.com/mailwire/mailwire/sessions/wire"
	"github.com/mailwire/mailwire/tui"
)

// --record FILE: the session, as it happens, saved to a recording
// (render.RecordingHeader; README "Recordings") that `mailwire replay`
// opens offline. Passwords are masked in the file unless
// --reveal-secrets: --reveal shows them on the screen, which is not the
// same as writing them to a disk.

// recordFlags are the flags of a recording, on session and connect.
type recordFlags struct {
	path   string
	reveal bool // --reveal-secrets
}

func addRecordFlags(fl *pflag.FlagSet, r *recordFlags) {
	fl.StringVar(&r.path, "record", "", "save the session to this file as a recording (JSON Lines with a header) for mailwire replay")
	fl.BoolVar(&r.reveal, "reveal-secrets", false, "keep passwords as sent in the --record file (by default they are masked)")
}

// check refuses --reveal-secrets without --record: it would do nothing.
func (r recordFlags) check() error {
	if r.reveal && r.path == "" {
		return usageError(errors.New("--reveal-secrets: only with --record FILE (it keeps the passwords in the recording)"))
	}
	return nil
}

// recordFile is an open --record file. Events are written as they come,
// so a session cut short leaves a recording that reads up to its last
// event.
type recordFile struct {
	path string
	f    *os.File
	bw   *bufio.Writer
	rec  *render.Recorder
	// mu: a run of mailwire connect's screen is recorded on its own
	// goroutine, and the file closed from another when the program ends.
	mu     sync.Mutex
	closed bool
	err    error
}

// createPrivate creates or truncates path for what only its owner should
// read (a recording, --keylog's secrets, a pcap, a cast): mode 0600, which
// an existing file gets too, as O_TRUNC keeps an existing file's mode.
func createPrivate(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// createRecording creates path (mode 0600: it names servers and users, and
// may hold passwords) and writes the header.
func createRecording(path string, h render.RecordingHeader, reveal bool) (*recordFile, error) {
	f, err := createPrivate(path)
	if err != nil {
		return nil, fmt.Errorf("--record: %w", err)
	}
	if h.Mailwire == "" {
		h.Mailwire = buildVersion() // as --version says it
	}
	if reveal {
		h.Secrets = render.SecretsRevealed
	}
	r := &recordFile{path: path, f: f, bw: bufio.NewWriter(f)}
	if r.rec, err = render.NewRecorder(r.bw, h); err != nil {
		f.Close()
		return nil, fmt.Errorf("--record %s: %w", path, err)
	}
	return r, nil
}

// event writes one event; the first error is kept for close. A nil
// recordFile records nothing, so callers need no branch.
func (r *recordFile) event(ev wire.Event) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil || r.closed {
		return
	}
	r.err = r.rec.Write(ev)
}

// close flushes and closes the file and says what was written.
func (r *recordFile) close() error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	err := r.err
	if ferr := r.bw.Flush(); err == nil {
		err = ferr
	}
	if cerr := r.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("--record %s: %w", r.path, err)
	}
	return nil
}

// summary says what close wrote, for stderr.
func (r *recordFile) summary() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	events := wire.GroupDigits(int64(r.rec.Events())) + " events"
	if r.rec.Events() == 1 {
		events = "1 event"
	}
	return fmt.Sprintf("recorded %s (%s) to %s", events, wire.FormatSize(r.rec.Bytes()), wire.SafeString(r.path))
}

// tee passes notify on and records each event.
func (r *recordFile) tee(notify func(wire.Event)) func(wire.Event) {
	if r == nil {
		return notify
	}
	return func(ev wire.Event) {
		r.event(ev)
		if notify != nil {
			notify(ev)
		}
	}
}

// sessionHeader is the header of a plain session run with options o on
// the canonical port whose rules it follows (lab: against the embedded
// lab), started at when; the caller sets what is not an option (Typed,
// LineMode). It is the one home of that header: --record writes it, and
// the session screen's save (w) and export write the one the opener
// reported (tui.ReportHeader: labKeeper.openSession, targetOpener,
// promptOpener), so that a session saved either way says the same. It
// holds no password. The server name is the one the session asks for,
// the default (the target's host, sessions.Options.ServerNameOrHost)
// included, so that a replay need not guess it; a session without TLS
// sends no ClientHello, so it asks for no name and checks no certificate,
// and its header names neither (a replay labelled it "SNI host").
func sessionHeader(o sessions.Options, port int, lab bool, when time.Time) render.RecordingHeader {
	h := render.RecordingHeader{
		RecordedAt: when,
		Target:     o.Target,
		Lab:        lab,
		Port:       port,
		Proto:      o.Proto,
		TLSMode:    string(o.TLSMode),
		Options: render.RecordingOptions{
			ServerName: o.ServerNameOrHost(), Verify: string(o.Verify), CAFile: o.CAFile,
			TLSMin: tlsVersionName(o.MinTLS), TLSMax: tlsVersionName(o.MaxTLS),
			EHLOName: o.EHLOName, User: o.Username, Auth: o.AuthMechanism,
			To: o.To, From: o.From, Fetch: o.Fetch, StopAfter: string(o.StopAfter),
			Budget: render.BudgetOf(o.Budget),
		},
	}
	if o.ReadTimeout > 0 && o.ReadTimeout != sessions.DefaultReadTimeout {
		h.Options.ReadTimeout = o.ReadTimeout.String() // zero is the default
	}
	if o.TLSMode == sessions.TLSNone {
		h.Options.ServerName, h.Options.Verify, h.Options.CAFile = "", "", ""
		h.Options.TLSMin, h.Options.TLSMax = "", ""
	}
	return h
}

// scenarioHeader is the header of a scenario run as req says, against
// target ("" for the lab), started at when.
func scenarioHeader(req scenario.Request, resolved scenario.Request, target string, when time.Time) render.RecordingHeader {
	env := req.Env
	h := render.RecordingHeader{
		RecordedAt: when,
		Target:     target,
		Lab:        target == "",
		Port:       resolved.Port,
		Scenario:   &render.RecordingScenario{Name: req.Name, Port: resolved.Port, Variant: resolved.Variant},
		Options: render.RecordingOptions{
			ServerName: env.ServerName, EHLOName: env.EHLOName, User: env.Username,
			TLSMax: tlsVersionName(env.MaxTLS), To: env.Recipient, Fetch: env.Fetch,
			Budget: render.BudgetOf(env.Budget),
		},
	}
	switch {
	case env.VerifyOff:
		h.Options.Verify = string(wire.VerifyOff)
	case target == "":
		h.Options.Verify = string(wire.VerifyPool)
	case env.RootCAs != nil:
		h.Options.Verify, h.Options.CAFile = string(wire.VerifyCAFile), env.CAFile
	default:
		h.Options.Verify = string(wire.VerifySystem)
	}
	return h
}

// requestHeader is the header of the run r that the TUI opened in target
// mode (mailwire connect), with the flags' options base: the options and
// the scenario environment its opener builds (requestOptions,
// targetScenario). The openers report it to the screen (tui.ReportHeader),
// whose save (w) writes it, and --record writes it: one header, however
// the file is made.
func requestHeader(base sessions.Options, r tui.SessionRequest) render.RecordingHeader {
	if r.Scenario != "" {
		sr, err := targetScenario(base, r)
		if err != nil {
			// It ran, so it was valid; the header takes what is known.
			sr = scenario.Request{Name: r.Scenario, Port: r.Port, Variant: r.Variant}
		}
		_, resolved, _ := sr.Resolve()
		h := scenarioHeader(sr, resolved, r.Target, time.Now())
		h.Options.CAFile, h.Options.User = r.CAFile, r.User
		return h
	}
	o, err := requestOptions(base, r)
	if err != nil {
		o = base // as for a scenario
	}
	h := sessionHeader(o, r.Port, false, time.Now())
	h.Typed = r.Prompt
	return h
}

func tlsVersionName(v uint16) string {
	if v == 0 {
		return ""
	}
	return tlsmsg.VersionName(v)
}

// runRecorder records the runs of the screen of mailwire connect: each
// run the screen opens starts the file again, so that when the program
// ends it holds the last session on screen, whose outcome the exit status
// reports.
type runRecorder struct {
	flags recordFlags
	base  sessions.Options // the flags' options, for each run's header
	mu    sync.Mutex
	cur   *recordFile
	err   error // the last run's error, for the end
}

// session wraps the screen's OpenSession: each run it opens is recorded.
func (rr *runRecorder) session(open func(context.Context, tui.SessionRequest) (<-chan wire.Event, error)) func(context.Context, tui.SessionRequest) (<-chan wire.Event, error) {
	if rr.flags.path == "" {
		return open
	}
	return func(ctx context.Context, r tui.SessionRequest) (<-chan wire.Event, error) {
		ch, err := open(ctx, r)
		if err != nil {
			return ch, err
		}
		return rr.wrap(ctx, r, ch), nil
	}
}

// prompt wraps the screen's OpenPrompt: each typed session is recorded.
func (rr *runRecorder) prompt(open func(context.Context, tui.SessionRequest) (tui.PromptHandle, <-chan wire.Event, error)) func(context.Context, tui.SessionRequest) (tui.PromptHandle, <-chan wire.Event, error) {
	if rr.flags.path == "" {
		return open
	}
	return func(ctx context.Context, r tui.SessionRequest) (tui.PromptHandle, <-chan wire.Event, error) {
		h, ch, err := open(ctx, r)
		if err != nil {
			return h, ch, err
		}
		return h, rr.wrap(ctx, r, ch), nil
	}
}

// wrap records ch, the stream of the run r, and passes it on.
func (rr *runRecorder) wrap(ctx context.Context, r tui.SessionRequest, ch <-chan wire.Event) <-chan wire.Event {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	if rr.cur != nil {
		rr.cur.close() // a new run replaces the old one
		rr.cur = nil
	}
	f, err := createRecording(rr.flags.path, requestHeader(rr.base, r), rr.flags.reveal)
	rr.err = err
	if err != nil {
		return ch // the session still runs; the error is reported at the end
	}
	rr.cur = f
	out := make(chan wire.Event, cap(ch))
	go func() {
		defer close(out)
		for ev := range ch {
			f.event(ev)
			select {
			case out <- ev:
			case <-ctx.Done():
				for ev := range ch { // the session's goroutine must finish
					f.event(ev)
				}
				return
			}
		}
	}()
	return out
}

// finish closes the last run's file and says what it holds.
func (rr *runRecorder) finish(errOut io.Writer) error {
	if rr.flags.path == "" {
		return nil
	}
	rr.mu.Lock()
	defer rr.mu.Unlock()
	if rr.err != nil {
		return rr.err
	}
	if rr.cur == nil {
		return nil
	}
	return rr.cur.finish(errOut, "mailwire connect", nil)
}

// open creates the --record file with header h; nil without --record.
func (r recordFlags) open(h render.RecordingHeader) (*recordFile, error) {
	if r.path == "" {
		return nil, nil
	}
	return createRecording(r.path, h, r.reveal)
}

// finish closes rec after a run whose result is outcome, says on errOut
// what it holds, and returns the result: a recording that failed fails a
// run that did not fail otherwise, and is reported beside one that did.
func (r *recordFile) finish(errOut io.Writer, who string, outcome error) error {
	if r == nil {
		return outcome
	}
	if err := r.close(); err != nil {
		if outcome == nil {
			return err
		}
		fmt.Fprintf(errOut, "%s: %v\n", who, err)
		return outcome
	}
	fmt.Fprintf(errOut, "%s: %s\n", who, r.summary())
	return outcome
}
