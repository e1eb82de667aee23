package dissect

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mailwire/mailwire/sessions/lens"
	"github.com/mailwire/mailwire/sessions/tlsmsg"
	"github.com/mailwire/mailwire/sessions/wire"
)

// feedChunks feeds a transcript with the given splitter (nil: whole chunks)
// and flushes both directions.
func feedChunks(d *Dissector, chunks []chunk, split func([]byte) [][]byte) []wire.Event {
	var out []wire.Event
	for _, c := range chunks {
		pieces := [][]byte{c.data}
		if split != nil {
			pieces = split(c.data)
		}
		for _, p := range pieces {
			out = append(out, d.Feed(c.dir, p)...)
		}
	}
	out = append(out, d.Flush(wire.ClientToServer)...)
	return append(out, d.Flush(wire.ServerToClient)...)
}

// shape reduces events to "dir kind annotation" for sequence assertions.
func shape(evs []wire.Event) []string {
	s := make([]string, len(evs))
	for i, e := range evs {
		s[i] = string(e.Dir) + " " + string(e.Kind) + " " + e.Annotation
	}
	return s
}

func field(t *testing.T, e wire.Event, name string) string {
	t.Helper()
	if e.Handshake == nil {
		t.Fatalf("event %q has no Handshake", e.Text)
	}
	for _, f := range e.Handshake.Fields {
		if f.Name == name {
			return f.Value
		}
	}
	t.Fatalf("%s has no field %q; fields: %+v", e.Handshake.Type, name, e.Handshake.Fields)
	return ""
}

func findHandshake(t *testing.T, evs []wire.Event, typ string) wire.Event {
	t.Helper()
	for _, e := range evs {
		if e.Kind == wire.KindHandshake && e.Handshake.Type == typ {
			return e
		}
	}
	t.Fatalf("no %s event in %v", typ, shape(evs))
	return wire.Event{}
}

// message returns the typed message of the first handshake event that
// get finds one in.
func message[T any](t testing.TB, evs []wire.Event, get func(*tlsmsg.Handshake) *T) *T {
	t.Helper()
	for _, e := range evs {
		if e.Handshake != nil {
			if m := get(e.Handshake); m != nil {
				return m
			}
		}
	}
	t.Fatalf("no such message in %q", shape(evs))
	return nil
}

func getCH(h *tlsmsg.Handshake) *tlsmsg.ClientHello         { return h.ClientHello }
func getCert(h *tlsmsg.Handshake) *tlsmsg.Certificate       { return h.Certificate }
func getSKE(h *tlsmsg.Handshake) *tlsmsg.ServerKeyExchange  { return h.ServerKeyExchange }
func getEE(h *tlsmsg.Handshake) *tlsmsg.EncryptedExtensions { return h.EncryptedExtensions }

// lastServerHello returns the last ServerHello (not a HelloRetryRequest).
func lastServerHello(t testing.TB, evs []wire.Event) *tlsmsg.ServerHello {
	t.Helper()
	var sh *tlsmsg.ServerHello
	for _, e := range evs {
		if e.Handshake != nil && e.Handshake.ServerHello != nil && !e.Handshake.ServerHello.IsHelloRetryRequest() {
			sh = e.Handshake.ServerHello
		}
	}
	if sh == nil {
		t.Fatalf("no ServerHello in %q", shape(evs))
	}
	return sh
}

// checkTyped asserts that each handshake event's display (its fields and
// text) is what tlsmsg.Describe makes of its typed message, and that the
// message reads back from JSON (a recording) as it was, with the same
// display: the typed value carries everything the display says.
func checkTyped(t testing.TB, evs []wire.Event) {
	t.Helper()
	for _, e := range evs {
		h := e.Handshake
		if h == nil {
			continue
		}
		if n := countMessages(h); n > 1 || (n == 0 && h.Error == "") {
			t.Errorf("%s: %d typed messages, error %q", h.Type, n, h.Error)
		}
		fields, text := tlsmsg.Describe(h, e.Dir == wire.ClientToServer)
		if text != e.Text || !reflect.DeepEqual(fields, h.Fields) {
			t.Errorf("%s: display is not the description of the typed message:\n got %q %+v\nwant %q %+v", h.Type, text, fields, e.Text, h.Fields)
		}
		b, err := json.Marshal(h)
		if err != nil {
			t.Fatalf("%s: marshal: %v", h.Type, err)
		}
		var back tlsmsg.Handshake
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%s: unmarshal: %v\n%s", h.Type, err, b)
		}
		if bytes.Contains(b, []byte(`\ufffd`)) {
			// Invalid UTF-8 in a peer's string became U+FFFD, as
			// render.JSON documents; the rest must still read back.
			continue
		}
		if !reflect.DeepEqual(&back, h) {
			t.Errorf("%s: JSON round trip differs:\n got %+v\nwant %+v\n%s", h.Type, back, h, b)
		}
		if f2, t2 := tlsmsg.Describe(&back, e.Dir == wire.ClientToServer); t2 != e.Text || !reflect.DeepEqual(f2, h.Fields) {
			t.Errorf("%s: display after a JSON round trip differs: %q", h.Type, t2)
		}
	}
}

