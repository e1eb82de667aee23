package sshserve

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/ssh"
	"charm.land/wish/v2"
	"github.com/charmbracelet/colorprofile"
)

// screen is one student's program, from the shell request to its end.
type screen struct {
	student Student
	opened  time.Time
	ctx     context.Context // ends when the program has ended
	cancel  context.CancelFunc
	done    chan struct{} // closed when the student's session is over
	// lastKey is when the student last sent anything (UnixNano).
	lastKey atomic.Int64

	mu      sync.Mutex
	program *tea.Program
	reason  string // why the server ended the program, "" when the student quit
}

type screenKey struct{}

func screenFrom(ctx ssh.Context) *screen {
	sc, _ := ctx.Value(screenKey{}).(*screen)
	return sc
}

// end ends the program for reason, told to the student after it; once.
func (sc *screen) end(reason string) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.reason != "" {
		return
	}
	sc.reason = reason
	if p := sc.program; p != nil {
		go p.Quit() // returns once the program takes it, or has ended
	}
}

func (sc *screen) endReason() string {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.reason
}

// admitScreen is the first middleware: a shell with a pty gets a screen;
// anything else is told what this server does.
func (s *Server) admitScreen(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		if len(sess.Command()) > 0 || sess.RawCommand() != "" {
			wish.Fatalln(sess, "mailwire: this server runs the mailwire screen and nothing else: connect without a command (ssh -t HOST).")
			return
		}
		pty, _, ok := sess.Pty()
		if !ok {
			wish.Fatalln(sess, "mailwire: the mailwire screen needs a terminal: connect with ssh -t.")
			return
		}
		sc := s.newScreen(sess, pty)
		if sc == nil {
			wish.Fatalln(sess, "mailwire: the class server is shutting down.")
			return
		}
		defer s.closeScreen(sc)
		sess.Context().SetValue(screenKey{}, sc)
		total, fromAddr := s.adm.counts(sc.student.Addr)
		s.logf("student %d (user %q from %s, %s) opened a screen, %d×%d %s; %d of %d connected, %d of %d from that address",
			sc.student.ID, sc.student.User, sc.student.Addr, method(sess), sc.student.Width, sc.student.Height, logWord(sc.student.Term),
			total, s.cfg.Limits.MaxSessions, fromAddr, s.cfg.Limits.MaxPerAddr)
		go s.watchIdle(sc)
		next(sess) // the program runs (bubbletea middleware)
		if reason := sc.endReason(); reason != "" {
			fmt.Fprintf(sess.Stderr(), "mailwire: %s\n", reason)
			s.logf("student %d: %s", sc.student.ID, reason)
			_ = sess.Exit(1)
		}
	}
}

func method(sess ssh.Session) string {
	if m := sess.Permissions().Extensions[extMethod]; m != "" {
		return m
	}
	return "open"
}

// newScreen registers a student's screen; nil when the server stops.
func (s *Server) newScreen(sess ssh.Session, pty ssh.Pty) *screen {
	env := append(sess.Environ(), "TERM="+pty.Term)
	st := Student{
		ID: s.nextID.Add(1), User: sess.User(), Addr: addrKey(sess.RemoteAddr()),
		Key: sess.Permissions().Extensions[extKey], Term: pty.Term,
		Width: pty.Window.Width, Height: pty.Window.Height, env: env,
	}
	ctx, cancel := context.WithCancel(sess.Context())
	sc := &screen{student: st, opened: time.Now(), ctx: ctx, cancel: cancel, done: make(chan struct{})}
	sc.lastKey.Store(time.Now().UnixNano())
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		cancel()
		return nil
	}
	s.screens[st.ID] = sc
	return sc
}

func (s *Server) closeScreen(sc *screen) {
	sc.cancel()
	s.mu.Lock()
	delete(s.screens, sc.student.ID)
	s.mu.Unlock()
	close(sc.done)
	s.logf("student %d left after %s", sc.student.ID, time.Since(sc.opened).Round(time.Second))
}

// program builds the student's tea.Program (bubbletea middleware's
// ProgramHandler): the caller's model, the SSH channel as its terminal,
// the student's environment for its colours and COLORFGBG, their window.
func (s *Server) program(sess ssh.Session) *tea.Program {
	sc := screenFrom(sess.Context())
	if sc == nil {
		return nil
	}
	model, err := s.cfg.Program(sc.ctx, sc.student)
	if err != nil {
		fmt.Fprintf(sess.Stderr(), "mailwire: %v\n", err)
		s.logf("student %d: no screen: %v", sc.student.ID, err)
		return nil
	}
	env := sc.student.Environ()
	p := tea.NewProgram(model,
		tea.WithInput(keyReader{r: sess, last: &sc.lastKey}),
		tea.WithOutput(sess),
		tea.WithEnvironment(env),
		// No pseudo-terminal to ask: the profile comes from TERM,
		// COLORTERM and NO_COLOR, as wish's middleware does for an
		// emulated pty.
		tea.WithColorProfile(colorprofile.Env(env)),
		tea.WithWindowSize(sc.student.Width, sc.student.Height),
		// The server's own signals are the server's: a program per
		// student must not quit on the operator's ctrl+c.
		tea.WithoutSignalHandler(),
		// No suspending a process that is not the student's.
		tea.WithFilter(func(_ tea.Model, msg tea.Msg) tea.Msg {
			if _, ok := msg.(tea.SuspendMsg); ok {
				return tea.ResumeMsg{}
			}
			return msg
		}),
	)
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.reason != "" {
		return nil // ended before it started (shutdown)
	}
	sc.program = p
	return p
}

// keyReader is the program's input: it notes when the student last sent
// something, for the idle timeout.
type keyReader struct {
	r    io.Reader
	last *atomic.Int64
}

func (k keyReader) Read(p []byte) (int, error) {
	n, err := k.r.Read(p)
	if n > 0 {
		k.last.Store(time.Now().UnixNano())
	}
	return n, err
}

// watchIdle ends the screen after Limits.IdleTimeout without input.
func (s *Server) watchIdle(sc *screen) {
	idle := s.cfg.Limits.IdleTimeout
	t := time.NewTimer(idle)
	defer t.Stop()
	for {
		select {
		case <-sc.ctx.Done():
			return
		case <-t.C:
			since := time.Since(time.Unix(0, sc.lastKey.Load()))
			if since >= idle {
				sc.end(fmt.Sprintf("disconnected after %s without a key.", idle))
				return
			}
			t.Reset(idle - since)
		}
	}
}

// logWord is a word a client chose (its TERM) as the operator's log shows
// it: as it is when it is a plain word, quoted otherwise, so that no
// control character from a student reaches the operator's terminal.
func logWord(s string) string {
	if s == "" || len(s) > 64 {
		return strconv.Quote(s)
	}
	for _, r := range s {
		if r <= ' ' || r > '~' || r == '"' {
			return strconv.Quote(s)
		}
	}
	return s
}
