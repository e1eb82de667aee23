package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/monitor"
)

type labFlags struct {
	listen   string
	offset   int
	anyPort  bool
	caOut    string
	stateDir string
	hostile  string // a hostile case to play instead of the lab, or "list"
	monitor  string // --monitor: "" off, auto, text or screen (lab_monitor.go)
	in       io.Reader
}

func newLabCmd() *cobra.Command {
	def := lab.DefaultOptions()
	f := labFlags{listen: def.ListenHost, offset: def.PortOffset}
	cmd := &cobra.Command{
		Use:   "lab",
		Short: "Run the lab's mail servers in the foreground",
		Long: "Run the embedded lab in the foreground: SMTP (25, 587, 465), POP3 (110, 995),\n" +
			"IMAP (143, 993) and HTTPS (443), each on its canonical port plus an offset, on\n" +
			"loopback, with a private CA kept in the state directory. Mail for\n" +
			lab.DemoUser + "@" + lab.Hostname + " stays in memory; nothing is ever relayed.\n" +
			"Each connection is logged. Stop with ctrl+c.\n\n" +
			"With --hostile CASE, one misbehaving server plays that case instead, so you can\n" +
			"point mailwire (or any client) at it. Cases, by protocol and point of the session:\n" +
			hostileCaseSummary(),
		Example: "  mailwire lab\n" +
			"  mailwire lab --port-offset 0          # canonical ports (needs privileges)\n" +
			"  mailwire lab --ca-out lab-ca.pem      # write the CA certificate and exit\n" +
			"  mailwire lab --hostile list           # every hostile case, one line each\n" +
			"  mailwire lab --hostile smtp-greeting-osc52\n" +
			"  mailwire lab --monitor                # every client's connection, live, from the server's side\n" +
			"  mailwire lab --monitor=text | less    # the same as text, one line per event, prefixed #id",
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.in = cmd.InOrStdin()
			return runLab(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", f.listen, "address to listen on (anything but loopback exposes the lab to the network)")
	fl.IntVar(&f.offset, "port-offset", f.offset, "added to each canonical port, from 0 (the canonical ports themselves) to "+strconv.Itoa(maxPortOffset))
	fl.BoolVar(&f.anyPort, "any-port", false, "listen on free ports chosen by the system instead (the table shows them)")
	fl.StringVar(&f.caOut, "ca-out", "", "write the lab CA certificate to this file and exit")
	addStateDirFlag(fl, &f.stateDir, false)
	fl.StringVar(&f.hostile, "hostile", "", "play one hostile server case instead of the lab (list: print the cases)")
	fl.StringVar(&f.monitor, "monitor", "", "show every connection clients make to the lab, annotated from the server's side, and flag careless clients: the monitor screen on a terminal, else text (=text, =screen to choose); adds certificate check ports")
	fl.Lookup("monitor").NoOptDefVal = monitorAuto
	return cmd
}

// maxPortOffset keeps the highest lab port, 995 + offset, a TCP port.
const maxPortOffset = 65535 - 995

// checkPortOffset refuses an offset that would put a lab port out of
// range, or below its canonical port: -5 listened on 20, 582, … (as root).
func checkPortOffset(offset int) error {
	if err := portOffsetProblem(offset); err != nil {
		return fmt.Errorf("--port-offset %d: %w", offset, err)
	}
	return nil
}

// portOffsetProblem says what is wrong with a port offset, from a flag or
// the configuration file (lab.port_offset).
func portOffsetProblem(offset int) error {
	switch {
	case offset < 0:
		return errors.New("want 0 (the canonical ports) or more; a negative offset moves each port onto another service's (25-5 is FTP's 20)")
	case offset > maxPortOffset:
		return fmt.Errorf("want at most %d, so that 995+offset is a TCP port (RFC 9293 §3.1: 16 bits)", maxPortOffset)
	}
	return nil
}

// isLoopback reports whether host only ever reaches this machine.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func runLab(ctx context.Context, out, errOut io.Writer, f labFlags) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if f.hostile == "list" {
		fmt.Fprint(out, lab.HostileCaseList())
		return nil
	}
	if err := checkPortOffset(f.offset); err != nil {
		return usageError(err)
	}
	if err := checkMonitorMode(f.monitor); err != nil {
		return err
	}
	if f.monitor != "" && (f.hostile != "" || f.caOut != "") {
		return usageError(errors.New("--monitor watches the lab's own servers: it goes with neither --hostile nor --ca-out"))
	}
	if f.monitor == monitorAuto {
		f.monitor = monitorText
		if onTerminal(f.in, out) {
			f.monitor = monitorScreen
		}
	}
	dir, err := labStateDir(f.stateDir, errOut)
	if err != nil {
		return err
	}
	f.stateDir = dir
	if f.hostile != "" {
		return runHostileLab(ctx, out, f)
	}
	if f.caOut != "" {
		pem, _, err := lab.EnsureCA(f.stateDir)
		if err != nil {
			return err
		}
		// A certificate is public: 0644 so other users and tools can read it.
		if err := os.WriteFile(f.caOut, pem, 0o644); err != nil {
			return fmt.Errorf("write CA certificate: %w", err)
		}
		fmt.Fprintf(out, "Wrote the lab CA certificate to %s\n", f.caOut)
		return nil
	}

	if !isLoopback(f.listen) {
		fmt.Fprintf(errOut, "\n"+
			"  !!! WARNING: listening on %s, not on loopback.\n"+
			"  !!! Other machines can reach the lab, whose password is public\n"+
			"  !!! (%s / %s). Use this only on a network you control.\n\n",
			f.listen, lab.DemoUser, lab.DemoPassword)
	}

	logs := newLineLog(out)
	defer logs.close()
	opts := lab.DefaultOptions()
	opts.ListenHost = f.listen
	opts.PortOffset = f.offset
	opts.AnyPort = f.anyPort
	opts.StateDir = f.stateDir
	opts.OnConnect = func(c lab.ConnLog) {
		note := ""
		if c.Rejected {
			note = "  rejected: too many connections"
		}
		logs.printf("%s  %-21s → %d %s/%s%s", c.Time.Format("15:04:05.000"), c.Client,
			c.Endpoint.Canonical, c.Endpoint.Proto, c.Endpoint.TLS, note)
	}
	opts.Logf = func(format string, args ...any) {
		logs.printf("%s  %s", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
	}
	var mon *monitor.Monitor
	if f.monitor != "" {
		mon = monitor.New(monitor.Options{})
		watchWith(&opts, mon)
		if f.monitor == monitorScreen {
			opts.Logf = nil // the screen owns the terminal
		} else {
			// The monitor never sees a connection turned away: say so.
			opts.OnConnect = func(c lab.ConnLog) {
				if c.Rejected {
					logs.printf("%s  %-21s → %d %s/%s  rejected: too many connections (not on the monitor)", c.Time.Format("15:04:05.000"),
						c.Client, c.Endpoint.Canonical, c.Endpoint.Proto, c.Endpoint.TLS)
				}
			}
		}
	}

	l, err := lab.Start(ctx, opts)
	if err != nil {
		var hint string
		if f.offset+25 < 1024 && !f.anyPort {
			hint = " (ports below 1024 need privileges: try the default --port-offset 10000)"
		}
		return fmt.Errorf("start lab%s: %w", hint, err)
	}
	defer l.Close()

	if mon != nil {
		eps, err := addOtherNamePorts(l)
		if err != nil {
			return err
		}
		if f.monitor == monitorScreen {
			return runMonitorScreen(ctx, l, f.listen, mon, eps)
		}
		printBanner(out, l)
		printOtherNameBanner(out, eps)
		logs.start()
		return runMonitorText(ctx, out, mon)
	}
	printBanner(out, l)
	logs.start()
	<-ctx.Done()
	if err := l.Close(); err != nil {
		return fmt.Errorf("stop lab: %w", err)
	}
	logs.close()
	fmt.Fprintln(out, "Lab stopped.")
	return nil
}

func printBanner(out io.Writer, l *lab.Lab) {
	fmt.Fprintln(out, "mailwire lab: real mail servers on loopback; nothing leaves this machine.")
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PORT\tPROTOCOL\tTLS\tPURPOSE\tLISTENING ON")
	for _, e := range l.Endpoints() {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", e.Canonical, e.Proto, e.TLS, e.Purpose, e.Addr)
	}
	tw.Flush()
	fmt.Fprintln(out)
	fmt.Fprintf(out, "CA certificate:  %s\n", l.CAPath())
	fmt.Fprintf(out, "Server name:     %s\n", lab.Hostname)
	fmt.Fprintf(out, "Demo login:      %s / %s   (mailbox %s@%s)\n", lab.DemoUser, lab.DemoPassword, lab.DemoUser, lab.Hostname)
	fmt.Fprintln(out)
	fmt.Fprintln(out, "Try:")
	if e, ok := l.Endpoint(465); ok {
		fmt.Fprintf(out, "  openssl s_client -connect %s -CAfile %s -verify_hostname %s\n", e.Addr, l.CAPath(), lab.Hostname)
	}
	if e, ok := l.Endpoint(587); ok {
		fmt.Fprintf(out, "  openssl s_client -connect %s -starttls smtp -CAfile %s -verify_hostname %s\n", e.Addr, l.CAPath(), lab.Hostname)
	}
	fmt.Fprintln(out)
	fmt.Fprintln(out, "Connections (ctrl+c to stop):")
}

// lineLog prints log lines from the lab's goroutines without ever blocking
// them (lab.Options.OnConnect must not block): lines go through a buffered
// channel, and when the terminal cannot keep up they are counted and dropped.
type lineLog struct {
	out     io.Writer
	lines   chan string
	done    chan struct{}
	once    sync.Once
	started sync.Once
	mu      sync.Mutex // guards dropped, closed and sending on lines
	dropped int
	closed  bool
}

func newLineLog(out io.Writer) *lineLog {
	return &lineLog{out: out, lines: make(chan string, 256), done: make(chan struct{})}
}

func (g *lineLog) printf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return
	}
	select {
	case g.lines <- line:
	default:
		g.dropped++
	}
}

