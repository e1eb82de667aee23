// Package resolver is a validating stub resolver: it asks a recursive
// resolver for records and checks the DNSSEC chain of trust itself, from a
// configured trust anchor (the root KSKs by default) down to the answer.
//
// Why validate here instead of reading the resolver's AD bit: the AD bit is
// one unsigned bit in the reply of a resolver that is usually reached over
// plain UDP. Anyone on the path between mailwire and that resolver can set
// it on a forged answer, so a stub MUST NOT rely on it unless it reaches a
// trusted resolver over a secure channel (RFC 4035 §4.9.3); a validating
// stub ignores it. Every query is therefore sent with the DO bit (send the
// RRSIG, NSEC and NSEC3 records, RFC 4035 §3.2.1) and the CD bit (do not
// filter out what fails validation upstream, so that mailwire can say why:
// RFC 4035 §3.2.2, RFC 6840 §5.9), and everything in a reply is treated as
// hostile input: checked against the question, bounded in size and count,
// and believed only as far as a signature chain from the anchor carries it.
//
// A Resolver holds a cache for its lifetime (one scan); it is safe for
// concurrent use. Nothing in this package prints: the Detail strings of an
// Answer hold names in DNS presentation format, in which every unprintable
// byte is escaped (\DDD), so they are safe for a terminal.
package resolver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

const (
	// udpSize is the EDNS0 buffer size advertised: 1232 bytes, the value
	// of DNS Flag Day 2020, which fits an IPv6 packet without
	// fragmentation. A larger answer comes back truncated (TC) and is
	// asked again over TCP (RFC 7766 §5), where a message is at most
	// 65535 bytes by its length prefix.
	udpSize = 1232
	// DefaultTimeout bounds one query (both transports together).
	DefaultTimeout = 3 * time.Second
	// MaxQueries bounds the queries one Lookup may send: the chain walk
	// asks a DS query per label and a DNSKEY query per zone, and a CNAME
	// chain starts a walk per target.
	MaxQueries = 80
	// MaxCNAMEs bounds the aliases followed from one name.
	MaxCNAMEs = 8
	// MaxNSEC3Iterations: NSEC3 records with more extra hash iterations
	// are not evaluated (hashing is the validator's cost, chosen by the
	// zone); the answer is treated as insecure, as RFC 9276 §3.2 allows.
	MaxNSEC3Iterations = 150
	// maxCache bounds the replies kept per Resolver.
	maxCache = 2048
	// maxRecords bounds the records of one reply that are looked at.
	maxRecords = 512
)

// Config says which resolver to ask and what to trust.
type Config struct {
	// Server is the recursive resolver, "host:port" or "host" (port 53).
	// Empty means the first nameserver of ResolvConf.
	Server string
	// ResolvConf is the file the system resolver is read from when Server
	// is empty; empty means /etc/resolv.conf.
	ResolvConf string
	// Anchors are the trust anchors, as DS records for the root or any
	// other zone; nil means RootAnchors(). Names at or under an anchor's
	// owner are validated from it.
	Anchors []*dns.DS
	// Timeout bounds one query; zero means DefaultTimeout.
	Timeout time.Duration
	// Now is the clock signatures are checked against; nil means
	// time.Now.
	Now func() time.Time
}

// Resolver is a validating stub resolver.
type Resolver struct {
	server  string
	anchors []*dns.DS
	timeout time.Duration
	now     func() time.Time

	mu    sync.Mutex
	cache map[qkey]*dns.Msg
	cuts  map[string]*cutResult
	roots map[string]*zone
}

type qkey struct {
	name  string
	qtype uint16
}

