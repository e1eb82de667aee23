package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/term"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/render"
	"github.com/mailwire/mailwire/sessions/scenario"
	"github.com/mailwire/mailwire/sessions/wire"
)

// outputWriter returns where the transcript goes: out, wrapped to downsample
// colours to what the terminal supports when the text format is coloured.
// It sets po.Color and, on a terminal, po.Width.
func outputWriter(out io.Writer, f sessionFlags, po *render.Options) io.Writer {
	w := out
	if file, ok := out.(*os.File); ok {
		if useColor(file, f.forceColor) && f.format == "text" {
			po.Color = true
			// Downsample the styles to what the terminal supports; a
			// forced colour output (to a pipe, say) keeps 256 colours.
			cw := colorprofile.NewWriter(file, os.Environ())
			if f.forceColor == "always" && cw.Profile < colorprofile.ANSI256 {
				cw.Profile = colorprofile.ANSI256
			}
			w = cw
		}
		if po.Width == 0 && term.IsTerminal(file.Fd()) {
			if cols, _, err := term.GetSize(file.Fd()); err == nil && cols > 0 {
				po.Width = cols
			}
		}
	} else if f.forceColor == "always" && f.format == "text" {
		po.Color = true
	}
	return w
}

// printStream prints a stream in the chosen format and returns its events.
// Text and JSON print each event as it arrives, so a slow or silent server
// shows where it stalls; Markdown needs the whole stream. The channel is
// always drained, so its producer can finish. notify, when set, sees each
// event as it arrives (the decoy note repeated on stderr).
func printStream(w io.Writer, format string, po render.Options, ch <-chan wire.Event, notify func(wire.Event)) ([]wire.Event, error) {
	var (
		evs  []wire.Event
		text *render.TextPrinter
		pErr error
	)
	if format == "text" {
		if text, pErr = render.NewTextPrinter(w, po); pErr != nil {
			for range ch {
			}
			return nil, pErr
		}
	}
	for ev := range ch {
		evs = append(evs, ev)
		if notify != nil {
			notify(ev)
		}
		if pErr != nil {
			continue // keep draining: the producer must finish
		}
		switch format {
		case "text":
			pErr = text.Print(ev)
		case "json":
			pErr = render.JSON(w, []wire.Event{ev}, po)
		}
	}
	if pErr == nil {
		switch format {
		case "text":
			pErr = text.Close()
		case "markdown":
			pErr = render.Markdown(w, evs, po)
		case "html":
			pErr = render.HTML(w, evs, po)
		}
	}
	if pErr != nil {
		return evs, fmt.Errorf("print session: %w", pErr)
	}
	return evs, nil
}

// scenarioOnlyFlags are session flags that make no sense with --scenario:
// the scenario chooses TLS modes, the lowest version and verification
// itself. --tls-max applies (TLS 1.2 shows what it leaves in the clear),
// except to a scenario that compares versions.
var scenarioOnlyFlags = []string{"tls", "tls-min", "insecure", "auth"}

