package tlsmsg

import (
	"bytes"
	"crypto/tls"
	"strings"
	"testing"

	"golang.org/x/crypto/cryptobyte"
)

// TestRegistryAgreesWithGo: where crypto/tls names a suite, the registry
// gives it the same name.
func TestRegistryAgreesWithGo(t *testing.T) {
	n := 0
	for _, cs := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		info, ok := Suite(cs.ID)
		if !ok {
			t.Errorf("%s (0x%04x) missing from the registry", cs.Name, cs.ID)
			continue
		}
		if info.Name != cs.Name || CipherSuiteName(cs.ID) != cs.Name {
			t.Errorf("0x%04x: registry %q, name table %q, crypto/tls %q", cs.ID, info.Name, CipherSuiteName(cs.ID), cs.Name)
		}
		n++
	}
	if n < 20 {
		t.Errorf("only %d suites compared", n)
	}
}

func TestRegistryUnique(t *testing.T) {
	ids, names := map[uint16]bool{}, map[string]bool{}
	for _, r := range registry {
		if ids[r.id] || names[r.name] {
			t.Errorf("0x%04x %s listed twice", r.id, r.name)
		}
		ids[r.id], names[r.name] = true, true
		if !strings.HasPrefix(r.name, "TLS_") {
			t.Errorf("0x%04x: %q is not a registry name", r.id, r.name)
		}
	}
	if len(Suites()) != len(registry) || len(registry) < 300 {
		t.Errorf("Suites() has %d of %d", len(Suites()), len(registry))
	}
}

// TestNamesOutsideTheTable: the values the table leaves out on purpose
// still have their registry names; an unassigned one is its number.
func TestNamesOutsideTheTable(t *testing.T) {
	for id, want := range map[uint16]string{
		0x0000: "TLS_NULL_WITH_NULL_NULL", 0x00ff: "TLS_EMPTY_RENEGOTIATION_INFO_SCSV",
		0x5600: "TLS_FALLBACK_SCSV", 0x0a0a: "GREASE(0x0a0a)", 0x0b0c: "0x0B0C",
		0x00a7: "TLS_DH_anon_WITH_AES_256_GCM_SHA384", 0xc019: "TLS_ECDH_anon_WITH_AES_256_CBC_SHA",
	} {
		if got := CipherSuiteName(id); got != want {
			t.Errorf("CipherSuiteName(0x%04x) = %q, want %q", id, got, want)
		}
	}
}

func TestSuiteInfo(t *testing.T) {
	type flags struct{ anon, null, rc4, des, tdes, aead, cbc, fs, export bool }
	for _, tc := range []struct {
		id       uint16
		kx, auth string
		cipher   string
		mac      string
		f        flags
	}{
		{0xc02f, "ECDHE", "RSA", "AES_128_GCM", "SHA256", flags{aead: true, fs: true}},
		{0x00a7, "DHE", "anon", "AES_256_GCM", "SHA384", flags{anon: true, aead: true, fs: true}},
		{0xc018, "ECDHE", "anon", "AES_128_CBC", "SHA", flags{anon: true, cbc: true, fs: true}},
		{0x0003, "RSA", "RSA", "RC4_40", "MD5", flags{rc4: true, export: true}},
		{0x0014, "DHE", "RSA", "DES40_CBC", "SHA", flags{des: true, cbc: true, fs: true, export: true}},
		{0x000a, "RSA", "RSA", "3DES_EDE_CBC", "SHA", flags{tdes: true, cbc: true}},
		{0x0002, "RSA", "RSA", "NULL", "SHA", flags{null: true}},
		{0xc010, "ECDHE", "RSA", "NULL", "SHA", flags{null: true, fs: true}},
		{0x0064, "RSA", "RSA", "RC4_56", "SHA", flags{rc4: true, export: true}},
		{0xc09c, "RSA", "RSA", "AES_128_CCM", "", flags{aead: true}},
		{0xc0a2, "DHE", "RSA", "AES_128_CCM_8", "", flags{aead: true, fs: true}},
		{0xcca9, "ECDHE", "ECDSA", "CHACHA20_POLY1305", "SHA256", flags{aead: true, fs: true}},
		{0xc0aa, "DHE_PSK", "PSK", "AES_128_CCM_8", "", flags{aead: true, fs: true}},
		{0x0010, "DH", "RSA", "3DES_EDE_CBC", "SHA", flags{tdes: true, cbc: true}},
		{0xc004, "ECDH", "ECDSA", "AES_128_CBC", "SHA", flags{cbc: true}},
		{0xc021, "SRP", "RSA", "AES_256_CBC", "SHA", flags{cbc: true}},
		{0x0006, "RSA", "RSA", "RC2_CBC_40", "MD5", flags{cbc: true, export: true}},
		{0xc102, "GOST", "GOST", "28147_CNT", "IMIT", flags{}},
		{0x1301, "", "", "AES_128_GCM", "SHA256", flags{aead: true, fs: true}},
		{0x1305, "", "", "AES_128_CCM_8", "SHA256", flags{aead: true, fs: true}},
	} {
		s, ok := Suite(tc.id)
		if !ok {
			t.Errorf("0x%04x unknown", tc.id)
			continue
		}
		got := flags{s.Anonymous(), s.Null(), s.RC4(), s.SingleDES(), s.TripleDES(), s.AEAD(), s.CBC(), s.ForwardSecret(), s.Export}
		if s.KeyExchange != tc.kx || s.Auth != tc.auth || s.Cipher != tc.cipher || s.MAC != tc.mac || got != tc.f {
			t.Errorf("%s: kx %q auth %q cipher %q mac %q %+v; want %q %q %q %q %+v",
				s.Name, s.KeyExchange, s.Auth, s.Cipher, s.MAC, got, tc.kx, tc.auth, tc.cipher, tc.mac, tc.f)
		}
	}
}

