package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
)

// A small PKI made in the test: a root, an intermediate it signed, and
// leaves of every shape the table needs.

var now = time.Date(2030, 6, 15, 12, 0, 0, 0, time.UTC)

type issuer struct {
	cert *x509.Certificate
	key  crypto.Signer
}

var (
	rsaOnce sync.Once
	rsa1024 *rsa.PrivateKey
)

// key returns a fresh P-256 key: each certificate of the test PKI has its
// own, as real ones do, so that no signature checks out by accident.
func key() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

// weakKey is a 1024-bit RSA key, made once: it is slow to make.
func weakKey() *rsa.PrivateKey {
	rsaOnce.Do(func() {
		var err error
		if rsa1024, err = rsa.GenerateKey(rand.Reader, 1024); err != nil {
			panic(err)
		}
	})
	return rsa1024
}

var serial int64

func tmpl(cn string) *x509.Certificate {
	serial++
	return &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
		NotBefore: now.AddDate(0, -1, 0), NotAfter: now.AddDate(0, 2, 0),
		BasicConstraintsValid: true,
	}
}

func caTmpl(cn string) *x509.Certificate {
	t := tmpl(cn)
	t.IsCA = true
	t.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
	return t
}

func leafTmpl(names ...string) *x509.Certificate {
	t := tmpl(names[0])
	t.DNSNames = names
	t.KeyUsage = x509.KeyUsageDigitalSignature
	t.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	return t
}

