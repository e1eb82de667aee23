package dissect

import (
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mailwire/mailwire/sessions/tlsmsg"
	"github.com/mailwire/mailwire/sessions/wire"
)

// Synthetic messages for what crypto/tls does not send in the fixtures:
// GREASE, ECH, PSK and 0-RTT, cookies, unknown extensions, and the TLS 1.2
// messages of other key exchanges.

func hsMsg(typ uint8, body func(b *cryptobyte.Builder)) []byte {
	var b cryptobyte.Builder
	b.AddUint8(typ)
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) { body(b) })
	return b.BytesOrPanic()
}

func ext(b *cryptobyte.Builder, id uint16, data func(b *cryptobyte.Builder)) {
	b.AddUint16(id)
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		if data != nil {
			data(b)
		}
	})
}

func synthClientHello() []byte {
	return hsMsg(tlsmsg.TypeClientHello, func(b *cryptobyte.Builder) {
		b.AddUint16(tlsmsg.VersionTLS12)
		b.AddBytes(make([]byte, 32))
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) {})
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			b.AddUint16(0x3a3a) // GREASE
			b.AddUint16(0x1301)
			b.AddUint16(0x00ff)
		})
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint8(0) })
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			ext(b, 0x0a0a, nil) // GREASE extension
			ext(b, tlsmsg.ExtServerName, func(b *cryptobyte.Builder) {
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
					b.AddUint8(0)
					b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte("public.example")) })
				})
			})
			ext(b, tlsmsg.ExtEncryptedClientHello, func(b *cryptobyte.Builder) {
				b.AddUint8(0) // outer
				b.AddUint16(1)
				b.AddUint16(1)
				b.AddUint8(7)
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(make([]byte, 32)) })
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(make([]byte, 200)) })
			})
			ext(b, tlsmsg.ExtSupportedGroups, func(b *cryptobyte.Builder) {
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
					b.AddUint16(0x2a2a)
					b.AddUint16(0x11ec)
					b.AddUint16(29)
				})
			})
			ext(b, tlsmsg.ExtEarlyData, nil)
			ext(b, tlsmsg.ExtCookie, func(b *cryptobyte.Builder) {
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(make([]byte, 10)) })
			})
			ext(b, tlsmsg.ExtPSKModes, func(b *cryptobyte.Builder) {
				b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint8(1) })
			})
			ext(b, 0x1234, func(b *cryptobyte.Builder) { b.AddBytes([]byte{1, 2, 3}) })
			ext(b, tlsmsg.ExtPadding, func(b *cryptobyte.Builder) { b.AddBytes(make([]byte, 17)) })
			ext(b, tlsmsg.ExtSupportedGroups+1000, nil) // unassigned
			ext(b, tlsmsg.ExtKeyShare, func(b *cryptobyte.Builder) {
				b.AddUint16(5) // list length that lies
			})
			ext(b, tlsmsg.ExtPreSharedKey, func(b *cryptobyte.Builder) {
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
					b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(make([]byte, 100)) })
					b.AddUint32(1234)
				})
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
					b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(make([]byte, 32)) })
				})
			})
		})
	})
}

