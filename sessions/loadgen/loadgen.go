// Package loadgen is mailwire's load generator: many concurrent sessions of
// lean clients (crypto/tls and a few lines of each protocol) against the
// lab or any mail server on loopback, so that what is measured is the
// server, not mailwire's annotated engine. It is a client and knows nothing
// of the lab's insides: `mailwire bench` and the lab's soak test use it,
// against the lab or against the peers' Postfix and Dovecot alike.
//
// A session is one Flow: the default, SMTPAuth, is a submission session
// (RFC 6409 on port 587: EHLO, STARTTLS, EHLO, AUTH PLAIN, QUIT); the
// others send a message, log in over IMAP or POP3, or fetch a page over
// HTTPS (flows.go).
package loadgen

import (
	"context"
	"crypto/tls"
	"errors"
	"math/rand/v2"
	"net"
	"runtime/metrics"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure Run.
type Options struct {
	Flow   Flow   // what each session does; default SMTPAuth
	Target string // host:port of the port the flow speaks to
	// Implicit: the port speaks TLS from the first byte (465, 993, 995;
	// RFC 8314 §3) instead of upgrading with STARTTLS or STLS. HTTPSGet is
	// always implicit.
	Implicit    bool
	Concurrency int // sessions open at once (workers)
	// Sessions is the number of sessions in all; with Duration set it may
	// be 0 (no limit other than the time).
	Sessions int
	// Duration, when set, stops handing out sessions after this long; the
	// sessions under way finish.
	Duration time.Duration
	// Pause is how long each worker waits between two of its sessions: a
	// well-behaved client's think time. Zero: none.
	Pause time.Duration
	// TLS verifies the server (RootCAs, ServerName). Each session makes a
	// full handshake: no session cache, as a fresh client would.
	TLS            *tls.Config
	User, Password string
	EHLO           string // default "load.mailwire.test"
	// Rcpt is the recipient of SMTPSubmit's message (and its sender).
	Rcpt string
	// SourceIPs, when set, are the local addresses the sessions dial from,
	// in turn (all of 127.0.0.0/8 is loopback on Linux): a way to stay
	// under a per-client connection limit without raising it.
	SourceIPs []net.IP
	// Hold makes the first Concurrency sessions wait after their login
	// until all of them have logged in (or HoldTimeout passed), so that
	// that many authenticated sessions are provably open at the same time.
	Hold        bool
	HoldTimeout time.Duration // default 30 s
	Timeout     time.Duration // one session; default 30 s
	// OnSession, when set, is called after each session with when it
	// started, how long it took and how it failed (nil: it went through).
	// It is called from the workers, concurrently.
	OnSession func(start time.Time, took time.Duration, err error)
}

// Result is what Run measured.
type Result struct {
	Sessions int            // attempted
	OK       int            // went through to the end (SMTP's 221, IMAP's tagged OK to LOGOUT, …)
	Failed   int            // Sessions - OK
	Errors   map[string]int // failure kinds (the step and the reply or error)
	Elapsed  time.Duration
	Rate     float64 // successful sessions per second
	// PeakOpen is the largest number of sessions that were logged in at
	// the same moment.
	PeakOpen int
	// Session latency, connect to the end, of the successful sessions.
	// Past maxLatencySamples sessions the percentiles come from a uniform
	// sample of them (Max stays exact).
	P50, P90, P99, Max time.Duration
	// PeakHeap is the largest Go heap (live and not yet swept objects) of
	// this process sampled during the run, every 10 ms; with an
	// in-process lab it covers the lab and the clients together.
	PeakHeap uint64
}

// maxLoadErrorKinds bounds Result.Errors: a server failing in a new way on
// each session cannot grow the map without end.
const maxLoadErrorKinds = 32

// maxLatencySamples bounds the latencies kept for the percentiles (8 bytes
// each): a run limited by Duration has no session count to size them by.
const maxLatencySamples = 1 << 17

// Run runs the sessions and reports. It returns an error only for bad
// options or a cancelled ctx; failed sessions are counted in the result.
func Run(ctx context.Context, o Options) (Result, error) {
	if err := o.check(); err != nil {
		return Result{}, err
	}
	if o.Sessions > 0 {
		o.Concurrency = min(o.Concurrency, o.Sessions)
	}
	tlsCfg := o.TLS.Clone()
	tlsCfg.ClientSessionCache = nil
	var end time.Time
	if o.Duration > 0 {
		end = time.Now().Add(o.Duration)
	}

	var (
		next   atomic.Int64 // sessions handed out
		open   atomic.Int64 // logged in now
		peak   atomic.Int64
		mu     sync.Mutex
		lat    = latencies{max: maxLatencySamples}
		errs   = make(map[string]int)
		failed int
	)
	held := newBarrier(o.Concurrency)

	stopSampling := make(chan struct{})
	heapDone := make(chan uint64)
	go sampleHeap(stopSampling, heapDone)

	start := time.Now()
	var wg sync.WaitGroup
	for range o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for first := true; ; first = false {
				if !first && o.Pause > 0 && !sleep(ctx, o.Pause) {
					return
				}
				if ctx.Err() != nil || (!end.IsZero() && !time.Now().Before(end)) {
					return
				}
				i := int(next.Add(1)) - 1
				if o.Sessions > 0 && i >= o.Sessions {
					return
				}
				var hold func()
				if o.Hold && i < o.Concurrency {
					hold = func() { held.arrive(ctx, o.HoldTimeout) }
				}
				var src net.IP
				if len(o.SourceIPs) > 0 {
					src = o.SourceIPs[i%len(o.SourceIPs)]
				}
				t0 := time.Now()
				err := session(ctx, o, tlsCfg, src, func() {
					n := open.Add(1)
					// A racy max is fine: a later, larger value wins
					// the next comparison.
					for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
					}
					if hold != nil {
						hold()
					}
				}, func() { open.Add(-1) })
				d := time.Since(t0)
				if o.OnSession != nil {
					o.OnSession(t0, d, err)
				}
				mu.Lock()
				if err != nil {
					failed++
					k := err.Error()
					if _, ok := errs[k]; ok || len(errs) < maxLoadErrorKinds {
						errs[k]++
					} else {
						errs["(other errors)"]++
					}
				} else {
					lat.add(d)
				}
				mu.Unlock()
				if err != nil && hold != nil {
					// A held session that failed must not keep the
					// others waiting.
					held.arrive(ctx, 0)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stopSampling)

	r := Result{
		OK:       lat.n,
		Failed:   failed,
		Sessions: lat.n + failed,
		Errors:   errs,
		Elapsed:  elapsed,
		PeakOpen: int(peak.Load()),
		PeakHeap: <-heapDone,
	}
	if elapsed > 0 {
		r.Rate = float64(r.OK) / elapsed.Seconds()
	}
	r.P50, r.P90, r.P99, r.Max = lat.quantiles()
	return r, ctx.Err()
}

// check validates the options and fills in the defaults.
func (o *Options) check() error {
	switch {
	case o.Target == "":
		return errors.New("load: no target")
	case o.Concurrency <= 0:
		return errors.New("load: concurrency must be positive")
	case o.Sessions < 0 || (o.Sessions == 0 && o.Duration <= 0):
		return errors.New("load: sessions must be positive (or a duration given)")
	case o.TLS == nil:
		return errors.New("load: no TLS configuration")
	case o.Flow < SMTPAuth || o.Flow > HTTPSGet:
		return errors.New("load: unknown flow")
	case o.Flow == SMTPSubmit && o.Rcpt == "":
		return errors.New("load: SMTPSubmit needs a recipient")
	}
	if o.EHLO == "" {
		o.EHLO = "load.mailwire.test"
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.HoldTimeout <= 0 {
		o.HoldTimeout = 30 * time.Second
	}
	return nil
}

// sleep waits d or until ctx ends, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// latencies keeps the successful sessions' durations: all of them up to
// max, then a uniform sample of max (reservoir sampling, Vitter's
// algorithm R). Not safe for concurrent use.
type latencies struct {
	max     int
	n       int // sessions seen
	longest time.Duration
	kept    []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.n++
	l.longest = max(l.longest, d)
	if len(l.kept) < l.max {
		l.kept = append(l.kept, d)
		return
	}
	if i := rand.IntN(l.n); i < l.max {
		l.kept[i] = d
	}
}

// quantiles returns p50, p90, p99 and the maximum (zeros when empty).
func (l *latencies) quantiles() (p50, p90, p99, longest time.Duration) {
	n := len(l.kept)
	if n == 0 {
		return 0, 0, 0, 0
	}
	s := slices.Clone(l.kept)
	slices.Sort(s)
	q := func(p float64) time.Duration { return s[min(n-1, int(p*float64(n)))] }
	return q(0.50), q(0.90), q(0.99), l.longest
}

// sampleHeap reports the peak of the Go heap until stop is closed.
// runtime/metrics reads it without stopping the world, unlike
// runtime.ReadMemStats.
func sampleHeap(stop <-chan struct{}, done chan<- uint64) {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	read := func() {
		metrics.Read(s)
		if s[0].Value.Kind() == metrics.KindUint64 {
			peak = max(peak, s[0].Value.Uint64())
		}
	}
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		read()
		select {
		case <-stop:
			read()
			done <- peak
			return
		case <-t.C:
		}
	}
}

// barrier lets n sessions wait for each other.
type barrier struct {
	mu      sync.Mutex
	n       int
	arrived int
	all     chan struct{}
}

func newBarrier(n int) *barrier { return &barrier{n: n, all: make(chan struct{})} }

// arrive counts one session and waits (at most wait) for the others.
func (b *barrier) arrive(ctx context.Context, wait time.Duration) {
	b.mu.Lock()
	b.arrived++
	if b.arrived == b.n {
		close(b.all)
	}
	b.mu.Unlock()
	if wait <= 0 {
		return
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-b.all:
	case <-t.C:
	case <-ctx.Done():
	}
}
