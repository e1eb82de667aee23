package protocol

import (
	"net/netip"
	"strings"
)

// AddressLiteral writes an IP address as SMTP writes one where a domain
// belongs: [192.0.2.1] or [IPv6:2001:db8::1] (RFC 5321 §4.1.3).
func AddressLiteral(ip netip.Addr) string {
	ip = ip.Unmap()
	if ip.Is6() {
		return "[IPv6:" + ip.String() + "]"
	}
	return "[" + ip.String() + "]"
}

// MailDomain is host as the domain of a mailbox (RFC 5321 §4.1.2:
// Mailbox = Local-part "@" ( Domain / address-literal )): a name as it
// is, an IP address as its address literal. user@192.0.2.1 is no
// mailbox; user@[192.0.2.1] is.
func MailDomain(host string) string {
	if ip, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return AddressLiteral(ip)
	}
	return host
}
