package sessions

import (
	"bytes"
	"fmt"
	"time"

	"github.com/mailwire/mailwire/sessions/internal/words"
	"github.com/mailwire/mailwire/sessions/wire"
)

// The way out of a session's events: every event of a Conversation passes
// through its emitter, which numbers it, keeps it within the session's
// Budget (wire.Budget) and sums up runs of TLS records. A limit reached is
// a note of its own (wire.BudgetKey…), given once, never an error: the
// driver goes on reading and the close event says what was dropped.

// coalesceMin is how long a run of records must be to be shown as one
// event: shorter runs (a ServerHello and its Certificate, the two session
// tickets of TLS 1.3) keep a row per record, as they teach something; a
// flood of records, tiny or not, becomes one row with a count and a total.
const coalesceMin = 4

// coalesceWindow bounds how long a run is held before it is shown: a run
// longer than that in time (a server trickling records) is shown as a
// row per window, so a screen watching the session sees it go on.
const coalesceWindow = time.Second

// emitter numbers, bounds and coalesces the events of one Conversation.
// It is used under the Conversation's emitMu.
type emitter struct {
	b     wire.Budget
	fn    func(wire.Event)
	start time.Time

	seq     int   // events passed on
	kept    int64 // Raw bytes passed on
	dropped int   // events dropped past Budget.Events
	// droppedBytes are the bytes the dropped events stood for.
	droppedBytes int64
	noted        map[string]bool // budget notes already given
	pending      []wire.Event    // budget notes that follow the event being passed on

	// run holds the records of a run not yet long enough to coalesce; agg
	// is the coalesced event once it is.
	run []wire.Event
	agg *wire.Event
}

func newEmitter(fn func(wire.Event), start time.Time, b wire.Budget) *emitter {
	return &emitter{b: b.WithDefaults(), fn: fn, start: start, noted: map[string]bool{}}
}

// emit takes one event, stamped with its time of arrival.
func (e *emitter) emit(ev wire.Event) {
	if coalescable(ev) {
		if len(e.run) > 0 && sameRun(e.run[0], ev) && ev.At-e.run[0].At < coalesceWindow {
			e.extend(ev)
			return
		}
		e.flush()
		e.run = append(e.run[:0], ev)
		return
	}
	e.flush()
	e.out(ev)
}

// flush passes on the run being held: one coalesced event, or its few
// records one by one.
func (e *emitter) flush() {
	if e.agg != nil {
		agg := *e.agg
		e.agg = nil
		e.run = e.run[:0]
		agg.Text = coalescedText(agg)
		e.out(agg)
		return
	}
	run := e.run
	e.run = nil
	for _, ev := range run {
		e.out(ev)
	}
}

// coalescable says whether ev is a TLS record that may join a run: a
// record header (or an encrypted record) and nothing more, so that a
// record that carries an alert's meaning or an error stays on its own.
func coalescable(ev wire.Event) bool {
	return (ev.Kind == wire.KindRecord || ev.Kind == wire.KindEncrypted) && ev.Record != nil &&
		ev.Record.Alert == nil && ev.Handshake == nil && ev.Err == nil && len(ev.Also) == 0
}

// sameRun says whether ev continues the run that first started: same
// connection, direction, kind, content type and meaning.
func sameRun(first, ev wire.Event) bool {
	return first.Kind == ev.Kind && first.Dir == ev.Dir && first.Leg == ev.Leg &&
		first.Annotation == ev.Annotation && first.Record.ContentType == ev.Record.ContentType
}

// extend adds ev to the run; once the run is coalesceMin records long it
// becomes one event, whose Raw keeps the first bytes (up to EventBytes)
// and counts the rest.
func (e *emitter) extend(ev wire.Event) {
	if e.agg == nil {
		e.run = append(e.run, ev)
		if len(e.run) < coalesceMin {
			return
		}
		first := e.run[0]
		rec := *first.Record
		agg := first
		agg.Record = &rec
		agg.Raw, agg.RawLen = nil, 0
		agg.Also = []string{first.Annotation}
		agg.Annotation = annCoalesced
		rec.Count, rec.Total = 0, 0
		e.agg = &agg
		for _, r := range e.run {
			e.merge(r)
		}
		e.run = e.run[:1] // the run's first record decides what joins it
		return
	}
	e.merge(ev)
}

func (e *emitter) merge(ev wire.Event) {
	a := e.agg
	a.Record.Count++
	a.Record.Total += int64(ev.Record.Length)
	a.RawLen += ev.Bytes()
	if room := wire.Limit(e.b.EventBytes) - len(a.Raw); room > 0 {
		a.Raw = append(a.Raw, ev.Raw[:min(room, len(ev.Raw))]...)
	}
}

// annCoalesced is the annotation of a coalesced run; the records' own
// annotation follows in Also.
const annCoalesced = "tls.record.coalesced"