// countMessages counts the typed message pointers set in h.
func countMessages(h *tlsmsg.Handshake) int {
	n := 0
	v := reflect.ValueOf(h).Elem()
	for i := range v.NumField() {
		if f := v.Field(i); f.Kind() == reflect.Pointer && !f.IsNil() {
			n++
		}
	}
	return n
}

// checkEvents asserts invariants every dissector event must hold.
func checkEvents(t testing.TB, evs []wire.Event) {
	t.Helper()
	checkTyped(t, evs)
	known := AnnotationKeys()
	has := func(k string) bool { _, ok := slices.BinarySearch(known, k); return ok }
	for _, e := range evs {
		keys := append([]string{e.Annotation}, e.Also...)
		if e.Err != nil {
			keys = append(keys, e.Err.Explain)
		}
		if e.Handshake != nil {
			for _, f := range e.Handshake.Fields {
				if f.Annotation != "" {
					keys = append(keys, f.Annotation)
				}
			}
		}
		for _, k := range keys {
			if !has(k) {
				t.Errorf("event %q: annotation key %q missing from DissectorAnnotationKeys", e.Text, k)
			}
		}
		if e.Seq != 0 || e.At != 0 {
			t.Errorf("event %q: Seq/At must be left to the runner", e.Text)
		}
		if e.Dir != wire.ClientToServer && e.Dir != wire.ServerToClient {
			t.Errorf("event %q: bad direction %q", e.Text, e.Dir)
		}
		switch e.Kind {
		case wire.KindRecord:
			if e.Layer != wire.LayerTLS || e.Record == nil || len(e.Raw) != recordHeaderLen+e.Record.Length {
				t.Errorf("record event %q malformed: %+v", e.Text, e)
			}
		case wire.KindEncrypted:
			if e.Layer != wire.LayerEncrypted || e.Visible != wire.VisibleEndpoints || e.Record == nil || len(e.Raw) != recordHeaderLen+e.Record.Length {
				t.Errorf("encrypted event %q malformed: %+v", e.Text, e)
			}
		case wire.KindHandshake:
			if e.Layer != wire.LayerTLS || e.Handshake == nil || len(e.Raw) < 4 {
				t.Errorf("handshake event %q malformed", e.Text)
			}
		case wire.KindError:
			if e.Err == nil || e.Err.Op != "dissect" || e.Err.Explain == "" || len(e.Raw) > mismatchSample {
				t.Errorf("error event %q malformed: %+v", e.Text, e.Err)
			}
		case wire.KindNote:
			// A limit of the dissector's own, said about this direction.
			if e.Layer != wire.LayerNote || e.Visible != wire.VisibleNone || e.Annotation == "" || len(e.Raw) > mismatchSample {
				t.Errorf("note %q malformed: %+v", e.Text, e)
			}
		default:
			t.Errorf("unexpected kind %q", e.Kind)
		}
	}
}

