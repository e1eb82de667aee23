package maildomain

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strings"

	"github.com/miekg/dns"

	"github.com/mailwire/mailwire/sessions/resolver"
)

// maxRUA bounds the report URIs kept.
const maxRUA = 16

// TLSRPTRecord is a parsed _smtp._tls TXT record (RFC 8460 §3).
type TLSRPTRecord struct {
	// RUA are the report destinations, mailto: or https: URIs.
	RUA []string `json:"rua"`
}

// ParseTLSRPTRecord parses a TLS-RPT TXT record (its strings already
// joined): "v=TLSRPTv1" first, then "rua=" with one or more URIs
// separated by commas, each mailto: (an address) or https: (a host);
// other fields are extensions and ignored when well-formed.
func ParseTLSRPTRecord(s string) (*TLSRPTRecord, error) {
	rec, err := parseTagRecord(s, "v=TLSRPTv1", func(name string) bool { return name == "rua" })
	if err != nil {
		return nil, fmt.Errorf("TLS-RPT record: %w", err)
	}
	rua, ok := rec.get("rua")
	if !ok {
		return nil, errors.New("TLS-RPT record: no rua")
	}
	out := &TLSRPTRecord{}
	for _, u := range strings.Split(rua, ",") {
		u = strings.Trim(u, " \t")
		if err := checkRUA(u); err != nil {
			return nil, fmt.Errorf("TLS-RPT record: rua %s: %w", quote(u), err)
		}
		if len(out.RUA) < maxRUA {
			out.RUA = append(out.RUA, u)
		}
	}
	return out, nil
}

// checkRUA accepts a mailto: URI with one address or an https: URI with a
// host, the two schemes RFC 8460 §3 defines; commas, "!" and ";" must be
// percent-encoded inside a URI.
func checkRUA(u string) error {
	if u == "" {
		return errors.New("empty URI")
	}
	for i := 0; i < len(u); i++ {
		if c := u[i]; c <= 0x20 || c >= 0x7f || c == '!' {
			return errors.New("a character that must be percent-encoded")
		}
	}
	p, err := url.Parse(u)
	if err != nil {
		return errors.New("not a URI")
	}
	switch strings.ToLower(p.Scheme) {
	case "mailto":
		addr, err := url.PathUnescape(p.Opaque)
		if err != nil || addr == "" {
			return errors.New("mailto: without an address")
		}
		if _, err := mail.ParseAddress(addr); err != nil {
			return errors.New("mailto: with an invalid address")
		}
	case "https":
		if p.Host == "" {
			return errors.New("https: without a host")
		}
	default:
		return fmt.Errorf("scheme %s is neither mailto nor https", quote(p.Scheme))
	}
	return nil
}

// TLSRPTResult is the TLS-RPT check of a domain.
type TLSRPTResult struct {
	Domain   string           `json:"domain"`
	Answer   *resolver.Answer `json:"-"`
	Record   *TLSRPTRecord    `json:"record,omitempty"`
	Findings []Finding        `json:"findings"`
}

// TLSRPT checks the _smtp._tls record of domain.
func (c *Checker) TLSRPT(ctx context.Context, domain string) *TLSRPTResult {
	domain = canon(domain)
	res := &TLSRPTResult{Domain: domain}
	name := "_smtp._tls." + domain
	add := func(g Grade, key, format string, args ...any) {
		res.Findings = append(res.Findings, Finding{Check: CheckTLSRPT, Subject: name, Grade: g, Annotation: key,
			Detail: fmt.Sprintf(format, args...)})
	}
	a, err := c.Resolver.Lookup(ctx, name, dns.TypeTXT)
	if err != nil {
		add(Bad, KeyTLSRPTLookupFailed, "TXT lookup for %s failed: %v", name, err)
		return res
	}
	res.Answer = a
	var recs []string
	for _, rr := range a.Records {
		if t, ok := rr.(*dns.TXT); ok {
			if s := txtString(t); startsVersion(s, "v=TLSRPTv1") {
				recs = append(recs, s)
			}
		}
	}
	switch {
	case len(recs) == 0:
		add(Warn, KeyTLSRPTNone, "%s has no v=TLSRPTv1 record: senders do not report TLS failures to the domain", name)
		return res
	case len(recs) > 1:
		add(Bad, KeyTLSRPTMultiple, "%s has %d v=TLSRPTv1 records; senders ignore them all", name, len(recs))
		return res
	}
	rec, err := ParseTLSRPTRecord(recs[0])
	if err != nil {
		add(Bad, KeyTLSRPTInvalid, "%s: %v (record %s)", name, err, quote(recs[0]))
		return res
	}
	res.Record = rec
	ruas := make([]string, len(rec.RUA))
	for i, u := range rec.RUA {
		ruas[i] = quote(u)
	}
	add(OK, KeyTLSRPTOK, "reports go to %s", strings.Join(ruas, ", "))
	return res
}
