package lab

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The load generator: many concurrent submission sessions (RFC 6409 on port
// 587: EHLO, STARTTLS, EHLO, AUTH PLAIN, QUIT) against the lab or any SMTP
// server, with a lean client (crypto/tls and a few lines of SMTP) so that
// what is measured is the server, not the annotated engine.

// LoadOptions configure RunLoad.
type LoadOptions struct {
	Target      string // host:port of a STARTTLS submission port (587)
	Concurrency int    // sessions open at once (workers)
	Sessions    int    // sessions in all
	// TLS verifies the server (RootCAs, ServerName). Each session makes a
	// full handshake: no session cache, as a fresh client would.
	TLS            *tls.Config
	User, Password string
	EHLO           string // default "load.mailwire.test"
	// SourceIPs, when set, are the local addresses the sessions dial from,
	// in turn (all of 127.0.0.0/8 is loopback on Linux): a way to stay
	// under a per-client connection limit without raising it.
	SourceIPs []net.IP
	// Hold makes the first Concurrency sessions wait after AUTH until all
	// of them have authenticated (or HoldTimeout passed), so that that
	// many authenticated sessions are provably open at the same time.
	Hold        bool
	HoldTimeout time.Duration // default 30 s
	Timeout     time.Duration // one session; default 30 s
}

// LoadResult is what RunLoad measured.
type LoadResult struct {
	Sessions int            // attempted
	OK       int            // went through QUIT's 221
	Failed   int            // Sessions - OK
	Errors   map[string]int // failure kinds (the step and the reply or error)
	Elapsed  time.Duration
	Rate     float64 // successful sessions per second
	// PeakOpen is the largest number of sessions that were authenticated
	// at the same moment.
	PeakOpen int
	// Session latency, connect to 221, of the successful sessions.
	P50, P90, P99, Max time.Duration
	// PeakHeap is the largest Go heap (live and not yet swept objects) of
	// this process sampled during the run, every 10 ms; with an
	// in-process lab it covers the lab and the clients together.
	PeakHeap uint64
}

// maxLoadErrorKinds bounds LoadResult.Errors: a server failing in a new
// way on each session cannot grow the map without end.
const maxLoadErrorKinds = 32

// RunLoad runs the sessions and reports. It returns an error only for bad
// options; failed sessions are counted in the result.
func RunLoad(ctx context.Context, o LoadOptions) (LoadResult, error) {
	if o.Target == "" {
		return LoadResult{}, errors.New("load: no target")
	}
	if o.Concurrency <= 0 || o.Sessions <= 0 {
		return LoadResult{}, errors.New("load: concurrency and sessions must be positive")
	}
	if o.TLS == nil {
		return LoadResult{}, errors.New("load: no TLS configuration")
	}
	o.Concurrency = min(o.Concurrency, o.Sessions)
	if o.EHLO == "" {
		o.EHLO = "load.mailwire.test"
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.HoldTimeout <= 0 {
		o.HoldTimeout = 30 * time.Second
	}
	tlsCfg := o.TLS.Clone()
	tlsCfg.ClientSessionCache = nil

	var (
		next      atomic.Int64 // sessions handed out
		open      atomic.Int64 // authenticated now
		peak      atomic.Int64
		mu        sync.Mutex
		latencies = make([]time.Duration, 0, o.Sessions)
		errs      = make(map[string]int)
		failed    int
	)
	held := newLoadBarrier(o.Concurrency)

	stopSampling := make(chan struct{})
	heapDone := make(chan uint64)
	go sampleHeap(stopSampling, heapDone)

	start := time.Now()
	var wg sync.WaitGroup
	for range o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= o.Sessions || ctx.Err() != nil {
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
				err := loadSession(ctx, o, tlsCfg, src, func() {
					if n := open.Add(1); n > peak.Load() {
						// A racy max is fine: a later, larger value
						// wins the next comparison.
						for {
							p := peak.Load()
							if n <= p || peak.CompareAndSwap(p, n) {
								break
							}
						}
					}
					if hold != nil {
						hold()
					}
				}, func() { open.Add(-1) })
				d := time.Since(t0)
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
					latencies = append(latencies, d)
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

	r := LoadResult{
		Sessions: min(o.Sessions, int(next.Load())),
		OK:       len(latencies),
		Failed:   failed,
		Errors:   errs,
		Elapsed:  elapsed,
		PeakOpen: int(peak.Load()),
		PeakHeap: <-heapDone,
	}
	if elapsed > 0 {
		r.Rate = float64(r.OK) / elapsed.Seconds()
	}
	if n := len(latencies); n > 0 {
		slices.Sort(latencies)
		q := func(p float64) time.Duration { return latencies[min(n-1, int(p*float64(n)))] }
		r.P50, r.P90, r.P99, r.Max = q(0.50), q(0.90), q(0.99), latencies[n-1]
	}
	return r, ctx.Err()
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

// loadBarrier lets n sessions wait for each other.
type loadBarrier struct {
	mu      sync.Mutex
	n       int
	arrived int
	all     chan struct{}
}

func newLoadBarrier(n int) *loadBarrier { return &loadBarrier{n: n, all: make(chan struct{})} }

// arrive counts one session and waits (at most wait) for the others.
func (b *loadBarrier) arrive(ctx context.Context, wait time.Duration) {
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

// Bounds on what the lean client reads (RFC 5321 §4.5.3.1.5: a reply line
// is at most 512 octets; servers list a few dozen extensions at most).
const (
	loadMaxReplyLine  = 1000
	loadMaxReplyLines = 100
)

// loadSession runs one EHLO, STARTTLS, EHLO, AUTH PLAIN, QUIT session.
// authed runs after a successful AUTH, closed when the session ends after
// that.
func loadSession(ctx context.Context, o LoadOptions, cfg *tls.Config, src net.IP, authed, closed func()) (err error) {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	d := net.Dialer{}
	if src != nil {
		d.LocalAddr = &net.TCPAddr{IP: src}
	}
	raw, err := d.DialContext(ctx, "tcp", o.Target)
	if err != nil {
		return fmt.Errorf("connect: %w", trimAddr(err))
	}
	defer raw.Close()
	deadline, _ := ctx.Deadline()
	raw.SetDeadline(deadline)
	// The context also ends a session blocked in a read or write.
	stop := context.AfterFunc(ctx, func() { raw.SetDeadline(time.Now()) })
	defer stop()

	c := &loadConn{conn: raw, r: bufio.NewReaderSize(raw, 4096)}
	if err := c.expect("greeting", "", 220); err != nil {
		return err
	}
	if err := c.expect("EHLO", "EHLO "+o.EHLO, 250); err != nil {
		return err
	}
	if err := c.expect("STARTTLS", "STARTTLS", 220); err != nil {
		return err
	}
	if c.r.Buffered() > 0 {
		// RFC 3207 §4.2 (CVE-2011-0411): nothing may follow the 220 in
		// cleartext.
		return errors.New("STARTTLS: server sent data after its 220")
	}
	tc := tls.Client(raw, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return fmt.Errorf("TLS handshake: %w", trimAddr(err))
	}
	c = &loadConn{conn: tc, r: bufio.NewReaderSize(tc, 4096)}
	if err := c.expect("EHLO after STARTTLS", "EHLO "+o.EHLO, 250); err != nil {
		return err
	}
	// RFC 4616 §2: authzid NUL authcid NUL passwd; RFC 4954 §4 initial
	// response.
	ir := base64.StdEncoding.EncodeToString([]byte("\x00" + o.User + "\x00" + o.Password))
	if err := c.expect("AUTH", "AUTH PLAIN "+ir, 235); err != nil {
		return err
	}
	authed()
	defer closed()
	return c.expect("QUIT", "QUIT", 221)
}

// loadConn is the lean client's connection.
type loadConn struct {
	conn net.Conn
	r    *bufio.Reader
}

// expect sends cmd (unless empty) and reads a whole reply, which must have
// code want. The error names the step and, for a refusal, quotes the
// reply's last line (sanitized: it goes to a terminal).
func (c *loadConn) expect(step, cmd string, want int) error {
	if cmd != "" {
		if _, err := io.WriteString(c.conn, cmd+"\r\n"); err != nil {
			return fmt.Errorf("%s: %w", step, trimAddr(err))
		}
	}
	code, last, err := c.reply()
	if err != nil {
		return fmt.Errorf("%s: %w", step, trimAddr(err))
	}
	if code != want {
		return fmt.Errorf("%s: %s", step, printable(last))
	}
	return nil
}

// reply reads one SMTP reply (RFC 5321 §4.2: "xyz-text" continues,
// "xyz text" ends it) and returns its code and last line.
func (c *loadConn) reply() (int, string, error) {
	for range loadMaxReplyLines {
		line, err := c.r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) || len(line) > loadMaxReplyLine {
			return 0, "", errors.New("reply line too long")
		}
		if err != nil {
			if len(line) > 0 && errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return 0, "", err
		}
		s := strings.TrimRight(string(line), "\r\n")
		if len(s) < 3 {
			return 0, "", fmt.Errorf("malformed reply %q", printable(s))
		}
		code, err := strconv.Atoi(s[:3])
		if err != nil || code < 200 || code > 599 {
			return 0, "", fmt.Errorf("malformed reply %q", printable(s))
		}
		if len(s) == 3 || s[3] == ' ' {
			return code, s, nil
		}
		if s[3] != '-' {
			return 0, "", fmt.Errorf("malformed reply %q", printable(s))
		}
	}
	return 0, "", fmt.Errorf("reply longer than %d lines", loadMaxReplyLines)
}

// printable keeps a server's words fit for a terminal and a map key.
func printable(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, s)
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}

// trimAddr drops the addresses from a network error, so that the same
// failure on different connections counts as one kind.
func trimAddr(err error) error {
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Err == nil {
		return err
	}
	inner := oe.Err
	var se *os.SyscallError
	if errors.As(inner, &se) && se.Err != nil {
		inner = se.Err // "read: connection reset by peer" once, not twice
	}
	return fmt.Errorf("%s: %w", oe.Op, inner)
}
