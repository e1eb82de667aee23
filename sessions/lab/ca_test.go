package lab

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// verifyServerCert checks a lab server certificate as a client holding only
// the root would: the server's own chain (leaf, then what it sends) up to
// root, for Hostname.
func verifyServerCert(t *testing.T, cert tls.Certificate, root *x509.Certificate) {
	t.Helper()
	inter := x509.NewCertPool()
	for _, der := range cert.Certificate[1:] {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		inter.AddCert(c)
	}
	roots := x509.NewCertPool()
	roots.AddCert(root)
	if _, err := cert.Leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: Hostname,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		t.Errorf("server certificate does not verify up to the root: %v", err)
	}
}

// TestServerCertHasIntermediate: a new lab root (path length 1) issues an
// intermediate, which issues the servers' leaf; servers send both, the
// leaf names where the intermediate is published, and the root alone
// verifies them.
func TestServerCertHasIntermediate(t *testing.T) {
	ca, err := loadOrCreateCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if ca.cert.MaxPathLen != 1 || !ca.canIssueCAs() {
		t.Fatalf("new root: path length %d", ca.cert.MaxPathLen)
	}
	cert, err := ca.issueServerCert("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if len(cert.Certificate) != 2 {
		t.Fatalf("server sends %d certificates; want leaf and intermediate", len(cert.Certificate))
	}
	inter, err := x509.ParseCertificate(cert.Certificate[1])
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case !inter.IsCA || inter.MaxPathLen != 0 || !inter.MaxPathLenZero:
		t.Errorf("intermediate: CA %v, path length %d", inter.IsCA, inter.MaxPathLen)
	case inter.Issuer.String() != ca.cert.Subject.String() || cert.Leaf.Issuer.String() != inter.Subject.String():
		t.Errorf("issuers: leaf %q, intermediate %q", cert.Leaf.Issuer, inter.Issuer)
	case !slices.Equal(cert.Leaf.IssuingCertificateURL, []string{IntermediateURL}):
		t.Errorf("leaf AIA %v", cert.Leaf.IssuingCertificateURL)
	case inter.NotAfter.After(ca.cert.NotAfter) || cert.Leaf.NotAfter.After(inter.NotAfter.Add(time.Minute)):
		t.Errorf("lifetimes: leaf to %v, intermediate to %v, root to %v", cert.Leaf.NotAfter, inter.NotAfter, ca.cert.NotAfter)
	}
	verifyServerCert(t, cert, ca.cert)
}

// TestOldRootStillWorks: a state directory made before the lab had an
// intermediate holds a root with path length 0, which may not issue a CA.
// It keeps working: the lab issues its leaf directly, as before.
func TestOldRootStillWorks(t *testing.T) {
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ski, err := keyID(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	serial, err := randomSerial()
	if err != nil {
		t.Fatal(err)
	}
	// The root as newCA made it before: MaxPathLen 0.
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: "mailwire lab CA", Organization: []string{"mailwire lab"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(10, 0, 0),
		IsCA: true, BasicConstraintsValid: true, MaxPathLen: 0, MaxPathLenZero: true,
		KeyUsage:     x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		SubjectKeyId: ski, AuthorityKeyId: ski,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for name, block := range map[string]*pem.Block{
		caCertFile: {Type: "CERTIFICATE", Bytes: der},
		caKeyFile:  {Type: "PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ca, err := loadOrCreateCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	if ca.canIssueCAs() {
		t.Fatal("a path-length-0 root claims it may issue an intermediate")
	}
	cert, err := ca.issueServerCert("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if len(cert.Certificate) != 1 || cert.Leaf.Issuer.String() != ca.cert.Subject.String() || len(cert.Leaf.IssuingCertificateURL) != 0 {
		t.Errorf("old root: %d certificates sent, leaf issued by %q", len(cert.Certificate), cert.Leaf.Issuer)
	}
	verifyServerCert(t, cert, ca.cert)
}
