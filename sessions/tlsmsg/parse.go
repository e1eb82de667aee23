package tlsmsg

import (
	"bytes"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// One parse function per handshake message, in the manner of Go's
// crypto/tls/handshake_messages.go. Each reads a cryptobyte.String (which
// bounds every length prefix by the bytes actually present, so a hostile
// length can never make us allocate or read past the message) into the
// message's type (messages.go). The parsers make no display
// string: describe.go does, from the typed values.
//
// A message that does not parse comes back with the error and what was
// decoded before the part that broke (its extensions or certificates up to
// the broken one, a ServerKeyExchange's parameters), or nil when nothing
// was.

// errMalformed marks a message whose structure does not parse.
var errMalformed = errors.New("malformed")

// hrrRandom is the special ServerHello.random that marks a
// HelloRetryRequest, RFC 8446 §4.1.3: SHA-256("HelloRetryRequest").
var hrrRandom = []byte{
	0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
	0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
}

// Downgrade sentinels in the last 8 bytes of ServerHello.random, RFC 8446 §4.1.3.
var (
	DowngradeTLS12 = []byte("DOWNGRD\x01")
	DowngradeTLS11 = []byte("DOWNGRD\x00")
)

// Parser decodes the handshake messages of one TLS connection, both
// directions, in wire order. It keeps what a later message's parse
// depends on: the version and cipher suite the ServerHello chose, whether
// a HelloRetryRequest came first, the client's session ID (to recognise a
// TLS 1.2 resumption). The zero value is ready to use. Its fields are what
// the record layer needs to know as well.
type Parser struct {
	Version         uint16 // negotiated version; 0 until a ServerHello or HRR
	CipherSuite     uint16 // selected cipher suite
	ServerHelloSeen bool   // a real ServerHello (not a HelloRetryRequest) was seen
	EarlyData       bool   // the client offered 0-RTT data (RFC 8446 §4.2.10)

	hrr       bool   // a HelloRetryRequest was seen (RFC 8446 §4.1.4)
	clientSID []byte // the client's legacy_session_id, to spot TLS 1.2 resumption
}

// Parse decodes one complete handshake message (header included) seen in
// the clear. Its display fields are not made yet (Describe).
func (p *Parser) Parse(msg []byte) *Handshake {
	h := newHandshake(msg[0])
	body := cryptobyte.String(msg[4:])
	var err error
	switch msg[0] {
	case TypeClientHello:
		h.ClientHello, err = p.parseClientHello(body)
	case TypeServerHello:
		h.ServerHello, err = p.parseServerHello(body)
		if h.ServerHello != nil && h.ServerHello.IsHelloRetryRequest() {
			h.Type = "hello_retry_request"
		}
	case TypeCertificate:
		h.Certificate, err = parseCertificate(body, p.Version)
	case TypeServerKeyExchange:
		h.ServerKeyExchange, err = parseServerKeyExchange(body, p.Version, p.CipherSuite)
	case TypeCertificateRequest:
		h.CertificateRequest, err = parseCertificateRequest(body, p.Version)
	case TypeServerHelloDone:
		if err = parseEmpty(body); err == nil {
			h.ServerHelloDone = &ServerHelloDone{}
		}
	case TypeHelloRequest:
		if err = parseEmpty(body); err == nil {
			h.HelloRequest = &HelloRequest{}
		}
	case TypeClientKeyExchange:
		h.ClientKeyExchange, err = parseClientKeyExchange(body, p.CipherSuite)
	case TypeNewSessionTicket:
		h.NewSessionTicket, err = parseNewSessionTicket(body, p.Version)
	case TypeCertificateStatus:
		h.CertificateStatus, err = parseCertificateStatus(body)
	default:
		h.NotDecoded = &NotDecoded{Length: len(body)}
	}
	if err != nil {
		h.Error = err.Error()
	}
	return h
}

// ParseDecrypted decodes one TLS 1.3 handshake message (header included)
// recovered from the session's key log: it travelled encrypted (RFC 8446
// §4.3 onwards), so it is marked Encrypted. verifyDataLen is the size of
// the suite's hash, which a Finished's verify_data must have; 0 when the
// suite is unknown.
func (p *Parser) ParseDecrypted(msg []byte, verifyDataLen int) *Handshake {
	h := newHandshake(msg[0])
	h.Encrypted = true
	body := cryptobyte.String(msg[4:])
	var err error
	switch msg[0] {
	case TypeEncryptedExtensions:
		h.EncryptedExtensions, err = parseEncryptedExtensions(body)
	case TypeCertificate:
		h.Certificate, err = parseCertificate(body, VersionTLS13)
	case TypeCertificateRequest:
		h.CertificateRequest, err = parseCertificateRequest(body, VersionTLS13)
	case TypeCertificateVerify:
		h.CertificateVerify, err = parseCertificateVerify(body)
	case TypeFinished:
		h.Finished, err = parseFinished(body, verifyDataLen)
	default:
		h.NotDecoded = &NotDecoded{Length: len(body)}
	}
	if err != nil {
		h.Error = err.Error()
	}
	return h
}

func newHandshake(typ uint8) *Handshake {
	return &Handshake{Type: TypeName(typ), MsgType: typ}
}

func parseEmpty(body cryptobyte.String) error {
	if !body.Empty() {
		return fmt.Errorf("%w: expected an empty body, got %d bytes", errMalformed, len(body))
	}
	return nil
}

// parseClientHello decodes RFC 8446 §4.1.2 (and RFC 5246 §7.4.1.2).
func (p *Parser) parseClientHello(s cryptobyte.String) (*ClientHello, error) {
	m := &ClientHello{AfterHelloRetryRequest: p.hrr}
	var random, sid, suites, comp []byte
	if !s.ReadUint16(&m.LegacyVersion) || !s.ReadBytes(&random, 32) ||
		!readUint8Prefixed(&s, &sid) || !readUint16Prefixed(&s, &suites) || !readUint8Prefixed(&s, &comp) {
		return nil, fmt.Errorf("%w ClientHello header", errMalformed)
	}
	// Kept to recognise a TLS 1.2 resumption in the ServerHello.
	p.clientSID = bytes.Clone(sid)
	if len(suites)%2 != 0 {
		return nil, fmt.Errorf("%w cipher_suites: odd length %d", errMalformed, len(suites))
	}
	m.Random, m.SessionID = keep(random), keep(sid)
	m.CipherSuites = drainUint16(suites)
	m.CompressionMethods = ByteCodes(keep(comp))
	var err error
	m.Extensions, err = parseExtensions(&s, TypeClientHello, false)
	if m.EarlyData() {
		// Application data before the ServerHello is then 0-RTT.
		p.EarlyData = true
	}
	return m, err
}

// parseServerHello decodes RFC 8446 §4.1.3, including the HelloRetryRequest
// form (same message, special random, RFC 8446 §4.1.4). Once it parsed,
// the dissector knows the version and cipher suite.
func (p *Parser) parseServerHello(s cryptobyte.String) (*ServerHello, error) {
	m := &ServerHello{}
	var random, sid []byte
	if !s.ReadUint16(&m.LegacyVersion) || !s.ReadBytes(&random, 32) || !readUint8Prefixed(&s, &sid) ||
		!s.ReadUint16(&m.CipherSuite) || !s.ReadUint8(&m.CompressionMethod) {
		return nil, fmt.Errorf("%w ServerHello header", errMalformed)
	}
	m.Random, m.SessionID = keep(random), keep(sid)
	hrr := m.IsHelloRetryRequest()
	var err error
	if m.Extensions, err = parseExtensions(&s, TypeServerHello, hrr); err != nil {
		return m, err
	}
	p.Version, p.CipherSuite = m.SelectedVersion(), m.CipherSuite
	if hrr {
		p.hrr = true
		return m, nil
	}
	p.ServerHelloSeen = true
	// RFC 5246 §7.4.1.3: an echoed session ID means an abbreviated handshake.
	m.EchoedSessionID = p.Version != VersionTLS13 && len(sid) > 0 && bytes.Equal(sid, p.clientSID)
	return m, nil
}

// parseExtensions decodes an extensions block (RFC 8446 §4.2) if present.
func parseExtensions(s *cryptobyte.String, msgType uint8, hrr bool) ([]Extension, error) {
	if s.Empty() {
		return nil, nil // extensions are optional before TLS 1.3 (RFC 5246 §7.4.1.2)
	}
	var exts cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&exts) || !s.Empty() {
		return nil, fmt.Errorf("%w extensions block", errMalformed)
	}
	return parseExtensionList(exts, msgType, hrr)
}