func TestDissectTLS13Fixture(t *testing.T) {
	d := New()
	evs := feedChunks(d, readTranscript(t, "tls13.bin"), nil)
	checkEvents(t, evs)
	want := []string{
		"c2s record tls.record.handshake",
		"c2s handshake tls.handshake.client_hello",
		"s2c record tls.record.handshake",
		"s2c handshake tls.handshake.server_hello",
		"s2c record tls.record.change_cipher_spec.compat",
		"s2c encrypted tls.encrypted.handshake",
		"s2c encrypted tls.encrypted.handshake_or_application_data",
		"s2c encrypted tls.encrypted.handshake_or_application_data",
		"s2c encrypted tls.encrypted.handshake_or_application_data",
		"c2s record tls.record.change_cipher_spec.compat",
		"c2s encrypted tls.encrypted.finished",
		"s2c encrypted tls.encrypted.handshake_or_application_data", // NewSessionTicket + greeting
		"c2s encrypted tls.encrypted.handshake_or_application_data", // EHLO
		"s2c encrypted tls.encrypted.handshake_or_application_data", // 250
		"c2s encrypted tls.encrypted.handshake_or_application_data", // close_notify
	}
	if got := shape(evs); !slices.Equal(got, want) {
		t.Fatalf("event sequence:\n got %q\nwant %q", got, want)
	}
	ch := evs[1]
	if v := field(t, ch, "SNI"); v != "mail.lab.test" {
		t.Errorf("SNI = %q", v)
	}
	if v := field(t, ch, "ALPN"); v != "h2, http/1.1" {
		t.Errorf("ALPN = %q", v)
	}
	if v := field(t, ch, "supported_versions"); v != "TLS 1.3, TLS 1.2" {
		t.Errorf("supported_versions = %q", v)
	}
	if v := field(t, ch, "key_share"); !strings.Contains(v, "X25519MLKEM768 (1216 bytes)") || !strings.Contains(v, "x25519 (32 bytes)") {
		t.Errorf("key_share = %q", v)
	}
	if v := field(t, ch, "supported_groups"); !strings.HasPrefix(v, "X25519MLKEM768, ") || !strings.Contains(v, "secp256r1") {
		t.Errorf("supported_groups = %q", v)
	}
	if v := field(t, ch, "cipher suites"); !strings.Contains(v, "TLS_AES_128_GCM_SHA256") {
		t.Errorf("cipher suites = %q", v)
	}
	sh := evs[3]
	if v := field(t, sh, "supported_versions"); v != "TLS 1.3 (selected)" {
		t.Errorf("ServerHello supported_versions = %q", v)
	}
	if !bytes.Equal(sh.Raw[:1], []byte{tlsmsg.TypeServerHello}) {
		t.Errorf("ServerHello Raw starts %x", sh.Raw[:4])
	}
	// After the ServerHello an observer sees nothing but ciphertext and the
	// compatibility ChangeCipherSpec (RFC 8446 §5, Appendix D.4).
	for _, e := range evs[4:] {
		if e.Kind != wire.KindEncrypted && e.Annotation != annCCSCompat {
			t.Errorf("after ServerHello: unexpected readable event %q", e.Text)
		}
		if e.Kind == wire.KindEncrypted && e.Record.ContentType != "application_data" {
			t.Errorf("TLS 1.3 encrypted record with outer type %s", e.Record.ContentType)
		}
	}
	// What an observer learned, from the typed messages.
	chm, shm := message(t, evs, getCH), lastServerHello(t, evs)
	if chm.ServerName() != "mail.lab.test" || !slices.Equal(chm.ALPNProtocols(), []string{"h2", "http/1.1"}) ||
		!slices.Equal(chm.SupportedVersions(), []uint16{tlsmsg.VersionTLS13, tlsmsg.VersionTLS12}) || chm.ECHOffered() {
		t.Errorf("ClientHello: SNI %q, ALPN %q, versions %x, ECH %v", chm.ServerName(), chm.ALPNProtocols(), chm.SupportedVersions(), chm.ECHOffered())
	}
	if !slices.Equal(chm.KeyShareGroups(), []uint16{0x11ec, 29}) {
		t.Errorf("key share groups %x", chm.KeyShareGroups())
	}
	g, ok := shm.KeyShareGroup()
	if shm.SelectedVersion() != tlsmsg.VersionTLS13 || shm.CipherSuite != 0x1301 || !ok || g != 0x11ec ||
		shm.ALPN() != "" || shm.Resumed() || shm.IsHelloRetryRequest() || shm.Downgrade() != 0 {
		t.Errorf("ServerHello: %+v", shm)
	}
	if tlsmsg.GroupName(g) != "X25519MLKEM768" || tlsmsg.CipherSuiteName(shm.CipherSuite) != "TLS_AES_128_GCM_SHA256" {
		t.Errorf("names: %s %s", tlsmsg.GroupName(g), tlsmsg.CipherSuiteName(shm.CipherSuite))
	}
}

// A TLS 1.3 client that rejects the certificate sends an encrypted alert
// where its Finished would be: 19 bytes, which an observer can tell by size.
func TestDissectTLS13ClientAlertBySize(t *testing.T) {
	for _, tc := range []struct {
		size int
		want string
	}{
		{encryptedAlertLen, "c2s encrypted tls.encrypted.alert"},
		{53, "c2s encrypted tls.encrypted.finished"}, // a SHA-256 Finished
	} {
		var chunks []chunk
		c2s := 0
		for _, c := range readTranscript(t, "tls13.bin") {
			if c.dir == wire.ClientToServer {
				if c2s++; c2s == 2 { // the client's CCS and Finished
					c.data = append(recordBytes(RecordChangeCipherSpec, []byte{1}), recordBytes(RecordApplicationData, make([]byte, tc.size))...)
					chunks = append(chunks, c)
					break
				}
			}
			chunks = append(chunks, c)
		}
		got := shape(feedChunks(New(), chunks, nil))
		if len(got) == 0 || got[len(got)-1] != tc.want {
			t.Errorf("%d-byte record: events end %q; want %q", tc.size, got[max(0, len(got)-2):], tc.want)
		}
	}
}

