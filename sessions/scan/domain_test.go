package scan

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/maildomain"
	"github.com/mailwire/mailwire/sessions/resolver"
	"github.com/mailwire/mailwire/sessions/resolver/resolvertest"
)

// policyServer serves MTA-STS policies over HTTPS on loopback, by SNI,
// with a certificate from a CA made here; it returns its port and the CA.
func policyServer(t *testing.T, policies map[string]string) (int, *x509.Certificate) {
	t.Helper()
	now := time.Now()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "scan test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTpl, caTpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	var names []string
	for h := range policies {
		names = append(names, h)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.Host)
		body, ok := policies[host]
		if !ok || r.URL.Path != "/.well-known/mta-sts.txt" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte(body))
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der, caDER}, PrivateKey: key}}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().(*net.TCPAddr).Port, ca
}

// labLeaf returns the lab's leaf certificate, as its implicit-TLS port
// presents it.
func labLeaf(t *testing.T, l *lab.Lab) *x509.Certificate {
	t.Helper()
	e, _ := l.Endpoint(465)
	c, err := tls.Dial("tcp", e.Addr, &tls.Config{ServerName: lab.Hostname, RootCAs: l.RootCAs()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0]
}

func spkiHash(c *x509.Certificate) string {
	s := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(s[:])
}

// TestScanDomain: a signed test hierarchy on loopback, an HTTPS policy
// server, and the lab as both MX hosts of lab.test: mail.lab.test, whose
// TLSA record matches the lab's key and whose name its certificate
// covers, and mx2.lab.test, whose TLSA record is stale and whose name the
// certificate does not cover. Both are found, on port 25 after STARTTLS.
func TestScanDomain(t *testing.T) {
	l := startLab(t)
	leaf := labLeaf(t, l)
	smtp, _ := l.Endpoint(25)
	_, mxPort, _ := net.SplitHostPort(smtp.Addr)
	policyPort, policyCA := policyServer(t, map[string]string{
		"mta-sts.lab.test":     "version: STSv1\nmode: enforce\nmx: mail.lab.test\nmx: mx2.lab.test\nmax_age: 1209600\n",
		"mta-sts.testing.test": "version: STSv1\nmode: testing\nmx: mx.testing.test\nmax_age: 1209600\n",
	})
	now := time.Now()
	h := resolvertest.New(now)
	root := h.Zone(".", dns.ECDSAP256SHA256)
	tld := h.Zone("test.", dns.ECDSAP256SHA256)
	zone := h.Zone("lab.test.", dns.ECDSAP256SHA256)
	zone.Add(
		"lab.test. 300 IN MX 10 mail.lab.test.",
		"lab.test. 300 IN MX 20 mx2.lab.test.",
		"mail.lab.test. 300 IN A 127.0.0.1",
		"mx2.lab.test. 300 IN A 127.0.0.1",
		"_25._tcp.mail.lab.test. 300 IN TLSA 3 1 1 "+spkiHash(leaf),
		"_25._tcp.mx2.lab.test. 300 IN TLSA 3 1 1 "+strings.Repeat("0f", 32),
		"_mta-sts.lab.test. 300 IN TXT \"v=STSv1; id=20260101\"",
		"mta-sts.lab.test. 300 IN A 127.0.0.1",
		"_smtp._tls.lab.test. 300 IN TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@lab.test\"",
	)
	unsigned := h.Zone("testing.test.", 0)
	unsigned.Add(
		"testing.test. 300 IN MX 10 mx.testing.test.",
		"mx.testing.test. 300 IN A 127.0.0.1",
		"_mta-sts.testing.test. 300 IN TXT \"v=STSv1; id=1\"",
		"mta-sts.testing.test. 300 IN A 127.0.0.1",
	)
	h.Delegate(root, tld, true)
	h.Delegate(tld, zone, true)
	h.Delegate(tld, unsigned, false)
	if err := h.Sign(); err != nil {
		t.Fatal(err)
	}
	r, err := resolver.New(resolver.Config{Server: h.Serve(t), Anchors: h.Anchor()})
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(l.CACertPEM())
	roots.AddCert(policyCA)
	port := func(s string) int {
		var n int
		fmt.Sscan(s, &n)
		return n
	}
	o := DomainOptions{Domain: "lab.test", Resolver: r, MXPort: port(mxPort), HTTPSPort: policyPort,
		Host: Options{Roots: roots, Timeout: 30 * time.Second}}
	rep := ScanDomain(context.Background(), o)
	if testing.Verbose() {
		DomainText(os.Stdout, rep, 100)
	}
	mx := func(host string) []string {
		var out []string
		for _, f := range rep.Findings {
			if f.Host == host && f.Port == 25 {
				out = append(out, string(f.Grade)+" "+f.Key)
			}
		}
		return out
	}
	want := map[string][]string{
		"mail.lab.test": {"ok " + maildomain.KeyDANEMatch, "ok " + KeyMXCertOK, "ok " + KeyStartTLSOffered, "ok " + KeyInjectionSafe},
		"mx2.lab.test":  {"bad " + maildomain.KeyDANEUnmatched, "bad " + KeyMXCertInvalid, "ok " + KeyStartTLSOffered},
	}
	for host, keys := range want {
		got := mx(host)
		for _, k := range keys {
			if !containsStr(got, k) {
				t.Errorf("%s: findings %v lack %q", host, got, k)
			}
		}
	}
	for _, k := range []string{"ok " + maildomain.KeySTSPolicyOK, "ok " + maildomain.KeySTSModeEnforce, "ok " + maildomain.KeyTLSRPTOK,
		"ok " + maildomain.KeyDANEPresent, "ok " + maildomain.KeySTARTTLSPolicyRetired} {
		found := false
		for _, f := range rep.Findings {
			found = found || f.Port == 0 && string(f.Grade)+" "+f.Key == k
		}
		if !found {
			t.Errorf("DNS findings lack %q", k)
		}
	}
	if len(rep.MX) != 2 || rep.MX[0].Host != "mail.lab.test" || len(rep.MX[0].DANE) != 1 || !rep.MX[0].DANE[0].Matched ||
		rep.MX[1].DANE[0].Matched || rep.Worst != Bad {
		t.Errorf("MX %+v, worst %s", rep.MX, rep.Worst)
	}

	// An unsigned domain whose policy is in testing mode: the MX host's
	// certificate (the lab's, not for mx.testing.test) is a warning, and
	// DANE cannot apply.
	o.Domain = "testing.test"
	rep = ScanDomain(context.Background(), o)
	var got []string
	for _, f := range rep.Findings {
		got = append(got, string(f.Grade)+" "+f.Key)
	}
	for _, k := range []string{"warn " + KeyMXCertInvalid, "warn " + maildomain.KeySTSModeTesting, "warn " + maildomain.KeyDANEMXInsecure} {
		if !containsStr(got, k) {
			t.Errorf("testing.test: findings %v lack %q", got, k)
		}
	}
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