// parseExtensionList decodes the extensions of a block whose length was
// already read (extensions.go); it returns the ones before a break
// in the list's framing.
func parseExtensionList(exts cryptobyte.String, msgType uint8, hrr bool) ([]Extension, error) {
	var out []Extension
	for !exts.Empty() {
		var id uint16
		var data cryptobyte.String
		if !exts.ReadUint16(&id) || !exts.ReadUint16LengthPrefixed(&data) {
			return out, fmt.Errorf("%w extension list", errMalformed)
		}
		out = append(out, parseExtension(id, data, extAt{msgType, hrr}))
	}
	return out, nil
}

// parseCertificate decodes the Certificate message: RFC 5246 §7.4.2 for
// TLS ≤ 1.2; in TLS 1.3 (RFC 8446 §4.4.2) a request context comes first
// and each certificate has extensions. TLS 1.3 encrypts it: it is seen
// in the clear only if a key log recovered it, or from a broken server.
func parseCertificate(s cryptobyte.String, version uint16) (*Certificate, error) {
	m := &Certificate{Version: version}
	tls13 := version == VersionTLS13
	if tls13 {
		var ctx []byte
		if !readUint8Prefixed(&s, &ctx) {
			return nil, fmt.Errorf("%w certificate_request_context", errMalformed)
		}
		m.RequestContext = keep(ctx)
	}
	var list cryptobyte.String
	if !s.ReadUint24LengthPrefixed(&list) || !s.Empty() {
		return nil, fmt.Errorf("%w certificate_list", errMalformed)
	}
	for i := 0; !list.Empty(); i++ {
		var der []byte
		if !readUint24Prefixed(&list, &der) {
			return m, fmt.Errorf("%w certificate entry %d", errMalformed, i)
		}
		entry := CertificateEntry{DER: keep(der)}
		if tls13 {
			var exts cryptobyte.String
			if !list.ReadUint16LengthPrefixed(&exts) {
				return m, fmt.Errorf("%w certificate entry %d", errMalformed, i)
			}
			// status_request carries a stapled OCSP response here and
			// signed_certificate_timestamp the SCTs (RFC 8446 §4.4.2.1).
			var err error
			entry.Extensions, err = parseExtensionList(exts, TypeCertificate, false)
			if err != nil {
				m.Entries = append(m.Entries, entry)
				return m, fmt.Errorf("%w certificate entry %d extensions", errMalformed, i)
			}
		}
		m.Entries = append(m.Entries, entry)
	}
	return m, nil
}

