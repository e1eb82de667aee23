// Package resolvertest serves a DNS hierarchy that a test builds and signs
// itself, on 127.0.0.1, answering as a recursive resolver would: every
// zone is served from one address, DS queries from the parent side, with
// RRSIG, NSEC and NSEC3 records when the query has the DO bit. It exists
// so that package resolver, and what is built on it, can be tested against
// real signatures without the network: secure zones, insecure delegations
// proven by NSEC or NSEC3 (opt-out too), and zones broken on purpose.
//
// It is a test helper, not a DNS server: zones are small, everything is
// signed once by Sign, and answers are built by walking the zone data.
package resolvertest

import (
	"crypto"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/mailwire/mailwire/sessions/resolver"
)

// Breakage is a defect a zone is signed with, for a bogus branch.
type Breakage int

const (
	// Intact: signed correctly.
	Intact Breakage = iota
	// Expired: every RRSIG of the zone expired a day before Now.
	Expired
	// BadSignature: every RRSIG except the DNSKEY RRset's has a flipped
	// byte.
	BadSignature
	// DSMismatch: the parent publishes a DS for another key.
	DSMismatch
)

// Zone is one zone of the hierarchy.
type Zone struct {
	Name string
	// Algorithm signs the zone; 0 leaves it unsigned.
	Algorithm uint8
	// NSEC3 denies with NSEC3 (SHA-1, Iterations, Salt) instead of NSEC;
	// OptOut sets the opt-out flag and leaves unsigned delegations out of
	// the chain (RFC 5155 §6).
	NSEC3      bool
	OptOut     bool
	Iterations uint16
	Salt       string
	// Break signs the zone with a defect.
	Break Breakage

	records []dns.RR
	secure  map[string]bool // delegations to signed children (DS published)
	kids    map[string]bool // delegation points
	ksk     *dns.DNSKEY
	zsk     *dns.DNSKEY
	kskPriv crypto.Signer
	zskPriv crypto.Signer
	rrsets  map[string]map[uint16][]dns.RR
	sigs    map[string]map[uint16][]dns.RR
	names   []string // canonical order, apex first, delegation points included, glue left out
	nsec3   []*dns.NSEC3
}

// Hierarchy is a set of zones and the server answering for them.
type Hierarchy struct {
	// Now is the time signatures are made around (inception an hour
	// before, expiration a day after).
	Now time.Time
	// TruncateUDP answers every UDP query with an empty, truncated
	// reply, so that the client must ask again over TCP.
	TruncateUDP bool
	// ServFail lists names (canonical) answered with SERVFAIL.
	ServFail map[string]bool
	// Tamper, when set, may rewrite each reply before it is sent: an
	// attacker on the path, who has no key.
	Tamper func(req, resp *dns.Msg)

	mu      sync.Mutex
	zones   map[string]*Zone
	queries int
}

// New returns an empty hierarchy.
func New(now time.Time) *Hierarchy {
	return &Hierarchy{Now: now, zones: map[string]*Zone{}, ServFail: map[string]bool{}}
}

// Zone adds a zone signed with alg (0: unsigned) and an SOA and NS at its
// apex.
func (h *Hierarchy) Zone(name string, alg uint8) *Zone {
	name = dns.CanonicalName(name)
	z := &Zone{Name: name, Algorithm: alg, secure: map[string]bool{}, kids: map[string]bool{}}
	h.zones[name] = z
	z.Add(fmt.Sprintf("%s 3600 IN SOA ns.%s hostmaster.%s 1 7200 3600 1209600 300", name, trimRoot(name), trimRoot(name)))
	z.Add(fmt.Sprintf("%s 3600 IN NS ns.%s", name, trimRoot(name)))
	return z
}

func trimRoot(n string) string {
	if n == "." {
		return ""
	}
	return n
}

// Add adds records in zone-file syntax, with full owner names.
func (z *Zone) Add(lines ...string) {
	for _, s := range lines {
		rr, err := dns.NewRR(s)
		if err != nil {
			panic(fmt.Sprintf("resolvertest: %q: %v", s, err))
		}
		z.AddRR(rr)
	}
}

// AddRR adds a record.
func (z *Zone) AddRR(rr dns.RR) {
	rr.Header().Name = dns.CanonicalName(rr.Header().Name)
	z.records = append(z.records, rr)
}

