package maildomain_test

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
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions/maildomain"
	"github.com/mailwire/mailwire/sessions/resolver"
	"github.com/mailwire/mailwire/sessions/resolver/resolvertest"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// pki is a CA made in the test and the certificates it issues.
type pki struct {
	ca    *x509.Certificate
	caKey *ecdsa.PrivateKey
	pool  *x509.CertPool
}

func newPKI(t testing.TB, cn string) *pki {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: now.Add(-24 * time.Hour), NotAfter: now.Add(365 * 24 * time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &pki{ca: ca, caKey: key, pool: pool}
}

var serial int64 = 100

func (p *pki) leaf(t testing.TB, names ...string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial++
	tpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: names[0]},
		DNSNames: names, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(90 * 24 * time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, key
}

func (p *pki) tlsCert(t testing.TB, names ...string) tls.Certificate {
	c, k := p.leaf(t, names...)
	return tls.Certificate{Certificate: [][]byte{c.Raw, p.ca.Raw}, PrivateKey: k, Leaf: c}
}

func spkiSHA256(c *x509.Certificate) string {
	s := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(s[:])
}

const validPolicy = "version: STSv1\r\nmode: enforce\r\nmx: mx.example.test\r\nmx: *.example.test\r\nmax_age: 1209600\r\n"

// policies maps each policy host to how it answers.
var policies = map[string]func(w http.ResponseWriter){
	"mta-sts.valid.example.test": func(w http.ResponseWriter) { plain(w, validPolicy) },
	"mta-sts.testing.example.test": func(w http.ResponseWriter) {
		plain(w, "version: STSv1\nmode: testing\nmx: mx.example.test\nmax_age: 86400\n")
	},
	"mta-sts.unmatched.example.test": func(w http.ResponseWriter) {
		plain(w, "version: STSv1\nmode: enforce\nmx: mail.example.net\nmax_age: 1209600\n")
	},
	"mta-sts.redirect.example.test": func(w http.ResponseWriter) {
		w.Header().Set("Location", "https://mta-sts.valid.example.test/.well-known/mta-sts.txt")
		w.WriteHeader(http.StatusMovedPermanently)
	},
	"mta-sts.notfound.example.test": func(w http.ResponseWriter) { http.Error(w, "no", http.StatusNotFound) },
	"mta-sts.ctype.example.test": func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(validPolicy))
	},
	"mta-sts.wrongcert.example.test": func(w http.ResponseWriter) { plain(w, validPolicy) },
	"mta-sts.oversize.example.test": func(w http.ResponseWriter) {
		plain(w, validPolicy+strings.Repeat("x-pad: "+strings.Repeat("a", 90)+"\n", 800))
	},
	"mta-sts.badsyntax.example.test": func(w http.ResponseWriter) {
		plain(w, "version: STSv1\nmode: sometimes\nmx: mx.example.test\nmax_age: 86400\n")
	},
}

func plain(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte(body))
}