// parseServerKeyExchange decodes RFC 8422 §5.4 (ECDHE) or RFC 5246 §7.4.3
// (DHE); which one follows from the cipher suite the ServerHello chose
// (the registry, suites.go), or for a suite outside it, from the
// curve_type byte. The anonymous suites send their parameters unsigned
// (RFC 5246 §7.4.3 dh_anon, RFC 8422 §2.3 ECDH_anon).
func parseServerKeyExchange(s cryptobyte.String, version, suite uint16) (*ServerKeyExchange, error) {
	m := &ServerKeyExchange{Version: version, KeyExchange: KeyExchangeDHE}
	kx := suiteKeyExchange(suite)
	if kx == KeyExchangeECDHE || (kx != KeyExchangeDHE && len(s) > 0 && s[0] == 3) {
		m.KeyExchange = KeyExchangeECDHE
		var curveType uint8
		var point []byte
		if !s.ReadUint8(&curveType) || curveType != 3 || !s.ReadUint16(&m.Curve) || !readUint8Prefixed(&s, &point) {
			return nil, fmt.Errorf("%w ECDHE parameters (only named_curve exists, RFC 8422 §5.4)", errMalformed)
		}
		m.PublicKeyLength = len(point)
	} else {
		var p, g, y []byte
		if !readUint16Prefixed(&s, &p) || !readUint16Prefixed(&s, &g) || !readUint16Prefixed(&s, &y) {
			return nil, fmt.Errorf("%w DHE parameters", errMalformed)
		}
		m.DHPrimeBits, m.PublicKeyLength = bitLen(p), len(y)
	}
	if suiteAnonymous(suite) {
		m.Anonymous = true
		if !s.Empty() {
			return m, fmt.Errorf("%w parameters: bytes after the unsigned parameters of an anonymous suite", errMalformed)
		}
		return m, nil
	}
	// The parameters parsed: a broken signature keeps them.
	if version >= VersionTLS12 && !s.ReadUint16(&m.SignatureAlgorithm) {
		return m, fmt.Errorf("%w signature algorithm", errMalformed)
	}
	var sig []byte
	if !readUint16Prefixed(&s, &sig) || !s.Empty() {
		return m, fmt.Errorf("%w signature", errMalformed)
	}
	m.SignatureLength = len(sig)
	return m, nil
}

