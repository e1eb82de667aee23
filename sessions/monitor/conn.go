package monitor

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/dissect"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/lens"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/tlsmsg"
	"github.com/mailwire/mailwire/sessions/wire"
)

// conn follows one watched connection: it is the lab.ConnWatch. The lab
// calls Read and Wrote on the server's goroutines; mu puts them, the key
// log and the readers of its state in one order.
type conn struct {
	m     *Monitor
	info  lab.ConnInfo
	proto string

	mu       sync.Mutex
	em       *sessions.Emitter
	evs      []wire.Event
	obs      *lens.Observer
	notes    []wire.Event      // flag notes to emit after the event that raised them
	fols     []chan wire.Event // Follow's channels
	done     chan struct{}     // closed when the connection ended
	emitting bool
	isOver   bool
	over     atomic.Bool // isOver, for the monitor, which reads it without mu
	closedAt time.Time
	in, out  int64
	flags    []Flag
	cert     CertCheck
	offered  bool // STARTTLS was offered in a capability list read in the clear
	tlsMode  string
	v12      bool // the note on TLS 1.2 was given

	// The stream.
	c2s, s2c   *reader
	diss       *dissect.Dissector
	keys       *dissect.KeyLog
	random     []byte // the ClientHello's, once registered for the key log
	version    uint16 // the TLS version, kept when the dissector goes
	startAsked bool   // the client sent STARTTLS/STLS
	goAhead    bool   // the server accepted it: its next TLS record starts TLS
	st         lineState
}

func newConn(m *Monitor, ci lab.ConnInfo) *conn {
	c := &conn{m: m, info: ci, proto: ci.Endpoint.Proto, obs: lens.NewObserver(""), done: make(chan struct{})}
	if ci.Endpoint.Mode == lab.ModeOtherName {
		c.cert = CertPending
	}
	c.em = sessions.NewEmitter(c.record, ci.Time, m.opts.Budget)
	c.c2s = newReader(c, wire.ClientToServer)
	c.s2c = newReader(c, wire.ServerToClient)
	return c
}

// connected emits the connection's first events: the connect, and for an
// implicit-TLS port the boundary (RFC 8314 §3).
func (c *conn) connected() {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.info.Endpoint
	mode := ""
	if e.Mode != lab.ModeNormal {
		mode = ", mode " + string(e.Mode)
	}
	c.emit(wire.Event{Kind: wire.KindConnect, Dir: wire.Local, Layer: wire.LayerTCP, Visible: wire.VisibleMetadata,
		Annotation: annConnect, Also: []string{"tcp.connect"},
		Text: fmt.Sprintf("client %s connected to the lab's port %d (%s, %s, %s%s) at %s",
			c.info.Client, e.Canonical, e.Proto, e.TLS, e.Purpose, mode, e.Addr)})
	if e.TLS == lab.TLSImplicit {
		c.emit(wire.Event{Kind: wire.KindBoundary, Dir: wire.Local, Layer: wire.LayerTLS, Visible: wire.VisibleMetadata,
			Annotation: "tls.boundary.implicit",
			Text:       "implicit TLS: the connection is TLS from its first byte (RFC 8314 §3)"})
		c.startTLS(lab.TLSImplicit)
	}
}

// Read is what the server read: client to server.
func (c *conn) Read(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.in += int64(len(b))
	c.c2s.feed(b)
	c.registerRandom()
}

// Wrote is what the server wrote: server to client.
func (c *conn) Wrote(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.out += int64(len(b))
	c.s2c.feed(b)
}

// Closed ends the stream: what is pending is flushed, then the close.
func (c *conn) Closed() {
	c.mu.Lock()
	c.c2s.end()
	c.s2c.end()
	if c.diss != nil {
		c.emitAll(c.diss.Flush(wire.ClientToServer))
		c.emitAll(c.diss.Flush(wire.ServerToClient))
	}
	if c.cert == CertPending && c.tlsMode != "" {
		// It never sent data inside TLS: it refused the certificate (a
		// client that accepted it and then said nothing looks the same,
		// doc.go).
		c.cert = CertRefused
	}
	c.closedAt = time.Now()
	c.emit(wire.Event{Kind: wire.KindClose, Dir: wire.Local, Layer: wire.LayerTCP, Visible: wire.VisibleMetadata,
		Annotation: "tcp.close",
		Text: fmt.Sprintf("connection closed after %s: %s bytes from the client, %s from the server",
			wire.FormatDuration(c.closedAt.Sub(c.info.Time)), wire.GroupDigits(c.in), wire.GroupDigits(c.out))})
	c.em.Flush()
	// The TLS secrets and the dissector's buffers go with the
	// connection; what the screens show of them is kept.
	if c.diss != nil {
		c.version = c.diss.Version()
	}
	c.diss, c.keys = nil, nil
	c.isOver = true
	c.over.Store(true)
	for _, ch := range c.fols {
		close(ch)
	}
	c.fols = nil
	close(c.done)
	random := c.random
	c.mu.Unlock()
	c.m.closed(c, random)
}

