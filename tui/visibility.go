package tui

import (
	"slices"

	"github.com/mailwire/mailwire/sessions"
)

// Visibility: every decision of the session screen about what the chosen
// lens can see lives in this file, and only here. The timeline, the detail
// pane and the "learned so far" list ask these functions; none of them
// compares lenses itself. The rules come from the engine
// (sessions/visibility.go); what stays here is which of them applies to
// which part of the screen.
//
// This is the seam for the engine's lens (issue 10): each function below
// becomes a call into it, and lens becomes its type.

// lens is whose view the session screen shows.
type lens int

const (
	lensEndpoint     lens = iota // the protocol as client and server see it
	lensEavesdropper             // what a passive observer on the path sees
)

// other is the lens tab switches to.
func (l lens) other() lens {
	if l == lensEndpoint {
		return lensEavesdropper
	}
	return lensEndpoint
}

// observer says whether the lens is a passive observer's: the panes then
// tell what it learned, and word what they show from its seat.
func (l lens) observer() bool { return l == lensEavesdropper }

// lensShows says whether the lens has a timeline row for ev: the endpoints
// see every event; an observer what crossed the wire, and the errors and
// verdicts without which it would not learn how the session ended.
func lensShows(l lens, ev *sessions.Event) bool {
	return l == lensEndpoint || sessions.InEavesdropperLens(*ev)
}

// lensFolds says whether ev is folded with the records next to it into one
// timeline row: the endpoints see TLS records only as the lines and
// handshake messages decoded from them, so in their lens the records of a
// flight are one row.
func lensFolds(l lens, ev *sessions.Event) bool {
	return l == lensEndpoint && isRecord(ev)
}

// lensDims says whether ev's row is of little interest in the lens and is
// drawn dimmed: records and encrypted bytes, to the endpoints, who read
// what they carry on other rows.
func lensDims(l lens, ev *sessions.Event) bool {
	return l == lensEndpoint && (isRecord(ev) || ev.Layer == sessions.LayerEncrypted)
}

// lensRowText is ev's text on its timeline row, and whether an annotation
// title may follow it: the endpoints read the event itself; an observer
// reads what crossed the wire (a record's type and size, the metadata of a
// cleartext handshake message), which says already what it is.
func lensRowText(l lens, ev sessions.Event) (text string, titled bool) {
	if l == lensEavesdropper {
		return wireText(ev), false
	}
	return sessions.FirstLine(ev), true
}

// wireText is ev as an observer reads it on the wire: a record as its type
// and size, a cleartext handshake message with the metadata it leaks. The
// endpoint lens lists the records of a folded run this way.
func wireText(ev sessions.Event) string { return sessions.EavesdropperText(ev, true) }

