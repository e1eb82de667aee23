package resolver_test

import (
	"context"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/mailwire/mailwire/sessions/resolver"
	"github.com/mailwire/mailwire/sessions/resolver/resolvertest"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// hierarchy builds the test tree:
//
//	.               RSASHA256 (8), NSEC, KSK+ZSK
//	test.           ECDSA P-256 (13), NSEC3 without opt-out
//	  secure.test.    Ed25519 (15), NSEC: MX, A, CNAME, wildcard, TLSA
//	  insecure.test.  unsigned, no DS (NSEC3 proves it)
//	  expired.test., badsig.test., mismatch.test.   broken on purpose
//	opt.            ECDSA P-384 (14), NSEC3 opt-out, 5 iterations, salt
//	  unsigned.opt.   unsigned, in the opt-out span
//	  signed.opt.     ECDSA P-256, secure
//	nsec.           RSASHA256, NSEC
//	  plain.nsec.     unsigned, no DS (NSEC proves it)
func hierarchy(t testing.TB) *resolvertest.Hierarchy {
	t.Helper()
	h := resolvertest.New(now)
	root := h.Zone(".", dns.RSASHA256)
	tld := h.Zone("test.", dns.ECDSAP256SHA256)
	tld.NSEC3 = true
	tld.Add("*.wild3.test. 300 IN A 127.0.0.4")
	sec := h.Zone("secure.test.", dns.ED25519)
	sec.Add(
		"secure.test. 300 IN MX 10 mx.secure.test.",
		"secure.test. 300 IN MX 20 mx2.secure.test.",
		"mx.secure.test. 300 IN A 127.0.0.1",
		"mx2.secure.test. 300 IN A 127.0.0.2",
		"alias.secure.test. 300 IN CNAME mx.secure.test.",
		"*.wild.secure.test. 300 IN A 127.0.0.3",
		"_25._tcp.mx.secure.test. 300 IN TLSA 3 1 1 0011223344556677889900112233445566778899001122334455667788990011",
	)
	ins := h.Zone("insecure.test.", 0)
	ins.Add("insecure.test. 300 IN MX 10 mx.insecure.test.", "mx.insecure.test. 300 IN A 127.0.0.1")
	exp := h.Zone("expired.test.", dns.ECDSAP256SHA256)
	exp.Break = resolvertest.Expired
	exp.Add("expired.test. 300 IN MX 10 mx.expired.test.")
	bad := h.Zone("badsig.test.", dns.ECDSAP256SHA256)
	bad.Break = resolvertest.BadSignature
	bad.Add("badsig.test. 300 IN MX 10 mx.badsig.test.")
	mis := h.Zone("mismatch.test.", dns.ECDSAP256SHA256)
	mis.Break = resolvertest.DSMismatch
	mis.Add("mismatch.test. 300 IN MX 10 mx.mismatch.test.")
	for _, c := range []*resolvertest.Zone{sec, ins, exp, bad, mis} {
		h.Delegate(tld, c, true)
	}
	opt := h.Zone("opt.", dns.ECDSAP384SHA384)
	opt.NSEC3, opt.OptOut, opt.Iterations, opt.Salt = true, true, 5, "AABBCCDD"
	uns := h.Zone("unsigned.opt.", 0)
	uns.Add("unsigned.opt. 300 IN TXT \"v=spf1 -all\"")
	sig := h.Zone("signed.opt.", dns.ECDSAP256SHA256)
	sig.Add("signed.opt. 300 IN TXT \"hello\"")
	h.Delegate(opt, uns, false)
	h.Delegate(opt, sig, true)
	nz := h.Zone("nsec.", dns.RSASHA256)
	plain := h.Zone("plain.nsec.", 0)
	plain.Add("plain.nsec. 300 IN A 127.0.0.9")
	h.Delegate(nz, plain, false)
	for _, c := range []*resolvertest.Zone{tld, opt, nz} {
		h.Delegate(root, c, true)
	}
	if err := h.Sign(); err != nil {
		t.Fatal(err)
	}
	return h
}

func newResolver(t testing.TB, h *resolvertest.Hierarchy, addr string) *resolver.Resolver {
	t.Helper()
	r, err := resolver.New(resolver.Config{Server: addr, Anchors: h.Anchor(), Now: func() time.Time { return now },
		Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestLookupStatuses(t *testing.T) {
	h := hierarchy(t)
	addr := h.Serve(t)
	r := newResolver(t, h, addr)
	tests := []struct {
		name    string
		qtype   uint16
		sec     resolver.Security
		why     resolver.Reason
		rcode   int
		records int
		chain   int
	}{
		{"secure.test.", dns.TypeMX, resolver.Secure, "", dns.RcodeSuccess, 2, 0},
		{"mx.secure.test.", dns.TypeA, resolver.Secure, "", dns.RcodeSuccess, 1, 0},
		{"_25._tcp.mx.secure.test.", dns.TypeTLSA, resolver.Secure, "", dns.RcodeSuccess, 1, 0},
		{"nope.secure.test.", dns.TypeA, resolver.Secure, "", dns.RcodeNameError, 0, 0},
		{"secure.test.", dns.TypeAAAA, resolver.Secure, "", dns.RcodeSuccess, 0, 0},
		{"_tcp.mx.secure.test.", dns.TypeA, resolver.Secure, "", dns.RcodeSuccess, 0, 0}, // empty non-terminal
		{"alias.secure.test.", dns.TypeA, resolver.Secure, "", dns.RcodeSuccess, 1, 1},
		{"host.wild.secure.test.", dns.TypeA, resolver.Secure, "", dns.RcodeSuccess, 1, 0},
		{"host.wild.secure.test.", dns.TypeMX, resolver.Secure, "", dns.RcodeSuccess, 0, 0}, // wildcard NODATA
		{"nope.test.", dns.TypeA, resolver.Secure, "", dns.RcodeNameError, 0, 0},            // NSEC3 NXDOMAIN
		{"test.", dns.TypeMX, resolver.Secure, "", dns.RcodeSuccess, 0, 0},                  // NSEC3 NODATA
		{"insecure.test.", dns.TypeMX, resolver.Insecure, resolver.NoDS, dns.RcodeSuccess, 1, 0},
		{"mx.insecure.test.", dns.TypeA, resolver.Insecure, resolver.NoDS, dns.RcodeSuccess, 1, 0},
		{"unsigned.opt.", dns.TypeTXT, resolver.Insecure, resolver.OptOut, dns.RcodeSuccess, 1, 0},
		{"signed.opt.", dns.TypeTXT, resolver.Secure, "", dns.RcodeSuccess, 1, 0},
		{"nothere.opt.", dns.TypeTXT, resolver.Insecure, resolver.OptOut, dns.RcodeNameError, 0, 0},
		{"plain.nsec.", dns.TypeA, resolver.Insecure, resolver.NoDS, dns.RcodeSuccess, 1, 0},
		{"nothere.nsec.", dns.TypeA, resolver.Secure, "", dns.RcodeNameError, 0, 0},
		{"expired.test.", dns.TypeMX, resolver.Bogus, resolver.SignatureExpired, dns.RcodeSuccess, 1, 0},
		{"badsig.test.", dns.TypeMX, resolver.Bogus, resolver.BadSignature, dns.RcodeSuccess, 1, 0},
		{"mismatch.test.", dns.TypeMX, resolver.Bogus, resolver.DSMismatch, dns.RcodeSuccess, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/"+dns.TypeToString[tt.qtype], func(t *testing.T) {
			a, err := r.Lookup(context.Background(), tt.name, tt.qtype)
			if err != nil {
				t.Fatal(err)
			}
			if a.Security != tt.sec || a.Reason != tt.why {
				t.Errorf("security %s/%s (%s), want %s/%s", a.Security, a.Reason, a.Detail, tt.sec, tt.why)
			}
			if a.Rcode != tt.rcode || len(a.Records) != tt.records || len(a.Chain) != tt.chain {
				t.Errorf("rcode %d, %d records, chain %v; want %d, %d, %d", a.Rcode, len(a.Records), a.Chain,
					tt.rcode, tt.records, tt.chain)
			}
			if a.Detail == "" || a.Key() == "" {
				t.Errorf("no detail or key: %+v", a)
			}
		})
	}
}

func TestWrongAnchorIsBogus(t *testing.T) {
	h := hierarchy(t)
	addr := h.Serve(t)
	other := hierarchy(t) // another root key
	r := newResolver(t, other, addr)
	a, err := r.Lookup(context.Background(), "secure.test.", dns.TypeMX)
	if err != nil {
		t.Fatal(err)
	}
	if a.Security != resolver.Bogus || a.Reason != resolver.AnchorMismatch {
		t.Errorf("got %s/%s (%s), want bogus/anchor_mismatch", a.Security, a.Reason, a.Detail)
	}
}

func TestServFailAndTruncation(t *testing.T) {
	h := hierarchy(t)
	h.ServFail["_25._tcp.mx.secure.test."] = true
	h.TruncateUDP = true // every answer must come over TCP
	addr := h.Serve(t)
	r := newResolver(t, h, addr)
	a, err := r.Lookup(context.Background(), "secure.test.", dns.TypeMX)
	if err != nil || a.Security != resolver.Secure {
		t.Fatalf("over TCP: %+v, %v", a, err)
	}
	_, err = r.Lookup(context.Background(), "_25._tcp.mx.secure.test.", dns.TypeTLSA)
	if !resolver.IsServFail(err) {
		t.Errorf("SERVFAIL: got %v", err)
	}
}

// TestHostileReplies: a server on the path rewrites replies; nothing it
// can do without the keys makes a forged answer secure.
func TestHostileReplies(t *testing.T) {
	tests := []struct {
		name   string
		qname  string
		qtype  uint16
		tamper func(q, resp *dns.Msg)
		sec    resolver.Security
		why    resolver.Reason
		err    string
	}{
		{"signatures stripped", "secure.test.", dns.TypeMX, func(q, resp *dns.Msg) {
			if q.Question[0].Qtype == dns.TypeMX {
				resp.Answer = stripSigs(resp.Answer)
			}
		}, resolver.Bogus, resolver.NoSignature, ""},
		{"forged MX target", "secure.test.", dns.TypeMX, func(q, resp *dns.Msg) {
			for _, rr := range resp.Answer {
				if mx, ok := rr.(*dns.MX); ok {
					mx.Mx = "evil.example."
				}
			}
		}, resolver.Bogus, resolver.BadSignature, ""},
		{"denial stripped", "nope.secure.test.", dns.TypeA, func(q, resp *dns.Msg) {
			if q.Question[0].Qtype == dns.TypeA {
				resp.Ns = nil
			}
		}, resolver.Bogus, resolver.BadDenial, ""},
		{"NXDOMAIN forged for a name that exists", "mx.secure.test.", dns.TypeA, func(q, resp *dns.Msg) {
			if q.Question[0].Qtype == dns.TypeA {
				resp.Answer = nil
				resp.Rcode = dns.RcodeNameError
			}
		}, resolver.Bogus, resolver.BadDenial, ""},
		{"DS stripped to fake an insecure delegation", "secure.test.", dns.TypeMX, func(q, resp *dns.Msg) {
			if q.Question[0].Qtype == dns.TypeDS && q.Question[0].Name == "secure.test." {
				resp.Answer = nil
			}
		}, resolver.Bogus, resolver.BadDenial, ""},
		{"AD bit set on a forged answer", "secure.test.", dns.TypeMX, func(q, resp *dns.Msg) {
			resp.AuthenticatedData = true
			if q.Question[0].Qtype == dns.TypeMX {
				resp.Answer = stripSigs(resp.Answer)
			}
		}, resolver.Bogus, resolver.NoSignature, ""},
		{"reply to another question", "secure.test.", dns.TypeMX, func(q, resp *dns.Msg) {
			resp.Question[0].Name = "other.test."
		}, "", "", "another question"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := hierarchy(t)
			h.SetTamper(tt.tamper)
			r := newResolver(t, h, h.Serve(t))
			a, err := r.Lookup(context.Background(), tt.qname, tt.qtype)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %v, %+v; want error %q", err, a, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.Security != tt.sec || a.Reason != tt.why {
				t.Errorf("got %s/%s (%s), want %s/%s", a.Security, a.Reason, a.Detail, tt.sec, tt.why)
			}
		})
	}
}

// TestForgedNXDOMAINOverWildcard: an attacker turns a wildcard answer
// into NXDOMAIN with genuine NSEC3 records: the closest encloser's, the
// one covering the next closer name, and the one matching the wildcard,
// which proves that the wildcard exists, not that it does not.
func TestForgedNXDOMAINOverWildcard(t *testing.T) {
	h := hierarchy(t)
	addr := h.Serve(t)
	var proofRRs []dns.RR
	for _, q := range []struct {
		name  string
		qtype uint16
	}{{"a.wild3.test.", dns.TypeA}, {"wild3.test.", dns.TypeA}, {"*.wild3.test.", dns.TypeTXT}} {
		m := new(dns.Msg)
		m.SetQuestion(q.name, q.qtype)
		m.SetEdns0(4096, true)
		resp, err := dns.Exchange(m, addr)
		if err != nil {
			t.Fatal(err)
		}
		for _, rr := range resp.Ns {
			t := rr.Header().Rrtype
			if (t == dns.TypeNSEC3 || t == dns.TypeRRSIG) && !slices.ContainsFunc(proofRRs, func(x dns.RR) bool {
				return dns.IsDuplicate(x, rr)
			}) {
				proofRRs = append(proofRRs, rr)
			}
		}
	}
	r := newResolver(t, h, addr)
	if a, err := r.Lookup(context.Background(), "a.wild3.test.", dns.TypeA); err != nil || a.Security != resolver.Secure || len(a.Records) != 1 {
		t.Fatalf("the wildcard answer itself: %+v, %v", a, err)
	}
	h.SetTamper(func(q, resp *dns.Msg) {
		if q.Question[0].Name == "a.wild3.test." && q.Question[0].Qtype == dns.TypeA {
			resp.Rcode, resp.Answer, resp.Ns = dns.RcodeNameError, nil, proofRRs
		}
	})
	a, err := newResolver(t, h, addr).Lookup(context.Background(), "a.wild3.test.", dns.TypeA)
	if err != nil {
		t.Fatal(err)
	}
	if a.Security == resolver.Secure {
		t.Errorf("a forged NXDOMAIN over a wildcard came out secure: %+v", a)
	}
}

func stripSigs(rrs []dns.RR) []dns.RR {
	var out []dns.RR
	for _, rr := range rrs {
		if rr.Header().Rrtype != dns.TypeRRSIG {
			out = append(out, rr)
		}
	}
	return out
}

func TestConcurrentLookupsShareTheCache(t *testing.T) {
	h := hierarchy(t)
	r := newResolver(t, h, h.Serve(t))
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, n := range []string{"secure.test.", "insecure.test.", "signed.opt."} {
				if _, err := r.Lookup(context.Background(), n, dns.TypeMX); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	before := h.Queries()
	if _, err := r.Lookup(context.Background(), "secure.test.", dns.TypeMX); err != nil {
		t.Fatal(err)
	}
	if h.Queries() != before {
		t.Errorf("a repeated lookup sent %d queries; the cache should answer it", h.Queries()-before)
	}
}

func TestLookupBoundedByContext(t *testing.T) {
	// A server that never answers: the lookup ends with the context.
	pc, err := netListenUDP()
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	r, err := resolver.New(resolver.Config{Server: pc.LocalAddr().String(), Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	if _, err := r.Lookup(ctx, "example.com.", dns.TypeMX); err == nil {
		t.Fatal("lookup against a silent server succeeded")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestDefaultAnchorsAndConfig(t *testing.T) {
	as := resolver.RootAnchors()
	if len(as) != 2 || as[0].KeyTag != 20326 || as[1].KeyTag != 38696 {
		t.Errorf("root anchors: %v", as)
	}
	if _, err := resolver.New(resolver.Config{ResolvConf: "/nonexistent/resolv.conf"}); err == nil {
		t.Error("a missing resolv.conf gave no error")
	}
	r, err := resolver.New(resolver.Config{Server: "127.0.0.53"})
	if err != nil || r.Server() != "127.0.0.53:53" {
		t.Errorf("server: %v, %v", r, err)
	}
	if resolver.Key(resolver.Bogus, resolver.NoKey) != "dnssec.bogus.no_key" || resolver.Key(resolver.Secure, "") != "dnssec.secure" {
		t.Error("keys")
	}
}

func TestCompareNames(t *testing.T) {
	// RFC 4034 §6.1's example order.
	order := []string{"example.", "a.example.", "yljkjljk.a.example.", "Z.a.example.", "zABC.a.EXAMPLE.",
		"z.example.", "\\001.z.example.", "*.z.example.", "\\200.z.example."}
	for i := 0; i+1 < len(order); i++ {
		if resolver.CompareNames(order[i], order[i+1]) >= 0 {
			t.Errorf("%s should sort before %s", order[i], order[i+1])
		}
	}
}

func netListenUDP() (net.PacketConn, error) { return net.ListenPacket("udp", "127.0.0.1:0") }

// FuzzHostileAnswer replaces the sections of the reply to an MX query
// with records decoded from the fuzzer's bytes (seeded with real signed
// replies): whatever arrives, the lookup ends, and nothing unsigned by
// the zone's keys comes out secure.
func FuzzHostileAnswer(f *testing.F) {
	h := hierarchy(f)
	var mu sync.Mutex
	var forged *dns.Msg
	h.SetTamper(func(q, resp *dns.Msg) {
		mu.Lock()
		defer mu.Unlock()
		if forged == nil || q.Question[0].Qtype != dns.TypeMX {
			return
		}
		resp.Rcode, resp.Answer, resp.Ns, resp.Extra = forged.Rcode, forged.Answer, forged.Ns, forged.Extra
	})
	addr := h.Serve(f)
	seedR := newResolver(f, h, addr)
	for _, q := range []string{"secure.test.", "nope.secure.test.", "insecure.test.", "host.wild.secure.test."} {
		if _, err := seedR.Lookup(context.Background(), q, dns.TypeMX); err != nil {
			f.Fatal(err)
		}
	}
	for _, q := range []string{"secure.test.", "nope.secure.test.", "host.wild.secure.test.", "signed.opt."} {
		m := new(dns.Msg)
		m.SetQuestion(q, dns.TypeMX)
		m.SetEdns0(4096, true)
		resp, err := dns.Exchange(m, addr)
		if err != nil {
			f.Fatal(err)
		}
		b, _ := resp.Pack()
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var m dns.Msg
		if err := m.Unpack(b); err != nil {
			return
		}
		mu.Lock()
		forged = &m
		mu.Unlock()
		r := newResolver(t, h, addr)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		a, err := r.Lookup(ctx, "secure.test.", dns.TypeMX)
		if err != nil {
			return
		}
		if a.Security == resolver.Secure && len(a.Records) > 0 {
			// A secure answer must be the zone's own MX set.
			for _, rr := range a.Records {
				mx, ok := rr.(*dns.MX)
				if !ok || (mx.Mx != "mx.secure.test." && mx.Mx != "mx2.secure.test.") {
					t.Fatalf("forged record came out secure: %v", rr)
				}
			}
		}
	})
}
