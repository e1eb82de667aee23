package maildomain

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/mailwire/mailwire/sessions/resolver"
)

// TLSA certificate usages, selectors and matching types (RFC 6698 §2.1.1
// to §2.1.3, RFC 7218 names).
const (
	UsagePKIXTA = 0
	UsagePKIXEE = 1
	UsageDANETA = 2
	UsageDANEEE = 3

	SelectorCert = 0
	SelectorSPKI = 1

	MatchFull   = 0
	MatchSHA256 = 1
	MatchSHA512 = 2
)

// maxTLSA bounds the TLSA records kept per host.
const maxTLSA = 32

// TLSAResult is the TLSA lookup of one MX host.
type TLSAResult struct {
	Host string `json:"host"`
	Name string `json:"name"` // _25._tcp.HOST
	// Looked says the lookup was made: only when the MX answer and the
	// host's addresses are secure (RFC 7672 §2.2.1, §2.2.2).
	Looked bool             `json:"looked"`
	Answer *resolver.Answer `json:"-"`
	// Records are the TLSA records, when the answer is secure.
	Records []*dns.TLSA `json:"-"`
	// Usable counts records a sender authenticates with: DANE-TA(2) or
	// DANE-EE(3) with a known selector and matching type.
	Usable int `json:"usable"`
	// Unusable says the lookup failed or the answer is bogus: a DANE
	// sender must not deliver to this host (RFC 7672 §2.1.2).
	Unusable bool      `json:"unusable,omitempty"`
	Findings []Finding `json:"findings"`
}

// TLSA looks up the TLSA records of an MX host when DANE can apply to it:
// the MX RRset (mxSec) and the host's addresses must be secure.
func (c *Checker) TLSA(ctx context.Context, h MXHost, mxSec resolver.Security) *TLSAResult {
	host := canon(h.Name)
	res := &TLSAResult{Host: host, Name: "_25._tcp." + host}
	add := func(g Grade, key, format string, args ...any) {
		res.Findings = append(res.Findings, Finding{Check: CheckDANE, Subject: host, Grade: g, Annotation: key,
			Detail: fmt.Sprintf(format, args...)})
	}
	if mxSec != resolver.Secure || h.Security != resolver.Secure {
		what := "the MX answer"
		if mxSec == resolver.Secure {
			what = "the addresses of " + host
		}
		add(Warn, KeyDANEMXInsecure, "DANE cannot apply to %s: %s is not DNSSEC-secure", host, what)
		return res
	}
	res.Looked = true
	a, err := c.Resolver.Lookup(ctx, res.Name, dns.TypeTLSA)
	if err != nil {
		res.Unusable = true
		add(Bad, KeyDANELookupFailed, "TLSA lookup for %s failed (%v): DANE senders will not deliver to this host", res.Name, err)
		return res
	}
	res.Answer = a
	switch a.Security {
	case resolver.Bogus:
		res.Unusable = true
		add(Bad, KeyDANEBogus, "the TLSA answer for %s is bogus (%s): DANE senders will not deliver to this host", res.Name, a.Detail)
		return res
	case resolver.Insecure:
		if len(a.Records) > 0 {
			add(Warn, KeyDANEInsecure, "%s has TLSA records in an unsigned zone; senders ignore them", res.Name)
		} else {
			add(Warn, KeyDANENone, "%s has no TLSA record", res.Name)
		}
		return res
	}
	for _, rr := range a.Records {
		if t, ok := rr.(*dns.TLSA); ok && len(res.Records) < maxTLSA {
			res.Records = append(res.Records, t)
		}
	}
	if len(res.Records) == 0 {
		add(Warn, KeyDANENone, "MX host %s has no TLSA record at %s: DANE senders fall back to unauthenticated TLS", host, res.Name)
		return res
	}
	for _, t := range res.Records {
		switch usable, key := usableTLSA(t); {
		case usable:
			res.Usable++
		case key == KeyDANEPKIXUsage:
			add(Warn, key, "TLSA %s uses a PKIX usage, which SMTP senders need not use", recordText(t))
		default:
			add(Warn, key, "TLSA %s has a parameter senders do not know or data of the wrong length", recordText(t))
		}
	}
	if res.Usable == 0 {
		add(Warn, KeyDANEUnusable, "no usable TLSA record for %s: DANE senders require TLS but cannot authenticate it", host)
		return res
	}
	add(OK, KeyDANEPresent, "%d usable TLSA records at %s; the scan matches them against the certificate chain", res.Usable, res.Name)
	return res
}

// usableTLSA says whether a sender authenticates with t (RFC 7672 §3.1,
// RFC 6698 §4.1), and if not, which key says why.
func usableTLSA(t *dns.TLSA) (bool, string) {
	if t.Usage == UsagePKIXTA || t.Usage == UsagePKIXEE {
		return false, KeyDANEPKIXUsage
	}
	if t.Usage != UsageDANETA && t.Usage != UsageDANEEE || t.Selector > SelectorSPKI {
		return false, KeyDANEUnusable
	}
	data, err := hex.DecodeString(t.Certificate)
	if err != nil {
		return false, KeyDANEUnusable
	}
	switch t.MatchingType {
	case MatchFull:
		return len(data) > 0, KeyDANEUnusable
	case MatchSHA256:
		return len(data) == sha256.Size, KeyDANEUnusable
	case MatchSHA512:
		return len(data) == sha512.Size, KeyDANEUnusable
	}
	return false, KeyDANEUnusable
}

// recordText is a TLSA record as "3 1 1 0123456789ab…".
func recordText(t *dns.TLSA) string {
	d := strings.ToLower(t.Certificate)
	if len(d) > 16 {
		d = d[:16] + "…"
	}
	return fmt.Sprintf("%d %d %d %s", t.Usage, t.Selector, t.MatchingType, d)
}

