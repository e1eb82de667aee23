package scan

import (
	"context"
	"sync"
	"time"

	"github.com/mailwire/mailwire/sessions/tlsprobe"
)

// Scan scans every port of opts at once and grades what it finds. It
// returns when every probe has ended or the scan's time limit (or ctx)
// ran out; what did not finish is reported as not tested, with why.
func Scan(ctx context.Context, opts Options) *Report {
	opts = opts.withDefaults()
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	start := time.Now()
	rep := &Report{Host: opts.Host, ServerName: opts.ServerName, Started: start.UTC()}
	h := newHostScan(ctx, opts, nil)
	rep.Ports = h.scanAll(ctx)
	rep.Certificates = certGroups(rep.Ports)
	for _, pr := range rep.Ports {
		rep.Findings = append(rep.Findings, h.gradePort(pr)...)
	}
	rep.Findings = append(rep.Findings, h.gradeHost(rep)...)
	rep.Worst = worst(rep.Findings)
	rep.Elapsed = time.Since(start)
	return rep
}

// hostScan is the state of the scan of one host: its bounds, its
// scanner, its progress counters.
type hostScan struct {
	opts    Options
	lim     *limiter
	scanner *tlsprobe.Scanner
	// ports maps a dialed address to its canonical port, for progress.
	ports map[string]int

	mu       sync.Mutex
	probes   map[int]int
	accepted map[int]int
}

// newHostScan prepares the scan of opts.Ports. A domain scan passes the
// Scanner it shares between hosts (its global bound); nil makes one.
func newHostScan(ctx context.Context, opts Options, scanner *tlsprobe.Scanner) *hostScan {
	h := &hostScan{opts: opts, ports: map[string]int{}, probes: map[int]int{}, accepted: map[int]int{}}
	for _, p := range opts.Ports {
		h.ports[p.Addr] = p.Canonical
	}
	share := probeShare(opts.PerHost)
	h.lim = newLimiter(ctx, max(1, opts.PerHost-share), sessionsPerAddr, min(opts.ReadTimeout, 10*time.Second), opts.Dial)
	if scanner == nil {
		scanner = tlsprobe.NewScanner(h.probeOptions(share))
	}
	h.scanner = scanner
	return h
}

// probeOptions are the tlsprobe options of a scan with perHost probes open
// at once to one host.
func (h *hostScan) probeOptions(perHost int) tlsprobe.Options {
	return tlsprobe.Options{
		ProbeTimeout: h.opts.ProbeTimeout,
		PerHost:      perHost,
		PerAddr:      probesPerAddr,
		Roots:        h.opts.Roots,
		Now:          h.opts.Now,
		Dial:         h.opts.Dial,
		OnProbe:      h.onProbe,
	}
}

// onProbe counts a finished probe and reports progress.
func (h *hostScan) onProbe(ev tlsprobe.ProbeEvent) {
	port, ok := h.ports[ev.Target.Addr]
	if !ok || h.opts.OnProgress == nil {
		return
	}
	h.mu.Lock()
	h.probes[port]++
	if ev.Answer != nil && ev.Answer.Hello && (ev.Purpose == "version" || ev.Purpose == "suites") {
		h.accepted[port]++
	}
	p := Progress{Port: port, Step: "probe", Probes: h.probes[port], Accepted: h.accepted[port],
		Text: ev.Purpose + " probe, " + versionName(ev.Version)}
	h.mu.Unlock()
	h.opts.OnProgress(p)
}

// progress reports a finished step of a port.
func (h *hostScan) progress(port int, step, text string) {
	if h.opts.OnProgress == nil {
		return
	}
	h.mu.Lock()
	p := Progress{Port: port, Step: step, Probes: h.probes[port], Accepted: h.accepted[port], Text: text}
	h.mu.Unlock()
	h.opts.OnProgress(p)
}

// scanAll scans every port at once.
func (h *hostScan) scanAll(ctx context.Context) []*PortReport {
	out := make([]*PortReport, len(h.opts.Ports))
	var wg sync.WaitGroup
	for i, p := range h.opts.Ports {
		wg.Go(func() {
			out[i] = h.scanPort(ctx, p)
			h.progress(p.Canonical, "done", "finished")
		})
	}
	wg.Wait()
	return out
}
