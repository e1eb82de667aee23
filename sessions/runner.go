package sessions

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/mailwire/mailwire/sessions/wire"
)

// maxCAFile bounds a CA file read: a bundle of a few hundred roots is well
// under a megabyte.
const maxCAFile = 4 << 20

// LoadCAFile reads a PEM bundle of CA certificates, bounded in size: the
// pool of --ca-file, for sessions, scenarios and the load generator alike.
// Its errors name the file; the caller says what the file was for.
func LoadCAFile(path string) (*x509.CertPool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pem, err := io.ReadAll(io.LimitReader(f, maxCAFile+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(pem) > maxCAFile {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxCAFile)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no PEM certificate in it", path)
	}
	return pool, nil
}

// Run plays one session and reports it through emit, in order, with Seq
// (from 1) and At (since dialing began) filled in. emit is called from Run's
// goroutine only and must not block for long; the stream always ends with a
// KindClose event. Run returns nil when the protocol ran to its end, or the
// error that ended the session (already reported as a KindError event).
func Run(ctx context.Context, opts Options, emit func(wire.Event)) error {
	start := time.Now()
	c := &Conversation{ctx: ctx, start: start, out: newEmitter(emit, start, opts.Budget)}
	o, err := opts.withDefaults()
	c.opts = o
	if err == nil {
		c.roots, err = rootsFor(o)
	}
	if err != nil {
		se := c.Fail("options", err, ExplainOptions)
		c.emitClose("nothing dialed")
		return se
	}
	driver := o.Driver
	if driver == nil {
		d, ok := driverFor(o.Proto)
		if !ok {
			se := c.Fail("options", fmt.Errorf("no driver for protocol %q", o.Proto), ExplainOptions)
			c.emitClose("nothing dialed")
			return se
		}
		driver = d
	}

	ctx, cancel := context.WithTimeoutCause(ctx, o.SessionTimeout,
		fmt.Errorf("session time limit of %v reached", o.SessionTimeout))
	defer cancel()
	c.ctx = ctx

	raw, err := dial(ctx, o)
	if err != nil {
		se := c.Fail("dial", fmt.Errorf("connect to %s: %w", o.Target, err), "")
		c.emitClose("no connection")
		return se
	}
	c.Emit(wire.Event{Kind: wire.KindConnect, Dir: wire.Local, Layer: wire.LayerTCP, Visible: wire.VisibleMetadata,
		Annotation: "tcp.connect",
		Text: fmt.Sprintf("connected to %s (%s) in %s", raw.RemoteAddr(), o.Target,
			wire.FormatDuration(time.Since(start)))})
	// Stopping the session (deadline, cancel) must unblock any read or
	// handshake at once: closing the socket does that.
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	defer stop()

	c.tap = wire.NewTap(raw, start, nil)
	if o.Capture != nil {
		c.captured = o.Capture.Open("", raw.LocalAddr(), raw.RemoteAddr(), start, time.Since(start))
		c.tap.Record(c.captured)
	}
	if o.TLSMode != TLSImplicit {
		// The server's first bytes, to tell a TLS record from a greeting
		// (tlsInsteadOfGreeting); the dissector takes over at TLS.
		c.tap.SetTap(c.keepHead)
	}
	c.conn = c.tap
	c.lr = c.newLineReader(c.tap)

	var playErr error
	if o.TLSMode == TLSImplicit {
		playErr = c.startImplicit()
	}
	if playErr == nil {
		playErr = driver.Play(c)
	}
	if playErr != nil {
		playErr = c.Fail("session", playErr, "")
	}
	c.finish(raw)
	return playErr
}

// finish closes the connection: a TLS close_notify first when TLS is up and
// the session ended normally (RFC 8446 §6.1), so the observer sees it as an
// encrypted alert record; then what the dissector still holds; then the
// close event.
func (c *Conversation) finish(raw net.Conn) {
	if c.lr != nil {
		// Bytes the server sent that the driver never read (after an
		// error, or unsolicited at the end) still crossed the wire.
		if extra := c.lr.Buffered(); len(extra) > 0 {
			layer, vis := c.lineLayer()
			c.Emit(wire.Event{Kind: wire.KindNote, Dir: wire.ServerToClient, Layer: layer, Visible: vis, Raw: extra,
				Annotation: "session.note.unread_bytes",
				Text:       fmt.Sprintf("%d bytes from the server were never read: %s", len(extra), wire.Truncate(wire.LineText(extra), 60))})
		}
	}
	if c.tlsc != nil && c.connUsable() {
		c.setDeadline(c.tap.SetWriteDeadline)
		_ = c.tlsc.Close() // sends close_notify through the tap; closes raw
	}
	raw.Close()
	c.captured.Closed(time.Since(c.start))
	if c.diss != nil {
		for _, dir := range []wire.Direction{wire.ClientToServer, wire.ServerToClient} {
			for _, ev := range c.diss.Flush(dir) {
				c.Emit(ev)
			}
		}
	}
	who := "client closed the connection"
	switch {
	case c.failed != nil && c.failed.Explain == ExplainClosedEarly:
		who = "server closed the connection"
	case c.failed != nil:
		who = "client closed the connection after an error"
	case !c.quit:
		who = "client closed the connection without ending the protocol"
	}
	c.emitClose(fmt.Sprintf("%s; %d bytes sent, %d received", who, c.tap.BytesWritten(), c.tap.BytesRead()))
}

// connUsable says whether the connection can still carry a TLS alert: the
// session ended normally or on a refusal the protocol itself reported.
func (c *Conversation) connUsable() bool {
	if c.failed == nil {
		return true
	}
	// A refusal the server answered in protocol (an SMTP 5xx, a POP3 -ERR,
	// an IMAP NO) leaves the connection open, so it is closed politely
	// (TLS close_notify); a server that said goodbye (421, BYE) is gone.
	switch e := c.failed.Explain; {
	case e == ExplainNoStartTLS:
		return true
	case strings.HasPrefix(e, "smtp.reply."):
		return e != "smtp.reply.421"
	case strings.HasPrefix(e, "pop3.code."), e == "pop3.reply.err":
		return true
	case strings.HasPrefix(e, "imap.status."), strings.HasPrefix(e, "imap.code."):
		return e != "imap.status.bye"
	}
	return false
}

func (c *Conversation) emitClose(text string) {
	c.Emit(wire.Event{Kind: wire.KindClose, Dir: wire.Local, Layer: wire.LayerTCP, Visible: wire.VisibleMetadata,
		Annotation: "tcp.close", Text: text})
}

func dial(ctx context.Context, o Options) (net.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, o.DialTimeout)
	defer cancel()
	if o.Dial != nil {
		return o.Dial(dctx, "tcp", o.Target)
	}
	var d net.Dialer
	c, err := d.DialContext(dctx, "tcp", o.Target)
	if err != nil {
		return nil, err
	}
	return withQuickAck(c), nil
}

