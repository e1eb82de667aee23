package sessions

// Writing a driver
//
// A protocol driver (SMTP here; POP3, IMAP and HTTPS alongside) implements
// Driver and registers itself with RegisterDriver from an init function. The
// runner (Run) dials, wraps the TCP connection in a wire.Tap, starts TLS first
// on implicit-TLS sessions, and hands the driver a *Conversation. The driver
// never touches the socket; it talks through the Conversation, which emits
// the events:
//
//   - Send(raw, line, ann) emits a KindLine event for a client line and
//     writes it. Before TLS the event is LayerCleartext/VisibleAnyone and its
//     Raw is exactly the bytes on the wire; after TLS it is LayerDecrypted/
//     VisibleEndpoints, and the TLS records that carried it follow from the
//     dissector. Credentials in the line are decoded (DecodeCredential) and
//     attached.
//   - ReadLine / Reader() read bounded lines (MaxLineLength) with the
//     per-read deadline applied; Received(raw, line, ann) emits what was read.
//   - StartTLS(injectionAnn) is called right after the server's positive
//     STARTTLS/STLS reply. It discards (and reports) any bytes the server
//     sent beyond that reply, emits KindBoundary, switches the tap to the
//     dissector, handshakes with tls.Client on the raw tapped connection, and
//     emits KindTLSState. Everything read before is to be forgotten by the
//     driver (RFC 3207 §4.2, RFC 2595 §4, RFC 9051 §6.2.1).
//   - Note adds an explanation; Fail emits KindError with an Explain key and
//     returns a *SessionError, which the driver returns as is.
//
// Why not go-smtp's client: it reads through a textproto.Reader whose
// buffer the caller cannot inspect, so it cannot report the bytes a server
// injected after "220 Ready to start TLS", it reports whole replies only as
// parsed values (not the bytes as read, split per reply), and its line reads
// are not bounded. The SMTP driver here is small and keeps every byte.

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mailwire/mailwire/sessions/certs"
	"github.com/mailwire/mailwire/sessions/dissect"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/tlsmsg"
	"github.com/mailwire/mailwire/sessions/wire"
)

// Driver plays one protocol over a Conversation. Play returns nil when the
// session ended as the protocol intends (QUIT answered), or the error that
// ended it, normally a *SessionError from Conversation.Fail.
type Driver interface {
	Play(c *Conversation) error
}

// playPolitely runs a mail client's dialogue and, when it failed while the
// connection could still end as the protocol intends (canEnd: the greeting
// was read, no TLS handshake is under way, the stream is not out of step or
// gone), says goodbye with
// leave (QUIT, LOGOUT). The error of play is the one that counts; one from
// leave is dropped, as the session already failed.
//
// The three mail drivers (smtp.go, pop3.go, imap.go) share their steps,
// not their dialogue: playPolitely, stopAfter with tlsReached and
// authReached, noStartTLS, goOnInCleartext, upgradeAndAskAgain and
// withholdCredentials are here. Their play methods look alike (greeting,
// capabilities, STARTTLS, login, the mail, goodbye, with a stop point
// between) and stay three on purpose: IMAP's PREAUTH skips STARTTLS and
// login, SMTP's role decides AUTH and its recipient MAIL, RCPT and DATA,
// POP3's capabilities are optional; one skeleton taking a callback per
// step would hide the order of each protocol, which is what a reader of a
// driver comes for.
func playPolitely(play func() error, canEnd *bool, leave func() error) error {
	err := play()
	if err != nil && *canEnd {
		_ = leave()
	}
	return err
}

// DriverFunc adapts a function to Driver.
type DriverFunc func(c *Conversation) error

// Play calls f(c).
func (f DriverFunc) Play(c *Conversation) error { return f(c) }

var (
	driversMu sync.RWMutex
	drivers   = map[string]Driver{}
)

// RegisterDriver makes d the driver for proto. Drivers in this package call
// it from init; a second registration for a proto replaces the first.
func RegisterDriver(proto string, d Driver) {
	driversMu.Lock()
	defer driversMu.Unlock()
	drivers[proto] = d
}

func driverFor(proto string) (Driver, bool) {
	driversMu.RLock()
	defer driversMu.RUnlock()
	d, ok := drivers[proto]
	return d, ok
}

// SessionError is an error already reported as a KindError event.
type SessionError struct {
	Op      string
	Explain string
	Err     error
}

func (e *SessionError) Error() string { return withOp(e.Op, e.Err.Error()) }

// withOp prefixes msg with the operation that failed, unless msg already
// starts with it: a reply error names its command itself (SMTPReplyError,
// POP3's), and "read greeting: read greeting: server replied 421" said it
// twice.
func withOp(op, msg string) string {
	if op == "" || len(msg) > len(op) && strings.EqualFold(msg[:len(op)], op) && strings.HasPrefix(msg[len(op):], ": ") {
		return msg // "auth: AUTH: server replied 535" too
	}
	return op + ": " + msg
}
func (e *SessionError) Unwrap() error { return e.Err }

