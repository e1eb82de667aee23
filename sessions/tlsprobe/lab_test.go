package tlsprobe

import (
	"context"
	"crypto/tls"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mailwire/mailwire/sessions/certs"
	"github.com/mailwire/mailwire/sessions/lab"
)

// The lab runs Go's crypto/tls; the scan of each of its ports must find
// what crypto/tls clients find.

func startLab(t testing.TB) *lab.Lab {
	t.Helper()
	l, err := lab.Start(context.Background(), lab.Options{AnyPort: true, StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func labTarget(e lab.Endpoint) Target {
	return Target{Addr: e.Addr, Proto: e.Proto, StartTLS: e.TLS == lab.TLSStartTLS, ServerName: lab.Hostname}
}

// goAccepts returns the TLS 1.2 suites crypto/tls clients complete a
// handshake with on an implicit-TLS address, one suite at a time.
func goAccepts(t *testing.T, addr string, roots *tls.Config) []uint16 {
	t.Helper()
	var mu sync.Mutex
	var ok []uint16
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for _, cs := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		if !slices.Contains(cs.SupportedVersions, tls.VersionTLS12) {
			continue
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			cfg := roots.Clone()
			cfg.CipherSuites, cfg.MaxVersion = []uint16{cs.ID}, tls.VersionTLS12
			d := &net.Dialer{Timeout: 5 * time.Second}
			c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
			if err != nil {
				return
			}
			c.Close()
			mu.Lock()
			ok = append(ok, cs.ID)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(ok)
	return ok
}

func TestScanLab(t *testing.T) {
	l := startLab(t)
	s := NewScanner(Options{Roots: l.RootCAs(), ALPN: true})
	results := map[int]*PortResult{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, e := range l.Endpoints() {
		wg.Go(func() {
			r := s.Scan(context.Background(), labTarget(e))
			mu.Lock()
			results[e.Canonical] = r
			mu.Unlock()
		})
	}
	wg.Wait()

	implicit, _ := l.Endpoint(465)
	want12 := goAccepts(t, implicit.Addr, &tls.Config{RootCAs: l.RootCAs(), ServerName: lab.Hostname})
	if len(want12) == 0 {
		t.Fatal("no TLS 1.2 suite works with crypto/tls")
	}
	for port, r := range results {
		if r.Error != "" {
			t.Errorf("%d: %s", port, r.Error)
			continue
		}
		for _, v := range r.Versions {
			// As the peers and RFC 8996: TLS 1.2 and 1.3 only, and
			// crypto/tls says no with protocol_version.
			want := v.Version >= VersionTLS12
			if v.Supported != want || v.Incomplete {
				t.Errorf("%d %s: supported %v incomplete %v %v", port, v.Name, v.Supported, v.Incomplete, v.Errors)
			}
			if !want && (v.Refusal == nil || v.Refusal.Kind != RefusedAlert || v.Refusal.Alert != 70) {
				t.Errorf("%d %s: refusal %+v, want alert protocol_version", port, v.Name, v.Refusal)
			}
			if want && v.Order != OrderServer {
				t.Errorf("%d %s: order %q; crypto/tls imposes its own", port, v.Name, v.Order)
			}
		}
		if got := sorted(ids(r.Version(VersionTLS12).Suites)); !slices.Equal(got, want12) {
			t.Errorf("%d TLS 1.2: probe found %04x, crypto/tls clients %04x", port, got, want12)
		}
		// crypto/tls implements three TLS 1.3 suites, all enabled.
		if got := sorted(ids(r.Version(VersionTLS13).Suites)); !slices.Equal(got, []uint16{0x1301, 0x1302, 0x1303}) {
			t.Errorf("%d TLS 1.3: %04x", port, got)
		}
		if len(r.Chains) != 1 || r.Chains[0].Facts == nil || !r.Chains[0].Facts.Verified() {
			t.Errorf("%d: chains %+v", port, r.Chains)
		} else if names := r.Chains[0].Facts.Certs[0].DNSNames; !slices.Contains(names, lab.Hostname) {
			t.Errorf("%d: leaf names %v", port, names)
		}
		// The mail ports ignore ALPN; the HTTPS port, which has h2 and
		// http/1.1, refuses what it does not know (RFC 7301 §3.2).
		if r.ALPN == nil || r.ALPN.Strict != (port == 443) || r.ALPN.Version != VersionTLS12 {
			t.Errorf("%d: ALPN %+v", port, r.ALPN)
		}
	}
}

// TestScanHostile runs the scan against the lab's hostile TLS servers:
// bounded time, and a clear result for each.
func TestScanHostile(t *testing.T) {
	type check func(*testing.T, *PortResult)
	only := func(v uint16) check {
		return func(t *testing.T, r *PortResult) {
			for _, x := range r.Versions {
				if x.Supported != (x.Version == v) {
					t.Errorf("%s supported %v (%v)", x.Name, x.Supported, x.Refusal)
				}
			}
			if x := r.Version(v); len(x.Suites) == 0 || x.Incomplete {
				t.Errorf("%s: %d suites, incomplete %v %v", x.Name, len(x.Suites), x.Incomplete, x.Errors)
			}
		}
	}
	refusedBy := func(kinds ...RefusalKind) check {
		return func(t *testing.T, r *PortResult) {
			if r.Error != "" {
				t.Fatalf("port error %s", r.Error)
			}
			for _, x := range r.Versions {
				if x.Supported || x.Refusal == nil || !slices.Contains(kinds, x.Refusal.Kind) {
					t.Errorf("%s: %+v, want %v", x.Name, x.Refusal, kinds)
				}
			}
		}
	}
	chainProblem := func(k certs.Kind) check {
		return func(t *testing.T, r *PortResult) {
			if len(r.Chains) != 1 || r.Chains[0].Facts == nil {
				t.Fatalf("chains %+v", r.Chains)
			}
			if p, bad := r.Chains[0].Facts.First(); !bad || p.Kind != k {
				t.Errorf("first problem %+v, want %s", p, k)
			}
		}
	}
	for _, tc := range []struct {
		name  string
		check check
	}{
		{"smtp-handshake-tls10-only", only(VersionTLS10)},
		{"smtp-handshake-tls11-only", only(VersionTLS11)},
		{"smtp-handshake-garbage", refusedBy(RefusedNotTLS)},
		{"smtp-handshake-silence", refusedBy(RefusedTimeout)},
		{"smtp-handshake-trickle", func(t *testing.T, r *PortResult) {
			// One byte a second: nothing complete within the probe's time.
			for _, x := range r.Versions {
				if x.Supported || x.Refusal == nil || x.Refusal.Kind != RefusedTimeout {
					if x.Supported && len(x.Suites) > 0 {
						continue // a hello got through; the rest timed out
					}
					t.Errorf("%s: %+v", x.Name, x.Refusal)
				}
			}
		}},
		{"smtp-handshake-reset", refusedBy(RefusedReset, RefusedClosed)},
		{"smtps-handshake-record-65535", refusedBy(RefusedMalformed)},
		{"smtps-handshake-cleartext", refusedBy(RefusedNotTLS)},
		{"smtps-handshake-tiny-records", func(t *testing.T, r *PortResult) {
			only(VersionTLS12)(t, r)
			if len(r.Chains) != 1 || r.Chains[0].Facts == nil {
				t.Errorf("chains %+v", r.Chains)
			}
		}},
		{"smtp-handshake-long-chain", func(t *testing.T, r *PortResult) {
			if x := r.Version(VersionTLS12); !x.Supported || x.Incomplete {
				t.Errorf("TLS 1.2 %+v", x)
			}
			if len(r.Chains) != 1 || r.Chains[0].Facts == nil || r.Chains[0].Facts.MoreCerts != 200-certs.MaxCerts {
				t.Errorf("chains %+v", r.Chains)
			}
		}},
		{"smtp-handshake-expired", chainProblem(certs.Expired)},
		{"smtp-handshake-self-signed", chainProblem(certs.SelfSigned)},
		{"smtp-handshake-wrong-host", chainProblem(certs.WrongName)},
		{"smtp-handshake-missing-intermediate", chainProblem(certs.IncompleteChain)},
		{"smtp-greeting-tls-alert", func(t *testing.T, r *PortResult) {
			if r.Error == "" || r.Versions != nil {
				t.Errorf("error %q, versions %v", r.Error, r.Versions)
			}
		}},
		{"imap-greeting-preauth", func(t *testing.T, r *PortResult) {
			if r.Error == "" {
				t.Error("no error for a PREAUTH greeting")
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, err := lab.StartHostile(context.Background(), tc.name, lab.HostileOptions{MaxConns: 1000, TrickleInterval: 200 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			c := srv.Case()
			start := time.Now()
			r := NewScanner(Options{Roots: srv.RootCAs(), ProbeTimeout: time.Second}).
				Scan(context.Background(), Target{Addr: srv.Addr(), Proto: c.Proto, StartTLS: c.TLS == lab.TLSStartTLS, ServerName: lab.Hostname})
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("took %v", took)
			}
			tc.check(t, r)
		})
	}
}
