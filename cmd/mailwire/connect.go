package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/scenario"
	"github.com/mailwire/mailwire/sessions/wire"
	"github.com/mailwire/mailwire/tui"
)

// connectFlags are the flags of `mailwire connect`. They map onto
// sessionFlags so that connect and session build their sessions.Options the
// same way (sessionOptions in session.go).
type connectFlags struct {
	proto, tlsMode, sni, caFile, user, password, tlsMax string
	insecure                                            bool
	timeout                                             time.Duration
	theme                                               string // the screen's colours (parseTheme)
	// side holds what the session does on the server: --to, --from,
	// --stop-after, --fetch (addSideEffectFlags).
	side sessionFlags
}

// newConnectCmd builds `mailwire connect HOST[:PORT]`: a session typed by
// hand against a server, on the terminal interface's prompt, or from lines
// on standard input.
func newConnectCmd() *cobra.Command {
	f := connectFlags{side: sessionFlags{format: "text"}}
	cmd := &cobra.Command{
		// TARGET, not HOST[:PORT]: fang's help shows a bracketed part
		// as a separate optional argument ("connect HOST [:PORT]").
		Use:   "connect TARGET",
		Short: "Talk to a server by hand, with every line and reply annotated",
		Long: "Connect to a mail server, TARGET (HOST or HOST:PORT), and type the protocol\n" +
			"yourself: every line is sent exactly as typed (CRLF added), and the replies\n" +
			"come back annotated in the session screen's timeline. Typing STARTTLS (STLS,\n" +
			"or a tagged STARTTLS in IMAP) upgrades the connection and dissects the\n" +
			"handshake. Nothing is sent that you did not type: no EHLO, no QUIT. On the\n" +
			"terminal, keys that cannot be protocol text act for mailwire (ctrl+a: AUTH\n" +
			"helper, ctrl+d: end, esc: back).\n\n" +
			"Without a terminal (standard input or output redirected, or --format given)\n" +
			"it reads lines from standard input, sends each after the server answered\n" +
			"the one before (at most 15 s each, or --timeout), and prints the annotated\n" +
			"transcript, as openssl s_client does, but annotated.\n\n" +
			"The protocol comes from --proto, else from the port (25, 587, 465, 110, 995,\n" +
			"143, 993); the port from PORT, else from the protocol and --tls. The\n" +
			"certificate is checked against the system roots, or --ca-file. A password\n" +
			"typed before TLS is held for confirmation on the terminal and warned about\n" +
			"in line mode (exit status 3). HTTPS (443) plays its scripted session.\n\n" + exitStatusHelp,
		Example: "  mailwire connect smtp.example.org:587\n" +
			"  mailwire connect imap.example.org --proto imap --tls implicit --user me\n" +
			"  printf 'EHLO me\\r\\nSTARTTLS\\r\\nEHLO me\\r\\nQUIT\\r\\n' | mailwire connect mx.example.org:25\n" +
			"  mailwire connect 127.0.0.1:10143 --sni mail.lab.test --ca-file ~/.local/state/mailwire/lab/ca.pem",
		Args:         connectArgs,
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			target, err := connectTarget(cmd, args)
			if err != nil {
				return err
			}
			o, req, err := connectOptions(target, f)
			if err != nil {
				return err
			}
			theme, err := parseTheme(f.theme)
			if err != nil {
				return err
			}
			// The scripted sessions' EHLO name: connect has no --ehlo.
			o.EHLOName = configEHLO(cmd.Context())
			if err := checkOutputFlags(f.side); err != nil {
				return err
			}
			lineMode := !onTerminal(cmd.InOrStdin(), cmd.OutOrStdout()) || cmd.Flags().Changed("format")
			if err := checkMode(lineMode, cmd.Flags().Changed); err != nil {
				return err
			}
			// $SSLKEYLOGFILE: the sessions' secrets, line mode's or the
			// screen's (whose openers take it from o.KeyLog: withRecorders).
			keys, err := openKeyLog(cmd.ErrOrStderr(), "", "these sessions'")
			if err != nil {
				return err
			}
			defer keys.Close()
			o.KeyLog = keys.writer()
			if lineMode {
				return runConnectLines(ctx, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr(), o, req.Port, f)
			}
			// On the screen the AUTH helper asks for the password in a
			// masked field; the scripted sessions of the port table log
			// in only with one given by --password or $MAILWIRE_PASSWORD.
			if o.Password == "" {
				o.Password = os.Getenv(envPassword)
			}
			req.Prompt = o.Proto != protocol.HTTPS
			req.ServerName, req.CAFile, req.User = f.sni, f.caFile, f.user
			return runConnect(ctx, cmd.ErrOrStderr(), o, req, f.side.record, theme)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.proto, "proto", "", "protocol: smtp, pop3, imap, https (default: from the port, else smtp)")
	fl.StringVar(&f.tlsMode, "tls", "", "the TLS mode: starttls, implicit, none (default: the port's own)")
	fl.StringVar(&f.sni, "sni", "", "server name to send (SNI) and verify the certificate against (default: HOST)")
	fl.StringVar(&f.caFile, "ca-file", "", "verify the server certificate with the CAs in this PEM file")
	fl.BoolVar(&f.insecure, "insecure", false, "do not enforce certificate verification (the result is still shown)")
	fl.StringVar(&f.user, "user", "", "user name for the AUTH helper and the scripted sessions (terminal only)")
	fl.StringVar(&f.password, "password", "", "password (visible to other local users in the process list: prefer $MAILWIRE_PASSWORD)")
	fl.StringVar(&f.tlsMax, "tls-max", "", tlsMaxUsage)
	fl.DurationVar(&f.timeout, "timeout", 0, "limit for the whole session (default: 1h typed or piped, 30s scripted), and for each answer when shorter than 15s")
	fl.StringVar(&f.side.format, "format", f.side.format, "line mode's output: text, json (JSON Lines), markdown, html")
	fl.TextVar(&f.side.lens, "lens", f.side.lens, "line mode: endpoint, or eavesdropper (only what a passive observer sees)")
	fl.BoolVar(&f.side.reveal, "reveal", false, "line mode: print passwords instead of masking them")
	fl.BoolVar(&f.side.hex, "hex", false, "line mode: add a hex+ASCII dump of the bytes (text format)")
	fl.StringVar(&f.side.notes, "notes", "", "line mode: "+notesUsage)
	fl.IntVar(&f.side.width, "width", 0, "line mode: wrap text at this many columns (default: the terminal's width, else 100)")
	fl.StringVar(&f.side.forceColor, "color", "", "line mode: colour always or never (default: on a terminal, unless NO_COLOR is set)")
	addThemeFlag(fl, &f.theme)
	addSideEffectFlags(fl, &f.side)
	addBudgetFlags(fl, &f.side.budget)
	addRecordFlags(fl, &f.side.record)
	cmd.MarkFlagsMutuallyExclusive("ca-file", "insecure")
	return cmd
}

