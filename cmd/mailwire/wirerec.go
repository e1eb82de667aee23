package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/scenario"
	"github.com/mailwire/mailwire/sessions/wire"
	"github.com/mailwire/mailwire/tui"
)

// What keeps a session's wire: the bytes that crossed it (for a pcap) and
// its TLS secrets (for a key log). Every session mailwire runs as a client
// gets them from one place, withRecorders (scenarioRecorders for a
// scenario's sessions), so that no opener can forget them again (the
// target opener once did, and the export menu wrote an empty pcap): the
// session screen's capture and key log buffer, asked for per run through
// the context (tui.WireRecorders), and $SSLKEYLOGFILE. The lab's server
// side never writes to $SSLKEYLOGFILE: it is the client's variable.

// withRecorders returns o with the screen's recorders of this run (none
// outside a screen) and keys ($SSLKEYLOGFILE's file or --keylog's, nil
// when not asked) wired into Capture and KeyLog. A KeyLog o already has
// is kept.
func withRecorders(ctx context.Context, o sessions.Options, keys io.Writer) sessions.Options {
	capture, keyLog := recorders(ctx, keys)
	if capture != nil {
		o.Capture = capture
	}
	o.KeyLog = joinKeyLogs(o.KeyLog, keyLog)
	return o
}

// scenarioRecorders is withRecorders for a scenario: every session of
// every leg keeps its bytes and secrets in the same recorders.
func scenarioRecorders(ctx context.Context, env scenario.Env, keys io.Writer) scenario.Env {
	capture, keyLog := recorders(ctx, keys)
	if capture != nil {
		env.Capture = capture
	}
	env.KeyLog = joinKeyLogs(env.KeyLog, keyLog)
	return env
}

func recorders(ctx context.Context, keys io.Writer) (*wire.Capture, io.Writer) {
	capture, buf := tui.WireRecorders(ctx)
	if buf == nil {
		return capture, keys
	}
	return capture, joinKeyLogs(buf, keys)
}

// joinKeyLogs writes to both (either may be nil). The buffer comes first:
// an error of a file must not cost the export its secrets.
func joinKeyLogs(a, b io.Writer) io.Writer {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return io.MultiWriter(a, b)
}

// keyLogFile is a key log file that several sessions, possibly at once,
// write to: each of crypto/tls's writes is one whole line, kept whole.
type keyLogFile struct {
	mu   sync.Mutex
	f    *os.File
	path string
}

func (k *keyLogFile) Write(p []byte) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.f == nil {
		return 0, os.ErrClosed
	}
	return k.f.Write(p)
}

// Close closes the file (idempotent; nil-safe).
func (k *keyLogFile) Close() error {
	if k == nil {
		return nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.f == nil {
		return nil
	}
	err := k.f.Close()
	k.f = nil
	if err != nil {
		return fmt.Errorf("key log %s: %w", k.path, err)
	}
	return nil
}

// writer is k as an io.Writer, nil (not a typed nil) when k is nil.
func (k *keyLogFile) writer() io.Writer {
	if k == nil {
		return nil
	}
	return k
}

// openKeyLog opens the key log file a command writes its sessions' TLS
// secrets to: path (--keylog, truncated) or else $SSLKEYLOGFILE, which
// NSS, curl and browsers append to (several programs may share one). Nil
// when neither is set. whose says whose secrets, for the warning on
// errOut, which is written before anything else is (a screen would hide
// it).
func openKeyLog(errOut io.Writer, path, whose string) (*keyLogFile, error) {
	// --keylog's file is mailwire's own (createPrivate: 0600 even if it
	// existed wider). $SSLKEYLOGFILE is shared with other programs: it is
	// created 0600, and an existing one keeps its owner's mode.
	from := "--keylog"
	open := createPrivate
	if path == "" {
		path, from = os.Getenv("SSLKEYLOGFILE"), "SSLKEYLOGFILE"
		open = func(p string) (*os.File, error) {
			return os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		}
	}
	if path == "" {
		return nil, nil
	}
	f, err := open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", from, err)
	}
	fmt.Fprintf(errOut, "mailwire: WARNING: writing %s TLS secrets to %s (%s): whoever reads that file can decrypt everything sent inside TLS, the password included\n", whose, path, from)
	return &keyLogFile{f: f, path: path}, nil
}
