// Package sshtest is a student for tests of an SSH-served Bubble Tea
// program: an SSH client (golang.org/x/crypto/ssh) with a pty, whose
// output goes into a terminal emulator (charmbracelet/x/vt) that answers
// the program's queries as a terminal would, so a test reads the screen a
// student sees and types keys as they do. Tests and benchmarks only.
package sshtest

import (
	"context"
	"errors"
	"fmt"
	"image/color"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/x/vt"
	gossh "golang.org/x/crypto/ssh"
)

// Student is one connected student's terminal.
type Student struct {
	Client *gossh.Client
	Sess   *gossh.Session

	stdinMu sync.Mutex
	stdin   io.WriteCloser

	mu      sync.Mutex
	term    *vt.Emulator
	changed chan struct{} // closed and replaced on each write to term
	screen  string        // term.String() after the last write
	stderr  strings.Builder
	ended   bool
	done    chan struct{}
	waitErr error
}

// Options of Open.
type Options struct {
	Width, Height int               // the window; 80×24 when zero
	Term          string            // TERM; xterm-256color when empty
	Env           map[string]string // sent with env requests before the shell
	Light         bool              // the terminal's background is white (its answer to OSC 11)
}

// Dial connects to addr as a student with cfg (its HostKeyCallback
// defaults to accepting any key, as a test's throwaway server has one).
func Dial(addr string, cfg *gossh.ClientConfig) (*gossh.Client, error) {
	if cfg.HostKeyCallback == nil {
		cfg.HostKeyCallback = gossh.InsecureIgnoreHostKey()
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	return gossh.Dial("tcp", addr, cfg)
}

// Open opens a session with a pty and a shell on c, as `ssh -t` does.
func Open(c *gossh.Client, o Options) (*Student, error) {
	if o.Width == 0 {
		o.Width, o.Height = 80, 24
	}
	if o.Term == "" {
		o.Term = "xterm-256color"
	}
	sess, err := c.NewSession()
	if err != nil {
		return nil, fmt.Errorf("new session: %w", err)
	}
	s := &Student{Client: c, Sess: sess, term: vt.NewEmulator(o.Width, o.Height), changed: make(chan struct{}), done: make(chan struct{})}
	if o.Light {
		s.term.SetBackgroundColor(color.White)
		s.term.SetForegroundColor(color.Black)
	}
	for k, v := range o.Env {
		// A refused variable is not an error for the client (OpenSSH
		// goes on too).
		_ = sess.Setenv(k, v)
	}
	if err := sess.RequestPty(o.Term, o.Height, o.Width, gossh.TerminalModes{}); err != nil {
		sess.Close()
		return nil, fmt.Errorf("pty: %w", err)
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := sess.StderrPipe()
	if err != nil {
		return nil, err
	}
	if s.stdin, err = sess.StdinPipe(); err != nil {
		return nil, err
	}
	if err := sess.Shell(); err != nil {
		sess.Close()
		return nil, fmt.Errorf("shell: %w", err)
	}
	go s.readOutput(stdout, stderr)
	// The terminal's answers (the background colour, the cursor
	// position) go back to the program as a terminal's would.
	go func() { _, _ = io.Copy(lockedWriter{s}, s.term) }()
	return s, nil
}

type lockedWriter struct{ s *Student }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.s.stdinMu.Lock()
	defer w.s.stdinMu.Unlock()
	return w.s.stdin.Write(p)
}

func (s *Student) readOutput(stdout, stderr io.Reader) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 4096)
		for {
			n, err := stderr.Read(buf)
			s.mu.Lock()
			s.stderr.Write(buf[:n])
			s.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := stdout.Read(buf)
		if n > 0 {
			s.mu.Lock()
			_, _ = s.term.Write(buf[:n])
			s.screen = s.term.String()
			close(s.changed)
			s.changed = make(chan struct{})
			s.mu.Unlock()
		}
		if err != nil {
			break
		}
	}
	wg.Wait()
	werr := s.Sess.Wait()
	s.mu.Lock()
	s.ended, s.waitErr = true, werr
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	close(s.done)
	// Ends the copy of the terminal's answers (the emulator's Close
	// would race with its Read).
	if c, ok := s.term.InputPipe().(io.Closer); ok {
		_ = c.Close()
	}
}

// Screen returns the text on the student's screen now.
func (s *Student) Screen() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.screen
}

// Stderr returns what the server wrote on the session's stderr.
func (s *Student) Stderr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

// ErrEnded: the session ended before the screen showed what was waited for.
var ErrEnded = errors.New("the session ended")

// WaitFor waits until match(screen) holds, and returns that screen.
func (s *Student) WaitFor(ctx context.Context, match func(screen string) bool) (string, error) {
	for {
		s.mu.Lock()
		screen, ch, ended := s.screen, s.changed, s.ended
		s.mu.Unlock()
		if match(screen) {
			return screen, nil
		}
		if ended {
			return screen, ErrEnded
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return screen, ctx.Err()
		}
	}
}

// WaitText waits up to d for the screen to show text.
func (s *Student) WaitText(d time.Duration, text string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	screen, err := s.WaitFor(ctx, func(sc string) bool { return strings.Contains(sc, text) })
	if err != nil {
		return screen, fmt.Errorf("waiting for %q: %w; the screen:\n%s", text, err, screen)
	}
	return screen, nil
}

// Type sends keys as the terminal would encode them: text as it is,
// "\r" for enter, "\x1b" for esc, "\x1b[B" for down.
func (s *Student) Type(keys string) error {
	_, err := lockedWriter{s}.Write([]byte(keys))
	return err
}

// Resize changes the window (RFC 4254 §6.7), and the emulator's.
func (s *Student) Resize(w, h int) error {
	s.mu.Lock()
	s.term.Resize(w, h)
	s.mu.Unlock()
	return s.Sess.WindowChange(h, w)
}

// Wait waits for the session to end, up to d, and returns its exit error
// (nil for status 0; *ssh.ExitError otherwise).
func (s *Student) Wait(d time.Duration) error {
	select {
	case <-s.done:
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.waitErr
	case <-time.After(d):
		return fmt.Errorf("the session did not end within %s", d)
	}
}

// Close ends the session and the connection.
func (s *Student) Close() {
	_ = s.Sess.Close()
	_ = s.Client.Close()
}
