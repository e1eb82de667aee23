package certs

import (
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// The two certificate extensions crypto/x509 keeps only as raw bytes
// (Certificate.Extensions) and a chain view shows. Both are the server's
// bytes: the parsers are bounded and fuzzed (ext_fuzz_test.go).

var (
	// oidTLSFeature is id-pe-tlsfeature { id-pe 24 } (RFC 7633).
	oidTLSFeature = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 24}
	// oidSCTList is the embedded SCT list extension (RFC 6962 §3.3).
	oidSCTList = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 2}
)

// statusRequest is the status_request TLS extension (RFC 6066 §8): listed
// in the TLS Feature extension, it makes the certificate "must-staple".
const statusRequest = 5

// maxFeatures bounds the TLS Feature list; RFC 7633 lists one or two.
const maxFeatures = 64

var errMalformed = errors.New("malformed extension")

// parseTLSFeature decodes the TLS Feature extension value: Features ::=
// SEQUENCE OF INTEGER (RFC 7633, its ASN.1 module), each a TLS extension number.
func parseTLSFeature(der []byte) ([]int, error) {
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, errMalformed
	}
	var out []int
	for !seq.Empty() {
		var n int64
		if len(out) == maxFeatures || !seq.ReadASN1Integer(&n) || n < 0 || n > 0xffff {
			return nil, errMalformed
		}
		out = append(out, int(n))
	}
	return out, nil
}

// parseSCTList decodes the embedded SCT extension value (RFC 6962 §3.3):
// an OCTET STRING holding a TLS-encoded SignedCertificateTimestampList,
// a 2-byte-length list of 2-byte-length serialized SCTs. Of each v1 SCT
// (RFC 6962 §3.2) it keeps the log ID and the timestamp; an SCT of another
// version is counted but not decoded. It returns what it decoded before a
// malformed part, with an error.
func parseSCTList(der []byte) ([]SCT, error) {
	in := cryptobyte.String(der)
	var body, list cryptobyte.String
	if !in.ReadASN1(&body, cbasn1.OCTET_STRING) || !in.Empty() ||
		!body.ReadUint16LengthPrefixed(&list) || !body.Empty() || list.Empty() {
		return nil, errMalformed
	}
	var out []SCT
	for !list.Empty() {
		var raw cryptobyte.String
		if !list.ReadUint16LengthPrefixed(&raw) || raw.Empty() {
			return out, errMalformed
		}
		if len(out) == maxSCTs {
			return out, nil // the rest is not shown; it is not malformed
		}
		var version uint8
		raw.ReadUint8(&version)
		sct := SCT{Version: int(version)}
		if version == 0 {
			var (
				logID []byte
				ms    uint64
				exts  cryptobyte.String
			)
			if !raw.ReadBytes(&logID, 32) || !raw.ReadUint64(&ms) || !raw.ReadUint16LengthPrefixed(&exts) {
				return out, errMalformed
			}
			sct.LogID = base64.StdEncoding.EncodeToString(logID)
			// Milliseconds since the epoch (RFC 6962 §3.2); a value past
			// year 9999 would not marshal as JSON, so it is refused.
			if ms > maxSCTMillis {
				return out, errMalformed
			}
			sct.Time = time.UnixMilli(int64(ms)).UTC()
		}
		out = append(out, sct)
	}
	return out, nil
}

// maxSCTMillis is 9999-12-31T23:59:59.999Z in milliseconds since the epoch.
const maxSCTMillis = 253402300799999
