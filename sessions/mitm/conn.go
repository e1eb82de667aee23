package mitm

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/certs"
	"github.com/mailwire/mailwire/sessions/dissect"
	"github.com/mailwire/mailwire/sessions/internal/words"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/tlsmsg"
	"github.com/mailwire/mailwire/sessions/wire"
)

// Relay bounds.
const (
	// maxLiteral bounds one IMAP literal or SMTP BDAT chunk the attacker
	// relays (RFC 9051 §4.3, RFC 3030 §2); it is held in memory whole.
	maxLiteral = 1 << 20
	// maxGroup bounds the bytes of lines that arrived together and are
	// reported as one event.
	maxGroup      = 64 << 10
	maxGroupLines = 200
	// maxResponse bounds a batch with its IMAP literals: one response may
	// chain literal after literal (RFC 9051 §4.3), and the engine's own
	// clients refuse a response over 4 MiB anyway.
	maxResponse = 4 << 20
	// maxReplyLines bounds a multi-line reply the attacker reads for
	// itself before the relay (an EHLO reply, a CAPA list).
	maxReplyLines = 200
	// leaveTimeout bounds the wait for the server's goodbye once the
	// client has left.
	leaveTimeout = 2 * time.Second
	// attackerEHLO is the name the attacker greets the server with (RFC
	// 2606 §2: .invalid never resolves).
	attackerEHLO = "attacker.invalid"
)

// pconn is one proxied connection: the client's, ending at the attacker,
// and the attacker's own to the server.
type pconn struct {
	p   *Proxy
	cfg Config
	id  int
	ctx context.Context

	client net.Conn             // as accepted
	cconn  net.Conn             // the client side the relay uses: client, or tls.Server over it
	cr     *protocol.LineReader // from the client

	closeMu sync.Mutex
	closed  bool
	up      net.Conn             // the raw connection to the server
	tap     *wire.Tap            // on up: counts bytes, feeds the dissector once TLS starts
	uconn   net.Conn             // tap, or tls.Client over it
	ur      *protocol.LineReader // from the server, at the current layer
	upTLS   bool                 // the attacker's leg is TLS (set before the relay starts)
	diss    *dissect.Dissector

	cwMu, uwMu sync.Mutex // writes to the client, to the server

	credMu sync.Mutex
	cred   protocol.CredentialState

	intercept  bool        // answer capability requests and STARTTLS itself (strip attacks)
	credSeen   atomic.Bool // the client sent a credential: capability requests go through now
	inData     atomic.Bool // SMTP: the client is sending a message body (after 354)
	quitSent   atomic.Bool // the client's QUIT/LOGOUT went to the server
	rawMode    atomic.Bool // the client sent TLS records: relay bytes, not lines
	serverGone atomic.Bool
	lastUpVerb atomic.Value // string: the verb of the last line sent to the server, for parsing its answer
	relaying   atomic.Bool  // reads from the server wait for as long as the client does
	leaveBy    atomic.Int64

	// Strip state, set up before the relay.
	clearCaps, tlsCaps []string
	ehloFirst          string // the text of an EHLO reply's first line
	tagN               int    // the attacker's own IMAP tags: x1, x2, …
}

// closeAll cuts both connections; safe from any goroutine, more than once.
func (c *pconn) closeAll() {
	c.closeMu.Lock()
	defer c.closeMu.Unlock()
	c.closed = true
	c.client.Close()
	if c.up != nil {
		c.up.Close()
	}
}

// clientDeadline: each read from the client waits at most Timeout.
func (c *pconn) clientDeadline() {
	_ = c.client.SetReadDeadline(c.deadline(c.cfg.Timeout))
}

// upDeadline: before the relay each read from the server waits at most
// Timeout; during it, as long as the connection lives (the client decides
// the pace, and its reads are bounded); after the client left, leaveTimeout.
func (c *pconn) upDeadline() {
	switch {
	case c.leaveBy.Load() != 0:
		_ = c.up.SetReadDeadline(time.Unix(0, c.leaveBy.Load()))
	case c.relaying.Load():
		_ = c.up.SetReadDeadline(c.deadline(0))
	default:
		_ = c.up.SetReadDeadline(c.deadline(c.cfg.Timeout))
	}
}

