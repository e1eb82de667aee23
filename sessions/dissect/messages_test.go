package dissect

import (
	"bytes"
	"reflect"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mailwire/mailwire/sessions/render"
	"github.com/mailwire/mailwire/sessions/tlsmsg"
	"github.com/mailwire/mailwire/sessions/wire"
)

// typedSamples dissects streams that between them hold every message type
// the dissector decodes, in the clear and decrypted with a key log, and a
// message that does not parse.
func typedSamples(t *testing.T) []wire.Event {
	t.Helper()
	var evs []wire.Event
	for _, name := range []string{"tls12.bin", "tls13_hrr.bin"} {
		evs = append(evs, feedChunks(New(), readTranscript(t, name), nil)...)
	}
	evs = append(evs, runRFC8448(rfc8448KeyLog(), rfc8448ServerFlightPart)...)
	sh := hsMsg(tlsmsg.TypeServerHello, func(b *cryptobyte.Builder) {
		b.AddUint16(tlsmsg.VersionTLS12)
		b.AddBytes(make([]byte, 32))
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) {})
		b.AddUint16(0x009e) // DHE
		b.AddUint8(0)
	})
	flight := slices.Concat(sh,
		hsMsg(tlsmsg.TypeCertificateStatus, func(b *cryptobyte.Builder) {
			b.AddUint8(1)
			b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte{0x30, 0}) })
		}),
		hsMsg(tlsmsg.TypeServerKeyExchange, func(b *cryptobyte.Builder) {
			for _, v := range [][]byte{{0x80, 0, 0, 1}, {2}, make([]byte, 4)} {
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(v) })
			}
			b.AddUint16(0x0804)
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(make([]byte, 8)) })
		}),
		hsMsg(tlsmsg.TypeCertificateRequest, func(b *cryptobyte.Builder) {
			b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint8(64) })
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint16(0x0403) })
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {})
		}),
		hsMsg(tlsmsg.TypeNewSessionTicket, func(b *cryptobyte.Builder) {
			b.AddUint32(60)
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(make([]byte, 9)) })
		}),
		hsMsg(tlsmsg.TypeHelloRequest, func(*cryptobyte.Builder) {}),
		hsMsg(tlsmsg.TypeKeyUpdate, func(b *cryptobyte.Builder) { b.AddUint8(0) }),
		hsMsg(tlsmsg.TypeServerHelloDone, func(b *cryptobyte.Builder) { b.AddUint8(1) }), // not empty: malformed
	)
	flightEvs := New().Feed(wire.ServerToClient, recordBytes(RecordHandshake, flight))
	checkEvents(t, flightEvs)
	return append(evs, flightEvs...)
}

// TestHandshakeJSONRoundTrip: a session written with render.JSON and read
// back with ReadJSON (a recording) gives back the same typed messages, and
// their description is the display the events carried.
func TestHandshakeJSONRoundTrip(t *testing.T) {
	evs := typedSamples(t)
	for i := range evs {
		evs[i].Seq = i + 1
	}
	var buf bytes.Buffer
	if err := render.JSON(&buf, evs, render.Options{RevealSecrets: true}); err != nil {
		t.Fatal(err)
	}
	back, err := wire.ReadJSON(&buf, len(evs), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != len(evs) {
		t.Fatalf("read %d events of %d", len(back), len(evs))
	}
	seen := map[string]bool{}
	for i, e := range evs {
		h := e.Handshake
		if h == nil {
			continue
		}
		key := h.Type
		if h.Encrypted {
			key += " (decrypted)"
		}
		if h.Error != "" {
			key += " (malformed)"
		}
		seen[key] = true
		if !reflect.DeepEqual(back[i].Handshake, h) {
			t.Errorf("%s: read back\n got %+v\nwant %+v", key, back[i].Handshake, h)
		}
		if fields, text := tlsmsg.Describe(back[i].Handshake, back[i].Dir == wire.ClientToServer); text != e.Text || !reflect.DeepEqual(fields, h.Fields) {
			t.Errorf("%s: described after reading back: %q", key, text)
		}
	}
	for _, want := range []string{
		"client_hello", "server_hello", "hello_retry_request", "certificate", "server_key_exchange",
		"server_hello_done", "client_key_exchange", "certificate_status", "certificate_request",
		"new_session_ticket", "hello_request", "key_update", "server_hello_done (malformed)",
		"encrypted_extensions (decrypted)", "certificate (decrypted)", "certificate_verify (decrypted)", "finished (decrypted)",
	} {
		if !seen[want] {
			t.Errorf("no %s in the samples", want)
		}
	}
}

// TestHandshakeJSONShape pins the JSON of a typed message: numeric code
// points, byte codes as numbers, extensions in wire order with their ids.
func TestHandshakeJSONShape(t *testing.T) {
	evs := feedChunks(New(), readTranscript(t, "tls13.bin"), nil)
	var buf bytes.Buffer
	if err := render.JSON(&buf, evs[1:2], render.Options{}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		`"handshake":{"type":"client_hello","msg_type":1,"fields":[`,
		`{"name":"SNI","value":"mail.lab.test","annotation":"tls.ext.server_name","metadata":true}`,
		`"client_hello":{"legacy_version":771,"random":"`,
		`"cipher_suites":[49195,`,
		`"compression_methods":[0],"extensions":[{"id":0,"length":18,"names":["mail.lab.test"]}`,
		`{"id":43,"length":5,"codes":[772,771]}`,
		`{"id":16,"length":14,"names":["h2","http/1.1"]}`,
		`{"id":51,"length":1258,"key_shares":[{"group":4588,"key_length":1216},{"group":29,"key_length":32}]}`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("JSON lacks %s:\n%s", want, out)
		}
	}
}
