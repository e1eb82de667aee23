// Package tlsmsg decodes TLS handshake messages into one type per
// message, as Go's crypto/tls/handshake_messages.go does, with cryptobyte:
// ClientHello, ServerHello, Certificate, … (Parser), names their code
// points from the IANA registries (VersionName, CipherSuiteName, …) and
// makes the one display form of each (Describe). Nothing reads meaning back
// out of the display strings: consumers read the typed values.
//
// It knows nothing of events or connections: package dissect frames the
// messages out of TLS records and turns them into events.
package tlsmsg
