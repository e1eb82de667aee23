package lab

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// File names of the CA in the state directory.
const (
	caCertFile = "ca.pem"
	caKeyFile  = "ca-key.pem"
)

// authority is a CA of the lab. The root is made once per state directory
// and kept, so that a class can trust it once and keep trusting it across
// runs; an intermediate below it (issueIntermediate) lives in memory only.
type authority struct {
	cert     *x509.Certificate
	certPEM  []byte
	key      crypto.Signer
	certPath string
	// chain is what a server sends after a leaf this authority issued:
	// nothing for a root (the client holds it, RFC 8446 §4.4.2), the
	// intermediate's own certificate for an intermediate.
	chain [][]byte
}

// loadOrCreateCA returns the CA kept in dir, creating dir and the CA on the
// first run.
func loadOrCreateCA(dir string) (*authority, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create state dir %s: %w", dir, err)
	}
	certPath := filepath.Join(dir, caCertFile)
	keyPath := filepath.Join(dir, caKeyFile)

	ca, err := loadCA(certPath, keyPath)
	if err == nil {
		return ca, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("load CA from %s (delete %s and %s to make a new one): %w", dir, certPath, keyPath, err)
	}

	ca, err = newCA()
	if err != nil {
		return nil, fmt.Errorf("create CA: %w", err)
	}
	ca.certPath = certPath
	keyDER, err := x509.MarshalPKCS8PrivateKey(ca.key)
	if err != nil {
		return nil, fmt.Errorf("encode CA key: %w", err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})

	// The key goes first and is published with a hard link, which fails if
	// the name exists: when two labs start at once on a fresh directory,
	// exactly one wins and the other loads the winner's CA.
	if err := publishFile(dir, keyPath, keyPEM); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return waitForCA(certPath, keyPath)
		}
		return nil, fmt.Errorf("write CA key: %w", err)
	}
	if err := publishFile(dir, certPath, ca.certPEM); err != nil {
		return nil, fmt.Errorf("write CA certificate: %w", err)
	}
	return ca, nil
}

// waitForCA loads a CA that another process is writing right now.
func waitForCA(certPath, keyPath string) (*authority, error) {
	deadline := time.Now().Add(3 * time.Second)
	for {
		ca, err := loadCA(certPath, keyPath)
		if err == nil || !errors.Is(err, fs.ErrNotExist) || time.Now().After(deadline) {
			if err != nil {
				return nil, fmt.Errorf("load CA written concurrently: %w", err)
			}
			return ca, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// publishFile writes data to a private temporary file in dir and links it to
// path, failing with fs.ErrExist if path exists.
func publishFile(dir, path string, data []byte) error {
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	// CreateTemp already uses 0600; Chmod guards against an odd umask
	// handling on other systems.
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Link(tmp.Name(), path)
}

// maxPEMFile bounds what loadCA reads: a P-256 CA is well under 2 KiB.
const maxPEMFile = 64 << 10

func readSmallFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPEMFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxPEMFile {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxPEMFile)
	}
	return data, nil
}

func loadCA(certPath, keyPath string) (*authority, error) {
	certPEM, err := readSmallFile(certPath)
	if err != nil {
		return nil, err
	}
	keyPEM, err := readSmallFile(keyPath)
	if err != nil {
		return nil, err
	}
	cb, _ := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s: no CERTIFICATE block", certPath)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", certPath, err)
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil || kb.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s: no PRIVATE KEY block", keyPath)
	}
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyPath, err)
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an ECDSA key", keyPath)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("%s does not belong to %s", keyPath, certPath)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("%s is not a CA certificate", certPath)
	}
	if now := time.Now(); now.After(cert.NotAfter) {
		return nil, fmt.Errorf("%s expired on %s", certPath, cert.NotAfter.Format(time.DateOnly))
	}
	return &authority{cert: cert, certPEM: certPEM, key: key, certPath: certPath}, nil
}

func randomSerial() (*big.Int, error) {
	// RFC 5280 §4.1.2.2: positive, at most 20 octets; 128 random bits.
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
}

// freshKey makes a P-256 key and what a certificate for it needs: a random
// serial number and the key's identifier.
func freshKey() (*ecdsa.PrivateKey, *big.Int, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, nil, nil, err
	}
	ski, err := keyID(key.Public())
	if err != nil {
		return nil, nil, nil, err
	}
	return key, serial, ski, nil
}

// keyID is the RFC 5280 §4.2.1.2 method (1) key identifier: the SHA-1 of the
// subjectPublicKey bits.
func keyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil, err
	}
	sum := sha1.Sum(spki.PublicKey.Bytes)
	return sum[:], nil
}

