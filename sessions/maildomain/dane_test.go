package maildomain_test

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/hex"
	"testing"

	"github.com/miekg/dns"

	"github.com/mailwire/mailwire/sessions/maildomain"
)

func tlsa(usage, selector, matching uint8, data []byte) *dns.TLSA {
	return &dns.TLSA{Hdr: dns.RR_Header{Name: "_25._tcp.mx.example.test.", Rrtype: dns.TypeTLSA, Class: dns.ClassINET},
		Usage: usage, Selector: selector, MatchingType: matching, Certificate: hex.EncodeToString(data)}
}

func sum256(b []byte) []byte { s := sha256.Sum256(b); return s[:] }
func sum512(b []byte) []byte { s := sha512.Sum512(b); return s[:] }

func TestMatch(t *testing.T) {
	p := newPKI(t, "DANE test CA")
	leaf, _ := p.leaf(t, "mx.example.test")
	other, _ := p.leaf(t, "other.example.test")
	otherCA := newPKI(t, "another CA")
	chain := []*x509.Certificate{leaf, p.ca}

	tests := []struct {
		name    string
		rec     *dns.TLSA
		host    string
		chain   []*x509.Certificate
		usable  bool
		matched bool
		cert    int
		key     string
	}{
		{"3 1 1 leaf key", tlsa(3, 1, 1, sum256(leaf.RawSubjectPublicKeyInfo)), "mx.example.test", chain, true, true, 0, maildomain.KeyDANEMatch},
		{"3 0 1 leaf cert", tlsa(3, 0, 1, sum256(leaf.Raw)), "mx.example.test", chain, true, true, 0, maildomain.KeyDANEMatch},
		{"3 1 2 leaf key SHA-512", tlsa(3, 1, 2, sum512(leaf.RawSubjectPublicKeyInfo)), "mx.example.test", chain, true, true, 0, maildomain.KeyDANEMatch},
		{"3 1 0 leaf key in full", tlsa(3, 1, 0, leaf.RawSubjectPublicKeyInfo), "mx.example.test", chain, true, true, 0, maildomain.KeyDANEMatch},
		{"3 1 1 ignores the name", tlsa(3, 1, 1, sum256(leaf.RawSubjectPublicKeyInfo)), "elsewhere.example", chain, true, true, 0, maildomain.KeyDANEMatch},
		{"3 1 1 stale key", tlsa(3, 1, 1, sum256(other.RawSubjectPublicKeyInfo)), "mx.example.test", chain, true, false, -1, maildomain.KeyDANEUnmatched},
		{"3 0 1 matches the leaf only", tlsa(3, 0, 1, sum256(p.ca.Raw)), "mx.example.test", chain, true, false, -1, maildomain.KeyDANEUnmatched},
		{"2 0 1 the CA", tlsa(2, 0, 1, sum256(p.ca.Raw)), "mx.example.test", chain, true, true, 1, maildomain.KeyDANEMatch},
		{"2 1 2 the CA's key", tlsa(2, 1, 2, sum512(p.ca.RawSubjectPublicKeyInfo)), "mx.example.test", chain, true, true, 1, maildomain.KeyDANEMatch},
		{"2 0 1 the CA, wrong host", tlsa(2, 0, 1, sum256(p.ca.Raw)), "mail.example.test", chain, true, false, 1, maildomain.KeyDANEUnmatched},
		{"2 0 1 the CA, not sent", tlsa(2, 0, 1, sum256(p.ca.Raw)), "mx.example.test", chain[:1], true, false, -1, maildomain.KeyDANEUnmatched},
		{"2 0 1 another CA", tlsa(2, 0, 1, sum256(otherCA.ca.Raw)), "mx.example.test", chain, true, false, -1, maildomain.KeyDANEUnmatched},
		{"0 0 1 PKIX-TA", tlsa(0, 0, 1, sum256(p.ca.Raw)), "mx.example.test", chain, false, false, -1, maildomain.KeyDANEPKIXUsage},
		{"1 1 1 PKIX-EE", tlsa(1, 1, 1, sum256(leaf.RawSubjectPublicKeyInfo)), "mx.example.test", chain, false, false, -1, maildomain.KeyDANEPKIXUsage},
		{"3 1 1 short data", tlsa(3, 1, 1, []byte{1, 2, 3}), "mx.example.test", chain, false, false, -1, maildomain.KeyDANEUnusable},
		{"3 2 1 unknown selector", tlsa(3, 2, 1, sum256(leaf.Raw)), "mx.example.test", chain, false, false, -1, maildomain.KeyDANEUnusable},
		{"3 1 3 unknown matching type", tlsa(3, 1, 3, sum256(leaf.Raw)), "mx.example.test", chain, false, false, -1, maildomain.KeyDANEUnusable},
		{"4 1 1 unknown usage", tlsa(4, 1, 1, sum256(leaf.RawSubjectPublicKeyInfo)), "mx.example.test", chain, false, false, -1, maildomain.KeyDANEUnusable},
		{"no chain", tlsa(3, 1, 1, sum256(leaf.RawSubjectPublicKeyInfo)), "mx.example.test", nil, true, false, -1, maildomain.KeyDANEUnmatched},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms := maildomain.Match([]*dns.TLSA{tt.rec}, tt.chain, tt.host, now)
			if len(ms) != 1 {
				t.Fatalf("%d results", len(ms))
			}
			m := ms[0]
			if m.Usable != tt.usable || m.Matched != tt.matched || m.Cert != tt.cert || m.Annotation != tt.key {
				t.Errorf("got usable %v matched %v cert %d key %s (%s); want %v %v %d %s", m.Usable, m.Matched, m.Cert,
					m.Annotation, m.Detail, tt.usable, tt.matched, tt.cert, tt.key)
			}
		})
	}
}

func TestMatchFindingsGradeStaleRecords(t *testing.T) {
	p := newPKI(t, "CA")
	leaf, _ := p.leaf(t, "mx.example.test")
	next, _ := p.leaf(t, "mx.example.test")
	chain := []*x509.Certificate{leaf, p.ca}
	current := tlsa(3, 1, 1, sum256(leaf.RawSubjectPublicKeyInfo))
	upcoming := tlsa(3, 1, 1, sum256(next.RawSubjectPublicKeyInfo))
	pkixRec := tlsa(1, 1, 1, sum256(leaf.RawSubjectPublicKeyInfo))

	// Current and next key: the next one is a warning, not a failure.
	fs := maildomain.MatchFindings("mx.example.test", maildomain.Match([]*dns.TLSA{current, upcoming, pkixRec}, chain, "mx.example.test", now))
	if got := findings(fs, maildomain.CheckDANE); len(got) != 2 || got[0] != "ok dane.tlsa.match" || got[1] != "warn dane.tlsa.unmatched" {
		t.Errorf("rollover: %v", got)
	}
	// Only a stale record: DANE senders refuse the host.
	fs = maildomain.MatchFindings("mx.example.test", maildomain.Match([]*dns.TLSA{upcoming}, chain, "mx.example.test", now))
	if got := findings(fs, maildomain.CheckDANE); len(got) != 1 || got[0] != "bad dane.tlsa.unmatched" {
		t.Errorf("stale: %v", got)
	}
}
