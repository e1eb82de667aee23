package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/loadgen"
	"github.com/mailwire/mailwire/sessions/wire"
)

// benchFlags are the flags of `mailwire bench`.
type benchFlags struct {
	target      string
	concurrency int
	sessions    int
	caFile      string
	sni         string
	user        string
	password    string
	sourceIPs   int
	hold        bool
	timeout     time.Duration
	format      string
	stateDir    string
}

func newBenchCmd() *cobra.Command {
	f := benchFlags{concurrency: 500, sessions: 2000, hold: true, timeout: 60 * time.Second, format: "text"}
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure a submission port under load: many concurrent STARTTLS+AUTH sessions",
		Long: "Open many concurrent submission sessions (EHLO, STARTTLS, EHLO, AUTH PLAIN,\n" +
			"QUIT; RFC 6409 on port 587) with a lean client and report the session rate,\n" +
			"latency and memory. Each session makes a full TLS handshake.\n\n" +
			"Without --target an in-process lab is started with its connection caps raised\n" +
			"to fit --concurrency (its defaults, 64 connections and 16 per client, would\n" +
			"refuse most sessions), so client and lab share this process. Only loopback\n" +
			"targets are accepted: this is for your own servers.",
		Example: "  mailwire bench\n" +
			"  mailwire bench --concurrency 500 --sessions 5000\n" +
			"  mailwire bench --target 127.0.0.2:587 --ca-file /tmp/mailpeers/ca.pem --sni mail.peers.test \\\n" +
			"      --user learner --password correct-horse",
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			warnDeprecated(cmd)
			return runBench(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.target, "target", "", "submission server, HOST[:PORT] on loopback (default: an in-process lab)")
	fl.IntVar(&f.concurrency, "concurrency", f.concurrency, "sessions open at once")
	fl.IntVar(&f.sessions, "sessions", f.sessions, "sessions in all")
	fl.StringVar(&f.caFile, "ca-file", "", "verify the server certificate with the CAs in this PEM file (default with --target: the system's)")
	fl.StringVar(&f.sni, "sni", "", "server name to send and verify (default: the target's host)")
	fl.StringVar(&f.user, "user", "", "user name for AUTH PLAIN (lab: "+lab.DemoUser+")")
	fl.StringVar(&f.password, "password", "", "password (prefer $MAILWIRE_PASSWORD: flags show in the process list)")
	fl.IntVar(&f.sourceIPs, "source-ips", 0, "spread the sessions over this many client addresses 127.0.0.10… (to stay under per-client limits)")
	fl.BoolVar(&f.hold, "hold", f.hold, "hold the first --concurrency sessions after AUTH until all are in, proving they overlap")
	fl.DurationVar(&f.timeout, "timeout", f.timeout, "limit for one session")
	fl.StringVar(&f.format, "format", f.format, "output: text or json")
	addStateDirFlag(fl, &f.stateDir, true)
	return cmd
}

// benchReport is the JSON form of the result.
type benchReport struct {
	Target      string         `json:"target"`
	InProcess   bool           `json:"in_process_lab"`
	Concurrency int            `json:"concurrency"`
	Sessions    int            `json:"sessions"`
	OK          int            `json:"ok"`
	Failed      int            `json:"failed"`
	Errors      map[string]int `json:"errors,omitempty"`
	ElapsedS    float64        `json:"elapsed_s"`
	Rate        float64        `json:"sessions_per_s"`
	PeakOpen    int            `json:"peak_open"`
	P50ms       float64        `json:"p50_ms"`
	P90ms       float64        `json:"p90_ms"`
	P99ms       float64        `json:"p99_ms"`
	MaxMs       float64        `json:"max_ms"`
	PeakHeapMiB float64        `json:"peak_heap_mib"`
	PeakRSSMiB  float64        `json:"peak_rss_mib,omitempty"` // 0: unknown
}

