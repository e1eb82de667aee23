package tlsmsg

import (
	"fmt"
	"slices"
	"strings"

	"github.com/mailwire/mailwire/sessions/certs"
)

// Handshake message types, RFC 8446 §4 and RFC 5246 §7.4.
const (
	TypeHelloRequest        = 0
	TypeClientHello         = 1
	TypeServerHello         = 2
	TypeNewSessionTicket    = 4
	TypeEndOfEarlyData      = 5
	TypeEncryptedExtensions = 8
	TypeCertificate         = 11
	TypeServerKeyExchange   = 12
	TypeCertificateRequest  = 13
	TypeServerHelloDone     = 14
	TypeCertificateVerify   = 15
	TypeClientKeyExchange   = 16
	TypeFinished            = 20
	TypeCertificateURL      = 21
	TypeCertificateStatus   = 22
	TypeKeyUpdate           = 24
	TypeCompressedCert      = 25
	TypeMessageHash         = 254
)

var handshakeTypeNames = map[uint8]string{
	TypeHelloRequest:        "hello_request",
	TypeClientHello:         "client_hello",
	TypeServerHello:         "server_hello",
	TypeNewSessionTicket:    "new_session_ticket",
	TypeEndOfEarlyData:      "end_of_early_data",
	TypeEncryptedExtensions: "encrypted_extensions",
	TypeCertificate:         "certificate",
	TypeServerKeyExchange:   "server_key_exchange",
	TypeCertificateRequest:  "certificate_request",
	TypeServerHelloDone:     "server_hello_done",
	TypeCertificateVerify:   "certificate_verify",
	TypeClientKeyExchange:   "client_key_exchange",
	TypeFinished:            "finished",
	TypeCertificateURL:      "certificate_url",
	TypeCertificateStatus:   "certificate_status",
	TypeKeyUpdate:           "key_update",
	TypeCompressedCert:      "compressed_certificate",
	TypeMessageHash:         "message_hash",
}

// TypeName returns the IANA name, or "unknown" for an unassigned
// type (the numeric value goes into the event's Text, not into the name,
// so that annotation keys stay a closed set).
func TypeName(t uint8) string {
	if n, ok := handshakeTypeNames[t]; ok {
		return n
	}
	return "unknown"
}

// Extension numbers, IANA "TLS ExtensionType Values".
const (
	ExtServerName           = 0
	ExtMaxFragmentLength    = 1
	ExtStatusRequest        = 5
	ExtSupportedGroups      = 10
	ExtECPointFormats       = 11
	ExtSignatureAlgorithms  = 13
	ExtHeartbeat            = 15
	ExtALPN                 = 16
	ExtSCT                  = 18
	ExtPadding              = 21
	ExtEncryptThenMAC       = 22
	ExtExtendedMasterSecret = 23
	ExtCompressCertificate  = 27
	ExtRecordSizeLimit      = 28
	ExtDelegatedCredential  = 34
	ExtSessionTicket        = 35
	ExtPreSharedKey         = 41
	ExtEarlyData            = 42
	ExtSupportedVersions    = 43
	ExtCookie               = 44
	ExtPSKModes             = 45
	ExtCertAuthorities      = 47
	ExtPostHandshakeAuth    = 49
	ExtSigAlgsCert          = 50
	ExtKeyShare             = 51
	ExtQUICTransportParams  = 57
	ExtNextProtoNeg         = 13172
	ExtALPSOld              = 0x4469
	ExtALPS                 = 0x44cd
	ExtECHOuterExtensions   = 0xfd00
	ExtEncryptedClientHello = 0xfe0d
	ExtRenegotiationInfo    = 0xff01
)

// extensionNames maps an extension number to its IANA name, which is also the
// suffix of its annotation key (tls.ext.<name>).
var extensionNames = map[uint16]string{
	ExtServerName:           "server_name",
	ExtMaxFragmentLength:    "max_fragment_length",
	ExtStatusRequest:        "status_request",
	ExtSupportedGroups:      "supported_groups",
	ExtECPointFormats:       "ec_point_formats",
	ExtSignatureAlgorithms:  "signature_algorithms",
	ExtHeartbeat:            "heartbeat",
	ExtALPN:                 "application_layer_protocol_negotiation",
	ExtSCT:                  "signed_certificate_timestamp",
	ExtPadding:              "padding",
	ExtEncryptThenMAC:       "encrypt_then_mac",
	ExtExtendedMasterSecret: "extended_master_secret",
	ExtCompressCertificate:  "compress_certificate",
	ExtRecordSizeLimit:      "record_size_limit",
	ExtDelegatedCredential:  "delegated_credential",
	ExtSessionTicket:        "session_ticket",
	ExtPreSharedKey:         "pre_shared_key",
	ExtEarlyData:            "early_data",
	ExtSupportedVersions:    "supported_versions",
	ExtCookie:               "cookie",
	ExtPSKModes:             "psk_key_exchange_modes",
	ExtCertAuthorities:      "certificate_authorities",
	ExtPostHandshakeAuth:    "post_handshake_auth",
	ExtSigAlgsCert:          "signature_algorithms_cert",
	ExtKeyShare:             "key_share",
	ExtQUICTransportParams:  "quic_transport_parameters",
	ExtNextProtoNeg:         "next_protocol_negotiation",
	ExtALPSOld:              "application_settings_old",
	ExtALPS:                 "application_settings",
	ExtECHOuterExtensions:   "ech_outer_extensions",
	ExtEncryptedClientHello: "encrypted_client_hello",
	ExtRenegotiationInfo:    "renegotiation_info",
}

