// Package certs turns the certificate chain a TLS server presented into
// typed facts: what each certificate says (Facts) and, checked against a
// set of roots, a name and a time, what is wrong with the chain and which
// certificate it concerns (Analyze). It is the one place where mailwire
// classifies a certificate verification failure; the session engine, the
// printers and the TUI phrase its results.
//
// The package is pure: no network (it never fetches an intermediate or a
// revocation status), no UI. Every string it returns that comes from a
// certificate (subjects, names, URLs) is peer-controlled and must be
// sanitized before it reaches a terminal.
//
// The words that explain each problem and what to change on the server
// live in package content, under the keys Kind.Key returns
// (content/annotations/cert.md).
package certs

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/md5"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Bounds on what Facts keeps of one certificate. crypto/tls already bounds
// a Certificate message (a few hundred KiB), but a hostile server can fill
// that with names; a chain view never needs thousands.
const (
	// MaxNames is how many subjectAltName entries (all types together)
	// a Cert keeps; Cert.MoreNames counts the rest.
	MaxNames = 100
	// MaxCerts is how many certificates of a chain Analyze describes;
	// Chain.MoreCerts counts the rest (all of them are still used to verify).
	MaxCerts = 16
	// maxSCTs bounds the SCTs decoded from one certificate.
	maxSCTs = 32
)

// Cert is what one certificate says, as a chain view shows it.
type Cert struct {
	// Subject and Issuer are distinguished names as crypto/x509 prints
	// them (RFC 2253 order: "CN=mail.example.org,O=Example").
	Subject string `json:"subject"`
	Issuer  string `json:"issuer"`
	// Serial is the serial number in hex (RFC 5280 §4.1.2.2).
	Serial string `json:"serial"`
	// The subjectAltName entries (RFC 5280 §4.2.1.6), at most MaxNames
	// across the four lists; MoreNames counts the ones left out.
	DNSNames    []string `json:"dns_names,omitempty"`
	IPAddresses []string `json:"ip_addresses,omitempty"`
	Emails      []string `json:"emails,omitempty"`
	URIs        []string `json:"uris,omitempty"`
	MoreNames   int      `json:"more_names,omitempty"`
	// NotBefore and NotAfter bound the validity period (RFC 5280 §4.1.2.5).
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	// KeyType is RSA, ECDSA, Ed25519, or crypto/x509's name for another
	// algorithm; KeyBits the RSA modulus or the curve size; Curve the
	// ECDSA curve (P-256, P-384, P-521).
	KeyType string `json:"key_type"`
	KeyBits int    `json:"key_bits,omitempty"`
	Curve   string `json:"curve,omitempty"`
	// SignatureAlgorithm is how the issuer signed this certificate, as
	// crypto/x509 names it (SHA256-RSA, ECDSA-SHA384, SHA1-RSA, …).
	SignatureAlgorithm string `json:"signature_algorithm"`
	// SHA256 is the SHA-256 of the whole certificate (DER), SPKISHA256
	// that of its SubjectPublicKeyInfo, both in lower-case hex: the values
	// of DANE TLSA records "3 0 1" and "3 1 1" (RFC 6698 §2.1, RFC 7672).
	SHA256     string `json:"sha256"`
	SPKISHA256 string `json:"spki_sha256"`
	// CA is true when basic constraints mark the certificate as a CA
	// (RFC 5280 §4.2.1.9).
	CA bool `json:"ca"`
	// SelfSigned is true when the certificate is issued by itself and its
	// signature verifies with its own key: a root, or a self-signed leaf.
	SelfSigned bool `json:"self_signed"`
	// MustStaple is true when the TLS Feature extension (RFC 7633, OID
	// 1.3.6.1.5.5.7.1.24) lists status_request (5): the server must
	// staple an OCSP response (RFC 6066 §8).
	MustStaple bool `json:"must_staple"`
	// SCTs are the Signed Certificate Timestamps embedded in the
	// certificate (RFC 6962 §3.3, OID 1.3.6.1.4.1.11129.2.4.2): proof that
	// it was logged in Certificate Transparency. SCTsMalformed is true
	// when the extension is present but does not decode.
	SCTs          []SCT `json:"scts,omitempty"`
	SCTsMalformed bool  `json:"scts_malformed,omitempty"`
	// IssuerURLs are the Authority Information Access caIssuers URLs
	// (RFC 5280 §4.2.2.1): where the issuer's certificate is published.
	IssuerURLs []string `json:"issuer_urls,omitempty"`
}

// SCT is one Signed Certificate Timestamp (RFC 6962 §3.2).
type SCT struct {
	// Version is the SCT version: 0 is v1, the only one RFC 6962 defines;
	// LogID and Time are decoded only for v1.
	Version int `json:"version"`
	// LogID is the log's ID (the SHA-256 of its public key) in base64,
	// as the Certificate Transparency log lists write it.
	LogID string    `json:"log_id,omitempty"`
	Time  time.Time `json:"time,omitzero"`
}