// runBench runs the load and prints the report on out (text, or the JSON
// form documented in README "mailwire bench"), and its progress on errOut.
func runBench(ctx context.Context, out, errOut io.Writer, f benchFlags) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if f.format != "text" && f.format != "json" {
		return usageError(fmt.Errorf("--format %q: want text or json", f.format))
	}
	if f.concurrency <= 0 || f.sessions <= 0 {
		return usageError(errors.New("--concurrency and --sessions must be positive"))
	}
	if f.sourceIPs < 0 || f.sourceIPs > 200 {
		return usageError(errors.New("--source-ips must be in 0..200"))
	}
	if f.timeout < 0 {
		return usageError(fmt.Errorf("--timeout %v: want a positive duration, the limit of one session (0: 30s)", f.timeout))
	}
	o := loadgen.Options{
		Concurrency: f.concurrency,
		Sessions:    f.sessions,
		User:        f.user,
		Password:    f.password,
		Hold:        f.hold,
		Timeout:     f.timeout,
	}
	if o.Password == "" {
		o.Password = os.Getenv("MAILWIRE_PASSWORD")
	}
	for i := range f.sourceIPs {
		o.SourceIPs = append(o.SourceIPs, net.IPv4(127, 0, 0, byte(10+i)))
	}

	inProcess := f.target == ""
	if inProcess {
		l, err := startBenchLab(ctx, f, errOut)
		if err != nil {
			return err
		}
		defer l.Close()
		e, _ := l.Endpoint(587)
		o.Target = e.Addr
		o.TLS = &tls.Config{RootCAs: l.RootCAs(), ServerName: lab.Hostname}
		if o.User == "" {
			o.User = lab.DemoUser
		}
		if o.Password == "" {
			o.Password = lab.DemoPassword
		}
	} else {
		target, host, err := loopbackTarget(ctx, f.target)
		if err != nil {
			return err
		}
		o.Target = target
		o.TLS = &tls.Config{ServerName: host}
		if f.sni != "" {
			o.TLS.ServerName = f.sni
		}
		if f.caFile != "" {
			pool, err := loadCAFile(f.caFile)
			if err != nil {
				return err
			}
			o.TLS.RootCAs = pool
		}
		if o.User == "" || o.Password == "" {
			return errors.New("--target needs --user and a password (--password or $MAILWIRE_PASSWORD)")
		}
	}

	prog := startBenchProgress(errOut, o.Sessions)
	o.OnSession = prog.session
	r, err := loadgen.Run(ctx, o)
	prog.stop()
	if err != nil && r.Sessions == 0 {
		return fmt.Errorf("bench: %w", err)
	}
	rep := benchReport{
		Target: o.Target, InProcess: inProcess, Concurrency: o.Concurrency,
		Sessions: r.Sessions, OK: r.OK, Failed: r.Failed, Errors: r.Errors,
		ElapsedS: r.Elapsed.Seconds(), Rate: r.Rate, PeakOpen: r.PeakOpen,
		P50ms: ms(r.P50), P90ms: ms(r.P90), P99ms: ms(r.P99), MaxMs: ms(r.Max),
		PeakHeapMiB: float64(r.PeakHeap) / (1 << 20),
		PeakRSSMiB:  float64(peakRSS()) / (1 << 20),
	}
	if f.format == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		printBench(out, rep)
	}
	if err != nil {
		return fmt.Errorf("bench interrupted: %w", err)
	}
	if r.Failed > 0 {
		return fmt.Errorf("%d of %d sessions failed", r.Failed, r.Sessions)
	}
	return nil
}

// startBenchLab starts a lab whose connection caps fit the load: the only
// limits raised are the connection counts; every other cap stays as
// `mailwire lab` runs it.
func startBenchLab(ctx context.Context, f benchFlags, errOut io.Writer) (*lab.Lab, error) {
	dir, err := labStateDir(f.stateDir, errOut)
	if err != nil {
		return nil, err
	}
	opts := lab.DefaultOptions()
	opts.AnyPort = true
	opts.StateDir = dir
	opts.Limits.MaxConns = f.concurrency + 16
	opts.Limits.MaxConnsPerClient = f.concurrency + 16
	l, err := lab.Start(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("start lab: %w", err)
	}
	return l, nil
}