// extensionKeyName is the name used in the annotation key: the known name,
// "grease" for RFC 8701 values and "unknown" otherwise.
func extensionKeyName(id uint16) string {
	if isGREASE(id) {
		return "grease"
	}
	if n, ok := extensionNames[id]; ok {
		return n
	}
	return "unknown"
}

// extensionDisplayName is the name shown to the user.
func extensionDisplayName(id uint16) string { return codeName(extensionNames, id) }

// codeName names a 16-bit code point of a registry that clients grease
// (extensions, groups, signature schemes): "GREASE(0x0a0a)" for a value
// of RFC 8701 §2, the IANA name, or "unknown(0x1234)".
func codeName(names map[uint16]string, v uint16) string {
	if isGREASE(v) {
		return fmt.Sprintf("GREASE(0x%04x)", v)
	}
	if n, ok := names[v]; ok {
		return n
	}
	return fmt.Sprintf("unknown(0x%04x)", v)
}

// smallName names a value of a small registry without GREASE: the IANA
// name, or "unknown(N)".
func smallName[T ~uint8 | ~uint16](names map[T]string, v T) string {
	if n, ok := names[v]; ok {
		return n
	}
	return fmt.Sprintf("unknown(%d)", v)
}

// isGREASE reports whether v is one of the reserved values of RFC 8701 §2
// (0x0a0a, 0x1a1a, …, 0xfafa) that clients sprinkle into lists so that
// servers keep tolerating unknown values.
func isGREASE(v uint16) bool {
	return v&0x0f0f == 0x0a0a && v>>8 == v&0xff
}

// Named groups, IANA "TLS Supported Groups" (RFC 8446 §4.2.7, RFC 8422,
// draft-ietf-tls-ecdhe-mlkem for the hybrid post-quantum groups).
var groupNames = map[uint16]string{
	1: "sect163k1", 23: "secp256r1", 24: "secp384r1", 25: "secp521r1",
	29: "x25519", 30: "x448",
	256: "ffdhe2048", 257: "ffdhe3072", 258: "ffdhe4096", 259: "ffdhe6144", 260: "ffdhe8192",
	0x11eb: "SecP256r1MLKEM768", 0x11ec: "X25519MLKEM768", 0x11ed: "SecP384r1MLKEM1024",
	0x6399: "X25519Kyber768Draft00",
}

func groupName(id uint16) string { return codeName(groupNames, id) }

// Signature schemes, IANA "TLS SignatureScheme" (RFC 8446 §4.2.3).
var sigSchemeNames = map[uint16]string{
	0x0201: "rsa_pkcs1_sha1", 0x0203: "ecdsa_sha1",
	0x0401: "rsa_pkcs1_sha256", 0x0501: "rsa_pkcs1_sha384", 0x0601: "rsa_pkcs1_sha512",
	0x0403: "ecdsa_secp256r1_sha256", 0x0503: "ecdsa_secp384r1_sha384", 0x0603: "ecdsa_secp521r1_sha512",
	0x0804: "rsa_pss_rsae_sha256", 0x0805: "rsa_pss_rsae_sha384", 0x0806: "rsa_pss_rsae_sha512",
	0x0807: "ed25519", 0x0808: "ed448",
	0x0809: "rsa_pss_pss_sha256", 0x080a: "rsa_pss_pss_sha384", 0x080b: "rsa_pss_pss_sha512",
	0x0904: "mldsa44", 0x0905: "mldsa65", 0x0906: "mldsa87",
}

func sigSchemeName(id uint16) string { return codeName(sigSchemeNames, id) }

// EC point formats (RFC 8422 §5.1.2).
var pointFormatNames = map[uint16]string{0: "uncompressed", 1: "ansiX962_compressed_prime", 2: "ansiX962_compressed_char2"}

func pointFormatName(v uint16) string { return smallName(pointFormatNames, v) }