// deadline is now+d (d 0: no per-read limit), clipped to the connection's
// own time limit.
func (c *pconn) deadline(d time.Duration) time.Time {
	dl, ok := c.ctx.Deadline()
	if d > 0 {
		if t := time.Now().Add(d); !ok || t.Before(dl) {
			return t
		}
	}
	if !ok {
		return time.Time{}
	}
	return dl
}

// dialUpstream opens the attacker's own connection to the server.
func (c *pconn) dialUpstream() error {
	d := net.Dialer{Timeout: c.cfg.Timeout}
	raw, err := d.DialContext(c.ctx, "tcp", c.cfg.Upstream)
	if err != nil {
		err = fmt.Errorf("connect to %s: %w", c.cfg.Upstream, err)
		c.p.fail("dial the server", err, "")
		return err
	}
	c.closeMu.Lock()
	if c.closed {
		c.closeMu.Unlock()
		raw.Close()
		return fmt.Errorf("connect to %s: %w", c.cfg.Upstream, net.ErrClosed)
	}
	c.up = raw
	c.closeMu.Unlock()
	c.tap = wire.NewTap(raw, c.p.start, nil)
	c.uconn = c.tap
	c.ur = protocol.NewLineReader(c.tap, c.cfg.MaxLine)
	c.ur.SetBefore(c.upDeadline)
	c.p.emit(wire.Event{Kind: wire.KindConnect, Dir: wire.Local, Layer: wire.LayerTCP,
		Visible: wire.VisibleMetadata, Annotation: "tcp.connect",
		Text: fmt.Sprintf("attacker connected to the server %s on behalf of the client %s (connection %d)",
			raw.RemoteAddr(), c.client.RemoteAddr(), c.id)})
	return nil
}

// feed gives the dissector what crossed the attacker's TLS connection to
// the server; its events join the stream in wire order.
func (c *pconn) feed(dir wire.Direction, _ time.Duration, b []byte) {
	c.p.emitMu.Lock()
	defer c.p.emitMu.Unlock()
	for _, ev := range c.diss.Feed(dir, b) {
		c.p.emitLocked(ev)
	}
}

// startUpstreamTLS runs the attacker's TLS handshake with the server, after
// a STARTTLS (boundary "tls.boundary.starttls") or from the first byte.
func (c *pconn) startUpstreamTLS(boundaryAnn, boundaryText string) error {
	c.p.emit(wire.Event{Kind: wire.KindBoundary, Dir: wire.Local, Layer: wire.LayerTLS,
		Visible: wire.VisibleMetadata, Annotation: boundaryAnn, Text: boundaryText})
	c.diss = dissect.New()
	c.tap.SetTap(c.feed)
	tc := tls.Client(c.tap, &tls.Config{
		ServerName: c.cfg.ServerName,
		MinVersion: tls.VersionTLS12,
		// The attacker does not care who the server is: it only wants the
		// server to accept the session. Verification is the client's job,
		// and the client's only defence.
		InsecureSkipVerify: true,
	})
	_ = c.tap.SetDeadline(c.deadline(c.cfg.Timeout))
	err := tc.HandshakeContext(c.ctx)
	_ = c.tap.SetDeadline(time.Time{})
	if err != nil {
		err = fmt.Errorf("with %s (%s): %w", c.cfg.Upstream, tlsmsg.SNIQuoted(c.cfg.ServerName), err)
		c.p.fail("tls handshake with the server", err, "")
		return err
	}
	c.uconn = tc
	c.ur = protocol.NewLineReader(tc, c.cfg.MaxLine)
	c.ur.SetBefore(c.upDeadline)
	c.upTLS = true
	cs := tc.ConnectionState()
	st := &wire.TLSState{Version: tls.VersionName(cs.Version), CipherSuite: tls.CipherSuiteName(cs.CipherSuite),
		ALPN: cs.NegotiatedProtocol, ServerName: c.cfg.ServerName, VerifyMethod: string(wire.VerifyOff),
		VerifyError: "not checked: the attacker accepts any certificate"}
	// The attacker does not check, but the chain view still shows what
	// the server sent, and what a check against the system roots finds.
	st.Chain, _ = certs.Analyze(cs.PeerCertificates, certs.Check{Name: c.cfg.ServerName})
	st.PeerChain = st.Chain.Subjects()
	c.p.emit(wire.Event{Kind: wire.KindTLSState, Dir: wire.Local, Layer: wire.LayerTLS,
		Visible: wire.VisibleEndpoints, Annotation: "tls.state", TLS: st,
		Text: fmt.Sprintf("%s, %s, between the attacker and the server", st.Version, st.CipherSuite)})
	c.p.note("the attacker's own TLS connection to the server is up; it did not check the server's certificate "+
		"(it has no reason to). To the server this is an ordinary encrypted session: nothing on this leg betrays the attack",
		"attack.upstream.tls", nil)
	return nil
}

