package maildomain

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/miekg/dns"

	"github.com/mailwire/mailwire/sessions/certs"
	"github.com/mailwire/mailwire/sessions/resolver"
)

const (
	// MaxPolicySize bounds the policy body: RFC 8461 §3.3 suggests 64
	// kilobytes.
	MaxPolicySize = 64 * 1024
	// MaxAgeLimit is the largest max_age (RFC 8461 §3.2), a year.
	MaxAgeLimit = 31557600
	// MaxAgeShort: below a week, a policy gives little protection at
	// refresh time; RFC 8461 §3.2 expects "weeks or greater".
	MaxAgeShort = 7 * 24 * 3600
	// maxPolicyMX bounds the mx lines kept.
	maxPolicyMX = 100
)

// STSRecord is a parsed _mta-sts TXT record (RFC 8461 §3.1).
type STSRecord struct {
	ID string `json:"id"`
}

// ParseSTSRecord parses an MTA-STS TXT record (its strings already
// joined): "v=STSv1" first, then an "id" of 1 to 32 letters and digits;
// other fields are extensions and ignored when well-formed.
func ParseSTSRecord(s string) (*STSRecord, error) {
	rec, err := parseTagRecord(s, "v=STSv1", nil)
	if err != nil {
		return nil, fmt.Errorf("MTA-STS record: %w", err)
	}
	id, ok := rec.get("id")
	if !ok {
		return nil, errors.New("MTA-STS record: no id")
	}
	if len(id) > 32 {
		return nil, fmt.Errorf("MTA-STS record: id is %d characters (at most 32)", len(id))
	}
	for i := 0; i < len(id); i++ {
		if !isAlpha(id[i]) && !isDigit(id[i]) {
			return nil, fmt.Errorf("MTA-STS record: id %s holds a character other than letters and digits", quote(id))
		}
	}
	return &STSRecord{ID: id}, nil
}

// Policy is a parsed MTA-STS policy (RFC 8461 §3.2).
type Policy struct {
	Version string   `json:"version"`
	Mode    string   `json:"mode"` // enforce, testing or none
	MaxAge  int64    `json:"max_age"`
	MX      []string `json:"mx"` // patterns, lower case, "*." prefix for a wildcard
}

// ParsePolicy parses a policy body: lines of "key: value" ending in LF or
// CRLF. version (STSv1), mode and max_age are required once (a repeated
// one after the first is ignored), mx at least once unless the mode is
// none; unknown keys are extensions and ignored.
func ParsePolicy(body []byte) (*Policy, error) {
	if len(body) > MaxPolicySize {
		return nil, fmt.Errorf("policy is %d bytes (at most %d)", len(body), MaxPolicySize)
	}
	if !utf8.Valid(body) {
		return nil, errors.New("policy is not UTF-8")
	}
	p := &Policy{}
	seen := map[string]bool{}
	lines := strings.Split(string(body), "\n")
	for n, line := range lines {
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			continue
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("line %d has no ':'", n+1)
		}
		if !validPolicyKey(key) {
			return nil, fmt.Errorf("line %d: bad key %s", n+1, quote(key))
		}
		value = strings.TrimLeft(value, " \t")
		value = strings.TrimRight(value, " \t")
		for _, r := range value {
			if r < 0x20 || r == 0x7f {
				return nil, fmt.Errorf("line %d: a control character in the value", n+1)
			}
		}
		if key != "mx" && seen[key] {
			continue // RFC 8461 §3.2: all but the first are ignored
		}
		seen[key] = true
		switch key {
		case "version":
			if value != "STSv1" {
				return nil, fmt.Errorf("version is %s, not STSv1", quote(value))
			}
			p.Version = value
		case "mode":
			if value != "enforce" && value != "testing" && value != "none" {
				return nil, fmt.Errorf("mode is %s, not enforce, testing or none", quote(value))
			}
			p.Mode = value
		case "max_age":
			if len(value) == 0 || len(value) > 10 || strings.Trim(value, "0123456789") != "" {
				return nil, fmt.Errorf("max_age %s is not 1 to 10 digits", quote(value))
			}
			v, _ := strconv.ParseInt(value, 10, 64)
			if v > MaxAgeLimit {
				return nil, fmt.Errorf("max_age %d is more than %d (a year)", v, MaxAgeLimit)
			}
			p.MaxAge = v
		case "mx":
			if !validMXPattern(value) {
				return nil, fmt.Errorf("mx %s is not a host name or *.suffix", quote(value))
			}
			if len(p.MX) < maxPolicyMX {
				p.MX = append(p.MX, strings.ToLower(strings.TrimSuffix(value, ".")))
			}
		}
	}
	switch {
	case p.Version == "":
		return nil, errors.New("no version")
	case p.Mode == "":
		return nil, errors.New("no mode")
	case !seen["max_age"]:
		return nil, errors.New("no max_age")
	case p.Mode != "none" && len(p.MX) == 0:
		return nil, errors.New("no mx (required unless the mode is none)")
	}
	return p, nil
}

