package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/spf13/cobra"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/tui"
)

// connectFlags are the flags of `mailwire connect`. They map onto
// sessionFlags so that connect and session build their sessions.Options the
// same way (sessionOptions in session.go).
type connectFlags struct {
	proto, tlsMode, sni, caFile, user, password, tlsMax string
	insecure                                            bool
	timeout                                             time.Duration
	// side holds what the session does on the server: --to, --from,
	// --stop-after, --fetch (addSideEffectFlags).
	side sessionFlags
}

// newConnectCmd builds `mailwire connect HOST[:PORT]`: the session screen
// of the TUI against a real server.
func newConnectCmd() *cobra.Command {
	var f connectFlags
	cmd := &cobra.Command{
		Use:   "connect HOST[:PORT]",
		Short: "Run one session against a server and explore it in the terminal interface",
		Long: "Connect to a mail server (or an HTTPS server, for comparison) and open the\n" +
			"session screen on what crossed the wire: the timeline, the STARTTLS boundary,\n" +
			"what each line means, and the eavesdropper's view (tab).\n\n" +
			"The protocol comes from --proto, else from the port (25, 587, 465, 110, 995,\n" +
			"143, 993, 443); the port from PORT, else from the protocol and --tls. The\n" +
			"certificate is checked against the system roots, or --ca-file. Nothing is\n" +
			"logged in unless --user is given (its password is asked for on the terminal\n" +
			"unless $MAILWIRE_PASSWORD is set), no message is sent without --to and no\n" +
			"mailbox is read without --fetch; esc leads to the port table. The exit status\n" +
			"is the last session's.\n\n" + exitStatusHelp,
		Example: "  mailwire connect smtp.example.org:587\n" +
			"  mailwire connect imap.example.org --proto imap --tls implicit\n" +
			"  mailwire connect 127.0.0.1:10587 --sni mail.lab.test --ca-file ~/.local/state/mailwire/lab/ca.pem",
		Args:         usageArgs(cobra.ExactArgs(1)),
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			o, req, err := connectOptions(args[0], f)
			if err != nil {
				return err
			}
			pw := stdinPasswordSource(cmd.InOrStdin(), cmd.ErrOrStderr())
			if o.Password, err = pw.password(ctx, o.Username, o.Password, o.Target); err != nil {
				return err
			}
			return runConnect(ctx, o, req)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.proto, "proto", "", "protocol: smtp, pop3, imap, https (default: from the port, else smtp)")
	fl.StringVar(&f.tlsMode, "tls", "", "TLS mode: starttls, implicit, none (default: the port's own)")
	fl.StringVar(&f.sni, "sni", "", "server name to send (SNI) and verify the certificate against (default: HOST)")
	fl.StringVar(&f.caFile, "ca-file", "", "verify the server certificate with the CAs in this PEM file")
	fl.BoolVar(&f.insecure, "insecure", false, "do not enforce certificate verification (the result is still shown)")
	fl.StringVar(&f.user, "user", "", "user name to log in with")
	fl.StringVar(&f.password, "password", "", "password (visible to other local users in the process list: prefer $MAILWIRE_PASSWORD)")
	fl.StringVar(&f.tlsMax, "tls-max", "", "highest TLS version to offer: 1.2 or 1.3 (1.2 shows the certificate on the wire)")
	fl.DurationVar(&f.timeout, "timeout", 30*time.Second, "limit for the whole session")
	addSideEffectFlags(fl, &f.side)
	cmd.MarkFlagsMutuallyExclusive("ca-file", "insecure")
	return cmd
}

// connectOptions turns HOST[:PORT] and the flags into session options and
// the request the TUI shows. The port decides the protocol when --proto is
// not given (sessionOptions: a canonical port names its protocol and TLS
// mode); a missing port comes from the protocol and TLS mode.
func connectOptions(target string, f connectFlags) (sessions.Options, tui.SessionRequest, error) {
	if target == "" || strings.ContainsAny(target, " /") {
		return sessions.Options{}, tui.SessionRequest{}, usageError(fmt.Errorf("target %q: want HOST or HOST:PORT", target))
	}
	sf := sessionFlags{
		proto: f.proto, tlsMode: f.tlsMode, target: target, tlsMax: f.tlsMax, sni: f.sni,
		user: f.user, password: f.password, caFile: f.caFile, insecure: f.insecure, timeout: f.timeout,
		to: f.side.to, from: f.side.from, stopAfter: f.side.stopAfter, fetch: f.side.fetch,
	}
	o, port, err := sessionOptions(sf)
	if err != nil {
		return o, tui.SessionRequest{}, err
	}
	o.Target = withPort(target, port)
	host, p, err := net.SplitHostPort(o.Target)
	if err != nil || host == "" {
		return o, tui.SessionRequest{}, usageError(fmt.Errorf("target %q: want HOST or HOST:PORT", target))
	}
	if n, err := strconv.ParseUint(p, 10, 16); err != nil || n == 0 {
		return o, tui.SessionRequest{}, usageError(fmt.Errorf("target %q: bad port %q", target, p))
	}
	if err := o.Validate(); err != nil {
		return o, tui.SessionRequest{}, usageError(err)
	}
	label := "SNI " + host
	if o.ServerName != "" {
		label = "SNI " + o.ServerName
	}
	label += ", certificate: " + string(o.Verify)
	req := tui.SessionRequest{Port: port, Target: o.Target, Proto: o.Proto, TLSMode: string(o.TLSMode), Label: label}
	return o, req, nil
}

// runConnect runs the TUI on the session screen. The session starts when
// the screen does, and again on each re-run (r), always with the same
// options. The exit status is the last run's, as for `mailwire session`.
func runConnect(ctx context.Context, o sessions.Options, req tui.SessionRequest) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var last runRecord
	open := func(ctx context.Context, _ tui.SessionRequest) (<-chan sessions.Event, error) {
		return last.record(ctx, sessions.Stream(ctx, o)), nil
	}
	p := tea.NewProgram(tui.New(tui.Options{Context: ctx, OpenSession: open, Connect: &req}), tea.WithContext(ctx))
	if _, err := p.Run(); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("terminal interface: %w", err)
	}
	return streamOutcome(last.events(), "session", func(sessions.Event) bool { return true })
}

// runRecord keeps the events of the latest run a screen shows, for the
// exit status.
type runRecord struct {
	mu  sync.Mutex
	gen int
	evs []sessions.Event
}

// record passes ch through, keeping its events as the latest run's. Once
// ctx ends it stops passing events on but still drains ch, so the session's
// goroutine can finish even if the screen no longer reads.
func (r *runRecord) record(ctx context.Context, ch <-chan sessions.Event) <-chan sessions.Event {
	r.mu.Lock()
	r.gen++
	gen := r.gen
	r.evs = nil
	r.mu.Unlock()
	out := make(chan sessions.Event, cap(ch))
	go func() {
		defer close(out)
		for ev := range ch {
			r.mu.Lock()
			if r.gen == gen {
				r.evs = append(r.evs, ev)
			}
			r.mu.Unlock()
			select {
			case out <- ev:
			case <-ctx.Done():
			}
		}
	}()
	return out
}

func (r *runRecord) events() []sessions.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.evs)
}