// layer is the layer and visibility of lines on the attacker's leg.
func (c *pconn) layer() (wire.Layer, wire.Visibility) {
	return wire.LineLayer(c.upTLS)
}

// sendUp emits and writes a line the attacker sends to the server. cred is
// the credential the line carries (the client's, relayed), or nil.
func (c *pconn) sendUp(raw []byte, cred *wire.Credential) error {
	verb, ann := protocol.ClientCommand(c.cfg.Proto, raw)
	c.lastUpVerb.Store(verb)
	layer, vis := c.layer()
	ev := wire.Event{Kind: wire.KindLine, Dir: wire.ClientToServer, Layer: layer, Visible: vis,
		Raw: raw, Text: lineText(raw), Annotation: ann, Credential: cred,
		Line: &wire.Line{Proto: c.cfg.Proto, Command: verb}}
	if cred != nil {
		ev.Also = []string{"attack.credentials"}
	}
	c.p.emit(ev)
	return c.writeUp(raw)
}

func (c *pconn) writeUp(b []byte) error {
	c.uwMu.Lock()
	defer c.uwMu.Unlock()
	_ = c.up.SetWriteDeadline(c.deadline(c.cfg.Timeout))
	if _, err := c.uconn.Write(b); err != nil {
		return fmt.Errorf("write to the server: %w", err)
	}
	return nil
}

func (c *pconn) writeClient(b []byte) error {
	c.cwMu.Lock()
	defer c.cwMu.Unlock()
	_ = c.client.SetWriteDeadline(c.deadline(c.cfg.Timeout))
	if _, err := c.cconn.Write(b); err != nil {
		return fmt.Errorf("write to the client: %w", err)
	}
	return nil
}

// received emits what the attacker read from the server.
func (c *pconn) received(raw []byte, ann string) {
	layer, vis := c.layer()
	code, lineAnn, also := protocol.ServerLineInfo(c.cfg.Proto, raw)
	lineAnn = protocol.KeyInTLS(lineAnn, c.upTLS)
	switch {
	case ann == "":
		ann = lineAnn
	case lineAnn != "":
		also = append([]string{lineAnn}, also...)
	}
	if c.cfg.Proto == protocol.IMAP {
		// Untagged data and the tagged completion often arrive together:
		// the completion's status is what the batch amounts to (RFC 9051
		// §7.1), so it is the Code, and its key joins the annotations.
		lines := splitLines(raw)
		if last := lines[len(lines)-1]; len(lines) > 1 && !strings.HasPrefix(last, "* ") && !strings.HasPrefix(last, "+") {
			if st, stAnn, stAlso := protocol.ServerLineInfo(c.cfg.Proto, []byte(last)); st != "" && st != "*" && st != "+" {
				code = st
				also = append(append(also, stAnn), stAlso...)
			}
		}
	}
	// The capabilities the server listed are as readable here as on a
	// driver's connection (before the attacker's STARTTLS, by anyone on
	// the path), so the event carries them the same way.
	verb, _ := c.lastUpVerb.Load().(string)
	caps, keys := protocol.ServerCapabilities(c.cfg.Proto, verb, raw)
	c.p.emit(wire.Event{Kind: wire.KindLine, Dir: wire.ServerToClient, Layer: layer, Visible: vis,
		Raw: raw, Text: lineText(raw), Annotation: ann, Also: append(also, keys...),
		Line: &wire.Line{Proto: c.cfg.Proto, Code: code, Capabilities: caps}})
}

// relay runs the two directions until both ended.
func (c *pconn) relay() {
	c.relaying.Store(true)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.serverToClient()
	}()
	if !c.clientToServer() {
		// Cut off for cause (a bound, a failed write): the client gets
		// nothing more. After a plain end of its stream it may still be
		// reading the answer to its last command, so it stays open.
		c.client.Close()
	}
	if !c.serverGone.Load() && !c.quitSent.Load() && c.ctx.Err() == nil && !c.rawMode.Load() {
		// The client left without QUIT/LOGOUT (a client that requires TLS
		// and found none): the attacker ends its own session politely, so
		// that the server logs nothing unusual.
		c.p.note("the client left; the attacker says goodbye to the server itself, so the server sees an ordinary end",
			"attack.relay.client_left", nil)
		_ = c.sendUp([]byte(c.goodbye()), nil)
	}
	c.leaveBy.Store(time.Now().Add(leaveTimeout).UnixNano())
	_ = c.up.SetReadDeadline(time.Now().Add(leaveTimeout))
	<-done
}

