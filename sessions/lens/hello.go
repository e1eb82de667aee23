package lens

import (
	"fmt"
	"strings"

	"github.com/mailwire/mailwire/sessions"
)

// handshake records what a handshake message sent in the clear told the
// observer: the ClientHello's server name, ALPN and versions, the
// ServerHello's choices, a TLS 1.2 certificate.
func (b *Observer) handshake(ev sessions.Event) {
	h := ev.Handshake
	if h == nil {
		return
	}
	o := &b.o
	switch h.Type {
	case "client_hello":
		b.evidence(ev)
		for _, f := range h.Fields {
			switch f.Annotation {
			case "tls.ext.server_name":
				o.SNI = appendUnique(o.SNI, f.Value)
			case "tls.ext.application_layer_protocol_negotiation":
				for _, p := range strings.Split(f.Value, ", ") {
					o.ALPNOffered = appendUnique(o.ALPNOffered, p)
				}
			case "tls.ext.encrypted_client_hello":
				o.ECHOffered = true
			case "tls.ext.supported_versions":
				for _, v := range strings.Split(f.Value, ", ") {
					o.VersionsOffered = appendUnique(o.VersionsOffered, v)
				}
			}
		}
	case "server_hello", "hello_retry_request":
		b.evidence(ev)
		if h.Type == "hello_retry_request" {
			o.HelloRetryRequest = true
			return
		}
		o.ServerHello = strings.TrimPrefix(ev.Text, "ServerHello: ")
		o.Version = ""
		for _, f := range h.Fields {
			switch {
			case f.Name == "legacy_version" && o.Version == "":
				// Before TLS 1.3 the version chosen is this field; a TLS
				// 1.3 ServerHello puts 1.2 here and the real one in
				// supported_versions (RFC 8446 §4.1.3), which overrides.
				o.Version, _, _ = strings.Cut(f.Value, " (")
			case f.Annotation == "tls.ext.application_layer_protocol_negotiation":
				o.ALPNChosen = f.Value
			case f.Annotation == "tls.ext.supported_versions":
				o.Version = f.Value
			case f.Name == "cipher suite":
				o.CipherSuite = f.Value
			}
		}
		if strings.HasPrefix(o.Version, "TLS 1.3") {
			o.CertificateHidden = true
		}
	case "certificate":
		b.evidence(ev)
		for _, f := range h.Fields {
			if f.Annotation == "tls.cert.subject" {
				o.Certificates = appendUnique(o.Certificates, f.Value)
			}
		}
	}
}

// metadataField says whether a handshake field is metadata an observer
// learns from a cleartext handshake message: the server name (RFC 6066 §3),
// ALPN (RFC 7301), versions and cipher suite, and before TLS 1.3 the
// certificate (RFC 5246 §7.4.2).
func metadataField(f sessions.Field) bool {
	switch f.Annotation {
	case "tls.ext.server_name", "tls.ext.application_layer_protocol_negotiation",
		"tls.ext.supported_versions", "tls.cert.subject", "tls.cert.issuer", "tls.cert.san":
		return true
	}
	return f.Name == "cipher suite"
}

// alertText names an alert read in the clear: direction, level and
// description (RFC 8446 §6), e.g. "s2c fatal handshake_failure".
func alertText(ev sessions.Event) string {
	level := "alert"
	if len(ev.Raw) >= recordHeaderLen+2 {
		switch ev.Raw[recordHeaderLen] {
		case 1:
			level = "warning"
		case 2:
			level = "fatal"
		default:
			level = fmt.Sprintf("level(%d)", ev.Raw[recordHeaderLen])
		}
	}
	name := strings.TrimPrefix(ev.Annotation, "tls.alert.")
	return fmt.Sprintf("%s %s %s", ev.Dir, level, name)
}
