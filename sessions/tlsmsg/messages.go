package tlsmsg

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"fmt"

	"github.com/mailwire/mailwire/sessions/certs"
)

// The typed handshake messages the dissector decodes, one type per message
// as in Go's crypto/tls/handshake_messages.go. They hold what crossed the
// wire, with numeric code points (versions, cipher suites, groups,
// signature schemes) rather than names: the names live in names.go
// and every display string is made from these values in one place,
// describe.go. Consumers (the printers, the scenarios, the lens)
// read the values and the accessor methods below, never the display text.
//
// Every type marshals to JSON with encoding/json and reads back to the same
// value (recordings are JSON Lines), so slices are nil rather than empty
// and opaque blobs that only matter by size (keys, signatures, tickets) are
// kept as lengths. The accessors accept any value a JSON file can describe.

// The names the dissector's display uses for the typed values, from the
// tables in names.go (the IANA registries' names, as Wireshark and
// the RFCs write them).

// VersionName names a protocol version: "TLS 1.3", "TLS 1.3 draft 23".
func VersionName(v uint16) string { return versionName(v) }

// CipherSuiteName names a cipher suite by its IANA name.
func CipherSuiteName(id uint16) string { return cipherSuiteName(id) }

// GroupName names a named group: "x25519", "X25519MLKEM768".
func GroupName(id uint16) string { return groupName(id) }

// SignatureSchemeName names a signature scheme: "ecdsa_secp256r1_sha256".
func SignatureSchemeName(id uint16) string { return sigSchemeName(id) }

// ExtensionName names an extension: "server_name", "GREASE(0x0a0a)".
func ExtensionName(id uint16) string { return extensionDisplayName(id) }

// AlertDescriptionName names an alert description: "handshake_failure".
func AlertDescriptionName(d uint8) string { return alertName(d) }

// KeyExchangeOfSuite says how a TLS ≤ 1.2 cipher suite agrees on the
// premaster secret; "" for a TLS 1.3 suite or one mailwire cannot name.
func KeyExchangeOfSuite(id uint16) KeyExchange { return suiteKeyExchange(id) }

// KeyExchange says how a TLS ≤ 1.2 cipher suite agrees on the premaster
// secret (RFC 5246 §7.4.7, RFC 8422).
type KeyExchange string

const (
	KeyExchangeECDHE KeyExchange = "ecdhe" // ephemeral elliptic-curve Diffie-Hellman (RFC 8422 §2)
	KeyExchangeDHE   KeyExchange = "dhe"   // ephemeral finite-field Diffie-Hellman (RFC 5246 §7.4.3)
	KeyExchangeRSA   KeyExchange = "rsa"   // RSA key transport: no forward secrecy (RFC 5246 §7.4.7.1)
)

// ByteCodes is a list of one-byte code points (compression methods,
// certificate types). encoding/json would write a []uint8 as base64; this
// type writes the numbers.
type ByteCodes []uint8

// MarshalJSON writes the codes as a JSON array of numbers.
func (c ByteCodes) MarshalJSON() ([]byte, error) {
	if c == nil {
		return []byte("null"), nil
	}
	n := make([]uint16, len(c))
	for i, v := range c {
		n[i] = uint16(v)
	}
	return json.Marshal(n)
}

// UnmarshalJSON reads an array of numbers, each 0–255.
func (c *ByteCodes) UnmarshalJSON(b []byte) error {
	var n []uint8Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	if n == nil {
		*c = nil
		return nil
	}
	out := make(ByteCodes, len(n))
	for i, v := range n {
		out[i] = uint8(v)
	}
	*c = out
	return nil
}

// uint8Number is a JSON number that must fit a byte.
type uint8Number uint8

func (u *uint8Number) UnmarshalJSON(b []byte) error {
	var v uint8
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("byte code: %w", err)
	}
	*u = uint8Number(v)
	return nil
}