// PSK key exchange modes (RFC 8446 §4.2.9).
var pskModeNames = map[uint16]string{0: "psk_ke", 1: "psk_dhe_ke"}

func pskModeName(v uint16) string { return smallName(pskModeNames, v) }

// Certificate compression algorithms (RFC 8879 §7.3).
var certCompressionNames = map[uint16]string{1: "zlib", 2: "brotli", 3: "zstd"}

func certCompressionName(v uint16) string { return smallName(certCompressionNames, v) }

// TLS 1.2 ClientCertificateTypes (RFC 5246 §7.4.4, RFC 8422 §5.5 for
// ecdsa_sign).
var certTypeNames = map[uint8]string{1: "rsa_sign", 2: "dss_sign", 3: "rsa_fixed_dh", 4: "dss_fixed_dh", 64: "ecdsa_sign"}

func certTypeName(t uint8) string { return smallName(certTypeNames, t) }

// Protocol versions as written on the wire (RFC 8446 §4.2.1, RFC 5246
// Appendix A.1).
const (
	VersionSSL30 uint16 = 0x0300
	VersionTLS10 uint16 = 0x0301
	VersionTLS11 uint16 = 0x0302
	VersionTLS12 uint16 = 0x0303
	VersionTLS13 uint16 = 0x0304
)

func versionName(v uint16) string {
	switch v {
	case VersionSSL30:
		return "SSL 3.0"
	case VersionTLS10:
		return "TLS 1.0"
	case VersionTLS11:
		return "TLS 1.1"
	case VersionTLS12:
		return "TLS 1.2"
	case VersionTLS13:
		return "TLS 1.3"
	}
	if isGREASE(v) {
		return fmt.Sprintf("GREASE(0x%04x)", v)
	}
	if v>>8 == 0x7f {
		return fmt.Sprintf("TLS 1.3 draft %d", v&0xff)
	}
	return fmt.Sprintf("0x%04x", v)
}

// Alert descriptions, RFC 8446 §6 plus the values only earlier versions
// define (RFC 5246 §7.2).
var alertNames = map[uint8]string{
	0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac", 21: "decryption_failed",
	22: "record_overflow", 30: "decompression_failure", 40: "handshake_failure",
	41: "no_certificate", 42: "bad_certificate", 43: "unsupported_certificate",
	44: "certificate_revoked", 45: "certificate_expired", 46: "certificate_unknown",
	47: "illegal_parameter", 48: "unknown_ca", 49: "access_denied", 50: "decode_error",
	51: "decrypt_error", 60: "export_restriction", 70: "protocol_version",
	71: "insufficient_security", 80: "internal_error", 86: "inappropriate_fallback",
	90: "user_canceled", 100: "no_renegotiation", 109: "missing_extension",
	110: "unsupported_extension", 111: "certificate_unobtainable", 112: "unrecognized_name",
	113: "bad_certificate_status_response", 114: "bad_certificate_hash_value",
	115: "unknown_psk_identity", 116: "certificate_required", 120: "no_application_protocol",
	121: "ech_required",
}

func alertName(d uint8) string {
	if n, ok := alertNames[d]; ok {
		return n
	}
	return "unknown"
}

// Annotation keys of handshake messages that are not derived from a name
// table.
const (
	annHRR             = "tls.handshake.hello_retry_request"
	annDowngrade       = "tls.downgrade_sentinel"
	annCertSubject     = certs.KeySubject
	annCertIssuer      = certs.KeyIssuer
	annCertSAN         = certs.KeyNames
	annCertValidity    = certs.KeyValidity
	annCertKey         = certs.KeyKey
	annCertUnparseable = "tls.cert.unparseable"
	annRSAKeyTransport = "tls.kex.rsa_key_transport"
	KeyMalformed       = "tls.error.malformed_handshake"
)

// AnnotationKeys lists every annotation key a handshake message's
// event and fields can carry, and the alerts' (an alert record is named
// by its description), sorted.
func AnnotationKeys() []string {
	keys := []string{
		annHRR, annDowngrade, annCertSubject, annCertIssuer, annCertSAN, annCertValidity,
		annCertKey, annCertUnparseable, annRSAKeyTransport, KeyMalformed,
		"tls.handshake.unknown", "tls.ext.grease", "tls.ext.unknown", "tls.alert.unknown",
	}
	for _, n := range handshakeTypeNames {
		keys = append(keys, "tls.handshake."+n)
	}
	for _, n := range extensionNames {
		keys = append(keys, "tls.ext."+n)
	}
	for _, n := range alertNames {
		keys = append(keys, "tls.alert."+n)
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// joinNames formats a list for a Field value.
func joinNames(names []string) string {
	if len(names) == 0 {
		return "(none)"
	}
	return strings.Join(names, ", ")
}