// Conversation is a driver's handle on one connection. Its methods are
// meant for the driver's goroutine; events may also come from the tap on
// the same goroutine, and emission is serialised.
type Conversation struct {
	opts  Options
	ctx   context.Context
	start time.Time
	tap   *wire.Tap
	conn  net.Conn // the tap, or the tls.Conn on top of it
	tlsc  *tls.Conn
	lr    *protocol.LineReader
	roots *x509.CertPool

	emitMu sync.Mutex
	out    *emitter // numbers, bounds and coalesces the events (emit.go)

	diss      *dissect.Dissector
	busy      atomic.Bool // the server's first bytes, where TLS was expected, said "not now" (feed)
	headMu    sync.Mutex
	head      []byte // the server's first bytes before TLS (keepHead)
	cred      protocol.CredentialState
	chain     *certs.Chain   // the server's chain, checked in VerifyConnection
	verifyErr error          // crypto/x509's verdict on it
	refused   *wire.TLSState // set when the client refused the chain: what the handshake had settled
	failed    *SessionError
	quit      bool              // the driver ended the session politely
	upgraded  bool              // TLS began in band, after STARTTLS/STLS
	captured  *wire.CaptureConn // the connection in Options.Capture, if any
}

// Options returns the session's options with defaults filled in.
func (c *Conversation) Options() Options { return c.opts }

// Context is cancelled when the session must stop.
func (c *Conversation) Context() context.Context { return c.ctx }

// TLSActive says whether the connection is now TLS.
func (c *Conversation) TLSActive() bool { return c.tlsc != nil }

// ConnectionState returns the TLS state once TLS is active.
func (c *Conversation) ConnectionState() (tls.ConnectionState, bool) {
	if c.tlsc == nil {
		return tls.ConnectionState{}, false
	}
	return c.tlsc.ConnectionState(), true
}

// Reader returns the bounded line reader of the current layer (cleartext,
// then TLS). Drivers must not keep it across StartTLS.
func (c *Conversation) Reader() *protocol.LineReader { return c.lr }

// Ended records that the protocol ended as intended (QUIT/LOGOUT answered);
// the close event then says the client closed.
func (c *Conversation) Ended() { c.quit = true }

// Emit stamps ev's time and passes it to the session's emitter, which
// numbers it, keeps it within the budget and coalesces runs of records
// (emit.go). Drivers use it for events the helpers below do not cover.
func (c *Conversation) Emit(ev wire.Event) {
	c.emitMu.Lock()
	defer c.emitMu.Unlock()
	ev.At = time.Since(c.start)
	c.out.emit(ev)
}

func (c *Conversation) lineLayer() (wire.Layer, wire.Visibility) {
	return wire.LineLayer(c.tlsc != nil)
}

// Send emits a client line event for raw and writes raw. line.Proto is
// filled from the options when empty. ann is the event's annotation key.
func (c *Conversation) Send(raw []byte, line wire.Line, ann string, also ...string) error {
	if line.Proto == "" {
		line.Proto = c.opts.Proto
	}
	layer, vis := c.lineLayer()
	ev := wire.Event{
		Kind: wire.KindLine, Dir: wire.ClientToServer, Layer: layer, Visible: vis,
		Raw: bytes.Clone(raw), Text: wire.LineText(raw), Annotation: ann, Also: also, Line: &line,
	}
	if cr := protocol.DecodeCredential(line.Proto, raw, &c.cred); cr != nil {
		cr.OnWire = c.tlsc == nil
		ev.Credential = cr
	}
	c.Emit(ev)
	c.setDeadline(c.tap.SetWriteDeadline)
	if _, err := c.conn.Write(raw); err != nil {
		return fmt.Errorf("write %s: %w", strings.ToUpper(line.Command), err)
	}
	return nil
}

// SendCommand sends raw (one or more CRLF-ended lines, in one write) as the
// client's command verb, annotated as the protocol's command
// ("smtp.cmd.ehlo"); a failed write fails the session under "send VERB".
// The mail drivers and the scenarios' clients send their commands with it.
func (c *Conversation) SendCommand(verb, raw string) error {
	if err := c.Send([]byte(raw), wire.Line{Command: verb}, c.opts.Proto+".cmd."+strings.ToLower(verb)); err != nil {
		return c.Fail("send "+verb, err, "")
	}
	return nil
}

// ReadLine reads one bounded line from the current layer, without emitting.
func (c *Conversation) ReadLine() ([]byte, error) { return c.lr.ReadLine() }

// Received emits a server line event for raw (one line or a whole
// multi-line reply) as read.
func (c *Conversation) Received(raw []byte, line wire.Line, ann string, also ...string) {
	c.ReceivedPart(raw, int64(len(raw)), line, ann, also...)
}

