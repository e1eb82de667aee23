package monitor

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/mailwire/mailwire/sessions/dissect"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/wire"
)

// Defaults of Options.
const (
	DefaultMaxClients   = 256
	DefaultMaxSummaries = 1000
)

// DefaultBudget is what one watched connection keeps: smaller than a
// session's (wire.DefaultBudget), since a monitor holds hundreds of them.
func DefaultBudget() wire.Budget {
	return wire.Budget{Events: 2000, EventBytes: 16 << 10, TotalBytes: 256 << 10,
		LineWidth: wire.DefaultBudgetLineWidth, Untagged: wire.DefaultBudgetUntagged, Literal: 16 << 10}
}

// Options configure New. Zero fields take their defaults.
type Options struct {
	Budget       wire.Budget // per connection; zero fields from DefaultBudget
	MaxClients   int         // connections held with their events
	MaxSummaries int         // aged-out connections kept as a summary line
}

func (o Options) withDefaults() Options {
	d := DefaultBudget()
	b := &o.Budget
	if b.Events == 0 {
		b.Events = d.Events
	}
	if b.EventBytes == 0 {
		b.EventBytes = d.EventBytes
	}
	if b.TotalBytes == 0 {
		b.TotalBytes = d.TotalBytes
	}
	if b.Literal == 0 {
		b.Literal = d.Literal
	}
	o.Budget = o.Budget.WithDefaults()
	if o.MaxClients <= 0 {
		o.MaxClients = DefaultMaxClients
	}
	if o.MaxSummaries <= 0 {
		o.MaxSummaries = DefaultMaxSummaries
	}
	return o
}

// Item is one event of one connection, as subscribers get it.
type Item struct {
	Conn  uint64     // lab.ConnInfo.ID
	Event wire.Event // numbered within its connection
}

// Subscription receives every event the monitor passes on, in order per
// connection. A subscriber that falls behind by more than its buffer loses
// events (counted in Lost) rather than slow the lab down.
type Subscription struct {
	C    <-chan Item
	c    chan Item
	m    *Monitor
	lost int64 // under m.mu
}

// Lost is how many events this subscriber missed because its buffer was
// full.
func (s *Subscription) Lost() int64 {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	return s.lost
}

// Close ends the subscription; C is closed.
func (s *Subscription) Close() {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	if _, ok := s.m.subs[s]; ok {
		delete(s.m.subs, s)
		close(s.c)
	}
}

// Monitor watches a lab's connections. Give Watch to lab.Options.Watch
// and the Monitor itself to lab.Options.KeyLogWriter.
type Monitor struct {
	opts Options

	mu        sync.Mutex
	conns     map[uint64]*conn // held, open or closed
	order     []uint64         // held ids, oldest first
	summaries []Summary        // aged out, oldest first (≤ MaxSummaries)
	agedOut   int              // connections aged out in all
	total     int              // connections watched in all
	byRandom  map[string]*conn // ClientHello random (hex) → its connection, for the key log
	subs      map[*Subscription]struct{}
	changed   chan struct{} // closed and replaced on every change

	keyMu    sync.Mutex
	keyLines dissect.KeyLogLines
}

// New returns a Monitor.
func New(o Options) *Monitor {
	return &Monitor{opts: o.withDefaults(), conns: map[uint64]*conn{}, byRandom: map[string]*conn{},
		subs: map[*Subscription]struct{}{}, changed: make(chan struct{})}
}

// Options returns the monitor's options with defaults filled in.
func (m *Monitor) Options() Options { return m.opts }

// Watch is the monitor's lab.Options.Watch: it starts following one
// connection.
func (m *Monitor) Watch(ci lab.ConnInfo) lab.ConnWatch {
	c := newConn(m, ci)
	m.mu.Lock()
	m.conns[ci.ID] = c
	m.order = append(m.order, ci.ID)
	m.total++
	m.mu.Unlock()
	c.connected()
	return c
}

// Subscribe returns a subscription with a buffer of n events.
func (m *Monitor) Subscribe(n int) *Subscription {
	ch := make(chan Item, max(n, 1))
	s := &Subscription{C: ch, c: ch, m: m}
	m.mu.Lock()
	m.subs[s] = struct{}{}
	m.mu.Unlock()
	return s
}

// Changed returns a channel closed at the next change (an event, a
// connection opened, closed or aged out): a screen waits on it, then reads
// Clients and Events.
func (m *Monitor) Changed() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.changed
}

// publish passes one event of c on to the subscribers. Called with c.mu
// held, so each connection's events go out in order.
func (m *Monitor) publish(id uint64, ev wire.Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for s := range m.subs {
		select {
		case s.c <- Item{Conn: id, Event: ev}:
		default:
			s.lost++
		}
	}
	m.bump()
}

// bump wakes whoever waits on Changed. Called with m.mu held.
func (m *Monitor) bump() {
	close(m.changed)
	m.changed = make(chan struct{})
}

