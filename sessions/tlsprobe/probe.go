package tlsprobe

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/mailwire/mailwire/sessions/tlsmsg"
)

// Target is one port to probe.
type Target struct {
	// Addr is host:port.
	Addr string `json:"addr"`
	// Proto is the mail protocol spoken before TLS on an explicit-TLS
	// port: "smtp", "imap" or "pop3" (the engine's protocol names).
	Proto string `json:"proto,omitempty"`
	// StartTLS: the port starts in cleartext and each probe first runs
	// Proto's preamble up to the server's go-ahead; otherwise the
	// ClientHello is the first byte sent (implicit TLS, RFC 8314 §3.3).
	StartTLS bool `json:"starttls,omitempty"`
	// ServerName is sent as SNI (a DNS name only) and is the name the
	// certificate chains are checked against; empty checks the host
	// part of Addr.
	ServerName string `json:"server_name,omitempty"`
	// EHLOName is the name an SMTP preamble gives in EHLO; empty sends
	// the address literal of the connection's local address (RFC 5321
	// §4.1.3), which is true and says nothing more.
	EHLOName string `json:"ehlo_name,omitempty"`
	// ALPN asks for the ALPN strictness probe on this target, as
	// Options.ALPN does on every target (mailwire scan asks on the
	// implicit-TLS ports only).
	ALPN bool `json:"alpn,omitempty"`
}

// host is the host part of Addr.
func (t Target) host() string {
	h, _, err := net.SplitHostPort(t.Addr)
	if err != nil {
		return t.Addr
	}
	return h
}

// Defaults of Options.
const (
	DefaultProbeTimeout = 5 * time.Second
	// DefaultPerHost bounds the connections open at once to one host,
	// all its ports together: below the lab's 16 per client and far
	// below Postfix's smtpd_client_connection_count_limit (50).
	DefaultPerHost = 8
	// DefaultTotal bounds the connections open at once across a Scanner.
	DefaultTotal = 32
	// DefaultMaxProbes bounds the probes of one port: every suite in
	// the registry accepted under every version fits.
	DefaultMaxProbes = 2000
	// DefaultParts: see Options.Parts.
	DefaultParts = 4
)

// UnknownALPN is the protocol the ALPN probe offers: no server knows it,
// so a strict one must refuse (RFC 7301 §3.2).
const UnknownALPN = "x-mailwire-unknown"

// Options configure a Scanner. The zero value is usable.
type Options struct {
	// Versions to probe; nil means Versions().
	Versions []uint16
	// ProbeTimeout bounds one probe, connection and preamble included.
	ProbeTimeout time.Duration
	// PerHost bounds the connections open at once to one host, across
	// every Scan of the Scanner; Total across all hosts.
	PerHost, Total int
	// PerAddr, when positive, bounds the connections open at once to one
	// address (host and port) within PerHost: the ports of a host scanned
	// together share its bound fairly, and a slow port (a server that
	// forks a process per connection) cannot hold every slot while a
	// fast one waits.
	PerAddr int
	// MaxProbes bounds the probes of one Scan; past it the versions not
	// finished are marked Incomplete.
	MaxProbes int
	// Parts is how many disjoint parts a version's candidates are split
	// into after the first probe, each enumerated on its own, in
	// parallel. Every part ends with one refusal, so more parts cost
	// more connections and give more parallelism.
	Parts int
	// ALPN asks for the ALPN strictness probe (meant for implicit-TLS
	// ports, where an HTTPS client redirected by an attacker would land).
	ALPN bool
	// Roots verify the chains seen; nil means the system's.
	Roots *x509.CertPool
	// Now is the time chains are checked at; zero means time.Now().
	Now time.Time
	// Dial opens a connection; nil uses a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// OnProbe, when set, is told about every probe as it ends, from the
	// goroutine that ran it (several at once): live progress.
	OnProbe func(ProbeEvent)
}

// ProbeEvent reports one finished probe.
type ProbeEvent struct {
	Target  Target
	Version uint16
	// Purpose is what the probe was for: "version", "suites", "order" or
	// "alpn".
	Purpose string
	Offered int
	Answer  *Answer // nil when Err
	Err     error   // the connection or the preamble failed
	Elapsed time.Duration
}

