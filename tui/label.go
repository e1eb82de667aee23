package tui

import "github.com/mailwire/mailwire/sessions/tlsmsg"

// TargetLabel is the session header's label of a session against a
// target (not the lab): the server name it asks for and how it checks the
// certificate, "SNI mx.example.org, certificate: system roots". An IP
// address is asked for but not sent (RFC 6066 §3; tlsmsg.SNIFor): "no SNI
// for an IP address". An empty verify leaves the check out. mailwire connect,
// the connect form and a replay label their sessions with it, so that a
// replay says what the live session said.
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