func sign(t *testing.T, tpl *x509.Certificate, parent *issuer, pub crypto.PublicKey, priv crypto.Signer) *x509.Certificate {
	t.Helper()
	p, pk := tpl, priv
	if parent != nil {
		p, pk = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, p, pub, pk)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newRoot(t *testing.T, cn string) *issuer {
	k := key()
	return &issuer{sign(t, caTmpl(cn), nil, k.Public(), k), k}
}

func (is *issuer) sub(t *testing.T, cn string) *issuer {
	k := key()
	return &issuer{sign(t, caTmpl(cn), is, k.Public(), k), k}
}

func (is *issuer) leaf(t *testing.T, edit func(*x509.Certificate)) *x509.Certificate {
	tpl := leafTmpl("mail.example.test", "smtp.example.test")
	tpl.IssuingCertificateURL = []string{"http://ca.example.test/" + is.cert.Subject.CommonName + ".der"}
	var pub crypto.PublicKey = key().Public()
	if edit != nil {
		edit(tpl)
		if tpl.KeyUsage&x509.KeyUsageKeyEncipherment != 0 {
			pub = weakKey().Public()
		}
	}
	return sign(t, tpl, is, pub, nil)
}

func pool(cs ...*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range cs {
		p.AddCert(c)
	}
	return p
}

// kinds lists the problems as "kind@cert" ("!" marks fatal ones), in order.
func kinds(ch *Chain) []string {
	var out []string
	for _, p := range ch.Problems {
		s := string(p.Kind) + "@" + string(rune('0'+p.Cert))
		if p.Cert < 0 {
			s = string(p.Kind) + "@-"
		}
		if p.Fatal {
			s = "!" + s
		}
		out = append(out, s)
	}
	return out
}

func TestAnalyze(t *testing.T) {
	root := newRoot(t, "Test Root")
	inter := root.sub(t, "Test Intermediate")
	other := newRoot(t, "Other Root")
	good := inter.leaf(t, nil)
	oldRootKey := key()
	oldRoot := &issuer{sign(t, func() *x509.Certificate {
		c := caTmpl("Old Root")
		c.NotBefore, c.NotAfter = now.AddDate(-5, 0, 0), now.AddDate(0, 0, -1)
		return c
	}(), nil, oldRootKey.Public(), oldRootKey), oldRootKey}
	underOldKey := key()
	underOld := &issuer{sign(t, func() *x509.Certificate {
		c := caTmpl("Intermediate under Old Root")
		c.NotBefore, c.NotAfter = now.AddDate(-1, 0, 0), now.AddDate(1, 0, 0)
		return c
	}(), oldRoot, underOldKey.Public(), underOldKey), underOldKey}
	k := key()
	k2 := key()

	selfTpl := leafTmpl("mail.example.test")
	selfSigned := sign(t, selfTpl, nil, k.Public(), k)
	noAIA := inter.leaf(t, func(c *x509.Certificate) { c.IssuingCertificateURL = nil })
	direct := root.leaf(t, func(c *x509.Certificate) { c.IssuingCertificateURL = nil })
	expiredInter := &issuer{sign(t, func() *x509.Certificate {
		c := caTmpl("Old Intermediate")
		c.NotBefore, c.NotAfter = now.AddDate(-2, 0, 0), now.AddDate(0, 0, -3)
		return c
	}(), root, k2.Public(), k2), k2}
	oldCross := sign(t, func() *x509.Certificate {
		c := caTmpl("Unrelated Old CA")
		c.NotBefore, c.NotAfter = now.AddDate(-3, 0, 0), now.AddDate(-1, 0, 0)
		return c
	}(), nil, k.Public(), k)

	tests := []struct {
		name     string
		chain    []*x509.Certificate
		roots    *x509.CertPool
		check    string
		want     []string // kinds()
		key      string
		verified bool
		anchor   string
		describe string // in Describe of the first problem
	}{
		{name: "ok with intermediate", chain: []*x509.Certificate{good, inter.cert}, roots: pool(root.cert),
			check: "mail.example.test", key: KeyOK, verified: true, anchor: "CN=Test Root"},
		{name: "ok leaf from the root", chain: []*x509.Certificate{direct}, roots: pool(root.cert),
			check: "smtp.example.test", key: KeyOK, verified: true, anchor: "CN=Test Root"},
		{name: "ok in any order", chain: []*x509.Certificate{good, root.cert, inter.cert}, roots: pool(root.cert),
			check: "mail.example.test", key: KeyOK, verified: true, anchor: "CN=Test Root"},
		{name: "no name checked", chain: []*x509.Certificate{good, inter.cert}, roots: pool(root.cert),
			key: KeyOK, verified: true, anchor: "CN=Test Root"},
		{name: "expired", chain: []*x509.Certificate{inter.leaf(t, func(c *x509.Certificate) {
			c.NotBefore, c.NotAfter = now.AddDate(0, -3, 0), now.AddDate(0, 0, -30)
		}), inter.cert}, roots: pool(root.cert), check: "mail.example.test",
			want: []string{"!expired@0"}, key: "tls.verify.expired", describe: "the leaf [0] expired on 2030-05-16 12:00 UTC, 30 days before the check"},
		{name: "not yet valid", chain: []*x509.Certificate{inter.leaf(t, func(c *x509.Certificate) {
			c.NotBefore, c.NotAfter = now.AddDate(0, 0, 30), now.AddDate(0, 3, 0)
		}), inter.cert}, roots: pool(root.cert), check: "mail.example.test",
			want: []string{"!not_yet_valid@0"}, key: "tls.verify.not_yet_valid", describe: "is valid only from 2030-07-15 12:00 UTC, 30 days after the check"},
		{name: "wrong name", chain: []*x509.Certificate{good, inter.cert}, roots: pool(root.cert), check: "mx.other.test",
			want: []string{"!hostname@0"}, key: "tls.verify.hostname",
			describe: "is not valid for mx.other.test: it covers DNS:mail.example.test, DNS:smtp.example.test"},
		{name: "wrong name, IP", chain: []*x509.Certificate{good, inter.cert}, roots: pool(root.cert), check: "192.0.2.1",
			want: []string{"!hostname@0"}, key: "tls.verify.hostname"},
		{name: "expired and wrong name and unknown", chain: []*x509.Certificate{inter.leaf(t, func(c *x509.Certificate) {
			c.NotAfter = now.AddDate(0, 0, -1)
		}), inter.cert}, roots: pool(other.cert), check: "mx.other.test",
			want: []string{"!expired@0", "!hostname@0", "!unknown_authority@1"}, key: "tls.verify.expired"},
		{name: "self-signed", chain: []*x509.Certificate{selfSigned}, roots: pool(root.cert), check: "mail.example.test",
			want: []string{"!self_signed@0"}, key: "tls.verify.self_signed", describe: "the leaf [0] is self-signed"},
		{name: "self-signed but trusted", chain: []*x509.Certificate{selfSigned}, roots: pool(selfSigned), check: "mail.example.test",
			key: KeyOK, verified: true, anchor: "CN=mail.example.test"},
		{name: "intermediate from an unknown root", chain: []*x509.Certificate{good, inter.cert}, roots: pool(other.cert),
			check: "mail.example.test", want: []string{"!unknown_authority@1"}, key: "tls.verify.unknown_authority",
			describe: "the intermediate [1] was issued by CN=Test Root, which is not among the trusted roots"},
		{name: "root sent but not trusted", chain: []*x509.Certificate{good, inter.cert, root.cert}, roots: pool(other.cert),
			check: "mail.example.test", want: []string{"!unknown_authority@2"}, key: "tls.verify.unknown_authority",
			describe: "the chain ends at the root [2], CN=Test Root, which is not among the trusted roots"},
		{name: "missing intermediate", chain: []*x509.Certificate{good}, roots: pool(root.cert), check: "mail.example.test",
			want: []string{"!incomplete_chain@0"}, key: "tls.verify.incomplete_chain",
			describe: "issued by CN=Test Intermediate, whose certificate the server did not send; the leaf says it is published at http://ca.example.test/Test Intermediate.der"},
		{name: "missing issuer, no AIA", chain: []*x509.Certificate{noAIA}, roots: pool(root.cert), check: "mail.example.test",
			want: []string{"!unknown_authority@0"}, key: "tls.verify.unknown_authority"},
		{name: "private CA, leaf only, not given", chain: []*x509.Certificate{direct}, roots: pool(other.cert), check: "mail.example.test",
			want: []string{"!unknown_authority@0"}, key: "tls.verify.unknown_authority"},
		{name: "weak key verifies", chain: []*x509.Certificate{inter.leaf(t, func(c *x509.Certificate) {
			c.KeyUsage |= x509.KeyUsageKeyEncipherment
		}), inter.cert}, roots: pool(root.cert), check: "mail.example.test",
			want: []string{"weak_key@0"}, key: KeyOK, verified: true, anchor: "CN=Test Root",
			describe: "the leaf [0] has an RSA key of 1024 bits; at least 2048 are required"},
		{name: "sha1 leaf, intermediate sent", chain: []*x509.Certificate{inter.leaf(t, func(c *x509.Certificate) {
			c.SignatureAlgorithm = x509.ECDSAWithSHA1
		}), inter.cert}, roots: pool(root.cert), check: "mail.example.test",
			want: []string{"!sha1_signature@0"}, key: "tls.verify.sha1_signature",
			describe: "the leaf [0] is signed with ECDSA-SHA1, which current clients refuse to check"},
		{name: "sha1 leaf, leaf only", chain: []*x509.Certificate{root.leaf(t, func(c *x509.Certificate) {
			c.SignatureAlgorithm = x509.ECDSAWithSHA1
		})}, roots: pool(root.cert), check: "mail.example.test",
			want: []string{"!sha1_signature@0"}, key: "tls.verify.sha1_signature"},
		{name: "expired intermediate", chain: []*x509.Certificate{expiredInter.leaf(t, nil), expiredInter.cert},
			roots: pool(root.cert), check: "mail.example.test",
			want: []string{"!expired@1"}, key: "tls.verify.expired", describe: "the intermediate [1] expired on"},
		{name: "stale extra certificate", chain: []*x509.Certificate{good, inter.cert, oldCross}, roots: pool(root.cert),
			check: "mail.example.test", want: []string{"expired@2"}, key: KeyOK, verified: true, anchor: "CN=Test Root"},
		{name: "client-auth only", chain: []*x509.Certificate{inter.leaf(t, func(c *x509.Certificate) {
			c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		}), inter.cert}, roots: pool(root.cert), check: "mail.example.test",
			want: []string{"!invalid@0"}, key: "tls.verify.invalid", describe: "the leaf [0]: x509: certificate specifies an incompatible key usage"},
		{name: "no certificate", roots: pool(root.cert), check: "mail.example.test",
			want: []string{"!failed@-"}, key: "tls.verify.failed", describe: "the server sent no certificate"},
		{name: "expired trusted root", chain: []*x509.Certificate{underOld.leaf(t, nil), underOld.cert}, roots: pool(oldRoot.cert),
			check: "mail.example.test", want: []string{"!expired@-"}, key: "tls.verify.expired",
			describe: "a trusted root above the chain has expired: x509: certificate has expired or is not yet valid: current time 2030-06-15T12:00:00Z is after 2030-06-14T12:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch, err := Analyze(tt.chain, Check{Name: tt.check, Roots: tt.roots, Now: now})
			if got := kinds(ch); !slices.Equal(got, tt.want) {
				t.Errorf("problems %v; want %v (err %v)", got, tt.want, err)
			}
			if ch.Key() != tt.key {
				t.Errorf("Key %q; want %q", ch.Key(), tt.key)
			}
			if ch.Verified() != tt.verified || (err == nil) != tt.verified {
				t.Errorf("Verified %v, err %v; want verified %v", ch.Verified(), err, tt.verified)
			}
			if ch.Anchor != tt.anchor {
				t.Errorf("Anchor %q; want %q", ch.Anchor, tt.anchor)
			}
			if !ch.CheckedAt.Equal(now) || ch.Name != tt.check || len(ch.Certs) != len(tt.chain) {
				t.Errorf("chain %q at %v with %d certs", ch.Name, ch.CheckedAt, len(ch.Certs))
			}
			for _, p := range ch.Problems {
				if p.Annotation != p.Kind.Key() || !slices.Contains(Kinds(), p.Kind) {
					t.Errorf("problem %+v: annotation or kind not in Kinds", p)
				}
				if d := ch.Describe(p); d == "" || strings.Contains(d, "%!") {
					t.Errorf("Describe(%+v) = %q", p, d)
				}
			}
			if tt.describe != "" {
				if len(ch.Problems) == 0 {
					t.Fatal("no problem to describe")
				}
				if d := ch.Describe(ch.Problems[0]); !strings.Contains(d, tt.describe) {
					t.Errorf("Describe = %q; want it to contain %q", d, tt.describe)
				}
			}
			// The typed result agrees with crypto/x509's own verdict.
			if err != nil && ErrorKind(err) == "" && tt.key != "tls.verify.failed" {
				t.Errorf("crypto/x509 error %v is not classified", err)
			}
		})
	}
}

