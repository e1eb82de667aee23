package scan

import (
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mailwire/mailwire/sessions/maildomain"
	"github.com/mailwire/mailwire/sessions/resolver"
	"github.com/mailwire/mailwire/sessions/wire"
)

// DomainOptions configure a scan of a mail domain.
type DomainOptions struct {
	// Domain is the mail domain (the part after @).
	Domain string
	// Resolver answers and validates every DNS question; required.
	Resolver *resolver.Resolver
	// MXPort is the port each MX host is scanned on; zero means 25.
	// HTTPSPort is the MTA-STS policy host's; zero means 443. Tests set
	// both.
	MXPort, HTTPSPort int
	// MaxHosts bounds the MX hosts scanned at once (default 4).
	MaxHosts int
	// Host holds what each MX host's scan shares: Roots (the policy
	// host's and the MX hosts' certificates are checked against them;
	// nil means the system's), Insecure, the time limits, EHLOName, Dial,
	// Now, OnProgress. Its Host, Ports and ServerName are set per MX.
	Host Options
}

// ScanDomain checks what domain publishes in the DNS and on its MTA-STS
// policy host (package maildomain), then scans port 25 of each MX host as
// a host scan does and checks it against the domain's policies: the
// TLSA records against the chain the host presented after STARTTLS (RFC
// 7672 §3), and under MTA-STS the certificate against the MX host name
// (RFC 8461 §4.2).
func ScanDomain(ctx context.Context, o DomainOptions) *DomainReport {
	start := time.Now()
	hostOpts := o.Host.withDefaultsNoHost()
	ctx, cancel := context.WithTimeout(ctx, hostOpts.Timeout)
	defer cancel()
	rep := &DomainReport{Domain: strings.TrimSuffix(strings.TrimSpace(o.Domain), "."), Started: start.UTC()}
	var now func() time.Time
	if !hostOpts.Now.IsZero() {
		now = func() time.Time { return hostOpts.Now }
	}
	checker := &maildomain.Checker{Resolver: o.Resolver, Roots: hostOpts.Roots, HTTPSPort: o.HTTPSPort,
		Timeout: hostOpts.ReadTimeout, Now: now}
	rep.DNS = checker.Check(ctx, rep.Domain)
	for _, f := range rep.DNS.Findings {
		rep.Findings = append(rep.Findings, Finding{Host: wire.SafeString(f.Subject), Key: f.Annotation,
			Title: Title(f.Annotation), Grade: f.Grade, Detail: wire.SafeString(f.Detail), Source: Source(f.Annotation)})
	}

	port := o.MXPort
	if port == 0 {
		port = 25
	}
	maxHosts := o.MaxHosts
	if maxHosts <= 0 {
		maxHosts = 4
	}
	var hosts []maildomain.MXHost
	if rep.DNS.MX != nil {
		hosts = rep.DNS.MX.Hosts
	}
	rep.MX = make([]*MXReport, len(hosts))
	perMX := make([][]Finding, len(hosts))
	sem := make(chan struct{}, maxHosts)
	var wg sync.WaitGroup
	for i, mx := range hosts {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			rep.MX[i], perMX[i] = scanMX(ctx, rep.DNS, i, mx, port, hostOpts)
		})
	}
	wg.Wait()
	for _, fs := range perMX {
		rep.Findings = append(rep.Findings, fs...)
	}
	rep.Worst = worst(rep.Findings)
	rep.Elapsed = time.Since(start)
	return rep
}

// withDefaultsNoHost fills the defaults a domain scan's per-host options
// share (Host and Ports are set per MX).
func (o Options) withDefaultsNoHost() Options {
	o.Host = "-"
	o.Ports = []Port{}
	return o.withDefaults()
}

