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
	"github.com/miekg/dns"
	"github.com/spf13/cobra"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/resolver"
	"github.com/mailwire/mailwire/sessions/scan"
	"github.com/mailwire/mailwire/sessions/wire"
	"github.com/mailwire/mailwire/tui"
)

// scanFlags are the flags of `mailwire scan`.
type scanFlags struct {
	domain   string
	useLab   bool
	labState string
	sni      string
	caFile   string
	insecure bool
	timeout  time.Duration
	format   string
	width    int
	theme    string // the scan screen's colours (parseTheme)
	https    bool
	ports    string
	resolver string
	// Hidden, for tests and labs of one's own: the trust anchors (DS
	// records in zone-file syntax), the port MX hosts are scanned on and
	// the MTA-STS policy host's port.
	trustAnchor string
	mxPort      int
	policyPort  int
}

// newScanCmd builds `mailwire scan HOST` and `mailwire scan --domain
// DOMAIN`: the mail ports of a host, or the MX hosts of a domain, scanned
// and graded (sessions/scan).
func newScanCmd() *cobra.Command {
	f := scanFlags{format: "text", timeout: scan.DefaultTimeout}
	cmd := &cobra.Command{
		Use:   "scan [HOST]",
		Short: "Scan a mail server's ports, or a mail domain, and grade what it finds",
		Long: "Scan the seven mail ports of HOST (25, 587, 465, 110, 995, 143, 993; 443 too with\n" +
			"--https) at once and grade every finding ok, warn or bad, with the reason and\n" +
			"the RFC (or Mozilla profile) it comes from: open or closed, the TLS mode really\n" +
			"spoken, STARTTLS, the capabilities before and after it, a login before TLS\n" +
			"(tried with a decoy credential made up for the run, never a real one), the TLS\n" +
			"versions and cipher suites accepted and whose order decides, the certificates,\n" +
			"STARTTLS command injection (CVE-2011-0411) and ALPN strictness. Port 25 is\n" +
			"graded as opportunistic transfer (RFC 7435), the others as submission and\n" +
			"mailbox access (RFC 8314, RFC 8997, RFC 9325).\n\n" +
			"With --domain it looks up the domain's MX hosts, MTA-STS policy, TLS-RPT record,\n" +
			"DNSSEC (validated by mailwire itself from the root's trust anchor) and DANE\n" +
			"records, scans port 25 of each MX host and checks it against them.\n\n" +
			"On a terminal the scan screen shows each port's progress and the findings;\n" +
			"otherwise (or with --format) the report is printed: text, json or markdown.\n\n" +
			scanExitHelp,
		Example: "  mailwire scan mail.example.org\n" +
			"  mailwire scan mail.example.org --format markdown > scan.md\n" +
			"  mailwire scan 192.0.2.10 --sni mail.example.org --https\n" +
			"  mailwire scan --domain example.org --resolver 9.9.9.9\n" +
			"  mailwire scan --lab --format json | jq '.findings[] | select(.grade==\"bad\")'",
		Args:         usageArgs(cobra.MaximumNArgs(1)),
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			host := ""
			if len(args) == 1 {
				host = args[0]
			}
			return runScan(ctx, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr(), host, f, cmd.Flags().Changed("format"))
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.domain, "domain", "", "scan the mail domain DOMAIN: its DNS records, MTA-STS policy and each MX host's port 25")
	fl.BoolVar(&f.useLab, "lab", false, "scan the embedded lab, started in-process on loopback (its eight ports)")
	addStateDirFlag(fl, &f.labState, false)
	fl.StringVar(&f.sni, "sni", "", "server name to send (SNI) and to check the certificates against (default: HOST)")
	fl.StringVar(&f.caFile, "ca-file", "", "check the certificates against the CAs in this PEM file instead of the system roots")
	fl.BoolVar(&f.insecure, "insecure", false, "grade a certificate that does not verify as a warning, not bad (it is still checked and shown)")
	fl.DurationVar(&f.timeout, "timeout", f.timeout, "limit for the whole scan")
	fl.StringVar(&f.format, "format", f.format, "output: text, json, markdown")
	fl.IntVar(&f.width, "width", 0, "wrap text at this many columns (default: the terminal's width, else 100)")
	addThemeFlag(fl, &f.theme)
	fl.BoolVar(&f.https, "https", false, "scan port 443 too, for comparison")
	fl.StringVar(&f.ports, "ports", "", "the ports to scan instead of all: a list such as 587,993, each optionally PORT=ACTUAL to dial another port for it (587=10587)")
	fl.StringVar(&f.resolver, "resolver", "", "resolver to ask with --domain, HOST[:PORT] (default: the system's); mailwire validates DNSSEC itself")
	fl.StringVar(&f.trustAnchor, "trust-anchor", "", "DNSSEC trust anchors for --domain: a file of DS records (default: the root's)")
	fl.IntVar(&f.mxPort, "mx-port", 0, "port to scan each MX host on (default 25)")
	fl.IntVar(&f.policyPort, "policy-port", 0, "port of the MTA-STS policy host (default 443)")
	_ = fl.MarkHidden("trust-anchor")
	_ = fl.MarkHidden("mx-port")
	_ = fl.MarkHidden("policy-port")
	return cmd
}