// Extension is one extension as it appeared in a message, in wire order
// (RFC 8446 §4.2, RFC 5246 §7.4.1.4), with its decoded value. Which of the
// value fields an extension sets depends on its ID and on the message that
// carries it; the messages' accessor methods read them.
type Extension struct {
	ID uint16 `json:"id"`
	// Length is the size of extension_data in bytes.
	Length int `json:"length"`
	// Malformed: the data does not parse as this extension's structure in
	// this message; no value field is set.
	Malformed bool `json:"malformed,omitempty"`
	// Names: server_name's host names (client; RFC 6066 §3) or ALPN's
	// protocol names (RFC 7301 §3.1).
	Names []string `json:"names,omitempty"`
	// Codes: the code points of a list (supported_groups,
	// signature_algorithms, signature_algorithms_cert,
	// delegated_credential, the client's supported_versions,
	// ec_point_formats, psk_key_exchange_modes, compress_certificate), or
	// the one a server selected (supported_versions in a ServerHello,
	// key_share in a HelloRetryRequest).
	Codes []uint16 `json:"codes,omitempty"`
	// KeyShares: key_share's entries (RFC 8446 §4.2.8): the client's list,
	// or the server's one.
	KeyShares []KeyShare `json:"key_shares,omitempty"`
	// IdentityLengths: the client's pre_shared_key identities (RFC 8446
	// §4.2.11), by size: each is an opaque ticket.
	IdentityLengths []int `json:"identity_lengths,omitempty"`
	// Value is the one number some extensions carry: status_request's
	// status type (client), heartbeat's mode, max_fragment_length's code,
	// record_size_limit, the server's selected pre_shared_key identity,
	// early_data's max_early_data_size (NewSessionTicket), the length of
	// renegotiation_info's verify data, the length of a cookie.
	Value uint32 `json:"value,omitempty"`
	// ECH is the client's encrypted_client_hello (RFC 9849 §5).
	ECH *ECHExtension `json:"ech,omitempty"`
}

// KeyShare is one key_share entry: the group, and the size of the key.
type KeyShare struct {
	Group     uint16 `json:"group"`
	KeyLength int    `json:"key_length"`
}

// ECHExtension is the client's encrypted_client_hello (RFC 9849 §5): the
// outer form carries the real ClientHello encrypted, the inner form is a
// marker inside it.
type ECHExtension struct {
	Type          uint8  `json:"type"` // 0 outer, 1 inner
	KDF           uint16 `json:"kdf,omitempty"`
	AEAD          uint16 `json:"aead,omitempty"`
	ConfigID      uint8  `json:"config_id,omitempty"`
	EncLength     int    `json:"enc_length,omitempty"`
	PayloadLength int    `json:"payload_length,omitempty"`
}

// ClientHello is RFC 8446 §4.1.2 (RFC 5246 §7.4.1.2 before TLS 1.3).
type ClientHello struct {
	LegacyVersion      uint16      `json:"legacy_version"`
	Random             []byte      `json:"random,omitempty"`
	SessionID          []byte      `json:"session_id,omitempty"`
	CipherSuites       []uint16    `json:"cipher_suites,omitempty"`
	CompressionMethods ByteCodes   `json:"compression_methods,omitempty"`
	Extensions         []Extension `json:"extensions,omitempty"`
	// AfterHelloRetryRequest: the dissector saw a HelloRetryRequest
	// before it, so this is the client's second ClientHello (RFC 8446 §4.1.4).
	AfterHelloRetryRequest bool `json:"after_hello_retry_request,omitempty"`
}

// ServerHello is RFC 8446 §4.1.3 (RFC 5246 §7.4.1.3 before TLS 1.3),
// including the HelloRetryRequest form: the same message with a special
// random (RFC 8446 §4.1.4).
type ServerHello struct {
	LegacyVersion     uint16      `json:"legacy_version"`
	Random            []byte      `json:"random,omitempty"`
	SessionID         []byte      `json:"session_id,omitempty"`
	CipherSuite       uint16      `json:"cipher_suite"`
	CompressionMethod uint8       `json:"compression_method"`
	Extensions        []Extension `json:"extensions,omitempty"`
	// EchoedSessionID: before TLS 1.3, the server repeated the client's
	// non-empty session ID, which accepts resumption (an abbreviated
	// handshake, RFC 5246 §7.4.1.3). The dissector knows it from the
	// ClientHello it saw.
	EchoedSessionID bool `json:"echoed_session_id,omitempty"`
}

