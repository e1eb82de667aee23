package tlsmsg

import "testing"

// TestMessageAccessorsTotal: the accessors and the description accept
// what a hand-written JSON file can hold (empty randoms, lists where one
// value belongs, an ECH of an unknown form) without panicking.
func TestMessageAccessorsTotal(t *testing.T) {
	odd := []Extension{
		{ID: ExtSupportedVersions, Codes: []uint16{1, 2}}, {ID: ExtKeyShare}, {ID: ExtALPN},
		{ID: ExtEncryptedClientHello, ECH: &ECHExtension{Type: 9}}, {ID: ExtMaxFragmentLength, Value: 1 << 31},
		{ID: ExtServerName, Malformed: true, Length: -3},
	}
	for _, h := range []*Handshake{
		{Type: "server_hello", ServerHello: &ServerHello{Random: []byte{1}, Extensions: odd}},
		{Type: "hello_retry_request", ServerHello: &ServerHello{Random: hrrRandom, Extensions: odd}},
		{Type: "client_hello", ClientHello: &ClientHello{Extensions: odd}},
		{Type: "certificate", Certificate: &Certificate{Version: VersionTLS13, Entries: []CertificateEntry{{DER: []byte{1}, Extensions: odd}}}},
		{Type: "encrypted_extensions", EncryptedExtensions: &EncryptedExtensions{Extensions: odd}},
		{Type: "unknown", MsgType: 200},
		{},
	} {
		Describe(h, false)
		if sh := h.ServerHello; sh != nil {
			sh.SelectedVersion()
			sh.KeyShareGroup()
			sh.Resumed()
			sh.Downgrade()
			serverHelloText(sh)
		}
		if ch := h.ClientHello; ch != nil {
			ch.OfferedVersions()
			ch.KeyShareGroups()
			ch.ServerName()
		}
	}
}
