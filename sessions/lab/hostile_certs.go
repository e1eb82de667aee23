package lab

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"net"
	"time"
)

// certKind names the certificate a hostile server presents. Every kind but
// certSelfSigned is signed by the hostile server's own in-memory CA, which a
// client trusts for the test (HostileServer.RootCAs), so each certificate
// case fails verification for exactly one reason.
type certKind string

const (
	certValid       certKind = "valid"
	certExpired     certKind = "expired"       // NotAfter in the past (RFC 5280 §4.1.2.5)
	certNotYetValid certKind = "not-yet-valid" // NotBefore in the future (RFC 5280 §4.1.2.5)
	certWrongHost   certKind = "wrong-host"    // names another host only (RFC 6125 §6)
	certSelfSigned  certKind = "self-signed"   // issued by itself, not by the trusted CA
	certRSA1024     certKind = "rsa-1024"      // a 1024-bit RSA key: below NIST SP 800-131A's 2048
	certEscapes     certKind = "escapes"       // terminal escape sequences in the subject
)

// hostileWrongHost is the only name the wrong-host certificate carries; RFC
// 2606 §3 reserves example. for documentation.
const hostileWrongHost = "wrong-host.example"

// escapeSubject is a subject common name made of what a terminal would act
// on: an OSC 0 title change, a screen clear and an OSC 52 clipboard write.
// The DER encoding is a UTF8String, which may hold any valid UTF-8.
const escapeSubject = "\x1b]0;pwned\x07\x1b[2J\x1b]52;c;ZWNobyBwd25lZA==\x07mail"

// newHostileCA makes a throwaway CA in memory: hostile servers must never
// be trusted beyond the test or the lab run that made them.
func newHostileCA() (*authority, error) {
	ca, err := newCA()
	if err != nil {
		return nil, fmt.Errorf("hostile CA: %w", err)
	}
	return ca, nil
}

// issueHostileCert makes the certificate of the given kind, valid for
// Hostname, localhost and the loopback addresses unless the kind says
// otherwise.
func (ca *authority) issueHostileCert(kind certKind) (tls.Certificate, error) {
	var (
		key crypto.Signer
		err error
	)
	if kind == certRSA1024 {
		// Go's crypto/rsa refuses keys under 1024 bits since Go 1.24
		// (GODEBUG rsa1024min); 1024 itself is allowed, and weak.
		key, err = rsa.GenerateKey(rand.Reader, 1024)
	} else {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s certificate key: %w", kind, err)
	}
	serial, err := randomSerial()
	if err != nil {
		return tls.Certificate{}, err
	}
	ski, err := keyID(key.Public())
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: Hostname, Organization: []string{"mailwire hostile lab"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{Hostname, "localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		SubjectKeyId:          ski,
	}
	if kind == certRSA1024 {
		// RFC 5280 §4.2.1.3: an RSA key may also encipher (TLS 1.2 RSA
		// key transport).
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
	}
	parent, signer := ca.cert, ca.key
	switch kind {
	case certExpired:
		tmpl.NotBefore = now.AddDate(0, 0, -60)
		tmpl.NotAfter = now.AddDate(0, 0, -30)
	case certNotYetValid:
		tmpl.NotBefore = now.AddDate(0, 0, 30)
		tmpl.NotAfter = now.AddDate(0, 0, 60)
	case certWrongHost:
		tmpl.Subject.CommonName = hostileWrongHost
		tmpl.DNSNames = []string{hostileWrongHost}
		tmpl.IPAddresses = nil
	case certSelfSigned:
		parent, signer = tmpl, key
	case certEscapes:
		tmpl.Subject.CommonName = escapeSubject
		// U+009B is CSI as a C1 control: 8-bit terminals act on it.
		tmpl.Subject.Organization = []string{"\u009b31mred\u009b0m"}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), signer)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s certificate: %w", kind, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s certificate: %w", kind, err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}