// CertificateEntry is one certificate of a chain, and in TLS 1.3 its
// extensions (status_request, signed_certificate_timestamp; RFC 8446 §4.4.2.1).
type CertificateEntry struct {
	DER        []byte      `json:"der,omitempty"`
	Extensions []Extension `json:"extensions,omitempty"`
}

// Certificate is the server's (or client's) chain, leaf first: RFC 5246
// §7.4.2, or RFC 8446 §4.4.2 with a request context and per-entry
// extensions when Version is TLS 1.3.
type Certificate struct {
	// Version is the negotiated version the message was decoded for: its
	// form depends on it.
	Version        uint16             `json:"version,omitempty"`
	RequestContext []byte             `json:"request_context,omitempty"`
	Entries        []CertificateEntry `json:"entries,omitempty"`
}

// ServerKeyExchange is RFC 8422 §5.4 (ECDHE) or RFC 5246 §7.4.3 (DHE).
type ServerKeyExchange struct {
	// Version is the negotiated version: from TLS 1.2 on the signature
	// names its algorithm.
	Version     uint16      `json:"version,omitempty"`
	KeyExchange KeyExchange `json:"key_exchange"`
	// Curve is the ECDHE named curve; DHPrimeBits the size of the DHE prime.
	Curve              uint16 `json:"curve,omitempty"`
	DHPrimeBits        int    `json:"dh_prime_bits,omitempty"`
	PublicKeyLength    int    `json:"public_key_length"`
	SignatureAlgorithm uint16 `json:"signature_algorithm,omitempty"`
	SignatureLength    int    `json:"signature_length"`
	// Anonymous: the suite is anonymous (DH_anon, ECDH_anon), so the
	// parameters came unsigned and nothing authenticates the server
	// (RFC 5246 §7.4.3, RFC 8422 §2.3).
	Anonymous bool `json:"anonymous,omitempty"`
}

// CertificateRequest asks for a client certificate: RFC 5246 §7.4.4, or
// RFC 8446 §4.3.2 when Version is TLS 1.3.
type CertificateRequest struct {
	Version uint16 `json:"version,omitempty"`
	// Before TLS 1.3.
	CertificateTypes    ByteCodes `json:"certificate_types,omitempty"`
	SignatureAlgorithms []uint16  `json:"signature_algorithms,omitempty"` // TLS 1.2
	// CertificateAuthorities are DER-encoded distinguished names.
	CertificateAuthorities [][]byte `json:"certificate_authorities,omitempty"`
	// TLS 1.3.
	RequestContext []byte      `json:"request_context,omitempty"`
	Extensions     []Extension `json:"extensions,omitempty"`
}

// ServerHelloDone ends the server's first flight (RFC 5246 §7.4.5).
type ServerHelloDone struct{}

// HelloRequest asks the client to renegotiate (RFC 5246 §7.4.1.1).
type HelloRequest struct{}

// ClientKeyExchange is RFC 5246 §7.4.7: an ECDHE point (RFC 8422 §5.7), a
// DH public value, or an RSA-encrypted premaster secret.
type ClientKeyExchange struct {
	KeyExchange KeyExchange `json:"key_exchange"`
	// KeyLength is the size of the public key or encrypted premaster secret.
	KeyLength int `json:"key_length"`
}

// NewSessionTicket is RFC 5077 §3.3, or RFC 8446 §4.6.1 when Version is
// TLS 1.3.
type NewSessionTicket struct {
	Version      uint16      `json:"version,omitempty"`
	Lifetime     uint32      `json:"lifetime"`
	AgeAdd       uint32      `json:"age_add,omitempty"`
	Nonce        []byte      `json:"nonce,omitempty"`
	TicketLength int         `json:"ticket_length"`
	Extensions   []Extension `json:"extensions,omitempty"`
}

// CertificateStatus is a stapled status response (RFC 6066 §8): type 1 is OCSP.
type CertificateStatus struct {
	StatusType uint8  `json:"status_type"`
	Response   []byte `json:"response,omitempty"`
}

// EncryptedExtensions is RFC 8446 §4.3.1: the server's answers to the
// extensions not needed for the key exchange, encrypted.
type EncryptedExtensions struct {
	Extensions []Extension `json:"extensions,omitempty"`
}