// world is the DNS hierarchy, the policy server and a Checker for them.
type world struct {
	h       *resolvertest.Hierarchy
	checker *maildomain.Checker
	pki     *pki
	mxLeaf  *x509.Certificate
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{pki: newPKI(t, "mailwire test CA")}
	mxCert, _ := w.pki.leaf(t, "mx.example.test")
	w.mxLeaf = mxCert

	// The policy server, on loopback, with certificates by SNI.
	good := w.pki.tlsCert(t, "*.valid.example.test", "mta-sts.valid.example.test", "mta-sts.testing.example.test",
		"mta-sts.unmatched.example.test", "mta-sts.redirect.example.test", "mta-sts.notfound.example.test",
		"mta-sts.ctype.example.test", "mta-sts.oversize.example.test", "mta-sts.badsyntax.example.test")
	wrong := w.pki.tlsCert(t, "www.example.test")
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.Host)
		if r.URL.Path != "/.well-known/mta-sts.txt" {
			http.NotFound(rw, r)
			return
		}
		if f := policies[host]; f != nil {
			f(rw)
			return
		}
		http.NotFound(rw, r)
	}))
	srv.TLS = &tls.Config{GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		if hello.ServerName == "mta-sts.wrongcert.example.test" {
			return &wrong, nil
		}
		return &good, nil
	}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	port := srv.Listener.Addr().(*net.TCPAddr).Port

	h := resolvertest.New(now)
	root := h.Zone(".", dns.ECDSAP256SHA256)
	tld := h.Zone("test.", dns.ECDSAP256SHA256)
	ex := h.Zone("example.test.", dns.ED25519)
	ex.NSEC3 = true
	ex.Add(
		"mx.example.test. 300 IN A 127.0.0.1",
		"mx2.example.test. 300 IN A 127.0.0.1",
		"mx3.example.test. 300 IN A 127.0.0.1",
		"alias.example.test. 300 IN CNAME mx.example.test.",
		fmt.Sprintf("_25._tcp.mx.example.test. 300 IN TLSA 3 1 1 %s", spkiSHA256(mxCert)),
		"_25._tcp.mx.example.test. 300 IN TLSA 0 0 1 "+strings.Repeat("ab", 32),
		"nullmx.example.test. 300 IN MX 0 .",
		"mixed.example.test. 300 IN MX 0 .",
		"mixed.example.test. 300 IN MX 10 mx.example.test.",
		"implicit.example.test. 300 IN A 127.0.0.1",
		"nomail.example.test. 300 IN TXT \"no mail here\"",
		"aliasmx.example.test. 300 IN MX 10 alias.example.test.",
		"servfail.example.test. 300 IN MX 10 mx3.example.test.",
		"multi.example.test. 300 IN MX 10 mx.example.test.",
		"_mta-sts.multi.example.test. 300 IN TXT \"v=STSv1; id=a1\"",
		"_mta-sts.multi.example.test. 300 IN TXT \"v=STSv1; id=b2\"",
		"_smtp._tls.multi.example.test. 300 IN TXT \"v=TLSRPTv1; rua=mailto:a@example.test\"",
		"_smtp._tls.multi.example.test. 300 IN TXT \"v=TLSRPTv1; rua=mailto:b@example.test\"",
		"badid.example.test. 300 IN MX 10 mx.example.test.",
		"_mta-sts.badid.example.test. 300 IN TXT \"v=STSv1; id=2026-03-01\"",
		"_smtp._tls.badid.example.test. 300 IN TXT \"v=TLSRPTv1; rua=ftp://reports.example.test\"",
	)
	for _, d := range []string{"valid", "testing", "unmatched", "redirect", "notfound", "ctype", "wrongcert", "oversize", "badsyntax"} {
		ex.Add(
			fmt.Sprintf("%s.example.test. 300 IN MX 10 mx.example.test.", d),
			fmt.Sprintf("%s.example.test. 300 IN MX 20 mx2.example.test.", d),
			fmt.Sprintf("_mta-sts.%s.example.test. 300 IN TXT \"v=STSv1; id=20260301T120000;\"", d),
			fmt.Sprintf("mta-sts.%s.example.test. 300 IN A 127.0.0.1", d),
			fmt.Sprintf("_smtp._tls.%s.example.test. 300 IN TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@example.test,https://reports.example.test/v1\"", d),
		)
	}
	un := h.Zone("unsigned.test.", 0)
	un.Add("plain.unsigned.test. 300 IN MX 10 mx.unsigned.test.", "mx.unsigned.test. 300 IN A 127.0.0.1",
		"_25._tcp.mx.unsigned.test. 300 IN TLSA 3 1 1 "+spkiSHA256(mxCert))
	h.Delegate(root, tld, true)
	h.Delegate(tld, ex, true)
	h.Delegate(tld, un, false)
	if err := h.Sign(); err != nil {
		t.Fatal(err)
	}
	h.ServFail["_25._tcp.mx3.example.test."] = true
	w.h = h
	r, err := resolver.New(resolver.Config{Server: h.Serve(t), Anchors: h.Anchor(), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	w.checker = &maildomain.Checker{Resolver: r, Roots: w.pki.pool, HTTPSPort: port, Now: func() time.Time { return now },
		Timeout: 5 * time.Second}
	return w
}

// findings returns "grade annotation" for each finding of a check.
func findings(fs []maildomain.Finding, check string) []string {
	var out []string
	for _, f := range fs {
		if f.Check == check {
			out = append(out, string(f.Grade)+" "+f.Annotation)
		}
	}
	return out
}

func has(t *testing.T, fs []maildomain.Finding, check string, want ...string) {
	t.Helper()
	got := findings(fs, check)
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("%s findings %v lack %q", check, got, w)
		}
	}
}