func bitLen(b []byte) int {
	for i, c := range b {
		if c != 0 {
			n := (len(b) - i) * 8
			for m := byte(0x80); c&m == 0; m >>= 1 {
				n--
			}
			return n
		}
	}
	return 0
}

// parseCertificateRequest decodes RFC 5246 §7.4.4, or in TLS 1.3 RFC 8446
// §4.3.2: a context and extensions (signature_algorithms is required).
func parseCertificateRequest(s cryptobyte.String, version uint16) (*CertificateRequest, error) {
	m := &CertificateRequest{Version: version}
	if version == VersionTLS13 {
		var ctx []byte
		if !readUint8Prefixed(&s, &ctx) || s.Empty() {
			return nil, fmt.Errorf("%w CertificateRequest", errMalformed)
		}
		m.RequestContext = keep(ctx)
		var err error
		m.Extensions, err = parseExtensions(&s, TypeCertificateRequest, false)
		return m, err
	}
	var types []byte
	if !readUint8Prefixed(&s, &types) {
		return nil, fmt.Errorf("%w certificate_types", errMalformed)
	}
	m.CertificateTypes = ByteCodes(keep(types))
	if version >= VersionTLS12 {
		ids, ok := readUint16List(&s)
		if !ok {
			return m, fmt.Errorf("%w supported_signature_algorithms", errMalformed)
		}
		m.SignatureAlgorithms = ids
	}
	var cas cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&cas) || !s.Empty() {
		return m, fmt.Errorf("%w certificate_authorities", errMalformed)
	}
	for !cas.Empty() {
		var dn []byte
		if !readUint16Prefixed(&cas, &dn) {
			return m, fmt.Errorf("%w distinguished name", errMalformed)
		}
		m.CertificateAuthorities = append(m.CertificateAuthorities, dn[:len(dn):len(dn)])
	}
	return m, nil
}

// parseClientKeyExchange decodes RFC 5246 §7.4.7: an ECDHE point (RFC 8422
// §5.7), a DH public value, or an RSA-encrypted premaster secret, as the
// cipher suite says (or for a suite mailwire cannot name, the shape: an
// ECDHE point's one-byte length covers the rest).
func parseClientKeyExchange(s cryptobyte.String, suite uint16) (*ClientKeyExchange, error) {
	kx := suiteKeyExchange(suite)
	if kx == "" {
		kx = KeyExchangeDHE
		if len(s) > 0 && int(s[0]) == len(s)-1 {
			kx = KeyExchangeECDHE
		}
	}
	var key []byte
	switch kx {
	case KeyExchangeECDHE:
		if !readUint8Prefixed(&s, &key) || !s.Empty() {
			return nil, fmt.Errorf("%w ECDHE public key", errMalformed)
		}
	case KeyExchangeRSA:
		if !readUint16Prefixed(&s, &key) || !s.Empty() {
			return nil, fmt.Errorf("%w encrypted premaster secret", errMalformed)
		}
	default:
		if !readUint16Prefixed(&s, &key) || !s.Empty() {
			return nil, fmt.Errorf("%w DH public value", errMalformed)
		}
	}
	return &ClientKeyExchange{KeyExchange: kx, KeyLength: len(key)}, nil
}

// parseNewSessionTicket decodes RFC 5077 §3.3 (TLS ≤ 1.2) or RFC 8446
// §4.6.1 (TLS 1.3, only seen plaintext when recovered from a key log).
func parseNewSessionTicket(s cryptobyte.String, version uint16) (*NewSessionTicket, error) {
	m := &NewSessionTicket{Version: version}
	var ticket []byte
	if !s.ReadUint32(&m.Lifetime) {
		return nil, fmt.Errorf("%w ticket lifetime", errMalformed)
	}
	if version == VersionTLS13 {
		var nonce []byte
		if !s.ReadUint32(&m.AgeAdd) || !readUint8Prefixed(&s, &nonce) || !readUint16Prefixed(&s, &ticket) {
			return nil, fmt.Errorf("%w NewSessionTicket", errMalformed)
		}
		m.Nonce, m.TicketLength = keep(nonce), len(ticket)
		var err error
		m.Extensions, err = parseExtensions(&s, TypeNewSessionTicket, false)
		return m, err
	}
	if !readUint16Prefixed(&s, &ticket) || !s.Empty() {
		return nil, fmt.Errorf("%w ticket", errMalformed)
	}
	m.TicketLength = len(ticket)
	return m, nil
}