// Clients returns the state of every connection held, oldest first.
func (m *Monitor) Clients() []Client {
	m.mu.Lock()
	held := make([]*conn, 0, len(m.order))
	for _, id := range m.order {
		held = append(held, m.conns[id])
	}
	m.mu.Unlock()
	out := make([]Client, 0, len(held))
	for _, c := range held {
		out = append(out, c.state())
	}
	return out
}

// Client returns one held connection's state and its events so far.
func (m *Monitor) Client(id uint64) (Client, []wire.Event, bool) {
	m.mu.Lock()
	c := m.conns[id]
	m.mu.Unlock()
	if c == nil {
		return Client{}, nil, false
	}
	st, evs := c.snapshot()
	return st, evs, true
}

// Follow returns one held connection's events: those so far, then each
// new one as it comes, on a channel closed after its close event or when
// ctx ends. The channel has room for the whole stream the budget allows,
// so following never slows the lab down and never misses an event.
func (m *Monitor) Follow(ctx context.Context, id uint64) (<-chan wire.Event, error) {
	m.mu.Lock()
	c := m.conns[id]
	m.mu.Unlock()
	if c == nil {
		return nil, fmt.Errorf("lab monitor: no connection #%d (it aged out, or never was)", id)
	}
	return c.follow(ctx), nil
}

// Summaries returns the connections that aged out, oldest first, and how
// many aged out in all (older summaries than MaxSummaries are gone).
func (m *Monitor) Summaries() ([]Summary, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.summaries), m.agedOut
}

// Total is how many connections the monitor watched.
func (m *Monitor) Total() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.total
}

// closed is called when c ended: it no longer takes key log lines, and
// the oldest closed connections past MaxClients age out. A connection's
// lock is never taken under m.mu (a connection's events take m.mu under
// its own).
func (m *Monitor) closed(c *conn, random []byte) {
	m.mu.Lock()
	if random != nil {
		delete(m.byRandom, hex.EncodeToString(random))
	}
	var aged []*conn
	for i := 0; len(m.order) > m.opts.MaxClients && i < len(m.order); {
		old := m.conns[m.order[i]]
		if !old.over.Load() {
			i++
			continue
		}
		aged = append(aged, old)
		delete(m.conns, m.order[i])
		m.order = slices.Delete(m.order, i, i+1)
	}
	m.mu.Unlock()
	sums := make([]Summary, 0, len(aged))
	for _, old := range aged {
		sums = append(sums, old.summary())
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.agedOut += len(aged)
	m.summaries = append(m.summaries, sums...)
	if over := len(m.summaries) - m.opts.MaxSummaries; over > 0 {
		m.summaries = slices.Delete(m.summaries, 0, over)
	}
	m.bump()
}

// register makes c the receiver of the key log lines of the connection
// whose ClientHello carried random.
func (m *Monitor) register(c *conn, random []byte) {
	m.mu.Lock()
	m.byRandom[hex.EncodeToString(random)] = c
	m.mu.Unlock()
}

// Write is the lab's key log (lab.Options.KeyLogWriter): each line goes
// to the connection whose ClientHello random it names, whose own KeyLog
// keeps what its dissector needs; a line for no watched connection is
// dropped. It never fails, as an error would abort the handshake.
func (m *Monitor) Write(p []byte) (int, error) {
	m.keyMu.Lock()
	defer m.keyMu.Unlock()
	m.keyLines.Feed(p, m.route)
	return len(p), nil
}

// route passes one key log line ("LABEL <random hex> <secret hex>") to its
// connection.
func (m *Monitor) route(line []byte) {
	f := bytes.Fields(line)
	if len(f) != 3 {
		return
	}
	m.mu.Lock()
	c := m.byRandom[string(bytes.ToLower(f[1]))]
	m.mu.Unlock()
	if c != nil {
		c.keyLog(append(bytes.Clone(line), '\n'))
	}
}

// Summary is the one line left of a connection that aged out.
type Summary struct {
	Client Client
	Line   string
}

func summaryLine(c Client) string {
	flags := "no flags"
	if len(c.Flags) > 0 {
		flags = "flags: " + joinFlags(c.Flags)
	}
	return fmt.Sprintf("#%d %s port %d (%s, %s) %s, %s, %s in, %s out, %d events, open %s",
		c.ID, c.Addr, c.Endpoint.Canonical, c.Endpoint.Proto, c.TLSText(), c.Opened.Format("15:04:05"), flags,
		wire.GroupDigits(c.BytesIn), wire.GroupDigits(c.BytesOut), c.Events, wire.FormatDuration(c.Duration()))
}

// Duration is how long the connection was (or is, so far) open.
func (c Client) Duration() time.Duration {
	if c.Open {
		return time.Since(c.Opened)
	}
	return c.ClosedAt.Sub(c.Opened)
}
