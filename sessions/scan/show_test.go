package scan

import (
	"crypto/tls"
	"slices"
	"testing"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/tlsprobe"
)

// suiteOf is an accepted suite as a probe reports it.
func suiteOf(t *testing.T, id uint16, dhBits int) tlsprobe.Suite {
	t.Helper()
	info, ok := tlsprobe.Info(id)
	if !ok {
		t.Fatalf("no suite %#04x", id)
	}
	return tlsprobe.Suite{SuiteInfo: info, DHBits: dhBits, Chain: -1}
}

// probedPort is an implicit-TLS port whose probes found every kind of
// finding: SSL 3.0 and TLS 1.0, and under TLS 1.2 a suite in the
// profile, CBC-SHA outside it, static RSA, 3DES, RC4, an anonymous
// suite, a DHE suite with a 1024-bit group; the server's order; a
// lenient ALPN.
func probedPort(t *testing.T) *PortReport {
	s := func(id uint16) tlsprobe.Suite { return suiteOf(t, id, 0) }
	return &PortReport{Port: 993, Addr: "127.0.0.1:10993", Proto: "imap", Expected: "implicit", State: StateOpen, Mode: ModeTLS,
		TLS: &tlsprobe.PortResult{Probes: 57, Versions: []tlsprobe.VersionResult{
			{Version: tlsprobe.VersionSSL30, Name: "SSL 3.0", Supported: true, Suites: []tlsprobe.Suite{s(tls.TLS_RSA_WITH_AES_128_CBC_SHA)}},
			{Version: tlsprobe.VersionTLS10, Name: "TLS 1.0", Supported: true, Suites: []tlsprobe.Suite{s(tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA), s(0x0033)}},
			{Version: tlsprobe.VersionTLS11, Name: "TLS 1.1", Refusal: &tlsprobe.Refusal{Kind: tlsprobe.RefusedAlert}},
			{Version: tlsprobe.VersionTLS12, Name: "TLS 1.2", Supported: true, Order: tlsprobe.OrderServer, Preferred: tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
				Suites: []tlsprobe.Suite{s(tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256), s(tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA),
					s(tls.TLS_RSA_WITH_AES_128_GCM_SHA256), s(tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA), s(tls.TLS_RSA_WITH_RC4_128_SHA),
					s(0x0034), suiteOf(t, 0x009e, 1024)}},
			{Version: tlsprobe.VersionTLS13, Name: "TLS 1.3", Refusal: &tlsprobe.Refusal{Kind: tlsprobe.RefusedAlert}},
		},
			ALPN: &tlsprobe.ALPNResult{Offered: "x-mailwire-unknown", Version: tlsprobe.VersionTLS12, WentOn: true}}}
}

// TestFindingSessions (issue 13: enter on a finding opens the session
// that shows it): each finding of the TLS probes links to a session held
// to what the probe offered (the version, the suites of the finding
// that crypto/tls can offer, the ALPN protocol), or, when no session can
// reproduce it, to none, and says how many probes it comes from.
func TestFindingSessions(t *testing.T) {
	h := &hostScan{}
	fs := h.gradePort(probedPort(t))
	want := map[string]*ShowTLS{
		KeyVersionOld:     {Version: tlsprobe.VersionTLS10, CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA}},
		KeyVersionNo13:    nil, // a plain session: it offers TLS 1.3 and gets TLS 1.2
		KeySuiteOutside:   {Version: tlsprobe.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA}},
		KeySuiteStatic:    {Version: tlsprobe.VersionTLS12, CipherSuites: []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256}},
		KeySuite3DES:      {Version: tlsprobe.VersionTLS12, CipherSuites: []uint16{tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA}},
		KeySuiteRC4:       {Version: tlsprobe.VersionTLS12, CipherSuites: []uint16{tls.TLS_RSA_WITH_RC4_128_SHA}},
		KeyALPNLenient:    {Version: tlsprobe.VersionTLS12, ALPN: []string{"x-mailwire-unknown"}},
		KeyModeExpected:   nil,
		KeyVersionSSL3:    nil,
		KeySuiteAnonymous: nil,
		KeyDHWeak:         nil,
		KeyOrderServer:    nil,
		KeySuitesOK:       nil,
	}
	// Findings no session can show: crypto/tls has no SSL 3.0, no
	// anonymous or DHE suite, and keeps its own order; a summary rests
	// on all the probes.
	noSession := map[string]bool{KeyVersionSSL3: true, KeySuiteAnonymous: true, KeyDHWeak: true, KeyOrderServer: true, KeySuitesOK: true}
	seen := map[string]bool{}
	for _, f := range fs {
		w, ok := want[f.Key]
		if !ok {
			continue
		}
		seen[f.Key] = true
		switch {
		case noSession[f.Key]:
			if f.Show != nil || f.Probes != 57 {
				t.Errorf("%s: show %+v, probes %d; want no session and 57 probes", f.Key, f.Show, f.Probes)
			}
		case f.Show == nil:
			t.Errorf("%s: no session", f.Key)
		case f.Show.Port != 993 || f.Show.Addr != "127.0.0.1:10993":
			t.Errorf("%s: session on %d %s", f.Key, f.Show.Port, f.Show.Addr)
		case w == nil && f.Show.TLS != nil:
			t.Errorf("%s: held to %+v, want a plain session", f.Key, f.Show.TLS)
		case w != nil && (f.Show.TLS == nil || f.Show.TLS.Version != w.Version ||
			!slices.Equal(f.Show.TLS.CipherSuites, w.CipherSuites) || !slices.Equal(f.Show.TLS.ALPN, w.ALPN)):
			t.Errorf("%s: held to %+v, want %+v", f.Key, f.Show.TLS, w)
		}
	}
	for k := range want {
		if !seen[k] {
			t.Errorf("no %s finding:\n%s", k, dump(fs))
		}
	}
}

