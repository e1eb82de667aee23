package tui

import (
	"sort"

	"github.com/mailwire/mailwire/sessions/lens"
	"github.com/mailwire/mailwire/sessions/render"
	"github.com/mailwire/mailwire/sessions/tlsmsg"
	"github.com/mailwire/mailwire/sessions/wire"
)

// Visibility: what the chosen lens can see is decided by the engine's lens
// (package sessions/lens), the one home of that fact for every renderer.
// This file says only which of its answers applies to which part of the
// screen; the timeline, the detail pane and the "learned so far" list ask
// these functions, and none of them compares lenses itself.

// otherLens is the lens tab switches to.
func otherLens(l lens.Lens) lens.Lens {
	if l == lens.Endpoint {
		return lens.Eavesdropper
	}
	return lens.Endpoint
}

// observer says whether the lens is a passive observer's: the panes then
// tell what it learned, and word what they show from its seat.
func observer(l lens.Lens) bool { return l == lens.Eavesdropper }

// lensShows says whether the lens has a timeline row for ev.
func lensShows(l lens.Lens, ev *wire.Event) bool { return l.Shows(*ev) }

// lensFolds says whether ev is folded with the records next to it into one
// timeline row: the endpoints see TLS records only as the lines and
// handshake messages decoded from them, so in their lens the records of a
// flight are one row.
func lensFolds(l lens.Lens, ev *wire.Event) bool {
	return l == lens.Endpoint && isRecord(ev)
}

// lensFoldsWith says whether ev joins the folded row that prev ends: both
// fold, and both crossed the same connection (with a machine in the
// middle, the attacker's records to the server are not the client's).
func lensFoldsWith(l lens.Lens, prev, ev *wire.Event) bool {
	return lensFolds(l, prev) && lensFolds(l, ev) && prev.Leg == ev.Leg
}

// lensDims says whether ev's row is of little interest in the lens and is
// drawn dimmed: records and encrypted bytes, to the endpoints, who read
// what they carry on other rows.
func lensDims(l lens.Lens, ev *wire.Event) bool {
	return l == lens.Endpoint && (isRecord(ev) || ev.Layer == wire.LayerEncrypted)
}

// lensRowText is ev's text on its timeline row, and whether an annotation
// title may follow it: the endpoints read the event itself; an observer
// reads what crossed the wire (a record's type and size, the metadata of a
// cleartext handshake message), which says already what it is.
func lensRowText(l lens.Lens, ev wire.Event) (text string, titled bool) {
	if observer(l) {
		return wireText(ev), false
	}
	return render.FirstLine(ev), true
}

// wireText is ev as an observer reads it on the wire: a record as its type
// and size, a cleartext handshake message with the metadata it leaks. The
// endpoint lens lists the records of a folded run this way.
func wireText(ev wire.Event) string { return render.EavesdropperText(ev, true) }

// rowBadge says who reads the row of events first..last (its "who reads"
// column): the lens's badge of the event; for a folded run of records,
// ENCRYPTED when it holds ciphertext (looking at its first few: a run is
// one flight), since that is most of what it carries.
func rowBadge(evs []wire.Event, first, last int) string {
	if first != last {
		for i := first; i <= last && i < first+64; i++ {
			if evs[i].Kind == wire.KindEncrypted {
				return "ENCRYPTED"
			}
		}
	}
	return lens.Badge(evs[first])
}

// explanation names the annotations (content keys) that explain an event
// in a lens.
type explanation struct {
	wire string   // what the observer sees of it ("On the wire: …")
	own  string   // the event's own annotation, when the lens can read what it explains
	also []string // further notes about it (the endpoints' lens only)
}

// lensExplains says which annotations explain ev in the lens: to the
// endpoints its own and its further notes; to an observer what it saw of
// the event, and the event's own annotation only when the lens reads what
// it explains.
func lensExplains(l lens.Lens, ev wire.Event) explanation {
	if !observer(l) {
		return explanation{own: ev.Annotation, also: ev.Also}
	}
	e := explanation{wire: lens.WireAnnotation(ev)}
	if l.ShowsMeaning(ev) && ev.Kind != wire.KindError && ev.Kind != wire.KindVerdict {
		e.own = ev.Annotation
	}
	return e
}

// lensShowsLine says whether the decoded protocol line (command, reply
// code, capabilities) of ev shows.
func lensShowsLine(l lens.Lens, ev wire.Event) bool { return l.ShowsLine(ev) }

// lensFields are the fields of a handshake message the lens reads.
func lensFields(l lens.Lens, ev wire.Event) []tlsmsg.Field { return l.Fields(ev) }

// lensShowsTLSState says whether the client's negotiated TLS state shows.
func lensShowsTLSState(l lens.Lens, ev wire.Event) bool { return l.ShowsTLSState(ev) }

// bytesForm says what the bytes of an event in the detail pane are.
type bytesForm int

const (
	bytesWire    bytesForm = iota // as they crossed the wire (hex)
	bytesDecoded                  // a decoded message, after decryption (hex)
	bytesWritten                  // a protocol line as written on the connection (text)
	bytesFrame                    // an HTTP/2 frame: its header decoded, then its content
)

// lensBytes picks the bytes the detail pane shows of ev (the lens decides
// which), and says what they are: to an observer always the bytes as they
// crossed the wire; to the endpoints the protocol lines as written and the
// handshake messages as decoded.
func lensBytes(l lens.Lens, ev *wire.Event) ([]byte, bytesForm) {
	raw := l.Bytes(*ev)
	switch {
	case len(raw) == 0:
		return nil, bytesWire
	case observer(l):
		return raw, bytesWire
	case ev.Kind == wire.KindLine && ev.Line != nil && ev.Line.Frame != nil:
		return raw, bytesFrame
	case ev.Kind == wire.KindLine:
		return raw, bytesWritten
	case ev.Layer == wire.LayerDecrypted || ev.Kind == wire.KindHandshake:
		return raw, bytesDecoded
	}
	return raw, bytesWire
}

// observe is what a passive observer on leg's path has learned up to and
// including the event whose Seq is seq: the lens's observation.
func observe(evs []wire.Event, seq int, leg string) lens.Observation {
	i := sort.Search(len(evs), func(k int) bool { return evs[k].Seq >= seq })
	return lens.Observe(evs, i, leg)
}

// observerLeg is the path the observer of the "learned so far" list sits
// on for an event: its own connection; for an event of no connection (a
// scenario's own note) the only connection when there is one, else the
// events of no connection, which speak for the whole stream.
func observerLeg(legs []string, ev *wire.Event) string {
	if ev.Leg == "" && len(legs) == 1 {
		return legs[0]
	}
	return ev.Leg
}