// keyLog takes one key log line of this connection, and lets the
// dissector release what waited for it.
func (c *conn) keyLog(line []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.keys == nil || c.isOver {
		return
	}
	_, _ = c.keys.Write(line)
	c.emitAll(c.diss.Feed(wire.ServerToClient, nil))
}

// registerRandom gives the monitor's key log router this connection's
// ClientHello random once the dissector has seen it.
func (c *conn) registerRandom() {
	if c.diss == nil || c.random != nil {
		return
	}
	if r := c.diss.ClientRandom(); r != nil {
		c.random = r
		c.m.register(c, r)
	}
}

// startTLS turns both directions to TLS: the dissector, with the server's
// secrets, from here on.
func (c *conn) startTLS(mode string) {
	c.tlsMode = mode
	c.diss = dissect.New()
	c.diss.AfterSTARTTLS = mode == lab.TLSStartTLS
	c.keys = dissect.NewTrafficKeyLog()
	c.diss.UseKeyLog(c.keys)
	c.diss.Plaintext = c.plaintext
	c.c2s.toTLS()
	c.s2c.toTLS()
}

// versionNote says once, when the ServerHello chose a version before
// TLS 1.3, that the lines inside will not be shown: the monitor decrypts
// TLS 1.3 only (its key log has no use for TLS 1.2's CLIENT_RANDOM).
func (c *conn) versionNote() {
	if c.v12 || c.diss == nil {
		return
	}
	if v := c.diss.Version(); v != 0 && v != tlsmsg.VersionTLS13 {
		c.v12 = true
		c.note(fmt.Sprintf("%s: the monitor decrypts TLS 1.3 only, so the lines inside this connection are not shown, only its records", tlsmsg.VersionName(v)), annTLS12)
		c.flushNotes()
	}
}

// plaintext is the dissector's receiver of decrypted application data:
// the lines inside TLS, as the server read and wrote them.
func (c *conn) plaintext(dir wire.Direction, b []byte) []wire.Event {
	r := c.c2s
	if dir == wire.ServerToClient {
		r = c.s2c
	}
	return r.plain(b)
}

// emitAll emits events in order.
func (c *conn) emitAll(evs []wire.Event) {
	for _, ev := range evs {
		c.emit(ev)
	}
}

// emit stamps ev with its time and passes it to the connection's emitter
// (numbering, budget, coalescing). Called with c.mu held.
func (c *conn) emit(ev wire.Event) {
	ev.At = time.Since(c.info.Time)
	c.em.Emit(ev)
	c.flushNotes()
}

// flushNotes emits the notes queued by the events just emitted.
func (c *conn) flushNotes() {
	if c.emitting {
		return
	}
	c.emitting = true
	for len(c.notes) > 0 {
		n := c.notes[0]
		c.notes = c.notes[1:]
		n.At = time.Since(c.info.Time)
		c.em.Emit(n)
	}
	c.emitting = false
}

// record is the emitter's receiver: the event is kept, observed, checked
// for flags and passed to the subscribers.
func (c *conn) record(ev wire.Event) {
	c.evs = append(c.evs, ev)
	c.obs.Add(ev)
	c.checkFlags(ev)
	c.m.publish(c.info.ID, ev)
	for _, ch := range c.fols {
		select {
		case ch <- ev:
		default: // cannot happen: follow sized it for the whole stream
		}
	}
}

