package certs

import (
	"fmt"
	"time"
)

// Annotation keys of what a chain view shows, for a view that explains a
// fact when it is selected; package content has the words
// (content/annotations/cert.md).
const (
	KeyChain       = "tls.cert.chain"
	KeySubject     = "tls.cert.subject"
	KeyIssuer      = "tls.cert.issuer"
	KeyNames       = "tls.cert.san"
	KeyValidity    = "tls.cert.validity"
	KeyKey         = "tls.cert.key"
	KeySignature   = "tls.cert.signature_algorithm"
	KeyFingerprint = "tls.cert.fingerprint"
	KeyCA          = "tls.cert.ca"
	KeyMustStaple  = "tls.cert.must_staple"
	KeySCT         = "tls.cert.sct"
)

// FactKeys lists the keys above, in the order a chain view shows the facts.
func FactKeys() []string {
	return []string{KeyChain, KeySubject, KeyNames, KeyIssuer, KeyValidity, KeyKey, KeySignature,
		KeyFingerprint, KeyCA, KeySCT, KeyMustStaple}
}

// Label names certificate i of the chain by its place: "the leaf [0]",
// "the intermediate [1]", "the root [2]" (a self-signed CA the server
// sent), or, for -1, one outside Certs: a trusted root from the client's
// store, or one past MaxCerts.
func (c *Chain) Label(i int) string {
	switch {
	case i < 0 || i >= len(c.Certs):
		return "a certificate outside those shown (a trusted root, or one past the first " + fmt.Sprint(MaxCerts) + ")"
	case i == 0:
		return "the leaf [0]"
	case c.Certs[i].SelfSigned:
		return fmt.Sprintf("the root [%d]", i)
	case c.Certs[i].CA:
		return fmt.Sprintf("the intermediate [%d]", i)
	}
	return fmt.Sprintf("certificate [%d]", i)
}

// Describe says in one line what p is about, with the facts it rests on
// (dates, names, the issuer, the key size). What it means and what to
// change on the server are the words in package content under
// p.Annotation. The result holds strings from the certificates: sanitize
// it before it reaches a terminal.
func (c *Chain) Describe(p Problem) string {
	var ct Cert
	if p.Cert >= 0 && p.Cert < len(c.Certs) {
		ct = c.Certs[p.Cert]
	}
	who := c.Label(p.Cert)
	switch {
	case p.Kind == Failed:
		return p.Detail
	case p.Kind == Expired && p.Cert < 0:
		return "a trusted root above the chain has expired: " + p.Detail
	case p.Cert < 0 || p.Cert >= len(c.Certs):
		return who + ": " + p.Detail
	case p.Kind == Expired:
		return fmt.Sprintf("%s expired on %s, %s before the check", who, stamp(ct.NotAfter), span(c.CheckedAt.Sub(ct.NotAfter)))
	case p.Kind == NotYetValid:
		return fmt.Sprintf("%s is valid only from %s, %s after the check", who, stamp(ct.NotBefore), span(ct.NotBefore.Sub(c.CheckedAt)))
	case p.Kind == WrongName && len(ct.Names()) == 0:
		return fmt.Sprintf("%s is not valid for %s: it names no host in subjectAltName (the subject's common name does not count)", who, c.Name)
	case p.Kind == WrongName:
		return fmt.Sprintf("%s is not valid for %s: it covers %s", who, c.Name, ct.NamesText())
	case p.Kind == SelfSigned:
		return fmt.Sprintf("%s is self-signed (its own issuer, %s) and not among the trusted roots", who, ct.Issuer)
	case p.Kind == UnknownAuthority && ct.SelfSigned:
		return fmt.Sprintf("the chain ends at %s, %s, which is not among the trusted roots", who, ct.Subject)
	case p.Kind == UnknownAuthority:
		return fmt.Sprintf("%s was issued by %s, which is not among the trusted roots and which the server did not send", who, ct.Issuer)
	case p.Kind == IncompleteChain && len(ct.IssuerURLs) > 0:
		return fmt.Sprintf("%s was issued by %s, whose certificate the server did not send; the leaf says it is published at %s",
			who, ct.Issuer, ct.IssuerURLs[0])
	case p.Kind == IncompleteChain:
		return fmt.Sprintf("%s was issued by %s, whose certificate the server did not send", who, ct.Issuer)
	case p.Kind == WeakKey:
		return fmt.Sprintf("%s has an RSA key of %d bits; at least 2048 are required", who, ct.KeyBits)
	case p.Kind == SHA1Signature && p.Fatal:
		return fmt.Sprintf("%s is signed with %s, which current clients refuse to check", who, ct.SignatureAlgorithm)
	case p.Kind == SHA1Signature:
		return fmt.Sprintf("%s is signed with %s; the path that verified does not use it", who, ct.SignatureAlgorithm)
	}
	if p.Detail != "" {
		return who + ": " + p.Detail
	}
	return who + ": " + string(p.Kind)
}

// stamp is a time as a chain view shows it: UTC, to the minute.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// span says how long d is in the largest whole unit that fits: "30 days",
// "5 hours", "12 minutes".
func span(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	case d >= 2*time.Hour:
		return fmt.Sprintf("%d hours", d/time.Hour)
	case d >= 2*time.Minute:
		return fmt.Sprintf("%d minutes", d/time.Minute)
	}
	return "moments"
}

// Validity says how a certificate's dates stand at the check: "expired
// 30 days ago", "valid for 29 more days", "not valid for 30 more days".
func (c *Chain) Validity(i int) string {
	ct := c.Certs[i]
	switch {
	case c.CheckedAt.After(ct.NotAfter):
		return "expired " + span(c.CheckedAt.Sub(ct.NotAfter)) + " before the check"
	case c.CheckedAt.Before(ct.NotBefore):
		return "not valid until " + span(ct.NotBefore.Sub(c.CheckedAt)) + " after the check"
	}
	return span(ct.NotAfter.Sub(c.CheckedAt)) + " left"
}