// scanExitHelp is the exit status table of `mailwire scan`: the program's
// statuses (exitStatusHelp), read for a scan.
const scanExitHelp = "Exit status:\n" +
	"  0  the scan ran and nothing was graded bad\n" +
	"  1  nothing could be scanned: no port answered (no MX host, for --domain)\n" +
	"  2  usage error: a bad flag, a bad value, a missing argument\n" +
	"  3  a finding is graded bad (3 wins over 1)"

// scanJob is a checked scan request: a host or a domain, its options, and
// the lab it runs against, if any.
type scanJob struct {
	host    *scan.Options
	domain  *scan.DomainOptions
	closeFn func()
	// labCA is the CA file of the lab scanned with --lab.
	labCA string
}

func (j scanJob) close() {
	if j.closeFn != nil {
		j.closeFn()
	}
}

// runScan checks the flags, scans and reports.
func runScan(ctx context.Context, in io.Reader, out, errOut io.Writer, host string, f scanFlags, formatSet bool) error {
	switch f.format {
	case "text", "json", "markdown":
	default:
		return usageError(fmt.Errorf("--format %q: want text, json or markdown", f.format))
	}
	theme, err := parseTheme(f.theme)
	if err != nil {
		return err
	}
	job, err := scanRequest(ctx, host, f)
	if err != nil {
		return err
	}
	defer job.close()
	if onTerminal(in, out) && !formatSet {
		return runScanScreen(ctx, out, errOut, job, f, theme)
	}
	width := f.width
	if width == 0 {
		width = 100
		if file, ok := out.(*os.File); ok && term.IsTerminal(file.Fd()) {
			if cols, _, err := term.GetSize(file.Fd()); err == nil && cols > 0 {
				width = cols
			}
		}
	}
	if job.domain != nil {
		fmt.Fprintf(errOut, "mailwire scan: domain %s (resolver %s): MX hosts, MTA-STS, TLS-RPT, DNSSEC, DANE, and port 25 of each MX host\n",
			wire.SafeString(job.domain.Domain), job.domain.Resolver.Server())
		rep := scan.ScanDomain(ctx, *job.domain)
		if err := printDomain(out, f.format, width, rep); err != nil {
			return err
		}
		return scanOutcome(rep.Findings, len(rep.MX) > 0 && anyOpen(mxPorts(rep)), "scan of "+rep.Domain)
	}
	o := *job.host
	fmt.Fprintf(errOut, "mailwire scan: %s, %d ports at once (certificates checked for %s)\n",
		wire.SafeString(o.Host), len(o.Ports), wire.SafeString(serverNameOr(o)))
	rep := scan.Scan(ctx, o)
	if err := printHost(out, f.format, width, rep); err != nil {
		return err
	}
	return scanOutcome(rep.Findings, anyOpen(rep.Ports), "scan of "+rep.Host)
}

