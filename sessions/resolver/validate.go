package resolver

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Security is the DNSSEC status of an answer (RFC 4035 §4.3).
type Security string

const (
	// Secure: every RRset of the answer (or the proof that there is
	// none) verified along an unbroken chain of DS and DNSKEY records from
	// a trust anchor.
	Secure Security = "secure"
	// Insecure: the chain of trust ends in a signed proof that a
	// delegation on the way has no DS record (or could not be evaluated,
	// see Reason): the data is unsigned, and mailwire cannot tell it from
	// a forgery.
	Insecure Security = "insecure"
	// Bogus: a chain of trust should lead here and does not: a signature
	// is missing, expired, does not verify, or a key does not match its
	// DS. A validating resolver answers SERVFAIL instead.
	Bogus Security = "bogus"
)

// Reason says why an answer is not Secure; it is the last segment of the
// answer's annotation key (Answer.Key).
type Reason string

const (
	// NoDS: a delegation was proven to have no DS record (RFC 4035 §5.2).
	NoDS Reason = "no_ds"
	// OptOut: the delegation lies in an NSEC3 opt-out span, which does
	// not say whether it is signed (RFC 5155 §6).
	OptOut Reason = "opt_out"
	// UnsupportedAlgorithm: every DS of a delegation names an algorithm
	// or digest mailwire does not implement (RFC 4035 §5.2, RFC 6840
	// §5.2).
	UnsupportedAlgorithm Reason = "unsupported_algorithm"
	// NSEC3Iterations: a proof used NSEC3 with more than
	// MaxNSEC3Iterations extra iterations (RFC 9276 §3.2).
	NSEC3Iterations Reason = "nsec3_iterations"

	// NoSignature: an RRset that must be signed came without an RRSIG.
	NoSignature Reason = "no_signature"
	// BadSignature: an RRSIG did not verify against its key.
	BadSignature Reason = "bad_signature"
	// SignatureExpired: every RRSIG's validity period ended.
	SignatureExpired Reason = "signature_expired"
	// SignatureNotYetValid: every RRSIG's validity period is in the
	// future.
	SignatureNotYetValid Reason = "signature_not_yet_valid"
	// NoKey: no DNSKEY of the zone has the RRSIG's key tag and algorithm.
	NoKey Reason = "no_key"
	// WrongZone: the RRSIG was made by another zone than the one the
	// chain walk found responsible for the name.
	WrongZone Reason = "wrong_zone"
	// DSMismatch: no DNSKEY of the zone matches a DS record of its
	// parent, or the matching key did not sign the DNSKEY RRset.
	DSMismatch Reason = "ds_mismatch"
	// AnchorMismatch: no key of the anchored zone matches the trust
	// anchor.
	AnchorMismatch Reason = "anchor_mismatch"
	// BadDenial: a negative answer came without a valid NSEC or NSEC3
	// proof (RFC 4035 §5.4, RFC 5155 §8).
	BadDenial Reason = "bad_denial"
)

// Key is the annotation key of a status and reason: "dnssec.secure",
// "dnssec.insecure.no_ds", "dnssec.bogus.signature_expired".
func Key(s Security, why Reason) string {
	if s == Secure || why == "" {
		return "dnssec." + string(s)
	}
	return "dnssec." + string(s) + "." + string(why)
}

// Answer is the result of one Lookup.
type Answer struct {
	// Name and Type are the question (Name canonical: lower case, fully
	// qualified).
	Name string
	Type uint16
	// Rcode is NOERROR (with Records, or none: NODATA) or NXDOMAIN.
	Rcode int
	// Records are the records of Type at the end of the alias chain.
	Records []dns.RR
	// Chain lists the aliases followed (CNAME and DNAME targets), in
	// order; empty when Name answered directly.
	Chain []string
	// Security is the weakest status of every step of the answer, its
	// alias chain and its denial proof.
	Security Security
	// Reason says why Security is not Secure.
	Reason Reason
	// Zone is the zone whose keys signed the answer (for a secure
	// answer), or the name where the chain of trust ended.
	Zone string
	// Detail says in one line what the status rests on: the zone, key
	// tag, dates. Names are in presentation format (escaped).
	Detail string
}

