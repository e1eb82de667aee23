package maildomain

import (
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"

	"github.com/mailwire/mailwire/sessions/resolver"
)

// MaxMXHosts bounds the MX hosts looked at (a domain may publish many;
// senders try them in preference order).
const MaxMXHosts = 10

// MXHost is one host mail for the domain is delivered to.
type MXHost struct {
	Name       string       `json:"name"` // canonical, fully qualified
	Preference uint16       `json:"preference"`
	Addrs      []netip.Addr `json:"addrs"`
	// Security is the weakest DNSSEC status of its address answers.
	Security resolver.Security `json:"security"`
	// Alias says the name is a CNAME, which an MX target must not be
	// (RFC 2181 §10.3).
	Alias bool `json:"alias,omitempty"`
	// Answers are the A and AAAA answers.
	Answers []*resolver.Answer `json:"-"`
}

// MXResult is the MX lookup of a domain.
type MXResult struct {
	Domain string `json:"domain"`
	// Answer is the MX answer (nil when the lookup failed).
	Answer *resolver.Answer `json:"-"`
	// Null: the domain publishes the null MX, "0 ." (RFC 7505): it
	// accepts no mail.
	Null bool `json:"null,omitempty"`
	// Implicit: no MX record; mail goes to the domain's own address
	// (RFC 5321 §5.1).
	Implicit bool `json:"implicit,omitempty"`
	// Hosts in the order a sender tries them: preference, then name.
	Hosts    []MXHost  `json:"hosts"`
	Findings []Finding `json:"findings"`
}

// MX looks up the MX hosts of domain and their addresses.
func (c *Checker) MX(ctx context.Context, domain string) *MXResult {
	domain = dns.CanonicalName(domain)
	res := &MXResult{Domain: domain}
	add := func(g Grade, key, format string, args ...any) {
		res.Findings = append(res.Findings, Finding{Check: CheckMX, Subject: domain, Grade: g, Annotation: key,
			Detail: fmt.Sprintf(format, args...)})
	}
	a, err := c.Resolver.Lookup(ctx, domain, dns.TypeMX)
	if err != nil {
		add(Bad, KeyMXLookupFailed, "MX lookup for %s failed: %v", domain, err)
		return res
	}
	res.Answer = a
	if a.Rcode == dns.RcodeNameError {
		add(Bad, KeyMXNXDomain, "%s does not exist (NXDOMAIN)", domain)
		return res
	}
	var mxs []*dns.MX
	null := false
	for _, rr := range a.Records {
		mx, ok := rr.(*dns.MX)
		if !ok {
			continue
		}
		if mx.Mx == "." {
			null = true
			continue
		}
		mxs = append(mxs, mx)
	}
	switch {
	case null && len(mxs) == 0:
		res.Null = true
		add(OK, KeyMXNull, "%s publishes the null MX: it accepts no mail", domain)
		return res
	case null:
		add(Bad, KeyMXNullMixed, "%s publishes the null MX next to %d other MX records", domain, len(mxs))
	}
	if len(mxs) == 0 {
		h := c.host(ctx, domain, 0)
		if len(h.Addrs) == 0 {
			add(Bad, KeyMXNone, "%s has no MX record and no address: mail to it cannot be delivered", domain)
			return res
		}
		res.Implicit = true
		res.Hosts = []MXHost{h}
		add(Warn, KeyMXImplicit, "%s has no MX record; senders deliver to its own address %s", domain, addrList(h.Addrs))
		return res
	}
	slices.SortFunc(mxs, func(x, y *dns.MX) int {
		return cmp.Or(cmp.Compare(x.Preference, y.Preference), strings.Compare(canon(x.Mx), canon(y.Mx)))
	})
	var names []string
	for i, mx := range mxs {
		if i == MaxMXHosts {
			break
		}
		h := c.host(ctx, canon(mx.Mx), mx.Preference)
		res.Hosts = append(res.Hosts, h)
		names = append(names, fmt.Sprintf("%d %s", mx.Preference, h.Name))
		if h.Alias {
			add(Warn, KeyMXCNAME, "MX host %s is an alias (CNAME)", h.Name)
		}
		if len(h.Addrs) == 0 {
			add(Bad, KeyMXNoAddress, "MX host %s has no A or AAAA record", h.Name)
		}
	}
	more := ""
	if len(mxs) > MaxMXHosts {
		more = fmt.Sprintf(" (and %d more, not checked)", len(mxs)-MaxMXHosts)
	}
	add(OK, KeyMXOK, "MX hosts of %s in preference order: %s%s", domain, strings.Join(names, ", "), more)
	return res
}

// host looks up the addresses of name.
func (c *Checker) host(ctx context.Context, name string, pref uint16) MXHost {
	h := MXHost{Name: name, Preference: pref, Security: resolver.Secure}
	for _, t := range []uint16{dns.TypeA, dns.TypeAAAA} {
		a, err := c.Resolver.Lookup(ctx, name, t)
		if err != nil {
			h.Security = resolver.Bogus
			continue
		}
		h.Answers = append(h.Answers, a)
		h.Alias = h.Alias || len(a.Chain) > 0
		h.Security = weaker(h.Security, a.Security)
		for _, rr := range a.Records {
			var ip netip.Addr
			switch x := rr.(type) {
			case *dns.A:
				ip, _ = netip.AddrFromSlice(x.A.To4())
			case *dns.AAAA:
				ip, _ = netip.AddrFromSlice(x.AAAA.To16())
			}
			if ip.IsValid() {
				h.Addrs = append(h.Addrs, ip)
			}
		}
	}
	return h
}

func weaker(a, b resolver.Security) resolver.Security {
	rank := map[resolver.Security]int{resolver.Secure: 0, resolver.Insecure: 1, resolver.Bogus: 2}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

func canon(n string) string { return dns.CanonicalName(n) }

func addrList(as []netip.Addr) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}