func TestAnalyzeBoundsCerts(t *testing.T) {
	root := newRoot(t, "Test Root")
	chain := []*x509.Certificate{root.leaf(t, nil)}
	for range MaxCerts + 3 {
		chain = append(chain, root.cert)
	}
	ch, err := Analyze(chain, Check{Name: "mail.example.test", Roots: pool(root.cert), Now: now})
	if err != nil || len(ch.Certs) != MaxCerts || ch.MoreCerts != 4 {
		t.Errorf("err %v, %d certs, %d more", err, len(ch.Certs), ch.MoreCerts)
	}
}

func TestFacts(t *testing.T) {
	root := newRoot(t, "Test Root")
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	staple := pkix.Extension{Id: oidTLSFeature, Value: []byte{0x30, 0x03, 0x02, 0x01, 0x05}}
	scts := pkix.Extension{Id: oidSCTList, Value: sctExtension(t, []SCT{
		{LogID: strings.Repeat("A", 43) + "=", Time: now.Add(-time.Hour)},
		{LogID: strings.Repeat("B", 43) + "=", Time: now.Add(-2 * time.Hour)},
	})}

	for _, tt := range []struct {
		name  string
		pub   crypto.PublicKey
		exts  []pkix.Extension
		key   string
		bits  int
		check func(Cert) string
	}{
		{name: "rsa", pub: rsaKey.Public(), key: "RSA 2048 bits", bits: 2048},
		{name: "p384", pub: p384.Public(), key: "ECDSA P-384", bits: 384},
		{name: "ed25519", pub: edPub, key: "Ed25519", bits: 256},
		{name: "must-staple and scts", pub: key().Public(), key: "ECDSA P-256", bits: 256, exts: []pkix.Extension{staple, scts},
			check: func(c Cert) string {
				if !c.MustStaple || len(c.SCTs) != 2 || c.SCTsMalformed || !c.SCTs[1].Time.Equal(now.Add(-2*time.Hour)) ||
					c.SCTs[0].LogID != strings.Repeat("A", 43)+"=" {
					return "must-staple or SCTs not decoded"
				}
				return ""
			}},
		{name: "tls feature without status_request", pub: key().Public(), key: "ECDSA P-256", bits: 256,
			exts: []pkix.Extension{{Id: oidTLSFeature, Value: []byte{0x30, 0x03, 0x02, 0x01, 0x11}}},
			check: func(c Cert) string {
				if c.MustStaple {
					return "must-staple from status_request_v2 alone"
				}
				return ""
			}},
		{name: "malformed scts", pub: key().Public(), key: "ECDSA P-256", bits: 256,
			exts: []pkix.Extension{{Id: oidSCTList, Value: []byte{0x04, 0x01, 0x00}}},
			check: func(c Cert) string {
				if !c.SCTsMalformed {
					return "malformed SCT list not flagged"
				}
				return ""
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tpl := leafTmpl("mail.example.test")
			tpl.IPAddresses = []net.IP{net.ParseIP("192.0.2.7")}
			tpl.EmailAddresses = []string{"postmaster@example.test"}
			tpl.IssuingCertificateURL = []string{"http://ca.example.test/root.der"}
			tpl.ExtraExtensions = tt.exts
			c := sign(t, tpl, root, tt.pub, nil)
			f := Facts(c)
			spki := sha256.Sum256(c.RawSubjectPublicKeyInfo)
			whole := sha256.Sum256(c.Raw)
			switch {
			case f.KeyText() != tt.key || f.KeyBits != tt.bits:
				t.Errorf("key %q %d bits; want %q %d", f.KeyText(), f.KeyBits, tt.key, tt.bits)
			case f.SHA256 != hex.EncodeToString(whole[:]) || f.SPKISHA256 != hex.EncodeToString(spki[:]):
				t.Errorf("fingerprints %s %s", f.SHA256, f.SPKISHA256)
			case f.Subject != "CN=mail.example.test" || f.Issuer != "CN=Test Root" || f.CA || f.SelfSigned:
				t.Errorf("names or flags: %+v", f)
			case f.NamesText() != "DNS:mail.example.test, IP:192.0.2.7, email:postmaster@example.test":
				t.Errorf("names %q", f.NamesText())
			case f.SignatureAlgorithm != "ECDSA-SHA256" || !slices.Equal(f.IssuerURLs, tpl.IssuingCertificateURL):
				t.Errorf("signature %q, issuer URLs %v", f.SignatureAlgorithm, f.IssuerURLs)
			case f.Serial != tpl.SerialNumber.Text(16):
				t.Errorf("serial %q", f.Serial)
			}
			if tt.check != nil {
				if msg := tt.check(f); msg != "" {
					t.Error(msg)
				}
			}
		})
	}
	if f := Facts(root.cert); !f.CA || !f.SelfSigned {
		t.Errorf("root: CA %v, self-signed %v", f.CA, f.SelfSigned)
	}
}