// Delegate makes child a zone cut of parent; a DS record is published
// when child is signed and secure is true.
func (h *Hierarchy) Delegate(parent, child *Zone, secure bool) {
	parent.Add(fmt.Sprintf("%s 3600 IN NS ns.%s", child.Name, child.Name))
	parent.kids[child.Name] = true
	if secure && child.Algorithm != 0 {
		parent.secure[child.Name] = true
	}
}

// Anchor returns the DS of the root zone's key signing key, the trust
// anchor for a resolver.Config. Sign must have run.
func (h *Hierarchy) Anchor() []*dns.DS {
	root := h.zones["."]
	if root == nil || root.ksk == nil {
		panic("resolvertest: no signed root; call Sign first")
	}
	return []*dns.DS{root.ksk.ToDS(dns.SHA256)}
}

// SetTamper sets Tamper while the server runs.
func (h *Hierarchy) SetTamper(f func(req, resp *dns.Msg)) {
	h.mu.Lock()
	h.Tamper = f
	h.mu.Unlock()
}

// Queries counts the queries answered.
func (h *Hierarchy) Queries() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.queries
}

// Sign makes keys and signs every zone; parents after their children, so
// that DS records follow the child's key.
func (h *Hierarchy) Sign() error {
	names := make([]string, 0, len(h.zones))
	for n := range h.zones {
		names = append(names, n)
	}
	// Deepest first: a parent's DS needs its child's key.
	slices.SortFunc(names, func(a, b string) int { return dns.CountLabel(b) - dns.CountLabel(a) })
	for _, n := range names {
		if err := h.zones[n].keys(); err != nil {
			return err
		}
	}
	for _, n := range names {
		z := h.zones[n]
		for kid := range z.secure {
			c := h.zones[kid]
			ds := c.ksk.ToDS(dns.SHA256)
			if c.Break == DSMismatch {
				other := &dns.DNSKEY{Hdr: c.ksk.Hdr, Flags: 257, Protocol: 3, Algorithm: c.ksk.Algorithm}
				if _, err := other.Generate(keyBits(other.Algorithm)); err != nil {
					return err
				}
				ds = other.ToDS(dns.SHA256)
			}
			ds.Hdr.Ttl = 3600
			z.AddRR(ds)
		}
	}
	for _, n := range names {
		if err := h.zones[n].sign(h.Now); err != nil {
			return fmt.Errorf("resolvertest: sign %s: %w", n, err)
		}
	}
	return nil
}

func keyBits(alg uint8) int {
	switch alg {
	case dns.RSASHA256, dns.RSASHA512, dns.RSASHA1, dns.RSASHA1NSEC3SHA1:
		return 1024
	case dns.ECDSAP384SHA384:
		return 384
	case dns.ED25519:
		return 256
	}
	return 256
}

func (z *Zone) keys() error {
	if z.Algorithm == 0 {
		return nil
	}
	gen := func(flags uint16) (*dns.DNSKEY, crypto.Signer, error) {
		k := &dns.DNSKEY{Hdr: dns.RR_Header{Name: z.Name, Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET, Ttl: 3600},
			Flags: flags, Protocol: 3, Algorithm: z.Algorithm}
		p, err := k.Generate(keyBits(z.Algorithm))
		if err != nil {
			return nil, nil, err
		}
		return k, p.(crypto.Signer), nil
	}
	var err error
	if z.ksk, z.kskPriv, err = gen(257); err != nil {
		return err
	}
	z.zsk, z.zskPriv, err = gen(256)
	if err != nil {
		return err
	}
	z.AddRR(z.ksk)
	z.AddRR(z.zsk)
	return nil
}

// below says whether name is strictly below a delegation point of z
// (glue, or data a parent has no authority for).
func (z *Zone) below(name string) bool {
	for kid := range z.kids {
		if name != kid && dns.IsSubDomain(kid, name) {
			return true
		}
	}
	return false
}

