package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/charmbracelet/x/term"
)

// envPassword names the environment variable that gives the password
// without putting it in the process list.
const envPassword = "MAILWIRE_PASSWORD"

// passwordSource is where a password comes from when --user has none: the
// terminal (a masked prompt) when there is one.
type passwordSource struct {
	// terminal says whether a user can be asked; read reads one line
	// without echoing it.
	terminal bool
	read     func() ([]byte, error)
	prompt   io.Writer // where the question is asked (stderr)
}

// stdinPasswordSource asks on in when it is a terminal (golang.org/x/term's
// ReadPassword, through charmbracelet/x/term: no echo, restored after).
func stdinPasswordSource(in io.Reader, prompt io.Writer) passwordSource {
	f, ok := in.(*os.File)
	if !ok || !term.IsTerminal(f.Fd()) {
		return passwordSource{prompt: prompt}
	}
	return passwordSource{terminal: true, prompt: prompt, read: func() ([]byte, error) { return term.ReadPassword(f.Fd()) }}
}

// password returns the password for user: --password, else
// $MAILWIRE_PASSWORD, else a masked prompt on a terminal. Without a
// terminal it is a usage error rather than an empty password sent
// silently. No user, no password.
func (s passwordSource) password(user, given, where string) (string, error) {
	if user == "" || given != "" {
		return given, nil
	}
	if p := os.Getenv(envPassword); p != "" {
		return p, nil
	}
	if !s.terminal {
		return "", usageError(fmt.Errorf("--user %s: no password: set $%s (or --password), or run on a terminal to be asked", user, envPassword))
	}
	fmt.Fprintf(s.prompt, "Password for %s on %s: ", user, where)
	p, err := s.read()
	fmt.Fprintln(s.prompt) // the Enter was not echoed
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	if len(p) == 0 {
		return "", usageError(errors.New("empty password: nothing was typed"))
	}
	return string(p), nil
}
