package main

import (
	"context"
	"net"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/scan"
	"github.com/mailwire/mailwire/sessions/tlsmsg"
	"github.com/mailwire/mailwire/tui"
)

// TestScanFindingSessionsLab (issue 13: enter on a finding opens the
// session that shows it): against the lab, each finding of the TLS
// probes that links to a session held to a version, suites or ALPN
// opens, through the scan screen's opener (requestOptions), a session
// whose ClientHello offers only that version and those suites (or that
// protocol) and whose ServerHello shows the version and one of the
// suites the finding names: the lab's 'Suites outside Mozilla's
// intermediate profile' is a TLS 1.2 handshake on a CBC-SHA suite, not
// the TLS 1.3 AES-GCM one a plain session gets.
func TestScanFindingSessionsLab(t *testing.T) {
	if testing.Short() {
		t.Skip("scans lab ports")
	}
	l, err := lab.Start(context.Background(), lab.Options{ListenHost: "127.0.0.1", AnyPort: true, StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	o := scan.Options{Host: lab.Hostname, ServerName: lab.Hostname, Roots: l.RootCAs(), Timeout: 30 * time.Second}
	for _, p := range []int{587, 465, 443} {
		ep, _ := l.Endpoint(p)
		o.Ports = append(o.Ports, scan.Port{Canonical: p, Addr: ep.Addr})
	}
	held := checkFindingSessions(t, scan.Scan(context.Background(), o), l.CAPath(), lab.Hostname)
	for _, k := range []string{scan.KeySuiteOutside, scan.KeyALPNLenient, scan.KeyALPNStrict} {
		if !held[k] {
			t.Errorf("no %s finding with a session held to its TLS", k)
		}
	}
}

// TestScanFindingSessionsPeers: the same against real Postfix and
// Dovecot (../shared/peers), whose Postfix accepts static-RSA suites
// (no forward secrecy) beside CBC and ARIA ones outside the profile:
// a held session's ServerHello picks one of the finding's suites.
func TestScanFindingSessionsPeers(t *testing.T) {
	ip, ca := findPeers(t)
	roots, err := loadCAFile(ca)
	if err != nil {
		t.Fatal(err)
	}
	o := scan.Options{Host: ip, ServerName: peersServerName, Roots: roots, Timeout: 30 * time.Second}
	for _, p := range []int{587, 993} {
		o.Ports = append(o.Ports, scan.Port{Canonical: p, Addr: net.JoinHostPort(ip, strconv.Itoa(p))})
	}
	held := checkFindingSessions(t, scan.Scan(context.Background(), o), ca, peersServerName)
	for _, k := range []string{scan.KeySuiteStatic, scan.KeySuiteOutside} {
		if !held[k] {
			t.Errorf("no %s finding with a session held to its TLS", k)
		}
	}
}

// checkFindingSessions opens the session of each finding of rep held to
// a TLS version, suites or ALPN, as the scan screen's opener does, and
// checks its ClientHello and ServerHello; it returns the keys checked.
func checkFindingSessions(t *testing.T, rep *scan.Report, caFile, serverName string) map[string]bool {
	t.Helper()
	base := scanSessionBase(scanFlags{caFile: caFile})
	held := map[string]bool{}
	for _, f := range rep.Findings {
		if f.Show == nil || f.Show.TLS == nil {
			continue
		}
		held[f.Key] = true
		want := f.Show.TLS
		r := tui.SessionRequest{Port: f.Show.Port, Target: f.Show.Addr, TLS: want, ServerName: serverName, CAFile: caFile}
		so, err := requestOptions(base, r)
		if err != nil {
			t.Fatalf("%d %s: %v", f.Port, f.Key, err)
		}
		var ch *tlsmsg.ClientHello
		var sh *tlsmsg.ServerHello
		for ev := range sessions.Stream(context.Background(), so) {
			if hs := ev.Handshake; hs != nil && hs.ClientHello != nil && ch == nil {
				ch = hs.ClientHello
			} else if hs != nil && hs.ServerHello != nil && sh == nil {
				sh = hs.ServerHello
			}
		}
		if ch == nil {
			t.Fatalf("%d %s: no ClientHello", f.Port, f.Key)
		}
		if v := ch.OfferedVersions(); !slices.Equal(v, []uint16{want.Version}) {
			t.Errorf("%d %s: the ClientHello offers %v, want only %s", f.Port, f.Key, v, tlsmsg.VersionName(want.Version))
		}
		if len(want.CipherSuites) > 0 {
			for _, id := range ch.CipherSuites {
				if !slices.Contains(want.CipherSuites, id) {
					t.Errorf("%d %s: the ClientHello offers %s, not a suite of the finding", f.Port, f.Key, tlsmsg.CipherSuiteName(id))
				}
			}
		}
		if len(want.ALPN) > 0 && !slices.Equal(ch.ALPNProtocols(), want.ALPN) {
			t.Errorf("%d %s: the ClientHello offers ALPN %v, want %v", f.Port, f.Key, ch.ALPNProtocols(), want.ALPN)
		}
		switch {
		case f.Key == scan.KeyALPNStrict:
			// The server refuses the handshake: no ServerHello.
			if sh != nil {
				t.Errorf("%d %s: the strict server sent a ServerHello", f.Port, f.Key)
			}
		case sh == nil:
			t.Errorf("%d %s: no ServerHello", f.Port, f.Key)
		case sh.SelectedVersion() != want.Version:
			t.Errorf("%d %s: the ServerHello chose %s", f.Port, f.Key, tlsmsg.VersionName(sh.SelectedVersion()))
		case len(want.CipherSuites) > 0 && !slices.Contains(want.CipherSuites, sh.CipherSuite):
			t.Errorf("%d %s: the ServerHello chose %s, not a suite of the finding", f.Port, f.Key, tlsmsg.CipherSuiteName(sh.CipherSuite))
		}
	}
	return held
}