// runScenario is `mailwire session --scenario NAME`: the scenario's
// sessions, merged into one annotated transcript, against the in-process
// lab or, for the scenarios that allow it, a real server. A scenario shows
// failures on purpose (a client refusing a stripped connection), so its
// legs' errors do not fail it: the exit status is 3 when a verdict is
// unsafe, else 1 when the scenario itself could not run.
func runScenario(ctx context.Context, out, errOut io.Writer, f sessionFlags, pw passwordSource, changed func(string) bool) error {
	if ctx == nil {
		ctx = context.Background()
	}
	for _, name := range scenarioOnlyFlags {
		if changed(name) {
			return usageError(fmt.Errorf("--%s: not with --scenario (the scenario sets it)", name))
		}
	}
	if err := checkOutputFlags(f); err != nil {
		return err
	}
	if f.scenario == "list" {
		return listScenarios(out, f.format, f.port)
	}
	if err := checkTarget(f); err != nil {
		return usageError(err)
	}
	if err := checkTimeout(f.timeout); err != nil {
		return usageError(err)
	}
	port := f.port
	if f.proto != "" {
		p, err := canonicalFor(f.proto, "")
		if err != nil {
			return usageError(err)
		}
		port = p
	}
	req := scenario.Request{Name: f.scenario, Port: port, Variant: f.variant}
	// Resolve early so a typo fails before a lab starts.
	s, resolved, err := req.Resolve()
	if err != nil {
		return usageError(err)
	}
	port = resolved.Port
	if s.SetsVersion && changed("tls-max") {
		return usageError(fmt.Errorf("--tls-max: not with --scenario %s (it chooses the versions it compares)", s.Name))
	}

	env, closeLab, err := scenarioEnv(ctx, errOut, f, s, port, pw)
	defer closeLab()
	if err != nil {
		return err
	}
	req.Env = env

	po := f.renderOptions()
	w := outputWriter(out, f, &po)
	start := time.Now() // the header's and the recording's
	fmt.Fprintf(errOut, "mailwire scenario %s: %s\n", s.Name,
		headScenario(w, out, f.format, &po, s.Name, resolved.Port, resolved.Variant, f.target, start, buildVersion()))
	// The decoy note is repeated on stderr as it comes, where a user who
	// gave a password reads that it was not sent.
	decoyNote := func(ev wire.Event) {
		if ev.Annotation == scenario.AnnotationDecoy {
			fmt.Fprintf(errOut, "mailwire scenario: %s\n", wire.SafeString(ev.Text))
		}
	}
	rec, err := f.record.open(scenarioHeader(req, resolved, f.target, start))
	if err != nil {
		return err
	}
	// --pcap, --keylog ($SSLKEYLOGFILE) and --cast: every leg's sessions
	// in one capture and one key log, the merged stream in the cast.
	x, err := startExports(errOut, f.export, "this scenario's")
	if err != nil {
		rec.close()
		return err
	}
	defer x.close()
	x.scenario(&req.Env)
	evs, err := printStream(w, f.format, po, scenario.Stream(ctx, req), rec.tee(decoyNote))
	if err != nil {
		rec.close()
		return err
	}
	if err := scenarioOutro(w, f.format, po.Width, s, evs); err != nil {
		rec.close()
		return err
	}
	if err := x.finish(errOut, scenarioCastRequest(resolved, f.target), evs); err != nil {
		rec.close()
		return err
	}
	// An error without a leg is the scenario's own: it could not run.
	return rec.finish(errOut, "mailwire scenario", streamOutcome(evs, "scenario "+s.Name, func(ev wire.Event) bool { return ev.Leg == "" }))
}

// scenarioEnv is where a scenario runs and as whom: the in-process lab
// (closeLab closes it, also after an error) or the target, with the user's
// login, EHLO name, timeouts and TLS ceiling.
func scenarioEnv(ctx context.Context, errOut io.Writer, f sessionFlags, s scenario.Scenario, port int, pw passwordSource) (env scenario.Env, closeLab func(), err error) {
	closeLab = func() {}
	maxTLS, err := parseTLSVersion("tls-max", f.tlsMax)
	if err != nil {
		return env, closeLab, usageError(err)
	}
	if maxTLS != 0 && maxTLS < tls.VersionTLS12 {
		// A scenario's clients and servers are mail software as RFC
		// 8996 and RFC 8997 want it: TLS 1.2 at the lowest.
		return env, closeLab, usageError(fmt.Errorf("--tls-max %s: a scenario runs TLS 1.2 or 1.3 (RFC 8997); "+
			"to see a server's answer to an older version, run mailwire session --tls-max %s", f.tlsMax, f.tlsMax))
	}
	if f.target == "" {
		stateDir, err := labStateDir(f.stateDir, errOut)
		if err != nil {
			return env, closeLab, err
		}
		l, err := startSessionLab(ctx, stateDir)
		if err != nil {
			return env, closeLab, err
		}
		closeLab = func() { l.Close() }
		env = scenario.LabEnv(l, stateDir)
	} else {
		// What the scenario needs is checked against a target-shaped Env
		// (no lab) before anything else.
		if err := s.CheckEnv(scenario.Env{Endpoints: map[int]string{port: f.target}}); err != nil {
			return env, closeLab, usageError(fmt.Errorf("%w: drop --target", err))
		}
		if port == 0 {
			return env, closeLab, usageError(fmt.Errorf("scenario %s runs on several ports of the lab: drop --target", s.Name))
		}
		if env, err = targetEnv(f, port); err != nil {
			return env, closeLab, usageError(err)
		}
	}
	if f.user != "" {
		where := f.target
		if where == "" {
			where = "the lab"
		}
		env.Username = f.user
		if env.Password, err = pw.password(ctx, f.user, f.password, where); err != nil {
			return env, closeLab, err
		}
	}
	if f.ehlo != "" {
		env.EHLOName = f.ehlo
	}
	env.SessionTimeout, env.ReadTimeout, env.DialTimeout = timeoutsFor(f.timeout)
	if err := checkBudget(f.budget); err != nil {
		return env, closeLab, usageError(err)
	}
	env.Budget = f.budget
	env.MaxTLS = maxTLS
	return env, closeLab, nil
}

