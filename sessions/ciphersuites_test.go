package sessions

import (
	"crypto/tls"
	"strings"
	"testing"
)

// TestOptionsCipherSuites: a session held to suites takes only suites
// crypto/tls can offer under its version (a scan finding's session,
// scan.ShowTLS), and says which one it cannot.
func TestOptionsCipherSuites(t *testing.T) {
	o, err := OptionsForPort("127.0.0.1:10587", 587)
	if err != nil {
		t.Fatal(err)
	}
	o.MinTLS, o.MaxTLS = tls.VersionTLS12, tls.VersionTLS12
	o.CipherSuites = []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA}
	if err := o.Validate(); err != nil {
		t.Errorf("CBC-SHA and 3DES under TLS 1.2: %v", err)
	}
	o.CipherSuites = []uint16{0x0034} // TLS_DH_anon_WITH_AES_128_CBC_SHA
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "0x0034") && !strings.Contains(err.Error(), "anon") {
		t.Errorf("an anonymous suite: %v", err)
	}
	o.MinTLS, o.MaxTLS = tls.VersionTLS10, tls.VersionTLS10
	o.CipherSuites = []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256} // AEAD: TLS 1.2 only
	if err := o.Validate(); err == nil {
		t.Error("a TLS 1.2 suite under TLS 1.0 was taken")
	}
}
