// Package lens is the one home of the fact mailwire exists to teach: who can
// read what crossed the wire. Every renderer — the text, JSON and Markdown
// printers, the session screen's timeline, detail pane and "learned so far"
// pane, the scenario compare table and hop diagram — asks this package
// whether an event shows, which of its bytes and fields show, and what a
// passive observer has learned up to a given event on a given connection
// (Observe). Renderers only phrase the answers; none decides visibility on
// its own.
//
// Two lenses exist. The endpoint lens is the client's view: every protocol
// line, decrypted or not, every handshake message the dissector decoded, the
// TLS state the client settled on. The eavesdropper lens is a passive
// observer's on the path between client and server: cleartext protocol bytes
// as they were (RFC 8314 §1), TLS record headers (RFC 8446 §5.1: never
// encrypted), handshake messages sent in the clear (the ClientHello and
// ServerHello always, and before TLS 1.3 the certificate, RFC 8446 §4.4.2),
// and of encrypted records only their type, length and timing.
package lens

import (
	"fmt"

	"github.com/mailwire/mailwire/sessions/tlsmsg"
	"github.com/mailwire/mailwire/sessions/wire"
)

// Lens is whose view a renderer shows.
type Lens uint8

const (
	// Endpoint is what the client endpoint saw: the protocol inside TLS
	// too. The zero value.
	Endpoint Lens = iota
	// Eavesdropper is what a passive observer on the path saw.
	Eavesdropper
)

var names = [...]string{Endpoint: "endpoint", Eavesdropper: "eavesdropper"}

// All lists the lenses, the default first.
func All() []Lens { return []Lens{Endpoint, Eavesdropper} }

// String is the lens's name, as --lens takes it.
func (l Lens) String() string {
	if int(l) < len(names) {
		return names[l]
	}
	return fmt.Sprintf("lens(%d)", uint8(l))
}

// Parse reads a lens name; "" is the endpoint lens.
func Parse(s string) (Lens, error) {
	switch s {
	case "", names[Endpoint]:
		return Endpoint, nil
	case names[Eavesdropper]:
		return Eavesdropper, nil
	}
	return Endpoint, fmt.Errorf("lens %q: want %s or %s", s, names[Endpoint], names[Eavesdropper])
}

