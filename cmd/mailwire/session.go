package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/lens"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/render"
	"github.com/mailwire/mailwire/sessions/wire"
)

// sessionFlags are the flags of `mailwire session`.
type sessionFlags struct {
	port       int
	proto      string
	tlsMode    string
	target     string
	targetSet  bool // --target was given, even as ""
	tlsMin     string
	tlsMax     string
	sni        string
	ehlo       string
	user       string
	password   string
	auth       string
	caFile     string
	insecure   bool
	timeout    time.Duration
	format     string
	lens       lens.Lens
	reveal     bool
	hex        bool
	notes      string // --notes: full, short or off ("": full); text and markdown only
	width      int
	stateDir   string // the lab's state directory; "" means lab.ResolveStateDir()
	forceColor string // "", "always", "never": overrides terminal detection
	scenario   string // a scenario's name, or "list"
	variant    string // the scenario's variant
	to         string // SMTP: send a message to this address (nothing is sent without it)
	from       string // SMTP: the envelope sender
	stopAfter  string // connect, tls, auth: end the session after that stage
	fetch      bool   // POP3/IMAP: read the mailbox after logging in
	budget     wire.Budget
	export     exportFlags // --pcap, --keylog, --cast (export.go)
	record     recordFlags // --record, --reveal-secrets
}

