package scan

import (
	"context"
	"os/exec"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mailwire/mailwire/sessions/internal/peers"
	"github.com/mailwire/mailwire/sessions/tlsmsg"
	"github.com/mailwire/mailwire/sessions/tlsprobe"
)

// Interop: the scan of the real Postfix and Dovecot of ../shared/peers,
// skipped unless MAILWIRE_PEERS names them:
//
//	MAILWIRE_PEERS=127.0.0.2 go test -run Peers -v ./sessions/scan/

// TestScanPeers: every port of the peers gives the results their
// configuration sets (../shared/peers/README.md), the anonymous suites of
// Postfix's submission ports are graded bad (and acceptable on 25), and
// the versions and suites found agree with openssl s_client, suite by
// suite, on Postfix's 587 and Dovecot's 993.
func TestScanPeers(t *testing.T) {
	p := peers.Find(t)
	o := Options{Host: p.IP, ServerName: peers.ServerName, Roots: p.Roots, Timeout: 2 * time.Minute}
	rep := Scan(context.Background(), o)
	t.Logf("seven ports in %v", rep.Elapsed.Round(time.Millisecond))
	if rep.Worst != Bad {
		t.Errorf("worst %s", rep.Worst)
	}
	for _, pp := range []int{25, 587, 465, 110, 995, 143, 993} {
		pr := port(rep, pp)
		hasFinding(t, rep.Findings, pp, "ok "+KeyModeExpected, "ok "+KeyVersionsOK, "ok "+KeyCertOK)
		for _, v := range pr.TLS.Versions {
			if v.Supported != (v.Version >= tlsprobe.VersionTLS12) || v.Incomplete {
				t.Errorf("%d %s: supported %v, incomplete %v %v", pp, v.Name, v.Supported, v.Incomplete, v.Errors)
			}
		}
		tls12 := pr.TLS.Version(tlsprobe.VersionTLS12)
		postfix := pp == 25 || pp == 587 || pp == 465
		switch {
		case postfix && len(tls12.Suites) != 56:
			t.Errorf("%d: Postfix accepts %d TLS 1.2 suites, want 56", pp, len(tls12.Suites))
		case !postfix && (len(tls12.Suites) != 28 || tls12.Order != tlsprobe.OrderServer):
			t.Errorf("%d: Dovecot accepts %d TLS 1.2 suites in %q order, want 28 in the server's", pp, len(tls12.Suites), tls12.Order)
		}
	}
	for _, pp := range []int{25, 587, 110, 143} {
		hasFinding(t, rep.Findings, pp, "ok "+KeyStartTLSOffered, "ok "+KeyInjectionSafe)
	}
	for _, pp := range []int{587, 110, 143} {
		hasFinding(t, rep.Findings, pp, "ok "+KeyLoginRefused)
	}
	hasFinding(t, rep.Findings, 143, "ok "+KeyLoginDisabled)
	// The finding: Postfix's submission ports accept anonymous
	// Diffie-Hellman, the AES-128 ones with a 1024-bit group.
	hasFinding(t, rep.Findings, 587, "bad "+KeySuiteAnonymous, "bad "+KeyDHWeak, "warn "+KeyOrderClientWeak)
	hasFinding(t, rep.Findings, 465, "bad "+KeySuiteAnonymous, "warn "+KeyALPNLenient)
	hasFinding(t, rep.Findings, 25, "ok "+KeySuiteAnonymous, "warn "+KeyDHWeak)
	anon := 0
	for _, s := range port(rep, 587).TLS.Version(tlsprobe.VersionTLS12).Suites {
		if s.Anonymous() {
			anon++
		}
	}
	if anon != 12 {
		t.Errorf("587: %d anonymous suites, want 12 (10 DH_anon, 2 ECDH_anon)", anon)
	}
	if len(rep.Certificates) != 1 || len(rep.Certificates[0].Ports) != 7 {
		t.Errorf("certificates %+v", rep.Certificates)
	}

	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("no openssl to compare with")
	}
	t.Run("openssl 587", func(t *testing.T) {
		agreeWithOpenSSL(t, port(rep, 587), "smtp", func(peers.OpenSSLSuite) bool { return true })
	})
	t.Run("openssl 993", func(t *testing.T) {
		agreeWithOpenSSL(t, port(rep, 993), "", func(s peers.OpenSSLSuite) bool {
			return s.TLS13 || s.Auth == "RSA" || s.Auth == "None"
		})
	})
}

// agreeWithOpenSSL runs openssl s_client once per suite keep selects (and
// per TLS 1.3 suite) against the port and checks that it completes a
// handshake exactly where the scan found the suite accepted.
func agreeWithOpenSSL(t *testing.T, pr *PortReport, starttls string, keep func(peers.OpenSSLSuite) bool) {
	var list []peers.OpenSSLSuite
	for _, s := range peers.OpenSSLSuites(t) {
		if keep(s) {
			list = append(list, s)
		}
	}
	for _, id := range tlsprobe.TLS13Suites() {
		if !slices.ContainsFunc(list, func(s peers.OpenSSLSuite) bool { return s.ID == id }) {
			list = append(list, peers.OpenSSLSuite{ID: id, Name: tlsmsg.CipherSuiteName(id), TLS13: true})
		}
	}
	var mu sync.Mutex
	agreed := 0
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for _, s := range list {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			ver, args := tlsprobe.VersionTLS12, []string{"-tls1_2", "-cipher", s.Name + ":@SECLEVEL=0"}
			if s.TLS13 {
				ver, args = tlsprobe.VersionTLS13, []string{"-tls1_3", "-ciphersuites", s.Name}
			}
			ok, _ := peers.SClient(context.Background(), pr.Addr, starttls, args...)
			scanned := pr.TLS.Version(ver).Has(s.ID)
			mu.Lock()
			defer mu.Unlock()
			if ok != scanned {
				t.Errorf("%d %s (0x%04x): scan %v, openssl s_client %v", pr.Port, s.Name, s.ID, scanned, ok)
			} else {
				agreed++
			}
		})
	}
	wg.Wait()
	for _, tc := range []struct {
		flag string
		v    uint16
	}{{"-tls1", tlsprobe.VersionTLS10}, {"-tls1_1", tlsprobe.VersionTLS11}} {
		ok, _ := peers.SClient(context.Background(), pr.Addr, starttls, tc.flag, "-cipher", "ALL:@SECLEVEL=0")
		if ok != pr.TLS.Version(tc.v).Supported {
			t.Errorf("%d %s: scan %v, openssl %v", pr.Port, tlsmsg.VersionName(tc.v), pr.TLS.Version(tc.v).Supported, ok)
		}
	}
	t.Logf("%d: %d of %d suites agree with openssl s_client", pr.Port, agreed, len(list))
}
