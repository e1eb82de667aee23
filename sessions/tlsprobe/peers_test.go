package tlsprobe

import (
	"context"
	"os/exec"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mailwire/mailwire/sessions/internal/peers"
	"github.com/mailwire/mailwire/sessions/tlsmsg"
)

// Interop: the scan of real Postfix and Dovecot (../shared/peers), checked
// against openssl s_client run suite by suite in the same test. Skipped
// unless MAILWIRE_PEERS names the peers' loopback address:
//
//	MAILWIRE_PEERS=127.0.0.2 go test -run Peers -v ./sessions/tlsprobe/

// peerPorts are the peers' seven mail ports.
var peerPorts = []struct {
	port     int
	proto    string
	starttls bool
	postfix  bool
}{
	{25, "smtp", true, true}, {587, "smtp", true, true}, {465, "smtp", false, true},
	{110, "pop3", true, false}, {995, "pop3", false, false}, {143, "imap", true, false}, {993, "imap", false, false},
}

func TestScanPeers(t *testing.T) {
	p := peers.Find(t)
	s := NewScanner(Options{Roots: p.Roots, ALPN: true})
	results := make([]*PortResult, len(peerPorts))
	var wg sync.WaitGroup
	start := time.Now()
	for i, pp := range peerPorts {
		wg.Go(func() {
			results[i] = s.Scan(context.Background(), Target{Addr: p.Addr(pp.port), Proto: pp.proto, StartTLS: pp.starttls, ServerName: peers.ServerName})
		})
	}
	wg.Wait()
	t.Logf("seven ports in %v", time.Since(start).Round(time.Millisecond))
	var postfix12, dovecot12 []uint16
	for i, pp := range peerPorts {
		r := results[i]
		t.Logf("%d: %d probes in %v", pp.port, r.Probes, r.Elapsed.Round(time.Millisecond))
		if r.Error != "" {
			t.Errorf("%d: %s", pp.port, r.Error)
			continue
		}
		for _, v := range r.Versions {
			// README: only TLS 1.2 and 1.3; Postfix answers an older
			// hello with protocol_version, Dovecot closes.
			want := v.Version >= VersionTLS12
			if v.Supported != want || v.Incomplete {
				t.Errorf("%d %s: supported %v, incomplete %v %v", pp.port, v.Name, v.Supported, v.Incomplete, v.Errors)
			}
			if !want && v.Version > VersionSSL30 {
				wantKind := RefusedClosed
				if pp.postfix {
					wantKind = RefusedAlert
				}
				if v.Refusal == nil || v.Refusal.Kind != wantKind || (pp.postfix && v.Refusal.Alert != 70) {
					t.Errorf("%d %s: refusal %+v, want %s", pp.port, v.Name, v.Refusal, wantKind)
				}
			}
		}
		if len(r.Chains) != 1 || r.Chains[0].Facts == nil || !r.Chains[0].Facts.Verified() {
			t.Errorf("%d: chains %+v", pp.port, r.Chains)
		}
		got := sorted(ids(r.Version(VersionTLS12).Suites))
		if pp.postfix {
			if postfix12 != nil && !slices.Equal(got, postfix12) {
				t.Errorf("%d: TLS 1.2 suites differ from the other Postfix ports", pp.port)
			}
			postfix12 = got
		} else {
			if dovecot12 != nil && !slices.Equal(got, dovecot12) {
				t.Errorf("%d: TLS 1.2 suites differ from the other Dovecot ports", pp.port)
			}
			dovecot12 = got
		}
		if r.ALPN == nil || r.ALPN.Error != "" {
			t.Errorf("%d: ALPN %+v", pp.port, r.ALPN)
		}
	}
	// The finding: Postfix's submission port accepts anonymous
	// Diffie-Hellman under TLS 1.2.
	sub := results[1]
	var anon []string
	for _, s := range sub.Version(VersionTLS12).Suites {
		if s.Anonymous() {
			anon = append(anon, s.Name)
			if s.Chain != -1 {
				t.Errorf("%s came with a certificate", s.Name)
			}
		}
	}
	if len(anon) == 0 || !slices.Contains(anon, "TLS_DH_anon_WITH_AES_256_GCM_SHA384") {
		t.Errorf("587: anonymous suites %v; Postfix offers ADH", anon)
	}
	t.Logf("587: TLS 1.2 accepts %d suites, %d anonymous; order %s", len(sub.Version(VersionTLS12).Suites), len(anon), sub.Version(VersionTLS12).Order)
}