func TestMTASTSPolicyCases(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		domain string
		want   []string
	}{
		{"valid.example.test", []string{"ok mtasts.txt.ok", "ok mtasts.policy.ok", "ok mtasts.mode.enforce", "ok mtasts.mx.matched"}},
		{"testing.example.test", []string{"warn mtasts.mode.testing", "warn mtasts.policy.max_age_short", "ok mtasts.mx.matched", "warn mtasts.mx.unmatched"}},
		{"unmatched.example.test", []string{"bad mtasts.mx.unmatched"}},
		{"redirect.example.test", []string{"bad mtasts.policy.redirect"}},
		{"notfound.example.test", []string{"bad mtasts.policy.status"}},
		{"ctype.example.test", []string{"bad mtasts.policy.content_type"}},
		{"wrongcert.example.test", []string{"bad mtasts.policy.certificate"}},
		{"oversize.example.test", []string{"bad mtasts.policy.too_large"}},
		{"badsyntax.example.test", []string{"bad mtasts.policy.syntax"}},
		{"multi.example.test", []string{"bad mtasts.txt.multiple"}},
		{"badid.example.test", []string{"bad mtasts.txt.invalid"}},
		{"nomail.example.test", []string{"warn mtasts.none"}},
	}
	for _, tt := range tests {
		t.Run(tt.domain, func(t *testing.T) {
			mx := w.checker.MX(context.Background(), tt.domain)
			var hosts []string
			for _, h := range mx.Hosts {
				hosts = append(hosts, h.Name)
			}
			res := w.checker.MTASTS(context.Background(), tt.domain, hosts)
			has(t, res.Findings, maildomain.CheckMTASTS, tt.want...)
			for _, f := range res.Findings {
				if f.Grade == maildomain.OK && strings.HasPrefix(f.Annotation, "mtasts.policy.") &&
					f.Annotation != maildomain.KeySTSPolicyOK {
					t.Errorf("unexpected %v", f)
				}
			}
			if tt.domain == "valid.example.test" {
				if res.Policy == nil || res.Policy.Mode != "enforce" || res.Policy.MaxAge != 1209600 ||
					!res.Policy.Matches("mx.example.test.") || res.Chain == nil || !res.Chain.Verified() ||
					res.TLSVersion < tls.VersionTLS12 {
					t.Errorf("policy %+v, chain %+v, version %x", res.Policy, res.Chain, res.TLSVersion)
				}
			} else if res.Policy != nil && tt.domain != "testing.example.test" && tt.domain != "unmatched.example.test" {
				t.Errorf("a policy was accepted: %+v", res.Policy)
			}
		})
	}
}

func TestMXCases(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		domain string
		want   []string
		hosts  int
	}{
		{"valid.example.test", []string{"ok mx.ok"}, 2},
		{"nullmx.example.test", []string{"ok mx.null"}, 0},
		{"mixed.example.test", []string{"bad mx.null_mixed", "ok mx.ok"}, 1},
		{"implicit.example.test", []string{"warn mx.implicit"}, 1},
		{"nomail.example.test", []string{"bad mx.none"}, 0},
		{"nothere.example.test", []string{"bad mx.nxdomain"}, 0},
		{"aliasmx.example.test", []string{"warn mx.cname", "ok mx.ok"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.domain, func(t *testing.T) {
			res := w.checker.MX(context.Background(), tt.domain)
			has(t, res.Findings, maildomain.CheckMX, tt.want...)
			if len(res.Hosts) != tt.hosts {
				t.Errorf("%d hosts, want %d: %+v", len(res.Hosts), tt.hosts, res.Hosts)
			}
		})
	}
	res := w.checker.MX(context.Background(), "valid.example.test")
	if res.Hosts[0].Name != "mx.example.test." || res.Hosts[0].Preference != 10 || res.Hosts[1].Preference != 20 ||
		len(res.Hosts[0].Addrs) != 1 || res.Hosts[0].Security != resolver.Secure {
		t.Errorf("hosts: %+v", res.Hosts)
	}
}

