package tlsprobe

import (
	"crypto/ecdh"
	"crypto/rand"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mailwire/mailwire/sessions/dissect"
	"github.com/mailwire/mailwire/sessions/tlsmsg"
)

// Protocol versions as written on the wire, tlsmsg's (RFC 8446 §4.2.1,
// RFC 5246 §A.1, RFC 6101 §5.2.1).
const (
	VersionSSL30 = tlsmsg.VersionSSL30
	VersionTLS10 = tlsmsg.VersionTLS10
	VersionTLS11 = tlsmsg.VersionTLS11
	VersionTLS12 = tlsmsg.VersionTLS12
	VersionTLS13 = tlsmsg.VersionTLS13
)

// Versions lists every version a scan probes, oldest first.
func Versions() []uint16 {
	return []uint16{VersionSSL30, VersionTLS10, VersionTLS11, VersionTLS12, VersionTLS13}
}

// groupX25519 is the key share a TLS 1.3 hello carries (RFC 8446 §4.2.7).
const groupX25519 uint16 = 29

// maxPlaintext is the largest record fragment allowed (RFC 8446 §5.1,
// RFC 5246 §6.2.1).
const maxPlaintext = 1 << 14

// The groups a TLS ≤ 1.2 hello offers for ECDHE (RFC 8422 §5.1.1), strong
// first. Finite-field groups (RFC 7919) are left out on purpose: a server
// that implements RFC 7919 and finds none of the offered ffdhe groups
// acceptable "MUST NOT select an FFDHE cipher suite" (§4), which would hide
// DHE suites a client without the extension gets.
var legacyGroups = []uint16{
	groupX25519, 23 /* secp256r1 */, 30 /* x448 */, 24 /* secp384r1 */, 25, /* secp521r1 */
	26, 27, 28 /* brainpoolP256r1, P384r1, P512r1 */, 22 /* secp256k1 */, 21 /* secp224r1 */, 19, /* secp192r1 */
}

// The groups a TLS 1.3 hello supports; the key share is X25519 only, and
// a server that wants another group asks for it with a HelloRetryRequest,
// which names the suite it chose all the same (RFC 8446 §4.1.4).
var tls13Groups = []uint16{
	groupX25519, 23, 24, 25, 30,
	256, 257, 258, 259, 260, /* ffdhe2048 … ffdhe8192, RFC 7919 */
}

// The signature algorithms offered (RFC 8446 §4.2.3, RFC 5246
// §7.4.1.4.1): the modern ones first, then SHA-224, SHA-1 and DSA, so
// that a server whose only certificate needs one of them still answers.
var sigAlgs = []uint16{
	0x0403, 0x0503, 0x0603, // ecdsa_secp256r1_sha256, secp384r1_sha384, secp521r1_sha512
	0x0807, 0x0808, // ed25519, ed448
	0x0804, 0x0805, 0x0806, // rsa_pss_rsae_sha256/384/512
	0x0809, 0x080a, 0x080b, // rsa_pss_pss_sha256/384/512
	0x0401, 0x0501, 0x0601, // rsa_pkcs1_sha256/384/512
	0x0303, 0x0301, 0x0302, // SHA-224: ecdsa, rsa, dsa
	0x0203, 0x0201, 0x0202, // SHA-1: ecdsa_sha1, rsa_pkcs1_sha1, dsa_sha1
	0x0402, 0x0502, 0x0602, // dsa_sha256/384/512
}

// Hello describes one ClientHello. A probe offers exactly one version, so
// that the answer says whether the server speaks it.
type Hello struct {
	// Version is the version offered: SSL 3.0 to TLS 1.3. Up to TLS 1.2
	// it is the hello's legacy_version (RFC 5246 §7.4.1.2); TLS 1.3 is
	// offered as the only entry of supported_versions, with
	// legacy_version 1.2 (RFC 8446 §4.2.1).
	Version uint16
	// Suites are offered in this order.
	Suites []uint16
	// ServerName is sent as SNI as crypto/tls sends it (tlsmsg.SNIFor):
	// an IP address never (RFC 6066 §3), a name without its trailing dot.
	ServerName string
	// ALPN protocols to offer (RFC 7301 §3.1); none when empty.
	ALPN []string
}

