package scenario

import (
	"bytes"
	"encoding/base64"

	"github.com/mailwire/mailwire/sessions/lens"
	"github.com/mailwire/mailwire/sessions/wire"
)

// Evidence: pure functions of an event stream that the verdicts, the tests
// and the compare table share, so that what a scenario claims is always
// what its events show.

// CredentialsOnWire returns the Seq of every event that carried a decoded
// credential readable by anyone on the path (before TLS), as the lens
// judges it.
func CredentialsOnWire(evs []wire.Event) []int {
	var out []int
	for _, ev := range evs {
		if lens.Eavesdropper.ShowsCredential(ev) {
			out = append(out, ev.Seq)
		}
	}
	return out
}

// EavesdropperBytes returns, concatenated, the raw bytes of every event a
// passive observer on the path could read: cleartext lines and the
// handshake bytes sent in the clear. Encrypted records contribute nothing
// readable.
func EavesdropperBytes(evs []wire.Event) []byte {
	var b bytes.Buffer
	for _, ev := range evs {
		if lens.OnWire(ev) && ev.Visible == wire.VisibleAnyone {
			b.Write(ev.Raw)
		}
	}
	return b.Bytes()
}

// Exposes says whether secret can be read from b as it would cross the
// wire: in clear (USER/PASS, IMAP LOGIN), or base64-encoded as SASL sends
// it (AUTH LOGIN's password alone, AUTH PLAIN's "\x00user\x00password" or
// "authzid\x00user\x00password", RFC 4616 §2).
func Exposes(b []byte, secret string) bool {
	if secret == "" {
		return false
	}
	if bytes.Contains(b, []byte(secret)) {
		return true
	}
	for _, tok := range bytes.Fields(b) {
		dec, err := base64.StdEncoding.DecodeString(string(tok))
		if err != nil {
			continue
		}
		if bytes.Contains(dec, []byte(secret)) {
			return true
		}
	}
	return false
}

// Handshakes returns the TLS handshake events of a stream with the given
// message type ("certificate", "client_hello", …).
func Handshakes(evs []wire.Event, typ string) []wire.Event {
	var out []wire.Event
	for _, ev := range evs {
		if ev.Kind == wire.KindHandshake && ev.Handshake != nil && ev.Handshake.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

// ServerName returns the server name (SNI, RFC 6066 §3) of the first
// ClientHello in evs that sent one, and the Seq of its event.
func ServerName(evs []wire.Event) (string, int) {
	for _, ev := range evs {
		if ev.Handshake != nil && ev.Handshake.ClientHello != nil {
			if sni := ev.Handshake.ClientHello.ServerName(); sni != "" {
				return sni, ev.Seq
			}
		}
	}
	return "", 0
}

// TLSStateOf returns the client's view of the TLS session, if one began.
func TLSStateOf(evs []wire.Event) *wire.TLSState {
	for _, ev := range evs {
		if ev.Kind == wire.KindTLSState && ev.TLS != nil {
			return ev.TLS
		}
	}
	return nil
}

// FirstError returns the first error event, if any.
func FirstError(evs []wire.Event) *wire.Event {
	for i := range evs {
		if evs[i].Kind == wire.KindError {
			return &evs[i]
		}
	}
	return nil
}