func (c *pconn) goodbye() string {
	switch c.cfg.Proto {
	case protocol.IMAP:
		return c.nextTag() + " LOGOUT\r\n"
	}
	return "QUIT\r\n"
}

func (c *pconn) nextTag() string {
	c.tagN++
	return "x" + strconv.Itoa(c.tagN)
}

// clientToServer relays the client's lines to the server, answering
// capability requests and STARTTLS itself when it strips. It returns true
// when the client's stream ended (or the relay turned to raw bytes), false
// when the attacker cut it off.
func (c *pconn) clientToServer() bool {
	continuation := false // the next line continues a command after a literal
	for {
		b, err := c.cr.Peek()
		if err != nil {
			return c.clientGone(err)
		}
		if !c.rawMode.Load() && looksLikeTLS(b) {
			c.rawFromClient()
			return true
		}
		line, err := c.cr.ReadLine()
		if err != nil {
			return c.clientGone(err)
		}
		if c.cfg.Proto == protocol.SMTP && c.inData.Load() {
			if err := c.forwardBody(line); err != nil {
				c.relayFailed("relay the message body", err)
				return false
			}
			continue
		}
		if !continuation && c.intercept {
			handled, err := c.answer(line)
			if err != nil {
				c.relayFailed("answer the client", err)
				return false
			}
			if handled {
				continue
			}
		}
		if continuation, err = c.forward(line, continuation); err != nil {
			c.relayFailed("relay to the server", err)
			return false
		}
	}
}

// clientGone reports how the client's stream ended: true for a plain end.
func (c *pconn) clientGone(err error) bool {
	switch {
	case errors.Is(err, protocol.ErrLineTooLong):
		c.p.fail("read from the client", err, sessions.ExplainLineTooLong)
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed), c.serverGone.Load():
		return true
	case errors.Is(err, os.ErrDeadlineExceeded):
		c.p.fail("read from the client", fmt.Errorf("the client sent nothing for %v: %w", c.cfg.Timeout, err), "")
	default:
		c.p.fail("read from the client", err, "")
	}
	return false
}

func (c *pconn) relayFailed(op string, err error) {
	if c.serverGone.Load() || errors.Is(err, net.ErrClosed) {
		return
	}
	c.p.fail(op, err, "")
}

// forward relays one client line, with a literal or BDAT chunk that
// follows it. It returns whether the next line continues this command.
func (c *pconn) forward(line []byte, continuation bool) (bool, error) {
	var cred *wire.Credential
	if !continuation {
		c.credMu.Lock()
		cred = protocol.DecodeCredential(c.cfg.Proto, line, &c.cred)
		c.credMu.Unlock()
	}
	verb, _ := protocol.ClientCommand(c.cfg.Proto, line)
	if !continuation && (verb == "QUIT" || verb == "LOGOUT") {
		c.quitSent.Store(true)
	}
	if cred != nil {
		// The attacker's leg is TLS: the credential is not on the wire
		// there, but the attacker read it in cleartext from the client.
		cred.OnWire = false
		c.credSeen.Store(true)
	}
	n, more := trailingCount(c.cfg.Proto, verb, line)
	if n > maxLiteral {
		// Checked before the line goes out: a server waiting for the
		// announced bytes would take the attacker's goodbye for them.
		return false, fmt.Errorf("the client announced more than %d bytes to follow its line; the attacker relays at most that", maxLiteral)
	}
	if err := c.sendUp(line, cred); err != nil {
		return false, err
	}
	if cred != nil && cred.Password != "" {
		c.p.note(fmt.Sprintf("the attacker read %s's password (%s) in the client's cleartext, and passed it on to the server inside its own TLS",
			wire.SafeString(cred.Username), cred.Mechanism), "attack.credentials", nil)
	}
	if n < 0 {
		return more, nil
	}
	data, err := c.cr.ReadFull(n)
	if err != nil {
		return false, fmt.Errorf("read %d announced bytes from the client: %w", n, err)
	}
	layer, vis := c.layer()
	c.p.emit(wire.Event{Kind: wire.KindLine, Dir: wire.ClientToServer, Layer: layer, Visible: vis,
		Raw: data, Text: fmt.Sprintf("%s of %s relayed", literalName(c.cfg.Proto), words.Plural(n, "byte")),
		Line: &wire.Line{Proto: c.cfg.Proto}})
	return more, c.writeUp(data)
}

