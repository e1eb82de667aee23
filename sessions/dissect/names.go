package dissect

import (
	"fmt"
	"slices"

	"github.com/mailwire/mailwire/sessions/tlsmsg"
)

// Name tables for the TLS dissector. Names follow the IANA "TLS Parameters"
// registries (the names an observer finds in Wireshark and in the RFCs), not
// Go's identifiers: "secp256r1" rather than "CurveP256".

// TLS record content types, RFC 8446 §5.1 and RFC 6520 §3 (heartbeat):
// the one home of these numbers and their names for the engine (tlsprobe
// and mitm read them here).
const (
	RecordChangeCipherSpec = 20
	RecordAlert            = 21
	RecordHandshake        = 22
	RecordApplicationData  = 23
	RecordHeartbeat        = 24
)

var recordTypeNames = map[uint8]string{
	RecordChangeCipherSpec: "change_cipher_spec",
	RecordAlert:            "alert",
	RecordHandshake:        "handshake",
	RecordApplicationData:  "application_data",
	RecordHeartbeat:        "heartbeat",
}

// RecordTypeName returns the IANA name of a record content type
// ("handshake"), or "unknown(N)".
func RecordTypeName(t uint8) string {
	if n, ok := recordTypeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("unknown(%d)", t)
}

// Annotation keys of the record layer that are not derived from a name
// table.
// KeyCleartextAfterTLS is the key of cleartext where a TLS record belongs
// after TLS records had crossed: most often a server whose handshake
// failed writing its protocol's error reply after its alert. It reports an
// after-effect of the failure, not its cause, so a summary of the
// failures names it after the session's own error (the alert).
const KeyCleartextAfterTLS = "mismatch.cleartext_after_tls"

// KeyRecordTooLong is the key of a record that declares more than any TLS
// version allows (RFC 8446 §5.1, §5.2); the session explains crypto/tls's
// "oversized record" with it too.
const KeyRecordTooLong = "tls.error.record_too_long"

const (
	annEncAppData       = "tls.encrypted.application_data"
	annEncFinished      = "tls.encrypted.finished"
	annEncHandshake     = "tls.encrypted.handshake"
	annEncAlert         = "tls.encrypted.alert"
	annEncHeartbeat     = "tls.encrypted.heartbeat"
	annEncEarlyData     = "tls.encrypted.early_data"
	annEncUndetermined  = "tls.encrypted.handshake_or_application_data"
	annCCSCompat        = "tls.record.change_cipher_spec.compat"
	annRecordEmpty      = "tls.record.empty"
	annAlertMalformed   = "tls.alert.malformed"
	annErrRecordTooLong = KeyRecordTooLong
	annErrHSTooLong     = "tls.error.handshake_too_long"
	annErrInterleaved   = "tls.error.handshake_interleaved"
	annErrTruncated     = "tls.error.truncated"
	annErrBuffer        = "tls.error.buffer_limit"

	// Explain keys for a stream that is not TLS at all.
	annMismatchCleartext = "mismatch.cleartext_on_implicit"
	annMismatchHTTP      = "mismatch.http"
	annMismatchSSLv2     = "mismatch.sslv2"
	annMismatchGarbage   = "mismatch.not_tls"
	annMismatchAfterTLS  = KeyCleartextAfterTLS
)

// AnnotationKeys lists every annotation key (Event.Annotation,
// Event.Also, Field.Annotation and ErrorInfo.Explain) the TLS dissector can
// emit, sorted, so that content can provide prose for each: the record
// layer's and its handshake messages' (tlsmsg.AnnotationKeys).
func AnnotationKeys() []string {
	keys := []string{
		annEncAppData, annEncFinished, annEncHandshake, annEncAlert, annEncHeartbeat,
		annEncEarlyData, annEncUndetermined, annCCSCompat, annRecordEmpty, annAlertMalformed,
		annErrRecordTooLong, annErrHSTooLong, annErrInterleaved, annErrTruncated, annErrBuffer,
		annMismatchCleartext, annMismatchHTTP, annMismatchSSLv2, annMismatchGarbage, annMismatchAfterTLS,
	}
	for t, n := range recordTypeNames {
		// application_data is always encrypted (tls.encrypted.*), and an
		// unknown content type means the stream is not TLS (mismatch.*).
		if t != RecordApplicationData {
			keys = append(keys, "tls.record."+n)
		}
	}
	keys = append(keys, tlsmsg.AnnotationKeys()...)
	slices.Sort(keys)
	return slices.Compact(keys)
}
