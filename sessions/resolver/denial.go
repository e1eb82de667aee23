package resolver

import (
	"fmt"

	"github.com/miekg/dns"
)

// proof holds the NSEC and NSEC3 records of a reply's authority section
// whose signatures verified with the keys of the zone responsible.
type proof struct {
	nsec  []*dns.NSEC
	nsec3 []*dns.NSEC3
}

// proofRecords verifies every NSEC and NSEC3 RRset of msg's authority
// section with the keys of z and keeps those that verify. Records that do
// not verify are left out (a forged record must not spoil a good proof);
// the returned verdict says why, for when the proof turns out incomplete.
// An NSEC3 record with too many iterations makes the verdict Insecure
// (RFC 9276 §3.2); one with an unknown hash or flags is ignored (RFC 5155
// §8.1, §8.2).
func (l *lookup) proofRecords(msg *dns.Msg, z *zone) (proof, verdict) {
	var p proof
	v := secure(z.name)
	seen := map[string]bool{}
	for _, rr := range msg.Ns {
		h := rr.Header()
		if h.Rrtype != dns.TypeNSEC && h.Rrtype != dns.TypeNSEC3 {
			continue
		}
		owner := canon(h.Name)
		key := owner + "/" + dns.TypeToString[h.Rrtype]
		if seen[key] || !isUnder(owner, z.name) {
			continue
		}
		seen[key] = true
		rrs, sigs := rrset(msg.Ns, owner, h.Rrtype)
		if len(rrs) != 1 {
			continue // an NSEC or NSEC3 RRset holds one record
		}
		if n3, ok := rrs[0].(*dns.NSEC3); ok {
			if n3.Hash != dns.SHA1 || n3.Flags > 1 || !sameName(parent(owner), z.name) {
				continue
			}
		}
		if _, sv := l.verify(rrs, sigs, z); sv.sec != Secure {
			v = worse(v, sv)
			continue
		}
		switch x := rrs[0].(type) {
		case *dns.NSEC:
			p.nsec = append(p.nsec, x)
		case *dns.NSEC3:
			if x.Iterations > MaxNSEC3Iterations {
				return p, insecure(NSEC3Iterations, z.name, "%s uses NSEC3 with %d extra iterations (more than %d)",
					presentation(z.name), x.Iterations, MaxNSEC3Iterations)
			}
			p.nsec3 = append(p.nsec3, x)
		}
	}
	return p, v
}

// usableFor says whether an NSEC/NSEC3 record at owner with bitmap may
// deny anything about name: not when owner is a delegation (NS without
// SOA) above name, nor a DNAME above name (RFC 6840 §4.1).
func usableFor(owner string, bitmap []uint16, name string) bool {
	if sameName(owner, name) || !isUnder(name, owner) {
		return true
	}
	if hasType(bitmap, dns.TypeNS) && !hasType(bitmap, dns.TypeSOA) {
		return false
	}
	return !hasType(bitmap, dns.TypeDNAME)
}

// nsecMatch returns the NSEC owned by name.
func (p proof) nsecMatch(name string) *dns.NSEC {
	for _, n := range p.nsec {
		if sameName(n.Hdr.Name, name) {
			return n
		}
	}
	return nil
}

// nsecCover returns an NSEC proving that name does not exist: its owner
// sorts before name and its next name after it in the canonical order of
// RFC 4034 §6.1, the last NSEC of the zone wrapping round to the apex.
func (p proof) nsecCover(name, zoneName string) *dns.NSEC {
	for _, n := range p.nsec {
		owner, next := canon(n.Hdr.Name), canon(n.NextDomain)
		if !isUnder(next, zoneName) || !usableFor(owner, n.TypeBitMap, name) {
			continue
		}
		if CompareNames(owner, name) >= 0 {
			continue
		}
		if CompareNames(owner, next) < 0 && CompareNames(name, next) >= 0 {
			continue
		}
		return n
	}
	return nil
}

// nsecClosestEncloser is the closest encloser an NSEC covering name
// implies: the longest ancestor of name that its owner or next name is,
// or is under.
func nsecClosestEncloser(n *dns.NSEC, name string) string {
	a, b := commonAncestor(name, n.Hdr.Name), commonAncestor(name, n.NextDomain)
	if labels(b) > labels(a) {
		return b
	}
	return a
}