// rowBadge says who reads the row of events first..last (its "who reads"
// column): the engine's badge of the event; for a folded run of records,
// ENCRYPTED when it holds ciphertext (looking at its first few: a run is
// one flight), since that is most of what it carries.
func rowBadge(evs []sessions.Event, first, last int) string {
	if first != last {
		for i := first; i <= last && i < first+64; i++ {
			if evs[i].Kind == sessions.KindEncrypted {
				return "ENCRYPTED"
			}
		}
	}
	return sessions.Badge(evs[first])
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
// the event, and the event's own annotation only when the event crossed
// the wire readable (or is the TLS boundary, which it sees happen).
func lensExplains(l lens, ev sessions.Event) explanation {
	if l == lensEndpoint {
		return explanation{own: ev.Annotation, also: ev.Also}
	}
	e := explanation{wire: sessions.WireAnnotation(ev)}
	if sessions.OnWire(ev) && ev.Visible == sessions.VisibleAnyone || ev.Kind == sessions.KindBoundary {
		e.own = ev.Annotation
	}
	return e
}

// lensShowsLine says whether the decoded protocol line (command, reply
// code, capabilities) of ev shows: to the endpoints always, to an observer
// only when the line crossed the wire in the clear.
func lensShowsLine(l lens, ev sessions.Event) bool {
	return l == lensEndpoint || sessions.OnWire(ev)
}

// lensShowsField says whether a field of a handshake message shows: every
// field to the endpoints; to an observer the metadata it can use (names,
// versions, cipher suite, a TLS 1.2 certificate).
func lensShowsField(l lens, f sessions.Field) bool {
	return l == lensEndpoint || sessions.MetadataField(f)
}

// lensShowsTLSState says whether the negotiated TLS state shows: it is the
// client's own view (what it agreed and verified), which an observer can
// only partly infer from the cleartext handshake.
func lensShowsTLSState(l lens) bool { return l == lensEndpoint }

// bytesForm says what the bytes of an event in the detail pane are.
type bytesForm int

const (
	bytesWire    bytesForm = iota // as they crossed the wire (hex)
	bytesDecoded                  // a decoded message, after decryption (hex)
	bytesWritten                  // a protocol line as written on the connection (text)
)

// lensBytes picks the bytes the detail pane shows of ev, and what they are:
// to an observer the bytes as they crossed the wire (cleartext lines, whole
// TLS records, cleartext handshake messages, injected bytes), never a
// decrypted line; to the endpoints the protocol lines as written and the
// handshake messages as decoded.
func lensBytes(l lens, ev *sessions.Event) ([]byte, bytesForm) {
	var raw []byte
	switch ev.Kind {
	case sessions.KindLine:
		if l == lensEavesdropper && ev.Layer != sessions.LayerCleartext {
			return nil, bytesWire
		}
		raw = ev.Raw
	case sessions.KindNote, sessions.KindRecord, sessions.KindEncrypted, sessions.KindHandshake:
		raw = ev.Raw
	default:
		return nil, bytesWire
	}
	switch {
	case ev.Kind == sessions.KindLine && l == lensEndpoint:
		return raw, bytesWritten
	case ev.Layer == sessions.LayerDecrypted || ev.Kind == sessions.KindHandshake && l == lensEndpoint:
		return raw, bytesDecoded
	}
	return raw, bytesWire
}

// observation is what a passive observer on the path has learned up to an
// event: facts, which the detail pane words.
type observation struct {
	clearLines           int      // protocol lines read in the clear
	encRecords, encBytes int      // encrypted records and their payload bytes
	sni, alpn, certs     []string // server names asked for, ALPN, certificate subjects (sanitized)
	creds                bool     // a credential crossed the wire readable
	tls                  bool     // the connection turned into TLS
}

// observe builds the observation of evs[:upTo], on one leg's path when leg
// is set (an observer sits on one connection of several).
func observe(evs []sessions.Event, upTo int, leg string) observation {
	var o observation
	add := func(list []string, v string) []string {
		if slices.Contains(list, v) {
			return list
		}
		return append(list, v)
	}
	for i := range upTo {
		ev := &evs[i]
		if leg != "" && ev.Leg != leg {
			continue
		}
		switch {
		case ev.Kind == sessions.KindLine && ev.Layer == sessions.LayerCleartext:
			o.clearLines++
		case ev.Kind == sessions.KindBoundary:
			o.tls = true
		case ev.Kind == sessions.KindEncrypted:
			o.encRecords++
			if ev.Record != nil {
				o.encBytes += ev.Record.Length
			}
		case ev.Kind == sessions.KindHandshake && ev.Handshake != nil && !ev.Handshake.Encrypted:
			for _, f := range ev.Handshake.Fields {
				switch {
				case f.Annotation == "tls.ext.server_name" && ev.Handshake.Type == "client_hello":
					o.sni = add(o.sni, sessions.SafeString(f.Value))
				case f.Annotation == "tls.ext.application_layer_protocol_negotiation":
					o.alpn = add(o.alpn, sessions.SafeString(f.Value))
				case f.Annotation == "tls.cert.subject":
					o.certs = add(o.certs, sessions.SafeString(f.Value))
				}
			}
		}
		if ev.Credential != nil && ev.Credential.OnWire {
			o.creds = true
		}
	}
	return o
}

// observerLeg is the path the observer of the "learned so far" list sits
// on for an event: with several connections, the event's own (events of no
// leg speak for the whole stream); with one, the whole stream.
func observerLeg(legs int, ev *sessions.Event) string {
	if legs > 1 {
		return ev.Leg
	}
	return ""
}
