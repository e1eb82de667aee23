package lab

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// connTracker counts open connections, in total and per client IP, and
// remembers them so that Close can end every one.
type connTracker struct {
	limits Limits

	mu        sync.Mutex
	total     int
	perClient map[string]int
	open      map[*labConn]struct{}
	closed    bool
	// rejecting counts goroutines busy turning a client away; bounded so a
	// flood of connections cannot make the lab spawn goroutines without end.
	rejecting int
}

func newConnTracker(limits Limits) *connTracker {
	return &connTracker{
		limits:    limits,
		perClient: make(map[string]int),
		open:      make(map[*labConn]struct{}),
	}
}

func clientKey(addr net.Addr) string {
	if ta, ok := addr.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	return host
}

// admit registers c if the limits allow it.
func (t *connTracker) admit(c *labConn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed || t.total >= t.limits.MaxConns || t.perClient[c.client] >= t.limits.MaxConnsPerClient {
		return false
	}
	t.total++
	t.perClient[c.client]++
	t.open[c] = struct{}{}
	c.counted = true
	return true
}

// track registers c without counting it against the limits (a rejection in
// progress), so that Close still ends it.
func (t *connTracker) track(c *labConn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed || t.rejecting >= t.limits.MaxConns {
		return false
	}
	t.rejecting++
	t.open[c] = struct{}{}
	return true
}

func (t *connTracker) release(c *labConn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.open[c]; !ok {
		return
	}
	delete(t.open, c)
	if !c.counted {
		t.rejecting--
		return
	}
	t.total--
	if t.perClient[c.client]--; t.perClient[c.client] <= 0 {
		delete(t.perClient, c.client)
	}
}

func (t *connTracker) closeAll() {
	t.mu.Lock()
	t.closed = true
	conns := make([]*labConn, 0, len(t.open))
	for c := range t.open {
		conns = append(conns, c)
	}
	t.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// openCount reports the connections counted against the limits.
func (t *connTracker) openCount() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.total
}

// labConn is the raw TCP connection of one client. It enforces the idle
// timeout and the session time limit underneath whatever the protocol
// server (and TLS) does with deadlines: every Read and Write gets a deadline
// no later than now+IdleTimeout and the session's end, whatever the server
// asked for. Servers that never set deadlines, or set generous ones (go-imap
// waits 35 minutes in the authenticated state), are bounded all the same.
type labConn struct {
	net.Conn
	tracker *connTracker
	client  string
	idle    time.Duration
	end     time.Time
	counted bool

	endpoint Endpoint
	limits   Limits
	logf     func(format string, args ...any) // nil: discard

	mu            sync.Mutex
	readDeadline  time.Time // as asked by the server; zero = none
	writeDeadline time.Time
	// The command rate limit (ratelimit.go).
	cmds      *tokenBucket // nil: commands are not counted (HTTPS, rejections)
	turns     int          // commands counted
	wrote     bool         // the server wrote since the last counted command
	flooded   bool         // over the rate: every further read fails
	tlsActive bool         // a TLS session runs on this conn
	top       func() net.Conn
	bye       func()
	floodLine string

	floodOnce sync.Once
	closeOnce sync.Once
	closeErr  error
}

// sessionOver reports whether MaxSessionTime has run out: a deadline that
// fired now is the session cap, not the idle timer, and the farewell
// should say which.
func (c *labConn) sessionOver() bool {
	return !time.Now().Before(c.end)
}

// effective is the deadline for a read or write the server asked to end
// by asked (zero: no deadline of its own). grace extends the session's end
// for writes, so the farewell a server writes when the cap fires (POP3's
// -ERR, SMTP's 421) still goes out, within farewellTimeout.
func (c *labConn) effective(asked time.Time, grace time.Duration) time.Time {
	d := time.Now().Add(c.idle)
	if end := c.end.Add(grace); end.Before(d) {
		d = end
	}
	if !asked.IsZero() && asked.Before(d) {
		d = asked
	}
	return d
}

