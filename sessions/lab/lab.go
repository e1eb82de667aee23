// Package lab runs mailwire's embedded lab: real SMTP, POP3, IMAP and HTTPS
// servers on loopback, with a private CA, so that every mail port and TLS
// mode can be shown on the wire without an Internet connection.
//
// Nothing accepted by the lab ever leaves the process: mail for a local
// recipient lands in an in-memory mailbox that IMAP and POP3 serve, and every
// other recipient is refused as a relay attempt.
package lab

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/internal/xdg"
)

const (
	// Hostname is the name the lab's servers use for themselves and that
	// their certificate covers.
	Hostname = "mail.lab.test"
	// DemoUser and DemoPassword are the lab's only credentials.
	DemoUser     = "learner"
	DemoPassword = "correct-horse"
	// DemoRecipient is the mailbox the lab's demo sessions send to: the
	// demo user's, delivered to its INBOX (see localParts).
	DemoRecipient = DemoUser + "@" + Hostname
	// DemoClientName is the EHLO name mailwire's clients give the lab. It
	// is under .invalid, which never resolves (RFC 2606 §2).
	DemoClientName = "client.mailwire.invalid"
)

// Protocol, TLS mode and purpose names used in Endpoint.
const (
	ProtoSMTP  = "smtp"
	ProtoPOP3  = "pop3"
	ProtoIMAP  = "imap"
	ProtoHTTPS = "https"

	// TLSStartTLS: the connection starts in cleartext and upgrades with a
	// command (STARTTLS, STLS); RFC 3207, RFC 2595.
	TLSStartTLS = "starttls"
	// TLSImplicit: TLS from the first byte; RFC 8314 §3.
	TLSImplicit = "implicit"

	PurposeTransfer   = "transfer"   // server to server, RFC 5321
	PurposeSubmission = "submission" // client to its own server, RFC 6409
	PurposeRetrieval  = "retrieval"  // reading a mailbox (POP3, IMAP)
	PurposeWeb        = "web"        // HTTPS, for comparison
)

// Endpoint is one listening port of the lab.
type Endpoint struct {
	Canonical int    // 25, 587, 465, 110, 995, 143, 993, 443
	Proto     string // "smtp", "pop3", "imap", "https"
	TLS       string // "starttls" or "implicit"
	Purpose   string // "transfer", "submission", "retrieval", "web"
	Addr      string // actual host:port it listens on
	// Mode is how the endpoint departs from the normal lab: empty for the
	// lab's own plan, set for endpoints from AddEndpoint (modes.go).
	Mode Mode
}

// Limits bound what one client can make the lab do. A zero field takes its
// value from DefaultLimits, which follows common servers; a negative one is
// an error.
type Limits struct {
	MaxConns          int // connections open at once, all endpoints together
	MaxConnsPerClient int // connections open at once from one client IP
	// MaxLineLength bounds one command or reply line, CRLF included. SMTP
	// applies it to message lines too (RFC 5321 §4.5.3.1.6 allows 1000);
	// IMAP uses go-imap's own bound (50 KiB per command) instead.
	MaxLineLength int
	// IdleTimeout disconnects an SMTP or HTTPS client that sends nothing
	// (and a client that reads nothing while the lab writes) for this
	// long. POP3 and IMAP have their own, because their RFCs set a floor.
	IdleTimeout time.Duration
	// POP3IdleTimeout is IdleTimeout for POP3: RFC 1939 §3 says an
	// autologout timer MUST be at least 10 minutes.
	POP3IdleTimeout time.Duration
	// IMAPIdleTimeout is IdleTimeout for IMAP: RFC 9051 §5.4 says an
	// autologout timer after login MUST be at least 30 minutes (a client in
	// IDLE re-issues it every 29, RFC 2177 §3). The lab does not track
	// login, so it applies to the whole connection; MaxSessionTime still
	// ends every connection.
	IMAPIdleTimeout time.Duration
	// MaxSessionTime disconnects any client this long after it connected.
	MaxSessionTime    time.Duration
	MaxMessageBytes   int64 // one message (SMTP SIZE, RFC 1870; IMAP APPENDLIMIT)
	MaxStoredMessages int   // per mailbox; the oldest is dropped first
	// CommandRate and CommandBurst bound the commands one SMTP, POP3 or
	// IMAP connection may send: a token bucket of CommandBurst commands
	// refilled at CommandRate per second. A client over it is told so
	// (SMTP 421 4.7.0, POP3 -ERR [SYS/TEMP], IMAP * BYE) and disconnected,
	// as Postfix does with its smtpd_client_*_rate_limit family.
	CommandRate  float64 // commands per second, sustained
	CommandBurst int     // commands in a burst (pipelining, RFC 2920)
}