// rootsFor returns the pool that verifies the server: nil means the system
// roots.
func rootsFor(o Options) (*x509.CertPool, error) {
	switch o.Verify {
	case wire.VerifySystem, wire.VerifyOff:
		if o.RootCAs != nil {
			return o.RootCAs, nil // with VerifyOff: still report against it
		}
		return nil, nil
	case wire.VerifyPool:
		if o.RootCAs == nil {
			return nil, errors.New("verify with a CA pool, but no pool given")
		}
		return o.RootCAs, nil
	case wire.VerifyCAFile:
		pool, err := LoadCAFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("CA file: %w", err)
		}
		return pool, nil
	}
	return nil, fmt.Errorf("verify mode %q: want system roots, lab CA, CA file or off", o.Verify)
}

// Stream runs a session in a new goroutine and returns its events on a
// channel, closed after the KindClose event. The channel is buffered; the
// receiver must drain it (or cancel ctx and then drain it).
func Stream(ctx context.Context, opts Options) <-chan wire.Event {
	ch := make(chan wire.Event, 64)
	go func() {
		defer close(ch)
		_ = Run(ctx, opts, func(ev wire.Event) { ch <- ev })
	}()
	return ch
}

// Collect runs a session and returns all its events.
func Collect(ctx context.Context, opts Options) ([]wire.Event, error) {
	var evs []wire.Event
	err := Run(ctx, opts, func(ev wire.Event) { evs = append(evs, ev) })
	return evs, err
}
