// Package mitm is mailwire's machine in the middle: an attacker on the path
// between a mail client and its server, in-process on loopback, for the
// scenarios that show what an active attacker can do to each TLS mode.
//
// On a STARTTLS port (SMTP 25/587, POP3 110, IMAP 143) it plays the
// STRIPTLS attacker of RFC 3207 §6 and RFC 2595 §2.2: it upgrades its own
// connection to the server (so the server is content), keeps the client's
// in cleartext by hiding or refusing STARTTLS, and relays everything,
// reading the password on the way. On an implicit-TLS port (465, 993, 995)
// there is no cleartext to tamper with (RFC 8314 §3): the attacker can only
// present its own certificate, cut the connection, or relay bytes it cannot
// read.
//
// The proxy emits the events of its own connection to the server on
// wire.LegAttackerServer, plus notes saying what it tampered with. The
// client's events come from the client's own session (sessions.Run with
// Options.Target = Proxy.Addr()); a scenario merges both streams.
package mitm

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

// Attack is what the machine in the middle does.
type Attack string

// Attacks on STARTTLS ports: each keeps the client in cleartext. Which one
// works depends on the client: RFC 8314 §5 and RFC 3207 §6 say a client
// configured for TLS must refuse to go on without it, and then none does.
const (
	// StripRemove removes the STARTTLS (POP3: STLS) capability.
	StripRemove Attack = "remove"
	// StripReplace overwrites it with a junk keyword of the same length
	// (SMTP "XXXXXXXA", IMAP "XXXXXXXX", POP3 "XXXX"), as attackers and
	// broken middleboxes do so that packet sizes stay the same.
	StripReplace Attack = "replace"
	// StripRefuse leaves the capability but refuses the STARTTLS command
	// as TLS not available for now, in each protocol's words: SMTP "454
	// 4.7.0 TLS not available due to temporary reason" (RFC 3207 §4),
	// POP3 "-ERR [SYS/TEMP]" (RFC 3206 §4), IMAP "NO" (RFC 9051 §6.2.1).
	// The names say what the attacker does, not an SMTP code: 454 means
	// nothing to an IMAP client.
	StripRefuse Attack = "refuse"
	// StripRefuseSyntax answers STARTTLS "501 5.5.4 Syntax error" (SMTP
	// only).
	StripRefuseSyntax Attack = "refuse-syntax"
	// StripRefuseUnimplemented answers STARTTLS "502 5.5.1 Command not
	// implemented" (SMTP only).
	StripRefuseUnimplemented Attack = "refuse-unimplemented"
	// StripRefuseEHLO answers EHLO with 502, so the client falls back to
	// HELO (RFC 5321 §4.1.4) and sees no extension at all (SMTP only).
	StripRefuseEHLO Attack = "refuse-ehlo"
	// StripPreauth replaces the greeting by "* PREAUTH": the client is then
	// in the authenticated state, where STARTTLS is not allowed (RFC 9051
	// §6.2.1, §7.1.4; IMAP only).
	StripPreauth Attack = "preauth"
)

// Attacks on implicit-TLS ports.
const (
	// OwnCertificate terminates TLS with the attacker's own certificate for
	// the server's name, from the attacker's own CA.
	OwnCertificate Attack = "own-cert"
	// Break cuts the connection (a TCP RST) on the ClientHello.
	Break Attack = "break"
	// Passthrough relays the bytes untouched: the attacker sees only TLS
	// record types and sizes and the cleartext handshake metadata.
	Passthrough Attack = "passthrough"
)

// Attacks returns the attacks valid for a protocol and port kind, the
// default first, for pickers and for checking a Config.
func Attacks(proto string, implicit bool) []Attack {
	if implicit {
		switch proto {
		case protocol.SMTP, protocol.POP3, protocol.IMAP:
			return []Attack{OwnCertificate, Break, Passthrough}
		}
		return nil
	}
	switch proto {
	case protocol.SMTP:
		return []Attack{StripRemove, StripReplace, StripRefuse, StripRefuseSyntax, StripRefuseUnimplemented, StripRefuseEHLO}
	case protocol.POP3:
		return []Attack{StripRemove, StripReplace, StripRefuse}
	case protocol.IMAP:
		return []Attack{StripRemove, StripReplace, StripRefuse, StripPreauth}
	}
	return nil
}

// formerNames are the names attacks had before they were named by what
// they do: SMTP reply codes, which POP3 and IMAP do not use.
var formerNames = map[string]Attack{
	"starttls-454": StripRefuse,
	"starttls-501": StripRefuseSyntax,
	"starttls-502": StripRefuseUnimplemented,
	"ehlo-502":     StripRefuseEHLO,
}

