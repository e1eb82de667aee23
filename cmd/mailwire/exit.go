package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/dissect"
	"github.com/mailwire/mailwire/sessions/wire"
)

// Exit statuses, for scripts and monitoring. Documented in exitStatusHelp
// (--help and the man page) and README's "Exit status".
const (
	exitOK     = 0 // the session worked and nothing was graded unsafe
	exitFailed = 1 // the session or the connection failed
	exitUsage  = 2 // a bad flag, a bad value, a missing argument
	exitUnsafe = 3 // the session ran (or stopped on the finding) and a finding is unsafe
)

// exitStatusHelp is the exit status table of --help and the man page.
const exitStatusHelp = "Exit status:\n" +
	"  0  the session worked and nothing was graded unsafe\n" +
	"  1  the session or the connection failed\n" +
	"  2  usage error: a bad flag, a bad value, a missing argument\n" +
	"  3  unsafe: STARTTLS missing where the port provides for it, a\n" +
	"     certificate that does not verify for the name, a password on the\n" +
	"     wire before TLS, or an unsafe scenario verdict; 3 wins over 1 when\n" +
	"     the finding is what stopped the session (an invalid certificate,\n" +
	"     no STARTTLS on 587)"

// exitError carries the exit status an error stands for.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageError marks err as a usage error (exit status 2).
func usageError(err error) error {
	if err == nil {
		return nil
	}
	var e *exitError
	if errors.As(err, &e) {
		return err
	}
	return &exitError{code: exitUsage, err: err}
}

// exitCode is the status for the error a command returned: nil is 0, a
// marked error its own, anything else (a lab that did not start, a
// terminal that failed) 1.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var e *exitError
	if errors.As(err, &e) {
		return e.code
	}
	return exitFailed
}

// usageArgs makes cobra's own argument errors usage errors.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		return usageError(check(cmd, args))
	}
}

// streamOutcome turns a stream's events into the command's result: its
// unsafe findings (sessions.Findings) give status 3, whether or not the
// session also failed, since a finding that stopped the session (an
// invalid certificate, no STARTTLS) is what an admin needs to know;
// else failed (an error event that counts, as failed says) gives 1.
func streamOutcome(evs []wire.Event, what string, failed func(wire.Event) bool) error {
	if fs := sessions.Findings(evs); len(fs) > 0 {
		var parts []string
		for _, f := range fs {
			t := wire.SafeString(f.Text)
			switch f.Kind {
			case sessions.FindingCertificate:
				t = "certificate: " + t
			case sessions.FindingNoTLS:
				t = "no TLS: " + t
			}
			if f.Leg != "" {
				t = wire.SafeString(f.Leg) + ": " + t
			}
			parts = append(parts, t)
		}
		return &exitError{code: exitUnsafe, err: fmt.Errorf("%s: unsafe: %s", what, strings.Join(parts, "; "))}
	}
	// The failures in wire order, but an after-effect (a server's
	// cleartext error reply after its TLS alert) after the cause, so that
	// the line leads with why the session failed.
	var fails, after []string
	for _, ev := range evs {
		if ev.Kind == wire.KindError && failed(ev) {
			if ev.Annotation == dissect.KeyCleartextAfterTLS {
				after = append(after, wire.SafeString(ev.Text))
			} else {
				fails = append(fails, wire.SafeString(ev.Text))
			}
		}
	}
	if fails = append(fails, after...); len(fails) > 0 {
		return &exitError{code: exitFailed, err: fmt.Errorf("%s failed: %s", what, strings.Join(fails, "; "))}
	}
	return nil
}