// coalescedText words a coalesced run as an eavesdropper would sum it up.
func coalescedText(ev wire.Event) string {
	r := ev.Record
	what := "TLS records: " + r.ContentType
	if ev.Kind == wire.KindEncrypted {
		what = "encrypted " + r.ContentType + " records"
	}
	return fmt.Sprintf("%s %s, %s of payload in all, %s on the wire with their headers (one row for the run)",
		wire.GroupDigits(int64(r.Count)), what, bytesText(r.Total), bytesText(ev.Bytes()))
}

func bytesText(n int64) string {
	if n == 1 {
		return "1 byte"
	}
	return wire.GroupDigits(n) + " bytes"
}

// reserved says whether ev is one a reader of the stream cannot do
// without, which may pass the Events limit (up to a tenth more).
func reserved(ev wire.Event) bool {
	switch ev.Kind {
	case wire.KindError, wire.KindBoundary, wire.KindTLSState, wire.KindVerdict, wire.KindNote, wire.KindClose, wire.KindConnect:
		return true
	}
	return false
}

// out bounds ev by the budget and passes it on, or drops it.
func (e *emitter) out(ev wire.Event) {
	events := wire.Limit(e.b.Events)
	if e.seq >= events {
		over := !reserved(ev) || e.seq >= events+max(events/10, 1)
		if over && ev.Kind != wire.KindClose {
			e.dropped++
			e.droppedBytes += ev.Bytes()
			e.note(wire.BudgetKeyEvents, fmt.Sprintf(
				"this session passed mailwire's budget of %s events (--max-events): later events are counted and dropped, except errors, notes, the TLS state, verdicts and the close; the session goes on",
				wire.GroupDigits(int64(events))), true)
			return
		}
	}
	if ev.Kind == wire.KindClose && e.dropped > 0 {
		ev.Text += fmt.Sprintf("; %s over the budget (%s bytes) were dropped from the timeline",
			words.Plural(e.dropped, "event"), wire.GroupDigits(e.droppedBytes))
	}
	ev.Text = wire.Elide(ev.Text, e.b.LineWidth)
	if n := len(ev.Raw); n > 0 {
		keep := min(n, wire.Limit(e.b.EventBytes))
		if keep < n {
			e.note(wire.BudgetKeyEventBytes, fmt.Sprintf(
				"an event of %s bytes keeps its first %s (mailwire's budget per event, --max-event-bytes); the rest crossed the wire and is counted, not kept",
				wire.GroupDigits(int64(n)), wire.GroupDigits(int64(keep))), false)
		}
		total := e.b.TotalBytes
		if total < 0 {
			total = int64(wire.Unlimited)
		}
		if room := total - e.kept; int64(keep) > room {
			keep = int(max(room, 0))
			e.note(wire.BudgetKeyTotalBytes, fmt.Sprintf(
				"this session's events keep %s bytes in all, mailwire's budget (--max-bytes): later events show what crossed and how much, without the bytes",
				wire.GroupDigits(e.b.TotalBytes)), false)
		}
		if keep < n {
			ev.RawLen = max(ev.RawLen, int64(n))
			ev.Raw = bytes.Clone(ev.Raw[:keep]) // let the rest be freed
		}
		e.kept += int64(keep)
	}
	e.pass(ev)
}

// note gives a budget note once per key; before says it goes before the
// event that reached the limit (which is then dropped), else after it.
func (e *emitter) note(key, text string, before bool) {
	if e.noted[key] {
		return
	}
	e.noted[key] = true
	n := wire.Event{At: time.Since(e.start), Kind: wire.KindNote, Dir: wire.Local, Layer: wire.LayerNote,
		Visible: wire.VisibleNone, Text: text, Annotation: key}
	if before {
		e.pass(n)
		return
	}
	e.pending = append(e.pending, n)
}

func (e *emitter) pass(ev wire.Event) {
	e.seq++
	ev.Seq = e.seq
	e.fn(ev)
	if len(e.pending) > 0 {
		p := e.pending
		e.pending = nil
		for _, n := range p {
			e.seq++
			n.Seq = e.seq
			e.fn(n)
		}
	}
}

// Emitter numbers, bounds and coalesces a stream of events that is not a
// Conversation's (the lab monitor's connections, sessions/monitor), with
// the same budget and notes. Emit takes events with their At set, in
// order; it is not safe for concurrent use.
type Emitter struct{ e *emitter }

// NewEmitter passes the events it is given on to fn, within b (its zero
// fields take their defaults); start is the stream's time origin.
func NewEmitter(fn func(wire.Event), start time.Time, b wire.Budget) *Emitter {
	return &Emitter{e: newEmitter(fn, start, b)}
}

// Emit takes one event; a run of TLS records may be held until it ends.
func (e *Emitter) Emit(ev wire.Event) { e.e.emit(ev) }

// Flush passes on a run of records still held (before the stream's end).
func (e *Emitter) Flush() { e.e.flush() }