// ReceivedPart is Received for a reply of which raw is the kept part
// (the budget's Literal, say): total bytes crossed the wire.
func (c *Conversation) ReceivedPart(raw []byte, total int64, line wire.Line, ann string, also ...string) {
	if line.Proto == "" {
		line.Proto = c.opts.Proto
	}
	c.cred.ServerLine(line.Proto, raw)
	layer, vis := c.lineLayer()
	ev := wire.Event{
		Kind: wire.KindLine, Dir: wire.ServerToClient, Layer: layer, Visible: vis,
		Raw: bytes.Clone(raw), Text: wire.LineText(raw), Annotation: protocol.KeyInTLS(ann, c.TLSActive()), Also: also, Line: &line,
	}
	if total > int64(len(raw)) {
		ev.RawLen = total
	}
	c.Emit(ev)
}

// Note emits an explanation. raw may carry bytes the note is about.
func (c *Conversation) Note(text, ann string, raw []byte) {
	c.Emit(wire.Event{Kind: wire.KindNote, Dir: wire.Local, Layer: wire.LayerNote, Visible: wire.VisibleNone,
		Text: text, Annotation: ann, Raw: bytes.Clone(raw)})
}

// Fail reports err as a KindError event and returns it as a *SessionError.
// explain "" means: work out the key from err (Explain). An error that is
// already a *SessionError is returned unchanged and not reported twice.
func (c *Conversation) Fail(op string, err error, explain string) error {
	return c.fail(op, err, explain, nil)
}

// fail is Fail with, for a handshake that stopped on the certificate, the
// TLS state to attach to the error event (TLSState's doc says what it holds).
func (c *Conversation) fail(op string, err error, explain string, st *wire.TLSState) error {
	var se *SessionError
	if errors.As(err, &se) {
		return se
	}
	if tlsErr, ok := c.tlsInsteadOfGreeting(err); ok {
		err, explain = tlsErr, ExplainTLSOnCleartext
	}
	if explain == "" {
		explain = c.explain(op, err)
	}
	se = &SessionError{Op: op, Explain: explain, Err: err}
	if c.failed == nil {
		c.failed = se
	}
	msg := err.Error()
	if c.sessionExpired() && errors.Is(err, net.ErrClosed) {
		// The session deadline closed the connection under a pending
		// read: "use of closed network connection" would only confuse.
		msg = fmt.Sprintf("no complete answer in time (session time limit of %v reached)", c.opts.SessionTimeout)
	} else if c.sessionExpired() {
		msg = fmt.Sprintf("%s (session time limit of %v reached)", msg, c.opts.SessionTimeout)
	} else if cerr := c.ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		msg = fmt.Sprintf("%s (session stopped: %v)", msg, context.Cause(c.ctx))
	}
	c.Emit(wire.Event{Kind: wire.KindError, Dir: wire.Local, Layer: wire.LayerNote, Visible: wire.VisibleNone,
		Text: withOp(op, msg), Annotation: explain, TLS: st,
		Err: &wire.ErrorInfo{Op: op, Message: msg, Explain: explain}})
	return se
}

// Explain keys for failures; the prose is in package content.
const (
	ExplainRefused            = "net.refused"
	ExplainTimeout            = "net.timeout"
	ExplainClosedEarly        = "net.closed_early"
	ExplainDNS                = "net.dns"
	ExplainNet                = "net.error"
	ExplainCancelled          = "session.cancelled"
	ExplainLineTooLong        = "proto.line_too_long"
	ExplainReplyTooLong       = "proto.reply_too_long"
	ExplainMalformed          = "proto.malformed"
	ExplainCleartextOnImplict = "mismatch.cleartext_on_implicit"
	// ExplainBusyBeforeTLS: where TLS was expected the server said "not
	// now" in cleartext (protocol.Busy), as Exim does on 465 past its
	// connection limit: not a port mix-up.
	ExplainBusyBeforeTLS  = "mismatch.busy_before_tls"
	ExplainNotTLS         = "mismatch.not_tls"
	ExplainSilentGreeting = "mismatch.silent_greeting"
	ExplainNoStartTLS     = "mismatch.no_starttls"
	ExplainTLSAlert       = "tls.alert.received"
	ExplainRecordTooLong  = dissect.KeyRecordTooLong
	// ExplainDeprecatedVersion: TLS 1.0 or 1.1 was negotiated (RFC 8996).
	ExplainDeprecatedVersion = "tls.version.deprecated"
	// ExplainTLSOnCleartext: TLS records where the cleartext greeting of
	// a STARTTLS port belongs (tlsInsteadOfGreeting).
	ExplainTLSOnCleartext = "mismatch.tls_on_cleartext"
	ExplainHandshake      = "tls.handshake.failed"
	ExplainOptions        = "session.options"
)

