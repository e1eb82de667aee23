package sshserve

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"charm.land/ssh"
	gossh "golang.org/x/crypto/ssh"
)

// connState is what the server keeps of one SSH connection, in its
// context from the moment it is accepted.
type connState struct {
	addr string // addrKey of the client
	// why is the refusal told to the client in the login banner; ""
	// when admitted.
	why string

	mu       sync.Mutex
	sessions int // screens open on the connection (at most one)
}

type connKey struct{}

func connFrom(ctx ssh.Context) *connState {
	st, _ := ctx.Value(connKey{}).(*connState)
	return st
}

// openSession takes the connection's one screen.
func (c *connState) openSession() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.why != "" || c.sessions > 0 {
		return false
	}
	c.sessions++
	return true
}

func (c *connState) closeSession() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sessions--
}

// trackedConn gives its place back when it closes.
type trackedConn struct {
	net.Conn
	release func()
}

func (c trackedConn) Close() error {
	c.release()
	return c.Conn.Close()
}

// connCallback admits or refuses a new connection by the limits, before
// its handshake. A refused connection goes on to the login only to be told
// why in the banner (serverConfig) and let go; when too many refused ones
// are open already, it is closed at once.
func (s *Server) connCallback(ctx ssh.Context, conn net.Conn) net.Conn {
	s.mu.Lock()
	stopping := s.stopping
	s.mu.Unlock()
	addr := addrKey(conn.RemoteAddr())
	st := &connState{addr: addr}
	release, why, ok := s.adm.admit(addr)
	switch {
	case stopping:
		release()
		return nil
	case !ok && why == "":
		s.logf("refused %s without a word: too many refused connections are open", addr)
		return nil
	case !ok:
		st.why = why
		s.logf("refused %s: %s", addr, why)
	}
	ctx.SetValue(connKey{}, st)
	return trackedConn{Conn: conn, release: release}
}

// Permissions extensions set at login, read by the session.
const (
	extKey    = "mailwire-key"    // the SHA256 fingerprint of the key
	extMethod = "mailwire-method" // how the student got in
)

// serverConfig is the connection's SSH configuration: its login methods,
// by Access, or none at all when the connection is refused.
func (s *Server) serverConfig(ctx ssh.Context) *gossh.ServerConfig {
	st := connFrom(ctx)
	cfg := &gossh.ServerConfig{
		// OpenSSH's MaxAuthTries is 6; a class needs fewer, and each
		// wrong passphrase costs a second besides.
		MaxAuthTries: 3,
		AuthLogCallback: func(conn gossh.ConnMetadata, method string, err error) {
			if err != nil && method != "none" {
				s.logf("login failed from %s (user %q, %s): %v", addrKey(conn.RemoteAddr()), conn.User(), method, err)
			}
		},
	}
	if st == nil || st.why != "" {
		why := "the server refused the connection"
		if st != nil {
			why = st.why
		}
		cfg.BannerCallback = func(gossh.ConnMetadata) string { return "mailwire: " + why + "\r\n" }
		// No method but none, which fails: the client is asked for
		// nothing, shows the banner, and the server hangs up.
		cfg.NoClientAuth = true
		cfg.NoClientAuthCallback = func(gossh.ConnMetadata) (*gossh.Permissions, error) {
			return nil, errors.New("refused: " + why)
		}
		return cfg
	}
	mode := s.cfg.Access.Mode()
	cfg.BannerCallback = func(gossh.ConnMetadata) string { return s.banner(mode) }
	if mode == ModeOpen {
		cfg.NoClientAuth = true
		cfg.NoClientAuthCallback = func(gossh.ConnMetadata) (*gossh.Permissions, error) {
			return &gossh.Permissions{Extensions: map[string]string{extMethod: "open"}}, nil
		}
	}
	if s.keys != nil {
		cfg.PublicKeyCallback = s.checkKey
	}
	if s.cfg.Access.Passphrase != "" {
		cfg.KeyboardInteractiveCallback = s.askPassphrase
		cfg.PasswordCallback = func(_ gossh.ConnMetadata, password []byte) (*gossh.Permissions, error) {
			return s.checkPassphrase(string(password), "password")
		}
	}
	return cfg
}

// banner is the login banner (RFC 4252 §5.4) of an admitted connection:
// what the server is and how one gets in.
func (s *Server) banner(mode Mode) string {
	b := "mailwire class server: the mailwire screen and nothing else (no shell, no files, no forwarding).\r\n"
	if mode == ModeOpen {
		return b + "Open access: any client that reaches this loopback address gets in, with any key or none.\r\n"
	}
	return b + "Log in with " + mode.String() + ".\r\n"
}

func (s *Server) checkKey(_ gossh.ConnMetadata, key gossh.PublicKey) (*gossh.Permissions, error) {
	if _, ok := s.keys.allows(key); !ok {
		return nil, errUnknownKey
	}
	fp := gossh.FingerprintSHA256(key)
	return &gossh.Permissions{Extensions: map[string]string{extKey: fp, extMethod: "key " + fp}}, nil
}

// askPassphrase asks for the class passphrase by keyboard-interactive
// authentication (RFC 4256 §3.2), without echo.
func (s *Server) askPassphrase(_ gossh.ConnMetadata, challenge gossh.KeyboardInteractiveChallenge) (*gossh.Permissions, error) {
	answers, err := challenge("", "mailwire class server", []string{"Class passphrase: "}, []bool{false})
	if err != nil {
		return nil, fmt.Errorf("passphrase prompt: %w", err)
	}
	if len(answers) != 1 {
		return nil, errWrongPassphrase
	}
	return s.checkPassphrase(answers[0], "passphrase")
}

func (s *Server) checkPassphrase(got, method string) (*gossh.Permissions, error) {
	if !passphraseMatches(s.cfg.Access.Passphrase, got) {
		// Slows a guesser to a try a second per connection (and
		// MaxAuthTries and MaxPerAddr bound the connections' tries).
		time.Sleep(s.cfg.failDelay)
		return nil, errWrongPassphrase
	}
	return &gossh.Permissions{Extensions: map[string]string{extMethod: method}}, nil
}