// RecordMatch is one TLSA record checked against a presented chain.
type RecordMatch struct {
	Record string `json:"record"` // "3 1 1 0123…"
	Usage  uint8  `json:"usage"`
	// Usable: DANE-TA(2) or DANE-EE(3) with a known selector and
	// matching type; the others are never matched.
	Usable bool `json:"usable"`
	// Matched: the record authenticates the chain.
	Matched bool `json:"matched"`
	// Cert is the index in the chain of the certificate the record's
	// data matched, or -1.
	Cert int `json:"cert"`
	// Annotation is the key of the words (match, unmatched, pkix_usage,
	// unusable); Detail says why in one line.
	Annotation string `json:"annotation"`
	Detail     string `json:"detail"`
}

// Match checks each TLSA record of host against the chain the host
// presented after STARTTLS, leaf first (RFC 7672 §3, RFC 6698 §2.1):
//
//   - DANE-EE(3) matches the leaf only, and then nothing else is checked:
//     not the name, not the dates, not who issued it (RFC 7672 §3.1.1);
//   - DANE-TA(2) matches a certificate of the chain as trust anchor, from
//     which the leaf must verify, for host, at now (RFC 7672 §3.1.2 and
//     §3.2);
//   - PKIX-TA(0) and PKIX-EE(1) are not used for SMTP (RFC 7672 §3.1.3)
//     and never match; nor do records with an unknown selector or
//     matching type.
//
// The selector picks the whole certificate (0) or its public key (1); the
// matching type compares exactly (0) or by SHA-256 (1) or SHA-512 (2).
func Match(records []*dns.TLSA, chain []*x509.Certificate, host string, now time.Time) []RecordMatch {
	out := make([]RecordMatch, 0, len(records))
	for _, t := range records {
		m := RecordMatch{Record: recordText(t), Usage: t.Usage, Cert: -1}
		usable, key := usableTLSA(t)
		m.Usable = usable
		if !usable {
			m.Annotation = key
			m.Detail = fmt.Sprintf("TLSA %s is not usable for SMTP and was not matched", m.Record)
			out = append(out, m)
			continue
		}
		data, _ := hex.DecodeString(t.Certificate)
		candidates := chain
		if t.Usage == UsageDANEEE && len(chain) > 0 {
			candidates = chain[:1]
		}
		for i, c := range candidates {
			if bytes.Equal(association(c, t.Selector, t.MatchingType), data) {
				m.Cert = i
				break
			}
		}
		switch {
		case len(chain) == 0:
			m.Annotation, m.Detail = KeyDANEUnmatched, fmt.Sprintf("TLSA %s: the host presented no certificate", m.Record)
		case m.Cert < 0:
			m.Annotation, m.Detail = KeyDANEUnmatched, fmt.Sprintf("TLSA %s matches no certificate of the chain", m.Record)
		case t.Usage == UsageDANEEE:
			m.Matched = true
			m.Annotation, m.Detail = KeyDANEMatch, fmt.Sprintf("TLSA %s matches the leaf", m.Record)
		default:
			if err := verifyFromAnchor(chain, m.Cert, host, now); err != nil {
				m.Annotation = KeyDANEUnmatched
				m.Detail = fmt.Sprintf("TLSA %s matches certificate [%d], but the leaf does not verify from it for %s: %s",
					m.Record, m.Cert, host, quote(err.Error()))
			} else {
				m.Matched = true
				m.Annotation = KeyDANEMatch
				m.Detail = fmt.Sprintf("TLSA %s matches certificate [%d] as trust anchor, and the leaf verifies from it for %s",
					m.Record, m.Cert, host)
			}
		}
		out = append(out, m)
	}
	return out
}

// association is what a TLSA record's data is compared with.
func association(c *x509.Certificate, selector, matching uint8) []byte {
	var b []byte
	switch selector {
	case SelectorCert:
		b = c.Raw
	case SelectorSPKI:
		b = c.RawSubjectPublicKeyInfo
	default:
		return nil
	}
	switch matching {
	case MatchSHA256:
		s := sha256.Sum256(b)
		return s[:]
	case MatchSHA512:
		s := sha512.Sum512(b)
		return s[:]
	}
	return b
}

// verifyFromAnchor verifies the leaf up to chain[ta], taken as the trust
// anchor whatever signed it, for host (RFC 7672 §3.2.2: the name checks
// still apply under DANE-TA). crypto/x509 matches DNS names in the
// subjectAltName only.
func verifyFromAnchor(chain []*x509.Certificate, ta int, host string, now time.Time) error {
	roots := x509.NewCertPool()
	roots.AddCert(chain[ta])
	inter := x509.NewCertPool()
	for i := 1; i < ta; i++ {
		inter.AddCert(chain[i])
	}
	_, err := chain[0].Verify(x509.VerifyOptions{
		Roots: roots, Intermediates: inter, DNSName: strings.TrimSuffix(host, "."), CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	return err
}

// MatchFindings grades the matches of one host: one finding per record
// that matched (OK); a usable record that matched nothing is stale — a
// warning while another record matches (it may be the next key of a
// rollover, the publishing practice RFC 7671 describes), bad when none does, since DANE senders then
// refuse to deliver.
func MatchFindings(host string, matches []RecordMatch) []Finding {
	any := false
	for _, m := range matches {
		any = any || m.Matched
	}
	var out []Finding
	for _, m := range matches {
		if !m.Usable {
			continue
		}
		f := Finding{Check: CheckDANE, Subject: canon(host), Grade: OK, Annotation: m.Annotation, Detail: m.Detail}
		if !m.Matched {
			f.Grade = Bad
			if any {
				f.Grade = Warn
			}
		}
		out = append(out, f)
	}
	return out
}
