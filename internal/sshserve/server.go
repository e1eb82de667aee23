// Package sshserve serves a Bubble Tea program over SSH to a class: each
// student who connects gets a program of their own (built by
// Config.Program, with their own window size and environment), behind the
// access rules of Access and the bounds of Limits. It is mailwire serve's
// server; what a student's program shows is the caller's business (the
// terminal interface, built per student against one shared lab).
//
// What a student can do is what the program lets them do: the server
// runs no command, opens no shell, serves no file and forwards no port or
// agent (channel.go).
//
// Built on charm.land/ssh and charm.land/wish/v2's Bubble Tea middleware,
// as soft-serve serves its interface: an emulated pty (no pseudo-terminal
// of the host is allocated), the program reading and writing the SSH
// channel.
package sshserve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/ssh"
	"charm.land/wish/v2"
	bm "charm.land/wish/v2/bubbletea"
	gossh "golang.org/x/crypto/ssh"
)

// DefaultAddr is mailwire serve's address without --ssh: loopback, so
// that nothing reaches other machines until the operator says so.
const DefaultAddr = "127.0.0.1:2222"

// Config configures a Server.
type Config struct {
	// Addr is the address to listen on (host:port). Open access (no
	// passphrase, no authorized keys) is refused unless its host is a
	// loopback address.
	Addr string
	// HostKey is the server's host key (LoadOrCreateHostKey).
	HostKey gossh.Signer
	Access  Access
	Limits  Limits
	// Program builds a student's program. It is called once per screen,
	// with a context that ends when the student leaves; the model must be
	// the student's own (no state shared with another student's).
	Program func(ctx context.Context, st Student) (tea.Model, error)
	// Logf receives a line per connection, login, screen and refusal (nil:
	// none). Peer-supplied strings in it (user names) are quoted.
	Logf func(format string, args ...any)
	// Version is the SSH identification string's software version (RFC
	// 4253 §4.2), e.g. "mailwire_1.2.0"; empty: "mailwire".
	Version string
	// failDelay is slept on each failed passphrase (tests shorten it).
	failDelay time.Duration
}

// Student is one connected student, as Config.Program sees them.
type Student struct {
	ID     int64  // 1, 2, … in order of arrival since the server started
	User   string // the SSH user name, as the client sent it (an identity only when Key is set)
	Addr   string // the client's IP address
	Key    string // the SHA256 fingerprint of the key that logged in, or ""
	Term   string // the pty's TERM
	Width  int    // the window at the start, in cells
	Height int
	env    []string // the environment the server accepted (channel.go), TERM included
}

// Environ returns the student's environment as NAME=value strings: the
// variables their client sent that the server keeps, and TERM.
func (s Student) Environ() []string { return append([]string(nil), s.env...) }

// Getenv returns the value of one variable of Environ, or "".
func (s Student) Getenv(name string) string {
	for _, kv := range s.env {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			return v
		}
	}
	return ""
}

// Stats is what the server holds now.
type Stats struct {
	Connections int // SSH connections admitted and open
	Screens     int // students' programs running
}

// Server is the SSH server of a class.
type Server struct {
	cfg    Config
	srv    *ssh.Server
	adm    *admission
	keys   *keySet // nil without Access.AuthorizedKeys
	nextID atomic.Int64

	mu       sync.Mutex
	screens  map[int64]*screen
	stopping bool
	ln       net.Listener
}

// ErrOpenNotLoopback is New's error for open access on an address other
// machines can reach.
var ErrOpenNotLoopback = errors.New("open access (no passphrase, no authorized keys) is only for a loopback address")