func (c *labConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	d := c.effective(c.readDeadline, 0)
	c.mu.Unlock()
	if err := c.Conn.SetReadDeadline(d); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

func (c *labConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	d := c.effective(c.writeDeadline, farewellTimeout)
	if c.isReply(p) {
		c.wrote = true
	}
	c.mu.Unlock()
	if err := c.Conn.SetWriteDeadline(d); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// SetReadDeadline records t for the next reads and also applies it now, so
// that a server interrupting a blocked Read (net/http does) still can. The
// servers arm a deadline before reading each command, which is where the
// command rate is counted (ratelimit.go).
func (c *labConn) SetReadDeadline(t time.Time) error {
	if c.overCommandRate() {
		return c.tooManyCommands()
	}
	c.mu.Lock()
	c.readDeadline = t
	d := c.effective(t, 0)
	c.mu.Unlock()
	return c.Conn.SetReadDeadline(d)
}

func (c *labConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	c.writeDeadline = t
	d := c.effective(t, farewellTimeout)
	c.mu.Unlock()
	return c.Conn.SetWriteDeadline(d)
}

func (c *labConn) SetDeadline(t time.Time) error {
	return errors.Join(c.SetReadDeadline(t), c.SetWriteDeadline(t))
}

func (c *labConn) Close() error {
	c.closeOnce.Do(func() {
		c.closeErr = c.Conn.Close()
		c.tracker.release(c)
	})
	return c.closeErr
}

// guardedListener is the listener every lab server accepts from: it
// reports each connection, turns clients over the limits away with the
// protocol's own "too many connections" reply, wraps the rest in a labConn,
// and for implicit-TLS endpoints (other than HTTPS, which net/http wraps
// itself) hands out a *tls.Conn, so the servers see TLS from the first byte
// (RFC 8314 §3).
type guardedListener struct {
	net.Listener
	lab      *Lab
	endpoint Endpoint
	implicit *tls.Config // nil: cleartext or STARTTLS
	// wrap, when set, wraps each admitted STARTTLS-port connection (a mode
	// endpoint's behaviour, modes.go); the result must lead back to the
	// labConn through NetConn (labConnOf).
	wrap func(*labConn) net.Conn
}

func (g *guardedListener) Accept() (net.Conn, error) {
	for {
		raw, err := g.Listener.Accept()
		if err != nil {
			return nil, err
		}
		now := time.Now()
		lim := g.lab.opts.Limits
		c := &labConn{
			Conn:     raw,
			tracker:  g.lab.conns,
			client:   clientKey(raw.RemoteAddr()),
			idle:     lim.idleFor(g.endpoint.Proto),
			end:      now.Add(lim.MaxSessionTime),
			endpoint: g.endpoint,
			limits:   lim,
		}
		if g.lab.logf != nil {
			c.logf = g.lab.errLog.Printf
		}
		admitted := g.lab.conns.admit(c)
		if fn := g.lab.opts.OnConnect; fn != nil {
			fn(ConnLog{Time: now, Client: raw.RemoteAddr().String(), Endpoint: g.endpoint, Rejected: !admitted})
		}
		if !admitted {
			g.reject(c)
			continue
		}
		g.lab.watch(c, now)
		if g.implicit != nil {
			tc := tls.Server(c, g.implicit)
			c.limitCommands(lim, g.endpoint.Proto, tc, now)
			return tc, nil
		}
		c.limitCommands(lim, g.endpoint.Proto, nil, now)
		if g.wrap != nil {
			return g.wrap(c), nil
		}
		return c, nil
	}
}

// closeListener closes a server's listener whether or not the server did.
// A server's Close cannot be relied on for this: go-smtp's Close, for one,
// misses a listener whose Serve goroutine has not registered it yet, and
// that Serve would then block in Accept for ever.
func closeListener(ln net.Listener) error {
	if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("close listener %s: %w", ln.Addr(), err)
	}
	return nil
}

// rejectTimeout bounds how long turning a client away may take.
const rejectTimeout = 5 * time.Second

// reject tells an over-limit client why it is turned away, in its
// protocol's words, then closes the connection: SMTP 421 (RFC 5321 §3.8),
// POP3 -ERR [SYS/TEMP] (RFC 3206 §4), IMAP BYE (RFC 3501 §7.1.5). For
// implicit TLS the reply goes inside TLS, as the client expects nothing
// else. HTTPS clients are simply closed.
func (g *guardedListener) reject(c *labConn) {
	var line string
	switch g.endpoint.Proto {
	case ProtoSMTP:
		line = "421 4.7.0 Too many connections\r\n"
	case ProtoPOP3:
		line = "-ERR [SYS/TEMP] Too many connections\r\n"
	case ProtoIMAP:
		line = "* BYE Too many connections\r\n"
	}
	if line == "" || !g.lab.conns.track(c) {
		c.Conn.Close()
		return
	}
	c.end = time.Now().Add(rejectTimeout)
	// Serve, which calls Accept, runs under lab.wg, so the counter is
	// above zero here and Add cannot race with Close's Wait.
	g.lab.wg.Add(1)
	go func() {
		defer g.lab.wg.Done()
		defer c.Close()
		var conn net.Conn = c
		if g.implicit != nil {
			tc := tls.Server(c, g.implicit)
			if err := tc.Handshake(); err != nil {
				return
			}
			conn = tc
		}
		conn.Write([]byte(line))
	}()
}
