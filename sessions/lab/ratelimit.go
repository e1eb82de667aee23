package lab

import (
	"crypto/tls"
	"fmt"
	"net"
	"time"
)

// The command rate limit. Each SMTP, POP3 or IMAP connection has a token
// bucket (Limits.CommandBurst tokens, refilled at Limits.CommandRate per
// second); each command the client sends takes one. A client that finds the
// bucket empty is told so in its protocol's words and disconnected:
//
//	SMTP  421 4.7.0 mail.lab.test Error: too many commands   (RFC 5321 §3.8)
//	POP3  -ERR [SYS/TEMP] Too many commands                  (RFC 3206 §4)
//	IMAP  * BYE Too many commands                            (RFC 3501 §7.1.5)
//
// The SMTP wording follows Postfix's 421 replies for its own per-client
// limits ("421 4.7.0 host Error: too many errors").
//
// Where commands are counted: the servers (go-smtp, go-imap and ours) each
// arm a read deadline on the connection before reading a command, and they
// do so through TLS down to the labConn. A command is one request/response
// turn, so the labConn counts a turn each time a read deadline is armed
// after the server has written something since the last counted turn. That
// needs no knowledge of any protocol parser; a pipelined flood (RFC 2920) is
// counted command by command, as every command gets its reply before the
// next read; IMAP's two deadline calls per command count once; TLS
// handshake records are not replies (isReply); the lines of an SMTP DATA
// body are read without new deadlines, so a message is one command. The tests
// prove the count on every protocol, so a server library that stops arming
// deadlines shows up there.
//
// Where the refusal is written: the labConn sits under TLS, so it can write
// the protocol line itself only on a cleartext connection. Inside TLS it
// writes through the connection the protocol server writes to: the
// *tls.Conn the guarded listener made (implicit TLS), or go-smtp's current
// connection (after STARTTLS), or the lab POP3 server's after STLS
// (setTop), or go-imap's Conn.Bye (setBye).

// tokenBucket is a classic token bucket. It is not safe for concurrent use;
// labConn guards it with its mutex.
type tokenBucket struct {
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time
}

func newTokenBucket(rate float64, burst int, now time.Time) *tokenBucket {
	return &tokenBucket{rate: rate, burst: float64(burst), tokens: float64(burst), last: now}
}

// take refills the bucket for the time since the last call and takes one
// token, reporting whether there was one.
func (b *tokenBucket) take(now time.Time) bool {
	if el := now.Sub(b.last); el > 0 {
		b.tokens = min(b.burst, b.tokens+el.Seconds()*b.rate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// errTooManyCommands is what the servers' next read meets once a client is
// over the rate. It wraps net.ErrClosed because the connection is closed by
// then, and so that go-smtp and the POP3 server end the session quietly
// instead of writing their generic "connection error" replies after ours.
var errTooManyCommands = fmt.Errorf("too many commands: %w", net.ErrClosed)

// farewellTimeout bounds the write of the refusal to a client that reads
// nothing.
const farewellTimeout = 2 * time.Second

// floodLine is each protocol's refusal, for the connections where the
// labConn writes it itself.
func floodLine(proto string) string {
	switch proto {
	case ProtoSMTP:
		return "421 4.7.0 " + Hostname + " Error: too many commands\r\n"
	case ProtoPOP3:
		return "-ERR [SYS/TEMP] Too many commands\r\n"
	case ProtoIMAP:
		return "* BYE Too many commands\r\n"
	}
	return ""
}

// limitCommands turns the command limit on for c. Called by the guarded
// listener before the server sees c; top is the implicit-TLS connection, or
// nil.
func (c *labConn) limitCommands(lim Limits, proto string, top *tls.Conn, now time.Time) {
	line := floodLine(proto)
	if line == "" {
		return // HTTPS: no commands to count
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cmds = newTokenBucket(lim.CommandRate, lim.CommandBurst, now)
	c.floodLine = line
	if top != nil {
		c.tlsActive = true
		c.top = func() net.Conn { return top }
	}
}

// recordTypeApplicationData is the TLS record content type of application
// data (RFC 8446 §5.1, RFC 5246 §6.2.1). crypto/tls writes whole records in
// each Write, so the first byte of a Write under TLS is a record type.
const recordTypeApplicationData = 23

// isReply reports whether a write to the network is (part of) a protocol
// reply rather than TLS handshake traffic: a lazy handshake (go-imap lets
// the first read after STARTTLS run it) writes between two reads too, and
// must not count as a command. Called with c.mu held.
func (c *labConn) isReply(p []byte) bool {
	return !c.tlsActive || (len(p) > 0 && p[0] == recordTypeApplicationData)
}

// overCommandRate counts a turn if the server has answered since the last
// one, and reports whether the client is over its rate.
func (c *labConn) overCommandRate() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmds == nil {
		return false
	}
	if c.flooded {
		return true
	}
	// No reply since the last count: the same read being re-armed (IMAP
	// arms twice per command) or a read before the greeting (go-smtp arms
	// one before the implicit TLS handshake). Every command follows a
	// greeting or a reply.
	if !c.wrote {
		return false
	}
	c.turns++
	c.wrote = false
	if c.cmds.take(time.Now()) {
		return false
	}
	c.flooded = true
	return true
}

// tooManyCommands says goodbye once, closes c and returns the error the
// server's read should end with.
func (c *labConn) tooManyCommands() error {
	c.floodOnce.Do(func() {
		c.mu.Lock()
		bye, top, line, tlsOn, turns := c.bye, c.top, c.floodLine, c.tlsActive, c.turns
		c.mu.Unlock()
		switch {
		case bye != nil:
			bye()
		case top != nil:
			w := top()
			_ = w.SetWriteDeadline(time.Now().Add(farewellTimeout))
			_, _ = w.Write([]byte(line))
			_ = w.Close()
		case !tlsOn:
			_ = c.Conn.SetWriteDeadline(time.Now().Add(farewellTimeout))
			_, _ = c.Conn.Write([]byte(line))
		}
		_ = c.Close()
		if c.logf != nil {
			c.logf("%s %d: %s: too many commands (%d turns; limit %g/s, burst %d): disconnected",
				c.endpoint.Proto, c.endpoint.Canonical, c.RemoteAddr(), turns, c.limits.CommandRate, c.limits.CommandBurst)
		}
	})
	return errTooManyCommands
}

// setTop tells c which connection its protocol server writes to now; top is
// called when the refusal is written, so it may return a connection that
// changes (go-smtp's after STARTTLS).
func (c *labConn) setTop(top func() net.Conn) {
	c.mu.Lock()
	c.top = top
	c.mu.Unlock()
}

// setBye gives c the protocol server's own way of ending a session with a
// message (go-imap's Conn.Bye), which writes through TLS when there is TLS.
func (c *labConn) setBye(bye func()) {
	c.mu.Lock()
	c.bye = bye
	c.mu.Unlock()
}

// markTLS records that a TLS session now runs on c: from here on, bytes
// written to c directly would corrupt the client's TLS stream.
func (c *labConn) markTLS() {
	c.mu.Lock()
	c.tlsActive = true
	c.mu.Unlock()
}

// labConnOf finds the labConn under conn (which may be a *tls.Conn on it).
func labConnOf(conn net.Conn) *labConn {
	for range 4 {
		switch v := conn.(type) {
		case *labConn:
			return v
		case interface{ NetConn() net.Conn }:
			conn = v.NetConn()
		default:
			return nil
		}
	}
	return nil
}