func (p proof) nsec3Match(name, zoneName string) *dns.NSEC3 {
	for _, n := range p.nsec3 {
		if n.Match(name) {
			return n
		}
	}
	return nil
}

// nsec3Cover returns an NSEC3 whose hash interval holds name's hash.
// miekg/dns's Cover also counts the owner's own hash as covered; a record
// matching name proves that it exists, so it is excluded here.
func (p proof) nsec3Cover(name, zoneName string) *dns.NSEC3 {
	for _, n := range p.nsec3 {
		if n.Cover(name) && !n.Match(name) {
			return n
		}
	}
	return nil
}

// closestEncloser finds the closest provable encloser of name (RFC 5155
// §8.3): an ancestor matched by an NSEC3 whose child on the way to name is
// covered by one. It returns the encloser, the "next closer" name and the
// NSEC3 covering it.
func (p proof) closestEncloser(name, zoneName string) (string, string, *dns.NSEC3, string) {
	sname := canon(name)
	flag := false
	var nc string
	var ncRR *dns.NSEC3
	for {
		if m := p.nsec3Match(sname, zoneName); m != nil {
			if sname == canon(name) {
				return "", "", nil, fmt.Sprintf("an NSEC3 record says %s exists", presentation(name))
			}
			if !flag {
				return "", "", nil, fmt.Sprintf("no NSEC3 record covers the name below %s", presentation(sname))
			}
			if hasType(m.TypeBitMap, dns.TypeDNAME) || hasType(m.TypeBitMap, dns.TypeNS) && !hasType(m.TypeBitMap, dns.TypeSOA) {
				return "", "", nil, fmt.Sprintf("the closest encloser %s is a delegation or a DNAME", presentation(sname))
			}
			return sname, nc, ncRR, ""
		}
		if c := p.nsec3Cover(sname, zoneName); c != nil {
			flag, nc, ncRR = true, sname, c
		} else {
			flag = false
		}
		if sname == canon(zoneName) || sname == "." {
			return "", "", nil, fmt.Sprintf("no NSEC3 closest encloser proof for %s", presentation(name))
		}
		sname = parent(sname)
	}
}

// nameError checks the proof of an NXDOMAIN: name is covered and no
// wildcard at its closest encloser could have answered (RFC 4035 §5.4,
// RFC 5155 §8.4). optOut reports an NSEC3 proof whose next closer name
// lies in an opt-out span, which proves nothing about unsigned
// delegations there and is not secure (RFC 5155 §9.2).
func (p proof) nameError(name, zoneName string) (ok, optOut bool, why string) {
	if c := p.nsecCover(name, zoneName); c != nil {
		ce := nsecClosestEncloser(c, name)
		if !isUnder(ce, zoneName) {
			return false, false, "the covering NSEC lies outside the zone"
		}
		if p.nsecCover("*."+ce, zoneName) != nil {
			return true, false, ""
		}
		return false, false, fmt.Sprintf("no NSEC proves that *.%s does not exist", presentation(ce))
	}
	if len(p.nsec3) > 0 {
		ce, _, nc, why := p.closestEncloser(name, zoneName)
		if ce == "" {
			return false, false, why
		}
		if p.nsec3Cover("*."+ce, zoneName) != nil {
			return true, nc.Flags&1 == 1, ""
		}
		return false, false, fmt.Sprintf("no NSEC3 covers the wildcard *.%s", presentation(ce))
	}
	return false, false, "no NSEC or NSEC3 record covers the name"
}