func (z *Zone) sign(now time.Time) error {
	z.rrsets = map[string]map[uint16][]dns.RR{}
	z.sigs = map[string]map[uint16][]dns.RR{}
	for _, rr := range z.records {
		h := rr.Header()
		if z.rrsets[h.Name] == nil {
			z.rrsets[h.Name] = map[uint16][]dns.RR{}
		}
		z.rrsets[h.Name][h.Rrtype] = append(z.rrsets[h.Name][h.Rrtype], rr)
	}
	for n := range z.rrsets {
		if !z.below(n) {
			z.names = append(z.names, n)
		}
	}
	slices.SortFunc(z.names, resolver.CompareNames)
	if z.Algorithm == 0 {
		return nil
	}
	if z.NSEC3 {
		z.buildNSEC3()
	} else {
		for i, n := range z.names {
			next := z.names[(i+1)%len(z.names)]
			types := []uint16{dns.TypeNSEC, dns.TypeRRSIG}
			for t := range z.rrsets[n] {
				types = append(types, t)
			}
			slices.Sort(types)
			z.AddRRset(&dns.NSEC{Hdr: dns.RR_Header{Name: n, Rrtype: dns.TypeNSEC, Class: dns.ClassINET, Ttl: 300},
				NextDomain: next, TypeBitMap: types})
		}
	}
	inception, expiration := now.Add(-time.Hour), now.Add(24*time.Hour)
	if z.Break == Expired {
		inception, expiration = now.Add(-72*time.Hour), now.Add(-24*time.Hour)
	}
	for n, byType := range z.rrsets {
		if z.below(n) {
			continue
		}
		for t, rrs := range byType {
			if z.kids[n] && t != dns.TypeDS && t != dns.TypeNSEC {
				continue // the parent does not sign a child's NS
			}
			key, priv := z.zsk, z.zskPriv
			if t == dns.TypeDNSKEY {
				key, priv = z.ksk, z.kskPriv
			}
			sig := &dns.RRSIG{Algorithm: z.Algorithm, SignerName: z.Name, KeyTag: key.KeyTag(),
				Inception: uint32(inception.Unix()), Expiration: uint32(expiration.Unix())}
			if err := sig.Sign(priv, rrs); err != nil {
				return err
			}
			if z.Break == BadSignature && t != dns.TypeDNSKEY {
				b := []byte(sig.Signature)
				if b[2] == 'A' {
					b[2] = 'B'
				} else {
					b[2] = 'A'
				}
				sig.Signature = string(b)
			}
			if z.sigs[n] == nil {
				z.sigs[n] = map[uint16][]dns.RR{}
			}
			z.sigs[n][t] = []dns.RR{sig}
		}
	}
	return nil
}

// AddRRset adds a generated record to the signed data.
func (z *Zone) AddRRset(rr dns.RR) {
	h := rr.Header()
	if z.rrsets[h.Name] == nil {
		z.rrsets[h.Name] = map[uint16][]dns.RR{}
	}
	z.rrsets[h.Name][h.Rrtype] = append(z.rrsets[h.Name][h.Rrtype], rr)
}

// buildNSEC3 hashes every name (and empty non-terminal) into the chain;
// with opt-out, unsigned delegations are left out.
func (z *Zone) buildNSEC3() {
	type entry struct {
		hash  string
		types []uint16
	}
	all := map[string][]uint16{}
	for _, n := range z.names {
		if z.OptOut && z.kids[n] && !z.secure[n] {
			continue
		}
		var types []uint16
		for t := range z.rrsets[n] {
			types = append(types, t)
		}
		if !z.kids[n] || z.secure[n] {
			types = append(types, dns.TypeRRSIG)
		}
		all[n] = types
		for p := n; p != z.Name; {
			i, end := dns.NextLabel(p, 0)
			if end {
				break
			}
			p = p[i:]
			if _, ok := all[p]; !ok && p != z.Name {
				all[p] = nil // an empty non-terminal
			}
		}
	}
	var es []entry
	for n, types := range all {
		slices.Sort(types)
		es = append(es, entry{dns.HashName(n, dns.SHA1, z.Iterations, z.Salt), types})
	}
	slices.SortFunc(es, func(a, b entry) int { return strings.Compare(a.hash, b.hash) })
	flags := uint8(0)
	if z.OptOut {
		flags = 1
	}
	salt := z.Salt
	for i, e := range es {
		next := es[(i+1)%len(es)].hash
		n3 := &dns.NSEC3{Hdr: dns.RR_Header{Name: strings.ToLower(e.hash) + "." + z.Name, Rrtype: dns.TypeNSEC3,
			Class: dns.ClassINET, Ttl: 300}, Hash: dns.SHA1, Flags: flags, Iterations: z.Iterations,
			SaltLength: uint8(len(salt) / 2), Salt: salt, HashLength: 20, NextDomain: next, TypeBitMap: e.types}
		if salt == "" {
			n3.Salt = ""
		}
		z.nsec3 = append(z.nsec3, n3)
		z.AddRRset(n3)
	}
}