// Key is the annotation key of the answer's status.
func (a *Answer) Key() string { return Key(a.Security, a.Reason) }

// Exists says whether the name exists (NOERROR).
func (a *Answer) Exists() bool { return a.Rcode == dns.RcodeSuccess }

// verdict is an intermediate status with its reason and detail.
type verdict struct {
	sec    Security
	why    Reason
	zone   string
	detail string
}

func secure(zone string) verdict { return verdict{sec: Secure, zone: zone} }

func bogus(why Reason, zone, format string, args ...any) verdict {
	return verdict{sec: Bogus, why: why, zone: zone, detail: fmt.Sprintf(format, args...)}
}

func insecure(why Reason, zone, format string, args ...any) verdict {
	return verdict{sec: Insecure, why: why, zone: zone, detail: fmt.Sprintf(format, args...)}
}

// worse keeps the weaker of two verdicts: bogus over insecure over secure;
// of two equal, the first.
func worse(a, b verdict) verdict {
	rank := map[Security]int{Secure: 0, Insecure: 1, Bogus: 2}
	if rank[b.sec] > rank[a.sec] {
		return b
	}
	return a
}

// zone is the state of a zone on the chain of trust.
type zone struct {
	name string
	v    verdict
	keys []*dns.DNSKEY // the zone's validated DNSKEY RRset, when secure
}

// lookup is one Lookup's state: its query budget and clock.
type lookup struct {
	r      *Resolver
	ctx    context.Context
	budget int
	now    time.Time
}

// Lookup asks for name/qtype and validates the answer from the trust
// anchor. NXDOMAIN and NODATA are answers (Rcode, no Records), each with
// its proof checked; an error means no answer could be had (transport,
// an RCODE other than NOERROR/NXDOMAIN as *RcodeError, the query budget).
func (r *Resolver) Lookup(ctx context.Context, name string, qtype uint16) (*Answer, error) {
	if _, ok := dns.IsDomainName(name); !ok {
		return nil, fmt.Errorf("resolver: %q is not a domain name", name)
	}
	l := &lookup{r: r, ctx: ctx, budget: MaxQueries, now: r.now()}
	return l.resolve(canon(name), qtype)
}

func (l *lookup) resolve(name string, qtype uint16) (*Answer, error) {
	ans := &Answer{Name: name, Type: qtype}
	v := secure("")
	walk := name
	for hop := 0; ; hop++ {
		if hop > MaxCNAMEs {
			return nil, fmt.Errorf("resolver: %s: more than %d aliases", name, MaxCNAMEs)
		}
		z, err := l.zoneFor(walk)
		if err != nil {
			return nil, err
		}
		msg, err := l.query(walk, qtype)
		if err != nil {
			return nil, err
		}
		ans.Rcode = msg.Rcode
		ans.Zone = z.name

		// The records of the question itself.
		if rrs, sigs := rrset(msg.Answer, walk, qtype); len(rrs) > 0 {
			v = worse(v, l.positive(z, msg, walk, qtype, rrs, sigs))
			ans.Records = rrs
			ans.Rcode = dns.RcodeSuccess
			return finish(ans, v), nil
		}
		// An alias: follow it, in its own zone.
		if rrs, sigs := rrset(msg.Answer, walk, dns.TypeCNAME); len(rrs) == 1 && qtype != dns.TypeCNAME {
			v = worse(v, l.positive(z, msg, walk, dns.TypeCNAME, rrs, sigs))
			walk = canon(rrs[0].(*dns.CNAME).Target)
			ans.Chain = append(ans.Chain, walk)
			continue
		}
		if target, dv, ok := l.dname(msg, walk); ok {
			v = worse(v, dv)
			walk = target
			ans.Chain = append(ans.Chain, walk)
			continue
		}
		// No data: NODATA or NXDOMAIN, with its proof.
		v = worse(v, l.negative(z, msg, walk, qtype))
		return finish(ans, v), nil
	}
}