// newSessionCmd builds `mailwire session`: one session without the TUI,
// printed as an annotated transcript.
func newSessionCmd() *cobra.Command {
	f := sessionFlags{format: "text"}
	cmd := &cobra.Command{
		Use:   "session",
		Short: "Run one mail session and print the annotated transcript",
		Long: "Run one session (SMTP, POP3, IMAP or HTTPS) and print what crossed the wire,\n" +
			"annotated: cleartext lines, the STARTTLS boundary, TLS records and handshake\n" +
			"messages, the decrypted lines inside TLS and what each one means.\n\n" +
			"Without --target the embedded lab starts in-process on loopback, the session\n" +
			"runs against it (certificate checked with the lab's CA, demo login, a message\n" +
			"sent and the mailbox read) and the lab stops afterwards.\n\n" +
			"With --target the certificate is checked against the system roots (or\n" +
			"--ca-file), and nothing with side effects happens unless asked: a session logs\n" +
			"in only with --user, SMTP sends a message only with --to, POP3 and IMAP read\n" +
			"the mailbox only with --fetch, and --stop-after ends it earlier, always with\n" +
			"QUIT/LOGOUT. No password is ever sent before TLS. --user without a password\n" +
			"asks for it on the terminal (or set $MAILWIRE_PASSWORD).\n\n" + exitStatusHelp,
		Example: "  mailwire session --port 587\n" +
			"  mailwire session --scenario strip-opportunistic --variant replace --lens eavesdropper\n" +
			"  mailwire session --port 465 --tls-max 1.2 --lens eavesdropper\n" +
			"  mailwire session --proto imap --tls implicit --format markdown > imap.md\n" +
			"  mailwire session --port 587 --format json | jq -c 'select(.visible==\"anyone\")'\n" +
			"  mailwire session --target smtp.example.org --port 587 --user me --stop-after auth\n" +
			"  mailwire session --target mx.example.org:25 --to postmaster@example.org\n" +
			"  mailwire session --target imap.example.org:993 --user me --fetch",
		Args: usageArgs(cobra.NoArgs),
		// A failed session is reported by the transcript and the error,
		// not by the usage text.
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pw := stdinPasswordSource(cmd.InOrStdin(), cmd.ErrOrStderr())
			f.targetSet = cmd.Flags().Changed("target")
			warnDeprecated(cmd)
			if f.scenario != "" {
				return runScenario(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), f, pw, cmd.Flags().Changed)
			}
			return runSession(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), f, pw)
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&f.port, "port", 0, "canonical port whose protocol and TLS mode to use: 25, 587, 465, 110, 995, 143, 993, 443 (default 587)")
	fl.StringVar(&f.proto, "proto", "", "protocol: smtp, pop3, imap, https (instead of --port)")
	fl.StringVar(&f.tlsMode, "tls", "", "the TLS mode: none, starttls, implicit (default: the port's own)")
	fl.StringVar(&f.target, "target", "", "server to dial, HOST[:PORT] (default: the embedded lab)")
	fl.StringVar(&f.tlsMin, "tls-min", "", "lowest TLS version to offer: 1.0, 1.1, 1.2, 1.3")
	fl.StringVar(&f.tlsMax, "tls-max", "", tlsMaxUsage)
	fl.StringVar(&f.sni, "sni", "", "server name to send (SNI) and to verify the certificate against")
	fl.StringVar(&f.ehlo, "ehlo", "", "name the SMTP client announces in EHLO")
	fl.StringVar(&f.user, "user", "", "user name to log in with (lab: "+lab.DemoUser+")")
	fl.StringVar(&f.password, "password", "", "password (visible to other local users in the process list: prefer $MAILWIRE_PASSWORD)")
	fl.StringVar(&f.auth, "auth", "", "the SASL mechanism for SMTP AUTH: PLAIN or LOGIN")
	fl.StringVar(&f.caFile, "ca-file", "", "verify the server certificate with the CAs in this PEM file")
	fl.BoolVar(&f.insecure, "insecure", false, "do not enforce certificate verification (the result is still shown)")
	fl.DurationVar(&f.timeout, "timeout", 30*time.Second, "limit for the whole session (0: the engine's default, "+sessions.DefaultSessionTimeout.String()+")")
	fl.StringVar(&f.format, "format", f.format, "output format: text, json (JSON Lines), markdown, html (one self-contained page: both lenses, or with --lens eavesdropper that lens alone)")
	fl.TextVar(&f.lens, "lens", f.lens, "whose view: endpoint, or eavesdropper (only what a passive observer sees)")
	fl.BoolVar(&f.reveal, "reveal", false, "print passwords instead of masking them")
	fl.BoolVar(&f.hex, "hex", false, "add a hex+ASCII dump of the bytes (text format)")
	fl.StringVar(&f.notes, "notes", "", notesUsage)
	fl.IntVar(&f.width, "width", 0, "wrap text at this many columns (default: the terminal's width, else 100)")
	addStateDirFlag(fl, &f.stateDir, true)
	fl.StringVar(&f.forceColor, "color", "", "colour: always or never (default: on a terminal, unless NO_COLOR is set)")
	fl.StringVar(&f.scenario, "scenario", "", "run a scenario instead of one session (--scenario list shows them)")
	fl.StringVar(&f.variant, "variant", "", "the scenario's variant (e.g. an attack: remove, replace, refuse, …)")
	addSideEffectFlags(fl, &f)
	addBudgetFlags(fl, &f.budget)
	addExportFlags(fl, &f.export)
	addRecordFlags(fl, &f.record)
	cmd.MarkFlagsMutuallyExclusive("port", "proto")
	cmd.MarkFlagsMutuallyExclusive("ca-file", "insecure")
	return cmd
}

// canonicalFor maps a protocol and TLS mode to the canonical port whose
// semantics (role, lab endpoint) the session takes: RFC 8314 §7.3 for the
// implicit-TLS ports, RFC 6409 for 587.
func canonicalFor(proto string, mode sessions.TLSMode) (int, error) {
	if p := content.ClientPort(strings.ToLower(proto), mode == sessions.TLSImplicit); p != 0 {
		return p, nil
	}
	return 0, fmt.Errorf("protocol %q: want smtp, pop3, imap or https", proto)
}

func parseTLSVersion(flag, v string) (uint16, error) {
	switch strings.TrimPrefix(strings.ToLower(v), "tls") {
	case "":
		return 0, nil
	case "1.0", "10":
		return tls.VersionTLS10, nil
	case "1.1", "11":
		return tls.VersionTLS11, nil
	case "1.2", "12":
		return tls.VersionTLS12, nil
	case "1.3", "13":
		return tls.VersionTLS13, nil
	}
	return 0, fmt.Errorf("--%s %q: want 1.0, 1.1, 1.2 or 1.3", flag, v)
}

