package scan

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions"
)

// Port is one port to scan: the canonical port whose protocol, TLS mode
// and rules apply, and the address to dial (the lab serves 587 on 10587).
type Port struct {
	Canonical int    `json:"port"`
	Addr      string `json:"addr"`
}

// MailPorts are the seven mail ports, in the order a report lists them
// (content.MailPorts, the port table's order).
var MailPorts = content.MailPorts()

// HostPorts returns the ports of host to scan: the seven mail ports, and
// 443 with https.
func HostPorts(host string, https bool) []Port {
	ps := MailPorts
	if https {
		ps = append(ps[:len(ps):len(ps)], 443)
	}
	out := make([]Port, len(ps))
	for i, p := range ps {
		out[i] = Port{Canonical: p, Addr: net.JoinHostPort(strings.Trim(host, "[]"), strconv.Itoa(p))}
	}
	return out
}

// Defaults of Options.
const (
	// DefaultPerHost bounds the connections open at once to one host,
	// probes, sessions and scenarios together: below Postfix's
	// smtpd_client_connection_count_limit (50) and, with a margin, the
	// lab's 16 per client (a server counts a connection until it has read
	// its end, a moment after the client closed it and opened the next).
	DefaultPerHost = 12
	// DefaultTimeout bounds a whole scan.
	DefaultTimeout = 60 * time.Second
	// DefaultProbeTimeout bounds one TLS probe.
	DefaultProbeTimeout = 5 * time.Second
	// DefaultReadTimeout bounds each read of a session.
	DefaultReadTimeout = 10 * time.Second
)

// Options configure a scan. Host and Ports (or Host alone) are required.
type Options struct {
	// Host is the host scanned, for the report and as the default
	// ServerName.
	Host string
	// Ports are the ports to scan; nil means HostPorts(Host, HTTPS).
	Ports []Port
	HTTPS bool
	// ServerName is sent as SNI and is the name the certificates are
	// checked for; empty means Host.
	ServerName string
	// Roots verify the certificates; nil means the system's.
	Roots *x509.CertPool
	// Insecure grades a certificate that does not verify as a warning
	// instead of bad on every port (a test server with a self-signed
	// certificate); the chain is still checked and reported.
	Insecure bool
	// EHLOName is the name the SMTP sessions announce; empty means
	// sessions.DefaultEHLOName().
	EHLOName string
	// Timeout bounds the whole scan; ProbeTimeout one TLS probe;
	// ReadTimeout each read of a session. Zero takes the defaults.
	Timeout, ProbeTimeout, ReadTimeout time.Duration
	// PerHost bounds the connections open at once to the host.
	PerHost int
	// Dial opens connections; nil uses a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Now is the time certificates are checked at; zero means now.
	Now time.Time
	// OnProgress, when set, is told what each port is doing, from the
	// goroutines doing it (several at once): live progress.
	OnProgress func(Progress)
}

func (o Options) withDefaults() Options {
	if o.ServerName == "" {
		o.ServerName = strings.Trim(o.Host, "[]")
	}
	if o.Ports == nil {
		o.Ports = HostPorts(o.Host, o.HTTPS)
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.ProbeTimeout <= 0 {
		o.ProbeTimeout = min(DefaultProbeTimeout, o.Timeout)
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = min(DefaultReadTimeout, o.Timeout)
	}
	if o.PerHost <= 0 {
		o.PerHost = DefaultPerHost
	}
	if o.EHLOName == "" {
		o.EHLOName = sessions.DefaultEHLOName()
	}
	if o.Dial == nil {
		var d net.Dialer
		o.Dial = d.DialContext
	}
	return o
}

// Validate checks what a caller can refuse before anything is dialed.
func (o Options) Validate() error {
	if o.Host == "" && len(o.Ports) == 0 {
		return fmt.Errorf("scan: no host")
	}
	for _, p := range o.withDefaults().Ports {
		if _, err := sessions.OptionsForPort(p.Addr, p.Canonical); err != nil {
			return fmt.Errorf("scan: %w", err)
		}
		if _, _, err := net.SplitHostPort(p.Addr); err != nil {
			return fmt.Errorf("scan: port %d: address %q: %w", p.Canonical, p.Addr, err)
		}
	}
	return nil
}

// Progress says what a port of a running scan is doing.
type Progress struct {
	// Port is the canonical port.
	Port int
	// Step is what finished: "session", "login", "injection", "probe"
	// (one TLS probe), "tls" (every probe), or "done" (the port).
	Step string
	// Probes counts the TLS probes done on the port so far, Accepted the
	// suites found accepted so far (every version).
	Probes, Accepted int
	// Text says it in a few words (no peer bytes).
	Text string
}

// Connections to one host are bounded in two shares: the TLS probes take
// probeShare of PerHost through tlsprobe's own bound, the sessions and
// scenarios the rest through a limiter. Two shares, not one pool, because
// a probe's time limit runs from before it dials: waiting in a pool shared
// with sessions would eat into it and turn a slow queue into a "timeout"
// that the server never gave. Within each share a port gets at most
// probesPerAddr (sessionsPerAddr) of them, so a port whose server is slow
// (one that forks a process and loads its TLS keys per connection, as
// Dovecot does) never holds every slot while a fast port waits.
func probeShare(perHost int) int { return max(1, perHost*3/4) }

const (
	probesPerAddr   = 2
	sessionsPerAddr = 1
)

// limiter bounds the sessions' connections open at once to a host, and
// to each of its addresses (perAddr: a port whose server is slow cannot
// hold every slot while another port's sessions wait): a slot is taken
// before dialing and given back when the connection is closed. The wait
// for a slot is bounded by the scan (ctx), not by the dial's own time
// limit, which starts once a slot is held.
type limiter struct {
	ctx         context.Context
	sem         chan struct{}
	perAddr     int
	dialTimeout time.Duration
	dial        func(ctx context.Context, network, addr string) (net.Conn, error)

	mu    sync.Mutex
	addrs map[string]chan struct{}
}

func newLimiter(ctx context.Context, n, perAddr int, dialTimeout time.Duration, dial func(ctx context.Context, network, addr string) (net.Conn, error)) *limiter {
	return &limiter{ctx: ctx, sem: make(chan struct{}, n), perAddr: max(1, perAddr), dialTimeout: dialTimeout, dial: dial,
		addrs: map[string]chan struct{}{}}
}

// Dial takes a slot of addr and one of the host (waiting for them while
// the scan lasts, always in that order) and dials.
func (l *limiter) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	l.mu.Lock()
	asem := l.addrs[addr]
	if asem == nil {
		asem = make(chan struct{}, l.perAddr)
		l.addrs[addr] = asem
	}
	l.mu.Unlock()
	select {
	case asem <- struct{}{}:
	case <-l.ctx.Done():
		return nil, l.ctx.Err()
	}
	select {
	case l.sem <- struct{}{}:
	case <-l.ctx.Done():
		<-asem
		return nil, l.ctx.Err()
	}
	dctx, cancel := context.WithTimeout(l.ctx, l.dialTimeout)
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		if !errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
			cancel() // the session itself was cancelled
		}
	})
	defer stop()
	c, err := l.dial(dctx, network, addr)
	if err != nil {
		<-l.sem
		<-asem
		return nil, err
	}
	return &limitedConn{Conn: c, release: sync.OnceFunc(func() { <-l.sem; <-asem })}, nil
}

// limitedConn gives its slot back on Close (crypto/tls closes the
// connection under it, so a TLS session's Close does too).
type limitedConn struct {
	net.Conn
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.release()
	return err
}