func finish(a *Answer, v verdict) *Answer {
	a.Security, a.Reason, a.Detail = v.sec, v.why, v.detail
	if v.zone != "" {
		a.Zone = v.zone
	}
	if v.sec == Secure {
		a.Reason, a.Detail = "", "signed by "+presentation(a.Zone)+", chain of trust verified from the anchor"
	}
	return a
}

// positive validates an RRset of the answer section in zone z, and, when
// its signature says it was expanded from a wildcard, the proof that the
// name itself does not exist (RFC 4035 §5.3.4, RFC 5155 §8.8).
func (l *lookup) positive(z *zone, msg *dns.Msg, owner string, t uint16, rrs []dns.RR, sigs []*dns.RRSIG) verdict {
	if z.v.sec != Secure {
		return z.v
	}
	wild, v := l.verify(rrs, sigs, z)
	if v.sec != Secure || wild == "" {
		return v
	}
	p, pv := l.proofRecords(msg, z)
	if pv.sec == Insecure {
		return pv
	}
	if p.wildcardAnswer(owner, wild, z.name) {
		return v
	}
	return worse(bogus(BadDenial, z.name, "%s %s was expanded from %s without proof that %s does not exist",
		presentation(owner), dns.TypeToString[t], presentation(wild), presentation(owner)), pv)
}

// dname follows a DNAME in the answer whose owner is an ancestor of name
// (RFC 6672 §3.2): the synthesized CNAME is unsigned, the DNAME is what is
// validated.
func (l *lookup) dname(msg *dns.Msg, name string) (string, verdict, bool) {
	for _, rr := range msg.Answer {
		d, ok := rr.(*dns.DNAME)
		if !ok || sameName(d.Hdr.Name, name) || !isUnder(name, d.Hdr.Name) {
			continue
		}
		rrs, sigs := rrset(msg.Answer, canon(d.Hdr.Name), dns.TypeDNAME)
		z, err := l.zoneFor(canon(d.Hdr.Name))
		if err != nil {
			return "", bogus(NoSignature, "", "DNAME %s: %v", presentation(d.Hdr.Name), err), true
		}
		v := z.v
		if v.sec == Secure {
			_, v = l.verify(rrs, sigs, z)
		}
		owner := canon(d.Hdr.Name)
		target := strings.TrimSuffix(name, owner) + canon(d.Target)
		if canon(d.Target) == "." {
			target = strings.TrimSuffix(name, owner)
		}
		if _, ok := dns.IsDomainName(target); !ok || len(target) > 255 {
			return "", bogus(BadSignature, z.name, "DNAME %s makes an invalid name", presentation(owner)), true
		}
		return canon(target), v, true
	}
	return "", verdict{}, false
}

// negative validates a NODATA or NXDOMAIN answer for name/qtype in zone z.
func (l *lookup) negative(z *zone, msg *dns.Msg, name string, qtype uint16) verdict {
	if z.v.sec != Secure {
		return z.v
	}
	p, pv := l.proofRecords(msg, z)
	if pv.sec == Insecure {
		return pv
	}
	var ok, optOut bool
	var why string
	if msg.Rcode == dns.RcodeNameError {
		ok, optOut, why = p.nameError(name, z.name)
	} else {
		ok, optOut, why = p.noData(name, qtype, z.name)
	}
	if ok && optOut {
		return insecure(OptOut, z.name, "the proof for %s rests on an NSEC3 opt-out span of %s", presentation(name),
			presentation(z.name))
	}
	if ok {
		return secure(z.name)
	}
	return worse(bogus(BadDenial, z.name, "no valid proof that %s %s does not exist: %s",
		presentation(name), dns.TypeToString[qtype], why), pv)
}

// rrset collects the records of type t owned by name in rrs, and the RRSIGs
// covering them.
func rrset(rrs []dns.RR, name string, t uint16) ([]dns.RR, []*dns.RRSIG) {
	var out []dns.RR
	var sigs []*dns.RRSIG
	for _, rr := range rrs {
		h := rr.Header()
		if h.Class != dns.ClassINET || !sameName(h.Name, name) {
			continue
		}
		if s, ok := rr.(*dns.RRSIG); ok {
			if s.TypeCovered == t {
				sigs = append(sigs, s)
			}
			continue
		}
		if h.Rrtype == t {
			out = append(out, rr)
		}
	}
	return out, sigs
}