// headScenario heads the transcript of scenario name run on port with
// variant against target ("": the lab), at when by mailwire version by:
// text and Markdown frame it with the scenario's prose (Markdown's title
// and introduction head the handout, which has one level-1 heading:
// render.Markdown, so they go into po); JSON stays one event per line. It
// returns the title.
func headScenario(w, out io.Writer, format string, po *render.Options, name string, port int, variant, target string,
	when time.Time, by string) string {
	text, _ := content.ScenarioByName(name)
	po.Title = scenarioTitle(name, text.Title, port, variant, target)
	writeTextHeaderAt(w, out, format, fmt.Sprintf("mailwire scenario %s: %s", name, po.Title), *po, when, by)
	if format == "markdown" || format == "html" {
		// The page's own title and introduction: text before the
		// handout's heading, or the HTML's <!DOCTYPE>, would break it.
		po.Intro = text.IntroFor(target != "")
	} else {
		scenarioIntro(w, format, po.Width, name, target)
	}
	return po.Title
}

// scenarioIntro frames the transcript of scenario name with its title and
// introduction (text and Markdown; JSON stays one event per line): against
// target ("": the lab) the one for a real server, when it has one.
func scenarioIntro(w io.Writer, format string, width int, name, target string) {
	if text, ok := content.ScenarioByName(name); ok && format != "json" {
		writeScenarioProse(w, format, width, text.Title, "", text.IntroFor(target != ""))
	}
}

// scenarioOutro ends the transcript of scenario s: its summary of the
// events, then what it shows and its sources (text and Markdown).
func scenarioOutro(w io.Writer, format string, width int, s scenario.Scenario, evs []wire.Event) error {
	if format == "json" || format == "html" {
		return nil
	}
	if err := scenario.RenderSummary(w, s, evs, format == "markdown"); err != nil {
		return fmt.Errorf("print scenario: %w", err)
	}
	if text, ok := content.ScenarioByName(s.Name); ok {
		writeScenarioProse(w, format, width, "", "What it shows", text.Conclusion)
		var srcs []string
		for _, src := range text.Sources {
			srcs = append(srcs, src.String())
		}
		writeScenarioProse(w, format, width, "", "Sources", strings.Join(srcs, "; "))
	}
	return nil
}

// scenarioTitle says what a scenario run shows: its title (its name
// without one), the port with its protocol and TLS mode, the variant and
// where it runs.
func scenarioTitle(name, title string, port int, variant, target string) string {
	t := title
	if t == "" {
		t = name
	}
	if o, err := sessions.OptionsForPort("", port); err == nil {
		t += fmt.Sprintf(": port %d (%s, %s)", port, strings.ToUpper(o.Proto), tlsWords(o.TLSMode))
	}
	if variant != "" {
		t += ", variant " + variant
	}
	if target == "" {
		return wire.SafeString(t + ", against the embedded lab")
	}
	// A replay's variant and target are its file's: sanitized, as runTitle.
	return wire.SafeString(t + ", against " + target)
}

// writeScenarioProse prints a title or a heading and a paragraph of the
// scenario's text, wrapped for the text format.
func writeScenarioProse(w io.Writer, format string, width int, title, heading, prose string) {
	if width <= 0 {
		width = 100
	}
	if format == "markdown" {
		if title != "" {
			fmt.Fprintf(w, "# %s\n\n", title)
		}
		if heading != "" {
			fmt.Fprintf(w, "\n## %s\n\n", heading)
		}
		fmt.Fprintf(w, "%s\n\n", prose)
		return
	}
	if title != "" {
		fmt.Fprintln(w, title)
		fmt.Fprintln(w, strings.Repeat("=", min(len([]rune(title)), width)))
	}
	if heading != "" {
		fmt.Fprintf(w, "\n%s\n", heading)
	}
	for i, para := range strings.Split(prose, "\n\n") {
		if i > 0 {
			fmt.Fprintln(w)
		}
		// Display columns, not bytes or runes (ansi.Wordwrap), as the
		// TUI measures; a word longer than width stays whole.
		fmt.Fprintln(w, ansi.Wordwrap(strings.Join(strings.Fields(para), " "), width, ""))
	}
	fmt.Fprintln(w)
}