// explain maps an error to an Explain key.
func (c *Conversation) explain(op string, err error) string {
	if errors.Is(c.ctx.Err(), context.Canceled) {
		return ExplainCancelled
	}
	expired := c.sessionExpired()
	key := Explain(err)
	if key == ExplainCleartextOnImplict && c.busy.Load() {
		return ExplainBusyBeforeTLS
	}
	if key == ExplainCleartextOnImplict && c.upgraded {
		// Not a port mix-up: the server accepted STARTTLS and then sent
		// something other than a ServerHello (RFC 3207 §4).
		key = ExplainNotTLS
	}
	silent := c.tap != nil && c.tap.BytesRead() == 0
	if (expired || key == ExplainTimeout) && silent && op == "read greeting" && c.opts.TLSMode != TLSImplicit {
		// A server that waits silently is most often an implicit-TLS port
		// waiting for our ClientHello (RFC 8314 §3), whichever of the
		// read and session time limits ran out first.
		return ExplainSilentGreeting
	}
	if expired {
		return ExplainTimeout
	}
	return key
}

// sessionExpired says whether the whole-session deadline has passed. The
// per-read deadline is clipped to it, so a read can time out a moment before
// the context itself notices.
func (c *Conversation) sessionExpired() bool {
	if errors.Is(c.ctx.Err(), context.DeadlineExceeded) {
		return true
	}
	dl, ok := c.ctx.Deadline()
	return ok && !time.Now().Before(dl)
}

// tlsRecordHead says whether b starts as a TLS record does: a content
// type of 20 to 24 and major version 3 (RFC 8446 §5.1), which no
// cleartext greeting ("220 ", "+OK", "* OK") does.
func tlsRecordHead(b []byte) bool {
	return len(b) >= 3 && b[0] >= 20 && b[0] <= 24 && b[1] == 3 && b[2] <= 4
}

// headMax is how many of the server's first bytes a session keeps, to
// tell a TLS record from a greeting.
const headMax = 16

// keepHead records the server's first bytes on a cleartext connection
// (the tap's receiver until TLS starts).
func (c *Conversation) keepHead(dir wire.Direction, _ time.Duration, b []byte) {
	if dir != wire.ServerToClient {
		return
	}
	c.headMu.Lock()
	defer c.headMu.Unlock()
	if room := headMax - len(c.head); room > 0 {
		c.head = append(c.head, b[:min(room, len(b))]...)
	}
}

// tlsInsteadOfGreeting explains the first failure of a session whose
// server sent TLS records where a STARTTLS port's cleartext greeting
// belongs: the port speaks TLS from the first byte (RFC 8314 §3). The
// records that arrived whole are shown first, decoded by the dissector
// (an alert says why the server gave up).
func (c *Conversation) tlsInsteadOfGreeting(err error) (error, bool) {
	if c.failed != nil || c.tlsc != nil || c.upgraded || c.opts.TLSMode == TLSImplicit {
		return err, false
	}
	c.headMu.Lock()
	head := bytes.Clone(c.head)
	c.headMu.Unlock()
	if !tlsRecordHead(head) {
		return err, false
	}
	what := "a TLS record header"
	for _, ev := range dissect.New().Feed(wire.ServerToClient, head) {
		if ev.Kind == wire.KindError {
			break
		}
		if ev.Record != nil && ev.Record.Alert != nil && what == "a TLS record header" {
			what = "a TLS alert record (" + ev.Record.Alert.String() + ")"
		}
		c.Emit(ev)
	}
	return fmt.Errorf("the server sent %s where the cleartext greeting belongs: this port speaks TLS from the first byte, so try implicit TLS (RFC 8314 §3): %w", what, err), true
}

// Explain maps an error to the Explain key of its likely cause. A
// certificate verification error is classified by package certs (its
// Kind.Key, "tls.verify.…"); a session that has the chain at hand uses the
// chain's own Key, which looks past crypto/x509's first complaint.
func Explain(err error) string {
	if k := certs.ErrorKind(err); k != "" {
		return k.Key()
	}
	var (
		recErr   tls.RecordHeaderError
		alertErr tls.AlertError
		opErr    *net.OpError
		dnsErr   *net.DNSError
		netErr   net.Error
	)
	switch {
	case errors.As(err, &recErr) && tlsRecordHead(recErr.RecordHeader[:]):
		// crypto/tls: "oversized record received with length 65535": a
		// TLS record header, with a length over what TLS allows (RFC
		// 8446 §5.1), not cleartext.
		return ExplainRecordTooLong
	case errors.As(err, &recErr):
		// crypto/tls: "first record does not look like a TLS handshake":
		// the peer answered our ClientHello in cleartext.
		return ExplainCleartextOnImplict
	case errors.As(err, &alertErr):
		return ExplainTLSAlert
	case errors.As(err, &opErr) && opErr.Op == "remote error":
		// crypto/tls reports an alert from the peer as a *net.OpError with
		// Op "remote error" (conn.go); tls.AlertError is only what it
		// sends over QUIC. E.g. protocol_version from a TLS 1.0-only server.
		return ExplainTLSAlert
	case errors.Is(err, protocol.ErrLineTooLong):
		return ExplainLineTooLong
	case errors.Is(err, protocol.ErrTooManyLines):
		return ExplainReplyTooLong
	case errors.Is(err, protocol.ErrMalformedReply):
		return ExplainMalformed
	case errors.Is(err, syscall.ECONNREFUSED):
		return ExplainRefused
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return ExplainTimeout
	case errors.As(err, &netErr) && netErr.Timeout():
		return ExplainTimeout
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, net.ErrClosed):
		return ExplainClosedEarly
	case errors.As(err, &dnsErr):
		return ExplainDNS
	case strings.Contains(err.Error(), "tls: "):
		if strings.Contains(err.Error(), "wrong version number") || strings.Contains(err.Error(), "does not look like a TLS") {
			return ExplainCleartextOnImplict
		}
		return ExplainHandshake
	case errors.As(err, &netErr):
		return ExplainNet
	}
	return ""
}