// supportedAlgorithm lists the DNSKEY algorithms verified: RSA/SHA-1 (5,
// 7), RSA/SHA-256 (8), RSA/SHA-512 (10), ECDSA P-256 (13) and P-384 (14),
// Ed25519 (15) — every algorithm RFC 8624 §3.1 says a validator MUST or
// RECOMMENDED to support, except Ed448 (16), which Go's standard library
// does not implement.
func supportedAlgorithm(a uint8) bool {
	switch a {
	case dns.RSASHA1, dns.RSASHA1NSEC3SHA1, dns.RSASHA256, dns.RSASHA512,
		dns.ECDSAP256SHA256, dns.ECDSAP384SHA384, dns.ED25519:
		return true
	}
	return false
}

// supportedDigest lists the DS digest types checked: SHA-1 (1), SHA-256
// (2, RFC 4509), SHA-384 (4, RFC 6605).
func supportedDigest(d uint8) bool {
	return d == dns.SHA1 || d == dns.SHA256 || d == dns.SHA384
}

// verify checks rrs (one RRset) against sigs with the keys of zone z. It
// returns, when the verifying signature says the RRset was expanded from a
// wildcard, the wildcard's name (RFC 4034 §3.1.3).
func (l *lookup) verify(rrs []dns.RR, sigs []*dns.RRSIG, z *zone) (string, verdict) {
	owner := canon(rrs[0].Header().Name)
	what := presentation(owner) + " " + dns.TypeToString[rrs[0].Header().Rrtype]
	if len(sigs) == 0 {
		return "", bogus(NoSignature, z.name, "%s is not signed", what)
	}
	// The reason reported when no signature verifies: the most telling
	// one met.
	rank := map[Reason]int{WrongZone: 1, NoKey: 2, SignatureNotYetValid: 3, SignatureExpired: 3, BadSignature: 4}
	fail := bogus(NoSignature, z.name, "%s has signatures only by algorithms mailwire does not verify", what)
	note := func(v verdict) {
		if rank[v.why] > rank[fail.why] {
			fail = v
		}
	}
	n := labels(owner)
	for _, s := range sigs {
		if !sameName(s.SignerName, z.name) {
			note(bogus(WrongZone, z.name, "%s is signed by %s, not by its zone %s", what,
				presentation(s.SignerName), presentation(z.name)))
			continue
		}
		if !supportedAlgorithm(s.Algorithm) || int(s.Labels) > n {
			continue
		}
		if !s.ValidityPeriod(l.now) {
			if int64(s.Inception) > l.now.Unix() && s.Inception-uint32(l.now.Unix()) < 1<<31 {
				note(bogus(SignatureNotYetValid, z.name, "the signature of %s (key %d) is valid only from %s", what,
					s.KeyTag, dns.TimeToString(s.Inception)))
			} else {
				note(bogus(SignatureExpired, z.name, "the signature of %s (key %d) expired %s", what,
					s.KeyTag, dns.TimeToString(s.Expiration)))
			}
			continue
		}
		found := false
		for _, k := range z.keys {
			if k.Algorithm != s.Algorithm || k.KeyTag() != s.KeyTag {
				continue
			}
			found = true
			if err := s.Verify(k, rrs); err == nil {
				wild := ""
				if int(s.Labels) < n && !(int(s.Labels) == n-1 && strings.HasPrefix(owner, "*.")) {
					wild = "*." + suffix(owner, int(s.Labels))
					if s.Labels == 0 {
						wild = "*."
					}
				}
				return wild, secure(z.name)
			}
		}
		if found {
			note(bogus(BadSignature, z.name, "the signature of %s by %s (key %d) does not verify", what,
				presentation(z.name), s.KeyTag))
		} else {
			note(bogus(NoKey, z.name, "%s is signed by key %d, which %s does not publish", what, s.KeyTag,
				presentation(z.name)))
		}
	}
	return "", fail
}