func TestFactsBoundsNames(t *testing.T) {
	root := newRoot(t, "Test Root")
	names := make([]string, MaxNames+25)
	for i := range names {
		names[i] = "n" + big.NewInt(int64(i)).String() + ".example.test"
	}
	tpl := leafTmpl(names...)
	tpl.IPAddresses = []net.IP{net.ParseIP("192.0.2.1")}
	f := Facts(sign(t, tpl, root, key().Public(), nil))
	if len(f.DNSNames) != MaxNames || len(f.IPAddresses) != 0 || f.MoreNames != 26 ||
		!strings.HasSuffix(f.NamesText(), ", and 26 more") {
		t.Errorf("%d DNS names, %d IPs, %d more", len(f.DNSNames), len(f.IPAddresses), f.MoreNames)
	}
}

// sctExtension encodes scts as RFC 6962 §3.3 embeds them.
func sctExtension(t *testing.T, scts []SCT) []byte {
	t.Helper()
	der, err := encodeSCTs(scts)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func encodeSCTs(scts []SCT) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddUint16LengthPrefixed(func(list *cryptobyte.Builder) {
		for _, s := range scts {
			list.AddUint16LengthPrefixed(func(sct *cryptobyte.Builder) {
				raw, err := base64.StdEncoding.DecodeString(s.LogID)
				if err != nil || len(raw) != 32 {
					sct.SetError(fmt.Errorf("log ID %q: want 32 bytes in base64", s.LogID))
					return
				}
				sct.AddUint8(0) // v1
				sct.AddBytes(raw)
				sct.AddUint64(uint64(s.Time.UnixMilli()))
				sct.AddUint16LengthPrefixed(func(*cryptobyte.Builder) {})
				sct.AddUint8(4) // SHA-256
				sct.AddUint8(3) // ECDSA
				sct.AddUint16LengthPrefixed(func(sig *cryptobyte.Builder) { sig.AddBytes([]byte{1, 2, 3}) })
			})
		}
	})
	inner, err := b.Bytes()
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(inner)
}