// setDeadline sets a per-operation deadline: ReadTimeout from now, but no
// later than the session's own deadline.
func (c *Conversation) setDeadline(set func(time.Time) error) {
	d := time.Now().Add(c.opts.ReadTimeout)
	if cd, ok := c.ctx.Deadline(); ok && cd.Before(d) {
		d = cd
	}
	if c.ctx.Err() != nil {
		d = time.Now() // stop now; the runner also closes the conn
	}
	_ = set(d) // a closed conn fails the next read or write, which reports it
}

func (c *Conversation) newLineReader(r io.Reader) *protocol.LineReader {
	lr := protocol.NewLineReader(r, c.opts.MaxLineLength)
	lr.SetBefore(func() { c.setDeadline(c.tap.SetReadDeadline) })
	return lr
}

// StartTLSBoundaryText names the command and the rule of the protocol at
// hand: SMTP's STARTTLS (RFC 3207 §4), POP3's STLS (RFC 2595 §4), IMAP's
// STARTTLS (RFC 9051 §6.2.1).
func StartTLSBoundaryText(proto string) string {
	rule := "RFC 3207 §4"
	switch proto {
	case protocol.POP3:
		rule = "RFC 2595 §4"
	case protocol.IMAP:
		rule = "RFC 9051 §6.2.1"
	}
	return protocol.StartTLSVerb(proto) + " accepted: from the next byte on, the connection is TLS (" + rule + ")"
}

// StartTLS turns the connection into TLS after the server accepted
// STARTTLS/STLS. injectionAnn is the annotation for the note reporting bytes
// the server sent after its reply (e.g. "smtp.note.response_injection_discarded").
func (c *Conversation) StartTLS(injectionAnn string) error {
	if extra := c.lr.Buffered(); len(extra) > 0 {
		// RFC 3207 §4.2, RFC 2595 §4, RFC 9051 §6.2.1; the STARTTLS
		// injection class of CVE-2011-0411 seen from the client side (the
		// "NO STARTTLS" study, USENIX Security 2021): whatever arrived after
		// the "go ahead" reply but before TLS is unauthenticated; a client that
		// read it as the first reply inside TLS would be fooled by anyone
		// on the path. It is dropped with the cleartext reader.
		c.Emit(wire.Event{Kind: wire.KindNote, Dir: wire.ServerToClient, Layer: wire.LayerCleartext, Visible: wire.VisibleAnyone,
			Raw: extra, Annotation: injectionAnn,
			Text: fmt.Sprintf("discarded %d bytes the server sent after accepting %s, before TLS began: %s",
				len(extra), protocol.StartTLSVerb(c.opts.Proto), wire.Truncate(wire.LineText(extra), 60))})
	}
	c.lr = nil
	c.upgraded = true
	c.Emit(wire.Event{Kind: wire.KindBoundary, Dir: wire.Local, Layer: wire.LayerTLS, Visible: wire.VisibleMetadata,
		Annotation: "tls.boundary.starttls",
		Text:       StartTLSBoundaryText(c.opts.Proto)})
	return c.handshake()
}

// upgradeAndAskAgain is what the SMTP, POP3 and IMAP drivers do alike once
// the server has accepted STARTTLS or STLS: start TLS, forget the
// capabilities learned in cleartext and ask for them again (RFC 3207 §4.2,
// RFC 2595 §4, RFC 9051 §6.2.1), then note how they changed. proto
// prefixes the annotation keys ("smtp" gives
// "smtp.note.response_injection_discarded" and
// "smtp.note.capabilities_changed"). caps is the driver's capability list,
// which ask fills again; canEnd is the driver's "may send QUIT/LOGOUT"
// flag, false while the handshake runs because the channel is then neither
// cleartext nor TLS. crossed and cite word the note: what the capabilities
// changed across, and the rule that made the client ask again.
func (c *Conversation) upgradeAndAskAgain(proto string, caps *[]string, canEnd *bool, ask func() error, crossed, cite string) error {
	before := *caps
	*canEnd = false
	if err := c.StartTLS(proto + ".note.response_injection_discarded"); err != nil {
		return err
	}
	*canEnd = true
	*caps = nil
	if err := ask(); err != nil {
		return err
	}
	c.Note(capabilityDiff(before, *caps, crossed, cite), proto+".note.capabilities_changed", nil)
	return nil
}