// cutResult is what a DS query says about one name on the walk down.
type cutResult struct {
	child *zone // a zone cut: the child's state (secure, insecure or bogus)
	stop  bool  // the name does not exist: nothing below it does either
}

// zoneFor walks from the trust anchor down to name, one label at a time,
// asking for the DS RRset of each ancestor (RFC 4035 §5.2): a signed DS
// RRset is a secure delegation, a signed proof of no DS with the NS bit is
// an insecure one, anything else at a name is not a cut. The walk needs no
// signer name from an answer, which an attacker could choose; the zone it
// returns is the deepest one responsible for name.
func (l *lookup) zoneFor(name string) (*zone, error) {
	z, err := l.anchorFor(name)
	if err != nil || z.v.sec != Secure {
		return z, err
	}
	depth := labels(z.name)
	for n := depth + 1; n <= labels(name); n++ {
		child := suffix(name, n)
		res, err := l.cut(z, child)
		if err != nil {
			return nil, err
		}
		if res.child != nil {
			z = res.child
			if z.v.sec != Secure {
				return z, nil
			}
		}
		if res.stop {
			break
		}
	}
	return z, nil
}

// anchorFor returns the validated DNSKEY RRset of the deepest anchored
// zone at or above name.
func (l *lookup) anchorFor(name string) (*zone, error) {
	best := ""
	var dss []*dns.DS
	for _, a := range l.r.anchors {
		owner := canon(a.Hdr.Name)
		if !isUnder(name, owner) {
			continue
		}
		if best == "" || labels(owner) > labels(best) {
			best, dss = owner, nil
		}
		if owner == best {
			dss = append(dss, a)
		}
	}
	if best == "" {
		return &zone{name: ".", v: insecure(NoDS, ".", "no trust anchor covers %s", presentation(name))}, nil
	}
	l.r.mu.Lock()
	z, ok := l.r.roots[best]
	l.r.mu.Unlock()
	if ok {
		return z, nil
	}
	z, err := l.keysFromDS(best, dss, true)
	if err != nil {
		return nil, err
	}
	l.r.mu.Lock()
	l.r.roots[best] = z
	l.r.mu.Unlock()
	return z, nil
}

// cut asks for the DS RRset of child, which zone z answers.
func (l *lookup) cut(z *zone, child string) (*cutResult, error) {
	l.r.mu.Lock()
	res, ok := l.r.cuts[child]
	l.r.mu.Unlock()
	if ok {
		return res, nil
	}
	res, err := l.cutUncached(z, child)
	if err != nil {
		return nil, err
	}
	l.r.mu.Lock()
	if len(l.r.cuts) < maxCache {
		l.r.cuts[child] = res
	}
	l.r.mu.Unlock()
	return res, nil
}

func (l *lookup) cutUncached(z *zone, child string) (*cutResult, error) {
	msg, err := l.query(child, dns.TypeDS)
	if err != nil {
		return nil, fmt.Errorf("resolver: chain of trust at %s: %w", child, err)
	}
	if msg.Rcode == dns.RcodeNameError {
		// Nothing exists at or below child; the final answer's own
		// NXDOMAIN proof is checked against z.
		return &cutResult{stop: true}, nil
	}
	if rrs, sigs := rrset(msg.Answer, child, dns.TypeDS); len(rrs) > 0 {
		if _, v := l.verify(rrs, sigs, z); v.sec != Secure {
			return &cutResult{child: &zone{name: child, v: v}}, nil
		}
		dss := make([]*dns.DS, 0, len(rrs))
		for _, rr := range rrs {
			dss = append(dss, rr.(*dns.DS))
		}
		cz, err := l.keysFromDS(child, dss, false)
		if err != nil {
			return nil, err
		}
		return &cutResult{child: cz}, nil
	}
	if rrs, _ := rrset(msg.Answer, child, dns.TypeCNAME); len(rrs) > 0 {
		// An alias is not a zone cut; its signature is checked when
		// the alias itself is followed.
		return &cutResult{}, nil
	}
	// NODATA for DS: a proof that there is no DS, and whether child is a
	// delegation at all (RFC 4035 §5.2, RFC 6840 §4.4, RFC 5155 §8.6 and
	// §8.9).
	p, pv := l.proofRecords(msg, z)
	if pv.sec == Insecure {
		return &cutResult{child: &zone{name: child, v: pv}}, nil
	}
	switch kind, why := p.dsDenial(child, z.name); kind {
	case denialInsecureCut:
		return &cutResult{child: &zone{name: child, v: insecure(NoDS, child,
			"%s is delegated without a DS record: a signed proof from %s says so", presentation(child),
			presentation(z.name))}}, nil
	case denialOptOut:
		return &cutResult{child: &zone{name: child, v: insecure(OptOut, child,
			"%s lies in an NSEC3 opt-out span of %s, which may hold unsigned delegations", presentation(child),
			presentation(z.name))}}, nil
	case denialNotCut:
		return &cutResult{}, nil
	case denialNoName:
		return &cutResult{stop: true}, nil
	default:
		return &cutResult{child: &zone{name: child, v: worse(bogus(BadDenial, z.name,
			"no DS for %s and no valid proof of that: %s", presentation(child), why), pv)}}, nil
	}
}