// DefaultLimits returns the limits the lab runs with unless told otherwise.
func DefaultLimits() Limits {
	return Limits{
		MaxConns:          64,
		MaxConnsPerClient: 16,
		// Twice RFC 5321 §4.5.3.1.6's 1000 octets, as go-smtp does, so a
		// slightly sloppy client still works while a flood is cut off.
		MaxLineLength: 2000,
		// RFC 5321 §4.5.3.2.7: a server should wait at least 5 minutes.
		IdleTimeout:     5 * time.Minute,
		POP3IdleTimeout: 10 * time.Minute,
		IMAPIdleTimeout: 30 * time.Minute,
		// A safety cap for a lab, not an RFC timer: an IMAP client in IDLE
		// is cut off after it and reconnects, as after any network loss.
		MaxSessionTime: 30 * time.Minute,
		// Postfix's default message_size_limit.
		MaxMessageBytes:   10240000,
		MaxStoredMessages: 100,
		// Far above what a person or a mail client sends (a pipelined
		// transaction with 50 recipients fits in the burst), far below a
		// flood: one connection costs the lab at most 50 replies a second.
		CommandRate:  50,
		CommandBurst: 200,
	}
}

// withDefaults fills each zero field from DefaultLimits, so a caller can set
// just the limits it cares about (a test: Limits{IdleTimeout: time.Second}).
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxConns == 0 {
		l.MaxConns = d.MaxConns
	}
	if l.MaxConnsPerClient == 0 {
		l.MaxConnsPerClient = d.MaxConnsPerClient
	}
	if l.MaxLineLength == 0 {
		l.MaxLineLength = d.MaxLineLength
	}
	if l.IdleTimeout == 0 {
		l.IdleTimeout = d.IdleTimeout
	}
	if l.POP3IdleTimeout == 0 {
		l.POP3IdleTimeout = d.POP3IdleTimeout
	}
	if l.IMAPIdleTimeout == 0 {
		l.IMAPIdleTimeout = d.IMAPIdleTimeout
	}
	if l.MaxSessionTime == 0 {
		l.MaxSessionTime = d.MaxSessionTime
	}
	if l.MaxMessageBytes == 0 {
		l.MaxMessageBytes = d.MaxMessageBytes
	}
	if l.MaxStoredMessages == 0 {
		l.MaxStoredMessages = d.MaxStoredMessages
	}
	if l.CommandRate == 0 {
		l.CommandRate = d.CommandRate
	}
	if l.CommandBurst == 0 {
		l.CommandBurst = d.CommandBurst
	}
	return l
}

// idleFor is the idle timeout of an endpoint speaking proto.
func (l Limits) idleFor(proto string) time.Duration {
	switch proto {
	case ProtoPOP3:
		return l.POP3IdleTimeout
	case ProtoIMAP:
		return l.IMAPIdleTimeout
	}
	return l.IdleTimeout
}