// addSideEffectFlags adds the flags that ask for what a session does on
// the server, shared by session and connect.
func addSideEffectFlags(fl *pflag.FlagSet, f *sessionFlags) {
	fl.StringVar(&f.to, "to", "", "send a test message to this address, over SMTP (without it no message is sent; lab: "+lab.DemoRecipient+")")
	fl.StringVar(&f.from, "from", "", "envelope sender of the SMTP message (default: the login, else mailwire@ the EHLO name)")
	fl.StringVar(&f.stopAfter, "stop-after", "", "end the session after this stage, with QUIT/LOGOUT: connect (the greeting), tls (TLS and the capabilities inside it), auth (the login)")
	fl.BoolVar(&f.fetch, "fetch", false, "read the mailbox after logging in, over POP3 (STAT, LIST, RETR 1) or IMAP (SELECT, FETCH); without it nothing is read")
}

// checkAddress accepts a bare RFC 5321 mailbox (local@domain), which the
// SMTP driver puts between angle brackets.
func checkAddress(flag, a string) error {
	if a == "" {
		return nil
	}
	p, err := mail.ParseAddress(a)
	if err != nil || p.Address != a || p.Name != "" {
		return fmt.Errorf("--%s %q: want a mail address such as user@example.org", flag, a)
	}
	return nil
}

// sessionOptions turns the flags into session options, without the target
// and the lab-dependent parts; it returns the canonical port. Its errors
// are usage errors.
func sessionOptions(f sessionFlags) (sessions.Options, int, error) {
	o, port, err := flagOptions(f)
	return o, port, usageError(err)
}

func flagOptions(f sessionFlags) (sessions.Options, int, error) {
	var mode sessions.TLSMode
	switch strings.ToLower(f.tlsMode) {
	case "":
	case "none", "starttls", "implicit":
		mode = sessions.TLSMode(strings.ToLower(f.tlsMode))
	default:
		return sessions.Options{}, 0, fmt.Errorf("--tls %q: want none, starttls or implicit", f.tlsMode)
	}
	port := f.port
	switch {
	case f.proto != "":
		p, err := canonicalFor(f.proto, mode)
		if err != nil {
			return sessions.Options{}, 0, err
		}
		port = p
	case port == 0 && f.target != "":
		// A target with a canonical port says what to speak.
		if _, ps, err := net.SplitHostPort(f.target); err == nil {
			if n, err := strconv.Atoi(ps); err == nil {
				if _, err := sessions.OptionsForPort(f.target, n); err == nil {
					port = n
				}
			}
		}
	}
	if port == 0 {
		port = 587
	}
	o, err := sessions.OptionsForPort("", port)
	if err != nil {
		return o, 0, err
	}
	if mode != "" {
		// A mode other than the port's own shows a mismatch (STARTTLS
		// on 465, TLS on 587): allowed on purpose.
		o.TLSMode = mode
	}
	if o.MinTLS, err = parseTLSVersion("tls-min", f.tlsMin); err != nil {
		return o, 0, err
	}
	if o.MaxTLS, err = parseTLSVersion("tls-max", f.tlsMax); err != nil {
		return o, 0, err
	}
	if o.MinTLS != 0 && o.MaxTLS != 0 && o.MinTLS > o.MaxTLS {
		return o, 0, fmt.Errorf("--tls-min %s is above --tls-max %s", f.tlsMin, f.tlsMax)
	}
	if o.MaxTLS != 0 && o.MaxTLS < tls.VersionTLS12 && o.MinTLS == 0 {
		// crypto/tls offers TLS 1.2 at the lowest unless told otherwise,
		// so a ceiling of 1.0 or 1.1 alone would leave no version at
		// all: the old versions are offered down to 1.0, as asked. Most
		// servers refuse them (RFC 8996), which the session shows.
		o.MinTLS = tls.VersionTLS10
	}
	if err := checkTimeout(f.timeout); err != nil {
		return o, 0, err
	}
	o.ServerName = f.sni
	o.EHLOName = f.ehlo
	o.Username = f.user
	o.Password = f.password // a missing one is asked for later (passwordSource)
	switch st := sessions.Stage(strings.ToLower(f.stopAfter)); {
	case st == sessions.StageAll:
	case slices.Contains(sessions.Stages, st) && !(st == sessions.StageAuth && o.Proto == protocol.HTTPS):
		o.StopAfter = st
	default:
		return o, 0, fmt.Errorf("--stop-after %q: want connect, tls or auth (auth not for HTTPS)", f.stopAfter)
	}
	if (f.to != "" || f.from != "") && o.Proto != protocol.SMTP {
		return o, 0, fmt.Errorf("--to and --from: only for SMTP (this session is %s)", o.Proto)
	}
	if f.fetch && o.Proto != protocol.POP3 && o.Proto != protocol.IMAP {
		return o, 0, fmt.Errorf("--fetch: only for POP3 and IMAP (this session is %s)", o.Proto)
	}
	if err := checkAddress("to", f.to); err != nil {
		return o, 0, err
	}
	if err := checkAddress("from", f.from); err != nil {
		return o, 0, err
	}
	o.To, o.From, o.Fetch = f.to, f.from, f.fetch
	o.AuthMechanism = f.auth
	o.SessionTimeout, o.ReadTimeout, o.DialTimeout = timeoutsFor(f.timeout)
	if err := checkBudget(f.budget); err != nil {
		return o, 0, err
	}
	o.Budget = f.budget
	switch {
	case f.insecure:
		o.Verify = wire.VerifyOff
	case f.caFile != "":
		// Read it now, so a wrong path is a usage error, before a lab
		// starts or anything is dialed; the session reads it again.
		if _, err := sessions.LoadCAFile(f.caFile); err != nil {
			return o, 0, fmt.Errorf("--ca-file: %w", err)
		}
		o.Verify, o.CAFile = wire.VerifyCAFile, f.caFile
	default:
		o.Verify = wire.VerifySystem
	}
	return o, port, nil
}