func serverNameOr(o scan.Options) string {
	if o.ServerName != "" {
		return o.ServerName
	}
	return o.Host
}

func mxPorts(rep *scan.DomainReport) []*scan.PortReport {
	var out []*scan.PortReport
	for _, mx := range rep.MX {
		if mx.Port != nil {
			out = append(out, mx.Port)
		}
	}
	return out
}

func anyOpen(ps []*scan.PortReport) bool {
	return slices.ContainsFunc(ps, func(p *scan.PortReport) bool { return p.State == scan.StateOpen })
}

// scanOutcome is the exit status of a scan: 3 when a finding is bad, else
// 1 when nothing answered.
func scanOutcome(fs []scan.Finding, answered bool, what string) error {
	var bad []string
	for _, f := range fs {
		if f.Grade == scan.Bad {
			where := ""
			if f.Host != "" {
				where = f.Host + " "
			}
			if f.Port != 0 {
				where += strconv.Itoa(f.Port) + ": "
			} else if where != "" {
				where += ": "
			}
			bad = append(bad, where+f.Title)
		}
	}
	if len(bad) > 0 {
		return &exitError{code: exitUnsafe, err: fmt.Errorf("%s: bad: %s", what, strings.Join(bad, "; "))}
	}
	if !answered {
		return &exitError{code: exitFailed, err: fmt.Errorf("%s failed: no port answered", what)}
	}
	return nil
}

func printHost(out io.Writer, format string, width int, rep *scan.Report) error {
	switch format {
	case "json":
		return scan.JSON(out, rep)
	case "markdown":
		return scan.Markdown(out, rep)
	}
	return scan.Text(out, rep, width)
}

func printDomain(out io.Writer, format string, width int, rep *scan.DomainReport) error {
	switch format {
	case "json":
		return scan.JSON(out, rep)
	case "markdown":
		return scan.DomainMarkdown(out, rep)
	}
	return scan.DomainText(out, rep, width)
}

// scanRequest turns the arguments and flags into a scan; its errors are
// usage errors, except a lab that does not start.
func scanRequest(ctx context.Context, host string, f scanFlags) (scanJob, error) {
	var job scanJob
	n := 0
	for _, set := range []bool{host != "", f.domain != "", f.useLab} {
		if set {
			n++
		}
	}
	if n != 1 {
		return job, usageError(errors.New("want one of HOST, --domain DOMAIN or --lab"))
	}
	if f.caFile != "" && f.insecure {
		return job, usageError(errors.New("--ca-file and --insecure: choose one"))
	}
	if host != "" && (strings.ContainsAny(host, " /@") || strings.Contains(strings.Trim(host, "[]"), ":") && net.ParseIP(strings.Trim(host, "[]")) == nil) {
		return job, usageError(fmt.Errorf("HOST %q: want a host name or an address, without a port (--ports chooses them)", host))
	}
	o := scan.Options{Host: strings.Trim(host, "[]"), ServerName: f.sni, Insecure: f.insecure, Timeout: f.timeout, HTTPS: f.https}
	if f.caFile != "" {
		pool, err := loadCAFile(f.caFile)
		if err != nil {
			return job, usageError(fmt.Errorf("--ca-file: %w", err))
		}
		o.Roots = pool
	}
	if f.domain != "" {
		if f.ports != "" || f.https || f.sni != "" {
			return job, usageError(errors.New("--ports, --https and --sni: not with --domain (each MX host is scanned on port 25 for its own name)"))
		}
		if _, ok := dns.IsDomainName(f.domain); !ok || strings.ContainsAny(f.domain, " /@") {
			return job, usageError(fmt.Errorf("--domain %q: not a domain name", f.domain))
		}
		cfg := resolver.Config{Server: f.resolver}
		if f.trustAnchor != "" {
			anchors, err := readTrustAnchors(f.trustAnchor)
			if err != nil {
				return job, usageError(fmt.Errorf("--trust-anchor: %w", err))
			}
			cfg.Anchors = anchors
		}
		r, err := resolver.New(cfg)
		if err != nil {
			return job, usageError(fmt.Errorf("--resolver: %w", err))
		}
		job.domain = &scan.DomainOptions{Domain: f.domain, Resolver: r, MXPort: f.mxPort, HTTPSPort: f.policyPort, Host: o}
		return job, nil
	}
	if f.resolver != "" || f.trustAnchor != "" || f.mxPort != 0 || f.policyPort != 0 {
		return job, usageError(errors.New("--resolver: only with --domain"))
	}
	if f.useLab {
		l, err := startSessionLab(ctx, f.labState)
		if err != nil {
			return job, err
		}
		job.closeFn = func() { l.Close() }
		job.labCA = l.CAPath()
		o.Host = lab.Hostname
		if o.ServerName == "" {
			o.ServerName = lab.Hostname
		}
		if o.Roots == nil {
			o.Roots = l.RootCAs()
		}
		for _, e := range l.Endpoints() {
			o.Ports = append(o.Ports, scan.Port{Canonical: e.Canonical, Addr: e.Addr})
		}
	}
	if o.Ports == nil {
		o.Ports = scan.HostPorts(o.Host, o.HTTPS)
	}
	if f.ports != "" {
		ports, err := parseScanPorts(f.ports, o)
		if err != nil {
			job.close()
			return job, usageError(err)
		}
		o.Ports = ports
	}
	if err := o.Validate(); err != nil {
		job.close()
		return job, usageError(err)
	}
	job.host = &o
	return job, nil
}