// connectArgs wants one HOST[:PORT]; without it (and without a default
// target in the configuration file) the usage line is part of the error
// (exit status 2).
func connectArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		// Perhaps the configuration's client.default_target, read
		// after the arguments are checked (connectTarget).
		return nil
	}
	if err := cobra.ExactArgs(1)(cmd, args); err != nil {
		return usageError(fmt.Errorf("%w\nusage: %s", err, cmd.UseLine()))
	}
	return nil
}

// onTerminal says whether both ends of the conversation are a terminal:
// the screen needs to draw on out and read keys from in. A variable, so
// that tests can stand in for a terminal.
var onTerminal = func(in io.Reader, out io.Writer) bool {
	fi, ok := in.(*os.File)
	fo, ok2 := out.(*os.File)
	return ok && ok2 && term.IsTerminal(fi.Fd()) && term.IsTerminal(fo.Fd())
}

// screenRefused are the flags that shape a printed transcript (connect's
// line mode, replay with --format): the screen draws its own, so they
// would do nothing there, which is a usage error rather than a silent
// no-op (--format is what selects printing). replay refuses them too.
var screenRefused = []string{"notes", "lens", "hex", "width", "reveal", "color"}

// checkMode refuses the flags that do nothing in the mode chosen.
func checkMode(lineMode bool, changed func(string) bool) error {
	if lineMode {
		return checkLineMode(changed)
	}
	for _, name := range screenRefused {
		if changed(name) {
			return usageError(fmt.Errorf("--%s shapes line mode's transcript (piped, or with --format); on the screen, tab switches the lens and p shows the passwords", name))
		}
	}
	return nil
}

// lineModeRefused are the flags that shape a scripted session or the
// screen's helper: in line mode only the lines read are sent, so they
// would do nothing, which is a usage error rather than a silent no-op.
var lineModeRefused = []string{"user", "password", "to", "from", "stop-after", "fetch"}