func TestErrorKind(t *testing.T) {
	root := newRoot(t, "Test Root")
	leaf := root.leaf(t, nil)
	// ErrorKind has no check time: it tells the two date failures apart
	// by the real clock.
	past := root.leaf(t, func(c *x509.Certificate) {
		c.NotBefore, c.NotAfter = time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour)
	})
	future := root.leaf(t, func(c *x509.Certificate) { c.NotBefore = time.Now().Add(time.Hour) })
	for _, tt := range []struct {
		err  error
		want Kind
	}{
		{x509.HostnameError{Certificate: leaf, Host: "x"}, WrongName},
		{x509.UnknownAuthorityError{Cert: leaf}, UnknownAuthority},
		{x509.UnknownAuthorityError{Cert: root.cert}, SelfSigned},
		{x509.CertificateInvalidError{Cert: past, Reason: x509.Expired}, Expired},
		{x509.CertificateInvalidError{Cert: future, Reason: x509.Expired}, NotYetValid},
		{x509.CertificateInvalidError{Cert: leaf, Reason: x509.IncompatibleUsage}, Invalid},
		{x509.InsecureAlgorithmError(x509.SHA1WithRSA), SHA1Signature},
		{x509.SystemRootsError{}, Failed},
		{errors.New("tls: handshake failure"), ""},
	} {
		if got := ErrorKind(tt.err); got != tt.want {
			t.Errorf("ErrorKind(%v) = %q; want %q", tt.err, got, tt.want)
		}
	}
}