// scanMX scans port 25 of one MX host and grades it, with the domain's
// DANE and MTA-STS policies.
func scanMX(ctx context.Context, dns *maildomain.Report, i int, mx maildomain.MXHost, port int, base Options) (*MXReport, []Finding) {
	name := strings.TrimSuffix(mx.Name, ".")
	out := &MXReport{Host: name}
	tag := func(fs []Finding) []Finding {
		for j := range fs {
			fs[j].Host = name
			fs[j].Port = 25
		}
		return fs
	}
	if len(mx.Addrs) == 0 {
		return out, tag([]Finding{newFinding(25, KeyMXUnscanned, fmt.Sprintf("MX host %s has no address to scan", name), nil, base.Insecure)})
	}
	out.Addr = net.JoinHostPort(mx.Addrs[0].String(), strconv.Itoa(port))
	opts := base
	opts.Host, opts.ServerName = name, name
	opts.Ports = []Port{{Canonical: 25, Addr: out.Addr}}
	h := newHostScan(ctx, opts, nil)
	prs := h.scanAll(ctx)
	pr := prs[0]
	out.Port = pr
	fs := h.gradePort(pr)
	if pr.State != StateOpen {
		fs = append(fs, newFinding(25, KeyMXUnscanned, fmt.Sprintf("port 25 of %s is %s", out.Addr, pr.State), nil, base.Insecure))
		return out, tag(fs)
	}
	tlsUp := pr.Negotiated != nil
	var policyMode string
	if sts := dns.MTASTS; sts != nil && sts.Policy != nil && sts.Policy.Mode != "none" && sts.Policy.Matches(mx.Name) {
		policyMode = sts.Policy.Mode
	}
	var tlsa *maildomain.TLSAResult
	if i < len(dns.DANE) && dns.DANE[i].Usable > 0 {
		tlsa = dns.DANE[i]
	}
	if !tlsUp && (policyMode != "" || tlsa != nil) {
		f := newFinding(25, KeyMXNoTLS, fmt.Sprintf("%s completed no STARTTLS, while the domain publishes %s", name, policyWords(policyMode, tlsa)), nil, base.Insecure)
		if tlsa == nil && policyMode == "testing" {
			f.Grade = Warn
		}
		fs = append(fs, f)
	}
	if tlsa != nil && tlsUp {
		chain := presentedChain(pr)
		out.DANE = maildomain.Match(tlsa.Records, chain, mx.Name, checkTime(base))
		for _, m := range maildomain.MatchFindings(mx.Name, out.DANE) {
			fs = append(fs, Finding{Key: m.Annotation, Title: Title(m.Annotation), Grade: m.Grade,
				Detail: wire.SafeString(m.Detail), Source: Source(m.Annotation)})
		}
	}
	if policyMode != "" && tlsUp {
		fs = append(fs, mtaSTSCertificate(pr, name, policyMode, base.Insecure))
	}
	return out, tag(fs)
}

func policyWords(mode string, tlsa *maildomain.TLSAResult) string {
	var parts []string
	if mode != "" {
		parts = append(parts, "an MTA-STS policy in "+mode+" mode")
	}
	if tlsa != nil {
		parts = append(parts, "DANE TLSA records")
	}
	return strings.Join(parts, " and ")
}

// checkTime is the time certificates are checked at.
func checkTime(o Options) time.Time {
	if !o.Now.IsZero() {
		return o.Now
	}
	return time.Now()
}

// presentedChain is the chain the host presented after STARTTLS: the
// session's (read from its key log under TLS 1.3), else the first one a
// TLS 1.2 probe saw.
func presentedChain(pr *PortReport) []*x509.Certificate {
	var out []*x509.Certificate
	for _, der := range pr.chainDER {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			out = nil
			break
		}
		out = append(out, c)
	}
	if len(out) == 0 && pr.TLS != nil && len(pr.TLS.Chains) > 0 {
		out = pr.TLS.Chains[0].Certificates
	}
	return out
}

// mtaSTSCertificate grades an MX host's certificate as an MTA-STS sender
// checks it: against trusted roots, for the MX host name (RFC 8461 §4.2);
// enforce makes a failure bad, testing a warning.
func mtaSTSCertificate(pr *PortReport, host, mode string, insecure bool) Finding {
	c := pr.Chain
	if c == nil && pr.TLS != nil && len(pr.TLS.Chains) > 0 {
		c = pr.TLS.Chains[0].Facts
	}
	if c != nil && c.Verified() {
		return newFinding(25, KeyMXCertOK, fmt.Sprintf("%s presents %s, which verifies for %s (policy mode %s)", host, c.Certs[0].Subject, c.Name, mode), nil, insecure)
	}
	why := "no certificate was seen"
	if p, bad := c.First(); bad {
		why = c.Describe(p)
	}
	f := newFinding(25, KeyMXCertInvalid, fmt.Sprintf("policy mode %s: %s", mode, why), nil, insecure)
	if mode == "testing" {
		f.Grade = Warn
	}
	return f
}