// targetEnv is the Env of a real server for a scenario: the target on the
// scenario's port, trusted with the system roots or --ca-file.
func targetEnv(f sessionFlags, port int) (scenario.Env, error) {
	target := withPort(f.target, port)
	host, _, err := net.SplitHostPort(target)
	if err != nil {
		return scenario.Env{}, fmt.Errorf("--target %q: %w", f.target, err)
	}
	env := scenario.Env{Endpoints: map[int]string{port: target}, ServerName: host}
	if f.sni != "" {
		env.ServerName = f.sni
	}
	if f.caFile != "" {
		pool, err := loadCAFile(f.caFile)
		if err != nil {
			return env, err
		}
		env.RootCAs, env.CAFile = pool, f.caFile
	}
	return env, nil
}

// scenarioListing is one scenario of --scenario list; its JSON form is
// documented in README ("Scenarios").
type scenarioListing struct {
	Name     string   `json:"name"`
	Title    string   `json:"title,omitempty"`
	Summary  string   `json:"summary,omitempty"`
	Ports    []int    `json:"ports"`    // canonical ports, the default first; [] when it chooses its own
	Variants []string `json:"variants"` // on --port's port when given, else on any port; [] for none
	NeedsLab bool     `json:"needs_lab"`
}

// listScenarios prints the scenarios with their ports and variants, those
// that run on port only when it is not 0, in the output format (text: a
// table; json: JSON Lines, one scenario per line; markdown: a table).
func listScenarios(out io.Writer, format string, port int) error {
	var list []scenarioListing
	for _, s := range scenario.All() {
		if port != 0 && !slices.Contains(s.Ports, port) {
			continue
		}
		l := scenarioListing{Name: s.Name, Ports: append([]int{}, s.Ports...), NeedsLab: s.NeedsLab}
		if port != 0 {
			l.Variants = append([]string{}, s.VariantsFor(port)...)
		} else {
			l.Variants = append([]string{}, s.AllVariants()...)
		}
		if t, ok := content.ScenarioByName(s.Name); ok {
			l.Title, l.Summary = t.Title, t.Summary
		}
		list = append(list, l)
	}
	if len(list) == 0 {
		return usageError(fmt.Errorf("--port %d: no scenario runs on it (scenarios run on %s)", port, scenarioPorts()))
	}
	ports := func(l scenarioListing) string {
		if len(l.Ports) == 0 {
			return "chosen by the scenario"
		}
		var ps []string
		for _, p := range l.Ports {
			ps = append(ps, strconv.Itoa(p))
		}
		return strings.Join(ps, ", ")
	}
	variants := func(l scenarioListing) string {
		if len(l.Variants) == 0 {
			return "-"
		}
		return strings.Join(l.Variants, ", ")
	}
	switch format {
	case "json":
		enc := json.NewEncoder(out)
		for _, l := range list {
			if err := enc.Encode(l); err != nil {
				return err
			}
		}
		return nil
	case "markdown":
		title := "# mailwire scenarios"
		if port != 0 {
			title += fmt.Sprintf(" on port %d", port)
		}
		fmt.Fprintf(out, "%s\n\n| scenario | what it shows | ports | variants |\n|---|---|---|---|\n", title)
		for _, l := range list {
			fmt.Fprintf(out, "| `%s` | %s | %s | %s |\n", l.Name, strings.ReplaceAll(l.Title, "|", "\\|"), ports(l), variants(l))
		}
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tPORTS\tVARIANTS")
	for _, l := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", l.Name, ports(l), variants(l))
	}
	return tw.Flush()
}

// scenarioPorts lists the ports some scenario runs on, for messages.
func scenarioPorts() string {
	var ps []int
	for _, s := range scenario.All() {
		for _, p := range s.Ports {
			if !slices.Contains(ps, p) {
				ps = append(ps, p)
			}
		}
	}
	slices.Sort(ps)
	var out []string
	for _, p := range ps {
		out = append(out, strconv.Itoa(p))
	}
	return strings.Join(out, ", ")
}