// tlsMaxUsage is the help of --tls-max, for session and connect.
const tlsMaxUsage = "highest TLS version to offer: 1.0, 1.1, 1.2, 1.3 (1.2 shows the certificate on the wire; " +
	"below 1.2 offers the versions RFC 8996 retired, down to 1.0 unless --tls-min)"

// checkTimeout refuses a negative --timeout, which would otherwise end
// the session before it starts (or, as 0 does, fall back to the default).
func checkTimeout(d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("--timeout %v: want a positive duration such as 30s or 2m (0: the default)", d)
	}
	return nil
}

// checkTarget refuses a --target that would not say where to go: an empty
// one (which ran against the lab, as if it were not given) and one without
// a host (":25", which Go dials as this machine).
func checkTarget(f sessionFlags) error {
	if !f.targetSet {
		return nil
	}
	if strings.TrimSpace(f.target) == "" {
		return fmt.Errorf("--target %q: want HOST or HOST:PORT (leave --target out to use the embedded lab)", f.target)
	}
	host := f.target
	if h, _, err := net.SplitHostPort(f.target); err == nil {
		host = h
	}
	if strings.Trim(host, "[]") == "" {
		return fmt.Errorf("--target %q: no host: want HOST or HOST:PORT (this machine is 127.0.0.1 or localhost)", f.target)
	}
	return nil
}

// withPort adds port to a target that has none.
func withPort(target string, port int) string {
	if _, _, err := net.SplitHostPort(target); err == nil {
		return target
	}
	return net.JoinHostPort(strings.Trim(target, "[]"), strconv.Itoa(port))
}