func (l Limits) validate() error {
	switch {
	case l.MaxConns <= 0:
		return errors.New("MaxConns must be positive")
	case l.MaxConnsPerClient <= 0:
		return errors.New("MaxConnsPerClient must be positive")
	case l.MaxLineLength < 64:
		return errors.New("MaxLineLength must be at least 64")
	case l.IdleTimeout <= 0 || l.POP3IdleTimeout <= 0 || l.IMAPIdleTimeout <= 0:
		return errors.New("IdleTimeout, POP3IdleTimeout and IMAPIdleTimeout must be positive")
	case l.MaxSessionTime <= 0:
		return errors.New("MaxSessionTime must be positive")
	case l.MaxMessageBytes <= 0 || l.MaxMessageBytes > mailboxByteCap:
		return fmt.Errorf("MaxMessageBytes must be in 1..%d", mailboxByteCap)
	case l.MaxStoredMessages <= 0:
		return errors.New("MaxStoredMessages must be positive")
	case !(l.CommandRate > 0) || math.IsInf(l.CommandRate, 1):
		return errors.New("CommandRate must be a positive number")
	case l.CommandBurst <= 0:
		return errors.New("CommandBurst must be positive")
	}
	return nil
}

// ConnLog describes one accepted connection.
type ConnLog struct {
	Time     time.Time
	Client   string // the client's host:port
	Endpoint Endpoint
	// Rejected is set when the connection was turned away because a
	// connection limit was reached.
	Rejected bool
}

// Options configure Start.
type Options struct {
	ListenHost string // default "127.0.0.1"
	PortOffset int    // used as given; DefaultOptions() sets 10000
	// FallbackFreePort: when a port is taken (or canonical+offset is not a
	// valid port), listen on a free one instead. The TUI uses this.
	FallbackFreePort bool
	// AnyPort: every endpoint listens on a free port chosen by the kernel,
	// ignoring PortOffset. Tests use it so that parallel labs never collide.
	AnyPort  bool
	StateDir string // CA location; "" means DefaultStateDir()
	Limits   Limits // zero fields take DefaultLimits() values
	// OnConnect is called for each accepted connection (may be nil). It is
	// called from the accept loop, so it must not block.
	OnConnect func(ConnLog)
	// LocalDomains are mail domains this lab receives for besides its own
	// (mail.lab.test, lab.test): a second lab in the hops scenario takes
	// "other.lab.test" and delivers it to the same mailbox.
	LocalDomains []string
	// Relay, when set, is the lab's only way to send mail onward (see
	// relay.go). Nil: the lab never relays.
	Relay *Relay
	// Logf receives errors the servers meet while serving a client (a
	// failed handshake, a broken connection). Nil discards them. It is
	// never called after Close returns.
	Logf func(format string, args ...any)
	// Watch, when set, is asked for a watcher of each admitted connection
	// (watch.go); a nil ConnWatch leaves that connection unwatched. It is
	// called from the accept loop, so it must not block.
	Watch func(ConnInfo) ConnWatch
	// KeyLogWriter receives the TLS secrets of every connection the lab's
	// servers handshake (tls.Config.KeyLogWriter, NSS key log format),
	// for a watcher that decrypts what its connections carried. They live
	// where the writer keeps them: the lab writes no file.
	KeyLogWriter io.Writer
}

// DefaultOptions returns the options `mailwire lab` starts with.
func DefaultOptions() Options {
	return Options{
		ListenHost: "127.0.0.1",
		PortOffset: 10000,
		StateDir:   DefaultStateDir(),
		Limits:     DefaultLimits(),
	}
}

// DefaultStateDir is where the lab keeps its CA unless told otherwise
// (ResolveStateDir without its note), or "" when there is no home.
func DefaultStateDir() string {
	dir, _ := ResolveStateDir()
	return dir
}

