package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/charmbracelet/x/term"

	"github.com/mailwire/mailwire/sessions/wire"
)

// envPassword names the environment variable that gives the password
// without putting it in the process list.
const envPassword = "MAILWIRE_PASSWORD"

// passwordSource is where a password comes from when --user has none: the
// terminal (a masked prompt) when there is one.
type passwordSource struct {
	// terminal says whether a user can be asked; read reads one line
	// without echoing it, and gives up when ctx ends (ctrl+c).
	terminal bool
	read     func(ctx context.Context) ([]byte, error)
	prompt   io.Writer // where the question is asked (stderr)
}

// stdinPasswordSource asks on in when it is a terminal (golang.org/x/term's
// ReadPassword, through charmbracelet/x/term: no echo, restored after).
func stdinPasswordSource(in io.Reader, prompt io.Writer) passwordSource {
	f, ok := in.(*os.File)
	if !ok || !term.IsTerminal(f.Fd()) {
		return passwordSource{prompt: prompt}
	}
	return passwordSource{terminal: true, prompt: prompt, read: func(ctx context.Context) ([]byte, error) {
		return readPassword(ctx, f.Fd())
	}}
}

// readPassword is term.ReadPassword that gives up when ctx ends: fang
// turns ctrl+c into a cancelled context rather than the default exit, and
// ReadPassword itself would wait for Enter. The terminal's echo, which
// ReadPassword restores only when it returns, is restored here then.
func readPassword(ctx context.Context, fd uintptr) ([]byte, error) {
	state, err := term.GetState(fd)
	if err != nil {
		return nil, err
	}
	type result struct {
		p   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		p, err := term.ReadPassword(fd)
		done <- result{p, err}
	}()
	select {
	case r := <-done:
		return r.p, r.err
	case <-ctx.Done():
		_ = term.Restore(fd, state)
		return nil, context.Cause(ctx)
	}
}

// password returns the password for user: --password, else
// $MAILWIRE_PASSWORD, else a masked prompt on a terminal. Without a
// terminal it is a usage error rather than an empty password sent
// silently. No user, no password.
func (s passwordSource) password(ctx context.Context, user, given, where string) (string, error) {
	if user == "" || given != "" {
		return given, nil
	}
	if p := os.Getenv(envPassword); p != "" {
		return p, nil
	}
	if !s.terminal {
		return "", usageError(fmt.Errorf("--user %s: no password: set $%s (or --password), or run on a terminal to be asked", user, envPassword))
	}
	if ctx == nil {
		ctx = context.Background()
	}
	fmt.Fprintf(s.prompt, "Password for %s on %s: ", wire.SafeString(user), wire.SafeString(where))
	p, err := s.read(ctx)
	fmt.Fprintln(s.prompt) // the Enter was not echoed
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	if len(p) == 0 {
		return "", usageError(errors.New("empty password: nothing was typed"))
	}
	return string(p), nil
}