// capabilityDiff describes how a capability list changed across crossed
// (STARTTLS, TLS); cite names the rule that made the client ask again.
func capabilityDiff(before, after []string, crossed, cite string) string {
	added, removed := protocol.CapabilityDiff(before, after)
	if len(added) == 0 && len(removed) == 0 {
		return "capabilities are the same before and after TLS (" + cite + " made the client ask again)"
	}
	var parts []string
	if len(added) > 0 {
		parts = append(parts, "added after TLS: "+quoteCaps(added))
	}
	if len(removed) > 0 {
		parts = append(parts, "gone after TLS: "+quoteCaps(removed))
	}
	return "capabilities changed across " + crossed + " (" + cite + "): " + strings.Join(parts, "; ")
}

// Bounds of a capability list quoted in a note: the server's words, as
// sent (the printers escape them), but not a megabyte of them.
const (
	quoteCapsMax   = 16 // capabilities listed
	quoteCapsWidth = 64 // bytes of each
)

// quoteCaps lists capabilities as the server sent them, each cut to
// quoteCapsWidth bytes and the list to quoteCapsMax.
func quoteCaps(caps []string) string {
	var b strings.Builder
	for i, c := range caps {
		if i == quoteCapsMax {
			fmt.Fprintf(&b, ", and %d more", len(caps)-i)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(wire.Truncate(c, quoteCapsWidth))
	}
	return b.String()
}

// ExplainOpportunisticCleartext is the note of an opportunistic client
// that goes on without TLS.
const ExplainOpportunisticCleartext = "scenario.opportunistic-cleartext"

// goOnInCleartext is what an opportunistic client does when STARTTLS is not
// offered or is refused: note it and carry on without TLS (RFC 7435 §1;
// RFC 3207 §4 for MTAs). It returns nil so the driver goes on.
func (c *Conversation) goOnInCleartext(why string) error {
	// Name what is at stake on this connection: a relay on port 25 sends
	// no password, but the message.
	what := "everything from here"
	switch {
	case c.opts.Username != "":
		what += ", the password included,"
	case c.opts.Role == RoleTransfer || c.opts.Role == RoleSubmission:
		what += ", the message included,"
	}
	c.Note("opportunistic: "+why+", so the session goes on in cleartext: "+what+" is readable by anyone on the path",
		ExplainOpportunisticCleartext, nil)
	return nil
}

// noStartTLS is what a client does when the server does not offer the
// upgrade (STARTTLS, STLS): an opportunistic client goes on in cleartext,
// why saying what was missing; one that requires TLS fails with required
// under op (ExplainNoStartTLS) rather than send anything more in
// cleartext. The three mail drivers call it.
func (c *Conversation) noStartTLS(op, why string, required error) error {
	if c.opts.TLSMode == TLSOpportunistic {
		return c.goOnInCleartext(why)
	}
	return c.Fail(op, required, ExplainNoStartTLS)
}

// ExplainStoppedOnRequest is the note of a session that ended on purpose
// after a stage (Options.StopAfter).
const ExplainStoppedOnRequest = "session.note.stopped_on_request"

// stopAfter says whether the session ends after stage, as Options.StopAfter
// asks, and notes it. The driver then says goodbye (QUIT, LOGOUT) as at the
// end of any session: stopping on request is a clean end, not a failure.
// reached says what the session got to, for the note.
func (c *Conversation) stopAfter(stage Stage, reached string) bool {
	if c.opts.StopAfter == StageAll || c.opts.StopAfter != stage {
		return false
	}
	c.Note("stopping after the "+string(stage)+" stage, as asked: "+reached, ExplainStoppedOnRequest, nil)
	return true
}

// tlsReached words what the tls stage got to, for stopAfter: ask is the
// command that lists the capabilities (EHLO, CAPA, CAPABILITY).
func (c *Conversation) tlsReached(ask string) string {
	switch {
	case c.TLSActive() && c.upgraded:
		return "TLS is up, and the client asked " + ask + " again inside it"
	case c.TLSActive():
		return "TLS is up from the first byte, and the client asked " + ask + " inside it"
	}
	return "this session did not start TLS, so it ends where TLS would have begun"
}

// authReached words what the auth stage got to, for stopAfter.
func authReached(loggedIn bool) string {
	if loggedIn {
		return "the server accepted the login"
	}
	return "no login was made (the note above says why)"
}

// withholdCredentials applies the rules every driver follows before it
// logs in, and says whether it must not: no user name was given (or one
// without a password: UserWithoutPassword), or the connection is still
// cleartext and the user did not allow a password there (RFC 8314 §5.2;
// cite adds the protocol's own rule). Either way it leaves a note under
// proto's annotation keys; noCreds says what going on without
// credentials means.
func (c *Conversation) withholdCredentials(proto, noCreds, cite string) bool {
	switch {
	case c.opts.Username == "" && c.opts.UserWithoutPassword != "":
		c.Note("user "+wire.SafeString(c.opts.UserWithoutPassword)+" given without a password: "+noCreds,
			proto+".note.no_credentials", nil)
		return true
	case c.opts.Username == "":
		c.Note("no credentials given: "+noCreds, proto+".note.no_credentials", nil)
		return true
	case !c.TLSActive() && !c.opts.AllowCleartextAuth:
		c.Note("not sending the password on a cleartext connection (RFC 8314 §5.2, "+cite+")",
			proto+".note.auth_refused_cleartext", nil)
		return true
	}
	return false
}

// handshake runs the TLS handshake on the tapped raw connection.
func (c *Conversation) handshake() error {
	c.diss = dissect.New()
	c.diss.AfterSTARTTLS = c.upgraded
	// mailwire is the client, so crypto/tls can give the dissector this
	// connection's TLS 1.3 handshake traffic secrets, and the dissector
	// shows the encrypted EncryptedExtensions … Finished as they travelled
	// (dissect/keylog.go). The KeyLog keeps only those two secrets, in memory,
	// for this session; it drops the application traffic secrets unread.
	keys := dissect.NewKeyLog()
	c.diss.UseKeyLog(keys)
	c.tap.SetTap(c.feed)
	cfg := &tls.Config{
		ServerName:   c.opts.ServerName,
		MinVersion:   c.opts.MinTLS,
		MaxVersion:   c.opts.MaxTLS,
		CipherSuites: c.opts.CipherSuites,
		NextProtos:   c.opts.ALPN,
		KeyLogWriter: c.keyLogWriter(keys),
		// Verification runs in VerifyConnection so that its result is known
		// (and shown) even when the user turned enforcement off. Package
		// certs checks the chain as crypto/tls would (the roots, the name,
		// server authentication) and also says what exactly is wrong.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			c.chain, c.verifyErr = certs.Analyze(cs.PeerCertificates, certs.Check{Name: c.opts.ServerName, Roots: c.roots})
			if c.verifyErr != nil && c.opts.Verify != wire.VerifyOff && c.opts.TLSMode != TLSOpportunistic {
				c.refused = c.tlsState(cs)
				return c.verifyErr
			}
			return nil
		},
	}
	// tls.Client goes on the tap (the raw connection), never on a reader
	// that may hold buffered bytes.
	tc := tls.Client(c.tap, cfg)
	c.setDeadline(c.tap.SetDeadline)
	if err := tc.HandshakeContext(c.ctx); err != nil {
		err = fmt.Errorf("with %s (%s): %w", c.opts.Target, tlsmsg.SNIQuoted(c.opts.ServerName), err)
		if c.refused != nil {
			// The client refused the certificate: the error says which
			// problem stopped it (not only crypto/x509's first
			// complaint) and carries the chain that failed.
			return c.fail("verify certificate", err, c.chain.Key(), c.refused)
		}
		return c.Fail("tls handshake", err, "")
	}
	c.tlsc, c.conn = tc, tc
	c.lr = c.newLineReader(tc)
	c.emitTLSState(tc.ConnectionState())
	return nil
}