// New checks cfg and makes the server; Serve starts it.
func New(cfg Config) (*Server, error) {
	if cfg.HostKey == nil {
		return nil, errors.New("sshserve: no host key")
	}
	if cfg.Program == nil {
		return nil, errors.New("sshserve: no program to serve")
	}
	if cfg.Access.Mode() == ModeOpen && !IsLoopback(cfg.Addr) {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Addr, ErrOpenNotLoopback)
	}
	cfg.Limits = cfg.Limits.withDefaults()
	if cfg.failDelay == 0 {
		cfg.failDelay = time.Second
	}
	if cfg.Version == "" {
		cfg.Version = "mailwire"
	}
	s := &Server{cfg: cfg, adm: newAdmission(cfg.Limits), screens: map[int64]*screen{}}
	if path := cfg.Access.AuthorizedKeys; path != "" {
		keys, err := loadKeySet(path, cfg.Logf)
		if err != nil {
			return nil, err
		}
		s.keys = keys
	}
	// Not wish.NewServer: it writes a key file in the working directory
	// when given none.
	srv := &ssh.Server{
		Addr:        cfg.Addr,
		Version:     cfg.Version,
		HostSigners: []ssh.Signer{cfg.HostKey},
		// OpenSSH's LoginGraceTime: the handshake and the login.
		HandshakeTimeout: cfg.Limits.LoginTimeout,
		// A connection with no traffic at all (keepalives count) goes
		// after twice the idle time: a screen has its own timer, of keys
		// (screen.go), which must end it first, with a word to the
		// student.
		IdleTimeout:          2 * cfg.Limits.IdleTimeout,
		ConnCallback:         s.connCallback,
		ServerConfigCallback: s.serverConfig,
		ChannelHandlers:      map[string]ssh.ChannelHandler{"session": sessionChannel},
		RequestHandlers:      map[string]ssh.RequestHandler{}, // no tcpip-forward (RFC 4254 §7.1)
		SubsystemHandlers:    map[string]ssh.SubsystemHandler{},
	}
	for _, opt := range []ssh.Option{
		// soft-serve's choice too: the program reads and writes the
		// channel; no pseudo-terminal of the host is allocated.
		ssh.EmulatePty(),
		// Middlewares run last first: admitScreen, then the program.
		wish.WithMiddleware(bm.MiddlewareWithProgramHandler(s.program), s.admitScreen),
	} {
		if err := srv.SetOption(opt); err != nil {
			return nil, fmt.Errorf("sshserve: %w", err)
		}
	}
	s.srv = srv
	return s, nil
}

// IsLoopback reports whether addr (host:port, or a host) names only this
// machine: a loopback IP or localhost. An empty host (":2222") is every
// address, not loopback.
func IsLoopback(addr string) bool {
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Listen opens the server's address.
func (s *Server) Listen() (net.Listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(context.Background(), "tcp", s.cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", s.cfg.Addr, err)
	}
	return ln, nil
}

// Serve serves students on ln until Shutdown or Close; it returns nil
// then.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	err := s.srv.Serve(ln)
	s.mu.Lock()
	stopping := s.stopping
	s.mu.Unlock()
	if stopping || errors.Is(err, ssh.ErrServerClosed) {
		return nil
	}
	return err
}

// Stats returns what the server holds now.
func (s *Server) Stats() Stats {
	total, _ := s.adm.counts("")
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Connections: total, Screens: len(s.screens)}
}

// Shutdown stops taking students, ends every student's program with a
// word to them (their terminal restored), waits for them until ctx ends,
// then closes every connection.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.stopping = true
	screens := make([]*screen, 0, len(s.screens))
	for _, sc := range s.screens {
		screens = append(screens, sc)
	}
	ln := s.ln
	s.mu.Unlock()
	if ln != nil {
		_ = ln.Close()
	}
	for _, sc := range screens {
		sc.end("the class server is shutting down")
	}
	for _, sc := range screens {
		select {
		case <-sc.done:
		case <-ctx.Done():
		}
	}
	return s.srv.Close()
}

// Close closes the listener and every connection at once.
func (s *Server) Close() error {
	s.mu.Lock()
	s.stopping = true
	s.mu.Unlock()
	return s.srv.Close()
}

func (s *Server) logf(format string, args ...any) {
	if s.cfg.Logf != nil {
		s.cfg.Logf(format, args...)
	}
}