func TestDissectTLS12Fixture(t *testing.T) {
	d := New()
	evs := feedChunks(d, readTranscript(t, "tls12.bin"), nil)
	checkEvents(t, evs)
	want := []string{
		"c2s record tls.record.handshake",
		"c2s handshake tls.handshake.client_hello",
		"s2c record tls.record.handshake",
		"s2c handshake tls.handshake.server_hello",
		"s2c record tls.record.handshake",
		"s2c handshake tls.handshake.certificate",
		"s2c record tls.record.handshake",
		"s2c handshake tls.handshake.server_key_exchange",
		"s2c record tls.record.handshake",
		"s2c handshake tls.handshake.server_hello_done",
		"c2s record tls.record.handshake",
		"c2s handshake tls.handshake.client_key_exchange",
		"c2s record tls.record.change_cipher_spec",
		"c2s encrypted tls.encrypted.finished",
		"s2c record tls.record.change_cipher_spec",
		"s2c encrypted tls.encrypted.finished",
		"s2c encrypted tls.encrypted.application_data",
		"c2s encrypted tls.encrypted.application_data",
		"s2c encrypted tls.encrypted.application_data",
		"c2s encrypted tls.encrypted.alert",
	}
	if got := shape(evs); !slices.Equal(got, want) {
		t.Fatalf("event sequence:\n got %q\nwant %q", got, want)
	}
	sh := findHandshake(t, evs, "server_hello")
	if v := field(t, sh, "cipher suite"); v != "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" {
		t.Errorf("cipher = %q", v)
	}
	if v := field(t, sh, "ALPN"); v != "h2" {
		t.Errorf("ServerHello ALPN = %q", v)
	}
	cert := findHandshake(t, evs, "certificate")
	if v := field(t, cert, "certificate[0] subject"); v != "CN=mail.lab.test" {
		t.Errorf("leaf subject = %q", v)
	}
	if v := field(t, cert, "certificate[0] SAN"); v != "DNS:mail.lab.test, IP:127.0.0.1" {
		t.Errorf("leaf SAN = %q", v)
	}
	if v := field(t, cert, "certificate[0] issuer"); v != "CN=mailwire fixture CA,O=mailwire" {
		t.Errorf("leaf issuer = %q", v)
	}
	if v := field(t, cert, "certificate[0] key"); v != "ECDSA P-256" {
		t.Errorf("leaf key = %q", v)
	}
	if v := field(t, cert, "certificate[0] validity"); v != "2026-01-01T00:00:00Z to 2036-01-01T00:00:00Z" {
		t.Errorf("leaf validity = %q", v)
	}
	ske := findHandshake(t, evs, "server_key_exchange")
	if v := field(t, ske, "curve"); v != "x25519" {
		t.Errorf("SKE curve = %q", v)
	}
	if v := field(t, ske, "signature algorithm"); v != "ecdsa_secp256r1_sha256" {
		t.Errorf("SKE signature algorithm = %q", v)
	}
	fin := evs[13]
	if fin.Record.ContentType != "handshake" || !strings.Contains(fin.Text, "probably the encrypted Finished") {
		t.Errorf("client Finished event: %q", fin.Text)
	}
	chm, shm := message(t, evs, getCH), lastServerHello(t, evs)
	if chm.ServerName() != "mail.lab.test" || !slices.Equal(chm.ALPNProtocols(), []string{"h2", "http/1.1"}) {
		t.Errorf("ClientHello: SNI %q, ALPN %q", chm.ServerName(), chm.ALPNProtocols())
	}
	if shm.SelectedVersion() != tlsmsg.VersionTLS12 || shm.CipherSuite != 0xc02b || shm.ALPN() != "h2" || shm.Resumed() {
		t.Errorf("ServerHello: %+v", shm)
	}
	if _, ok := shm.KeyShareGroup(); ok {
		t.Error("a TLS 1.2 ServerHello has no key share")
	}
	if ske := message(t, evs, getSKE); ske.KeyExchange != tlsmsg.KeyExchangeECDHE || ske.Curve != 29 || ske.SignatureAlgorithm != 0x0403 {
		t.Errorf("ServerKeyExchange: %+v", ske)
	}
	cm := message(t, evs, getCert)
	if len(cm.Chain()) != 2 || !slices.Equal(cm.CertificateSubjects(), []string{"CN=mail.lab.test", "CN=mailwire fixture CA,O=mailwire"}) {
		t.Errorf("certificate chain: %d certificates, subjects %q", len(cm.Chain()), cm.CertificateSubjects())
	}
	if !lens.OnWire(cert) {
		t.Error("a TLS 1.2 certificate crossed the wire in the clear")
	}
}