func newCA() (*authority, error) {
	key, serial, ski, err := freshKey()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "mailwire lab CA", Organization: []string{"mailwire lab"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(10, 0, 0),
		// RFC 5280 §4.2.1.9 and §4.2.1.3: a CA has critical basic
		// constraints and keyCertSign; path length 0 because it signs
		// only end-entity certificates.
		IsCA:                  true,
		BasicConstraintsValid: true,
		// Path length 1: one intermediate below the root, which signs
		// the servers' certificates, as public CAs do. Roots made before
		// the lab had an intermediate say 0; issueServerCert copes.
		MaxPathLen:     1,
		KeyUsage:       x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		SubjectKeyId:   ski,
		AuthorityKeyId: ski,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &authority{
		cert:    cert,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		key:     key,
	}, nil
}

// serverCertLifetime is short: the server key lives only in memory and a new
// certificate is made at each start. The intermediate lives as long.
const serverCertLifetime = 30 * 24 * time.Hour

// IntermediateURL is where the lab's leaves say their issuer's certificate
// is published (Authority Information Access caIssuers, RFC 5280
// §4.2.2.1), as leaves from a public CA's intermediate do. Nothing serves
// it (.test is reserved, RFC 2606 §2): mail clients never fetch it, and a
// server must send its intermediate itself.
const IntermediateURL = "http://ca.lab.test/mailwire-lab-intermediate.der"

// canIssueCAs says whether the root allows a CA below it: a root made
// before the lab had an intermediate carries path length 0 (RFC 5280
// §4.2.1.9), and crypto/x509 parses an absent constraint as -1.
func (ca *authority) canIssueCAs() bool { return ca.cert.MaxPathLen != 0 }

// issueIntermediate makes, in memory, an intermediate CA below ca: what a
// server presents between its own certificate and the root.
func (ca *authority) issueIntermediate(cn string) (*authority, error) {
	key, serial, ski, err := freshKey()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn, Organization: ca.cert.Subject.Organization},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(serverCertLifetime),
		// RFC 5280 §4.2.1.9: a CA, path length 0 (it signs only
		// end-entity certificates); §4.2.1.12: like a public CA's
		// intermediates, it may only issue for TLS servers.
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		SubjectKeyId:          ski,
	}
	if tmpl.NotAfter.After(ca.cert.NotAfter) {
		tmpl.NotAfter = ca.cert.NotAfter
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &authority{cert: cert, key: key, chain: [][]byte{der},
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

// issueServerCert makes a key and a certificate for the lab's servers,
// covering Hostname, localhost, 127.0.0.1 and listenHost. When the root
// allows it, a fresh intermediate issues it and the server sends leaf and
// intermediate, as real servers do; the root stays the one trust anchor
// clients hold (ca.pem).
func (ca *authority) issueServerCert(listenHost string) (tls.Certificate, error) {
	issuer, err := ca.leafIssuer()
	if err != nil {
		return tls.Certificate{}, err
	}
	return issuer.issueLeaf(listenHost)
}

// leafIssuer is what issues a server leaf: a fresh intermediate when the
// root allows it, else the root.
func (ca *authority) leafIssuer() (*authority, error) {
	if !ca.canIssueCAs() {
		return ca, nil
	}
	issuer, err := ca.issueIntermediate("mailwire lab intermediate CA")
	if err != nil {
		return nil, fmt.Errorf("intermediate CA: %w", err)
	}
	return issuer, nil
}

// issueLeaf is issueServerCert's leaf, issued by ca itself.
func (ca *authority) issueLeaf(listenHost string) (tls.Certificate, error) {
	dns := []string{Hostname, "localhost"}
	ips := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	if ip := net.ParseIP(listenHost); ip != nil {
		if !ip.IsUnspecified() && !containsIP(ips, ip) {
			ips = append(ips, ip)
		}
	} else if listenHost != "" && listenHost != Hostname && listenHost != "localhost" {
		dns = append(dns, listenHost)
	}
	return ca.issueLeafFor(dns, ips)
}

// issueLeafFor is a lab server leaf for exactly these names and addresses,
// the first name its subject's common name.
func (ca *authority) issueLeafFor(dns []string, ips []net.IP) (tls.Certificate, error) {
	key, serial, ski, err := freshKey()
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: dns[0], Organization: []string{"mailwire lab"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(serverCertLifetime),
		// RFC 5280 §4.2.1.3: an ECDSA TLS server key signs, it never
		// enciphers keys; §4.2.1.12 serverAuth.
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  false,
		DNSNames:              dns,
		IPAddresses:           ips,
		SubjectKeyId:          ski,
	}
	if len(ca.chain) > 0 {
		tmpl.IssuingCertificateURL = []string{IntermediateURL}
	}
	if tmpl.NotAfter.After(ca.cert.NotAfter) {
		tmpl.NotAfter = ca.cert.NotAfter
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{
		// The leaf and its intermediate go on the wire, not the root:
		// clients hold it as their trust anchor, and RFC 8446 §4.4.2
		// lets a server omit it.
		Certificate: append([][]byte{der}, ca.chain...),
		PrivateKey:  key,
		Leaf:        leaf,
	}, nil
}

func containsIP(ips []net.IP, ip net.IP) bool {
	return slices.ContainsFunc(ips, ip.Equal)
}

// EnsureCA returns the lab CA's certificate (PEM) and the path of its file
// in stateDir ("" means DefaultStateDir()), creating the CA if there is none
// yet, without starting any server. `mailwire lab --ca-out` uses it.
func EnsureCA(stateDir string) (certPEM []byte, path string, err error) {
	if stateDir == "" {
		stateDir = DefaultStateDir()
		if stateDir == "" {
			return nil, "", errors.New("lab: no state directory for the CA")
		}
	}
	ca, err := loadOrCreateCA(stateDir)
	if err != nil {
		return nil, "", fmt.Errorf("lab: %w", err)
	}
	return append([]byte(nil), ca.certPEM...), ca.certPath, nil
}
