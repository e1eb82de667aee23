package lab

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
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
	certWrongHost   certKind = "wrong-host"    // names another host only (RFC 9525 §6, which obsoletes RFC 6125)
	certSelfSigned  certKind = "self-signed"   // issued by itself, not by the trusted CA
	certRSA1024     certKind = "rsa-1024"      // a 1024-bit RSA key: below the 2048 of RFC 9325 §4.5 and NIST SP 800-131A
	certEscapes     certKind = "escapes"       // terminal escape sequences in the subject
	// certMissingIntermediate is issued by an intermediate CA below the
	// trusted root, and the server sends the leaf alone (RFC 8446 §4.4.2
	// wants the chain): the leaf names where the intermediate is published
	// (AIA), as a public CA's leaves do.
	certMissingIntermediate certKind = "missing-intermediate"
	// certSHA1 is signed with ECDSA-SHA1 (RFC 9325 §4.5 forbids SHA-1
	// signatures). crypto/x509 still creates one; it refuses only to verify it.
	certSHA1 certKind = "sha1"
	// certCT is a valid certificate carrying two embedded SCTs (RFC 6962
	// §3.3) from made-up logs: their signatures are not real, and nothing
	// in mailwire checks them; they are there to be shown.
	certCT certKind = "ct"
	// certLongChain is a valid leaf followed by 199 unrelated
	// certificates (longChain): a Certificate message of about 70 KB.
	certLongChain certKind = "long-chain"
)

// hostileIntermediateURL is where the missing-intermediate leaf says its
// issuer is published; nothing serves it (.test is reserved, RFC 2606 §2).
const hostileIntermediateURL = "http://ca.lab.test/mailwire-hostile-intermediate.der"

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
	case certMissingIntermediate:
		inter, err := ca.issueIntermediate("mailwire hostile intermediate CA")
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("%s certificate: %w", kind, err)
		}
		parent, signer = inter.cert, inter.key
		tmpl.IssuingCertificateURL = []string{hostileIntermediateURL}
	case certSHA1:
		tmpl.SignatureAlgorithm = x509.ECDSAWithSHA1
	case certCT:
		scts, err := madeUpSCTs(now)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("%s certificate: %w", kind, err)
		}
		tmpl.ExtraExtensions = []pkix.Extension{scts}
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
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
	if kind == certLongChain {
		return longChain(cert)
	}
	return cert, nil
}

// oidSCTList is the embedded SCT list extension (RFC 6962 §3.3).
var oidSCTList = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 2}

// madeUpSCTs is an SCT list extension with two v1 SCTs (RFC 6962 §3.2)
// from logs that do not exist: each log ID is the SHA-256 of a name, each
// signature 64 zero bytes. Encoded by hand: a 2-byte-length list of
// 2-byte-length SCTs, inside an OCTET STRING (RFC 6962 §3.3).
func madeUpSCTs(now time.Time) (pkix.Extension, error) {
	var list []byte
	for i, log := range []string{"mailwire made-up log A", "mailwire made-up log B"} {
		id := sha256.Sum256([]byte(log))
		sct := []byte{0} // v1
		sct = append(sct, id[:]...)
		sct = binary.BigEndian.AppendUint64(sct, uint64(now.Add(-time.Duration(i+1)*time.Hour).UnixMilli()))
		sct = append(sct, 0, 0)        // no extensions
		sct = append(sct, 4, 3, 0, 64) // SHA-256, ECDSA; a 64-byte signature
		sct = append(sct, make([]byte, 64)...)
		list = binary.BigEndian.AppendUint16(list, uint16(len(sct)))
		list = append(list, sct...)
	}
	body := binary.BigEndian.AppendUint16(nil, uint16(len(list)))
	der, err := asn1.Marshal(append(body, list...))
	if err != nil {
		return pkix.Extension{}, err
	}
	return pkix.Extension{Id: oidSCTList, Value: der}, nil
}