// follow is Monitor.Follow for this connection.
func (c *conn) follow(ctx context.Context) <-chan wire.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.m.opts.Budget
	// The emitter passes at most Events, then a tenth more of the events
	// a reader cannot do without, and one note per budget limit.
	ch := make(chan wire.Event, len(c.evs)+b.Events+b.Events/10+len(wire.BudgetKeys())+16)
	for _, ev := range c.evs {
		ch <- ev
	}
	if c.isOver {
		close(ch)
		return ch
	}
	c.fols = append(c.fols, ch)
	go func() {
		select {
		case <-ctx.Done():
		case <-c.done:
			return // Closed closed ch
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if i := slices.Index(c.fols, ch); i >= 0 {
			c.fols = slices.Delete(c.fols, i, i+1)
			close(ch)
		}
	}()
	return ch
}

// checkFlags raises the flags ev completes, each with a note.
func (c *conn) checkFlags(ev wire.Event) {
	o := c.obs.Observation()
	if !c.offered && !o.TLSBegun() && startTLSOffered(o.Capabilities) {
		c.offered = true
	}
	for _, f := range flagsFrom(o, c.offered) {
		c.raise(f, ev)
	}
	if c.cert != CertPending {
		return
	}
	if slices.Contains(o.SNI, lab.OtherName) {
		c.cert = CertOwnName
		c.note(fmt.Sprintf("the client asked for %s (SNI), the one name this port's certificate covers: it was right for this client", lab.OtherName), annCertOtherNameAsked)
		return
	}
	if c.diss == nil {
		return
	}
	switch accepted, refused := certEvidence(ev, c.diss.Version()); {
	case accepted:
		c.cert = CertAccepted
		c.raise(FlagCertNotVerified, ev)
	case refused:
		c.cert = CertRefused
		c.note(fmt.Sprintf("the client ended the handshake on this port, whose certificate names %s only: it checks the certificate (or does not trust the lab CA)", lab.OtherName), annCertRefused)
	}
}

// raise sets a flag once, with its note.
func (c *conn) raise(f Flag, ev wire.Event) {
	if hasFlag(c.flags, f) {
		return
	}
	c.flags = append(c.flags, f)
	var text, ann string
	switch f {
	case FlagCleartextCredentials:
		text, ann = "FLAG: this client sent credentials in cleartext: anyone on the path read them", annFlagCleartextCredentials
	case FlagStartTLSIgnored:
		text, ann = fmt.Sprintf("FLAG: the server offered %s and this client logged in or sent mail without it (%s)",
			protocol.StartTLSVerb(c.proto), ev.Line.Command), annFlagStartTLSIgnored
	case FlagCertNotVerified:
		text, ann = fmt.Sprintf("FLAG: this client went on inside TLS with a certificate for %s, not for the name it connected to: it did not verify the certificate", lab.OtherName), annFlagCertNotVerified
	}
	c.note(text, ann)
}

// note queues a monitor note to follow the event being emitted.
func (c *conn) note(text, ann string) {
	c.notes = append(c.notes, wire.Event{Kind: wire.KindNote, Dir: wire.Local, Layer: wire.LayerNote,
		Visible: wire.VisibleNone, Text: text, Annotation: ann})
}

// state is the connection's Client.
func (c *conn) state() Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stateLocked()
}

func (c *conn) stateLocked() Client {
	cl := Client{ID: c.info.ID, Addr: c.info.Client, Endpoint: c.info.Endpoint, Opened: c.info.Time,
		ClosedAt: c.closedAt, Open: !c.isOver, TLS: c.tlsMode, BytesIn: c.in, BytesOut: c.out,
		Events: len(c.evs), Flags: slices.Clone(c.flags), Cert: c.cert}
	v := c.version
	if c.diss != nil {
		v = c.diss.Version()
	}
	if v != 0 {
		cl.TLSVersion = tlsmsg.VersionName(v)
	}
	if o := c.obs.Observation(); len(o.SNI) > 0 {
		cl.SNI = o.SNI[0]
	}
	return cl
}

// snapshot is the connection's Client and a copy of its events.
func (c *conn) snapshot() (Client, []wire.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stateLocked(), slices.Clone(c.evs)
}

// summary is the line left when the connection ages out.
func (c *conn) summary() Summary {
	st := c.state()
	return Summary{Client: st, Line: summaryLine(st)}
}

// looksLikeTLS says whether b starts a TLS handshake record (RFC 8446
// §5.1: type 22, legacy version 3.x).
func looksLikeTLS(b []byte) bool {
	return len(b) >= 1 && b[0] == dissect.RecordHandshake && (len(b) < 2 || b[1] == 3)
}