// loopbackTarget resolves HOST[:PORT] (port 587 by default) and insists
// that every address of it is loopback: a load generator is for one's own
// servers. It returns the address to dial and the host name for SNI.
func loopbackTarget(ctx context.Context, target string) (string, string, error) {
	hostPort := withPort(target, 587)
	host, port, err := net.SplitHostPort(hostPort)
	if err != nil {
		return "", "", fmt.Errorf("--target %q: %w", target, err)
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(rctx, "ip", host)
	if err != nil {
		return "", "", fmt.Errorf("--target %q: %w", target, err)
	}
	if len(addrs) == 0 {
		return "", "", fmt.Errorf("--target %q: no address", target)
	}
	for _, a := range addrs {
		if !a.IsLoopback() {
			return "", "", fmt.Errorf("--target %q resolves to %s, not loopback: bench only loads servers on this machine", target, a)
		}
	}
	return net.JoinHostPort(addrs[0].Unmap().String(), port), host, nil
}

// loadCAFile reads --ca-file (sessions.LoadCAFile: bounded, PEM).
func loadCAFile(path string) (*x509.CertPool, error) {
	pool, err := sessions.LoadCAFile(path)
	if err != nil {
		return nil, fmt.Errorf("--ca-file: %w", err)
	}
	return pool, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func printBench(out io.Writer, r benchReport) {
	where := r.Target
	if r.InProcess {
		where += fmt.Sprintf(" (in-process lab, connection caps raised to %d)", r.Concurrency+16)
	}
	fmt.Fprintf(out, "target       %s\n", where)
	fmt.Fprintf(out, "sessions     %d ok, %d failed (EHLO, STARTTLS, EHLO, AUTH PLAIN, QUIT)\n", r.OK, r.Failed)
	fmt.Fprintf(out, "concurrency  %d (peak %d authenticated at once)\n", r.Concurrency, r.PeakOpen)
	fmt.Fprintf(out, "elapsed      %.2fs\n", r.ElapsedS)
	fmt.Fprintf(out, "rate         %.1f sessions/s\n", r.Rate)
	fmt.Fprintf(out, "latency      p50 %.1fms  p90 %.1fms  p99 %.1fms  max %.1fms\n", r.P50ms, r.P90ms, r.P99ms, r.MaxMs)
	mem := fmt.Sprintf("peak Go heap %.1f MiB", r.PeakHeapMiB)
	if r.PeakRSSMiB > 0 {
		mem += fmt.Sprintf(", peak RSS %.1f MiB", r.PeakRSSMiB)
	}
	fmt.Fprintf(out, "memory       %s\n", mem)
	if len(r.Errors) > 0 {
		kinds := make([]string, 0, len(r.Errors))
		for k := range r.Errors {
			kinds = append(kinds, k)
		}
		slices.SortFunc(kinds, func(a, b string) int { return r.Errors[b] - r.Errors[a] })
		fmt.Fprintln(out, "failures:")
		for _, k := range kinds {
			fmt.Fprintf(out, "  %6d  %s\n", r.Errors[k], k)
		}
	}
}

// peakRSS returns the process's peak resident set size in bytes (VmHWM of
// /proc/self/status, Linux), or 0 where it is not known.
func peakRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 2 && f[1] == "kB" {
			if kb, err := strconv.ParseUint(f[0], 10, 64); err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

// benchProgress shows how far a run is on errOut: on a terminal one line
// rewritten in place a few times a second (and cleared at the end),
// elsewhere a line every benchProgressEvery, so a log shows the run is
// alive without filling up.
type benchProgress struct {
	out      io.Writer
	tty      bool
	total    int
	start    time.Time
	ok, fail atomic.Int64
	done     chan struct{}
	wg       sync.WaitGroup
}

// How often the progress line is written: on a terminal, and elsewhere.
var (
	benchProgressTTY   = 250 * time.Millisecond
	benchProgressEvery = 5 * time.Second
)

func startBenchProgress(out io.Writer, total int) *benchProgress {
	p := &benchProgress{out: out, total: total, start: time.Now(), done: make(chan struct{})}
	if file, ok := out.(*os.File); ok {
		p.tty = term.IsTerminal(file.Fd())
	}
	every := benchProgressEvery
	if p.tty {
		every = benchProgressTTY
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-p.done:
				if p.tty {
					fmt.Fprint(p.out, "\r\x1b[K") // clear the line: the report follows
				}
				return
			case <-t.C:
				p.print()
			}
		}
	}()
	return p
}

// session counts one finished session (loadgen.Options.OnSession).
func (p *benchProgress) session(_ time.Time, _ time.Duration, err error) {
	if err != nil {
		p.fail.Add(1)
	} else {
		p.ok.Add(1)
	}
}

func (p *benchProgress) print() {
	ok, fail := p.ok.Load(), p.fail.Load()
	el := time.Since(p.start)
	line := fmt.Sprintf("mailwire bench: %d/%d sessions (%d failed), %.0f sessions/s, %s",
		ok+fail, p.total, fail, float64(ok)/max(el.Seconds(), 1e-3), wire.FormatDuration(el))
	if p.tty {
		fmt.Fprint(p.out, "\r\x1b[K"+line)
		return
	}
	fmt.Fprintln(p.out, line)
}

func (p *benchProgress) stop() {
	close(p.done)
	p.wg.Wait()
}