// Canonical returns the attack's name for a name that may be a former one
// ("starttls-454" is "refuse"), so that scripts written before the rename
// go on working; any other name is returned as it is.
func Canonical(name string) string {
	if a, ok := formerNames[name]; ok {
		return string(a)
	}
	return name
}

// Default bounds.
const (
	DefaultMaxConns       = 8
	DefaultTimeout        = 30 * time.Second
	DefaultSessionTimeout = 2 * time.Minute
	// DefaultMaxLine is longer than a client's (protocol.DefaultMaxLineLength)
	// so that the attacker never is the one to refuse a line.
	DefaultMaxLine = 8192
)

// Config describes one proxy.
type Config struct {
	// Upstream is the real server, host:port.
	Upstream string
	// Proto is protocol.SMTP, protocol.POP3 or protocol.IMAP.
	Proto string
	// Implicit says the port is implicit TLS (465, 993, 995).
	Implicit bool
	Attack   Attack
	// ServerName is the name the attacker's own certificate claims
	// (own-cert) and the SNI it sends upstream; "" means Upstream's host.
	ServerName string
	// Emit receives the proxy's events, one at a time (the proxy
	// serialises the calls, which come from its goroutines). Leg is
	// wire.LegAttackerServer, At is the time since Start, Seq is left
	// zero for the caller to number. Nil discards them. Emit must not
	// call the Proxy's methods (Close and Wait wait for the goroutines
	// that call it).
	Emit func(wire.Event)
	// ListenHost is the address to listen on; default 127.0.0.1.
	ListenHost string
	// MaxConns bounds the connections proxied at once; more are refused.
	MaxConns int
	// Timeout bounds each read from the client, each read from the server
	// before the relay starts, the dial and each TLS handshake.
	Timeout time.Duration
	// SessionTimeout bounds one proxied connection as a whole.
	SessionTimeout time.Duration
	// MaxLine bounds one protocol line, CRLF included. A longer line ends
	// the proxied connection.
	MaxLine int
}

func (c Config) withDefaults() (Config, error) {
	host, _, err := net.SplitHostPort(c.Upstream)
	if err != nil {
		return c, fmt.Errorf("mitm: upstream %q: want host:port: %w", c.Upstream, err)
	}
	if !slices.Contains(Attacks(c.Proto, c.Implicit), c.Attack) {
		kind := "STARTTLS"
		if c.Implicit {
			kind = "implicit-TLS"
		}
		return c, fmt.Errorf("mitm: attack %q does not apply to %s on an %s port (want one of %v)",
			c.Attack, c.Proto, kind, Attacks(c.Proto, c.Implicit))
	}
	if c.ServerName == "" {
		c.ServerName = host
	}
	if c.ListenHost == "" {
		c.ListenHost = "127.0.0.1"
	}
	if c.MaxConns <= 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.SessionTimeout <= 0 {
		c.SessionTimeout = DefaultSessionTimeout
	}
	if c.MaxLine <= 0 {
		c.MaxLine = DefaultMaxLine
	}
	if c.MaxLine < 512 {
		// RFC 5321 §4.5.3.1.5: an SMTP reply line may be 512 octets.
		c.MaxLine = 512
	}
	return c, nil
}

// Proxy is a running machine in the middle.
type Proxy struct {
	cfg   Config
	ln    net.Listener
	start time.Time
	ctx   context.Context
	stop  context.CancelFunc
	cert  *tls.Certificate // own-cert only

	emitMu sync.Mutex

	mu     sync.Mutex
	conns  map[net.Conn]struct{} // client connections being proxied
	idle   chan struct{}         // closed while no connection is proxied
	nextID int
	wg     sync.WaitGroup

	closeOnce sync.Once
}

// Start listens on a free port of cfg.ListenHost and proxies every
// connection to cfg.Upstream with cfg.Attack until ctx ends or Close.
func Start(ctx context.Context, cfg Config) (*Proxy, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	p := &Proxy{cfg: cfg, start: time.Now(), conns: map[net.Conn]struct{}{}, idle: make(chan struct{})}
	close(p.idle)
	if cfg.Attack == OwnCertificate {
		cert, err := newAttackerCert(cfg.ServerName, p.start)
		if err != nil {
			return nil, fmt.Errorf("mitm: the attacker's certificate: %w", err)
		}
		p.cert = cert
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.ListenHost, "0"))
	if err != nil {
		return nil, fmt.Errorf("mitm: listen on %s: %w", cfg.ListenHost, err)
	}
	p.ln = ln
	p.ctx, p.stop = context.WithCancel(ctx)
	context.AfterFunc(p.ctx, func() { p.ln.Close() })
	p.wg.Add(1)
	go p.acceptLoop()
	return p, nil
}