// noData checks the proof of a NODATA answer for name/qtype: the name
// exists without that type and without a CNAME (RFC 4035 §5.4, RFC 6840
// §4.3, RFC 5155 §8.5 to §8.7). optOut reports a DS query answered by an
// opt-out span (RFC 5155 §8.6).
func (p proof) noData(name string, qtype uint16, zoneName string) (ok, optOut bool, why string) {
	typesOK := func(bitmap []uint16) (bool, string) {
		if hasType(bitmap, qtype) {
			return false, fmt.Sprintf("the denial lists %s at the name", dns.TypeToString[qtype])
		}
		if hasType(bitmap, dns.TypeCNAME) {
			return false, "the denial lists a CNAME at the name"
		}
		if qtype != dns.TypeDS && hasType(bitmap, dns.TypeNS) && !hasType(bitmap, dns.TypeSOA) {
			return false, "the denial comes from the parent side of a delegation"
		}
		return true, ""
	}
	if m := p.nsecMatch(name); m != nil {
		ok, why := typesOK(m.TypeBitMap)
		return ok, false, why
	}
	if c := p.nsecCover(name, zoneName); c != nil {
		if isUnder(c.NextDomain, name) {
			return true, false, "" // an empty non-terminal
		}
		ce := nsecClosestEncloser(c, name)
		if w := p.nsecMatch("*." + ce); w != nil {
			ok, why := typesOK(w.TypeBitMap)
			return ok, false, why
		}
		return false, false, fmt.Sprintf("no NSEC at the wildcard *.%s", presentation(ce))
	}
	if m := p.nsec3Match(name, zoneName); m != nil {
		ok, why := typesOK(m.TypeBitMap)
		return ok, false, why
	}
	if len(p.nsec3) > 0 {
		ce, _, nc, why := p.closestEncloser(name, zoneName)
		if ce == "" {
			return false, false, why
		}
		if qtype == dns.TypeDS && nc.Flags&1 == 1 {
			return true, true, ""
		}
		if w := p.nsec3Match("*."+ce, zoneName); w != nil {
			ok, why := typesOK(w.TypeBitMap)
			return ok, ok && nc.Flags&1 == 1, why
		}
		return false, false, fmt.Sprintf("no NSEC3 at the wildcard *.%s", presentation(ce))
	}
	return false, false, "no NSEC or NSEC3 record in the answer"
}

// denialKind is what a NODATA answer to a DS query says about a name.
type denialKind int

const (
	denialBogus       denialKind = iota
	denialInsecureCut            // a delegation without DS
	denialOptOut                 // in an opt-out span: maybe an unsigned delegation
	denialNotCut                 // the name exists (or is an empty non-terminal), no delegation
	denialNoName                 // the name does not exist
)

// dsDenial reads the proof of a NODATA answer to a DS query for child
// (RFC 4035 §5.2, RFC 6840 §4.4, RFC 5155 §8.6 and §8.9): the NS bit
// without DS and SOA proves an insecure delegation; a matching record
// without NS proves that child is not a delegation.
func (p proof) dsDenial(child, zoneName string) (denialKind, string) {
	bits := func(b []uint16) (denialKind, string) {
		switch {
		case hasType(b, dns.TypeDS):
			return denialBogus, "the denial lists a DS record"
		case hasType(b, dns.TypeSOA):
			return denialBogus, "the denial comes from the child zone, not its parent"
		case hasType(b, dns.TypeNS):
			return denialInsecureCut, ""
		}
		return denialNotCut, ""
	}
	if m := p.nsecMatch(child); m != nil {
		return bits(m.TypeBitMap)
	}
	if c := p.nsecCover(child, zoneName); c != nil {
		if isUnder(c.NextDomain, child) {
			return denialNotCut, ""
		}
		return denialNoName, ""
	}
	if m := p.nsec3Match(child, zoneName); m != nil {
		return bits(m.TypeBitMap)
	}
	if len(p.nsec3) > 0 {
		ce, _, nc, why := p.closestEncloser(child, zoneName)
		if ce == "" {
			return denialBogus, why
		}
		if nc.Flags&1 == 1 {
			return denialOptOut, ""
		}
		return denialNoName, ""
	}
	return denialBogus, "no NSEC or NSEC3 record in the answer"
}

// wildcardAnswer checks that owner, answered from the wildcard wild, does
// not exist itself (RFC 4035 §5.3.4, RFC 5155 §8.8).
func (p proof) wildcardAnswer(owner, wild, zoneName string) bool {
	if p.nsecCover(owner, zoneName) != nil {
		return true
	}
	ce := parent(wild)
	if labels(owner) <= labels(ce) {
		return false
	}
	nc := suffix(owner, labels(ce)+1)
	return p.nsec3Cover(nc, zoneName) != nil
}