// ResolveStateDir says where the lab keeps its CA unless told otherwise:
// $XDG_STATE_HOME/mailwire/lab, by default ~/.local/state/mailwire/lab.
//
// The CA is state in the sense of the XDG Base Directory Specification:
// data that persists between runs but is neither configuration (nothing
// in it is a preference a user writes or edits) nor data important or
// portable enough for $XDG_DATA_HOME (deleted, it is made again; a user
// who trusted it trusts the new one; copied to another machine it serves
// nothing, and a private key does not belong in the configuration that
// people keep in version control and sync between machines).
//
// mailwire kept the CA in the configuration directory before
// (os.UserConfigDir()/mailwire/lab, LegacyStateDir). When only that one
// holds a CA, it stays in use, so that a CA someone already trusts keeps
// working, and note says so and how to move it; note is "" otherwise.
func ResolveStateDir() (dir, note string) {
	dir = xdgStateDir()
	old := LegacyStateDir()
	if old == "" || old == dir || hasCA(dir) || !hasCA(old) {
		return dir, ""
	}
	if dir == "" {
		return old, ""
	}
	return old, fmt.Sprintf("the lab CA is in %s, where mailwire kept it before; its place is now %s "+
		"(XDG state): move it with  mkdir -p %s && mv %s %s  (and point clients that trust it at the new path)",
		old, dir, filepath.Dir(dir), old, dir)
}

// xdgStateDir is lab in mailwire's XDG state directory (xdg.State):
// $XDG_STATE_HOME/mailwire/lab, else ~/.local/state/mailwire/lab; "" without
// a home directory.
func xdgStateDir() string { return xdg.Under(xdg.State(), "lab") }

// LegacyStateDir is where mailwire kept the lab CA before it followed the
// XDG state directory: os.UserConfigDir()/mailwire/lab ("" without one).
func LegacyStateDir() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "mailwire", "lab")
}

// hasCA says whether dir holds a lab CA (its certificate and key).
func hasCA(dir string) bool {
	if dir == "" {
		return false
	}
	for _, f := range []string{caCertFile, caKeyFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return false
		}
	}
	return true
}

// Lab is a running lab. Stop it with Close or by cancelling Start's context.
type Lab struct {
	opts      Options
	ca        *authority
	tlsConfig *tls.Config
	// otherNameTLS is tlsConfig with the ModeOtherName certificate.
	otherNameTLS *tls.Config
	connIDs      atomic.Uint64 // ConnInfo.ID of the last watched connection
	store        *store
	errLog       *log.Logger
	logf         *gatedLogf // nil when Options.Logf is nil

	endpoints []Endpoint
	conns     *connTracker
	relay     *relayer // nil unless Options.Relay

	closers   []func() error // servers, in start order
	wg        sync.WaitGroup // serving goroutines
	stop      chan struct{}
	closeOnce sync.Once
	closeErr  error

	// modeMu orders AddEndpoint against Close: an endpoint being added
	// either registers its closer before Close reads closers, or sees the
	// lab stopping and gives up.
	modeMu sync.Mutex
	added  []Endpoint // from AddEndpoint, in order
}

// endpointSpec is one entry of the lab's port plan: the endpoint's shape and
// the policy its server enforces.
type endpointSpec struct {
	Endpoint
	policy policy
}

// plan is the lab's fixed port plan, in the order Endpoints reports it:
// every canonical port of package content (the one table of what each
// port speaks and is for), with the policy of its purpose.
func plan() []endpointSpec {
	var out []endpointSpec
	for _, p := range content.CanonicalPorts() {
		out = append(out, endpointSpec{
			Endpoint{Canonical: p.Port, Proto: p.Proto, TLS: p.TLS, Purpose: p.Role},
			policyFor(p.Role, p.TLS),
		})
	}
	return out
}

// policyFor is the policy of an endpoint by its purpose; submission on 465
// has its own value, as its TLS comes first (RFC 8314 §3.3).
func policyFor(purpose, tls string) policy {
	switch purpose {
	case PurposeTransfer:
		return transferPolicy
	case PurposeSubmission:
		if tls == TLSImplicit {
			return submissionsPolicy
		}
		return submissionPolicy
	case PurposeRetrieval:
		return retrievalPolicy
	}
	return webPolicy
}