// parseScanPorts reads --ports: canonical ports, each optionally
// PORT=ACTUAL (another port number on the same host, or host:port).
func parseScanPorts(list string, o scan.Options) ([]scan.Port, error) {
	known := o.Ports // the host's ports, or the lab's addresses
	if !slices.ContainsFunc(known, func(k scan.Port) bool { return k.Canonical == 443 }) {
		known = append(slices.Clone(known), scan.HostPorts(o.Host, true)[7])
	}
	var out []scan.Port
	for _, item := range strings.Split(list, ",") {
		canon, actual, hasActual := strings.Cut(strings.TrimSpace(item), "=")
		p, err := strconv.Atoi(canon)
		i := slices.IndexFunc(known, func(k scan.Port) bool { return k.Canonical == p })
		if err != nil || i < 0 {
			return nil, fmt.Errorf("--ports: %q: want 25, 587, 465, 110, 995, 143, 993 or 443, optionally =PORT", item)
		}
		port := known[i]
		if hasActual {
			if n, err := strconv.ParseUint(actual, 10, 16); err == nil && n > 0 {
				port.Addr = net.JoinHostPort(hostOf(port.Addr), actual)
			} else if _, _, err := net.SplitHostPort(actual); err == nil {
				port.Addr = actual
			} else {
				return nil, fmt.Errorf("--ports: %q: want PORT=NUMBER or PORT=HOST:NUMBER", item)
			}
		}
		if slices.ContainsFunc(out, func(q scan.Port) bool { return q.Canonical == p }) {
			return nil, fmt.Errorf("--ports: %d listed twice", p)
		}
		out = append(out, port)
	}
	return out, nil
}

func hostOf(addr string) string {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return h
}

// readTrustAnchors reads DS records in zone-file syntax.
func readTrustAnchors(path string) ([]*dns.DS, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	var out []*dns.DS
	zp := dns.NewZoneParser(io.LimitReader(fh, 1<<20), ".", path)
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		if ds, isDS := rr.(*dns.DS); isDS {
			out = append(out, ds)
		}
	}
	if err := zp.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no DS record", path)
	}
	return out, nil
}