// keyLogWriter is where crypto/tls writes the connection's secrets: the
// dissector's KeyLog, and Options.KeyLog when the user asked for a key log
// file (whose write errors are dropped, as one from a KeyLogWriter would
// abort the handshake).
func (c *Conversation) keyLogWriter(keys *dissect.KeyLog) io.Writer {
	if c.opts.KeyLog == nil {
		return keys
	}
	return io.MultiWriter(keys, quietWriter{c.opts.KeyLog})
}

// quietWriter reports every write as done: a key log file that cannot be
// written must not stop the session it records.
type quietWriter struct{ w io.Writer }

func (q quietWriter) Write(p []byte) (int, error) {
	_, _ = q.w.Write(p)
	return len(p), nil
}

// tlsState is what the handshake settled, as far as cs shows it, with
// the chain VerifyConnection checked.
func (c *Conversation) tlsState(cs tls.ConnectionState) *wire.TLSState {
	st := &wire.TLSState{
		Version:      tls.VersionName(cs.Version),
		CipherSuite:  tls.CipherSuiteName(cs.CipherSuite),
		ALPN:         cs.NegotiatedProtocol,
		ServerName:   c.opts.ServerName,
		Verified:     c.verifyErr == nil,
		VerifyMethod: string(c.opts.Verify),
		Chain:        c.chain,
		PeerChain:    c.chain.Subjects(),
	}
	if c.verifyErr != nil {
		st.VerifyError = c.verifyErr.Error()
	}
	return st
}