// forwardBody relays lines of an SMTP message body (RFC 5321 §4.5.2),
// grouping the lines that arrived together into one event, until the
// lone "." line.
func (c *pconn) forwardBody(line []byte) error {
	group := line
	end := isDotLine(line)
	for !end && c.cr.HasLine() && len(group) < maxGroup {
		l, err := c.cr.ReadLine()
		if err != nil {
			return err
		}
		group = append(group, l...)
		end = isDotLine(l)
	}
	if end {
		c.inData.Store(false)
	}
	layer, vis := c.layer()
	c.p.emit(wire.Event{Kind: wire.KindLine, Dir: wire.ClientToServer, Layer: layer, Visible: vis,
		Raw: group, Text: lineText(group), Annotation: "smtp.data.content", Also: []string{"attack.relay.body"},
		Line: &wire.Line{Proto: protocol.SMTP}})
	return c.writeUp(group)
}

func isDotLine(l []byte) bool {
	return bytes.Equal(l, []byte(".\r\n")) || bytes.Equal(l, []byte(".\n"))
}

// serverToClient relays the server's lines to the client, one event per
// batch that arrived together.
func (c *pconn) serverToClient() {
	defer func() {
		c.serverGone.Store(true)
		// With the server gone there is nothing left to relay: closing the
		// client's connection (after everything was written to it) ends
		// the other direction, as a server closing would.
		c.client.Close()
	}()
	clientOK := true
	for {
		if c.rawMode.Load() {
			if _, err := c.ur.Peek(); err != nil {
				return
			}
			if clientOK && c.writeClient(c.ur.Take()) != nil {
				clientOK = false
			}
			continue
		}
		line, err := c.ur.ReadLine()
		if err != nil {
			if errors.Is(err, protocol.ErrLineTooLong) {
				if c.rawMode.Load() {
					continue // bytes, not lines, from here
				}
				c.p.fail("read from the server", err, sessions.ExplainLineTooLong)
			}
			return
		}
		group, err := c.serverBatch(line)
		if len(group) > 0 {
			c.received(group, "")
			if clientOK && c.writeClient(group) != nil {
				// The client is gone; keep reading until the server ends
				// too, so its last words are still shown.
				clientOK = false
			}
		}
		if err != nil {
			c.p.fail("read from the server", err, "")
			return
		}
	}
}

// serverBatch takes line and the lines (and IMAP literals) that arrived
// with it, telling the credential state and the SMTP body state about each.
func (c *pconn) serverBatch(line []byte) ([]byte, error) {
	group := line
	lines := 0
	for {
		lines++
		c.credMu.Lock()
		c.cred.ServerLine(c.cfg.Proto, line)
		c.credMu.Unlock()
		if c.cfg.Proto == protocol.SMTP && bytes.HasPrefix(line, []byte("354")) {
			// RFC 5321 §4.1.1.4: after 354 the client sends the message,
			// which must not be read as commands.
			c.inData.Store(true)
		}
		if c.cfg.Proto == protocol.IMAP {
			if n, ok := imapLiteral(line); ok {
				if n > maxLiteral {
					return group, fmt.Errorf("the server announced a literal of %d bytes; the attacker relays at most %d", n, maxLiteral)
				}
				if len(group)+n > maxResponse {
					return group, fmt.Errorf("%w: the server's response goes on past %d bytes, literal after literal; the attacker holds at most that",
						protocol.ErrTooManyLines, maxResponse)
				}
				data, err := c.ur.ReadFull(n)
				group = append(group, data...)
				if err != nil {
					return group, fmt.Errorf("read a literal of %d bytes: %w", n, err)
				}
				// The response goes on after the literal.
				l, err := c.ur.ReadLine()
				group = append(group, l...)
				if err != nil {
					return group, err
				}
				line = l
				continue
			}
		}
		if !c.ur.HasLine() || len(group) >= maxGroup || lines >= maxGroupLines {
			return group, nil
		}
		l, err := c.ur.ReadLine()
		if err != nil {
			return group, err
		}
		group = append(group, l...)
		line = l
	}
}

