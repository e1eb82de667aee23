package resolver

import "github.com/miekg/dns"

// RootAnchors returns the root zone's trust anchors as IANA publishes them
// in root-anchors.xml (the format of RFC 9718): the DS records of KSK-2017
// (key tag 20326, in use since 2018) and KSK-2024 (key tag 38696, valid
// from 2024-07-18 and published in the root DNSKEY RRset ahead of the
// rollover to it). Both are carried so that validation keeps working
// across that rollover: the DNSKEY RRset is accepted when it is signed by a
// key that either digest names.
func RootAnchors() []*dns.DS {
	return []*dns.DS{
		{
			Hdr:    dns.RR_Header{Name: ".", Rrtype: dns.TypeDS, Class: dns.ClassINET},
			KeyTag: 20326, Algorithm: dns.RSASHA256, DigestType: dns.SHA256,
			Digest: "E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D",
		},
		{
			Hdr:    dns.RR_Header{Name: ".", Rrtype: dns.TypeDS, Class: dns.ClassINET},
			KeyTag: 38696, Algorithm: dns.RSASHA256, DigestType: dns.SHA256,
			Digest: "683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16",
		},
	}
}