// runScanScreen runs the terminal interface on the scan screen: the scan of
// a host with its progress and findings, in target mode against that host
// (the port table, the connect form and each finding's session). A domain
// scan has no screen of its own: its report is printed. The exit status is
// the last scan's.
func runScanScreen(ctx context.Context, out, errOut io.Writer, job scanJob, f scanFlags, theme tui.Theme) error {
	if job.domain != nil {
		rep := scan.ScanDomain(ctx, *job.domain)
		if err := printDomain(out, "text", 0, rep); err != nil {
			return err
		}
		return scanOutcome(rep.Findings, len(rep.MX) > 0 && anyOpen(mxPorts(rep)), "scan of "+rep.Domain)
	}
	o := *job.host
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req := tui.ScanRequest{Host: o.Host, ServerName: o.ServerName, CAFile: f.caFile, Addrs: map[int]string{}}
	if job.labCA != "" {
		req.CAFile = job.labCA
	}
	for _, p := range o.Ports {
		req.Ports = append(req.Ports, p.Canonical)
		req.Addrs[p.Canonical] = p.Addr
	}
	base := scanSessionBase(f)
	// $SSLKEYLOGFILE: the secrets of the sessions the screen runs
	// (targetOpener's and promptOpener's, through withRecorders); the
	// scan's own probes and sessions do not write it.
	keys, err := openKeyLog(errOut, "", "the screen's sessions'")
	if err != nil {
		return err
	}
	defer keys.Close()
	base.KeyLog = keys.writer()
	var last runRecord
	var mu sync.Mutex
	var lastReport *scan.Report
	openScan := func(ctx context.Context, r tui.ScanRequest) (<-chan tui.ScanUpdate, error) {
		so := o
		so.Host, so.ServerName, so.Ports = r.Host, r.ServerName, nil
		for _, p := range r.Ports {
			so.Ports = append(so.Ports, scan.Port{Canonical: p, Addr: r.Addrs[p]})
		}
		if r.CAFile != "" && r.CAFile != f.caFile && r.CAFile != job.labCA {
			pool, err := loadCAFile(r.CAFile)
			if err != nil {
				return nil, err
			}
			so.Roots = pool
		}
		return streamScan(ctx, so, func(rep *scan.Report) {
			mu.Lock()
			lastReport = rep
			mu.Unlock()
		}), nil
	}
	p := tea.NewProgram(tui.New(tui.Options{Context: ctx, OpenScan: openScan, Scan: &req,
		OpenSession: targetOpener(base, &last), OpenPrompt: promptOpener(base, &last),
		RecentFile: tui.DefaultRecentFile(), Theme: theme}), tea.WithContext(ctx))
	_, runErr := p.Run()
	last.finish(promptGrace)
	cancel()
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		return fmt.Errorf("terminal interface: %w", runErr)
	}
	mu.Lock()
	rep := lastReport
	mu.Unlock()
	if rep == nil {
		return &exitError{code: exitFailed, err: errors.New("scan of " + wire.SafeString(o.Host) + ": left before it finished")}
	}
	return scanOutcome(rep.Findings, anyOpen(rep.Ports), "scan of "+rep.Host)
}

// streamScan runs a scan for the scan screen: its progress, then its
// report, on the channel, which is closed after the report; done sees the
// report first. Once ctx is cancelled nothing more is sent.
func streamScan(ctx context.Context, so scan.Options, done func(*scan.Report)) <-chan tui.ScanUpdate {
	ch := make(chan tui.ScanUpdate, 64)
	send := func(u tui.ScanUpdate) bool {
		select {
		case ch <- u:
			return true
		case <-ctx.Done():
			return false
		}
	}
	so.OnProgress = func(p scan.Progress) { send(tui.ScanUpdate{Progress: &p}) }
	go func() {
		defer close(ch)
		rep := scan.Scan(ctx, so)
		if ctx.Err() != nil {
			return
		}
		if done != nil {
			done(rep)
		}
		send(tui.ScanUpdate{Report: rep})
	}()
	return ch
}

// scanSessionBase are the options of the sessions the scan screen opens
// (a finding's, the port table's): the certificate checked as the scan
// checks it, no login unless typed at the prompt, nothing sent.
func scanSessionBase(f scanFlags) sessions.Options {
	var o sessions.Options
	switch {
	case f.insecure:
		o.Verify = wire.VerifyOff
	case f.caFile != "":
		o.Verify, o.CAFile = wire.VerifyCAFile, f.caFile
	default:
		o.Verify = wire.VerifySystem
	}
	o.SessionTimeout, o.ReadTimeout, o.DialTimeout = timeoutsFor(scriptedTimeout)
	return o
}