// chainProblems are the problems of the checked chain, if any.
func (c *Conversation) chainProblems() []certs.Problem {
	if c.chain == nil {
		return nil
	}
	return c.chain.Problems
}

// failedCheck words the chain's first fatal problem, for the notes of a
// session that goes on despite it.
func (c *Conversation) failedCheck() string {
	p, _ := c.chain.First()
	return c.chain.Describe(p)
}

func (c *Conversation) emitTLSState(cs tls.ConnectionState) {
	st := c.tlsState(cs)
	verdict := "certificate verified (" + st.VerifyMethod + ")"
	if !st.Verified {
		verdict = "certificate NOT verified (" + st.VerifyMethod + "): " + c.failedCheck()
	}
	c.Emit(wire.Event{Kind: wire.KindTLSState, Dir: wire.Local, Layer: wire.LayerTLS, Visible: wire.VisibleEndpoints,
		Annotation: "tls.state", TLS: st,
		Text: fmt.Sprintf("%s, %s, %s", st.Version, st.CipherSuite, verdict)})
	if cs.Version == tls.VersionTLS10 || cs.Version == tls.VersionTLS11 {
		// RFC 8996: TLS 1.0 and 1.1 must not be negotiated; for mail
		// submission and access RFC 8997 §3 makes TLS 1.2 the minimum.
		c.Note(fmt.Sprintf("%s negotiated: deprecated since 2021, it must not be used (RFC 8996), and for mail submission and mailbox access TLS 1.2 is the minimum (RFC 8997 §3); the client offered it only because its lowest version was lowered (--tls-min)",
			tls.VersionName(cs.Version)), ExplainDeprecatedVersion, nil)
	}
	// What does not fail a chain but weakens it gets a note of its own:
	// an RSA key under 2048 bits (RFC 9325 §4.5), or a certificate the
	// server sends that the verified path does not use but that is
	// expired or signed with SHA-1.
	for _, p := range c.chainProblems() {
		if !p.Fatal {
			c.Note(c.chain.Describe(p), p.Annotation, nil)
		}
	}
	if c.opts.TLSMode == TLSOpportunistic && c.opts.Verify != wire.VerifyOff {
		// RFC 7435 §1: opportunistic security encrypts without insisting
		// on authentication; an MTA on port 25 delivers whatever the
		// certificate says unless MTA-STS (RFC 8461) or DANE (RFC 7672)
		// tells it to check.
		text := "opportunistic TLS: the certificate is checked and reported, but the session would go on even if it failed (RFC 7435)"
		if !st.Verified {
			text = "opportunistic TLS: the certificate failed verification and the session goes on anyway (RFC 7435): " + c.failedCheck()
		}
		c.Note(text, "tls.verify.opportunistic", nil)
	}
	if c.opts.Verify == wire.VerifyOff {
		text := "WARNING: certificate verification is OFF. Anyone on the path could have answered in the server's place and read everything sent inside this TLS session, the password included."
		if !st.Verified {
			text += " And the certificate did fail verification: " + c.failedCheck()
		}
		c.Note(text, "tls.verify.off", nil)
	}
}

// feed is the tap's receiver once TLS starts: the dissector's events join
// the stream in wire order.
func (c *Conversation) feed(dir wire.Direction, _ time.Duration, b []byte) {
	for _, ev := range c.diss.Feed(dir, b) {
		if ev.Kind == wire.KindError && ev.Dir == wire.ServerToClient && ev.Annotation == ExplainCleartextOnImplict &&
			protocol.Busy(ev.Raw) {
			// The dissector knows TLS, not the mail protocols: it takes
			// any reply where a record belongs for a port mix-up. A 421
			// (-ERR [SYS/TEMP], BYE [UNAVAILABLE]) is the server turning
			// connections away for now, on an implicit-TLS port too (Exim
			// past smtp_accept_max): RFC 5321 §3.8, RFC 3206 §4, RFC 9051
			// §7.1.
			c.busy.Store(true)
			ev.Annotation = ExplainBusyBeforeTLS
			if ev.Err != nil {
				e := *ev.Err
				e.Explain = ExplainBusyBeforeTLS
				ev.Err = &e
			}
			ev.Text = fmt.Sprintf("from the server, where TLS was expected: a cleartext \"not now\" (%s): the server is turning connections away for the moment, most often because it has too many open; it is not speaking plain text on this port (try again later)",
				wire.Quote(wire.LineText(ev.Raw), 48))
		}
		c.Emit(ev)
	}
}

// startImplicit begins an implicit-TLS session: TLS from the first byte.
func (c *Conversation) startImplicit() error {
	c.Emit(wire.Event{Kind: wire.KindBoundary, Dir: wire.Local, Layer: wire.LayerTLS, Visible: wire.VisibleMetadata,
		Annotation: "tls.boundary.implicit",
		Text:       "implicit TLS: the connection is TLS from its first byte (RFC 8314 §3)"})
	return c.handshake()
}
