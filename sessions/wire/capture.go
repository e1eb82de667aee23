package wire

import (
	"io"
	"net"
	"sync"
	"time"
)

// Capture keeps every byte a session's TCP connections carried, in order
// per direction and with when, as the Tap saw it: the true stream, which
// the events do not always hold (the Budget trims Raw, the emitter
// coalesces runs of records into one event, redaction masks a password in
// Raw, and a decrypted line's Raw is what the endpoint read, not what
// crossed). An exporter that needs the wire itself (a pcap for Wireshark,
// sessions/pcap) reads a Capture; a session records into one only when
// asked (sessions.Options.Capture), so the engine's hot path pays nothing
// otherwise.
//
// A Capture is bounded (Limit): past it, bytes are counted in Dropped and
// not kept, so a session against a hostile server cannot fill memory
// through it. It is safe for concurrent use: the engine records while a
// screen may take a Snapshot to export.
type Capture struct {
	mu    sync.Mutex
	limit int64
	held  int64
	conns []*CaptureConn
}

// CaptureConn is one TCP connection of a Capture. Its fields are filled by
// the engine (Open, Add, PeerClosed, Closed); read them from a Snapshot.
type CaptureConn struct {
	// Leg names the connection in a session of several (as Event.Leg);
	// empty otherwise.
	Leg string `json:"leg,omitempty"`
	// Client and Server are the connection's two ends, host:port.
	Client string `json:"client"`
	Server string `json:"server"`
	// Origin is the wall-clock time every At of this connection counts
	// from (the session's start, as Event.At).
	Origin time.Time `json:"origin"`
	// Opened is when the TCP connection was established.
	Opened time.Duration `json:"opened_ns"`
	// Chunks are the bytes of each read and write, in the order they
	// happened.
	Chunks []Chunk `json:"chunks"`
	// PeerFIN is when a read first returned end of stream (the server
	// closed its side), or 0 if it never did.
	PeerFIN time.Duration `json:"peer_fin_ns,omitempty"`
	// End is when the client closed the connection, or 0 while open.
	End time.Duration `json:"end_ns,omitempty"`
	// Dropped counts bytes past the capture's Limit: they crossed the
	// wire but are not in Chunks.
	Dropped int64 `json:"dropped,omitempty"`

	c *Capture // the capture that bounds and locks it
}

// Chunk is what one read or write carried.
type Chunk struct {
	Dir  Direction     `json:"dir"`
	At   time.Duration `json:"at_ns"`
	Data []byte        `json:"data"`
}

// DefaultCaptureLimit bounds a Capture's bytes: 64 MiB holds a session
// many times the size of the default Budget's events.
const DefaultCaptureLimit = 64 << 20

// NewCapture returns an empty capture that keeps at most limit bytes (0:
// DefaultCaptureLimit; negative: no limit).
func NewCapture(limit int64) *Capture {
	if limit == 0 {
		limit = DefaultCaptureLimit
	}
	return &Capture{limit: limit}
}

// Open adds a connection between local (the client) and remote (the
// server), established at opened since origin.
func (c *Capture) Open(leg string, local, remote net.Addr, origin time.Time, opened time.Duration) *CaptureConn {
	cc := &CaptureConn{Leg: leg, Origin: origin, Opened: opened, c: c}
	if local != nil {
		cc.Client = local.String()
	}
	if remote != nil {
		cc.Server = remote.String()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.conns = append(c.conns, cc)
	return cc
}

// Add records b, which crossed in direction dir at at. It copies b.
func (cc *CaptureConn) Add(dir Direction, at time.Duration, b []byte) {
	if cc == nil || len(b) == 0 {
		return
	}
	c := cc.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.limit > 0 && c.held+int64(len(b)) > c.limit {
		cc.Dropped += int64(len(b))
		return
	}
	c.held += int64(len(b))
	cc.Chunks = append(cc.Chunks, Chunk{Dir: dir, At: at, Data: append([]byte(nil), b...)})
}

// PeerClosed records that the server closed its side at at (the first
// time only).
func (cc *CaptureConn) PeerClosed(at time.Duration) {
	if cc == nil {
		return
	}
	cc.c.mu.Lock()
	defer cc.c.mu.Unlock()
	if cc.PeerFIN == 0 {
		cc.PeerFIN = max(at, 1)
	}
}

// Closed records that the client closed the connection at at.
func (cc *CaptureConn) Closed(at time.Duration) {
	if cc == nil {
		return
	}
	cc.c.mu.Lock()
	defer cc.c.mu.Unlock()
	if cc.End == 0 {
		cc.End = max(at, 1)
	}
}

// Snapshot returns the connections recorded so far, copied so that the
// engine may go on recording: the chunks' bytes are shared, as they are
// never changed once added.
func (c *Capture) Snapshot() []CaptureConn {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]CaptureConn, len(c.conns))
	for i, cc := range c.conns {
		out[i] = *cc
		out[i].Chunks = append([]Chunk(nil), cc.Chunks...)
		out[i].c = nil
	}
	return out
}

// record is the Tap's permanent receiver (Tap.Record).
func (t *Tap) record(dir Direction, at time.Duration, b []byte, err error) {
	if t.rec == nil {
		return
	}
	t.rec.Add(dir, at, b)
	if dir == ServerToClient && err == io.EOF {
		t.rec.PeerClosed(at)
	}
}

// Record has the tap keep everything it carries in cc, whatever its
// TapFunc (which the runner switches at TLS). Call it before the first
// Read or Write.
func (t *Tap) Record(cc *CaptureConn) { t.rec = cc }

// KeyLogBuffer holds a session's TLS secrets in the NSS key log format as
// crypto/tls writes them (tls.Config.KeyLogWriter), bounded, for an
// exporter to write to a file when asked (a key log decrypts the whole
// session: never written unless asked). Write never fails, as an error
// from a KeyLogWriter would abort the handshake. Safe for concurrent use.
type KeyLogBuffer struct {
	mu sync.Mutex
	b  []byte
}

// maxKeyLogBuffer bounds a KeyLogBuffer: one TLS 1.3 connection logs five
// lines of under 250 bytes, TLS 1.2 one.
const maxKeyLogBuffer = 64 << 10

// Write appends p, or drops it once the buffer is full.
func (k *KeyLogBuffer) Write(p []byte) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.b)+len(p) > maxKeyLogBuffer {
		return len(p), nil
	}
	k.b = append(k.b, p...)
	return len(p), nil
}

// Bytes returns a copy of the key log so far.
func (k *KeyLogBuffer) Bytes() []byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]byte(nil), k.b...)
}