// MarshalText writes the lens's name (flags, JSON, recordings).
func (l Lens) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText reads a lens name.
func (l *Lens) UnmarshalText(b []byte) error {
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// OnWire says whether a passive observer saw something of the event: the
// TCP connection and its end, the STARTTLS boundary (it sees the protocol
// turn into TLS records), every TLS record, handshake messages sent in the
// clear, cleartext protocol lines and bytes a server injected before TLS.
func OnWire(ev wire.Event) bool {
	switch ev.Kind {
	case wire.KindConnect, wire.KindClose, wire.KindBoundary,
		wire.KindRecord, wire.KindEncrypted:
		return true
	case wire.KindHandshake:
		// A TLS 1.3 message decrypted from the session's own key log
		// travelled encrypted: the observer saw only its record.
		return ev.Handshake == nil || !ev.Handshake.Encrypted
	case wire.KindLine:
		return ev.Layer == wire.LayerCleartext
	case wire.KindNote:
		// Bytes a server injected before TLS (RFC 3207 §4.2) crossed the
		// wire in the clear; every other note is mailwire's own.
		return ev.Layer == wire.LayerCleartext && len(ev.Raw) > 0
	}
	return false
}

// Readable says whether anyone on the path could read the event's content,
// not only its size: cleartext lines and injected bytes.
func Readable(ev wire.Event) bool {
	return OnWire(ev) && ev.Visible == wire.VisibleAnyone
}

// Shows says whether the lens has a row for the event. The eavesdropper
// lens shows what crossed the wire, and also errors and a scenario's
// verdicts, which never do but without which the reader would not learn
// that the session failed or what the scenario found; renderers mark those
// as not on the wire (Badge).
func (l Lens) Shows(ev wire.Event) bool {
	if l == Endpoint {
		return true
	}
	return OnWire(ev) || ev.Kind == wire.KindError || ev.Kind == wire.KindVerdict
}

// Bytes are the bytes of the event the lens shows. In the endpoint lens:
// protocol lines as written or read (inside TLS: after decryption), whole
// TLS records, handshake messages, injected bytes. In the eavesdropper lens:
// what crossed the wire and says something — cleartext lines, injected
// bytes, cleartext handshake messages and record headers — and of an
// encrypted record only its 5-byte header (type, version, length, RFC 8446
// §5.1), since its payload is ciphertext that says nothing but its size.
func (l Lens) Bytes(ev wire.Event) []byte {
	switch ev.Kind {
	case wire.KindLine:
		if l == Eavesdropper && !OnWire(ev) {
			return nil
		}
		return ev.Raw
	case wire.KindNote:
		if l == Eavesdropper && !OnWire(ev) {
			return nil
		}
		return ev.Raw
	case wire.KindHandshake:
		if l == Eavesdropper && !OnWire(ev) {
			return nil
		}
		return ev.Raw
	case wire.KindRecord:
		return ev.Raw
	case wire.KindEncrypted:
		if l == Eavesdropper && len(ev.Raw) > recordHeaderLen {
			return ev.Raw[:recordHeaderLen]
		}
		return ev.Raw
	}
	return nil
}

// recordHeaderLen is a TLS record header: type(1) legacy_record_version(2)
// length(2), RFC 8446 §5.1.
const recordHeaderLen = 5

// Fields are the decoded handshake fields the lens shows. The endpoint lens
// shows every field; the eavesdropper lens the ones of a message that
// crossed in the clear which tell an observer something: the server name
// (RFC 6066 §3), ALPN (RFC 7301), the versions and cipher suite, and before
// TLS 1.3 the certificate (RFC 5246 §7.4.2). The rest of a cleartext
// message is readable too, but says little (randoms, key shares).
func (l Lens) Fields(ev wire.Event) []tlsmsg.Field {
	h := ev.Handshake
	if h == nil {
		return nil
	}
	if l == Endpoint {
		return h.Fields
	}
	if !OnWire(ev) {
		return nil
	}
	var out []tlsmsg.Field
	for _, f := range h.Fields {
		if f.Metadata {
			out = append(out, f)
		}
	}
	return out
}

// ShowsLine says whether the lens shows the decoded protocol line (command,
// code, capabilities): always to the endpoint, to the observer only when it
// crossed in the clear.
func (l Lens) ShowsLine(ev wire.Event) bool {
	return ev.Line != nil && (l == Endpoint || OnWire(ev))
}

// ShowsCredential says whether the lens shows the credential decoded from
// the event: the endpoint sent it; the observer read it only when it
// crossed the wire in the clear.
func (l Lens) ShowsCredential(ev wire.Event) bool {
	c := ev.Credential
	return c != nil && (l == Endpoint || c.OnWire && Readable(ev))
}

// ShowsTLSState says whether the lens shows what the client endpoint
// settled in its handshake (version, suite, certificate check): only the
// endpoint knows it as such; the observer's share of it is in Observe.
func (l Lens) ShowsTLSState(ev wire.Event) bool {
	return ev.TLS != nil && l == Endpoint
}

// ShowsMeaning says whether the lens explains the event's protocol meaning
// (its Annotation): the endpoint always; the observer when it could read
// the event (cleartext) or see it happen (the STARTTLS boundary).
func (l Lens) ShowsMeaning(ev wire.Event) bool {
	if l == Endpoint || ev.Kind == wire.KindError || ev.Kind == wire.KindVerdict {
		return true
	}
	return Readable(ev) || ev.Kind == wire.KindBoundary
}

// Project returns the event as the lens shows it, for renderers that write
// events out whole (JSON Lines, recordings): false when the lens has no row
// for it. The eavesdropper's copy keeps what crossed the wire and drops
// what only the endpoints knew: decrypted lines and handshake messages are
// gone, an encrypted record keeps its header, a handshake message its
// telling fields, a credential only when it crossed in the clear, and the
// client's TLS state not at all.
func (l Lens) Project(ev wire.Event) (wire.Event, bool) {
	if !l.Shows(ev) {
		return wire.Event{}, false
	}
	if l == Endpoint {
		return ev, true
	}
	out := ev
	out.Raw = l.Bytes(ev)
	out.TLS = nil
	if !l.ShowsLine(ev) {
		out.Line = nil
	}
	if !l.ShowsCredential(ev) {
		out.Credential = nil
	}
	if !l.ShowsMeaning(ev) {
		out.Also = nil
	}
	if h := ev.Handshake; h != nil {
		hc := *h
		hc.Fields = l.Fields(ev)
		out.Handshake = &hc
	}
	return out, true
}

// Badge says who can read an event: CLEARTEXT (anyone on the path, RFC 8314
// §1), HANDSHAKE (TLS metadata in the clear), ENCRYPTED (only the
// endpoints), TCP (the connection itself), ERROR or LOCAL (never on the
// wire), VERDICT (a scenario's finding).
func Badge(ev wire.Event) string {
	if ev.Kind == wire.KindVerdict {
		return "VERDICT"
	}
	if ev.Layer == wire.LayerTCP && ev.Kind != wire.KindError {
		// Connect and close: an observer sees the TCP segments (addresses,
		// ports, timing), which is metadata but not the TLS handshake.
		return "TCP"
	}
	switch ev.Visible {
	case wire.VisibleAnyone:
		return "CLEARTEXT"
	case wire.VisibleMetadata:
		return "HANDSHAKE"
	case wire.VisibleEndpoints:
		return "ENCRYPTED"
	}
	if ev.Kind == wire.KindError {
		return "ERROR"
	}
	return "LOCAL"
}

// WireAnnotation is the annotation key explaining what an observer sees of
// an event ("" when it saw nothing of it).
func WireAnnotation(ev wire.Event) string {
	switch ev.Visible {
	case wire.VisibleAnyone:
		return "wire.cleartext"
	case wire.VisibleMetadata:
		if ev.Kind == wire.KindRecord || ev.Kind == wire.KindHandshake {
			return "wire.metadata"
		}
	case wire.VisibleEndpoints:
		return "wire.encrypted"
	}
	return ""
}