// validPolicyKey: sts-policy-ext-name, a letter or digit then up to 31
// letters, digits, "_", "-", "." (which covers the four known keys).
func validPolicyKey(k string) bool {
	if k == "" || len(k) > 32 || !(isAlpha(k[0]) || isDigit(k[0])) {
		return false
	}
	for i := 1; i < len(k); i++ {
		if c := k[i]; !isAlpha(c) && !isDigit(c) && c != '_' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// validMXPattern: ["*."] Domain, Domain as in RFC 5321 §4.1.2 (labels of
// letters, digits and inner hyphens). A trailing dot is tolerated.
func validMXPattern(v string) bool {
	v = strings.TrimSuffix(strings.TrimPrefix(v, "*."), ".")
	if v == "" || len(v) > 253 {
		return false
	}
	for _, l := range strings.Split(v, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; !isAlpha(c) && !isDigit(c) && c != '-' {
				return false
			}
		}
	}
	return true
}

// MatchMX says whether an MX host matches a policy's mx pattern (RFC 8461
// §4.1): case-insensitively, a "*." pattern matching exactly one label in
// its place, so "*.example.com" matches "mail.example.com" but neither
// "example.com" nor "foo.bar.example.com".
func MatchMX(pattern, host string) bool {
	pattern = strings.ToLower(strings.TrimSuffix(pattern, "."))
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if suffix, ok := strings.CutPrefix(pattern, "*."); ok {
		label, rest, ok := strings.Cut(host, ".")
		return ok && label != "" && rest == suffix
	}
	return pattern == host
}

// Matches says whether host matches one of the policy's mx patterns.
func (p *Policy) Matches(host string) bool {
	for _, pat := range p.MX {
		if MatchMX(pat, host) {
			return true
		}
	}
	return false
}

// STSResult is the MTA-STS check of a domain.
type STSResult struct {
	Domain string `json:"domain"`
	// Answer is the _mta-sts TXT answer.
	Answer *resolver.Answer `json:"-"`
	Record *STSRecord       `json:"record,omitempty"`
	// PolicyURL is where the policy was fetched from.
	PolicyURL string `json:"policy_url,omitempty"`
	// Chain is the policy host's certificate chain, checked for its name.
	Chain *certs.Chain `json:"chain,omitempty"`
	// TLSVersion is the version the policy host negotiated.
	TLSVersion uint16 `json:"tls_version,omitempty"`
	// Status and ContentType are the HTTP reply's.
	Status      int       `json:"status,omitempty"`
	ContentType string    `json:"content_type,omitempty"`
	Policy      *Policy   `json:"policy,omitempty"`
	Findings    []Finding `json:"findings"`
}

// MTASTS checks the _mta-sts record of domain, fetches and checks its
// policy, and checks each of mxHosts against the policy's patterns. The
// certificate each MX host presents is the scan's to check (RFC 8461
// §4.2), with Policy.Matches and the chain view of package certs.
func (c *Checker) MTASTS(ctx context.Context, domain string, mxHosts []string) *STSResult {
	domain = canon(domain)
	res := &STSResult{Domain: domain}
	name := "_mta-sts." + domain
	add := func(g Grade, key, subject, format string, args ...any) {
		res.Findings = append(res.Findings, Finding{Check: CheckMTASTS, Subject: subject, Grade: g, Annotation: key,
			Detail: fmt.Sprintf(format, args...)})
	}
	a, err := c.Resolver.Lookup(ctx, name, dns.TypeTXT)
	if err != nil {
		add(Bad, KeySTSLookupFailed, name, "TXT lookup for %s failed: %v", name, err)
		return res
	}
	res.Answer = a
	var recs []string
	for _, rr := range a.Records {
		if t, ok := rr.(*dns.TXT); ok {
			if s := txtString(t); startsVersion(s, "v=STSv1") {
				recs = append(recs, s)
			}
		}
	}
	switch {
	case len(recs) == 0:
		add(Warn, KeySTSNone, name, "%s has no v=STSv1 TXT record: the domain has no MTA-STS policy", name)
		return res
	case len(recs) > 1:
		add(Bad, KeySTSRecordMultiple, name, "%s has %d v=STSv1 TXT records; senders ignore them all", name, len(recs))
		return res
	}
	rec, err := ParseSTSRecord(recs[0])
	if err != nil {
		add(Bad, KeySTSRecordInvalid, name, "%s: %v (record %s)", name, err, quote(recs[0]))
		return res
	}
	res.Record = rec
	add(OK, KeySTSRecordOK, name, "%s: v=STSv1, id %s", name, quote(rec.ID))

	p := c.fetchPolicy(ctx, domain, res, add)
	if p == nil {
		return res
	}
	res.Policy = p
	host := "mta-sts." + strings.TrimSuffix(domain, ".")
	detail := fmt.Sprintf("mode %s, max_age %d s (%s), %d mx patterns: %s", p.Mode, p.MaxAge, days(p.MaxAge),
		len(p.MX), strings.Join(p.MX, ", "))
	add(OK, KeySTSPolicyOK, host, "%s", detail)
	switch p.Mode {
	case "enforce":
		add(OK, KeySTSModeEnforce, host, "mode enforce: senders that apply MTA-STS deliver only over verified TLS")
	case "testing":
		add(Warn, KeySTSModeTesting, host, "mode testing: failures are only reported (TLS-RPT), mail is still delivered")
	case "none":
		add(Warn, KeySTSModeNone, host, "mode none: the domain withdraws its policy")
	}
	if p.MaxAge < MaxAgeShort && p.Mode != "none" {
		add(Warn, KeySTSMaxAgeShort, host, "max_age %d s is %s; RFC 8461 expects weeks or more", p.MaxAge, days(p.MaxAge))
	}
	if p.Mode == "none" {
		return res
	}
	for _, h := range mxHosts {
		if p.Matches(h) {
			add(OK, KeySTSMXMatched, h, "MX host %s matches the policy", h)
			continue
		}
		g := Warn
		if p.Mode == "enforce" {
			g = Bad
		}
		add(g, KeySTSMXUnmatched, h, "MX host %s matches no mx pattern of the policy (%s)", h, strings.Join(p.MX, ", "))
	}
	return res
}

func days(s int64) string {
	if s >= 86400 {
		return fmt.Sprintf("%.1f days", float64(s)/86400)
	}
	return fmt.Sprintf("%.1f hours", float64(s)/3600)
}

// fetchPolicy fetches https://mta-sts.DOMAIN/.well-known/mta-sts.txt as
// RFC 8461 §3.3 says: the certificate verified for the policy host
// (checked here with package certs, so that the reason can be told),
// TLS 1.2 or later (RFC 8996), status 200 only, no redirect followed, no
// cache, media type text/plain (§3.2), at most MaxPolicySize bytes. The
// host's address comes from the same resolver as everything else.
func (c *Checker) fetchPolicy(ctx context.Context, domain string, res *STSResult,
	add func(g Grade, key, subject, format string, args ...any)) *Policy {
	host := "mta-sts." + strings.TrimSuffix(domain, ".")
	port := c.HTTPSPort
	if port == 0 {
		port = 443
	}
	res.PolicyURL = "https://" + host + "/.well-known/mta-sts.txt"
	if port != 443 {
		res.PolicyURL = fmt.Sprintf("https://%s:%d/.well-known/mta-sts.txt", host, port)
	}
	fail := func(key, format string, args ...any) *Policy {
		add(Bad, key, host, format, args...)
		return nil
	}
	addrs := c.addresses(ctx, host)
	if len(addrs) == 0 {
		return fail(KeySTSFetchFailed, "the policy host %s has no address", host)
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	var peer []*x509.Certificate
	var version uint16
	dialer := &net.Dialer{Timeout: timeout}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var last error
			for _, a := range addrs {
				conn, err := dialer.DialContext(ctx, "tcp", netip.AddrPortFrom(a, uint16(port)).String())
				if err == nil {
					return conn, nil
				}
				last = err
			}
			return nil, last
		},
		TLSClientConfig: &tls.Config{
			ServerName: host, // the SNI must name the policy host (RFC 8461 §7.1)
			// Verification is done below, with certs.Analyze, so
			// that a failure can be named; nothing is read from a
			// server whose chain did not verify.
			InsecureSkipVerify: true,
			// Accept old versions only to be able to say so.
			MinVersion: tls.VersionTLS10,
			VerifyConnection: func(cs tls.ConnectionState) error {
				peer, version = cs.PeerCertificates, cs.Version
				return nil
			},
		},
		DisableKeepAlives:      true,
		MaxResponseHeaderBytes: 64 << 10,
		ResponseHeaderTimeout:  timeout,
		TLSHandshakeTimeout:    timeout,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{
		Transport: tr,
		Timeout:   timeout,
		// RFC 8461 §3.3: HTTP 3xx redirects MUST NOT be followed.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, res.PolicyURL, nil)
	if err != nil {
		return fail(KeySTSFetchFailed, "%v", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fail(KeySTSFetchFailed, "fetching %s: %v", res.PolicyURL, err)
	}
	defer resp.Body.Close()

	chain, _ := certs.Analyze(peer, certs.Check{Name: host, Roots: c.Roots, Now: c.now()})
	res.Chain, res.TLSVersion = chain, version
	if p, bad := chain.First(); bad {
		return fail(KeySTSCertificate, "the certificate of %s does not verify: %s (%s)", host, p.Kind, quote(chain.Describe(p)))
	}
	if version < tls.VersionTLS12 {
		return fail(KeySTSTLSVersion, "%s negotiated %s; the policy needs TLS 1.2 or later", host, tls.VersionName(version))
	}
	res.Status = resp.StatusCode
	res.ContentType = resp.Header.Get("Content-Type")
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return fail(KeySTSRedirect, "%s answered %d, a redirect to %s, which senders do not follow", host,
			resp.StatusCode, quote(resp.Header.Get("Location")))
	case resp.StatusCode != http.StatusOK:
		return fail(KeySTSStatus, "%s answered %d, not 200", host, resp.StatusCode)
	}
	mt, _, err := mime.ParseMediaType(res.ContentType)
	if err != nil || mt != "text/plain" {
		return fail(KeySTSContentType, "the policy is served as %s, not text/plain", quote(res.ContentType))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxPolicySize+1))
	if err != nil {
		return fail(KeySTSFetchFailed, "reading the policy: %v", err)
	}
	if len(body) > MaxPolicySize {
		return fail(KeySTSTooLarge, "the policy is larger than %d bytes", MaxPolicySize)
	}
	p, err := ParsePolicy(body)
	if err != nil {
		first, _, _ := bytes.Cut(body, []byte("\n"))
		return fail(KeySTSSyntax, "the policy does not parse: %v (first line %s)", err, quote(string(first)))
	}
	return p
}

// addresses resolves a host to its IPv4 and IPv6 addresses.
func (c *Checker) addresses(ctx context.Context, host string) []netip.Addr {
	h := c.host(ctx, canon(host), 0)
	return h.Addrs
}
