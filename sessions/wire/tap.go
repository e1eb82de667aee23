package wire

import (
	"net"
	"sync/atomic"
	"time"
)

// TapFunc receives bytes a Tap saw cross the wire, in order per
// direction, with the time since the tap's start. b is only valid during the
// call: a TapFunc that keeps bytes must copy them. It runs on the goroutine
// doing the Read or Write, so it must be quick and must not call back into
// the connection.
type TapFunc func(dir Direction, at time.Duration, b []byte)

// Tap wraps the raw TCP connection so that everything read and written
// is seen exactly as an observer on the path sees it: cleartext protocol
// lines first, then TLS records once a tls.Client is layered on top of the
// tap (never under it). The cost per call is a clock read, two atomic adds
// and the TapFunc; nothing is copied (BenchmarkTapOverhead measures it).
type Tap struct {
	net.Conn
	start time.Time
	fn    atomic.Pointer[TapFunc]
	in    atomic.Int64 // bytes read (server to client)
	out   atomic.Int64 // bytes written (client to server)
	rec   *CaptureConn // keeps every byte when a capture was asked for (capture.go)
}

// NewTap wraps c. start is the session's time origin (when dialing
// began), so tap times and event times share a clock. fn may be nil.
func NewTap(c net.Conn, start time.Time, fn TapFunc) *Tap {
	t := &Tap{Conn: c, start: start}
	t.SetTap(fn)
	return t
}

// SetTap replaces the receiver of tapped bytes; nil stops reporting (bytes
// are still counted). The runner switches it when a connection turns into
// TLS, so the dissector sees the stream from the first TLS byte.
func (t *Tap) SetTap(fn TapFunc) {
	if fn == nil {
		t.fn.Store(nil)
		return
	}
	t.fn.Store(&fn)
}

// Read reads from the connection and reports what arrived as ServerToClient.
func (t *Tap) Read(p []byte) (int, error) {
	n, err := t.Conn.Read(p)
	if n > 0 {
		t.in.Add(int64(n))
		at := time.Since(t.start)
		if fn := t.fn.Load(); fn != nil {
			(*fn)(ServerToClient, at, p[:n])
		}
		t.record(ServerToClient, at, p[:n], err)
	} else if t.rec != nil {
		t.record(ServerToClient, time.Since(t.start), nil, err)
	}
	return n, err
}

// Write writes to the connection and reports what was written as
// ClientToServer. Bytes are reported after the kernel accepted them, so a
// failed write reports only the part that left.
func (t *Tap) Write(p []byte) (int, error) {
	n, err := t.Conn.Write(p)
	if n > 0 {
		t.out.Add(int64(n))
		at := time.Since(t.start)
		if fn := t.fn.Load(); fn != nil {
			(*fn)(ClientToServer, at, p[:n])
		}
		t.record(ClientToServer, at, p[:n], err)
	}
	return n, err
}

// BytesRead is the number of bytes read from the server so far.
func (t *Tap) BytesRead() int64 { return t.in.Load() }

// BytesWritten is the number of bytes written to the server so far.
func (t *Tap) BytesWritten() int64 { return t.out.Load() }