// Serve answers on 127.0.0.1 (UDP and TCP on the same port) until the test
// ends, and returns the address.
func (h *Hierarchy) Serve(t testing.TB) string {
	t.Helper()
	// UDP and TCP on one port: take a UDP port, then try its TCP
	// twin, again with another port when something else holds it.
	var pc net.PacketConn
	var ln net.Listener
	for try := 0; ; try++ {
		var err error
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := pc.LocalAddr().(*net.UDPAddr).Port
		ln, err = net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			break
		}
		pc.Close()
		if try == 50 {
			t.Fatal(err)
		}
	}
	udp := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(h.handle)}
	tcp := &dns.Server{Listener: ln, Handler: dns.HandlerFunc(h.handle)}
	go udp.ActivateAndServe()
	go tcp.ActivateAndServe()
	t.Cleanup(func() {
		udp.Shutdown()
		tcp.Shutdown()
	})
	return pc.LocalAddr().String()
}

func (h *Hierarchy) handle(w dns.ResponseWriter, req *dns.Msg) {
	h.mu.Lock()
	h.queries++
	h.mu.Unlock()
	resp := new(dns.Msg)
	resp.SetReply(req)
	resp.RecursionAvailable = true
	if len(req.Question) != 1 {
		resp.Rcode = dns.RcodeFormatError
		w.WriteMsg(resp)
		return
	}
	q := req.Question[0]
	qname := dns.CanonicalName(q.Name)
	udp := w.LocalAddr().Network() == "udp"
	if udp && h.TruncateUDP {
		resp.Truncated = true
		w.WriteMsg(resp)
		return
	}
	do := false
	size := 512
	if opt := req.IsEdns0(); opt != nil {
		do = opt.Do()
		size = int(opt.UDPSize())
	}
	if h.ServFail[qname] {
		resp.Rcode = dns.RcodeServerFailure
	} else {
		h.answer(resp, qname, q.Qtype, do, 0)
	}
	if req.IsEdns0() != nil {
		resp.SetEdns0(4096, do)
	}
	h.mu.Lock()
	tamper := h.Tamper
	h.mu.Unlock()
	if tamper != nil {
		tamper(req, resp)
	}
	if udp {
		resp.Truncate(size)
	}
	w.WriteMsg(resp)
}

// zoneFor is the deepest zone at or above name; for a DS query at a zone
// apex, its parent.
func (h *Hierarchy) zoneFor(name string, qtype uint16) *Zone {
	var best *Zone
	for n, z := range h.zones {
		if !dns.IsSubDomain(n, name) {
			continue
		}
		if qtype == dns.TypeDS && n == name && n != "." {
			continue
		}
		if best == nil || dns.CountLabel(n) > dns.CountLabel(best.Name) {
			best = z
		}
	}
	return best
}

func (h *Hierarchy) answer(resp *dns.Msg, qname string, qtype uint16, do bool, depth int) {
	z := h.zoneFor(qname, qtype)
	if z == nil || depth > 8 {
		resp.Rcode = dns.RcodeServerFailure
		return
	}
	add := func(sec *[]dns.RR, n string, t uint16) {
		*sec = append(*sec, z.rrsets[n][t]...)
		if do {
			*sec = append(*sec, z.sigs[n][t]...)
		}
	}
	if rrs := z.rrsets[qname][qtype]; len(rrs) > 0 {
		add(&resp.Answer, qname, qtype)
		return
	}
	if c := z.rrsets[qname][dns.TypeCNAME]; len(c) > 0 {
		add(&resp.Answer, qname, dns.TypeCNAME)
		h.answer(resp, dns.CanonicalName(c[0].(*dns.CNAME).Target), qtype, do, depth+1)
		return
	}
	soa := func() { add(&resp.Ns, z.Name, dns.TypeSOA) }
	exists := z.rrsets[qname] != nil && !z.below(qname)
	ent := !exists && z.isENT(qname)
	if exists || ent {
		soa()
		if do {
			z.denyType(resp, qname)
		}
		return
	}
	// A wildcard at the closest encloser?
	ce := z.closestEncloser(qname)
	wild := "*." + ce
	if ce == "." {
		wild = "*."
	}
	if w := z.rrsets[wild]; w != nil {
		if rrs := w[qtype]; len(rrs) > 0 {
			for _, rr := range rrs {
				c := dns.Copy(rr)
				c.Header().Name = qname
				resp.Answer = append(resp.Answer, c)
			}
			if do {
				for _, s := range z.sigs[wild][qtype] {
					c := dns.Copy(s)
					c.Header().Name = qname
					resp.Answer = append(resp.Answer, c)
				}
				z.denyName(resp, qname, ce, false)
			}
			return
		}
		soa()
		if do {
			// A wildcard NODATA: the closest encloser proof and the
			// wildcard's own record (RFC 5155 §7.2.5).
			if z.NSEC3 {
				z.addSigned(&resp.Ns, z.nsec3Match(ce))
			}
			z.denyName(resp, qname, ce, false)
			z.denyType(resp, wild)
		}
		return
	}
	resp.Rcode = dns.RcodeNameError
	soa()
	if do {
		z.denyName(resp, qname, ce, true)
	}
}