// TestEveryRegistryNameParses: every name yields a key exchange and an
// authentication (TLS ≤ 1.2) and a cipher.
func TestEveryRegistryNameParses(t *testing.T) {
	for _, s := range Suites() {
		if s.Cipher == "" || (!s.TLS13 && (s.KeyExchange == "" || s.Auth == "")) {
			t.Errorf("%s: %+v", s.Name, s)
		}
	}
}

// TestKeyExchangeOfSuite: the form of a suite's key exchange messages
// comes from the registry, the anonymous suites included; Go's table
// knew none of them.
func TestKeyExchangeOfSuite(t *testing.T) {
	for id, want := range map[uint16]KeyExchange{
		0xc02f: KeyExchangeECDHE, 0xc019: KeyExchangeECDHE, // ECDH_anon
		0x009e: KeyExchangeDHE, 0x00a7: KeyExchangeDHE, 0x0034: KeyExchangeDHE, // DH_anon
		0x009c: KeyExchangeRSA, 0x1301: "", 0x0031: "", // static DH
		0x00a8: "", 0xd001: "", 0x5600: "", 0x0b0c: "",
	} {
		if got := KeyExchangeOfSuite(id); got != want {
			t.Errorf("KeyExchangeOfSuite(0x%04x) = %q, want %q", id, got, want)
		}
	}
}

// skeDH is a ServerKeyExchange (header included) with finite-field DH
// parameters: a prime of primeBytes bytes (its top bit set), generator 2,
// a public value, and sig, the signature part (empty for an anonymous
// suite).
func skeDH(primeBytes int, sig []byte) []byte {
	var b cryptobyte.Builder
	b.AddUint8(TypeServerKeyExchange)
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
		p := bytes.Repeat([]byte{0xff}, primeBytes)
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(p) })
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint8(2) })
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(p[:primeBytes-1]) })
		b.AddBytes(sig)
	})
	return b.BytesOrPanic()
}

// TestServerKeyExchangeLargeAnonymousDH: an anonymous DH suite with a
// prime of 6144 to 8184 bits. The prime's length prefix then starts with
// 0x03, named_curve's curve_type; before the registry named the anonymous
// suites, the parser guessed the form from that byte and showed a curve
// made up of the length's low byte and the prime's first byte ("curve
// 128" for an 800-byte prime).
func TestServerKeyExchangeLargeAnonymousDH(t *testing.T) {
	for _, n := range []int{768, 800, 1023} {
		p := &Parser{Version: VersionTLS12, CipherSuite: 0x00a7} // TLS_DH_anon_WITH_AES_256_GCM_SHA384
		h := p.Parse(skeDH(n, nil))
		m := h.ServerKeyExchange
		if h.Error != "" || m == nil {
			t.Fatalf("%d-byte prime: error %q, message %+v", n, h.Error, m)
		}
		if m.KeyExchange != KeyExchangeDHE || m.Curve != 0 || m.DHPrimeBits != n*8 || !m.Anonymous || m.SignatureLength != 0 {
			t.Errorf("%d-byte prime: %+v", n, m)
		}
		fields, text := Describe(h, false)
		for _, f := range fields {
			if f.Name == "curve" {
				t.Errorf("%d-byte prime: a curve field %+v", n, f)
			}
		}
		if strings.Contains(text, "ECDHE") || !strings.Contains(text, "DH 6") && !strings.Contains(text, "DH 8") || !strings.Contains(text, "unsigned") {
			t.Errorf("%d-byte prime described as %q", n, text)
		}
	}
	// The same bytes after a signed DHE suite: the signature is required.
	p := &Parser{Version: VersionTLS12, CipherSuite: 0x009f} // TLS_DHE_RSA_WITH_AES_256_GCM_SHA384
	if h := p.Parse(skeDH(800, nil)); h.Error == "" || h.ServerKeyExchange == nil || h.ServerKeyExchange.DHPrimeBits != 6400 {
		t.Errorf("unsigned DHE parameters of a signed suite: error %q, %+v", h.Error, h.ServerKeyExchange)
	}
	sig := []byte{0x04, 0x01, 0x00, 0x02, 0xaa, 0xbb} // rsa_pkcs1_sha256, 2 bytes
	if h := p.Parse(skeDH(800, sig)); h.Error != "" || h.ServerKeyExchange.SignatureLength != 2 || h.ServerKeyExchange.Anonymous {
		t.Errorf("signed DHE: error %q, %+v", h.Error, h.ServerKeyExchange)
	}
	// Bytes after an anonymous suite's parameters are malformed.
	p = &Parser{Version: VersionTLS12, CipherSuite: 0x00a7}
	if h := p.Parse(skeDH(256, sig)); h.Error == "" {
		t.Error("a signature after anonymous parameters was accepted")
	}
}

// TestServerKeyExchangeAnonymousECDH: ECDH_anon's named curve, unsigned.
func TestServerKeyExchangeAnonymousECDH(t *testing.T) {
	var b cryptobyte.Builder
	b.AddUint8(TypeServerKeyExchange)
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddUint8(3)
		b.AddUint16(29) // x25519
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(make([]byte, 32)) })
	})
	p := &Parser{Version: VersionTLS12, CipherSuite: 0xc019} // TLS_ECDH_anon_WITH_AES_256_CBC_SHA
	h := p.Parse(b.BytesOrPanic())
	if m := h.ServerKeyExchange; h.Error != "" || m == nil || m.KeyExchange != KeyExchangeECDHE || m.Curve != 29 || !m.Anonymous {
		t.Errorf("error %q, %+v", h.Error, h.ServerKeyExchange)
	}
}
