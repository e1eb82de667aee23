package lab

// Watching the lab's connections from the server's side (the lab monitor,
// issue 15 §4). The lab shares no code with the engine (rooms_test.go), so
// it only hands out what crossed each admitted connection, raw as on the
// wire, and where its TLS secrets went; the engine's monitor
// (sessions/monitor) dissects and annotates them.
//
// The hook sits on the raw TCP connection under everything a server does
// with it (TLS, the rate limit, a mode's wrapper), so the bytes it sees are
// exactly the bytes on the wire: cleartext lines, then TLS records.

import (
	"crypto/tls"
	"fmt"
	"net"
	"sync/atomic"
	"time"
)

// ConnInfo describes one admitted connection to a watcher.
type ConnInfo struct {
	// ID numbers the lab's connections from 1, in the order accepted.
	ID       uint64
	Time     time.Time
	Client   string // the client's host:port
	Endpoint Endpoint
}

// ConnWatch receives what crossed one connection. Its methods are called
// on the server's goroutines, in wire order per direction, and must be
// quick: the server waits for them. b is only valid during the call.
type ConnWatch interface {
	// Read: bytes the server read from the client (client to server).
	Read(b []byte)
	// Wrote: bytes the server wrote to the client (server to client).
	Wrote(b []byte)
	// Closed: the connection ended (called once).
	Closed()
}

// watchedConn reports a raw connection's bytes to its ConnWatch.
type watchedConn struct {
	net.Conn
	w      ConnWatch
	closed atomic.Bool
}

func (c *watchedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.w.Read(p[:n])
	}
	return n, err
}

func (c *watchedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if n > 0 {
		c.w.Wrote(p[:n])
	}
	return n, err
}

func (c *watchedConn) Close() error {
	err := c.Conn.Close()
	if c.closed.CompareAndSwap(false, true) {
		c.w.Closed()
	}
	return err
}

// watch wraps an admitted connection's raw conn for Options.Watch.
func (l *Lab) watch(c *labConn, now time.Time) {
	fn := l.opts.Watch
	if fn == nil {
		return
	}
	info := ConnInfo{ID: l.connIDs.Add(1), Time: now, Client: c.Conn.RemoteAddr().String(), Endpoint: c.endpoint}
	if w := fn(info); w != nil {
		c.Conn = &watchedConn{Conn: c.Conn, w: w}
	}
}

// OtherName is the only name the certificate of a ModeOtherName endpoint
// covers: not Hostname, not localhost, no address. .test is reserved for
// testing (RFC 2606 §2), so it never resolves outside the lab.
const OtherName = "elsewhere.lab.test"

// issueOtherNameCert makes the ModeOtherName certificate: issued by the
// lab's own CA (so the chain verifies for a client that trusts it) for
// OtherName alone, so that it fails one check only, the name (RFC 9525 §6).
func (ca *authority) issueOtherNameCert() (tls.Certificate, error) {
	issuer, err := ca.leafIssuer()
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("other-name certificate: %w", err)
	}
	cert, err := issuer.issueLeafFor([]string{OtherName}, nil)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("other-name certificate: %w", err)
	}
	return cert, nil
}

// configForClient is the lab's tls.Config.GetConfigForClient. hello.Conn is
// the connection the handshake runs on: the labConn itself for implicit TLS
// and for every STARTTLS server that wraps the connection as it is. It
// marks the connection as carrying TLS, and gives a ModeOtherName
// endpoint its certificate for another name.
func (l *Lab) configForClient(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	c := labConnOf(hello.Conn)
	if c == nil {
		return nil, nil // nil: go on with the lab's config
	}
	c.markTLS()
	if c.endpoint.Mode == ModeOtherName {
		return l.otherNameTLS, nil
	}
	return nil, nil
}

// newOtherNameTLS is the TLS configuration of ModeOtherName endpoints: the
// lab's, with the other-name certificate.
func (l *Lab) newOtherNameTLS() error {
	cert, err := l.ca.issueOtherNameCert()
	if err != nil {
		return err
	}
	cfg := l.tlsConfig.Clone()
	cfg.Certificates = []tls.Certificate{cert}
	cfg.GetConfigForClient = nil
	l.otherNameTLS = cfg
	return nil
}
