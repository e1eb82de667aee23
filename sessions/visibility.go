package sessions

// Who can read an event: one set of rules for every renderer (the text,
// JSON and Markdown printers and the TUI), so that the session screen and
// `mailwire session --lens eavesdropper` always agree.

// Badge says who can read an event: CLEARTEXT (anyone on the path, RFC 8314
// §1), HANDSHAKE (TLS metadata in the clear), ENCRYPTED (only the
// endpoints), TCP (the connection itself), ERROR or LOCAL (never on the
// wire).
func Badge(ev Event) string {
	if ev.Kind == KindVerdict {
		return "VERDICT"
	}
	if ev.Layer == LayerTCP && ev.Kind != KindError {
		// Connect and close: an observer sees the TCP segments (addresses,
		// ports, timing), which is metadata but not the TLS handshake.
		return "TCP"
	}
	switch ev.Visible {
	case VisibleAnyone:
		return "CLEARTEXT"
	case VisibleMetadata:
		return "HANDSHAKE"
	case VisibleEndpoints:
		return "ENCRYPTED"
	}
	if ev.Kind == KindError {
		return "ERROR"
	}
	return "LOCAL"
}

// OnWire says whether a passive observer saw (something of) the event, and
// so whether the eavesdropper lens shows it.
func OnWire(ev Event) bool {
	switch ev.Kind {
	case KindConnect, KindClose, KindBoundary, KindRecord, KindEncrypted:
		return true
	case KindHandshake:
		// A TLS 1.3 message decrypted from the session's own key log
		// travelled encrypted: the observer saw only its record.
		return ev.Handshake == nil || !ev.Handshake.Encrypted
	case KindLine:
		return ev.Layer == LayerCleartext
	case KindNote:
		// Bytes a server injected before TLS (RFC 3207 §4.2) crossed the
		// wire in the clear.
		return ev.Layer == LayerCleartext && len(ev.Raw) > 0
	}
	return false
}

// InEavesdropperLens: what crossed the wire, and errors and a scenario's
// verdicts, which never do but without which the reader would not learn
// that the session failed or what the scenario found.
func InEavesdropperLens(ev Event) bool {
	return OnWire(ev) || ev.Kind == KindError || ev.Kind == KindVerdict
}

// LegTag is the prefix the printers put before an event's text when the
// event belongs to one connection of several ("[attacker-server] "), "" otherwise.
func LegTag(ev Event) string {
	if ev.Leg == "" {
		return ""
	}
	return "[" + SafeString(ev.Leg) + "] "
}

// WireAnnotation is the annotation key explaining what an observer sees of
// an event ("" when it saw nothing of it).
func WireAnnotation(ev Event) string {
	switch ev.Visible {
	case VisibleAnyone:
		return "wire.cleartext"
	case VisibleMetadata:
		if ev.Kind == KindRecord || ev.Kind == KindHandshake {
			return "wire.metadata"
		}
	case VisibleEndpoints:
		return "wire.encrypted"
	}
	return ""
}
