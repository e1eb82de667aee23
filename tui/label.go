package tui

import (
	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/tlsmsg"
)

// TargetLabel is the session header's label of a session with TLS against
// a target (not the lab): the server name it asks for and how it checks
// the certificate, "SNI mx.example.org, certificate: system roots". An IP
// address is asked for but not sent (RFC 6066 §3; tlsmsg.SNIFor): "no SNI
// for an IP address". An empty verify leaves the check out. SessionLabel
// is the label of any session, TLS or not.
func TargetLabel(name, verify string) string {
	label := "no SNI for an IP address"
	if sni := tlsmsg.SNIFor(name); sni != "" {
		label = "SNI " + sni
	}
	if verify != "" {
		label += ", certificate: " + verify
	}
	return label
}

// noTLSLabel labels a session without TLS (--tls none; the header says
// "no TLS" just before the label): no ClientHello, so no SNI is sent
// (RFC 6066 §3 puts it in the ClientHello), and no certificate is
// checked.
const noTLSLabel = "no SNI, no certificate"

// SessionLabel is the session header's label of a session against a
// target in TLS mode tlsMode ("none", "starttls", …): TargetLabel's, or
// noTLSLabel for a session without TLS, which sends no name whatever it
// was given. mailwire connect (its screen and its line mode), the connect
// form, a cast and a replay label their sessions with it, so that a
// replay says what the live session said.
func SessionLabel(tlsMode, name, verify string) string {
	if tlsMode == string(sessions.TLSNone) {
		return noTLSLabel
	}
	return TargetLabel(name, verify)
}