// TestFindingSessionsUnreproducible: a weak-suite finding whose suites
// crypto/tls does not implement (CAMELLIA outside the profile) links to
// no session, not to a plain one that shows something else; "TLS 1.3
// only" links to a session offering only TLS 1.2, which is refused.
func TestFindingSessionsUnreproducible(t *testing.T) {
	camellia := suiteOf(t, 0x0041, 0) // TLS_RSA_WITH_CAMELLIA_128_CBC_SHA
	pr := &PortReport{Port: 465, Addr: "127.0.0.1:10465", Proto: "smtp", Expected: "implicit", State: StateOpen, Mode: ModeTLS,
		TLS: &tlsprobe.PortResult{Probes: 9, Versions: []tlsprobe.VersionResult{
			{Version: tlsprobe.VersionTLS12, Name: "TLS 1.2", Supported: true, Suites: []tlsprobe.Suite{camellia}},
			{Version: tlsprobe.VersionTLS13, Name: "TLS 1.3", Supported: true, Suites: []tlsprobe.Suite{suiteOf(t, tls.TLS_AES_128_GCM_SHA256, 0)}},
		}}}
	h := &hostScan{}
	var class string
	for _, f := range h.gradePort(pr) {
		if f.Key != KeyModeExpected && f.Key != KeyVersionsOK && f.Key != KeySuitesOK && f.Key != KeyCertNone {
			class = f.Key
			if f.Show != nil || f.Probes != 9 {
				t.Errorf("%s: show %+v probes %d, want no session", f.Key, f.Show, f.Probes)
			}
		}
	}
	if class == "" {
		t.Fatal("no finding about the CAMELLIA suite")
	}
	pr.TLS.Versions[0] = tlsprobe.VersionResult{Version: tlsprobe.VersionTLS12, Name: "TLS 1.2", Refusal: &tlsprobe.Refusal{Kind: tlsprobe.RefusedAlert}}
	for _, f := range h.gradePort(pr) {
		if f.Key == KeyVersionNo12 && (f.Show == nil || f.Show.TLS == nil || f.Show.TLS.Version != tlsprobe.VersionTLS12) {
			t.Errorf("%s: show %+v, want a session held to TLS 1.2", f.Key, f.Show)
		}
	}
}

// TestImplementedSuite: what crypto/tls can offer, by version.
func TestImplementedSuite(t *testing.T) {
	for _, c := range []struct {
		id, v uint16
		want  bool
	}{
		{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.VersionTLS10, true},
		{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.VersionTLS10, false}, // AEAD needs TLS 1.2
		{tls.TLS_RSA_WITH_RC4_128_SHA, tls.VersionTLS12, true},
		{tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA, 0, true},
		{0x0034, tls.VersionTLS12, false}, // anonymous
		{0x009e, tls.VersionTLS12, false}, // DHE
		{tls.TLS_AES_128_GCM_SHA256, 0, false},
	} {
		if got := sessions.ImplementedSuite(c.id, c.v); got != c.want {
			t.Errorf("ImplementedSuite(%#04x, %#04x) = %v", c.id, c.v, got)
		}
	}
}