// Scanner probes ports, sharing its connection bounds between the Scans
// running at once. It is safe for concurrent use.
type Scanner struct {
	opts  Options
	total chan struct{}
	mu    sync.Mutex
	hosts map[string]chan struct{}
	addrs map[string]chan struct{}
	// calm holds, per host that said it is busy (Busy), the narrower
	// bound every later probe of that host also takes: a server that
	// caps its connections (Exim's smtp_accept_max, 20, counts each until
	// the process serving it has exited) is asked fewer at once instead
	// of being asked again as hard.
	calm map[string]chan struct{}
	// ok holds the hosts that answered a probe with something other than
	// "not now" (HostAnswered).
	ok map[string]bool
}

// NewScanner returns a Scanner with opts, defaults filled in.
func NewScanner(opts Options) *Scanner {
	if len(opts.Versions) == 0 {
		opts.Versions = Versions()
	}
	if opts.ProbeTimeout <= 0 {
		opts.ProbeTimeout = DefaultProbeTimeout
	}
	if opts.PerHost <= 0 {
		opts.PerHost = DefaultPerHost
	}
	if opts.Total <= 0 {
		opts.Total = DefaultTotal
	}
	if opts.Parts <= 0 {
		opts.Parts = DefaultParts
	}
	if opts.MaxProbes <= 0 {
		opts.MaxProbes = DefaultMaxProbes
	}
	if opts.Dial == nil {
		var d net.Dialer
		opts.Dial = d.DialContext
	}
	return &Scanner{opts: opts, total: make(chan struct{}, opts.Total), hosts: map[string]chan struct{}{},
		addrs: map[string]chan struct{}{}, calm: map[string]chan struct{}{}, ok: map[string]bool{}}
}

// answered notes that t's host answered a probe (not "not now").
func (s *Scanner) answered(t Target) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ok[t.host()] = true
}

// HostAnswered says whether the host of addr (host:port) has answered any
// probe of this Scanner with something other than "not now" (Busy): a
// server busy because of the scan's own connections has, one that turns
// everyone away has not.
func (s *Scanner) HostAnswered(addr string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ok[Target{Addr: addr}.host()]
}

// calmHost narrows the connections to t's host from now on: a quarter of
// PerHost, at least one.
func (s *Scanner) calmHost(t Target) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calm[t.host()] == nil {
		s.calm[t.host()] = make(chan struct{}, max(1, s.opts.PerHost/4))
	}
}

// acquire takes a connection slot for t, waiting for one; release gives
// it back.
func (s *Scanner) acquire(ctx context.Context, t Target) (release func(), err error) {
	s.mu.Lock()
	host := t.host()
	hsem := s.hosts[host]
	if hsem == nil {
		hsem = make(chan struct{}, s.opts.PerHost)
		s.hosts[host] = hsem
	}
	sems := []chan struct{}{hsem, s.total}
	if s.opts.PerAddr > 0 {
		asem := s.addrs[t.Addr]
		if asem == nil {
			asem = make(chan struct{}, s.opts.PerAddr)
			s.addrs[t.Addr] = asem
		}
		sems = append([]chan struct{}{asem}, sems...)
	}
	if calm := s.calm[host]; calm != nil {
		sems = append([]chan struct{}{calm}, sems...)
	}
	s.mu.Unlock()
	// Always the busy host's narrow slot first, then the address's, then
	// the host's, then the global one: the same order everywhere, so two
	// probes never wait on each other.
	for i, sem := range sems {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			for _, held := range sems[:i] {
				<-held
			}
			return nil, ctx.Err()
		}
	}
	return func() {
		for _, sem := range sems {
			<-sem
		}
	}, nil
}

// Probe sends one ClientHello to t on a new connection (after t's
// STARTTLS preamble) and reads the answer: with flight, under TLS ≤ 1.2,
// up to ServerHelloDone. It then closes the connection: no handshake is
// ever completed. The error is for a probe that never got to send its
// hello (no connection, a preamble the server refused); a server's way of
// saying no to the hello is in Answer.Refusal.
//
// A server that answers "not now" (Busy: Exim's 421 past smtp_accept_max,
// which counts a connection until the process serving it has exited) is
// asked again after a pause, up to BusyRetries times: its answer says
// nothing about TLS, and reporting it would turn a server's connection
// limit into untested suites and a port that "does not speak TLS".
func (s *Scanner) Probe(ctx context.Context, t Target, h Hello, flight bool) (*Answer, error) {
	for try := 0; ; try++ {
		a, err := s.probeOnce(ctx, t, h, flight)
		if !Busy(a, err) {
			if err == nil {
				s.answered(t)
			}
			return a, err
		}
		s.calmHost(t)
		// The slot was given back: the pause lets the server's count
		// come down, and the other probes go on meanwhile.
		if !s.RetryBusy(ctx, t.Addr, try) {
			return a, err
		}
	}
}