func runSession(ctx context.Context, out, errOut io.Writer, f sessionFlags, pw passwordSource) error {
	if ctx == nil {
		ctx = context.Background()
	}
	po := f.renderOptions()
	if err := checkOutputFlags(f); err != nil {
		return err
	}
	if err := checkTarget(f); err != nil {
		return usageError(err)
	}
	o, port, err := sessionOptions(f)
	if err != nil {
		return err
	}
	// Everything the flags set is checked before a lab starts or anything
	// is dialed; the lab's own address (known once it runs) stands in as
	// a loopback placeholder.
	probe := o
	probe.Target = "127.0.0.1:1"
	if f.target != "" {
		o.Target = withPort(f.target, port)
		probe.Target = o.Target
	}
	if err := probe.Validate(); err != nil {
		return usageError(err)
	}
	where := o.Target
	if where == "" {
		where = "the lab"
	}
	if o.Password, err = pw.password(ctx, o.Username, o.Password, where); err != nil {
		return err
	}

	if f.target == "" {
		dir, err := labStateDir(f.stateDir, errOut)
		if err != nil {
			return err
		}
		l, err := startSessionLab(ctx, dir)
		if err != nil {
			return err
		}
		defer l.Close()
		ep, ok := l.Endpoint(port)
		if !ok {
			return fmt.Errorf("the lab has no endpoint for port %d", port)
		}
		o = forLab(o, l, ep)
	}

	if f.insecure {
		fmt.Fprintf(errOut, "\n"+
			"  !!! WARNING: --insecure: the server's certificate is NOT enforced.\n"+
			"  !!! Anyone on the path to %s can pose as the server and read\n"+
			"  !!! everything sent inside TLS, the password included (RFC 8314 §4.1).\n\n", o.Target)
	}

	w := outputWriter(out, f, &po)
	start := time.Now() // the header's and the recording's
	// The title is the recording header's, as a replay titles it.
	h := sessionHeader(o, port, f.target == "", start)
	po.Title = "mailwire session: " + runTitle(h)
	fmt.Fprintf(errOut, "%s%s\n", po.Title, certCheckWords(h))
	writeTextHeaderAt(w, out, f.format, po.Title, po, start, buildVersion())

	rec, err := f.record.open(h)
	if err != nil {
		return err
	}
	x, err := startExports(errOut, f.export, "this session's")
	if err != nil {
		rec.close()
		return err
	}
	x.session(&o, port, f.target == "")
	defer x.close()
	evs, err := printStream(w, f.format, po, sessions.Stream(ctx, o), rec.tee(nil))
	if err != nil {
		rec.close()
		return err
	}
	if err := x.finish(errOut, castRequest(o, port, f.target == ""), evs); err != nil {
		rec.close()
		return err
	}
	// Every error that ends a session is reported as a KindError event
	// (sessions.Run), so the events alone decide the exit status.
	return rec.finish(errOut, "mailwire session", streamOutcome(evs, "session", func(wire.Event) bool { return true }))
}

// checkOutputFlags checks the flags that shape the output, for a
// session and a scenario alike.
func checkOutputFlags(f sessionFlags) error {
	switch f.format {
	case "text", "json", "markdown", "html":
	default:
		return usageError(fmt.Errorf("--format %q: want text, json, markdown or html", f.format))
	}
	switch f.forceColor {
	case "", "always", "never":
	default:
		return usageError(fmt.Errorf("--color %q: want always or never", f.forceColor))
	}
	if _, err := render.ParseNotes(f.notes); err != nil {
		return usageError(fmt.Errorf("--notes %q: want full, short or off", f.notes))
	}
	// full is what json and html always carry: asking for it there is
	// no mistake (a script may pass it whatever the format).
	if n := render.Notes(f.notes); n != "" && n != render.NotesFull && f.format != "text" && f.format != "markdown" {
		return usageError(fmt.Errorf("--notes: for --format text and markdown (%s carries every note)", f.format))
	}
	return f.record.check()
}

// renderOptions is how the flags shape a printed transcript: the one
// home of that mapping for session, scenarios, connect's line mode and
// replay (whose --max-line comes from the recording, not from a flag).
func (f sessionFlags) renderOptions() render.Options {
	return render.Options{RevealSecrets: f.reveal, Lens: f.lens, Hex: f.hex, Notes: render.Notes(f.notes), Width: f.width, LineWidth: f.budget.LineWidth}
}

// notesUsage is the help of --notes, on every command that prints a
// transcript.
const notesUsage = "how much the transcript explains: full (each meaning with its prose, fields and RFCs), short (one line per event: its meaning and RFCs), off (the wire lines and who can read them, as compact as s_client); text and markdown (default full)"

// useColor: colour on a terminal unless NO_COLOR is set (https://no-color.org),
// or as forced by --color.
func useColor(f *os.File, force string) bool {
	switch force {
	case "always":
		return true
	case "never":
		return false
	}
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	return term.IsTerminal(f.Fd())
}