// compareWithOpenSSL checks a port's scan against s_client, suite by
// suite, for the suites keep selects.
func compareWithOpenSSL(t *testing.T, r *PortResult, addr, starttls string, keep func(peers.OpenSSLSuite) bool) {
	t.Helper()
	suites := peers.OpenSSLSuites(t)
	known := map[uint16]bool{}
	type verdict struct {
		s  peers.OpenSSLSuite
		ok bool
	}
	var mu sync.Mutex
	var verdicts []verdict
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for _, s := range suites {
		known[s.ID] = true
		if !keep(s) {
			continue
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			var ok bool
			var got string
			if s.TLS13 {
				ok, got = peers.SClient(context.Background(), addr, starttls, "-tls1_3", "-ciphersuites", s.Name)
			} else {
				// Naming a suite enables it even when it is anonymous;
				// level 0 lets openssl 3 offer the weak ones at all.
				ok, got = peers.SClient(context.Background(), addr, starttls, "-tls1_2", "-cipher", s.Name+":@SECLEVEL=0")
			}
			if ok && got != s.Name {
				t.Errorf("s_client asked for %s, got %s", s.Name, got)
			}
			mu.Lock()
			verdicts = append(verdicts, verdict{s, ok})
			mu.Unlock()
		})
	}
	// TLS 1.3's five suites are not all listed by default (CCM).
	for _, id := range TLS13Suites() {
		if known[id] {
			continue
		}
		known[id] = true
		s := peers.OpenSSLSuite{ID: id, Name: tlsmsg.CipherSuiteName(id), TLS13: true}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			ok, _ := peers.SClient(context.Background(), addr, starttls, "-tls1_3", "-ciphersuites", s.Name)
			mu.Lock()
			verdicts = append(verdicts, verdict{s, ok})
			mu.Unlock()
		})
	}
	wg.Wait()
	compared, agreed := 0, 0
	for _, v := range verdicts {
		ver := VersionTLS12
		if v.s.TLS13 {
			ver = VersionTLS13
		}
		probe := r.Version(ver).Has(v.s.ID)
		compared++
		if probe != v.ok {
			t.Errorf("%s (0x%04x): probe %v, openssl s_client %v", v.s.Name, v.s.ID, probe, v.ok)
		} else {
			agreed++
		}
	}
	// The server runs the same OpenSSL: whatever it accepted, the local
	// openssl knows.
	for _, ver := range []uint16{VersionTLS12, VersionTLS13} {
		for _, s := range r.Version(ver).Suites {
			if !known[s.ID] {
				t.Errorf("%s: accepted by the server, unknown to the local openssl", s.Name)
			}
		}
	}
	// Versions: openssl 3 still has TLS 1.0 and 1.1 at level 0.
	for _, tc := range []struct {
		flag string
		v    uint16
	}{{"-tls1", VersionTLS10}, {"-tls1_1", VersionTLS11}} {
		ok, _ := peers.SClient(context.Background(), addr, starttls, tc.flag, "-cipher", "ALL:@SECLEVEL=0")
		if ok != r.Version(tc.v).Supported {
			t.Errorf("%s: probe %v, openssl %v", versionName(tc.v), r.Version(tc.v).Supported, ok)
		}
	}
	t.Logf("%s: %d suites compared with openssl s_client, %d agree", addr, compared, agreed)
}

// TestScanAgreesWithOpenSSLPeers: Postfix's submission port (STARTTLS,
// client order, anonymous suites) over every suite the local openssl
// knows, and Dovecot's IMAPS (server order, refusal by close) over the
// suites its RSA certificate could serve.
func TestScanAgreesWithOpenSSLPeers(t *testing.T) {
	p := peers.Find(t)
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("no openssl")
	}
	s := NewScanner(Options{Roots: p.Roots})
	t.Run("postfix 587", func(t *testing.T) {
		addr := p.Addr(587)
		r := s.Scan(context.Background(), Target{Addr: addr, Proto: "smtp", StartTLS: true, ServerName: peers.ServerName})
		if r.Error != "" {
			t.Fatal(r.Error)
		}
		compareWithOpenSSL(t, r, addr, "smtp", func(peers.OpenSSLSuite) bool { return true })
	})
	t.Run("dovecot 993", func(t *testing.T) {
		addr := p.Addr(993)
		r := s.Scan(context.Background(), Target{Addr: addr, ServerName: peers.ServerName})
		if r.Error != "" {
			t.Fatal(r.Error)
		}
		compareWithOpenSSL(t, r, addr, "", func(o peers.OpenSSLSuite) bool {
			return o.TLS13 || o.Auth == "RSA" || o.Auth == "None"
		})
	})
}