func checkLineMode(changed func(string) bool) error {
	for _, name := range lineModeRefused {
		if changed(name) {
			return usageError(fmt.Errorf("--%s: in line mode mailwire sends only the lines it reads; put the command in the input (an AUTH, USER/PASS or LOGIN line is decoded and masked in the transcript)", name))
		}
	}
	return nil
}

// runConnectLines is line mode: standard input's lines are sent one by
// one, each after the server answered the one before, and the transcript
// is printed as `mailwire session` prints it. The exit status follows the
// events (streamOutcome).
func runConnectLines(ctx context.Context, in io.Reader, out, errOut io.Writer, o sessions.Options, port int, f connectFlags) error {
	po := f.side.renderOptions()
	w := outputWriter(out, f.side, &po)
	if o.Proto == protocol.HTTPS {
		return usageError(errors.New("line mode speaks SMTP, POP3 and IMAP; for HTTPS run `mailwire session --target HOST:443`"))
	}
	// The line is the recording header's, as a replay says it again.
	h := sessionHeader(o, port, false, time.Now())
	h.Typed, h.LineMode = true, true
	fmt.Fprintln(errOut, "mailwire connect: "+lineModeWords(h))
	po.Title = lineModeTitle(h)
	writeTextHeaderAt(w, out, f.side.format, po.Title, po, h.RecordedAt, buildVersion())
	warn := func(ev wire.Event) {
		if w := lineModeWarning(ev); w != "" {
			fmt.Fprintln(errOut, w)
		}
	}
	ch := sessions.StreamLines(ctx, o, in, sessions.InteractiveOptions{Lockstep: true})
	rec, err := f.side.record.open(h)
	if err != nil {
		return err
	}
	evs, err := printStream(w, f.side.format, po, ch, rec.tee(warn))
	if err != nil {
		rec.close()
		return err
	}
	return rec.finish(errOut, "mailwire connect", streamOutcome(evs, "session", func(wire.Event) bool { return true }))
}

// connectOptions turns HOST[:PORT] and the flags into session options and
// the request the TUI shows. The port decides the protocol when --proto is
// not given (sessionOptions: a canonical port names its protocol and TLS
// mode); a missing port comes from the protocol and TLS mode.
func connectOptions(target string, f connectFlags) (sessions.Options, tui.SessionRequest, error) {
	if target == "" || strings.ContainsAny(target, " /") {
		return sessions.Options{}, tui.SessionRequest{}, usageError(fmt.Errorf("target %q: want HOST or HOST:PORT", target))
	}
	sf := sessionFlags{
		proto: f.proto, tlsMode: f.tlsMode, target: target, tlsMax: f.tlsMax, sni: f.sni,
		user: f.user, password: f.password, caFile: f.caFile, insecure: f.insecure, timeout: f.timeout,
		to: f.side.to, from: f.side.from, stopAfter: f.side.stopAfter, fetch: f.side.fetch, budget: f.side.budget,
	}

	o, port, err := sessionOptions(sf)
	if err != nil {
		return o, tui.SessionRequest{}, err
	}
	o.Target = withPort(target, port)
	host, p, err := net.SplitHostPort(o.Target)
	if err != nil || host == "" {
		return o, tui.SessionRequest{}, usageError(fmt.Errorf("target %q: want HOST or HOST:PORT", target))
	}
	if n, err := strconv.ParseUint(p, 10, 16); err != nil || n == 0 {
		return o, tui.SessionRequest{}, usageError(fmt.Errorf("target %q: bad port %q", target, p))
	}
	if err := o.Validate(); err != nil {
		return o, tui.SessionRequest{}, usageError(err)
	}
	label := tui.SessionLabel(string(o.TLSMode), o.ServerNameOrHost(), string(o.Verify))
	req := tui.SessionRequest{Port: port, Target: o.Target, Proto: o.Proto, TLSMode: string(o.TLSMode), Label: label}
	return o, req, nil
}