// start begins printing (after the banner, so lines never interleave with it).
func (g *lineLog) start() {
	g.started.Do(func() {
		go func() {
			defer close(g.done)
			for line := range g.lines {
				g.mu.Lock()
				if g.dropped > 0 {
					fmt.Fprintf(g.out, "(%d log lines dropped)\n", g.dropped)
					g.dropped = 0
				}
				g.mu.Unlock()
				fmt.Fprintln(g.out, line)
			}
		}()
	})
}

// close flushes what is queued and stops printing; later lines are dropped.
func (g *lineLog) close() {
	g.once.Do(func() {
		g.mu.Lock()
		g.closed = true
		close(g.lines)
		g.mu.Unlock()
		g.start() // drain even if the banner was never printed
		<-g.done
	})
}

// hostileCaseSummary lists the hostile cases compactly for the help text:
// one line per protocol and point, the cases' last words after it.
func hostileCaseSummary() string {
	var keys []string
	groups := map[string][]string{}
	for _, c := range lab.AllHostileCases() {
		key, rest := c.Name, ""
		if i := strings.Index(c.Name, "-"+c.Point+"-"); i >= 0 {
			key, rest = c.Name[:i+len(c.Point)+2], c.Name[i+len(c.Point)+2:]
		}
		if _, ok := groups[key]; !ok {
			keys = append(keys, key)
		}
		if rest != "" {
			groups[key] = append(groups[key], rest)
		}
	}
	// Lines of at most 76 columns: a long group is split into several
	// lines with the same prefix, so the help never wraps mid-name.
	var b strings.Builder
	for _, k := range keys {
		g := groups[k]
		if len(g) <= 1 {
			fmt.Fprintf(&b, "  %s%s\n", k, strings.Join(g, ""))
			continue
		}
		for len(g) > 0 {
			n, width := 0, len(k)+4
			for n < len(g) && (n == 0 || width+len(g[n])+1 <= 76) {
				width += len(g[n]) + 1
				n++
			}
			if n == 1 {
				fmt.Fprintf(&b, "  %s%s\n", k, g[0])
			} else {
				fmt.Fprintf(&b, "  %s{%s}\n", k, strings.Join(g[:n], ","))
			}
			g = g[n:]
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// runHostileLab plays one hostile case on loopback until ctx ends or the
// server stops itself (after its connection or time limit).
func runHostileLab(ctx context.Context, out io.Writer, f labFlags) error {
	if !isLoopback(f.listen) {
		// A hostile server is for this machine only.
		return fmt.Errorf("--hostile listens on loopback only, not on %s", f.listen)
	}
	logs := newLineLog(out)
	defer logs.close()
	// A free port (a canonical port plus the offset could clash with a
	// running lab), a few connections, half an hour at most.
	const maxConns, lifetime = 16, 30 * time.Minute
	s, err := lab.StartHostile(ctx, f.hostile, lab.HostileOptions{
		ListenHost: f.listen, MaxConns: maxConns, Lifetime: lifetime,
		Logf: func(format string, args ...any) {
			logs.printf("%s  %s", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
		},
	})
	if err != nil {
		return err
	}
	defer s.Close()
	if err := os.MkdirAll(f.stateDir, 0o700); err != nil {
		return fmt.Errorf("create state dir %s: %w", f.stateDir, err)
	}
	// The throwaway CA that signed this run's certificates: trusting it
	// makes each certificate case fail for its own reason only.
	caPath := filepath.Join(f.stateDir, "hostile-ca.pem")
	if err := os.WriteFile(caPath, s.CACertPEM(), 0o644); err != nil {
		return fmt.Errorf("write hostile CA certificate: %w", err)
	}
	c := s.Case()
	host, p, _ := net.SplitHostPort(s.Addr())
	fmt.Fprintf(out, "mailwire lab --hostile %s: a misbehaving %s server (%s, like port %d) on %s\n",
		c.Name, strings.ToUpper(c.Proto), c.TLS, c.Port(), s.Addr())
	fmt.Fprintf(out, "At the %s: %s.\n", c.Point, c.Does)
	fmt.Fprintf(out, "It stops by itself after %d connections or %v; ctrl+c stops it now.\n", maxConns, lifetime)
	fmt.Fprintf(out, "CA certificate:  %s (a throwaway CA made for this run)\n\n", caPath)
	fmt.Fprintln(out, "Try:")
	// A scenario sets the TLS mode itself; the case's client flags reach
	// its point (--fetch, --to, --tls-min).
	common := fmt.Sprintf("--proto %s --tls %s --ca-file %s --sni %s", c.Proto, c.TLS, shellQuote(caPath), lab.Hostname)
	if slices.Contains(c.ClientFlags, "--scenario") {
		common = fmt.Sprintf("--proto %s --ca-file %s --sni %s", c.Proto, shellQuote(caPath), lab.Hostname)
	}
	user := " --user " + lab.DemoUser
	if c.Proto == "https" {
		user = ""
	}
	var extra []string
	for _, f := range c.ClientFlags {
		extra = append(extra, shellQuote(f))
	}
	fmt.Fprintf(out, "  mailwire session --target %s %s%s --timeout 20s%s\n", net.JoinHostPort(host, p), common, user,
		strings.TrimRight(" "+strings.Join(extra, " "), " "))
	if !slices.Contains(c.ClientFlags, "--scenario") {
		fmt.Fprintf(out, "  mailwire connect %s %s\n", net.JoinHostPort(host, p), common)
	}
	fmt.Fprintln(out)
	fmt.Fprintln(out, "Connections:")
	logs.start()
	select {
	case <-ctx.Done():
	case <-s.Done():
		logs.printf("the hostile server stopped by itself after %d connections", s.Played())
	}
	s.Close()
	logs.close()
	fmt.Fprintln(out, "Hostile server stopped.")
	return nil
}

// shellQuote quotes a path for a copy-pasted shell command when it needs it.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`!*?[]{}()<>|&;#~") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