// Marshal returns the ClientHello handshake message: type, length, body
// (RFC 8446 §4.1.2; RFC 5246 §7.4.1.2 for TLS ≤ 1.2; an SSL 3.0 hello has
// no extensions, RFC 6101 §5.6.1.2).
func (h Hello) Marshal() ([]byte, error) {
	if h.Version < VersionSSL30 || h.Version > VersionTLS13 {
		return nil, fmt.Errorf("client hello: version 0x%04x is not SSL 3.0 to TLS 1.3", h.Version)
	}
	if len(h.Suites) == 0 {
		return nil, errors.New("client hello: no cipher suite to offer")
	}
	random := make([]byte, 32)
	if _, err := rand.Read(random); err != nil {
		return nil, fmt.Errorf("client hello: random: %w", err)
	}
	legacy := h.Version
	var sessionID []byte
	var share []byte
	if h.Version == VersionTLS13 {
		legacy = VersionTLS12
		// A non-empty legacy_session_id puts the server in middlebox
		// compatibility mode (RFC 8446 §D.4), as every browser does.
		sessionID = make([]byte, 32)
		if _, err := rand.Read(sessionID); err != nil {
			return nil, fmt.Errorf("client hello: session id: %w", err)
		}
		// A real X25519 public key: a server checks the share before it
		// answers, and refuses a low-order point (RFC 7748 §6.1).
		key, err := ecdh.X25519().GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("client hello: key share: %w", err)
		}
		share = key.PublicKey().Bytes()
	}

	var b cryptobyte.Builder
	b.AddUint8(tlsmsg.TypeClientHello)
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddUint16(legacy)
		b.AddBytes(random)
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(sessionID) })
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			for _, s := range h.Suites {
				b.AddUint16(s)
			}
		})
		// Only the null compression method (RFC 8446 §4.1.2 requires
		// exactly that; offering DEFLATE would be a CRIME test, not a
		// suite probe).
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint8(0) })
		if h.Version == VersionSSL30 {
			return
		}
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { h.addExtensions(b, share) })
	})
	return b.Bytes()
}

// addExtensions writes the extension block.
func (h Hello) addExtensions(b *cryptobyte.Builder, share []byte) {
	ext := func(id uint16, body func(*cryptobyte.Builder)) {
		b.AddUint16(id)
		b.AddUint16LengthPrefixed(body)
	}
	if name := tlsmsg.SNIFor(h.ServerName); name != "" {
		// RFC 6066 §3: a list holding one host_name (type 0).
		ext(tlsmsg.ExtServerName, func(b *cryptobyte.Builder) {
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				b.AddUint8(0)
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(name)) })
			})
		})
	}
	groups := legacyGroups
	if h.Version == VersionTLS13 {
		groups = tls13Groups
	}
	ext(tlsmsg.ExtSupportedGroups, func(b *cryptobyte.Builder) { addUint16List(b, groups) })
	// RFC 8422 §5.1.2: uncompressed is the only format left.
	ext(tlsmsg.ExtECPointFormats, func(b *cryptobyte.Builder) {
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint8(0) })
	})
	if h.Version >= VersionTLS12 {
		// RFC 5246 §7.4.1.4.1: not to be offered with an earlier version.
		ext(tlsmsg.ExtSignatureAlgorithms, func(b *cryptobyte.Builder) { addUint16List(b, sigAlgs) })
	}
	if len(h.ALPN) > 0 {
		ext(tlsmsg.ExtALPN, func(b *cryptobyte.Builder) {
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				for _, p := range h.ALPN {
					b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(p)) })
				}
			})
		})
	}
	ext(tlsmsg.ExtExtendedMasterSecret, func(*cryptobyte.Builder) {}) // RFC 7627 §5.1
	if h.Version == VersionTLS13 {
		ext(tlsmsg.ExtSupportedVersions, func(b *cryptobyte.Builder) {
			b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint16(VersionTLS13) })
		})
		// psk_dhe_ke only (RFC 8446 §4.2.9); no PSK is offered.
		ext(tlsmsg.ExtPSKModes, func(b *cryptobyte.Builder) {
			b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint8(1) })
		})
		ext(tlsmsg.ExtKeyShare, func(b *cryptobyte.Builder) {
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				b.AddUint16(groupX25519)
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(share) })
			})
		})
	} else {
		// RFC 5746 §3.4: an initial handshake carries an empty
		// renegotiation_info (or the SCSV); TLS 1.3 has no renegotiation.
		ext(tlsmsg.ExtRenegotiationInfo, func(b *cryptobyte.Builder) {
			b.AddUint8LengthPrefixed(func(*cryptobyte.Builder) {})
		})
	}
}

func addUint16List(b *cryptobyte.Builder, list []uint16) {
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, v := range list {
			b.AddUint16(v)
		}
	})
}

// Records returns the ClientHello framed in handshake records, as it goes
// on the wire. The record version is 3.0 for an SSL 3.0 probe and 3.1
// (TLS 1.0) otherwise, the value RFC 8446 §5.1 allows in an initial
// ClientHello for the sake of old servers that refuse a higher one.
func (h Hello) Records() ([]byte, error) {
	msg, err := h.Marshal()
	if err != nil {
		return nil, err
	}
	recVersion := VersionTLS10
	if h.Version == VersionSSL30 {
		recVersion = VersionSSL30
	}
	out := make([]byte, 0, len(msg)+5*(len(msg)/maxPlaintext+1))
	for len(msg) > 0 {
		n := min(len(msg), maxPlaintext)
		out = append(out, dissect.RecordHandshake, byte(recVersion>>8), byte(recVersion), byte(n>>8), byte(n))
		out = append(out, msg[:n]...)
		msg = msg[n:]
	}
	return out, nil
}