func TestTLSRPTCases(t *testing.T) {
	w := newWorld(t)
	for domain, want := range map[string]string{
		"valid.example.test":  "ok tlsrpt.ok",
		"multi.example.test":  "bad tlsrpt.multiple",
		"badid.example.test":  "bad tlsrpt.invalid",
		"nomail.example.test": "warn tlsrpt.none",
	} {
		res := w.checker.TLSRPT(context.Background(), domain)
		has(t, res.Findings, maildomain.CheckTLSRPT, want)
	}
}

func TestCheckDomain(t *testing.T) {
	w := newWorld(t)
	rep := w.checker.Check(context.Background(), "valid.example.test")
	has(t, rep.Findings, maildomain.CheckDANE, "ok dane.tlsa.present", "warn dane.tlsa.pkix_usage", "warn dane.tlsa.none")
	has(t, rep.Findings, maildomain.CheckDNSSEC, "ok dnssec.validation", "ok dnssec.secure")
	has(t, rep.Findings, maildomain.CheckSTARTTLSPolicy, "ok starttls_policy.retired")
	if len(rep.DANE) != 2 || !rep.DANE[0].Looked || rep.DANE[0].Usable != 1 || len(rep.DANE[0].Records) != 2 {
		t.Fatalf("DANE: %+v", rep.DANE)
	}
	// The scan hands the chain the MX presented after STARTTLS to Match.
	ms := maildomain.Match(rep.DANE[0].Records, []*x509.Certificate{w.mxLeaf, w.pki.ca}, "mx.example.test.", now)
	fs := maildomain.MatchFindings("mx.example.test", ms)
	has(t, fs, maildomain.CheckDANE, "ok dane.tlsa.match")
	if rep.Worst() != maildomain.Warn {
		t.Errorf("worst grade %s; findings %+v", rep.Worst(), rep.Findings)
	}

	sf := w.checker.Check(context.Background(), "servfail.example.test")
	has(t, sf.Findings, maildomain.CheckDANE, "bad dane.tlsa.lookup_failed")
	if !sf.DANE[0].Unusable || sf.Worst() != maildomain.Bad {
		t.Errorf("servfail: %+v", sf.DANE[0])
	}

	un := w.checker.Check(context.Background(), "plain.unsigned.test")
	has(t, un.Findings, maildomain.CheckDANE, "warn dane.mx_insecure")
	has(t, un.Findings, maildomain.CheckDNSSEC, "warn dnssec.insecure.no_ds")
	if un.DANE[0].Looked {
		t.Error("TLSA looked up under an insecure MX")
	}
}

func TestDetailsAreSafe(t *testing.T) {
	w := newWorld(t)
	for _, d := range []string{"valid.example.test", "badid.example.test", "redirect.example.test", "wrongcert.example.test"} {
		rep := w.checker.Check(context.Background(), d)
		for _, f := range rep.Findings {
			for _, r := range f.Detail {
				if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
					t.Errorf("%s: control character in %q", d, f.Detail)
				}
			}
		}
	}
}

// Every key a finding can carry has its own entry in content.
func TestKeysHaveWords(t *testing.T) {
	for _, k := range maildomain.Keys() {
		a, ok := content.Lookup(k)
		if !ok || a.Key != k {
			t.Errorf("key %q: entry %q, %v; want its own entry", k, a.Key, ok)
		}
	}
}
