package protocol

import (
	"net/netip"
	"testing"
)

func TestMailDomain(t *testing.T) {
	for in, want := range map[string]string{
		"mail.example.org": "mail.example.org",
		"127.0.0.4":        "[127.0.0.4]",
		"2001:db8::1":      "[IPv6:2001:db8::1]",
		"[2001:db8::1]":    "[IPv6:2001:db8::1]",
		"::ffff:192.0.2.1": "[192.0.2.1]",
	} {
		if got := MailDomain(in); got != want {
			t.Errorf("MailDomain(%q) = %q, want %q", in, got, want)
		}
	}
	if got := AddressLiteral(netip.MustParseAddr("192.0.2.1")); got != "[192.0.2.1]" {
		t.Errorf("AddressLiteral = %q", got)
	}
}
