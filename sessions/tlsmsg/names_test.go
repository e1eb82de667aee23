package tlsmsg

import "testing"

// TestCodeNames: every name table answers through codeName or smallName,
// with the same three forms as before they shared them: the IANA name,
// GREASE(0x…) where clients grease the registry, unknown(…) otherwise.
func TestCodeNames(t *testing.T) {
	for got, want := range map[string]string{
		extensionDisplayName(ExtServerName): "server_name",
		extensionDisplayName(0x1a1a):        "GREASE(0x1a1a)",
		extensionDisplayName(0x1234):        "unknown(0x1234)",
		groupName(29):                       "x25519",
		groupName(0xfafa):                   "GREASE(0xfafa)",
		groupName(0x0042):                   "unknown(0x0042)",
		sigSchemeName(0x0804):               "rsa_pss_rsae_sha256",
		sigSchemeName(0x0a0a):               "GREASE(0x0a0a)",
		sigSchemeName(0x0999):               "unknown(0x0999)",
		pointFormatName(0):                  "uncompressed",
		pointFormatName(7):                  "unknown(7)",
		pskModeName(1):                      "psk_dhe_ke",
		pskModeName(2):                      "unknown(2)",
		certCompressionName(3):              "zstd",
		certCompressionName(0):              "unknown(0)",
		certTypeName(64):                    "ecdsa_sign",
		certTypeName(5):                     "unknown(5)",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}