// parseCertificateStatus decodes RFC 6066 §8: a stapled OCSP response.
func parseCertificateStatus(s cryptobyte.String) (*CertificateStatus, error) {
	m := &CertificateStatus{}
	var resp []byte
	if !s.ReadUint8(&m.StatusType) || !readUint24Prefixed(&s, &resp) || !s.Empty() {
		return nil, fmt.Errorf("%w CertificateStatus", errMalformed)
	}
	m.Response = keep(resp)
	return m, nil
}

// Small helpers over cryptobyte.

func readUint8Prefixed(s *cryptobyte.String, out *[]byte) bool {
	return s.ReadUint8LengthPrefixed((*cryptobyte.String)(out))
}

func readUint16Prefixed(s *cryptobyte.String, out *[]byte) bool {
	return s.ReadUint16LengthPrefixed((*cryptobyte.String)(out))
}

func readUint24Prefixed(s *cryptobyte.String, out *[]byte) bool {
	return s.ReadUint24LengthPrefixed((*cryptobyte.String)(out))
}

// readUint16List reads a uint16-length-prefixed list of uint16.
func readUint16List(s *cryptobyte.String) ([]uint16, bool) {
	var list cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&list) || len(list)%2 != 0 {
		return nil, false
	}
	return drainUint16(list), true
}

// readUint16ListU8 reads a uint8-length-prefixed list of uint16.
func readUint16ListU8(s *cryptobyte.String) ([]uint16, bool) {
	var list cryptobyte.String
	if !s.ReadUint8LengthPrefixed(&list) || len(list)%2 != 0 {
		return nil, false
	}
	return drainUint16(list), true
}

// drainUint16 reads a list of uint16; nil when empty, so that a message
// reads back from JSON as it was.
func drainUint16(list cryptobyte.String) []uint16 {
	if len(list) == 0 {
		return nil
	}
	ids := make([]uint16, 0, len(list)/2)
	for !list.Empty() {
		var v uint16
		list.ReadUint16(&v)
		ids = append(ids, v)
	}
	return ids
}

// widen turns one-byte code points into the uint16 of Extension.Codes.
func widen(b []byte) []uint16 {
	if len(b) == 0 {
		return nil
	}
	out := make([]uint16, len(b))
	for i, c := range b {
		out[i] = uint16(c)
	}
	return out
}

// keep returns b for a typed message: nil when empty (so the message reads
// back from JSON as it was), and with its capacity cut so that an append
// can never write into the message bytes it aliases.
func keep(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b[:len(b):len(b)]
}

// parseEncryptedExtensions decodes RFC 8446 §4.3.1: the server's answers to
// the ClientHello extensions that are not needed for the key exchange.
func parseEncryptedExtensions(s cryptobyte.String) (*EncryptedExtensions, error) {
	if s.Empty() {
		return nil, fmt.Errorf("%w: EncryptedExtensions needs its extensions block", errMalformed)
	}
	m := &EncryptedExtensions{}
	var err error
	m.Extensions, err = parseExtensions(&s, TypeEncryptedExtensions, false)
	return m, err
}

// parseCertificateVerify decodes RFC 8446 §4.4.3.
func parseCertificateVerify(s cryptobyte.String) (*CertificateVerify, error) {
	m := &CertificateVerify{}
	var sig []byte
	if !s.ReadUint16(&m.Algorithm) || !readUint16Prefixed(&s, &sig) || !s.Empty() {
		return nil, fmt.Errorf("%w CertificateVerify", errMalformed)
	}
	m.SignatureLength = len(sig)
	return m, nil
}

// parseFinished decodes RFC 8446 §4.4.4: verify_data, as long as the
// suite's hash (want; 0 when the suite is unknown).
func parseFinished(s cryptobyte.String, want int) (*Finished, error) {
	m := &Finished{VerifyData: keep(s)}
	if want > 0 && len(s) != want {
		return m, fmt.Errorf("%w: verify_data is %d bytes, the suite's hash gives %d", errMalformed, len(s), want)
	}
	return m, nil
}