// Facts describes one certificate.
func Facts(c *x509.Certificate) Cert {
	f := Cert{
		Subject:            c.Subject.String(),
		Issuer:             c.Issuer.String(),
		NotBefore:          c.NotBefore.UTC(),
		NotAfter:           c.NotAfter.UTC(),
		SignatureAlgorithm: c.SignatureAlgorithm.String(),
		CA:                 c.BasicConstraintsValid && c.IsCA,
		SelfSigned:         IsSelfSigned(c),
		IssuerURLs:         c.IssuingCertificateURL,
	}
	if c.SerialNumber != nil {
		f.Serial = c.SerialNumber.Text(16)
	}
	room := MaxNames
	take := func(names []string) []string {
		n := min(len(names), room)
		room -= n
		f.MoreNames += len(names) - n
		if n == 0 {
			return nil
		}
		return names[:n:n]
	}
	f.DNSNames = take(c.DNSNames)
	ips := make([]string, len(c.IPAddresses))
	for i, ip := range c.IPAddresses {
		ips[i] = ip.String()
	}
	f.IPAddresses = take(ips)
	f.Emails = take(c.EmailAddresses)
	uris := make([]string, len(c.URIs))
	for i, u := range c.URIs {
		uris[i] = u.String()
	}
	f.URIs = take(uris)

	sum := sha256.Sum256(c.Raw)
	f.SHA256 = hex.EncodeToString(sum[:])
	sum = sha256.Sum256(c.RawSubjectPublicKeyInfo)
	f.SPKISHA256 = hex.EncodeToString(sum[:])

	f.KeyType = c.PublicKeyAlgorithm.String()
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		f.KeyType, f.KeyBits = "RSA", k.N.BitLen()
	case *ecdsa.PublicKey:
		f.KeyType, f.KeyBits, f.Curve = "ECDSA", k.Curve.Params().BitSize, k.Curve.Params().Name
	case ed25519.PublicKey:
		f.KeyType, f.KeyBits = "Ed25519", 256
	}

	for _, ext := range c.Extensions {
		switch {
		case ext.Id.Equal(oidTLSFeature):
			feats, err := parseTLSFeature(ext.Value)
			f.MustStaple = err == nil && slices.Contains(feats, statusRequest)
		case ext.Id.Equal(oidSCTList):
			scts, err := parseSCTList(ext.Value)
			f.SCTs, f.SCTsMalformed = scts, err != nil
		}
	}
	return f
}

// KeyText names the key: "RSA 2048 bits", "ECDSA P-256", "Ed25519".
func (c Cert) KeyText() string {
	switch {
	case c.KeyType == "RSA":
		return fmt.Sprintf("RSA %d bits", c.KeyBits)
	case c.Curve != "":
		return c.KeyType + " " + c.Curve
	}
	return c.KeyType
}

// Names lists the subjectAltName entries as "DNS:mail.example.org",
// "IP:192.0.2.1", "email:…", "URI:…", the form openssl prints.
func (c Cert) Names() []string {
	var out []string
	for _, n := range c.DNSNames {
		out = append(out, "DNS:"+n)
	}
	for _, n := range c.IPAddresses {
		out = append(out, "IP:"+n)
	}
	for _, n := range c.Emails {
		out = append(out, "email:"+n)
	}
	for _, n := range c.URIs {
		out = append(out, "URI:"+n)
	}
	return out
}

// NamesText is Names joined with ", ", with a count of the names left out.
func (c Cert) NamesText() string {
	s := strings.Join(c.Names(), ", ")
	if c.MoreNames > 0 {
		s += fmt.Sprintf(", and %d more", c.MoreNames)
	}
	return s
}

// IsSelfSigned says whether c is issued by itself (subject and issuer are
// the same name) and signed with its own key (RFC 5280 §3.2 and §6.1).
func IsSelfSigned(c *x509.Certificate) bool {
	return signedBy(c, c)
}

// signedBy says whether parent's key made child's signature, with
// child's issuer naming parent. It only reports who signed what, for the
// chain walk and the self-signed test; it is never a trust decision. So a
// SHA-1 (or MD5) signature, which crypto/x509 refuses to check at all
// (InsecureAlgorithmError), is checked here with crypto/rsa or
// crypto/ecdsa directly: a server's SHA-1 certificate is still signed by
// its issuer, and the learner must be told that SHA-1 is the problem, not
// that the issuer is unknown.
func signedBy(child, parent *x509.Certificate) bool {
	if !bytes.Equal(child.RawIssuer, parent.RawSubject) {
		return false
	}
	err := parent.CheckSignature(child.SignatureAlgorithm, child.RawTBSCertificate, child.Signature)
	var insecure x509.InsecureAlgorithmError
	if errors.As(err, &insecure) {
		return legacySignatureOK(child, parent.PublicKey)
	}
	return err == nil
}

// LegacySignature says whether alg hashes with SHA-1 or MD5 (or MD2):
// RFC 9325 §4.5 forbids SHA-1 and MD5 in certificate signatures, RFC 9155
// removes them from TLS 1.2 signatures, and crypto/x509 refuses to verify
// them.
func LegacySignature(alg x509.SignatureAlgorithm) bool {
	switch alg {
	case x509.SHA1WithRSA, x509.ECDSAWithSHA1, x509.DSAWithSHA1, x509.MD5WithRSA, x509.MD2WithRSA:
		return true
	}
	return false
}

func legacySignatureOK(child *x509.Certificate, pub any) bool {
	var (
		h      crypto.Hash
		digest []byte
	)
	switch child.SignatureAlgorithm {
	case x509.SHA1WithRSA, x509.ECDSAWithSHA1:
		s := sha1.Sum(child.RawTBSCertificate)
		h, digest = crypto.SHA1, s[:]
	case x509.MD5WithRSA:
		s := md5.Sum(child.RawTBSCertificate)
		h, digest = crypto.MD5, s[:]
	default:
		return false
	}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return child.SignatureAlgorithm != x509.ECDSAWithSHA1 && rsa.VerifyPKCS1v15(k, h, digest, child.Signature) == nil
	case *ecdsa.PublicKey:
		return child.SignatureAlgorithm == x509.ECDSAWithSHA1 && ecdsa.VerifyASN1(k, digest, child.Signature)
	}
	return false
}