// runConnect runs the TUI in target mode: a typed session on req first
// (HTTPS, which has no prompt, plays its scripted session), then whatever
// the user opens from the connect form or the port table, all against real
// servers, built from the flags (base) and each request. The exit status
// is the last run's, as for `mailwire session`.
func runConnect(ctx context.Context, errOut io.Writer, base sessions.Options, req tui.SessionRequest, rf recordFlags, theme tui.Theme) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var last runRecord
	// --record: the last session on screen, as the exit status.
	rr := &runRecorder{flags: rf, base: base}
	p := tea.NewProgram(tui.New(tui.Options{Context: ctx, OpenSession: rr.session(targetOpener(base, &last)), OpenPrompt: rr.prompt(promptOpener(base, &last)), Connect: &req,
		RecentFile: tui.DefaultRecentFile(), Theme: theme}), tea.WithContext(ctx))
	_, runErr := p.Run()
	// Leaving the screen ends a typed session as the end of its input
	// does: the answers still due are read, the connection is closed
	// politely, and that is the outcome the exit status reports.
	last.finish(promptGrace)
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		return fmt.Errorf("terminal interface: %w", runErr)
	}
	outcome := streamOutcome(last.events(), "session", func(wire.Event) bool { return true })
	if err := rr.finish(errOut); err != nil {
		if outcome == nil {
			return err
		}
		fmt.Fprintf(errOut, "mailwire connect: %v\n", err)
	}
	return outcome
}

// targetOpener is the TUI's OpenSession in target mode: a scripted
// session, or a scenario, against the request's target, with the flags'
// options (base). Its events are kept in last, for the exit status; its
// wire in the screen's recorders, and its TLS secrets in base.KeyLog
// ($SSLKEYLOGFILE) too (withRecorders).
func targetOpener(base sessions.Options, last *runRecord) func(context.Context, tui.SessionRequest) (<-chan wire.Event, error) {
	return func(ctx context.Context, r tui.SessionRequest) (<-chan wire.Event, error) {
		if r.Scenario != "" {
			sr, err := targetScenario(base, r)
			if err != nil {
				return nil, err
			}
			sr.Env = scenarioRecorders(ctx, sr.Env, base.KeyLog)
			tui.ReportHeader(ctx, requestHeader(base, r)) // what w saves: --record's header
			return last.record(ctx, scenario.Stream(ctx, sr), nil), nil
		}
		o, err := requestOptions(base, r)
		if err != nil {
			return nil, err
		}
		// The export menu's pcap and key log, and $SSLKEYLOGFILE (which
		// base carries in KeyLog).
		o = withRecorders(ctx, o, base.KeyLog)
		tui.ReportHeader(ctx, requestHeader(base, r))
		return last.record(ctx, sessions.Stream(ctx, o), nil), nil
	}
}

// promptOpener is the TUI's OpenPrompt: a typed session against the
// request's target, with the flags' options (base). Its events are kept
// in last when given, for the exit status.
func promptOpener(base sessions.Options, last *runRecord) func(context.Context, tui.SessionRequest) (tui.PromptHandle, <-chan wire.Event, error) {
	return func(ctx context.Context, r tui.SessionRequest) (tui.PromptHandle, <-chan wire.Event, error) {
		o, err := requestOptions(base, r)
		if err != nil {
			return nil, nil, err
		}
		// As targetOpener: the export menu's, and $SSLKEYLOGFILE.
		o = withRecorders(ctx, o, base.KeyLog)
		tui.ReportHeader(ctx, requestHeader(base, r)) // what w saves: --record's header
		// On the screen someone can be asked: a password typed before
		// TLS waits for a second enter.
		p := sessions.StartPrompt(ctx, o, sessions.InteractiveOptions{ConfirmCleartext: true})
		if last == nil {
			return p, p.Events(), nil
		}
		return p, last.record(ctx, p.Events(), p), nil
	}
}

// promptGrace bounds how long leaving the screen waits for a typed session
// to end by itself before it is cancelled.
const promptGrace = 5 * time.Second