// Addr is the address the proxy listens on: the client's Target.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Config returns the configuration with defaults filled in.
func (p *Proxy) Config() Config { return p.cfg }

// Close stops listening, cuts every proxied connection and waits for the
// proxy's goroutines, so no event is emitted after it returns.
func (p *Proxy) Close() error {
	var err error
	p.closeOnce.Do(func() {
		p.stop()
		err = p.ln.Close()
		if errors.Is(err, net.ErrClosed) {
			err = nil
		}
		p.mu.Lock()
		for c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return err
}

// Wait blocks until no connection is being proxied: the client that was
// served has left and the proxy has emitted its last event for it. A
// scenario calls it after the client's session ended, before its verdict;
// called before any client connected it returns at once.
func (p *Proxy) Wait(ctx context.Context) error {
	p.mu.Lock()
	idle := p.idle
	p.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("mitm: waiting for proxied connections to end: %w", context.Cause(ctx))
	}
}

func (p *Proxy) acceptLoop() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return // closed
		}
		p.mu.Lock()
		if len(p.conns) >= p.cfg.MaxConns {
			p.mu.Unlock()
			p.note(fmt.Sprintf("refused a connection from %s: %d already being proxied", c.RemoteAddr(), p.cfg.MaxConns),
				"attack.note.too_many", nil)
			c.Close()
			continue
		}
		if len(p.conns) == 0 {
			p.idle = make(chan struct{})
		}
		p.conns[c] = struct{}{}
		p.nextID++
		id := p.nextID
		p.wg.Add(1)
		p.mu.Unlock()
		go func() {
			defer p.wg.Done()
			defer p.release(c)
			p.serve(c, id)
		}()
	}
}

func (p *Proxy) release(c net.Conn) {
	c.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.conns, c)
	if len(p.conns) == 0 {
		close(p.idle)
	}
}

// emit stamps ev and passes it on, one call at a time.
func (p *Proxy) emit(ev wire.Event) {
	p.emitMu.Lock()
	defer p.emitMu.Unlock()
	p.emitLocked(ev)
}

func (p *Proxy) emitLocked(ev wire.Event) {
	if p.cfg.Emit == nil {
		return
	}
	ev.Leg = wire.LegAttackerServer
	ev.At = time.Since(p.start)
	p.cfg.Emit(ev)
}

// note emits an explanation of what the attacker did. raw, when given,
// is what the attacker wrote to the client instead of the server's words;
// the note's layer keeps it out of the eavesdropper's lens, where the
// client's own events already show it.
func (p *Proxy) note(text, ann string, raw []byte) {
	p.emit(wire.Event{Kind: wire.KindNote, Dir: wire.Local, Layer: wire.LayerNote,
		Visible: wire.VisibleNone, Text: text, Annotation: ann, Raw: raw})
}

// fail emits an error of the attacker's own connection.
func (p *Proxy) fail(op string, err error, explain string) {
	if explain == "" {
		explain = sessions.Explain(err)
	}
	if explain == "" {
		explain = "attack.error"
	}
	msg := err.Error()
	p.emit(wire.Event{Kind: wire.KindError, Dir: wire.Local, Layer: wire.LayerNote,
		Visible: wire.VisibleNone, Text: op + ": " + msg, Annotation: explain,
		Err: &wire.ErrorInfo{Op: op, Message: msg, Explain: explain}})
}

// errTimeLimit is the cause of a proxied connection's end at
// Config.SessionTimeout.
var errTimeLimit = errors.New("the attacker's time limit for one connection was reached")

// serve handles one client connection.
func (p *Proxy) serve(client net.Conn, id int) {
	ctx, cancel := context.WithTimeoutCause(p.ctx, p.cfg.SessionTimeout, errTimeLimit)
	defer cancel()
	c := &pconn{p: p, cfg: p.cfg, id: id, ctx: ctx, client: client}
	stop := context.AfterFunc(ctx, c.closeAll)
	defer stop()
	defer c.closeAll()
	switch {
	case p.cfg.Attack == Break:
		c.breakOnHello()
	case p.cfg.Attack == Passthrough:
		c.passthrough()
	case p.cfg.Attack == OwnCertificate:
		c.ownCert()
	default:
		c.strip()
	}
}