// CertificateVerify is RFC 8446 §4.4.3.
type CertificateVerify struct {
	Algorithm       uint16 `json:"algorithm"`
	SignatureLength int    `json:"signature_length"`
}

// Finished is RFC 8446 §4.4.4 (decrypted with the key log).
type Finished struct {
	VerifyData []byte `json:"verify_data,omitempty"`
}

// NotDecoded is a message mailwire has no parser for here (an unassigned
// type, or one it does not decode in this position): its size only.
type NotDecoded struct {
	Length int `json:"length"`
}

// findExtension returns the first well-formed extension with the given ID.
func findExtension(exts []Extension, id uint16) *Extension {
	for i := range exts {
		if exts[i].ID == id && !exts[i].Malformed {
			return &exts[i]
		}
	}
	return nil
}

func hasExtension(exts []Extension, id uint16) bool {
	for _, e := range exts {
		if e.ID == id {
			return true
		}
	}
	return false
}

// ServerNames returns the host names of the server_name extension (RFC
// 6066 §3), nil without one.
func (m *ClientHello) ServerNames() []string {
	if e := findExtension(m.Extensions, ExtServerName); e != nil {
		return e.Names
	}
	return nil
}

// ServerName is the name the client asked for in the clear (SNI, RFC 6066
// §3); with ECH it is the public name of the outer ClientHello.
func (m *ClientHello) ServerName() string {
	if n := m.ServerNames(); len(n) > 0 {
		return n[0]
	}
	return ""
}

// ALPNProtocols lists the protocols the client offered (RFC 7301 §3.1).
func (m *ClientHello) ALPNProtocols() []string {
	if e := findExtension(m.Extensions, ExtALPN); e != nil {
		return e.Names
	}
	return nil
}

// SupportedVersions lists the versions the client offered in
// supported_versions (RFC 8446 §4.2.1), most preferred first; nil without
// the extension (a client that offers no version above TLS 1.2).
func (m *ClientHello) SupportedVersions() []uint16 {
	if e := findExtension(m.Extensions, ExtSupportedVersions); e != nil {
		return e.Codes
	}
	return nil
}

// OfferedVersions is what the client offers: supported_versions, or
// without it the legacy_version alone (RFC 8446 §4.2.1).
func (m *ClientHello) OfferedVersions() []uint16 {
	if v := m.SupportedVersions(); v != nil {
		return v
	}
	return []uint16{m.LegacyVersion}
}

// SupportedGroups lists the client's named groups (RFC 8446 §4.2.7).
func (m *ClientHello) SupportedGroups() []uint16 {
	if e := findExtension(m.Extensions, ExtSupportedGroups); e != nil {
		return e.Codes
	}
	return nil
}

// KeyShares lists the client's key shares (RFC 8446 §4.2.8).
func (m *ClientHello) KeyShares() []KeyShare {
	if e := findExtension(m.Extensions, ExtKeyShare); e != nil {
		return e.KeyShares
	}
	return nil
}

// KeyShareGroups lists the groups of the client's key shares.
func (m *ClientHello) KeyShareGroups() []uint16 {
	var g []uint16
	for _, k := range m.KeyShares() {
		g = append(g, k.Group)
	}
	return g
}

// SignatureAlgorithms lists signature_algorithms (RFC 8446 §4.2.3).
func (m *ClientHello) SignatureAlgorithms() []uint16 {
	if e := findExtension(m.Extensions, ExtSignatureAlgorithms); e != nil {
		return e.Codes
	}
	return nil
}

// PSKModes lists psk_key_exchange_modes (RFC 8446 §4.2.9).
func (m *ClientHello) PSKModes() []uint16 {
	if e := findExtension(m.Extensions, ExtPSKModes); e != nil {
		return e.Codes
	}
	return nil
}

// ECHOffered: the ClientHello carries encrypted_client_hello (RFC 9849):
// its server_name is then the public name, the real one is encrypted.
func (m *ClientHello) ECHOffered() bool {
	return hasExtension(m.Extensions, ExtEncryptedClientHello)
}

// EarlyData: the client sends 0-RTT data after this ClientHello (RFC 8446 §4.2.10).
func (m *ClientHello) EarlyData() bool {
	return hasExtension(m.Extensions, ExtEarlyData)
}