// rawFromClient: the client sent what looks like a TLS record. The
// attacker cannot read it; it relays bytes both ways from here.
func (c *pconn) rawFromClient() {
	c.rawMode.Store(true)
	c.p.note("the client sent TLS records where the attacker expected a command: the attacker cannot read them, and relays bytes both ways from here",
		"attack.relay.tls_from_client", nil)
	if err := c.writeUp(c.cr.Take()); err != nil {
		return
	}
	buf := make([]byte, 32<<10)
	for {
		c.clientDeadline()
		n, err := c.client.Read(buf)
		if n > 0 {
			if c.writeUp(buf[:n]) != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// timeLimitReached says whether the connection's time limit ended it. The
// per-read deadlines are clipped to the limit, so a read can time out a
// moment before the context notices; the clock decides then.
func (c *pconn) timeLimitReached() bool {
	if errors.Is(context.Cause(c.ctx), errTimeLimit) {
		return true
	}
	dl, ok := c.ctx.Deadline()
	return ok && !time.Now().Before(dl) && c.p.ctx.Err() == nil
}

// finish ends the attacker's side: what the dissector still holds, then
// the close event.
func (c *pconn) finish() {
	c.closeAll()
	if c.timeLimitReached() {
		// The time limit closed the connections under a pending read,
		// which then reported nothing but "use of closed connection".
		c.p.fail("proxy", fmt.Errorf("%w (%v)", errTimeLimit, c.cfg.SessionTimeout), sessions.ExplainTimeout)
	}
	if c.diss != nil {
		c.p.emitMu.Lock()
		for _, dir := range []wire.Direction{wire.ClientToServer, wire.ServerToClient} {
			for _, ev := range c.diss.Flush(dir) {
				c.p.emitLocked(ev)
			}
		}
		c.p.emitMu.Unlock()
	}
	text := "the attacker closed both connections"
	if c.tap != nil {
		text += fmt.Sprintf("; %d bytes sent to the server, %d received from it", c.tap.BytesWritten(), c.tap.BytesRead())
	}
	c.p.emit(wire.Event{Kind: wire.KindClose, Dir: wire.Local, Layer: wire.LayerTCP,
		Visible: wire.VisibleMetadata, Annotation: "tcp.close", Text: text})
}

// looksLikeTLS: a TLS record header (RFC 8446 §5.1): a handshake record
// (22) with a 3.x legacy version.
func looksLikeTLS(b []byte) bool {
	return len(b) >= 1 && b[0] == 0x16 && (len(b) < 2 || b[1] == 0x03)
}

// trailingCount says how many raw bytes follow a client line: an IMAP
// literal "{n}" or "{n+}" (RFC 9051 §4.3, RFC 7888), after which the
// command goes on (more); an SMTP "BDAT n" chunk (RFC 3030 §2). -1: none.
func trailingCount(proto, verb string, line []byte) (n int, more bool) {
	switch proto {
	case protocol.IMAP:
		if n, ok := imapLiteral(line); ok {
			return n, true
		}
	case protocol.SMTP:
		if verb == "BDAT" {
			f := strings.Fields(string(line))
			if len(f) >= 2 {
				if n, err := strconv.ParseUint(f[1], 10, 31); err == nil {
					return int(n), false
				}
			}
		}
	}
	return -1, false
}

func literalName(proto string) string {
	if proto == protocol.SMTP {
		return "BDAT chunk"
	}
	return "literal"
}

// imapLiteral reports whether a line ends in a literal's announcement
// (protocol.AnnouncedLiteral) and its size; sizes too large for the relay
// come back as maxLiteral+1.
func imapLiteral(line []byte) (int, bool) {
	n, ok := protocol.AnnouncedLiteral(string(line))
	if !ok {
		return 0, false
	}
	if n > maxLiteral {
		return maxLiteral + 1, true
	}
	return int(n), true
}

// wire.LineText is a one-line summary: the first line without CRLF and a count
// of the lines after it.
func lineText(raw []byte) string {
	first, rest, _ := strings.Cut(string(raw), "\n")
	first = strings.TrimSuffix(first, "\r")
	first = wire.Truncate(first, 200)
	if rest = strings.TrimSuffix(rest, "\n"); rest != "" {
		return fmt.Sprintf("%s (+%d lines)", first, strings.Count(rest, "\n")+1)
	}
	return first
}