func TestDissectHelloRetryRequestFixture(t *testing.T) {
	d := New()
	evs := feedChunks(d, readTranscript(t, "tls13_hrr.bin"), nil)
	checkEvents(t, evs)
	want := []string{
		"c2s record tls.record.handshake",
		"c2s handshake tls.handshake.client_hello",
		"s2c record tls.record.handshake",
		"s2c handshake tls.handshake.hello_retry_request",
		"s2c record tls.record.change_cipher_spec.compat",
		"c2s record tls.record.change_cipher_spec.compat",
		"c2s record tls.record.handshake",
		"c2s handshake tls.handshake.client_hello",
		"s2c record tls.record.handshake",
		"s2c handshake tls.handshake.server_hello",
	}
	got := shape(evs)
	if len(got) < len(want) || !slices.Equal(got[:len(want)], want) {
		t.Fatalf("event sequence:\n got %q\nwant prefix %q", got, want)
	}
	for _, e := range evs[len(want):] {
		if e.Kind != wire.KindEncrypted {
			t.Errorf("after ServerHello: unexpected %q", e.Text)
		}
	}
	hrr := evs[3]
	if hrr.Handshake.Type != "hello_retry_request" {
		t.Errorf("HRR type = %q", hrr.Handshake.Type)
	}
	if v := field(t, hrr, "key_share"); v != "selected group secp256r1" {
		t.Errorf("HRR key_share = %q", v)
	}
	if v := field(t, evs[1], "key_share"); v != "x25519 (32 bytes)" {
		t.Errorf("first ClientHello key_share = %q", v)
	}
	if v := field(t, evs[7], "key_share"); v != "secp256r1 (65 bytes)" {
		t.Errorf("second ClientHello key_share = %q", v)
	}
	if hrrm := hrr.Handshake.ServerHello; hrrm == nil || !hrrm.IsHelloRetryRequest() || hrrm.Resumed() {
		t.Errorf("HelloRetryRequest: %+v", hrrm)
	} else if g, ok := hrrm.KeyShareGroup(); !ok || g != 23 {
		t.Errorf("HelloRetryRequest asks for group %x", g)
	}
	if ch2 := evs[7].Handshake.ClientHello; ch2 == nil || !ch2.AfterHelloRetryRequest || evs[1].Handshake.ClientHello.AfterHelloRetryRequest {
		t.Error("the second ClientHello is not marked as answering the HelloRetryRequest")
	}
	shm := lastServerHello(t, evs)
	if g, _ := shm.KeyShareGroup(); g != 23 || shm.SelectedVersion() != tlsmsg.VersionTLS13 {
		t.Errorf("ServerHello: %+v", shm)
	}
}

// TestDissectChunking: one byte at a time, random chunks and whole chunks
// must give identical events.
func TestDissectChunking(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, name := range []string{"tls13.bin", "tls12.bin", "tls13_hrr.bin"} {
		t.Run(name, func(t *testing.T) {
			chunks := readTranscript(t, name)
			ref := feedChunks(New(), chunks, nil)
			bytewise := feedChunks(New(), chunks, func(b []byte) [][]byte {
				var out [][]byte
				for i := range b {
					out = append(out, b[i:i+1])
				}
				return out
			})
			if !reflect.DeepEqual(ref, bytewise) {
				t.Fatalf("byte-at-a-time differs:\n got %q\nwant %q", shape(bytewise), shape(ref))
			}
			for round := 0; round < 20; round++ {
				random := feedChunks(New(), chunks, func(b []byte) [][]byte {
					var out [][]byte
					for len(b) > 0 {
						n := min(len(b), 1+rng.IntN(700))
						out = append(out, b[:n])
						b = b[n:]
					}
					return out
				})
				if !reflect.DeepEqual(ref, random) {
					t.Fatalf("random chunking round %d differs:\n got %q\nwant %q", round, shape(random), shape(ref))
				}
			}
			// Merging a direction's consecutive chunks changes nothing either.
			var merged []chunk
			for _, c := range chunks {
				if n := len(merged); n > 0 && merged[n-1].dir == c.dir {
					merged[n-1].data = append(merged[n-1].data, c.data...)
					continue
				}
				merged = append(merged, chunk{c.dir, bytes.Clone(c.data)})
			}
			if got := feedChunks(New(), merged, nil); !reflect.DeepEqual(ref, got) {
				t.Fatalf("merged chunks differ:\n got %q\nwant %q", shape(got), shape(ref))
			}
		})
	}
}

// TestDissectRefragmented: the same ClientHello split over many small
// records (RFC 8446 §5.1 allows it) decodes to the same message.
func TestDissectRefragmented(t *testing.T) {
	chunks := readTranscript(t, "tls13.bin")
	ref := feedChunks(New(), chunks[:1], nil)
	msg := ref[1].Raw
	var stream []byte
	for rest := msg; len(rest) > 0; {
		n := min(len(rest), 100)
		stream = append(stream, recordBytes(RecordHandshake, rest[:n])...)
		rest = rest[n:]
	}
	evs := New().Feed(wire.ClientToServer, stream)
	checkEvents(t, evs)
	var hs []wire.Event
	for _, e := range evs {
		if e.Kind == wire.KindHandshake {
			hs = append(hs, e)
		} else if e.Kind != wire.KindRecord {
			t.Errorf("unexpected %q", e.Text)
		}
	}
	if len(hs) != 1 || !reflect.DeepEqual(hs[0], ref[1]) {
		t.Fatalf("refragmented ClientHello: got %d handshake events, want 1 equal to the original", len(hs))
	}
	if want := (len(msg) + 99) / 100; len(evs)-1 != want {
		t.Errorf("got %d record events, want %d", len(evs)-1, want)
	}
}

