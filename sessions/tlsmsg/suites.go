package tlsmsg

import (
	"crypto/tls"
	"fmt"
	"strings"
	"sync"
)

// The cipher suite registry: the one table of cipher suite names in
// mailwire. It holds every assignment of the IANA "TLS Cipher Suites"
// registry (RFC 8447 §8) usable with TLS 1.2 and earlier, the five TLS 1.3
// suites of RFC 8446 §B.4, and the 1024-bit export suites of
// draft-ietf-tls-56-bit-ciphersuites-01, which OpenSSL shipped until 0.9.8
// and servers of that age still answer to. Go's crypto/tls names only the
// suites it implements; the dissector, the lens and the scan (package
// tlsprobe offers every suite here) name the others from this table, and
// the ServerKeyExchange parser reads from it how a suite agrees on its key
// (an anonymous Diffie-Hellman suite included).
//
// Not in the table, and named by CipherSuiteName all the same:
// TLS_NULL_WITH_NULL_NULL (0x0000, the initial state, which "MUST NOT be
// negotiated", RFC 5246 §A.5), the signalling values
// TLS_EMPTY_RENEGOTIATION_INFO_SCSV (0x00ff, RFC 5746 §3.3) and
// TLS_FALLBACK_SCSV (0x5600, RFC 7507), and GREASE (RFC 8701). Also left
// out: the SSL 3.0 FORTEZZA values (0x001c, 0x001d, never in the TLS
// registry) and the TLS 1.3-only suites beyond §B.4 (SM4, integrity-only,
// AEGIS).
//
// What a suite is made of (SuiteInfo) is read from its registry name
// once, at start-up, because the registry writes it there:
// TLS_<key exchange>[_EXPORT]_WITH_<cipher>_<MAC> (RFC 5246 §A.5).
var registry = []struct {
	id   uint16
	name string
}{
	{0x0001, "TLS_RSA_WITH_NULL_MD5"},
	{0x0002, "TLS_RSA_WITH_NULL_SHA"},
	{0x0003, "TLS_RSA_EXPORT_WITH_RC4_40_MD5"},
	{0x0004, "TLS_RSA_WITH_RC4_128_MD5"},
	{0x0005, "TLS_RSA_WITH_RC4_128_SHA"},
	{0x0006, "TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5"},
	{0x0007, "TLS_RSA_WITH_IDEA_CBC_SHA"},
	{0x0008, "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA"},
	{0x0009, "TLS_RSA_WITH_DES_CBC_SHA"},
	{0x000a, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"},
	{0x000b, "TLS_DH_DSS_EXPORT_WITH_DES40_CBC_SHA"},
	{0x000c, "TLS_DH_DSS_WITH_DES_CBC_SHA"},
	{0x000d, "TLS_DH_DSS_WITH_3DES_EDE_CBC_SHA"},
	{0x000e, "TLS_DH_RSA_EXPORT_WITH_DES40_CBC_SHA"},
	{0x000f, "TLS_DH_RSA_WITH_DES_CBC_SHA"},
	{0x0010, "TLS_DH_RSA_WITH_3DES_EDE_CBC_SHA"},
	{0x0011, "TLS_DHE_DSS_EXPORT_WITH_DES40_CBC_SHA"},
	{0x0012, "TLS_DHE_DSS_WITH_DES_CBC_SHA"},
	{0x0013, "TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA"},
	{0x0014, "TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA"},
	{0x0015, "TLS_DHE_RSA_WITH_DES_CBC_SHA"},
	{0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA"},
	{0x0017, "TLS_DH_anon_EXPORT_WITH_RC4_40_MD5"},
	{0x0018, "TLS_DH_anon_WITH_RC4_128_MD5"},
	{0x0019, "TLS_DH_anon_EXPORT_WITH_DES40_CBC_SHA"},
	{0x001a, "TLS_DH_anon_WITH_DES_CBC_SHA"},
	{0x001b, "TLS_DH_anon_WITH_3DES_EDE_CBC_SHA"},
	{0x001e, "TLS_KRB5_WITH_DES_CBC_SHA"},
	{0x001f, "TLS_KRB5_WITH_3DES_EDE_CBC_SHA"},
	{0x0020, "TLS_KRB5_WITH_RC4_128_SHA"},
	{0x0021, "TLS_KRB5_WITH_IDEA_CBC_SHA"},
	{0x0022, "TLS_KRB5_WITH_DES_CBC_MD5"},
	{0x0023, "TLS_KRB5_WITH_3DES_EDE_CBC_MD5"},
	{0x0024, "TLS_KRB5_WITH_RC4_128_MD5"},
	{0x0025, "TLS_KRB5_WITH_IDEA_CBC_MD5"},
	{0x0026, "TLS_KRB5_EXPORT_WITH_DES_CBC_40_SHA"},
	{0x0027, "TLS_KRB5_EXPORT_WITH_RC2_CBC_40_SHA"},
	{0x0028, "TLS_KRB5_EXPORT_WITH_RC4_40_SHA"},
	{0x0029, "TLS_KRB5_EXPORT_WITH_DES_CBC_40_MD5"},
	{0x002a, "TLS_KRB5_EXPORT_WITH_RC2_CBC_40_MD5"},
	{0x002b, "TLS_KRB5_EXPORT_WITH_RC4_40_MD5"},
	{0x002c, "TLS_PSK_WITH_NULL_SHA"},
	{0x002d, "TLS_DHE_PSK_WITH_NULL_SHA"},
	{0x002e, "TLS_RSA_PSK_WITH_NULL_SHA"},
	{0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA"},
	{0x0030, "TLS_DH_DSS_WITH_AES_128_CBC_SHA"},
	{0x0031, "TLS_DH_RSA_WITH_AES_128_CBC_SHA"},
	{0x0032, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA"},
	{0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA"},
	{0x0034, "TLS_DH_anon_WITH_AES_128_CBC_SHA"},
	{0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA"},
	{0x0036, "TLS_DH_DSS_WITH_AES_256_CBC_SHA"},
	{0x0037, "TLS_DH_RSA_WITH_AES_256_CBC_SHA"},
	{0x0038, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA"},
	{0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA"},
	{0x003a, "TLS_DH_anon_WITH_AES_256_CBC_SHA"},
	{0x003b, "TLS_RSA_WITH_NULL_SHA256"},
	{0x003c, "TLS_RSA_WITH_AES_128_CBC_SHA256"},
	{0x003d, "TLS_RSA_WITH_AES_256_CBC_SHA256"},
	{0x003e, "TLS_DH_DSS_WITH_AES_128_CBC_SHA256"},
	{0x003f, "TLS_DH_RSA_WITH_AES_128_CBC_SHA256"},
	{0x0040, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256"},
	{0x0041, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA"},
	{0x0042, "TLS_DH_DSS_WITH_CAMELLIA_128_CBC_SHA"},
	{0x0043, "TLS_DH_RSA_WITH_CAMELLIA_128_CBC_SHA"},
	{0x0044, "TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA"},
	{0x0045, "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA"},
	{0x0046, "TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA"},
	// draft-ietf-tls-56-bit-ciphersuites-01 §3 (never assigned by IANA,
	// the values are in its reserved range 0x0060-0x0066).
	{0x0060, "TLS_RSA_EXPORT1024_WITH_RC4_56_MD5"},
	{0x0061, "TLS_RSA_EXPORT1024_WITH_RC2_CBC_56_MD5"},
	{0x0062, "TLS_RSA_EXPORT1024_WITH_DES_CBC_SHA"},
	{0x0063, "TLS_DHE_DSS_EXPORT1024_WITH_DES_CBC_SHA"},
	{0x0064, "TLS_RSA_EXPORT1024_WITH_RC4_56_SHA"},
	{0x0065, "TLS_DHE_DSS_EXPORT1024_WITH_RC4_56_SHA"},
	{0x0066, "TLS_DHE_DSS_WITH_RC4_128_SHA"},
	{0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256"},
	{0x0068, "TLS_DH_DSS_WITH_AES_256_CBC_SHA256"},
	{0x0069, "TLS_DH_RSA_WITH_AES_256_CBC_SHA256"},
	{0x006a, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256"},
	{0x006b, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256"},
	{0x006c, "TLS_DH_anon_WITH_AES_128_CBC_SHA256"},
	{0x006d, "TLS_DH_anon_WITH_AES_256_CBC_SHA256"},
	{0x0084, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA"},
	{0x0085, "TLS_DH_DSS_WITH_CAMELLIA_256_CBC_SHA"},
	{0x0086, "TLS_DH_RSA_WITH_CAMELLIA_256_CBC_SHA"},
	{0x0087, "TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA"},
	{0x0088, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA"},
	{0x0089, "TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA"},
	{0x008a, "TLS_PSK_WITH_RC4_128_SHA"},
	{0x008b, "TLS_PSK_WITH_3DES_EDE_CBC_SHA"},
	{0x008c, "TLS_PSK_WITH_AES_128_CBC_SHA"},
	{0x008d, "TLS_PSK_WITH_AES_256_CBC_SHA"},
	{0x008e, "TLS_DHE_PSK_WITH_RC4_128_SHA"},
	{0x008f, "TLS_DHE_PSK_WITH_3DES_EDE_CBC_SHA"},
	{0x0090, "TLS_DHE_PSK_WITH_AES_128_CBC_SHA"},
	{0x0091, "TLS_DHE_PSK_WITH_AES_256_CBC_SHA"},
	{0x0092, "TLS_RSA_PSK_WITH_RC4_128_SHA"},
	{0x0093, "TLS_RSA_PSK_WITH_3DES_EDE_CBC_SHA"},
	{0x0094, "TLS_RSA_PSK_WITH_AES_128_CBC_SHA"},
	{0x0095, "TLS_RSA_PSK_WITH_AES_256_CBC_SHA"},
	{0x0096, "TLS_RSA_WITH_SEED_CBC_SHA"},
	{0x0097, "TLS_DH_DSS_WITH_SEED_CBC_SHA"},
	{0x0098, "TLS_DH_RSA_WITH_SEED_CBC_SHA"},
	{0x0099, "TLS_DHE_DSS_WITH_SEED_CBC_SHA"},
	{0x009a, "TLS_DHE_RSA_WITH_SEED_CBC_SHA"},
	{0x009b, "TLS_DH_anon_WITH_SEED_CBC_SHA"},
	{0x009c, "TLS_RSA_WITH_AES_128_GCM_SHA256"},
	{0x009d, "TLS_RSA_WITH_AES_256_GCM_SHA384"},
	{0x009e, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"},
	{0x009f, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"},
	{0x00a0, "TLS_DH_RSA_WITH_AES_128_GCM_SHA256"},
	{0x00a1, "TLS_DH_RSA_WITH_AES_256_GCM_SHA384"},
	{0x00a2, "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256"},
	{0x00a3, "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384"},
	{0x00a4, "TLS_DH_DSS_WITH_AES_128_GCM_SHA256"},
	{0x00a5, "TLS_DH_DSS_WITH_AES_256_GCM_SHA384"},
	{0x00a6, "TLS_DH_anon_WITH_AES_128_GCM_SHA256"},
	{0x00a7, "TLS_DH_anon_WITH_AES_256_GCM_SHA384"},
	{0x00a8, "TLS_PSK_WITH_AES_128_GCM_SHA256"},
	{0x00a9, "TLS_PSK_WITH_AES_256_GCM_SHA384"},
	{0x00aa, "TLS_DHE_PSK_WITH_AES_128_GCM_SHA256"},
	{0x00ab, "TLS_DHE_PSK_WITH_AES_256_GCM_SHA384"},
	{0x00ac, "TLS_RSA_PSK_WITH_AES_128_GCM_SHA256"},
	{0x00ad, "TLS_RSA_PSK_WITH_AES_256_GCM_SHA384"},
	{0x00ae, "TLS_PSK_WITH_AES_128_CBC_SHA256"},
	{0x00af, "TLS_PSK_WITH_AES_256_CBC_SHA384"},
	{0x00b0, "TLS_PSK_WITH_NULL_SHA256"},
	{0x00b1, "TLS_PSK_WITH_NULL_SHA384"},
	{0x00b2, "TLS_DHE_PSK_WITH_AES_128_CBC_SHA256"},
	{0x00b3, "TLS_DHE_PSK_WITH_AES_256_CBC_SHA384"},
	{0x00b4, "TLS_DHE_PSK_WITH_NULL_SHA256"},
	{0x00b5, "TLS_DHE_PSK_WITH_NULL_SHA384"},
	{0x00b6, "TLS_RSA_PSK_WITH_AES_128_CBC_SHA256"},
	{0x00b7, "TLS_RSA_PSK_WITH_AES_256_CBC_SHA384"},
	{0x00b8, "TLS_RSA_PSK_WITH_NULL_SHA256"},
	{0x00b9, "TLS_RSA_PSK_WITH_NULL_SHA384"},
	{0x00ba, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA256"},
	{0x00bb, "TLS_DH_DSS_WITH_CAMELLIA_128_CBC_SHA256"},
	{0x00bc, "TLS_DH_RSA_WITH_CAMELLIA_128_CBC_SHA256"},
	{0x00bd, "TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA256"},
	{0x00be, "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA256"},
	{0x00bf, "TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA256"},
	{0x00c0, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA256"},
	{0x00c1, "TLS_DH_DSS_WITH_CAMELLIA_256_CBC_SHA256"},
	{0x00c2, "TLS_DH_RSA_WITH_CAMELLIA_256_CBC_SHA256"},
	{0x00c3, "TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA256"},
	{0x00c4, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA256"},
	{0x00c5, "TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA256"},
	// RFC 8446 §B.4: TLS 1.3 names only the AEAD and the hash.
	{0x1301, "TLS_AES_128_GCM_SHA256"},
	{0x1302, "TLS_AES_256_GCM_SHA384"},
	{0x1303, "TLS_CHACHA20_POLY1305_SHA256"},
	{0x1304, "TLS_AES_128_CCM_SHA256"},
	{0x1305, "TLS_AES_128_CCM_8_SHA256"},
	{0xc001, "TLS_ECDH_ECDSA_WITH_NULL_SHA"},
	{0xc002, "TLS_ECDH_ECDSA_WITH_RC4_128_SHA"},
	{0xc003, "TLS_ECDH_ECDSA_WITH_3DES_EDE_CBC_SHA"},
	{0xc004, "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA"},
	{0xc005, "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA"},
	{0xc006, "TLS_ECDHE_ECDSA_WITH_NULL_SHA"},
	{0xc007, "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA"},
	{0xc008, "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA"},
	{0xc009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"},
	{0xc00a, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"},
	{0xc00b, "TLS_ECDH_RSA_WITH_NULL_SHA"},
	{0xc00c, "TLS_ECDH_RSA_WITH_RC4_128_SHA"},
	{0xc00d, "TLS_ECDH_RSA_WITH_3DES_EDE_CBC_SHA"},
	{0xc00e, "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA"},
	{0xc00f, "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA"},
	{0xc010, "TLS_ECDHE_RSA_WITH_NULL_SHA"},
	{0xc011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA"},
	{0xc012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"},
	{0xc013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"},
	{0xc014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"},
	{0xc015, "TLS_ECDH_anon_WITH_NULL_SHA"},
	{0xc016, "TLS_ECDH_anon_WITH_RC4_128_SHA"},
	{0xc017, "TLS_ECDH_anon_WITH_3DES_EDE_CBC_SHA"},
	{0xc018, "TLS_ECDH_anon_WITH_AES_128_CBC_SHA"},
	{0xc019, "TLS_ECDH_anon_WITH_AES_256_CBC_SHA"},
	{0xc01a, "TLS_SRP_SHA_WITH_3DES_EDE_CBC_SHA"},
	{0xc01b, "TLS_SRP_SHA_RSA_WITH_3DES_EDE_CBC_SHA"},
	{0xc01c, "TLS_SRP_SHA_DSS_WITH_3DES_EDE_CBC_SHA"},
	{0xc01d, "TLS_SRP_SHA_WITH_AES_128_CBC_SHA"},
	{0xc01e, "TLS_SRP_SHA_RSA_WITH_AES_128_CBC_SHA"},
	{0xc01f, "TLS_SRP_SHA_DSS_WITH_AES_128_CBC_SHA"},
	{0xc020, "TLS_SRP_SHA_WITH_AES_256_CBC_SHA"},
	{0xc021, "TLS_SRP_SHA_RSA_WITH_AES_256_CBC_SHA"},
	{0xc022, "TLS_SRP_SHA_DSS_WITH_AES_256_CBC_SHA"},
	{0xc023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"},
	{0xc024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384"},
	{0xc025, "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256"},
	{0xc026, "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA384"},
	{0xc027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"},
	{0xc028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"},
	{0xc029, "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA256"},
	{0xc02a, "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA384"},
	{0xc02b, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"},
	{0xc02c, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"},
	{0xc02d, "TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256"},
	{0xc02e, "TLS_ECDH_ECDSA_WITH_AES_256_GCM_SHA384"},
	{0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"},
	{0xc030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"},
	{0xc031, "TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256"},
	{0xc032, "TLS_ECDH_RSA_WITH_AES_256_GCM_SHA384"},
	{0xc033, "TLS_ECDHE_PSK_WITH_RC4_128_SHA"},
	{0xc034, "TLS_ECDHE_PSK_WITH_3DES_EDE_CBC_SHA"},
	{0xc035, "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA"},
	{0xc036, "TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA"},
	{0xc037, "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256"},
	{0xc038, "TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA384"},
	{0xc039, "TLS_ECDHE_PSK_WITH_NULL_SHA"},
	{0xc03a, "TLS_ECDHE_PSK_WITH_NULL_SHA256"},
	{0xc03b, "TLS_ECDHE_PSK_WITH_NULL_SHA384"},
	{0xc03c, "TLS_RSA_WITH_ARIA_128_CBC_SHA256"},
	{0xc03d, "TLS_RSA_WITH_ARIA_256_CBC_SHA384"},
	{0xc03e, "TLS_DH_DSS_WITH_ARIA_128_CBC_SHA256"},
	{0xc03f, "TLS_DH_DSS_WITH_ARIA_256_CBC_SHA384"},
	{0xc040, "TLS_DH_RSA_WITH_ARIA_128_CBC_SHA256"},
	{0xc041, "TLS_DH_RSA_WITH_ARIA_256_CBC_SHA384"},
	{0xc042, "TLS_DHE_DSS_WITH_ARIA_128_CBC_SHA256"},
	{0xc043, "TLS_DHE_DSS_WITH_ARIA_256_CBC_SHA384"},
	{0xc044, "TLS_DHE_RSA_WITH_ARIA_128_CBC_SHA256"},
	{0xc045, "TLS_DHE_RSA_WITH_ARIA_256_CBC_SHA384"},
	{0xc046, "TLS_DH_anon_WITH_ARIA_128_CBC_SHA256"},
	{0xc047, "TLS_DH_anon_WITH_ARIA_256_CBC_SHA384"},
	{0xc048, "TLS_ECDHE_ECDSA_WITH_ARIA_128_CBC_SHA256"},
	{0xc049, "TLS_ECDHE_ECDSA_WITH_ARIA_256_CBC_SHA384"},
	{0xc04a, "TLS_ECDH_ECDSA_WITH_ARIA_128_CBC_SHA256"},
	{0xc04b, "TLS_ECDH_ECDSA_WITH_ARIA_256_CBC_SHA384"},
	{0xc04c, "TLS_ECDHE_RSA_WITH_ARIA_128_CBC_SHA256"},
	{0xc04d, "TLS_ECDHE_RSA_WITH_ARIA_256_CBC_SHA384"},
	{0xc04e, "TLS_ECDH_RSA_WITH_ARIA_128_CBC_SHA256"},
	{0xc04f, "TLS_ECDH_RSA_WITH_ARIA_256_CBC_SHA384"},
	{0xc050, "TLS_RSA_WITH_ARIA_128_GCM_SHA256"},
	{0xc051, "TLS_RSA_WITH_ARIA_256_GCM_SHA384"},
	{0xc052, "TLS_DHE_RSA_WITH_ARIA_128_GCM_SHA256"},
	{0xc053, "TLS_DHE_RSA_WITH_ARIA_256_GCM_SHA384"},
	{0xc054, "TLS_DH_RSA_WITH_ARIA_128_GCM_SHA256"},
	{0xc055, "TLS_DH_RSA_WITH_ARIA_256_GCM_SHA384"},
	{0xc056, "TLS_DHE_DSS_WITH_ARIA_128_GCM_SHA256"},
	{0xc057, "TLS_DHE_DSS_WITH_ARIA_256_GCM_SHA384"},
	{0xc058, "TLS_DH_DSS_WITH_ARIA_128_GCM_SHA256"},
	{0xc059, "TLS_DH_DSS_WITH_ARIA_256_GCM_SHA384"},
	{0xc05a, "TLS_DH_anon_WITH_ARIA_128_GCM_SHA256"},
	{0xc05b, "TLS_DH_anon_WITH_ARIA_256_GCM_SHA384"},
	{0xc05c, "TLS_ECDHE_ECDSA_WITH_ARIA_128_GCM_SHA256"},
	{0xc05d, "TLS_ECDHE_ECDSA_WITH_ARIA_256_GCM_SHA384"},
	{0xc05e, "TLS_ECDH_ECDSA_WITH_ARIA_128_GCM_SHA256"},
	{0xc05f, "TLS_ECDH_ECDSA_WITH_ARIA_256_GCM_SHA384"},
	{0xc060, "TLS_ECDHE_RSA_WITH_ARIA_128_GCM_SHA256"},
	{0xc061, "TLS_ECDHE_RSA_WITH_ARIA_256_GCM_SHA384"},
	{0xc062, "TLS_ECDH_RSA_WITH_ARIA_128_GCM_SHA256"},
	{0xc063, "TLS_ECDH_RSA_WITH_ARIA_256_GCM_SHA384"},
	{0xc064, "TLS_PSK_WITH_ARIA_128_CBC_SHA256"},
	{0xc065, "TLS_PSK_WITH_ARIA_256_CBC_SHA384"},
	{0xc066, "TLS_DHE_PSK_WITH_ARIA_128_CBC_SHA256"},
	{0xc067, "TLS_DHE_PSK_WITH_ARIA_256_CBC_SHA384"},
	{0xc068, "TLS_RSA_PSK_WITH_ARIA_128_CBC_SHA256"},
	{0xc069, "TLS_RSA_PSK_WITH_ARIA_256_CBC_SHA384"},
	{0xc06a, "TLS_PSK_WITH_ARIA_128_GCM_SHA256"},
	{0xc06b, "TLS_PSK_WITH_ARIA_256_GCM_SHA384"},
	{0xc06c, "TLS_DHE_PSK_WITH_ARIA_128_GCM_SHA256"},
	{0xc06d, "TLS_DHE_PSK_WITH_ARIA_256_GCM_SHA384"},
	{0xc06e, "TLS_RSA_PSK_WITH_ARIA_128_GCM_SHA256"},
	{0xc06f, "TLS_RSA_PSK_WITH_ARIA_256_GCM_SHA384"},
	{0xc070, "TLS_ECDHE_PSK_WITH_ARIA_128_CBC_SHA256"},
	{0xc071, "TLS_ECDHE_PSK_WITH_ARIA_256_CBC_SHA384"},
	{0xc072, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_128_CBC_SHA256"},
	{0xc073, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_256_CBC_SHA384"},
	{0xc074, "TLS_ECDH_ECDSA_WITH_CAMELLIA_128_CBC_SHA256"},
	{0xc075, "TLS_ECDH_ECDSA_WITH_CAMELLIA_256_CBC_SHA384"},
	{0xc076, "TLS_ECDHE_RSA_WITH_CAMELLIA_128_CBC_SHA256"},
	{0xc077, "TLS_ECDHE_RSA_WITH_CAMELLIA_256_CBC_SHA384"},
	{0xc078, "TLS_ECDH_RSA_WITH_CAMELLIA_128_CBC_SHA256"},
	{0xc079, "TLS_ECDH_RSA_WITH_CAMELLIA_256_CBC_SHA384"},
	{0xc07a, "TLS_RSA_WITH_CAMELLIA_128_GCM_SHA256"},
	{0xc07b, "TLS_RSA_WITH_CAMELLIA_256_GCM_SHA384"},
	{0xc07c, "TLS_DHE_RSA_WITH_CAMELLIA_128_GCM_SHA256"},
	{0xc07d, "TLS_DHE_RSA_WITH_CAMELLIA_256_GCM_SHA384"},
	{0xc07e, "TLS_DH_RSA_WITH_CAMELLIA_128_GCM_SHA256"},
	{0xc07f, "TLS_DH_RSA_WITH_CAMELLIA_256_GCM_SHA384"},
	{0xc080, "TLS_DHE_DSS_WITH_CAMELLIA_128_GCM_SHA256"},
	{0xc081, "TLS_DHE_DSS_WITH_CAMELLIA_256_GCM_SHA384"},
	{0xc082, "TLS_DH_DSS_WITH_CAMELLIA_128_GCM_SHA256"},
	{0xc083, "TLS_DH_DSS_WITH_CAMELLIA_256_GCM_SHA384"},
	{0xc084, "TLS_DH_anon_WITH_CAMELLIA_128_GCM_SHA256"},
	{0xc085, "TLS_DH_anon_WITH_CAMELLIA_256_GCM_SHA384"},
	{0xc086, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_128_GCM_SHA256"},
	{0xc087, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_256_GCM_SHA384"},
	{0xc088, "TLS_ECDH_ECDSA_WITH_CAMELLIA_128_GCM_SHA256"},
	{0xc089, "TLS_ECDH_ECDSA_WITH_CAMELLIA_256_GCM_SHA384"},
	{0xc08a, "TLS_ECDHE_RSA_WITH_CAMELLIA_128_GCM_SHA256"},
	{0xc08b, "TLS_ECDHE_RSA_WITH_CAMELLIA_256_GCM_SHA384"},
	{0xc08c, "TLS_ECDH_RSA_WITH_CAMELLIA_128_GCM_SHA256"},
	{0xc08d, "TLS_ECDH_RSA_WITH_CAMELLIA_256_GCM_SHA384"},
	{0xc08e, "TLS_PSK_WITH_CAMELLIA_128_GCM_SHA256"},
	{0xc08f, "TLS_PSK_WITH_CAMELLIA_256_GCM_SHA384"},
	{0xc090, "TLS_DHE_PSK_WITH_CAMELLIA_128_GCM_SHA256"},
	{0xc091, "TLS_DHE_PSK_WITH_CAMELLIA_256_GCM_SHA384"},
	{0xc092, "TLS_RSA_PSK_WITH_CAMELLIA_128_GCM_SHA256"},
	{0xc093, "TLS_RSA_PSK_WITH_CAMELLIA_256_GCM_SHA384"},
	{0xc094, "TLS_PSK_WITH_CAMELLIA_128_CBC_SHA256"},
	{0xc095, "TLS_PSK_WITH_CAMELLIA_256_CBC_SHA384"},
	{0xc096, "TLS_DHE_PSK_WITH_CAMELLIA_128_CBC_SHA256"},
	{0xc097, "TLS_DHE_PSK_WITH_CAMELLIA_256_CBC_SHA384"},
	{0xc098, "TLS_RSA_PSK_WITH_CAMELLIA_128_CBC_SHA256"},
	{0xc099, "TLS_RSA_PSK_WITH_CAMELLIA_256_CBC_SHA384"},
	{0xc09a, "TLS_ECDHE_PSK_WITH_CAMELLIA_128_CBC_SHA256"},
	{0xc09b, "TLS_ECDHE_PSK_WITH_CAMELLIA_256_CBC_SHA384"},
	{0xc09c, "TLS_RSA_WITH_AES_128_CCM"},
	{0xc09d, "TLS_RSA_WITH_AES_256_CCM"},
	{0xc09e, "TLS_DHE_RSA_WITH_AES_128_CCM"},
	{0xc09f, "TLS_DHE_RSA_WITH_AES_256_CCM"},
	{0xc0a0, "TLS_RSA_WITH_AES_128_CCM_8"},
	{0xc0a1, "TLS_RSA_WITH_AES_256_CCM_8"},
	{0xc0a2, "TLS_DHE_RSA_WITH_AES_128_CCM_8"},
	{0xc0a3, "TLS_DHE_RSA_WITH_AES_256_CCM_8"},
	{0xc0a4, "TLS_PSK_WITH_AES_128_CCM"},
	{0xc0a5, "TLS_PSK_WITH_AES_256_CCM"},
	{0xc0a6, "TLS_DHE_PSK_WITH_AES_128_CCM"},
	{0xc0a7, "TLS_DHE_PSK_WITH_AES_256_CCM"},
	{0xc0a8, "TLS_PSK_WITH_AES_128_CCM_8"},
	{0xc0a9, "TLS_PSK_WITH_AES_256_CCM_8"},
	{0xc0aa, "TLS_PSK_DHE_WITH_AES_128_CCM_8"},
	{0xc0ab, "TLS_PSK_DHE_WITH_AES_256_CCM_8"},
	{0xc0ac, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM"},
	{0xc0ad, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM"},
	{0xc0ae, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8"},
	{0xc0af, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8"},
	{0xc0b0, "TLS_ECCPWD_WITH_AES_128_GCM_SHA256"},
	{0xc0b1, "TLS_ECCPWD_WITH_AES_256_GCM_SHA384"},
	{0xc0b2, "TLS_ECCPWD_WITH_AES_128_CCM_SHA256"},
	{0xc0b3, "TLS_ECCPWD_WITH_AES_256_CCM_SHA384"},
	{0xc100, "TLS_GOSTR341112_256_WITH_KUZNYECHIK_CTR_OMAC"},
	{0xc101, "TLS_GOSTR341112_256_WITH_MAGMA_CTR_OMAC"},
	{0xc102, "TLS_GOSTR341112_256_WITH_28147_CNT_IMIT"},
	{0xcca8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
	{0xcca9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"},
	{0xccaa, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
	{0xccab, "TLS_PSK_WITH_CHACHA20_POLY1305_SHA256"},
	{0xccac, "TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256"},
	{0xccad, "TLS_DHE_PSK_WITH_CHACHA20_POLY1305_SHA256"},
	{0xccae, "TLS_RSA_PSK_WITH_CHACHA20_POLY1305_SHA256"},
	{0xd001, "TLS_ECDHE_PSK_WITH_AES_128_GCM_SHA256"},
	{0xd002, "TLS_ECDHE_PSK_WITH_AES_256_GCM_SHA384"},
	{0xd003, "TLS_ECDHE_PSK_WITH_AES_128_CCM_8_SHA256"},
	{0xd005, "TLS_ECDHE_PSK_WITH_AES_128_CCM_SHA256"},
}

// SuiteInfo is what a cipher suite is made of, read from its registry
// name.
type SuiteInfo struct {
	ID   uint16 `json:"id"`
	Name string `json:"name"`
	// TLS13 marks the five suites of RFC 8446 §B.4, which name only the
	// AEAD and the hash: the key exchange and authentication are
	// negotiated by extensions (RFC 8446 §4.1.1).
	TLS13 bool `json:"tls13,omitempty"`
	// KeyExchange is how the premaster secret is agreed (TLS ≤ 1.2):
	// RSA (key transport), DH and ECDH (static, from the certificate),
	// DHE and ECDHE (ephemeral), PSK, DHE_PSK, ECDHE_PSK, RSA_PSK, SRP,
	// KRB5, ECCPWD, GOST.
	KeyExchange string `json:"key_exchange,omitempty"`
	// Auth is how the server is authenticated: RSA, DSS, ECDSA, PSK,
	// SRP, KRB5, ECCPWD, GOST, or "anon": not at all (RFC 5246 §7.4.3,
	// RFC 8422 §2.3), so anyone on the path can impersonate the server.
	Auth string `json:"auth,omitempty"`
	// Export marks the export-grade suites (40- or 56-bit keys, RSA or DH
	// of 512 or 1024 bits), withdrawn in TLS 1.1 (RFC 4346 §A.5).
	Export bool `json:"export,omitempty"`
	// Cipher is the bulk cipher as the registry writes it: AES_128_GCM,
	// CHACHA20_POLY1305, 3DES_EDE_CBC, RC4_128, NULL, …
	Cipher string `json:"cipher"`
	// MAC is the record MAC (SHA, i.e. SHA-1; SHA256; MD5; …) or, for an
	// AEAD suite, the PRF hash; empty where the name gives none (CCM).
	MAC string `json:"mac,omitempty"`
}

// Anonymous says the suite authenticates nobody (aNULL).
func (s SuiteInfo) Anonymous() bool { return s.Auth == "anon" }

// Null says the suite does not encrypt (eNULL).
func (s SuiteInfo) Null() bool { return s.Cipher == "NULL" }

// RC4 says the cipher is RC4, prohibited by RFC 7465.
func (s SuiteInfo) RC4() bool { return strings.HasPrefix(s.Cipher, "RC4") }

// SingleDES says the cipher is DES or 40-bit DES (RFC 5469 deprecates them).
func (s SuiteInfo) SingleDES() bool { return strings.HasPrefix(s.Cipher, "DES") }

// TripleDES says the cipher is 3DES, whose 64-bit block is open to
// Sweet32 (CVE-2016-2183) and whose effective strength is 112 bits (RFC
// 9325 §4.1: SHOULD NOT under 128).
func (s SuiteInfo) TripleDES() bool { return strings.HasPrefix(s.Cipher, "3DES") }

// AEAD says the cipher is an AEAD (GCM, CCM, ChaCha20-Poly1305), the only
// kind RFC 9325 §4.2 recommends.
func (s SuiteInfo) AEAD() bool {
	return strings.Contains(s.Cipher, "_GCM") || strings.Contains(s.Cipher, "_CCM") || s.Cipher == "CHACHA20_POLY1305"
}

// CBC says the cipher is a block cipher in CBC mode (MAC-then-encrypt,
// the Lucky 13 and POODLE family).
func (s SuiteInfo) CBC() bool {
	return strings.HasSuffix(s.Cipher, "_CBC") || strings.Contains(s.Cipher, "_CBC_")
}

// ForwardSecret says the key exchange is ephemeral, so a later theft of
// the server's key does not reveal recorded sessions (RFC 9325 §4.1).
// Every TLS 1.3 suite is.
func (s SuiteInfo) ForwardSecret() bool {
	switch s.KeyExchange {
	case "DHE", "ECDHE", "DHE_PSK", "ECDHE_PSK", "ECCPWD":
		return true
	}
	return s.TLS13
}

// ChaCha says the cipher is ChaCha20-Poly1305.
func (s SuiteInfo) ChaCha() bool { return s.Cipher == "CHACHA20_POLY1305" }

var macSuffix = []string{"SHA256", "SHA384", "SHA512", "SHA", "MD5", "OMAC", "IMIT"}

// suiteInfos is the registry read into SuiteInfos, on first use rather than
// at init: every mailwire command starts with this package linked in, few
// of them name a suite (issue 9's start-up time).
var suiteInfos = sync.OnceValue(func() map[uint16]SuiteInfo {
	m := make(map[uint16]SuiteInfo, len(registry))
	for _, r := range registry {
		m[r.id] = parseSuiteName(r.id, r.name)
	}
	return m
})

// Suite returns what a cipher suite is made of; false for a value the
// registry table does not hold.
func Suite(id uint16) (SuiteInfo, bool) {
	s, ok := suiteInfos()[id]
	return s, ok
}

// Suites lists every suite of the registry table, in code point order.
func Suites() []SuiteInfo {
	infos := suiteInfos()
	out := make([]SuiteInfo, len(registry))
	for i, r := range registry {
		out[i] = infos[r.id]
	}
	return out
}

// parseSuiteName reads a registry name: TLS_<kx>[_EXPORT|_EXPORT1024]_WITH_<cipher>[_<mac>],
// or TLS_<AEAD>_<hash> for TLS 1.3 (RFC 8446 §B.4).
func parseSuiteName(id uint16, name string) SuiteInfo {
	info := SuiteInfo{ID: id, Name: name}
	rest := strings.TrimPrefix(name, "TLS_")
	kx, bulk, ok := strings.Cut(rest, "_WITH_")
	if !ok {
		info.TLS13 = true
		i := strings.LastIndexByte(rest, '_')
		info.Cipher, info.MAC = rest[:i], rest[i+1:]
		return info
	}
	for _, e := range []string{"_EXPORT1024", "_EXPORT"} {
		if strings.HasSuffix(kx, e) {
			info.Export = true
			kx = strings.TrimSuffix(kx, e)
		}
	}
	switch kx {
	case "RSA", "DH_RSA", "DHE_RSA", "ECDH_RSA", "ECDHE_RSA":
		info.Auth = "RSA"
	case "DH_DSS", "DHE_DSS":
		info.Auth = "DSS"
	case "ECDH_ECDSA", "ECDHE_ECDSA":
		info.Auth = "ECDSA"
	case "DH_anon", "ECDH_anon":
		info.Auth = "anon"
	case "PSK", "DHE_PSK", "PSK_DHE", "ECDHE_PSK":
		info.Auth = "PSK"
	case "RSA_PSK":
		info.Auth = "RSA"
	case "SRP_SHA":
		info.Auth = "SRP"
	case "SRP_SHA_RSA":
		info.Auth = "RSA"
	case "SRP_SHA_DSS":
		info.Auth = "DSS"
	case "KRB5", "ECCPWD":
		info.Auth = kx
	case "GOSTR341112_256":
		info.Auth = "GOST"
	}
	switch kx {
	case "DH_RSA", "DH_DSS":
		info.KeyExchange = "DH"
	case "DHE_RSA", "DHE_DSS", "DH_anon":
		// Anonymous DH is ephemeral: the parameters come in the
		// ServerKeyExchange, unsigned (RFC 5246 §7.4.3).
		info.KeyExchange = "DHE"
	case "ECDH_RSA", "ECDH_ECDSA":
		info.KeyExchange = "ECDH"
	case "ECDHE_RSA", "ECDHE_ECDSA", "ECDH_anon":
		// RFC 8422 §2.3: ECDH_anon uses an ephemeral, unsigned key.
		info.KeyExchange = "ECDHE"
	case "PSK_DHE":
		info.KeyExchange = "DHE_PSK"
	case "SRP_SHA", "SRP_SHA_RSA", "SRP_SHA_DSS":
		info.KeyExchange = "SRP"
	case "GOSTR341112_256":
		info.KeyExchange = "GOST"
	default:
		info.KeyExchange = kx
	}
	info.Cipher = bulk
	for _, m := range macSuffix {
		if c, ok := strings.CutSuffix(bulk, "_"+m); ok {
			info.Cipher, info.MAC = c, m
			break
		}
	}
	return info
}

// cipherSuiteName names a cipher suite by its registry name; GREASE and
// the values outside the table as the header comment says; "0x1234" for
// a value nobody assigned.
func cipherSuiteName(id uint16) string {
	if isGREASE(id) {
		return fmt.Sprintf("GREASE(0x%04x)", id)
	}
	if s, ok := suiteInfos()[id]; ok {
		return s.Name
	}
	switch id {
	case 0x0000:
		return "TLS_NULL_WITH_NULL_NULL"
	case 0x00ff:
		// RFC 5746 §3.3: a signalling value, not a real suite.
		return "TLS_EMPTY_RENEGOTIATION_INFO_SCSV"
	case 0x5600:
		return "TLS_FALLBACK_SCSV" // RFC 7507
	}
	return tls.CipherSuiteName(id) // "0x1234" when unknown
}

// suiteKeyExchange says how a TLS ≤ 1.2 cipher suite agrees on the
// premaster secret, and so which form its ServerKeyExchange and
// ClientKeyExchange take: ephemeral elliptic-curve or finite-field
// Diffie-Hellman (the anonymous suites included, RFC 5246 §7.4.3, RFC 8422
// §2.3) or RSA key transport. "" for a TLS 1.3 suite, which leaves the key
// exchange to extensions (RFC 8446 §4.1.2), for the static DH, PSK, SRP,
// KRB5 and GOST suites, whose messages have other forms, and for a value
// outside the table.
func suiteKeyExchange(id uint16) KeyExchange {
	s, ok := suiteInfos()[id]
	if !ok || s.TLS13 {
		return ""
	}
	switch s.KeyExchange {
	case "ECDHE":
		return KeyExchangeECDHE
	case "DHE":
		return KeyExchangeDHE
	case "RSA":
		return KeyExchangeRSA
	}
	return ""
}

// suiteAnonymous says the suite's ServerKeyExchange carries no signature:
// its parameters are sent unsigned (RFC 5246 §7.4.3 dh_anon, RFC 8422
// §5.4 ec_diffie_hellman with anonymous authentication).
func suiteAnonymous(id uint16) bool {
	s, ok := suiteInfos()[id]
	return ok && s.Anonymous()
}