func (z *Zone) isENT(name string) bool {
	for _, n := range z.names {
		if n != name && dns.IsSubDomain(name, n) {
			return true
		}
	}
	return false
}

// closestEncloser is the longest existing ancestor of name in the zone.
func (z *Zone) closestEncloser(name string) string {
	for p := name; ; {
		if (z.rrsets[p] != nil || z.isENT(p)) && dns.IsSubDomain(z.Name, p) {
			return p
		}
		i, end := dns.NextLabel(p, 0)
		if end || p == z.Name {
			return z.Name
		}
		p = p[i:]
	}
}

func (z *Zone) addSigned(sec *[]dns.RR, rr dns.RR) {
	if rr == nil {
		return
	}
	for _, x := range *sec {
		if x == rr {
			return
		}
	}
	h := rr.Header()
	*sec = append(*sec, rr)
	*sec = append(*sec, z.sigs[h.Name][h.Rrtype]...)
}

// denyType adds the NSEC/NSEC3 record matching name (NODATA).
func (z *Zone) denyType(resp *dns.Msg, name string) {
	if z.Algorithm == 0 {
		return
	}
	if !z.NSEC3 {
		if n := z.rrsets[name][dns.TypeNSEC]; len(n) > 0 {
			z.addSigned(&resp.Ns, n[0])
			return
		}
		z.addSigned(&resp.Ns, z.nsecCovering(name)) // an empty non-terminal
		return
	}
	if m := z.nsec3Match(name); m != nil {
		z.addSigned(&resp.Ns, m)
		return
	}
	// Not in the chain: an opt-out delegation; prove the closest
	// encloser and cover the next closer name.
	ce := z.closestProvable(name)
	z.addSigned(&resp.Ns, z.nsec3Match(ce))
	z.addSigned(&resp.Ns, z.nsec3Covering(nextCloser(name, ce)))
}

// denyName adds the proof that name does not exist and, for an
// NXDOMAIN, that no wildcard at its closest encloser does either.
func (z *Zone) denyName(resp *dns.Msg, name, ce string, noWildcard bool) {
	if z.Algorithm == 0 {
		return
	}
	if !z.NSEC3 {
		z.addSigned(&resp.Ns, z.nsecCovering(name))
		if noWildcard {
			z.addSigned(&resp.Ns, z.nsecCovering("*."+ce))
		}
		return
	}
	if noWildcard {
		z.addSigned(&resp.Ns, z.nsec3Match(ce))
	}
	z.addSigned(&resp.Ns, z.nsec3Covering(nextCloser(name, ce)))
	if noWildcard {
		z.addSigned(&resp.Ns, z.nsec3Covering("*."+ce))
	}
}

func nextCloser(name, ce string) string {
	for p := name; ; {
		i, end := dns.NextLabel(p, 0)
		if end || p[i:] == ce {
			return p
		}
		p = p[i:]
	}
}

func (z *Zone) closestProvable(name string) string {
	for p := name; ; {
		if z.nsec3Match(p) != nil {
			return p
		}
		i, end := dns.NextLabel(p, 0)
		if end {
			return z.Name
		}
		p = p[i:]
	}
}

func (z *Zone) nsecCovering(name string) dns.RR {
	var best dns.RR
	for _, n := range z.names {
		if resolver.CompareNames(n, name) < 0 {
			if nsec := z.rrsets[n][dns.TypeNSEC]; len(nsec) > 0 {
				best = nsec[0]
			}
		}
	}
	if best == nil {
		best = z.rrsets[z.names[len(z.names)-1]][dns.TypeNSEC][0]
	}
	return best
}

func (z *Zone) nsec3Match(name string) dns.RR {
	for _, n := range z.nsec3 {
		if n.Match(name) {
			return n
		}
	}
	return nil
}

func (z *Zone) nsec3Covering(name string) dns.RR {
	for _, n := range z.nsec3 {
		if n.Cover(name) && !n.Match(name) {
			return n
		}
	}
	return nil
}