// requestOptions builds a session's options from the TUI's request (the
// connect form's target, or a port of the port table against the target)
// and the flags of mailwire connect (base: --tls-max, --insecure, the
// timeouts, --to, --fetch, --stop-after, --user and a password given by
// --password or $MAILWIRE_PASSWORD).
func requestOptions(base sessions.Options, r tui.SessionRequest) (sessions.Options, error) {
	o, err := sessions.OptionsForPort(r.Target, r.Port)
	if err != nil {
		return o, err
	}
	if r.Proto != "" {
		o.Proto = r.Proto
	}
	if r.TLSMode != "" {
		o.TLSMode = sessions.TLSMode(r.TLSMode)
	}
	o.ServerName = r.ServerName
	o.MinTLS, o.MaxTLS = base.MinTLS, base.MaxTLS
	r.TLS.Apply(&o) // a scan finding's session offers what its probe did
	o.EHLOName = base.EHLOName
	o.DialTimeout, o.ReadTimeout, o.SessionTimeout = base.DialTimeout, base.ReadTimeout, base.SessionTimeout
	o.Budget = base.Budget
	if !r.Prompt && o.SessionTimeout == 0 {
		o.SessionTimeout = scriptedTimeout
	}
	switch {
	case base.Verify == wire.VerifyOff:
		o.Verify = wire.VerifyOff
	case r.CAFile != "":
		o.Verify, o.CAFile = wire.VerifyCAFile, r.CAFile
	default:
		o.Verify = wire.VerifySystem
	}
	if !r.Prompt {
		// A scripted session logs in only with a password the user gave
		// (--password, $MAILWIRE_PASSWORD): never with an empty one. At
		// the prompt the AUTH helper asks for it.
		if r.User != "" && r.User == base.Username && base.Password != "" {
			o.Username, o.Password = base.Username, base.Password
		} else {
			o.UserWithoutPassword = r.User // the no-login note names it
		}
		o.To, o.From, o.Fetch, o.StopAfter = base.To, base.From, base.Fetch, base.StopAfter
		if o.Proto != protocol.SMTP {
			o.To, o.From = "", ""
		}
	}
	if err := o.Validate(); err != nil {
		return o, err
	}
	return o, nil
}

// scriptedTimeout is the budget of a scripted session the port table runs
// in target mode, as `mailwire session --target` has by default.
const scriptedTimeout = 30 * time.Second

// targetScenario is a scenario the picker runs against the target, as
// `mailwire session --scenario NAME --target HOST` does.
func targetScenario(base sessions.Options, r tui.SessionRequest) (scenario.Request, error) {
	sr := scenario.Request{Name: r.Scenario, Port: r.Port, Variant: r.Variant}
	s, resolved, err := sr.Resolve()
	if err != nil {
		return sr, err
	}
	env, err := targetEnv(sessionFlags{target: r.Target, sni: r.ServerName, caFile: r.CAFile}, resolved.Port)
	if err != nil {
		return sr, err
	}
	if err := s.CheckEnv(env); err != nil {
		return sr, err
	}
	sr.Env = env
	sr.Env.SessionTimeout, sr.Env.ReadTimeout, sr.Env.DialTimeout = base.SessionTimeout, base.ReadTimeout, base.DialTimeout
	sr.Env.MaxTLS = base.MaxTLS
	if r.User != "" && r.User == base.Username && base.Password != "" {
		sr.Env.Username, sr.Env.Password = base.Username, base.Password
	}
	return sr, nil
}

// runRecord keeps the events of the latest run a screen shows, for the
// exit status.
type runRecord struct {
	mu       sync.Mutex
	gen      int
	evs      []wire.Event
	prompt   *sessions.Prompt // the latest run's, when it is typed
	done     chan struct{}    // closed when the latest run's stream ended
	detached chan struct{}    // closed when no screen reads any more
	once     sync.Once
}

// record passes ch through, keeping its events as the latest run's (p is
// its prompt, for a typed session). Once ctx ends, or the screen is gone
// (finish), it stops passing events on but still drains ch, so the
// session's goroutine can finish even if nothing reads.
func (r *runRecord) record(ctx context.Context, ch <-chan wire.Event, p *sessions.Prompt) <-chan wire.Event {
	r.mu.Lock()
	r.gen++
	gen := r.gen
	r.evs, r.prompt = nil, p
	done := make(chan struct{})
	r.done = done
	if r.detached == nil {
		r.detached = make(chan struct{})
	}
	detached := r.detached
	r.mu.Unlock()
	out := make(chan wire.Event, cap(ch))
	go func() {
		defer close(out)
		defer close(done)
		for ev := range ch {
			r.mu.Lock()
			if r.gen == gen {
				r.evs = append(r.evs, ev)
			}
			r.mu.Unlock()
			select {
			case out <- ev:
			case <-ctx.Done():
			case <-detached:
			}
		}
	}()
	return out
}

// finish is called once the screen is gone: a typed session's input is
// closed and its end awaited, at most grace.
func (r *runRecord) finish(grace time.Duration) {
	r.mu.Lock()
	if r.detached == nil {
		r.detached = make(chan struct{})
	}
	p, done := r.prompt, r.done
	r.mu.Unlock()
	r.once.Do(func() { close(r.detached) })
	if p == nil || done == nil {
		return
	}
	p.Close()
	select {
	case <-done:
	case <-time.After(grace):
	}
}

func (r *runRecord) events() []wire.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.evs)
}