// keysFromDS fetches the DNSKEY RRset of name and validates it from dss
// (the parent's validated DS RRset, or trust anchors): a key whose digest
// a DS names must have signed the RRset (RFC 4035 §5.2).
func (l *lookup) keysFromDS(name string, dss []*dns.DS, anchor bool) (*zone, error) {
	mismatch := DSMismatch
	if anchor {
		mismatch = AnchorMismatch
	}
	var usable []*dns.DS
	strong := false
	for _, ds := range dss {
		if supportedAlgorithm(ds.Algorithm) && supportedDigest(ds.DigestType) {
			usable = append(usable, ds)
			strong = strong || ds.DigestType != dns.SHA1
		}
	}
	if strong {
		// RFC 4509 §3: ignore SHA-1 DS records when SHA-256 ones are
		// present (and SHA-384 is stronger still).
		kept := usable[:0]
		for _, ds := range usable {
			if ds.DigestType != dns.SHA1 {
				kept = append(kept, ds)
			}
		}
		usable = kept
	}
	if len(usable) == 0 {
		return &zone{name: name, v: insecure(UnsupportedAlgorithm, name,
			"every DS record of %s names an algorithm or digest mailwire does not verify", presentation(name))}, nil
	}
	msg, err := l.query(name, dns.TypeDNSKEY)
	if err != nil {
		return nil, fmt.Errorf("resolver: keys of %s: %w", name, err)
	}
	rrs, sigs := rrset(msg.Answer, name, dns.TypeDNSKEY)
	var all, entry []*dns.DNSKEY
	for _, rr := range rrs {
		k := rr.(*dns.DNSKEY)
		if k.Protocol != 3 || k.Flags&dns.ZONE == 0 {
			continue
		}
		all = append(all, k)
		for _, ds := range usable {
			if ds.KeyTag != k.KeyTag() || ds.Algorithm != k.Algorithm {
				continue
			}
			if d := k.ToDS(ds.DigestType); d != nil && strings.EqualFold(d.Digest, ds.Digest) {
				entry = append(entry, k)
				break
			}
		}
	}
	tags := make([]string, 0, len(usable))
	for _, ds := range usable {
		tags = append(tags, fmt.Sprint(ds.KeyTag))
	}
	if len(entry) == 0 {
		return &zone{name: name, v: bogus(mismatch, name, "no DNSKEY of %s matches the DS records (key tags %s)",
			presentation(name), strings.Join(tags, ", "))}, nil
	}
	_, v := l.verify(rrs, sigs, &zone{name: name, keys: entry})
	if v.sec != Secure {
		if v.why == NoKey || v.why == BadSignature {
			v.why = mismatch
			v.detail = fmt.Sprintf("the DNSKEY RRset of %s is not signed by a key its DS records name (key tags %s)",
				presentation(name), strings.Join(tags, ", "))
		}
		return &zone{name: name, v: v}, nil
	}
	return &zone{name: name, v: secure(name), keys: all}, nil
}
