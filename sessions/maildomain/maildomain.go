// Package maildomain checks what a mail domain publishes about itself in
// the DNS and on its MTA-STS policy host: its MX hosts (RFC 5321 §5.1, RFC
// 7505), the MTA-STS record and policy (RFC 8461), the TLS-RPT record (RFC
// 8460), the DNSSEC status of each answer (through package resolver, which
// validates the chain itself), and the DANE TLSA records of each MX host
// (RFC 7672, RFC 6698, RFC 7671).
//
// It does not connect to the MX hosts: the scan does, and hands the chain
// each presented after STARTTLS back to Match (DANE) and, with the policy
// from MTASTS, checks the certificate against the MX name (RFC 8461 §4.2).
//
// Every finding is graded (OK, Warn, Bad) and carries the annotation key
// whose words in package content say what it means and which RFC it
// comes from. Detail strings are safe for a terminal: every string taken
// from DNS or HTTP is quoted with %+q (ASCII, escapes for everything
// else) or is a name in DNS presentation format, which escapes
// unprintable bytes.
package maildomain

import (
	"context"
	"crypto/x509"
	"fmt"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/mailwire/mailwire/sessions/resolver"
)

// Grade is how a finding is judged.
type Grade string

const (
	OK   Grade = "ok"
	Warn Grade = "warn"
	Bad  Grade = "bad"
)

// Check names what a finding is about.
const (
	CheckMX             = "mx"
	CheckMTASTS         = "mta-sts"
	CheckTLSRPT         = "tls-rpt"
	CheckDNSSEC         = "dnssec"
	CheckDANE           = "dane"
	CheckSTARTTLSPolicy = "starttls-policy"
)

// Finding is one graded fact about the domain.
type Finding struct {
	Check   string `json:"check"`
	Subject string `json:"subject"` // the name it is about
	Grade   Grade  `json:"grade"`
	// Annotation is the key of the words in package content
	// (content/annotations/dns.md).
	Annotation string `json:"annotation"`
	// Detail says it in one line, with the facts it rests on.
	Detail string `json:"detail"`
}

// Checker runs the checks. Its zero value is not usable: Resolver is
// required.
type Checker struct {
	// Resolver answers every DNS question (and validates the answers).
	Resolver *resolver.Resolver
	// Roots verify the MTA-STS policy host's certificate; nil means the
	// system's.
	Roots *x509.CertPool
	// HTTPSPort is the policy host's port; zero means 443. Tests set it.
	HTTPSPort int
	// Timeout bounds the policy fetch; zero means 15 s.
	Timeout time.Duration
	// Now is the clock for certificates; nil means time.Now.
	Now func() time.Time
}

func (c *Checker) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Report is every check of one domain.
type Report struct {
	Domain string        `json:"domain"`
	MX     *MXResult     `json:"mx"`
	MTASTS *STSResult    `json:"mta_sts"`
	TLSRPT *TLSRPTResult `json:"tls_rpt"`
	// DANE holds the TLSA lookup of each MX host, in MX order.
	DANE []*TLSAResult `json:"dane"`
	// Findings are all of the above's, then the DNSSEC status of each
	// name looked up, then the STARTTLS policy list note.
	Findings []Finding `json:"findings"`
}

// Worst is the worst grade among the findings (OK when there are none).
func (r *Report) Worst() Grade { return worst(r.Findings) }

func worst(fs []Finding) Grade {
	g := OK
	for _, f := range fs {
		switch {
		case f.Grade == Bad:
			return Bad
		case f.Grade == Warn:
			g = Warn
		}
	}
	return g
}

// Check runs every DNS and policy check of domain. It never connects to
// an MX host.
func (c *Checker) Check(ctx context.Context, domain string) *Report {
	domain = dns.CanonicalName(strings.TrimSpace(domain))
	rep := &Report{Domain: domain}
	rep.MX = c.MX(ctx, domain)
	rep.Findings = append(rep.Findings, rep.MX.Findings...)

	var hosts []string
	for _, h := range rep.MX.Hosts {
		hosts = append(hosts, h.Name)
	}
	rep.MTASTS = c.MTASTS(ctx, domain, hosts)
	rep.Findings = append(rep.Findings, rep.MTASTS.Findings...)
	rep.TLSRPT = c.TLSRPT(ctx, domain)
	rep.Findings = append(rep.Findings, rep.TLSRPT.Findings...)

	mxSec := resolver.Insecure
	if rep.MX.Answer != nil {
		mxSec = rep.MX.Answer.Security
	}
	for _, h := range rep.MX.Hosts {
		t := c.TLSA(ctx, h, mxSec)
		rep.DANE = append(rep.DANE, t)
		rep.Findings = append(rep.Findings, t.Findings...)
	}
	rep.Findings = append(rep.Findings, c.dnssecFindings(rep)...)
	rep.Findings = append(rep.Findings, STARTTLSPolicyFinding(domain))
	return rep
}

// dnssecFindings grades the DNSSEC status of every answer the checks
// rested on, once per name and type, after a note that says how they
// were validated.
func (c *Checker) dnssecFindings(rep *Report) []Finding {
	out := []Finding{{Check: CheckDNSSEC, Subject: c.Resolver.Server(), Grade: OK, Annotation: KeyValidation,
		Detail: fmt.Sprintf("answers from %s validated by mailwire from the trust anchors; the resolver's AD bit is not read",
			c.Resolver.Server())}}
	seen := map[string]bool{}
	add := func(a *resolver.Answer) {
		if a == nil {
			return
		}
		k := a.Name + "/" + dns.TypeToString[a.Type]
		if seen[k] {
			return
		}
		seen[k] = true
		g := OK
		switch a.Security {
		case resolver.Insecure:
			g = Warn
		case resolver.Bogus:
			g = Bad
		}
		out = append(out, Finding{Check: CheckDNSSEC, Subject: k, Grade: g, Annotation: a.Key(),
			Detail: fmt.Sprintf("%s %s: %s: %s", a.Name, dns.TypeToString[a.Type], a.Security, a.Detail)})
	}
	if rep.MX != nil {
		add(rep.MX.Answer)
		for _, h := range rep.MX.Hosts {
			for _, a := range h.Answers {
				add(a)
			}
		}
	}
	if rep.MTASTS != nil {
		add(rep.MTASTS.Answer)
	}
	if rep.TLSRPT != nil {
		add(rep.TLSRPT.Answer)
	}
	for _, t := range rep.DANE {
		add(t.Answer)
	}
	return out
}

// STARTTLSPolicyFinding is the note on EFF's STARTTLS policy list, which
// nothing checks any more: EFF stopped taking domains on 29 April 2020
// and wound the list down, pointing to MTA-STS and DANE.
func STARTTLSPolicyFinding(domain string) Finding {
	return Finding{Check: CheckSTARTTLSPolicy, Subject: domain, Grade: OK, Annotation: KeySTARTTLSPolicyRetired,
		Detail: "not checked: EFF's STARTTLS policy list took no new domains after 2020-04-29 and was wound down; MTA-STS and DANE replace it"}
}

// quote renders a peer's string for a Detail: ASCII only, escaped, capped.
func quote(s string) string {
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return fmt.Sprintf("%+q", s)
}