// OffersResumption: the client presents a PSK (RFC 8446 §4.2.11) or a
// session ticket (RFC 5077 §3.2), which an observer can link to an earlier
// connection.
func (m *ClientHello) OffersResumption() bool {
	if findExtension(m.Extensions, ExtPreSharedKey) != nil {
		return true
	}
	if e := findExtension(m.Extensions, ExtSessionTicket); e != nil && e.Length > 0 {
		return true
	}
	return false
}

// IsHelloRetryRequest: the random is RFC 8446 §4.1.3's special value, so
// this ServerHello asks for a new ClientHello (RFC 8446 §4.1.4).
func (m *ServerHello) IsHelloRetryRequest() bool { return bytes.Equal(m.Random, hrrRandom) }

// Downgrade reads the downgrade sentinel in the last 8 bytes of the
// random (RFC 8446 §4.1.3): VersionTLS12 for "DOWNGRD" and 0x01 (a TLS 1.3
// server negotiating TLS 1.2), VersionTLS11 for 0x00 (a TLS 1.2 or later
// server negotiating TLS 1.1 or below), 0 without one.
func (m *ServerHello) Downgrade() uint16 {
	if len(m.Random) != 32 {
		return 0
	}
	switch tail := m.Random[24:]; {
	case bytes.Equal(tail, DowngradeTLS12):
		return VersionTLS12
	case bytes.Equal(tail, DowngradeTLS11):
		return VersionTLS11
	}
	return 0
}

// SelectedVersion is the version the server chose: supported_versions in
// TLS 1.3 (RFC 8446 §4.2.1), legacy_version before.
func (m *ServerHello) SelectedVersion() uint16 {
	if e := findExtension(m.Extensions, ExtSupportedVersions); e != nil && len(e.Codes) == 1 {
		return e.Codes[0]
	}
	return m.LegacyVersion
}

// KeyShareGroup is the group of the server's key share (RFC 8446
// §4.2.8), or in a HelloRetryRequest the group it asks for.
func (m *ServerHello) KeyShareGroup() (uint16, bool) {
	e := findExtension(m.Extensions, ExtKeyShare)
	switch {
	case e == nil:
		return 0, false
	case len(e.KeyShares) == 1:
		return e.KeyShares[0].Group, true
	case len(e.Codes) == 1:
		return e.Codes[0], true
	}
	return 0, false
}

// ALPN is the protocol the server chose, when the ServerHello carries it
// (before TLS 1.3; TLS 1.3 moves it into EncryptedExtensions, RFC 8446 §4.3.1).
func (m *ServerHello) ALPN() string {
	if e := findExtension(m.Extensions, ExtALPN); e != nil && len(e.Names) > 0 {
		return e.Names[0]
	}
	return ""
}

// PSKAccepted: a TLS 1.3 server selected one of the client's PSKs (RFC
// 8446 §4.2.11).
func (m *ServerHello) PSKAccepted() bool {
	return findExtension(m.Extensions, ExtPreSharedKey) != nil
}

// Resumed: the server resumes an earlier session: a PSK in TLS 1.3, the
// echoed session ID before.
func (m *ServerHello) Resumed() bool {
	if m.IsHelloRetryRequest() {
		return false
	}
	if m.SelectedVersion() == VersionTLS13 {
		return m.PSKAccepted()
	}
	return m.EchoedSessionID
}

// Chain returns the DER certificates, leaf first.
func (m *Certificate) Chain() [][]byte {
	var out [][]byte
	for _, e := range m.Entries {
		out = append(out, e.DER)
	}
	return out
}

// CertificateSubjects returns the subject of each certificate of a
// Certificate message, leaf first, skipping one that does not parse.
func (m *Certificate) CertificateSubjects() []string {
	var out []string
	for _, e := range m.Entries {
		if c, err := x509.ParseCertificate(e.DER); err == nil {
			out = append(out, certs.Facts(c).Subject)
		}
	}
	return out
}

// ALPN is the protocol the server chose, encrypted in TLS 1.3 (RFC 8446 §4.3.1).
func (m *EncryptedExtensions) ALPN() string {
	if e := findExtension(m.Extensions, ExtALPN); e != nil && len(e.Names) > 0 {
		return e.Names[0]
	}
	return ""
}