// RetryBusy is the one home of the policy for trying again what the host
// of addr turned away with "not now" (try counts from 0): it waits the
// pause before the next try and says true, or says false at once when
// the retries are spent (BusyRetries) or, from the second try on, when
// the host has turned every probe away so far (HostAnswered): such a
// host is not over a limit the scan pushed it past, but closed to this
// client (a server in maintenance, one that blocks the address), and
// gets one retry, not half a minute of them. It says false when ctx ends
// during the pause. Probe uses it, and so does mailwire scan for its
// sessions and scenarios.
func (s *Scanner) RetryBusy(ctx context.Context, addr string, try int) bool {
	if try >= BusyRetries || try >= 1 && !s.HostAnswered(addr) {
		return false
	}
	tm := time.NewTimer(busyPauseFor(try))
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// BusyRetries is how many times a probe is tried again after the server
// said it is busy; the pauses double from busyPause (with up to as much
// again of jitter, so that probes turned away together do not come back
// together): about 25 s at most in all, within a scan's minute. A
// default Exim under mailwire scan still turned some probes away after 4.
const BusyRetries = 6

var busyPause = 200 * time.Millisecond

// busyPauseFor is the pause before try+1 (from 0) after a busy answer.
func busyPauseFor(try int) time.Duration {
	pause := busyPause << try
	return pause + time.Duration(rand.Int64N(int64(pause)))
}

// Busy says whether a probe's outcome is the server saying "not now"
// rather than answering: a preamble step answered with a busy reply, or
// an implicit-TLS port that sent one in cleartext (protocol.Busy).
func Busy(a *Answer, err error) bool {
	var pe *PreambleError
	if errors.As(err, &pe) {
		return pe.Busy
	}
	return err == nil && a != nil && a.Refusal != nil && a.Refusal.Busy
}

func (s *Scanner) probeOnce(ctx context.Context, t Target, h Hello, flight bool) (*Answer, error) {
	release, err := s.acquire(ctx, t)
	if err != nil {
		return nil, err
	}
	defer release()
	rec, err := h.Records()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.ProbeTimeout)
	defer cancel()
	conn, err := s.opts.Dial(ctx, "tcp", t.Addr)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", t.Addr, err)
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	if err := conn.SetDeadline(deadline); err != nil {
		return nil, fmt.Errorf("set deadline: %w", err)
	}
	// Cancelling the scan ends a read in progress.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if t.StartTLS {
		if err := preamble(conn, t); err != nil {
			return nil, err
		}
	}
	// A write error (the server already closed) is not the answer: the
	// read that follows says how the server ended it.
	_, _ = conn.Write(rec)
	return ReadAnswer(conn, flight), nil
}

// accepted says whether a answers a hello that offered version v and
// offered: a ServerHello for v with an offered suite. When it does not,
// the refusal says why (a ServerHello for another version, a suite not
// offered).
func accepted(v uint16, offered []uint16, a *Answer) (bool, *Refusal) {
	if !a.Hello {
		return false, a.Refusal
	}
	switch {
	case a.Version < v:
		// RFC 5246 §7.4.1.3, RFC 8446 §4.2.1: the highest version the
		// server speaks, below the one offered.
		return false, &Refusal{Kind: RefusedOtherVersion, Version: a.Version}
	case a.Version > v:
		return false, &Refusal{Kind: RefusedMalformed,
			Detail: fmt.Sprintf("the server chose %s, which was not offered", versionName(a.Version))}
	}
	for _, s := range offered {
		if s == a.Suite {
			return true, nil
		}
	}
	return false, &Refusal{Kind: RefusedMalformed,
		Detail: fmt.Sprintf("the server chose %s (0x%04x), which was not offered", tlsmsg.CipherSuiteName(a.Suite), a.Suite)}
}

// errProbeBudget: the port's MaxProbes is spent.
var errProbeBudget = errors.New("probe budget spent")
