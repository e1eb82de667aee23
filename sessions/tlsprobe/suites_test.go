package tlsprobe

import (
	"crypto/tls"
	"github.com/mailwire/mailwire/sessions/tlsmsg"
	"strings"
	"testing"
)

// TestRegistryAgreesWithGo: where crypto/tls names a suite, the registry
// here gives it the same name.
func TestRegistryAgreesWithGo(t *testing.T) {
	n := 0
	for _, cs := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		info, ok := Info(cs.ID)
		if !ok {
			t.Errorf("%s (0x%04x) missing from the registry", cs.Name, cs.ID)
			continue
		}
		if info.Name != cs.Name {
			t.Errorf("0x%04x: registry %q, crypto/tls %q", cs.ID, info.Name, cs.Name)
		}
		n++
	}
	if n < 20 {
		t.Errorf("only %d suites compared", n)
	}
}

// TestRegistryAgreesWithEngine: where the engine's name table names a
// suite, it is the registry's name.
func TestRegistryAgreesWithEngine(t *testing.T) {
	named := 0
	for _, r := range registry {
		n := tlsmsg.CipherSuiteName(r.id)
		if strings.HasPrefix(n, "0x") {
			continue // a value the engine cannot name
		}
		named++
		if n != r.name {
			t.Errorf("0x%04x: registry %q, engine %q", r.id, r.name, n)
		}
		if SuiteName(r.id) != r.name {
			t.Errorf("SuiteName(0x%04x) = %q", r.id, SuiteName(r.id))
		}
	}
	if named < 20 {
		t.Errorf("the engine names only %d of the registry's suites", named)
	}
	if SuiteName(0x5600) != tlsmsg.CipherSuiteName(0x5600) {
		t.Errorf("a value outside the registry is not named by the engine: %q", SuiteName(0x5600))
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
		s, ok := Info(tc.id)
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
	for _, r := range registry {
		s, _ := Info(r.id)
		if s.Cipher == "" || (!s.TLS13 && (s.KeyExchange == "" || s.Auth == "")) {
			t.Errorf("%s: %+v", r.name, s)
		}
	}
}
