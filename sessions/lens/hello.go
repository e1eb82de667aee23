package lens

import (
	"strings"

	"github.com/mailwire/mailwire/sessions/tlsmsg"
	"github.com/mailwire/mailwire/sessions/wire"
)

// handshake records what a handshake message sent in the clear told the
// observer, from the dissector's typed messages: the ClientHello's server
// name, ALPN and versions, the ServerHello's choices, a TLS 1.2
// certificate.
func (b *Observer) handshake(ev wire.Event) {
	h := ev.Handshake
	if h == nil {
		return
	}
	o := &b.o
	switch h.Type {
	case "client_hello", "server_hello", "hello_retry_request", "certificate":
		b.evidence(ev)
	}
	if ch := h.ClientHello; ch != nil {
		if names := ch.ServerNames(); len(names) > 0 {
			o.SNI = appendUnique(o.SNI, strings.Join(names, ", "))
		}
		for _, p := range ch.ALPNProtocols() {
			o.ALPNOffered = appendUnique(o.ALPNOffered, p)
		}
		o.ECHOffered = o.ECHOffered || ch.ECHOffered()
		for _, v := range ch.SupportedVersions() {
			o.VersionsOffered = appendUnique(o.VersionsOffered, tlsmsg.VersionName(v))
		}
	}
	if sh := h.ServerHello; sh != nil {
		if sh.IsHelloRetryRequest() {
			o.HelloRetryRequest = true
			return
		}
		// The version chosen is supported_versions' in TLS 1.3 and
		// legacy_version before (RFC 8446 §4.1.3, §4.2.1).
		v := sh.SelectedVersion()
		o.ServerHello = sh.Summary()
		o.Version = tlsmsg.VersionName(v)
		o.CipherSuite = tlsmsg.CipherSuiteName(sh.CipherSuite)
		if p := sh.ALPN(); p != "" {
			o.ALPNChosen = p
		}
		o.CertificateHidden = v == tlsmsg.VersionTLS13
	}
	if c := h.Certificate; c != nil {
		for _, subject := range c.CertificateSubjects() {
			o.Certificates = appendUnique(o.Certificates, subject)
		}
	}
}

// alertText names an alert read in the clear: direction, level and
// description (RFC 8446 §6), e.g. "s2c fatal handshake_failure".
func alertText(ev wire.Event) string {
	if ev.Record == nil || ev.Record.Alert == nil {
		return string(ev.Dir) + " malformed alert"
	}
	return string(ev.Dir) + " " + ev.Record.Alert.String()
}
