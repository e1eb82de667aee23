package sessions

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

// Ways in for the interactive driver: StartPrompt for a UI that sends what
// the user types, StreamLines for lines read from a pipe.

// Errors of Prompt.Send.
var (
	// ErrPromptClosed: Close was called; nothing more is sent.
	ErrPromptClosed = errors.New("the input is closed")
	// ErrSessionEnded: the session is over (QUIT answered, the server
	// closed, an error).
	ErrSessionEnded = errors.New("the session has ended")
	// ErrPromptBusy: more lines wait than the queue holds.
	ErrPromptBusy = errors.New("too many lines wait to be sent")
)

// promptQueue is how many inputs may wait while the driver waits (for the
// greeting, STARTTLS's answer, a login).
const promptQueue = 64

// promptState is what the driver shares with its Prompt, for the UI's
// questions before it sends a line.
type promptState struct {
	mu       sync.Mutex
	cred     protocol.CredentialState
	tls      bool
	verified bool
	waiting  bool
	ended    bool
}

func (p *promptState) set(cred protocol.CredentialState, tls, verified, waiting bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cred, p.tls, p.verified, p.waiting = cred, tls, verified, waiting
}

func (p *promptState) end() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ended = true
}

// Prompt is the handle of an interactive session a UI drives: its events,
// and the way in for what the user types. Its methods never block on the
// network, so a UI may call them from its event loop.
type Prompt struct {
	proto  string
	events <-chan wire.Event
	st     *promptState

	mu     sync.Mutex
	in     chan Input
	closed bool
}

// StartPrompt dials and runs an interactive session in a new goroutine
// (Run with an InteractiveDriver). Its events come on Events, closed after
// the close event; the receiver must drain it. The session ends when the
// user ends it (QUIT or LOGOUT answered, Close), the server closes, or ctx
// ends.
func StartPrompt(ctx context.Context, opts Options, io InteractiveOptions) *Prompt {
	in := make(chan Input, promptQueue)
	st := &promptState{}
	opts.Driver = InteractiveDriver{Input: in, Opts: io, state: st}
	if opts.SessionTimeout <= 0 {
		opts.SessionTimeout = DefaultInteractiveTimeout
	}
	p := &Prompt{proto: opts.Proto, in: in, st: st}
	if p.proto == "" {
		p.proto = protocol.SMTP
	}
	p.events = Stream(ctx, opts)
	return p
}

// Events is the session's event stream.
func (p *Prompt) Events() <-chan wire.Event { return p.events }

// Proto is the session's protocol.
func (p *Prompt) Proto() string { return p.proto }

// Send queues one input. It does not wait: lines go in order as the
// driver takes them.
func (p *Prompt) Send(in Input) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrPromptClosed
	}
	p.st.mu.Lock()
	ended := p.st.ended
	p.st.mu.Unlock()
	if ended {
		return ErrSessionEnded
	}
	select {
	case p.in <- in:
		return nil
	default:
		return ErrPromptBusy
	}
}

// Close ends the input (EOF): the answers still awaited are read, within
// the reply wait, and the session ends without sending anything more.
func (p *Prompt) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.closed = true
		close(p.in)
	}
}

// Exposes returns the credential line would put on the wire readable by
// anyone on the path if it were sent now (a password before TLS), or nil.
// A UI asks before sending, to have the user confirm; the driver checks
// again when the line goes (InteractiveOptions.ConfirmCleartext).
func (p *Prompt) Exposes(line string) *wire.Credential {
	p.st.mu.Lock()
	st, tls := p.st.cred, p.st.tls
	p.st.mu.Unlock()
	if tls {
		return nil
	}
	if cr := protocol.DecodeCredential(p.proto, []byte(line+"\r\n"), &st); cr != nil && cr.Password != "" {
		return cr
	}
	return nil
}

// TLS says whether the session is TLS now and whether its certificate
// verified.
func (p *Prompt) TLS() (active, verified bool) {
	p.st.mu.Lock()
	defer p.st.mu.Unlock()
	return p.st.tls, p.st.verified
}

// Ended says whether the session is over.
func (p *Prompt) Ended() bool {
	p.st.mu.Lock()
	defer p.st.mu.Unlock()
	return p.st.ended
}

// StreamLines runs an interactive session whose lines are read from r (a
// pipe), one per line, sent as read without their line end and with CRLF
// added; the end of r ends the input. An unfinished last line is sent as a
// line. Events come as from Stream.
func StreamLines(ctx context.Context, opts Options, r io.Reader, io InteractiveOptions) <-chan wire.Event {
	ctx, cancel := context.WithCancel(ctx)
	in := make(chan Input)
	limit := opts.MaxLineLength
	if limit <= 0 {
		limit = protocol.DefaultMaxLineLength
	}
	go readLines(ctx, r, limit, in)
	opts.Driver = InteractiveDriver{Input: in, Opts: io}
	if opts.SessionTimeout <= 0 {
		opts.SessionTimeout = DefaultInteractiveTimeout
	}
	ch := make(chan wire.Event, 64)
	go func() {
		defer close(ch)
		defer cancel() // stops readLines once it has a line to give
		_ = Run(ctx, opts, func(ev wire.Event) { ch <- ev })
	}()
	return ch
}

// readLines reads bounded lines from r into in, and closes in at the end.
func readLines(ctx context.Context, r io.Reader, limit int, in chan<- Input) {
	defer close(in)
	lr := protocol.NewLineReader(r, limit)
	give := func(x Input) bool {
		select {
		case in <- x:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		line, err := lr.ReadLine()
		switch {
		case err == nil:
			if !give(Input{Line: strings.TrimSuffix(strings.TrimSuffix(string(line), "\n"), "\r")}) {
				return
			}
			continue
		case errors.Is(err, io.ErrUnexpectedEOF):
			// The last line had no line end (printf without \n).
			if rest := strings.TrimSuffix(string(lr.Take()), "\r"); rest != "" {
				give(Input{Line: rest})
			}
		case errors.Is(err, io.EOF):
		case errors.Is(err, protocol.ErrLineTooLong):
			give(Input{Err: fmt.Errorf("a line of the input is longer than %d bytes", limit-2)})
		default:
			give(Input{Err: fmt.Errorf("read the input: %w", err)})
		}
		return
	}
}