// Start starts every endpoint and returns once all of them accept
// connections. Cancelling ctx has the same effect as Close.
func Start(ctx context.Context, opts Options) (*Lab, error) {
	if opts.ListenHost == "" {
		opts.ListenHost = "127.0.0.1"
	}
	if opts.StateDir == "" {
		opts.StateDir = DefaultStateDir()
		if opts.StateDir == "" {
			return nil, errors.New("lab: no state directory for the CA (set Options.StateDir)")
		}
	}
	opts.Limits = opts.Limits.withDefaults()
	if err := opts.Limits.validate(); err != nil {
		return nil, fmt.Errorf("lab: limits: %w", err)
	}
	if err := opts.Relay.validate(); err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	for _, d := range opts.LocalDomains {
		if d == "" || strings.ContainsAny(d, "@ \t\r\n") {
			return nil, fmt.Errorf("lab: local domain %q: want a domain name", d)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	ca, err := loadOrCreateCA(opts.StateDir)
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	leaf, err := ca.issueServerCert(opts.ListenHost)
	if err != nil {
		return nil, fmt.Errorf("lab: server certificate: %w", err)
	}

	l := &Lab{
		opts: opts,
		ca:   ca,
		tlsConfig: &tls.Config{
			Certificates: []tls.Certificate{leaf},
			// As the peers (Postfix, Dovecot) and RFC 8996: nothing older
			// than TLS 1.2.
			MinVersion:   tls.VersionTLS12,
			KeyLogWriter: opts.KeyLogWriter,
		},
		store: newStore(opts.Limits.MaxStoredMessages),
		stop:  make(chan struct{}),
		conns: newConnTracker(opts.Limits),
	}
	// Tells the connection under a STARTTLS upgrade that it now carries
	// TLS (see labConn.markTLS), and picks a mode's certificate.
	l.tlsConfig.GetConfigForClient = l.configForClient
	if err := l.newOtherNameTLS(); err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	l.errLog = log.New(io.Discard, "", 0)
	if opts.Logf != nil {
		l.logf = &gatedLogf{f: opts.Logf}
		l.errLog = log.New(l.logf, "", 0)
	}
	if opts.Relay != nil {
		l.relay = &relayer{cfg: *opts.Relay, stop: l.stop, logf: l.errLog.Printf}
	}
	if err := l.store.seed(time.Now()); err != nil {
		return nil, fmt.Errorf("lab: seeding the mailbox: %w", err)
	}

	for _, spec := range plan() {
		ln, addr, err := l.listen(spec.Canonical)
		if err != nil {
			l.Close()
			return nil, fmt.Errorf("lab: listen for port %d: %w", spec.Canonical, err)
		}
		spec.Addr = addr
		l.endpoints = append(l.endpoints, spec.Endpoint)
		if err := l.serve(spec, ln); err != nil {
			ln.Close()
			l.Close()
			return nil, fmt.Errorf("lab: serve port %d: %w", spec.Canonical, err)
		}
	}

	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		select {
		case <-ctx.Done():
			go l.Close() // Close waits for this goroutine
		case <-l.stop:
		}
	}()
	return l, nil
}

// listen opens the TCP listener for one canonical port.
func (l *Lab) listen(canonical int) (net.Listener, string, error) {
	host := l.opts.ListenHost
	var lc net.ListenConfig
	ctx := context.Background()
	if l.opts.AnyPort {
		ln, err := lc.Listen(ctx, "tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, "", err
		}
		return ln, ln.Addr().String(), nil
	}
	port := canonical + l.opts.PortOffset
	var err error
	if port < 1 || port > 65535 {
		err = fmt.Errorf("port %d+%d is out of range", canonical, l.opts.PortOffset)
	} else {
		var ln net.Listener
		ln, err = lc.Listen(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err == nil {
			return ln, ln.Addr().String(), nil
		}
	}
	if !l.opts.FallbackFreePort {
		return nil, "", err
	}
	ln, err2 := lc.Listen(ctx, "tcp", net.JoinHostPort(host, "0"))
	if err2 != nil {
		return nil, "", fmt.Errorf("%w; a free port failed too: %w", err, err2)
	}
	return ln, ln.Addr().String(), nil
}

// serve starts the server for one endpoint on ln.
func (l *Lab) serve(spec endpointSpec, ln net.Listener) error {
	var implicit *tls.Config
	if spec.TLS == TLSImplicit && spec.Proto != ProtoHTTPS {
		implicit = l.tlsConfig
	}
	gl := &guardedListener{
		Listener: ln,
		lab:      l,
		endpoint: spec.Endpoint,
		implicit: implicit,
	}
	switch spec.Proto {
	case ProtoSMTP:
		return l.serveSMTP(spec, gl)
	case ProtoIMAP:
		return l.serveIMAP(spec, gl)
	case ProtoPOP3:
		return l.servePOP3(spec, gl)
	case ProtoHTTPS:
		return l.serveHTTPS(spec, gl)
	}
	return fmt.Errorf("unknown protocol %q", spec.Proto)
}

// stopping reports whether Close has begun.
func (l *Lab) stopping() bool {
	select {
	case <-l.stop:
		return true
	default:
		return false
	}
}

// Endpoints returns the endpoints in the order 25, 587, 465, 110, 995, 143,
// 993, 443.
func (l *Lab) Endpoints() []Endpoint {
	return append([]Endpoint(nil), l.endpoints...)
}

// Endpoint returns the endpoint for a canonical port.
func (l *Lab) Endpoint(canonical int) (Endpoint, bool) {
	for _, e := range l.endpoints {
		if e.Canonical == canonical {
			return e, true
		}
	}
	return Endpoint{}, false
}

// CACertPEM returns the lab CA's certificate, PEM-encoded.
func (l *Lab) CACertPEM() []byte { return append([]byte(nil), l.ca.certPEM...) }

// CAPath returns the path of the CA certificate file in the state directory.
func (l *Lab) CAPath() string { return l.ca.certPath }

// RootCAs returns a pool holding only the lab CA, for clients of the lab.
func (l *Lab) RootCAs() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(l.ca.cert)
	return pool
}

// Close stops the listeners, closes every connection and waits for the
// accept loops to end. The per-connection goroutines of go-smtp, go-imap and
// net/http are not joined (those servers offer no way to), but their
// connections are closed, so they end at once; Options.Logf is no longer
// called. It is safe to call more than once.
func (l *Lab) Close() error {
	l.closeOnce.Do(func() {
		close(l.stop)
		l.modeMu.Lock() // wait for an AddEndpoint in progress
		closers := l.closers
		l.modeMu.Unlock()
		var errs []error
		for i := len(closers) - 1; i >= 0; i-- {
			if err := closers[i](); err != nil {
				errs = append(errs, err)
			}
		}
		// Connections the servers do not know about (rejections, POP3)
		// and any the servers missed.
		l.conns.closeAll()
		l.wg.Wait()
		// Deliveries in flight: their contexts ended with l.stop.
		l.relay.close()
		// go-smtp, go-imap and net/http do not wait for their connection
		// goroutines on Close; one of them may still be logging its last
		// error. Logf is never called once Close has returned.
		if l.logf != nil {
			l.logf.close()
		}
		l.closeErr = errors.Join(errs...)
	})
	return l.closeErr
}

// gatedLogf adapts Options.Logf to an io.Writer for log.Logger, and stops
// calling it once the lab is closed.
type gatedLogf struct {
	mu     sync.RWMutex
	closed bool
	f      func(format string, args ...any)
}

func (g *gatedLogf) Write(p []byte) (int, error) {
	s := string(p)
	if n := len(s); n > 0 && s[n-1] == '\n' {
		s = s[:n-1]
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	if !g.closed {
		g.f("%s", s)
	}
	return len(p), nil
}

func (g *gatedLogf) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}
