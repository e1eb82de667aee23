package tlsmsg

import (
	"fmt"
	"net"
	"strings"
)

// SNIFor is the host name a client's ClientHello carries in server_name
// when it is told to ask for name, as Go's crypto/tls writes it (its
// hostnameInSNI): none ("") for an IP address, which RFC 6066 §3 does not
// permit in a HostName ("Literal IPv4 and IPv6 addresses are not
// permitted"), and otherwise the name without a trailing dot, which the
// same section leaves out too. The client still checks the certificate
// against name itself (an IP address against the certificate's IP
// addresses, RFC 9525 §6), so "the name asked for" and "the SNI sent"
// differ for an IP address: a title that said "SNI 192.0.2.1" would be
// false.
func SNIFor(name string) string {
	host := name
	if len(host) > 1 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	}
	if i := strings.LastIndex(host, "%"); i > 0 {
		host = host[:i] // an IPv6 zone: fe80::1%eth0
	}
	if net.ParseIP(host) != nil {
		return ""
	}
	return strings.TrimRight(name, ".")
}

// SNIQuoted names, in an error message, what a handshake asked for:
// `SNI "mail.example.org"`, or for a name sent as none (an IP address, an
// empty name) `no SNI, name "192.0.2.1"`: the certificate was still
// checked against it.
func SNIQuoted(name string) string {
	if sni := SNIFor(name); sni != "" {
		return fmt.Sprintf("SNI %q", sni)
	}
	return fmt.Sprintf("no SNI, name %q", name)
}