func recordBytes(typ uint8, payload []byte) []byte {
	b := []byte{typ, 3, 3, 0, 0}
	binary.BigEndian.PutUint16(b[3:], uint16(len(payload)))
	return append(b, payload...)
}

func TestDissectHostile(t *testing.T) {
	bigHS := recordBytes(RecordHandshake, []byte{tlsmsg.TypeCertificate, 0x01, 0x00, 0x01}) // declares 65537 bytes
	tests := []struct {
		name    string
		dir     wire.Direction
		in      []byte
		flush   bool
		want    []string // shape of the events
		wantRaw string   // Raw of the last event, when set
		text    string   // substring of the last event's Text
	}{
		{
			name: "cleartext SMTP greeting", dir: wire.ServerToClient,
			in:      []byte("220 mail.example ESMTP Postfix\r\n250 more\r\n"),
			want:    []string{"s2c error mismatch.cleartext_on_implicit"},
			wantRaw: "220 mail.example ESMTP Postfix\r\n", text: "cleartext SMTP reply (code 220)",
		},
		{
			name: "cleartext POP3 greeting", dir: wire.ServerToClient, in: []byte("+OK POP3 ready\r\n"),
			want: []string{"s2c error mismatch.cleartext_on_implicit"}, text: "POP3",
		},
		{
			name: "cleartext IMAP greeting", dir: wire.ServerToClient, in: []byte("* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n"),
			want: []string{"s2c error mismatch.cleartext_on_implicit"}, text: "IMAP",
		},
		{
			name: "client speaks SMTP", dir: wire.ClientToServer, in: []byte("EHLO me\r\n"),
			want: []string{"c2s error mismatch.cleartext_on_implicit"}, text: "mail command",
		},
		{
			name: "HTTP response", dir: wire.ServerToClient,
			in:      []byte("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n\r\n"),
			want:    []string{"s2c error mismatch.http"},
			wantRaw: "HTTP/1.1 400 Bad Request\r\n",
		},
		{
			name: "binary garbage", dir: wire.ServerToClient, in: bytes.Repeat([]byte{0x00, 0xff, 0x13}, 40),
			want: []string{"s2c error mismatch.not_tls"}, text: "0x00 is not a TLS content type",
		},
		{
			name: "short garbage then EOF", dir: wire.ServerToClient, in: []byte{0x00, 0x01}, flush: true,
			want: []string{"s2c error mismatch.not_tls"}, wantRaw: "\x00\x01",
		},
		{
			name: "bad major version", dir: wire.ServerToClient, in: []byte{0x16, 0x02, 0x00, 0x00, 0x01, 0xff}, flush: true,
			want: []string{"s2c error mismatch.not_tls"}, text: "major byte is 0x02",
		},
		{
			name: "SSLv2 ClientHello", dir: wire.ClientToServer, in: []byte{0x80, 0x2e, 0x01, 0x00, 0x02}, flush: true,
			want: []string{"c2s error mismatch.sslv2"},
		},
		{
			name: "record longer than 2^14+2048", dir: wire.ServerToClient,
			in:      []byte{0x17, 0x03, 0x03, 0x48, 0x01, 0xaa, 0xbb},
			want:    []string{"s2c error tls.error.record_too_long"},
			wantRaw: "\x17\x03\x03\x48\x01", text: "declares 18433 bytes",
		},
		{
			name: "record of exactly 2^14+2048", dir: wire.ServerToClient,
			in:   recordBytes(RecordApplicationData, make([]byte, maxRecordPayload)),
			want: []string{"s2c encrypted tls.encrypted.application_data"},
		},
		{
			name: "zero-length handshake record", dir: wire.ClientToServer, in: recordBytes(RecordHandshake, nil),
			want: []string{"c2s record tls.record.handshake"}, text: "forbids zero-length",
		},
		{
			name: "zero-length application data", dir: wire.ClientToServer, in: recordBytes(RecordApplicationData, nil),
			want: []string{"c2s encrypted tls.encrypted.application_data"}, text: "0 bytes",
		},
		{
			name: "truncated record", dir: wire.ServerToClient, in: []byte{0x16, 0x03, 0x03, 0x00, 0x40, 1, 2, 3}, flush: true,
			want: []string{"s2c error tls.error.truncated"}, text: "got 8 of 69 bytes",
		},
		{
			name: "truncated header", dir: wire.ServerToClient, in: []byte{0x16, 0x03}, flush: true,
			want: []string{"s2c error tls.error.truncated"},
		},
		{
			name: "truncated handshake message", dir: wire.ServerToClient,
			in: recordBytes(RecordHandshake, []byte{tlsmsg.TypeCertificate, 0, 0, 10, 1}), flush: true,
			want: []string{"s2c record tls.record.handshake", "s2c error tls.error.truncated"},
		},
		{
			// A limit of the dissector's own: a note, the message passed
			// over (the second record is its payload), dissection goes on.
			name: "handshake message over the cap", dir: wire.ServerToClient, in: append(bigHS, bigHS...),
			want: []string{"s2c record tls.record.handshake", "s2c note tls.error.handshake_too_long", "s2c record tls.record.handshake"},
			text: "handshake",
		},
		{
			name: "handshake interleaved with alert", dir: wire.ServerToClient,
			in: append(recordBytes(RecordHandshake, []byte{tlsmsg.TypeCertificate, 0, 0, 10, 1}),
				recordBytes(RecordAlert, []byte{2, 40})...),
			want: []string{"s2c record tls.record.handshake", "s2c error tls.error.handshake_interleaved", "s2c record tls.alert.handshake_failure"},
			text: "fatal handshake_failure",
		},
		{
			name: "unknown alert", dir: wire.ServerToClient, in: recordBytes(RecordAlert, []byte{1, 199}),
			want: []string{"s2c record tls.alert.unknown"}, text: "warning unknown(199)",
		},
		{
			name: "malformed alert", dir: wire.ServerToClient, in: recordBytes(RecordAlert, []byte{2}),
			want: []string{"s2c record tls.alert.malformed"},
		},
		{
			name: "truncated ClientHello body", dir: wire.ClientToServer,
			in:   recordBytes(RecordHandshake, []byte{tlsmsg.TypeClientHello, 0, 0, 3, 3, 3, 0}),
			want: []string{"c2s record tls.record.handshake", "c2s handshake tls.handshake.client_hello"},
			text: "malformed",
		},
		{
			name: "unknown handshake type", dir: wire.ServerToClient,
			in:   recordBytes(RecordHandshake, []byte{99, 0, 0, 1, 0}),
			want: []string{"s2c record tls.record.handshake", "s2c handshake tls.handshake.unknown"},
			text: "type 99",
		},
		{
			name: "ServerHello with lying extension lengths", dir: wire.ServerToClient,
			in: recordBytes(RecordHandshake, append([]byte{tlsmsg.TypeServerHello, 0, 0, 44, 3, 3},
				append(make([]byte, 32), 0, 0x13, 0x01, 0, 0, 4, 0, 43, 0xff, 0xff)...)),
			want: []string{"s2c record tls.record.handshake", "s2c handshake tls.handshake.server_hello"},
			text: "malformed",
		},
		{
			name: "heartbeat record", dir: wire.ClientToServer, in: recordBytes(RecordHeartbeat, []byte{1, 0x40, 0}),
			want: []string{"c2s record tls.record.heartbeat"},
		},
		{
			name: "garbage after a valid record", dir: wire.ServerToClient,
			in:   append(recordBytes(RecordApplicationData, []byte{1, 2, 3}), []byte("220 oops\r\n")...),
			want: []string{"s2c encrypted tls.encrypted.application_data", "s2c error mismatch.cleartext_after_tls"},
			text: "after 1 TLS record, the server sent bytes that are not a TLS record: a cleartext SMTP reply (code 220), outside TLS (\"220 oops\r\n\")",
		},
		{
			// A server whose handshake failed: its alert, then its
			// protocol's error reply in the clear. Not a port mix-up, and
			// the reply's bytes are in the text as they crossed (the
			// printers escape them once), without the direction's code.
			name: "cleartext reply after an alert", dir: wire.ServerToClient,
			in:   append(recordBytes(RecordAlert, []byte{2, 70}), []byte("550 5.0.0 Handshake error\r\n")...),
			want: []string{"s2c record tls.alert.protocol_version", "s2c error mismatch.cleartext_after_tls"},
			text: "after 1 TLS record, the server sent bytes that are not a TLS record: a cleartext SMTP reply (code 550), outside TLS (\"550 5.0.0 Handshake error\r\n\")",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Whole and byte-at-a-time must agree here too.
			run := func(bytewise bool) []wire.Event {
				d := New()
				var evs []wire.Event
				if bytewise {
					for i := range tc.in {
						evs = append(evs, d.Feed(tc.dir, tc.in[i:i+1])...)
					}
				} else {
					evs = d.Feed(tc.dir, tc.in)
				}
				if tc.flush {
					evs = append(evs, d.Flush(tc.dir)...)
				}
				// A dead or flushed direction stays silent.
				if len(evs) > 0 && evs[len(evs)-1].Kind == wire.KindError || tc.flush {
					if more := d.Feed(tc.dir, []byte{0x16, 3, 3, 0, 0}); len(more) != 0 {
						t.Errorf("direction still dissected after the error: %q", shape(more))
					}
				}
				return evs
			}
			evs := run(false)
			checkEvents(t, evs)
			if got := shape(evs); !slices.Equal(got, tc.want) {
				t.Fatalf("events:\n got %q\nwant %q\ntexts: %q", got, tc.want, texts(evs))
			}
			if bw := run(true); !reflect.DeepEqual(evs, bw) {
				t.Fatalf("byte-at-a-time differs:\n got %q\nwant %q", texts(bw), texts(evs))
			}
			last := evs[len(evs)-1]
			if tc.wantRaw != "" && string(last.Raw) != tc.wantRaw {
				t.Errorf("Raw = %q, want %q", last.Raw, tc.wantRaw)
			}
			if !strings.Contains(last.Text, tc.text) {
				t.Errorf("Text = %q, want it to contain %q", last.Text, tc.text)
			}
		})
	}
}