func TestDissectSyntheticClientHello(t *testing.T) {
	d := New()
	evs := d.Feed(wire.ClientToServer, recordBytes(RecordHandshake, synthClientHello()))
	checkEvents(t, evs)
	ch := findHandshake(t, evs, "client_hello")
	for name, want := range map[string]string{
		"cipher suites":          "3: GREASE(0x3a3a), TLS_AES_128_GCM_SHA256, TLS_EMPTY_RENEGOTIATION_INFO_SCSV",
		"GREASE(0x0a0a)":         "0 bytes: a reserved value to keep servers tolerant (RFC 8701)",
		"SNI":                    "public.example",
		"encrypted_client_hello": "outer: config id 7, 200 bytes encrypted inner ClientHello (the real SNI is hidden)",
		"supported_groups":       "GREASE(0x2a2a), X25519MLKEM768, x25519",
		"early_data":             "0-RTT data follows, encrypted but replayable (RFC 8446 §8)",
		"cookie":                 "10 bytes (RFC 8446 §4.2.2)",
		"psk_key_exchange_modes": "psk_dhe_ke",
		"unknown(0x1234)":        "3 bytes",
		"padding":                "17 bytes of padding (RFC 7685)",
		"unknown(0x03f2)":        "0 bytes",
		"key_share":              "malformed (2 bytes)",
		"pre_shared_key":         "1 identities (100 bytes) and binders: the client tries to resume",
		"compression methods":    "null",
		"session id":             "empty",
		"legacy_version":         "TLS 1.2 (0x0303)",
		"random":                 strings.Repeat("00", 32),
	} {
		if got := field(t, ch, name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	var anns []string
	for _, f := range ch.Handshake.Fields {
		anns = append(anns, f.Annotation)
	}
	for _, k := range []string{"tls.ext.grease", "tls.ext.unknown", "tls.ext.encrypted_client_hello", "tls.ext.pre_shared_key"} {
		if !slices.Contains(anns, k) {
			t.Errorf("no field annotated %s", k)
		}
	}
	if m := ch.Handshake.ClientHello; !m.ECHOffered() || m.ServerName() != "public.example" || !m.EarlyData() || !m.OffersResumption() ||
		!slices.Equal(m.SupportedGroups(), []uint16{0x2a2a, 0x11ec, 29}) || !slices.Equal(m.PSKModes(), []uint16{1}) || m.KeyShares() != nil {
		t.Errorf("ClientHello: %+v", m)
	}
	// The client offered early data: application_data before the
	// ServerHello is 0-RTT.
	evs = d.Feed(wire.ClientToServer, recordBytes(RecordApplicationData, make([]byte, 40)))
	if len(evs) != 1 || evs[0].Annotation != annEncEarlyData {
		t.Fatalf("early data: %q", shape(evs))
	}
}

func TestDissectSyntheticTLS12(t *testing.T) {
	serverHello := func(suite uint16, sid []byte, random []byte) []byte {
		return hsMsg(tlsmsg.TypeServerHello, func(b *cryptobyte.Builder) {
			b.AddUint16(tlsmsg.VersionTLS12)
			b.AddBytes(random)
			b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(sid) })
			b.AddUint16(suite)
			b.AddUint8(0)
		})
	}
	random := append(make([]byte, 24), tlsmsg.DowngradeTLS12...)
	// RSA key transport, resumed session, downgrade sentinel.
	d := New()
	sid := []byte{1, 2, 3, 4}
	ch := hsMsg(tlsmsg.TypeClientHello, func(b *cryptobyte.Builder) {
		b.AddUint16(tlsmsg.VersionTLS12)
		b.AddBytes(make([]byte, 32))
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(sid) })
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint16(0x009c) })
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint8(0) })
	})
	d.Feed(wire.ClientToServer, recordBytes(RecordHandshake, ch))
	evs := d.Feed(wire.ServerToClient, recordBytes(RecordHandshake, serverHello(0x009c, sid, random)))
	checkEvents(t, evs)
	sh := findHandshake(t, evs, "server_hello")
	if v := field(t, sh, "downgrade sentinel"); !strings.Contains(v, "supports TLS 1.3") {
		t.Errorf("downgrade sentinel = %q", v)
	}
	if !strings.Contains(sh.Text, "resuming the client's session") || !sh.Handshake.ServerHello.Resumed() ||
		sh.Handshake.ServerHello.Downgrade() != tlsmsg.VersionTLS12 {
		t.Errorf("resumption not seen: %q", sh.Text)
	}
	cke := hsMsg(tlsmsg.TypeClientKeyExchange, func(b *cryptobyte.Builder) {
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(make([]byte, 256)) })
	})
	evs = d.Feed(wire.ClientToServer, recordBytes(RecordHandshake, cke))
	checkEvents(t, evs)
	if e := findHandshake(t, evs, "client_key_exchange"); field(t, e, "encrypted premaster secret") != "256 bytes" || !strings.Contains(e.Text, "no forward secrecy") {
		t.Errorf("RSA ClientKeyExchange: %q", e.Text)
	}

	// DHE, CertificateRequest, NewSessionTicket, CertificateStatus in one record.
	d = New()
	d.Feed(wire.ServerToClient, recordBytes(RecordHandshake, serverHello(0x009e, nil, make([]byte, 32))))
	var flight []byte
	flight = append(flight, hsMsg(tlsmsg.TypeCertificateStatus, func(b *cryptobyte.Builder) {
		b.AddUint8(1)
		b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(make([]byte, 300)) })
	})...)
	flight = append(flight, hsMsg(tlsmsg.TypeServerKeyExchange, func(b *cryptobyte.Builder) {
		p := append([]byte{0x80}, make([]byte, 255)...) // a 2048-bit prime's length
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(p) })
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint8(2) })
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(make([]byte, 256)) })
		b.AddUint16(0x0804)
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(make([]byte, 256)) })
	})...)
	flight = append(flight, hsMsg(tlsmsg.TypeCertificateRequest, func(b *cryptobyte.Builder) {
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint8(1); b.AddUint8(64) })
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint16(0x0403) })
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			// A DER Name: SEQUENCE { SET { SEQUENCE { OID 2.5.4.3, UTF8String "Lab CA" } } }
			dn := []byte{0x30, 0x11, 0x31, 0x0f, 0x30, 0x0d, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x06, 'L', 'a', 'b', ' ', 'C', 'A'}
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(dn) })
		})
	})...)
	flight = append(flight, hsMsg(tlsmsg.TypeNewSessionTicket, func(b *cryptobyte.Builder) {
		b.AddUint32(7200)
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(make([]byte, 150)) })
	})...)
	evs = d.Feed(wire.ServerToClient, recordBytes(RecordHandshake, flight))
	checkEvents(t, evs)
	want := []string{
		"s2c record tls.record.handshake",
		"s2c handshake tls.handshake.certificate_status",
		"s2c handshake tls.handshake.server_key_exchange",
		"s2c handshake tls.handshake.certificate_request",
		"s2c handshake tls.handshake.new_session_ticket",
	}
	if got := shape(evs); !slices.Equal(got, want) {
		t.Fatalf("events:\n got %q\nwant %q", got, want)
	}
	if v := field(t, evs[2], "group"); v != "DH 2048-bit" {
		t.Errorf("DHE group = %q", v)
	}
	if v := field(t, evs[2], "signature algorithm"); v != "rsa_pss_rsae_sha256" {
		t.Errorf("DHE signature algorithm = %q", v)
	}
	if v := field(t, evs[3], "certificate authorities"); v != "CN=Lab CA" {
		t.Errorf("CertificateRequest CAs = %q", v)
	}
	if v := field(t, evs[3], "certificate types"); v != "rsa_sign, ecdsa_sign" {
		t.Errorf("CertificateRequest types = %q", v)
	}
	if v := field(t, evs[4], "ticket"); v != "150 bytes" {
		t.Errorf("ticket = %q", v)
	}
	if v := field(t, evs[1], "response"); v != "300 bytes" {
		t.Errorf("OCSP response = %q", v)
	}
}