// New returns a Resolver for cfg.
func New(cfg Config) (*Resolver, error) {
	server := cfg.Server
	if server == "" {
		path := cfg.ResolvConf
		if path == "" {
			path = "/etc/resolv.conf"
		}
		cc, err := dns.ClientConfigFromFile(path)
		if err != nil {
			return nil, fmt.Errorf("resolver: read the system resolver from %s: %w", path, err)
		}
		if len(cc.Servers) == 0 {
			return nil, fmt.Errorf("resolver: %s names no nameserver", path)
		}
		server = net.JoinHostPort(cc.Servers[0], cc.Port)
	} else if _, _, err := net.SplitHostPort(server); err != nil {
		server = net.JoinHostPort(strings.Trim(server, "[]"), "53")
	}
	anchors := cfg.Anchors
	if anchors == nil {
		anchors = RootAnchors()
	}
	if len(anchors) == 0 {
		return nil, errors.New("resolver: no trust anchor")
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Resolver{
		server: server, anchors: anchors, timeout: timeout, now: now,
		cache: map[qkey]*dns.Msg{}, cuts: map[string]*cutResult{}, roots: map[string]*zone{},
	}, nil
}

// Server is the address of the recursive resolver asked.
func (r *Resolver) Server() string { return r.server }

// RcodeError is a reply whose RCODE is neither NOERROR nor NXDOMAIN: the
// resolver could not answer (SERVFAIL), refused, or failed otherwise.
// DANE gives SERVFAIL on a TLSA lookup a meaning of its own (RFC 7672
// §2.1.1), so callers can tell it apart with errors.As.
type RcodeError struct {
	Name  string
	Type  uint16
	Rcode int
}

func (e *RcodeError) Error() string {
	return fmt.Sprintf("%s for %s %s", rcodeName(e.Rcode), e.Name, dns.TypeToString[e.Type])
}

// IsServFail says whether err is (or wraps) a SERVFAIL reply.
func IsServFail(err error) bool {
	var re *RcodeError
	return errors.As(err, &re) && re.Rcode == dns.RcodeServerFailure
}

func rcodeName(rc int) string {
	if s, ok := dns.RcodeToString[rc]; ok {
		return s
	}
	return fmt.Sprintf("RCODE %d", rc)
}

// errBudget is returned when a Lookup needed more than MaxQueries queries.
var errBudget = fmt.Errorf("resolver: more than %d queries for one lookup", MaxQueries)

// query asks the resolver for name/qtype with DO and CD set, over UDP and
// again over TCP when the reply is truncated. The reply is checked against
// the question; NOERROR and NXDOMAIN replies are returned (and cached),
// any other RCODE is an *RcodeError.
func (l *lookup) query(name string, qtype uint16) (*dns.Msg, error) {
	name = dns.CanonicalName(name)
	k := qkey{name, qtype}
	r := l.r
	r.mu.Lock()
	m, ok := r.cache[k]
	r.mu.Unlock()
	if ok {
		return m, nil
	}
	if l.budget <= 0 {
		return nil, errBudget
	}
	l.budget--

	q := new(dns.Msg)
	q.SetQuestion(name, qtype)
	q.RecursionDesired = true
	q.CheckingDisabled = true
	q.SetEdns0(udpSize, true)

	ctx, cancel := context.WithTimeout(l.ctx, r.timeout)
	defer cancel()
	c := &dns.Client{Net: "udp", UDPSize: udpSize, Timeout: r.timeout}
	resp, _, err := c.ExchangeContext(ctx, q, r.server)
	if err == nil && resp.Truncated {
		c = &dns.Client{Net: "tcp", Timeout: r.timeout}
		resp, _, err = c.ExchangeContext(ctx, q, r.server)
	}
	if err != nil {
		return nil, fmt.Errorf("resolver: query %s %s at %s: %w", name, dns.TypeToString[qtype], r.server, err)
	}
	if err := checkReply(q, resp); err != nil {
		return nil, fmt.Errorf("resolver: query %s %s at %s: %w", name, dns.TypeToString[qtype], r.server, err)
	}
	if resp.Rcode != dns.RcodeSuccess && resp.Rcode != dns.RcodeNameError {
		return nil, &RcodeError{Name: name, Type: qtype, Rcode: resp.Rcode}
	}
	r.mu.Lock()
	if len(r.cache) < maxCache {
		r.cache[k] = resp
	}
	r.mu.Unlock()
	return resp, nil
}

// checkReply rejects a reply that does not answer the question asked
// (miekg/dns has already matched the message ID), and trims sections past
// maxRecords so that no later loop is driven by the peer's counts.
func checkReply(q, resp *dns.Msg) error {
	if !resp.Response || resp.Opcode != dns.OpcodeQuery {
		return errors.New("the reply is not a response to a query")
	}
	if len(resp.Question) != 1 {
		return fmt.Errorf("the reply carries %d questions", len(resp.Question))
	}
	got, want := resp.Question[0], q.Question[0]
	if !strings.EqualFold(got.Name, want.Name) || got.Qtype != want.Qtype || got.Qclass != want.Qclass {
		return fmt.Errorf("the reply answers another question (%s)", got.String())
	}
	total := 0
	for _, sec := range []*[]dns.RR{&resp.Answer, &resp.Ns, &resp.Extra} {
		if total+len(*sec) > maxRecords {
			*sec = (*sec)[:maxRecords-total]
		}
		total += len(*sec)
	}
	return nil
}