func texts(evs []wire.Event) []string {
	s := make([]string, len(evs))
	for i, e := range evs {
		s[i] = e.Text
	}
	return s
}

func TestDissectPlaintextAlertSummary(t *testing.T) {
	d := New()
	evs := d.Feed(wire.ServerToClient, recordBytes(RecordAlert, []byte{2, 70}))
	checkEvents(t, evs)
	if len(evs) != 1 || evs[0].Annotation != "tls.alert.protocol_version" || !slices.Equal(evs[0].Also, []string{"tls.record.alert"}) {
		t.Fatalf("alert event: %+v", evs)
	}
	if a := evs[0].Record.Alert; a == nil || *a != (tlsmsg.Alert{Level: 2, Description: 70}) || evs[0].Text != "TLS record: alert, 2 bytes: fatal protocol_version" {
		t.Errorf("alert: %+v, %q", a, evs[0].Text)
	}
	if evs := d.Feed(wire.Local, []byte{1, 2, 3}); evs != nil {
		t.Errorf("Local bytes produced events: %q", shape(evs))
	}
}

// TestDissectMemoryBound: a stream of handshake records whose messages never
// complete is cut off, and the buffers never exceed their caps.
func TestDissectMemoryBound(t *testing.T) {
	d := New()
	// One message of exactly the cap (allowed) followed by one over it.
	msg := append([]byte{tlsmsg.TypeCertificate, 0x01, 0x00, 0x00}, make([]byte, maxHandshakeMsg)...)
	msg = append(msg, tlsmsg.TypeCertificate, 0x01, 0x00, 0x01)
	var evs []wire.Event
	for rest := msg; len(rest) > 0; {
		n := min(len(rest), 1<<14)
		evs = append(evs, d.Feed(wire.ServerToClient, recordBytes(RecordHandshake, rest[:n]))...)
		rest = rest[n:]
		if len(d.s2c.hs) > maxHandshakeBuf || cap(d.s2c.buf) > recordHeaderLen+maxRecordPayload+64 {
			t.Fatalf("buffers grew: hs %d, buf cap %d", len(d.s2c.hs), cap(d.s2c.buf))
		}
	}
	checkEvents(t, evs)
	i := slices.IndexFunc(evs, func(ev wire.Event) bool { return ev.Annotation == annErrHSTooLong })
	if i < 0 || evs[i].Kind != wire.KindNote || !strings.Contains(evs[i].Text, "certificate message of 65,537 bytes") {
		t.Fatalf("no handshake_too_long note: %q", texts(evs))
	}
	// The message over the cap is passed over as its records come;
	// what follows it is dissected again.
	var after []wire.Event
	for rest := append(make([]byte, 65537), tlsmsg.TypeServerHelloDone, 0, 0, 0); len(rest) > 0; {
		n := min(len(rest), 1<<14)
		after = append(after, d.Feed(wire.ServerToClient, recordBytes(RecordHandshake, rest[:n]))...)
		rest = rest[n:]
		if len(d.s2c.hs) > 4 {
			t.Fatalf("the message over the cap is being reassembled: %d bytes", len(d.s2c.hs))
		}
	}
	checkEvents(t, after)
	if i := slices.IndexFunc(after, func(ev wire.Event) bool { return ev.Kind == wire.KindHandshake }); i < 0 || after[i].Handshake.Type != "server_hello_done" {
		t.Errorf("after the message over the cap: %q", texts(after))
	}
	cert := findHandshake(t, evs, "certificate")
	if len(cert.Raw) != 4+maxHandshakeMsg || !strings.Contains(cert.Text, "malformed") {
		t.Errorf("capped certificate: %d bytes, %q", len(cert.Raw), cert.Text)
	}
}

func TestDissectorAnnotationKeys(t *testing.T) {
	keys := AnnotationKeys()
	if !slices.IsSorted(keys) || len(slices.Compact(slices.Clone(keys))) != len(keys) {
		t.Fatal("keys must be sorted and unique")
	}
	for _, k := range []string{
		"tls.record.handshake", "tls.handshake.client_hello", "tls.handshake.hello_retry_request",
		"tls.ext.server_name", "tls.ext.application_layer_protocol_negotiation", "tls.alert.close_notify",
		"tls.encrypted.application_data", "tls.encrypted.finished", "mismatch.cleartext_on_implicit",
	} {
		if _, ok := slices.BinarySearch(keys, k); !ok {
			t.Errorf("missing %q", k)
		}
	}
	for _, k := range keys {
		if k == "" || strings.ContainsAny(k, " ()") {
			t.Errorf("bad key %q", k)
		}
	}
}