// startSessionLab starts the embedded lab for one session or scenario,
// its CA in stateDir (labStateDir; resolve it first with an errOut for the
// note about a CA in the former place). It listens on free ports chosen by
// the system, never on the lab's usual ones (canonical + 10000): those
// belong to a `mailwire lab` or a terminal interface, which a session
// started at the same moment must not take from them.
func startSessionLab(ctx context.Context, stateDir string) (*lab.Lab, error) {
	dir, err := labStateDir(stateDir, nil)
	if err != nil {
		return nil, err
	}
	opts := lab.DefaultOptions()
	opts.AnyPort = true
	opts.StateDir = dir
	l, err := lab.Start(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("start lab on %s: %w", opts.ListenHost, err)
	}
	return l, nil
}

// stateDirUsage is the help of --state-dir, the one name of the lab's state
// directory in every command.
const stateDirUsage = "directory of the lab's CA (default: $XDG_STATE_HOME/mailwire/lab, else ~/.local/state/mailwire/lab)"

// addStateDirFlag adds --state-dir and, where a command had it before,
// the former name --lab-state-dir as a hidden alias (warnDeprecated).
func addStateDirFlag(fl *pflag.FlagSet, dir *string, alias bool) {
	fl.StringVar(dir, "state-dir", "", stateDirUsage)
	if alias {
		fl.StringVar(dir, "lab-state-dir", "", stateDirUsage)
		_ = fl.MarkHidden("lab-state-dir")
	}
}

// warnDeprecated says on stderr that a former flag name was used. Not
// pflag's MarkDeprecated: cobra prints its message with the command's
// output, where it would corrupt --format json.
func warnDeprecated(cmd *cobra.Command) {
	if cmd.Flags().Changed("lab-state-dir") {
		fmt.Fprintln(cmd.ErrOrStderr(), "mailwire: --lab-state-dir is now --state-dir, the same in every command; the old name will go")
	}
}

// labStateDir is the lab's state directory: the flag's, else the XDG one
// (lab.ResolveStateDir), with its note on errOut when the CA is still in
// the former place.
func labStateDir(flag string, errOut io.Writer) (string, error) {
	if flag != "" {
		return flag, nil
	}
	dir, note := lab.ResolveStateDir()
	if dir == "" {
		return "", usageError(errors.New("no home directory for the lab's CA: pass --state-dir"))
	}
	if note != "" && errOut != nil {
		fmt.Fprintf(errOut, "mailwire: note: %s\n", note)
	}
	return dir, nil
}

// forLab points session options at a lab endpoint, filling what the user
// left unset the way a learner expects: the lab's host name as SNI, the
// certificate checked against the lab CA, the demo login, and the full
// demo (a message to lab.DemoRecipient, the mailbox read), which the lab
// is there for. `mailwire session` and the TUI both start lab sessions
// through it.
func forLab(o sessions.Options, l *lab.Lab, ep lab.Endpoint) sessions.Options {
	o.Target = ep.Addr
	if o.To == "" {
		o.To = lab.DemoRecipient
	}
	o.Fetch = true
	if o.ServerName == "" {
		o.ServerName = lab.Hostname
	}
	switch o.Verify {
	case "", wire.VerifySystem:
		o.Verify, o.RootCAs = wire.VerifyPool, l.RootCAs()
	case wire.VerifyOff:
		o.RootCAs = l.RootCAs() // still report what verification would say
	}
	if o.Username == "" {
		o.Username, o.Password = lab.DemoUser, lab.DemoPassword
	}
	if o.EHLOName == "" {
		o.EHLOName = lab.DemoClientName
	}
	return o
}

// timeoutsFor turns --timeout d into the session's limits: d bounds the
// whole session, and each read and the dial too where it is shorter than
// their defaults. Zero (no --timeout) leaves all three to the defaults.
func timeoutsFor(d time.Duration) (session, read, dial time.Duration) {
	if d <= 0 {
		return 0, 0, 0
	}
	return d, min(d, sessions.DefaultReadTimeout), min(d, sessions.DefaultDialTimeout)
}
