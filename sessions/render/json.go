package render

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/mailwire/mailwire/sessions/wire"
)

// JSON writes the session as JSON Lines (https://jsonlines.org): one
// JSON object per event, one event per line, in stream order. Lines suit
// streaming (`mailwire session … | jq -c 'select(.visible=="anyone")'`) and a
// partial output is still valid up to its last line. Each line decodes into
// an Event with encoding/json; Options other than RevealSecrets are
// ignored. Text and other strings are JSON strings, so invalid UTF-8 in
// them becomes U+FFFD; raw keeps every byte. DEL, C1 controls and Unicode
// format characters are written as \u escapes, so even a raw JSON dump on a
// terminal is inert.
//
// Schema of one line (fields with omitempty are absent when empty):
//
//	seq         int     1, 2, … in stream order
//	at_ns       int     nanoseconds since the session started dialing
//	kind        string  connect | line | boundary | record | handshake |
//	                    encrypted | tls-state | note | error | close
//	dir         string  c2s | s2c | local
//	layer       string  tcp | cleartext | tls | encrypted | decrypted | note
//	visible     string  anyone (cleartext on the path) | metadata (TLS
//	                    handshake in the clear) | endpoints (only client and
//	                    server) | none (never on the wire)
//	leg         string  connection name when a session has several (omitempty)
//	raw         string  base64 (RFC 4648 §4) of the bytes as they crossed the
//	                    wire, or as the endpoint read/wrote them inside TLS
//	text        string  one-line summary; may hold any byte the peer sent
//	annotation  string  key into the annotation dictionary (content.Lookup)
//	also        [string] more annotation keys (one per capability, …)
//	line        {proto, command, code, enhanced, capabilities[]}
//	record      {content_type, version, length, alert{level, description}}
//	            TLS record header; alert for an alert readable on the wire
//	handshake   {type, msg_type, fields[{name, value, annotation, metadata}],
//	            encrypted, error} and the typed message under its type's
//	            name (client_hello, server_hello, certificate, …; see
//	            tlsmsg/messages.go): code points as numbers, bytes base64,
//	            extensions[{id, length, malformed, names[], codes[],
//	            key_shares[], identity_lengths[], value, ech}] in wire order
//	tls         {version, cipher_suite, alpn, server_name, verified,
//	             verify_error, verify_method, chain}; chain is
//	             {name, checked_at, certs[], more_certs, anchor,
//	             problems[{kind, annotation, cert, fatal, detail}]}, each
//	             cert {subject, issuer, serial, dns_names[], ip_addresses[],
//	             emails[], uris[], more_names, not_before, not_after,
//	             key_type, key_bits, curve, signature_algorithm, sha256,
//	             spki_sha256, ca, self_signed, must_staple,
//	             scts[{version, log_id, time}], scts_malformed,
//	             issuer_urls[]} (package certs); an error event whose
//	             handshake stopped on the certificate carries tls too
//	credential  {mechanism, username, password, on_wire}
//	error       {op, message, explain}
//	redacted    bool    true when a password was masked in this event
//
// The lens decides what each line holds (lens.Lens.Project): the endpoint
// lens writes every event whole; the eavesdropper lens writes only the
// events that crossed the wire (and errors and verdicts), each with what an
// observer saw of it — an encrypted record as its 5-byte header and length,
// a cleartext handshake message with its telling fields, no client TLS
// state, no decrypted line, a credential only when it crossed in the clear.
//
// Redaction: unless RevealSecrets, an event that carried a password has
// credential.password set to "••••••••" and the secret-bearing argument
// masked the same way in both text and raw (see RedactSecrets), and gets
// "redacted": true, so a consumer knows raw is not the wire bytes there.
func JSON(w io.Writer, evs []wire.Event, o Options) error {
	evs, redacted := o.prepare(evs)
	bw := bufio.NewWriter(w)
	var line bytes.Buffer
	enc := json.NewEncoder(&line)
	// The output is data, not HTML: keep <, > and & as they are.
	enc.SetEscapeHTML(false)
	if err := o.checkLens(); err != nil {
		return err
	}
	for i, ev := range evs {
		ev, ok := o.Lens.Project(ev)
		if !ok {
			continue
		}
		line.Reset()
		if err := enc.Encode(jsonEvent{Event: ev, Redacted: redacted[i]}); err != nil {
			return fmt.Errorf("encode event %d: %w", ev.Seq, err)
		}
		if _, err := bw.Write(escapeTerminalRunes(line.Bytes())); err != nil {
			return fmt.Errorf("write event %d: %w", ev.Seq, err)
		}
	}
	return bw.Flush()
}

// escapeTerminalRunes escapes, as \uXXXX, what encoding/json leaves raw
// in strings but a terminal may act on: DEL, the C1 controls U+0080–U+009F
// (U+009B is CSI on terminals that honour 8-bit controls) and format
// characters such as bidi overrides (CVE-2021-42574). Outside strings JSON
// is ASCII, so every such rune is inside a string, where the escape decodes
// to the same rune (RFC 8259 §7). encoding/json already escapes C0
// controls and replaces invalid UTF-8 with \ufffd.
func escapeTerminalRunes(b []byte) []byte {
	var out []byte
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == 0x7f || (r >= 0x80 && r <= 0x9f) || (r > 0x7f && unicode.Is(unicode.Cf, r)) {
			if out == nil {
				out = append(make([]byte, 0, len(b)+16), b[:i]...)
			}
			if r > 0xffff {
				r1, r2 := utf16.EncodeRune(r)
				out = fmt.Appendf(out, `\u%04x\u%04x`, r1, r2)
			} else {
				out = fmt.Appendf(out, `\u%04x`, r)
			}
		} else if out != nil {
			out = append(out, b[i:i+size]...)
		}
		i += size
	}
	if out == nil {
		return b
	}
	return out
}

// jsonEvent is one line of JSON: the event's own fields, plus
// "redacted".
type jsonEvent struct {
	wire.Event
	Redacted bool `json:"redacted,omitempty"`
}
